/**
 * Release history (issue 14), through the bundled action (dist/index.js) as the runner runs it,
 * against moto (which keeps every version with its time and description) behind the recording
 * proxy: the provenance every write leaves, the `versions` output, and `restore-to` (a time, or
 * run:<id>), down to the cluster's Secret, and under an emulated PutParameter quota.
 */
import { describe, expect, it } from '@jest/globals'
import {
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  type ParameterHistory
} from '@aws-sdk/client-ssm'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { errorOf, runBundledAction, type ActionRun } from '../../testing/action.ts'
import { startKubeApiServer } from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { tokenBucket, writeCalls } from '../../testing/ssm-proxy.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { pointBetweenRuns } from '../../__fixtures__/until.ts'
import { provenance, REPOSITORY, shaOf, workflowRun } from '../../__fixtures__/workflow-run.ts'

const PATH = '/zerotouch/prod/payments'
const SECRETS = {
  DATABASE_URL: 'postgres://payments:first-pass@db:5432/payments',
  STRIPE_API_KEY: 'sk_live_first_123456',
  WEBHOOK_SECRET: 'whsec_first_0001'
}

const harness = useSsmBehindProxy()

function run(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  return runBundledAction(
    { environment: 'prod', service: 'payments', 'ssm-endpoint': harness.proxy.endpoint, ...inputs },
    { ...LOCAL_AWS, ...env }
  )
}

/** A push from workflow run `runId`, which must succeed. */
async function push(
  runId: number,
  secrets: Record<string, string>,
  inputs: Record<string, string> = {}
): Promise<ActionRun> {
  const result = await run({ secrets: JSON.stringify(secrets), ...inputs }, workflowRun(runId))
  expect(errorOf(result)).toBe('')
  expect(result.exitCode).toBe(0)
  return result
}

/** A restore from workflow run `runId`. */
function restore(
  runId: number,
  point: string,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {}
): Promise<ActionRun> {
  return run({ 'restore-to': point, ...inputs }, { ...workflowRun(runId), ...env })
}

/** Every retained version of a parameter, oldest first, straight from moto. */
async function history(key: string): Promise<ParameterHistory[]> {
  const versions: ParameterHistory[] = []
  let NextToken: string | undefined
  do {
    const page = await harness.ssm.send(
      new GetParameterHistoryCommand({ Name: `${PATH}/${key}`, WithDecryption: true, MaxResults: 50, NextToken })
    )
    versions.push(...(page.Parameters ?? []))
    NextToken = page.NextToken
  } while (NextToken)
  return versions.sort((a, b) => (a.Version ?? 0) - (b.Version ?? 0))
}

/** What a history says, without the times: [version, value, description]. */
async function versionsOf(key: string): Promise<Array<[number | undefined, string | undefined, string | undefined]>> {
  return (await history(key)).map(({ Version, Value, Description }) => [Version, Value, Description])
}

/** The parameters directly under the service's path, name -> [version, value]. */
async function stored(): Promise<Map<string, [number | undefined, string | undefined]>> {
  const all = new Map<string, [number | undefined, string | undefined]>()
  let NextToken: string | undefined
  do {
    const page = await harness.ssm.send(
      new GetParametersByPathCommand({ Path: PATH, WithDecryption: true, MaxResults: 10, NextToken })
    )
    for (const { Name, Version, Value } of page.Parameters ?? []) all.set(String(Name), [Version, Value])
    NextToken = page.NextToken
  } while (NextToken)
  return all
}

function expectNoLeaks(result: ActionRun, values: readonly string[]) {
  expect(findRunLeaks(result, values)).toEqual([])
}

/** The [operation, names] of every write call the proxy saw since it was last cleared. */
function writes(): Array<[string, unknown]> {
  return writeCalls(harness.proxy.calls).map(({ operation, body }) => [operation, body.Name ?? body.Names])
}

describe('restore-to, through the bundle against moto', () => {
  it('brings a time between run 1 and run 2 back as a new version, with the restore in its description, and the cluster syncs it', async () => {
    const kube = await startKubeApiServer({
      ssmEndpoint: harness.moto.endpoint,
      region: 'us-east-1',
      reconcileDelayMs: 100,
      retryBaseMs: 60_000
    })
    try {
      kube.apply(readFileSync('__tests__/fixtures/cluster/payments-prod.yaml', 'utf8'))
      const cluster = { namespace: 'payments-prod', kubeconfig: kube.kubeconfig(), timeout: '30s' }
      const secretValue = (key: string) =>
        Buffer.from(
          (kube.get('Secret', 'payments-prod', 'payments-provider') as unknown as { data: Record<string, string> })
            .data[key],
          'base64'
        ).toString()

      await push(1001, SECRETS)
      const point = await pointBetweenRuns()
      await push(1002, { ...SECRETS, WEBHOOK_SECRET: 'whsec_second_0002' })
      await push(1003, { ...SECRETS, WEBHOOK_SECRET: 'whsec_third_0003' }, cluster)
      expect(secretValue('WEBHOOK_SECRET')).toBe('whsec_third_0003')

      harness.proxy.calls.length = 0
      kube.clearRequests()
      const result = await restore(1004, point, cluster, { GITHUB_WORKFLOW: 'restore', GITHUB_RUN_ATTEMPT: '2' })
      expect(errorOf(result)).toBe('')
      expect(result.exitCode).toBe(0)
      expect(result.outputs).toMatchObject({
        created: '[]',
        updated: '["webhook_secret"]',
        unchanged: '["database_url","stripe_api_key"]',
        deleted: '[]',
        changed: 'true'
      })
      expect(JSON.parse(result.outputs.versions)).toEqual({ database_url: 1, stripe_api_key: 1, webhook_secret: 4 })
      expect(writes()).toEqual([['PutParameter', `${PATH}/webhook_secret`]])

      const restoredBy = `zerotouch-secrets: ${REPOSITORY}@${shaOf(1004)} workflow "restore" run 1004 attempt 2: https://github.com/${REPOSITORY}/actions/runs/1004/attempts/2`
      expect(await versionsOf('webhook_secret')).toEqual([
        [1, SECRETS.WEBHOOK_SECRET, provenance(1001)],
        [2, 'whsec_second_0002', provenance(1002)],
        [3, 'whsec_third_0003', provenance(1003)],
        [4, SECRETS.WEBHOOK_SECRET, `restored from version 1 (as of ${point}); ${restoredBy}`]
      ])
      expect(await versionsOf('database_url')).toEqual([[1, SECRETS.DATABASE_URL, provenance(1001)]])

      expect(result.stdout).toContain(`Restoring 3 parameters under ${PATH}/ to ${point}`)
      expect(result.stdout).toMatch(/updated +\/zerotouch\/prod\/payments\/webhook_secret \(version 4\) from version 1/)
      expect(result.summary).toContain(`Secrets restored under ${PATH}`)
      expect(result.summary).toContain(
        `<td>webhook_secret</td><td>${PATH}/webhook_secret</td><td>restored from version 1 to new version 4</td>`
      )
      expect(result.summary).toContain(
        `<td>database_url</td><td>${PATH}/database_url</td><td>unchanged: version 1 holds the value of version 1</td>`
      )

      expect(JSON.parse(result.outputs.synced)).toEqual([
        'payments-prod/payments-db',
        'payments-prod/payments-provider'
      ])
      expect(secretValue('WEBHOOK_SECRET')).toBe(SECRETS.WEBHOOK_SECRET)
      expectNoLeaks(result, [...Object.values(SECRETS), 'whsec_second_0002', 'whsec_third_0003', kube.token])
    } finally {
      await kube.close()
    }
  })

  it('restores run:<id> to the state right after that run, and refuses a run id that wrote nothing, sending no write', async () => {
    await push(2001, SECRETS)
    await push(2002, {
      ...SECRETS,
      DATABASE_URL: 'postgres://payments:second-pass@db:5432/payments',
      WEBHOOK_SECRET: 'whsec_second_0002'
    })
    await push(2003, {
      ...SECRETS,
      DATABASE_URL: 'postgres://payments:second-pass@db:5432/payments',
      WEBHOOK_SECRET: 'whsec_third_0003'
    })
    // Run 2002's writes, found by the provenance it left: its last one is the point run:2002 stands for.
    const by2002 = [...(await history('database_url')), ...(await history('webhook_secret'))].filter(
      ({ Description }) => Description === provenance(2002)
    )
    expect(by2002.map(({ Name, Version }) => [Name, Version])).toEqual([
      [`${PATH}/database_url`, 2],
      [`${PATH}/webhook_secret`, 2]
    ])
    const lastWriteOf2002 = new Date(
      Math.max(...by2002.map(({ LastModifiedDate }) => LastModifiedDate!.getTime()))
    ).toISOString()

    harness.proxy.calls.length = 0
    const result = await restore(2004, 'run:2002')
    expect(errorOf(result)).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({
      updated: '["webhook_secret"]',
      unchanged: '["database_url","stripe_api_key"]',
      deleted: '[]',
      changed: 'true'
    })
    expect(JSON.parse(result.outputs.versions)).toEqual({ database_url: 2, stripe_api_key: 1, webhook_secret: 4 })
    expect(result.stdout).toContain(
      `Restoring 3 parameters under ${PATH}/ to right after run 2002 (its last write here: ${lastWriteOf2002})`
    )
    expect(writes()).toEqual([['PutParameter', `${PATH}/webhook_secret`]])
    expect((await versionsOf('webhook_secret')).at(-1)).toEqual([
      4,
      'whsec_second_0002',
      `restored from version 2 (as of ${lastWriteOf2002}); ${provenance(2004)}`
    ])

    // The state right after the first run: both changed keys go back to version 1.
    const first = await restore(2005, 'run:2001')
    expect(first.exitCode).toBe(0)
    expect(first.outputs).toMatchObject({
      updated: '["database_url","webhook_secret"]',
      unchanged: '["stripe_api_key"]'
    })
    expect(await stored()).toEqual(
      new Map([
        [`${PATH}/database_url`, [3, SECRETS.DATABASE_URL]],
        [`${PATH}/stripe_api_key`, [1, SECRETS.STRIPE_API_KEY]],
        [`${PATH}/webhook_secret`, [5, SECRETS.WEBHOOK_SECRET]]
      ])
    )

    harness.proxy.calls.length = 0
    const unknown = await restore(2006, 'run:987654321')
    expect(unknown.exitCode).not.toBe(0)
    expect(errorOf(unknown)).toMatch(
      /^::error::Nothing was written: no version of the 3 parameters the action owns under \/zerotouch\/prod\/payments\/ was written by run 987654321\. \[ZT122\]/
    )
    expect(harness.proxy.count('GetParameterHistory')).toBe(3)
    expect(harness.proxy.count('PutParameter')).toBe(0)
    expect(harness.proxy.count('DeleteParameters')).toBe(0)
    expect(writes()).toEqual([])
    expectNoLeaks(unknown, [
      ...Object.values(SECRETS),
      'whsec_second_0002',
      'whsec_third_0003',
      'postgres://payments:second-pass@db:5432/payments'
    ])
  })

  it('keeps a key created after the point, or deletes it with prune: true; never touches a foreign or untagged parameter', async () => {
    const first = { DATABASE_URL: SECRETS.DATABASE_URL, API_TOKEN: 'tok_first_0001' }
    await push(3001, first)
    const point = await pointBetweenRuns()
    await push(3002, {
      ...first,
      DATABASE_URL: 'postgres://payments:second-pass@db:5432/payments',
      NEW_KEY: 'created-after-the-point'
    })
    // Created after the point as well, by someone else: the restore must leave them as they are.
    for (const value of ['foreign-one', 'foreign-two']) {
      await harness.ssm.send(
        new PutParameterCommand({
          Name: `${PATH}/foreign`,
          Value: value,
          Type: 'SecureString',
          Overwrite: value !== 'foreign-one',
          Tags: value === 'foreign-one' ? [{ Key: 'managed-by', Value: 'someone-else' }] : undefined
        })
      )
      await harness.ssm.send(
        new PutParameterCommand({
          Name: `${PATH}/untagged`,
          Value: value.replace('foreign', 'untagged'),
          Type: 'SecureString',
          Overwrite: value !== 'foreign-one'
        })
      )
    }
    const untouched = { foreign: await versionsOf('foreign'), untagged: await versionsOf('untagged') }
    expect(untouched.foreign).toHaveLength(2)

    harness.proxy.calls.length = 0
    const kept = await restore(3003, point)
    expect(errorOf(kept)).toBe('')
    expect(kept.exitCode).toBe(0)
    expect(kept.outputs).toMatchObject({
      updated: '["database_url"]',
      unchanged: '["api_token"]',
      deleted: '[]',
      changed: 'true'
    })
    expect(JSON.parse(kept.outputs.versions)).toEqual({ api_token: 1, database_url: 3 })
    expect(kept.stdout).toContain(`Restoring 3 parameters under ${PATH}/ to ${point}`)
    expect(kept.stdout).toMatch(
      /kept +\/zerotouch\/prod\/payments\/new_key \(created after the point; prune: true deletes it\)/
    )
    expect(kept.stdout).toMatch(
      /not touched +\/zerotouch\/prod\/payments\/foreign \(not tagged managed-by=zerotouch-secrets\)/
    )
    expect(kept.stdout).toMatch(
      /not touched +\/zerotouch\/prod\/payments\/untagged \(not tagged managed-by=zerotouch-secrets\)/
    )
    expect(kept.summary).toContain(
      `<td>new_key</td><td>${PATH}/new_key</td><td>kept: created after the point; prune: true deletes it</td>`
    )
    expect(writes()).toEqual([['PutParameter', `${PATH}/database_url`]])
    // What the action does not own is listed, never read further.
    expect(
      harness.proxy.calls.filter(
        ({ operation, body }) => operation === 'GetParameterHistory' && /foreign|untagged/.test(String(body.Name))
      )
    ).toEqual([])
    expect((await stored()).get(`${PATH}/new_key`)).toEqual([1, 'created-after-the-point'])

    harness.proxy.calls.length = 0
    const pruned = await restore(3004, point, { prune: 'true' })
    expect(errorOf(pruned)).toBe('')
    expect(pruned.exitCode).toBe(0)
    expect(pruned.outputs).toMatchObject({
      updated: '[]',
      unchanged: '["api_token","database_url"]',
      deleted: '["new_key"]',
      changed: 'true'
    })
    expect(JSON.parse(pruned.outputs.versions)).toEqual({ api_token: 1, database_url: 3 })
    expect(pruned.stdout).toMatch(
      /kept +\/zerotouch\/prod\/payments\/foreign \(not tagged managed-by=zerotouch-secrets, so prune leaves it\)/
    )
    expect(pruned.summary).toContain(
      `<td>new_key</td><td>${PATH}/new_key</td><td>deleted: created after the point</td>`
    )
    expect(writes()).toEqual([['DeleteParameters', [`${PATH}/new_key`]]])

    expect([...(await stored()).keys()].sort()).toEqual([
      `${PATH}/api_token`,
      `${PATH}/database_url`,
      `${PATH}/foreign`,
      `${PATH}/untagged`
    ])
    expect({ foreign: await versionsOf('foreign'), untagged: await versionsOf('untagged') }).toEqual(untouched)
    expectNoLeaks(pruned, [...Object.values(first), 'created-after-the-point', 'foreign-two', 'untagged-two'])
  })

  it('refuses, writing nothing and naming the key, a point older than what SSM still keeps of a parameter', async () => {
    await push(4001, SECRETS)
    const point = await pointBetweenRuns()
    // 100 versions after the point: SSM (and moto) keep the last 100, so version 1 is gone.
    for (let version = 2; version <= 101; version += 1) {
      await harness.ssm.send(
        new PutParameterCommand({
          Name: `${PATH}/webhook_secret`,
          Value: `whsec_console_${version}`,
          Type: 'SecureString',
          Overwrite: true
        })
      )
    }
    expect((await history('webhook_secret'))[0].Version).toBe(2)

    harness.proxy.calls.length = 0
    const result = await restore(4002, point)
    expect(result.exitCode).not.toBe(0)
    const error = errorOf(result)
    expect(error).toContain(`::error::Nothing was written: not every parameter can be restored to ${point}. [ZT122]`)
    expect(error).toMatch(
      /- \/zerotouch\/prod\/payments\/webhook_secret: the oldest version SSM still keeps is version 2, written \S+, after \S+: what it held then is no longer stored/
    )
    expect(error).not.toMatch(/database_url|stripe_api_key/)
    expect(writes()).toEqual([])
  })

  it('dry run reports the plan and writes nothing; secrets together with restore-to, or a bad point, is refused with no request at all', async () => {
    await push(5001, SECRETS)
    const point = await pointBetweenRuns()
    await push(5002, { ...SECRETS, STRIPE_API_KEY: 'sk_live_second_654321', NEW_KEY: 'created-after-the-point' })
    const before = await stored()

    harness.proxy.calls.length = 0
    const dry = await restore(5003, point, { 'dry-run': 'true', prune: 'true' })
    expect(errorOf(dry)).toBe('')
    expect(dry.exitCode).toBe(0)
    expect(writes()).toEqual([])
    expect(harness.proxy.calls.length).toBeGreaterThan(0)
    expect(await stored()).toEqual(before)
    expect(dry.stdout).toContain(`Planning the restore of 4 parameters under ${PATH}/ to ${point}`)
    expect(dry.stdout).toMatch(/would update +\/zerotouch\/prod\/payments\/stripe_api_key \(version 2\) from version 1/)
    expect(dry.stdout).toMatch(/would delete +\/zerotouch\/prod\/payments\/new_key/)
    expect(dry.stdout).toMatch(/unchanged +\/zerotouch\/prod\/payments\/database_url \(version 1\) from version 1/)
    expect(dry.stdout).toContain(
      'Dry run, nothing written. A real run: 0 created, 1 updated, 2 unchanged, 1 deleted, 0 failed.'
    )
    expect(dry.outputs).toMatchObject({
      updated: '["stripe_api_key"]',
      unchanged: '["database_url","webhook_secret"]',
      deleted: '["new_key"]'
    })
    expect(JSON.parse(dry.outputs.versions)).toEqual({ database_url: 1, stripe_api_key: 2, webhook_secret: 1 })
    expect(dry.summary).toContain(`Secrets restored under ${PATH} (dry run)`)
    expect(dry.summary).toContain(
      `<td>stripe_api_key</td><td>${PATH}/stripe_api_key</td><td>would restore version 1 (now version 2)</td>`
    )
    expect(dry.summary).toContain(
      `<td>new_key</td><td>${PATH}/new_key</td><td>would delete: created after the point</td>`
    )
    expectNoLeaks(dry, [...Object.values(SECRETS), 'sk_live_second_654321', 'created-after-the-point'])

    harness.proxy.calls.length = 0
    const both = await restore(5004, point, { secrets: JSON.stringify({ API_TOKEN: 'tok_never_sent_0001' }) })
    expect(both.exitCode).not.toBe(0)
    expect(errorOf(both)).toMatch(/^::error::Invalid inputs; nothing was written\. \[ZT100\]/)
    expect(errorOf(both)).toContain('restore-to: is refused together with secrets')
    expectNoLeaks(both, ['tok_never_sent_0001'])

    for (const [bad, problem] of [
      ['yesterday', 'restore-to: "yesterday" is neither an ISO-8601 UTC time (2026-11-30T12:00:00Z) nor run:<run id>'],
      ['2026-02-30T12:00:00Z', 'restore-to: "2026-02-30T12:00:00Z" is not a time that exists'],
      ['2026-11-30T12:00:00+01:00', 'restore-to: "2026-11-30T12:00:00+01:00" is neither'],
      ['2999-01-01T00:00:00Z', 'restore-to: 2999-01-01T00:00:00.000Z is in the future']
    ]) {
      const refused = await restore(5005, bad)
      expect(refused.exitCode).not.toBe(0)
      expect(errorOf(refused)).toMatch(/\[ZT100\]/)
      expect(errorOf(refused)).toContain(problem)
    }
    expect(harness.proxy.calls).toEqual([])
    expect(await stored()).toEqual(before)
  })

  it('records the repository, full SHA and run URL (GitHub Enterprise too) on each new version, adds none on an unchanged re-run, and says "local run on" outside a workflow', async () => {
    const enterprise = {
      GITHUB_SERVER_URL: 'https://ghe.example.com/',
      GITHUB_REPOSITORY: 'platform/payments-service',
      GITHUB_WORKFLOW: 'Release payments',
      GITHUB_RUN_ATTEMPT: '3'
    }
    const pushed = await run({ secrets: JSON.stringify(SECRETS) }, workflowRun(6001, enterprise))
    expect(pushed.exitCode).toBe(0)
    const record = `zerotouch-secrets: platform/payments-service@${shaOf(6001)} workflow "Release payments" run 6001 attempt 3: https://ghe.example.com/platform/payments-service/actions/runs/6001/attempts/3`
    for (const key of ['database_url', 'stripe_api_key', 'webhook_secret'])
      expect(await versionsOf(key)).toEqual([[1, SECRETS[key.toUpperCase() as keyof typeof SECRETS], record]])
    expect(record).toContain(shaOf(6001))
    expect(shaOf(6001)).toMatch(/^[0-9a-f]{40}$/)
    expect(
      harness.proxy.calls.filter(({ operation }) => operation === 'PutParameter').map(({ body }) => body.Description)
    ).toEqual([record, record, record])
    expect(JSON.parse(pushed.outputs.versions)).toEqual({ database_url: 1, stripe_api_key: 1, webhook_secret: 1 })

    harness.proxy.calls.length = 0
    const again = await run({ secrets: JSON.stringify(SECRETS) }, workflowRun(6002, enterprise))
    expect(again.exitCode).toBe(0)
    expect(writes()).toEqual([])
    expect(again.outputs).toMatchObject({
      unchanged: '["database_url","stripe_api_key","webhook_secret"]',
      changed: 'false'
    })
    expect(JSON.parse(again.outputs.versions)).toEqual({ database_url: 1, stripe_api_key: 1, webhook_secret: 1 })
    expect(await history('webhook_secret')).toHaveLength(1)

    const local = await run(
      { secrets: JSON.stringify({ ...SECRETS, WEBHOOK_SECRET: 'whsec_local_0002' }) },
      { GITHUB_REPOSITORY: REPOSITORY }
    )
    expect(local.exitCode).toBe(0)
    expect(JSON.parse(local.outputs.versions)).toEqual({ database_url: 1, stripe_api_key: 1, webhook_secret: 2 })
    expect((await versionsOf('webhook_secret')).at(-1)).toEqual([
      2,
      'whsec_local_0002',
      `zerotouch-secrets: local run on ${hostname()}`
    ])

    // A workflow name longer than SSM's 1,024 characters is cut; the run URL, which run:<id> reads, stays whole.
    const long = await run(
      { secrets: JSON.stringify({ ...SECRETS, WEBHOOK_SECRET: 'whsec_long_0003' }) },
      workflowRun(6003, { GITHUB_WORKFLOW: 'w'.repeat(2_000) })
    )
    expect(long.exitCode).toBe(0)
    const description = String((await history('webhook_secret')).at(-1)?.Description)
    expect(description.length).toBeLessThanOrEqual(1_024)
    expect(description).toMatch(
      new RegExp(
        `^zerotouch-secrets: ${REPOSITORY}@${shaOf(6003)} workflow "w+…" run 6003 attempt 1: https://github\\.com/${REPOSITORY}/actions/runs/6003/attempts/1$`
      )
    )
    expectNoLeaks(local, [...Object.values(SECRETS), 'whsec_local_0002'])

    // A hand-made environment with only the repository and run id (local-action's .env): still written, with what is known.
    const partial = await run(
      { secrets: JSON.stringify({ ...SECRETS, WEBHOOK_SECRET: 'whsec_partial_0004' }) },
      { GITHUB_REPOSITORY: REPOSITORY, GITHUB_RUN_ID: '6004' }
    )
    expect(partial.exitCode).toBe(0)
    expect(String((await history('webhook_secret')).at(-1)?.Description)).toBe(
      `zerotouch-secrets: ${REPOSITORY}@unknown workflow "" run 6004 attempt 1: https://github.com/${REPOSITORY}/actions/runs/6004/attempts/1`
    )
  })

  it('restores 100 keys under an emulated PutParameter quota, each key written once, at the pace of the quota', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `KEY_${String(i).padStart(3, '0')}`)
    const valuesOf = (seed: string) =>
      Object.fromEntries(keys.map((key, i) => [key, `${seed}-value-${i}-${(i * 7919).toString(36)}`]))
    const [first, second] = [valuesOf('first'), valuesOf('second')]
    await push(7001, first)
    const point = await pointBetweenRuns()
    await push(7002, second)

    // The emulated write quota, as bench/quota-proxy.ts models it: a token bucket on PutParameter (here RATE a
    // second) holding BURST tokens (one second of the real quota, 3 writes), a rested account at the start, the
    // real service's ThrottlingException over the rate, and LATENCY_MS added to every call.
    const RATE = 20
    const BURST = 3
    const LATENCY_MS = 20
    const bucket = tokenBucket(RATE, BURST)
    const puts: Array<{ name: string; at: number; accepted: boolean }> = []
    harness.proxy.calls.length = 0
    harness.proxy.latencyMs = LATENCY_MS
    harness.proxy.fault = ({ operation, body }) => {
      if (operation !== 'PutParameter') return undefined
      const accepted = bucket.take()
      puts.push({ name: String(body.Name), at: performance.now(), accepted })
      return accepted ? undefined : { kind: 'throttle' }
    }
    const result = await restore(7003, point)
    harness.proxy.fault = undefined
    expect(errorOf(result)).toBe('')
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.outputs.updated)).toEqual(keys.map((key) => key.toLowerCase()))
    expect(JSON.parse(result.outputs.versions)).toEqual(Object.fromEntries(keys.map((key) => [key.toLowerCase(), 3])))

    // Each key exactly once: one accepted PutParameter per name, none twice, none lost.
    const accepted = puts.filter((put) => put.accepted)
    const perName = new Map<string, number>()
    for (const { name } of accepted) perName.set(name, (perName.get(name) ?? 0) + 1)
    expect([...perName].filter(([, count]) => count !== 1)).toEqual([])
    expect([...perName.keys()].sort()).toEqual(keys.map((key) => `${PATH}/${key.toLowerCase()}`))
    expect(harness.proxy.count('PutParameter')).toBe(100)
    expect(puts.length).toBeGreaterThan(100) // the quota was reached: some attempts were throttled
    const now = await stored()
    for (const key of keys) expect(now.get(`${PATH}/${key.toLowerCase()}`)).toEqual([3, first[key]])
    expect((await history('key_099')).at(-1)?.Description).toBe(
      `restored from version 1 (as of ${point}); ${provenance(7003)}`
    )

    // The write phase, from the first PutParameter reaching the proxy to the last one the bucket let through, is
    // no shorter than its floor: the burst goes at once, each of the other writes waits for its token, 1/RATE s
    // apart (the bucket holds). The restore writes at the quota's pace rather than against it: fewer than 20 % of
    // its attempts are throttled (a push without the shared pace is throttled on most). How close to the floor
    // it comes is a matter of time, measured in the benchmarks (BENCHMARKS.md) and, on simulated time, in
    // __tests__/unit/pacer.test.ts: a machine's load must not fail this case.
    const spanMs = accepted.at(-1)!.at - puts[0].at
    const floorMs = ((keys.length - BURST) / RATE) * 1_000
    expect(spanMs).toBeGreaterThanOrEqual(floorMs * 0.99)
    expect(puts.length - accepted.length).toBeLessThan(puts.length * 0.2)
    expectNoLeaks(result, [...Object.values(first), ...Object.values(second)])
  })
})
