/**
 * Replica regions (issue 20), through the bundled action (dist/index.js) as the runner runs it, against moto (which
 * keeps each region apart by the region a request is signed for) behind the recording proxy, which records that region
 * with every call so that a fault can hit one region: the same writes in every region, decided per region; all or
 * nothing before the first write; a failure during the writes named per region, then a converging re-run; prune, dry
 * run and restore per region. Each case reads back what SSM holds in every region.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import {
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParametersByPathCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  type ParameterMetadata,
  type ParameterTier,
  type Tag
} from '@aws-sdk/client-ssm'
import { readFileSync } from 'node:fs'
import { errorOf, runBundledAction, type ActionRun } from '../../testing/action.ts'
import { startKubeApiServer, type KubeApiServer } from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { tokenBucket, writeCalls, type Fault } from '../../testing/ssm-proxy.ts'
import { summaryTables } from '../../testing/summary.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { pointBetweenRuns, within } from '../../__fixtures__/until.ts'
import { provenance, workflowRun } from '../../__fixtures__/workflow-run.ts'

const PATH = '/zerotouch/prod/payments'
const PRIMARY = LOCAL_AWS.AWS_REGION
const [WEST, SOUTH] = ['us-west-2', 'ap-south-1']
const REGIONS = [PRIMARY, WEST, SOUTH]
const SECRETS = {
  DATABASE_URL: 'postgres://payments:region-pass@db:5432/payments',
  STRIPE_API_KEY: 'sk_live_regions_123456',
  WEBHOOK_SECRET: 'whsec_regions_0001'
}
const OURS: Tag[] = [{ Key: 'managed-by', Value: 'zerotouch-secrets' }]
const PUSH_HEADER = ['Key', 'Parameter', 'Result', 'Version', 'Source secret']
const RESTORE_HEADER = ['Key', 'Parameter', 'Result']

const harness = useSsmBehindProxy()

function run(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  return runBundledAction(
    {
      environment: 'prod',
      service: 'payments',
      'ssm-endpoint': harness.proxy.endpoint,
      'replica-regions': `${WEST}, ${SOUTH}`,
      ...inputs
    },
    { ...LOCAL_AWS, ...env }
  )
}

/** A push from workflow run `runId`, which must succeed. */
async function push(
  runId: number,
  secrets: Record<string, string>,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {}
): Promise<ActionRun> {
  const result = await run({ secrets: JSON.stringify(secrets), ...inputs }, { ...workflowRun(runId), ...env })
  expect(errorOf(result)).toBe('')
  expect(result.exitCode).toBe(0)
  return result
}

/** Writes straight to moto in `region`, as another tool or a person at the console would. */
async function put(
  region: string,
  key: string,
  value: string,
  { tier = 'Standard', tags }: { tier?: ParameterTier; tags?: Tag[] } = {}
): Promise<void> {
  await harness.ssmIn(region).send(
    new PutParameterCommand({
      Name: `${PATH}/${key}`,
      Value: value,
      Type: 'SecureString',
      Tier: tier,
      Overwrite: !tags,
      Tags: tags
    })
  )
}

interface Stored {
  readonly value?: string
  readonly version?: number
  readonly type?: string
  readonly tier?: string
  readonly keyId?: string
  readonly description?: string
  readonly tags: Record<string, string | undefined>
}

/** What moto holds directly under PATH in `region`, by key: value, version, type, tier, description and tags. */
async function stored(region: string): Promise<Record<string, Stored>> {
  const ssm = harness.ssmIn(region)
  const metadata = new Map<string, ParameterMetadata>()
  let NextToken: string | undefined
  do {
    const page = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: [PATH] }],
        MaxResults: 50,
        NextToken
      })
    )
    for (const parameter of page.Parameters ?? []) metadata.set(String(parameter.Name), parameter)
    NextToken = page.NextToken
  } while (NextToken)
  const all: Record<string, Stored> = {}
  do {
    const page = await ssm.send(
      new GetParametersByPathCommand({ Path: PATH, WithDecryption: true, MaxResults: 10, NextToken })
    )
    for (const { Name, Value, Version, Type } of page.Parameters ?? []) {
      const { TagList = [] } = await ssm.send(
        new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: Name })
      )
      const described = metadata.get(String(Name))
      all[String(Name).slice(PATH.length + 1)] = {
        value: Value,
        version: Version,
        type: Type,
        tier: described?.Tier,
        keyId: described?.KeyId,
        description: described?.Description,
        tags: Object.fromEntries(TagList.map(({ Key, Value }) => [String(Key), Value]))
      }
    }
    NextToken = page.NextToken
  } while (NextToken)
  return all
}

/** Each region's keys and their values. */
async function valuesEverywhere(): Promise<Record<string, Record<string, string | undefined>>> {
  const regions = await Promise.all(REGIONS.map(stored))
  return Object.fromEntries(
    regions.map((parameters, index) => [
      REGIONS[index],
      Object.fromEntries(Object.entries(parameters).map(([key, { value }]) => [key, value]))
    ])
  )
}

/** The pushed secrets as SSM holds them: key -> value. */
function asStored(secrets: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(secrets).map(([name, value]) => [name.toLowerCase(), value]))
}

/** Per region, the write calls the proxy saw since it was last cleared: `<operation> <key>[,<key>...]`, sorted. */
function writesByRegion(): Record<string, string[]> {
  const writes: Record<string, string[]> = Object.fromEntries(REGIONS.map((region) => [region, []]))
  for (const { operation, region, body } of writeCalls(harness.proxy.calls)) {
    const names = [body.Name ?? body.Names ?? body.ResourceId].flat().map((name) => String(name).slice(PATH.length + 1))
    ;(writes[region] ??= []).push(`${operation} ${names.sort().join(',')}`)
  }
  return Object.fromEntries(Object.entries(writes).map(([region, calls]) => [region, calls.sort()]))
}

/** The `regions` output, read back. */
function regionsOutput(result: ActionRun): unknown {
  return JSON.parse(result.outputs.regions)
}

/** One region's entry of the `regions` output: the keys by result, every result present. */
function keys(results: Partial<Record<'created' | 'updated' | 'unchanged' | 'deleted', string[]>>) {
  return { created: [], updated: [], unchanged: [], deleted: [], ...results }
}

/** A region's section of the push log, from its `In <region> (...)` heading to its totals. */
function logOf(result: ActionRun, region: string): string[] {
  const lines = result.stdout.split('\n')
  const start = lines.findIndex((line) => line.startsWith(`In ${region} (`))
  if (start < 0) return []
  const end = lines.findIndex((line, index) => index > start && /^(Dry run, nothing written|\d+ created, )/.test(line))
  return lines.slice(start, end + 1)
}

/** The job summary's tables, heading -> rows (header first). */
function tablesOf(result: ActionRun): Record<string, string[][]> {
  return Object.fromEntries(summaryTables(result.summary).map(({ heading, rows }) => [heading, rows]))
}

/** A push table's row. */
function row(key: string, result: string, version: number | '', source = key.toUpperCase()): string[] {
  return [key, `${PATH}/${key}`, result, String(version), source]
}

function expectNoLeaks(result: ActionRun, values: readonly string[]) {
  expect(findRunLeaks(result, values)).toEqual([])
}

describe('replica regions, through the bundle against moto', () => {
  it('writes a first push into three regions alike (values, SecureString, tags, provenance), keeps the tier a replica already has, then re-runs with one read pass per region and no write', async () => {
    // An Advanced parameter only us-west-2 holds, from an earlier release: SSM never moves it back to Standard.
    await put(WEST, 'webhook_secret', 'whsec_old_advanced', { tier: 'Advanced', tags: OURS })
    // One key id for every region: an alias each region holds, or a multi-Region key.
    const inputs = { tags: 'team=payments', 'kms-key-id': 'alias/payments' }
    const first = await push(1001, SECRETS, inputs)

    expect(first.outputs).toMatchObject({
      created: '["database_url","stripe_api_key","webhook_secret"]',
      updated: '[]',
      changed: 'true',
      versions: '{"database_url":1,"stripe_api_key":1,"webhook_secret":1}'
    })
    expect(regionsOutput(first)).toEqual({
      [PRIMARY]: keys({ created: ['database_url', 'stripe_api_key', 'webhook_secret'] }),
      [WEST]: keys({ created: ['database_url', 'stripe_api_key'], updated: ['webhook_secret'] }),
      [SOUTH]: keys({ created: ['database_url', 'stripe_api_key', 'webhook_secret'] })
    })
    // Every region holds the same values, as SecureString, with the same tags and the same provenance.
    const expected = (value: string, tier = 'Standard', version = 1): Stored => ({
      value,
      version,
      type: 'SecureString',
      tier,
      keyId: 'alias/payments',
      description: provenance(1001),
      tags: { 'managed-by': 'zerotouch-secrets', team: 'payments' }
    })
    const everyKey = {
      database_url: expected(SECRETS.DATABASE_URL),
      stripe_api_key: expected(SECRETS.STRIPE_API_KEY),
      webhook_secret: expected(SECRETS.WEBHOOK_SECRET)
    }
    expect(await stored(PRIMARY)).toEqual(everyKey)
    expect(await stored(SOUTH)).toEqual(everyKey)
    expect(await stored(WEST)).toEqual({
      ...everyKey,
      webhook_secret: expected(SECRETS.WEBHOOK_SECRET, 'Advanced', 2)
    })
    expect(first.stdout.split('\n').filter((line) => line.startsWith('::notice::'))).toEqual([
      `::notice::${PATH}/webhook_secret in ${WEST} is an Advanced parameter and SSM never moves one back to Standard: it was written as Advanced (tier: Standard). To make it Standard, delete it and let the next run create it again.`
    ])
    // Three PutParameter in each region, each region's calls signed for it; the Advanced one sent as Advanced.
    expect(writesByRegion()).toEqual({
      [PRIMARY]: ['PutParameter database_url', 'PutParameter stripe_api_key', 'PutParameter webhook_secret'],
      // The team tag the parameter lacked, added once its new version is written.
      [WEST]: [
        'AddTagsToResource webhook_secret',
        'PutParameter database_url',
        'PutParameter stripe_api_key',
        'PutParameter webhook_secret'
      ],
      [SOUTH]: ['PutParameter database_url', 'PutParameter stripe_api_key', 'PutParameter webhook_secret']
    })
    const tierSent = harness.proxy.calls.find(
      ({ operation, region, body }) =>
        operation === 'PutParameter' && region === WEST && body.Name === `${PATH}/webhook_secret`
    )?.body.Tier
    expect(tierSent).toBe('Advanced')
    expect(harness.proxy.calls.filter(({ refused }) => refused)).toEqual([])

    expect(first.stdout).toContain(`Pushing 3 secrets to ${PATH}/ in ${PRIMARY}, ${WEST}, ${SOUTH}`)
    expect(logOf(first, WEST)).toEqual([
      `In ${WEST} (replica):`,
      `created      ${PATH}/database_url (version 1) from DATABASE_URL`,
      `created      ${PATH}/stripe_api_key (version 1) from STRIPE_API_KEY`,
      `updated      ${PATH}/webhook_secret (version 2) from WEBHOOK_SECRET`,
      '2 created, 1 updated, 0 unchanged, 0 deleted, 0 failed.'
    ])
    expect(logOf(first, PRIMARY)[0]).toBe(`In ${PRIMARY} (primary):`)
    const created = [row('database_url', 'created', 1), row('stripe_api_key', 'created', 1)]
    expect(tablesOf(first)).toEqual({
      [`Secrets pushed to ${PATH} in ${PRIMARY} (primary)`]: [
        PUSH_HEADER,
        ...created,
        row('webhook_secret', 'created', 1)
      ],
      [`Secrets pushed to ${PATH} in ${WEST} (replica)`]: [
        PUSH_HEADER,
        ...created,
        row('webhook_secret', 'updated', 2)
      ],
      [`Secrets pushed to ${PATH} in ${SOUTH} (replica)`]: [
        PUSH_HEADER,
        ...created,
        row('webhook_secret', 'created', 1)
      ]
    })
    expectNoLeaks(first, [...Object.values(SECRETS), 'whsec_old_advanced'])

    harness.proxy.calls.length = 0
    const again = await push(1002, SECRETS, inputs)
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    expect(
      harness.proxy.calls.filter(({ operation }) => operation === 'GetParameters').map(({ region }) => region)
    ).toEqual(expect.arrayContaining(REGIONS))
    expect(harness.proxy.count('GetParameters')).toBe(3)
    const unchanged = keys({ unchanged: ['database_url', 'stripe_api_key', 'webhook_secret'] })
    expect(regionsOutput(again)).toEqual({ [PRIMARY]: unchanged, [WEST]: unchanged, [SOUTH]: unchanged })
    expect(again.outputs.changed).toBe('false')
    expectNoLeaks(again, Object.values(SECRETS))
  })

  it('writes to a replica the key it lacks and the value it holds differently, and nothing in the primary', async () => {
    await push(2001, SECRETS)
    await harness.ssmIn(SOUTH).send(new DeleteParameterCommand({ Name: `${PATH}/stripe_api_key` }))
    await put(WEST, 'webhook_secret', 'whsec_changed_by_hand')
    harness.proxy.calls.length = 0

    const rerun = await push(2002, SECRETS)
    expect(writesByRegion()).toEqual({
      [PRIMARY]: [],
      [WEST]: ['PutParameter webhook_secret'],
      [SOUTH]: ['PutParameter stripe_api_key']
    })
    // Today's outputs describe the primary, where nothing changed; `regions` has each replica's writes.
    expect(rerun.outputs).toMatchObject({
      created: '[]',
      updated: '[]',
      unchanged: '["database_url","stripe_api_key","webhook_secret"]',
      changed: 'false',
      versions: '{"database_url":1,"stripe_api_key":1,"webhook_secret":1}'
    })
    expect(regionsOutput(rerun)).toEqual({
      [PRIMARY]: keys({ unchanged: ['database_url', 'stripe_api_key', 'webhook_secret'] }),
      [WEST]: keys({ updated: ['webhook_secret'], unchanged: ['database_url', 'stripe_api_key'] }),
      [SOUTH]: keys({ created: ['stripe_api_key'], unchanged: ['database_url', 'webhook_secret'] })
    })
    const everywhere = asStored(SECRETS)
    expect(await valuesEverywhere()).toEqual({ [PRIMARY]: everywhere, [WEST]: everywhere, [SOUTH]: everywhere })
    expect((await stored(WEST)).webhook_secret).toMatchObject({ version: 3, description: provenance(2002) })
    expect((await stored(SOUTH)).stripe_api_key).toMatchObject({
      version: 1,
      description: provenance(2002),
      tags: { 'managed-by': 'zerotouch-secrets' }
    })
    expect((await stored(PRIMARY)).webhook_secret).toMatchObject({ version: 1, description: provenance(2001) })
    expect(logOf(rerun, SOUTH)).toEqual([
      `In ${SOUTH} (replica):`,
      `unchanged    ${PATH}/database_url (version 1) from DATABASE_URL`,
      `created      ${PATH}/stripe_api_key (version 1) from STRIPE_API_KEY`,
      `unchanged    ${PATH}/webhook_secret (version 1) from WEBHOOK_SECRET`,
      '1 created, 0 updated, 2 unchanged, 0 deleted, 0 failed.'
    ])
    expect(tablesOf(rerun)[`Secrets pushed to ${PATH} in ${WEST} (replica)`]).toEqual([
      PUSH_HEADER,
      row('database_url', 'unchanged', 1),
      row('stripe_api_key', 'unchanged', 1),
      row('webhook_secret', 'updated', 3)
    ])
    expectNoLeaks(rerun, [...Object.values(SECRETS), 'whsec_changed_by_hand'])
  })

  it('writes the regions at once, each at its own pace: the replicas write while the primary’s writes are held, and a replica over its quota is throttled there only', async () => {
    const secrets = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [
        `KEY_${String(i).padStart(2, '0')}`,
        `value-${i}-${(i * 7919).toString(36)}`
      ])
    )
    // ap-south-1's PutParameter quota, as bench/quota-proxy.ts models one: a token bucket, and over it the service's
    // ThrottlingException. SSM's quotas are per region: the other regions have room.
    const southQuota = tokenBucket(5, 2)
    harness.proxy.fault = ({ operation, region }): Fault | undefined =>
      operation === 'PutParameter' && region === SOUTH && !southQuota.take() ? { kind: 'throttle' } : undefined
    // The primary's writes wait until both replicas are writing: regions written one after another never would be.
    const replicasWriting = new Set<string>()
    let bothWriting: () => void = () => undefined
    const replicasStarted = new Promise<void>((resolve) => (bothWriting = resolve))
    const primaryHolds: Array<'released' | 'timed out'> = []
    harness.proxy.hold = ({ operation, region }) => {
      if (operation !== 'PutParameter') return undefined
      if (region !== PRIMARY) {
        if (replicasWriting.add(region).size === 2) bothWriting()
        return undefined
      }
      // Past the bound the hold is given up, for every held write: the run goes on, and fails the assertion below.
      return within(15_000, 'both replicas writing', replicasStarted).then(
        () => void primaryHolds.push('released'),
        () => {
          primaryHolds.push('timed out')
          bothWriting()
        }
      )
    }

    const result = await push(2101, secrets)
    expect(primaryHolds).toEqual(Object.keys(secrets).map(() => 'released'))
    const throttled = harness.proxy.calls.filter(({ faulted }) => faulted === 'throttle')
    expect(throttled.length).toBeGreaterThan(0)
    expect(new Set(throttled.map(({ region }) => region))).toEqual(new Set([SOUTH]))
    // Each key written exactly once in each region, the throttled attempts retried until they went through.
    const accepted = (region: string) =>
      harness.proxy.calls
        .filter((call) => call.operation === 'PutParameter' && call.region === region && !call.faulted)
        .map(({ body }) => String(body.Name).slice(PATH.length + 1))
        .sort()
    const everyKey = Object.keys(asStored(secrets)).sort()
    expect(REGIONS.map(accepted)).toEqual([everyKey, everyKey, everyKey])
    const everywhere = asStored(secrets)
    expect(await valuesEverywhere()).toEqual({ [PRIMARY]: everywhere, [WEST]: everywhere, [SOUTH]: everywhere })
    expect(regionsOutput(result)).toEqual({
      [PRIMARY]: keys({ created: everyKey }),
      [WEST]: keys({ created: everyKey }),
      [SOUTH]: keys({ created: everyKey })
    })
    expectNoLeaks(result, Object.values(secrets))
  })

  it('prunes per region only what is tagged as the action’s, after a dry run that plans per region and writes nowhere', async () => {
    await push(3001, SECRETS)
    await put(WEST, 'manual', 'set-by-hand-west')
    await put(SOUTH, 'legacy', 'only-ever-in-south', { tags: OURS })
    await put(SOUTH, 'pushed', 'pushed-by-eso', { tags: [{ Key: 'managed-by', Value: 'external-secrets' }] })
    await harness.ssmIn(SOUTH).send(new DeleteParameterCommand({ Name: `${PATH}/stripe_api_key` }))
    const before = await valuesEverywhere()
    const kept = { STRIPE_API_KEY: SECRETS.STRIPE_API_KEY }
    const values = [...Object.values(SECRETS), 'set-by-hand-west', 'only-ever-in-south', 'pushed-by-eso']
    harness.proxy.calls.length = 0

    const planned = await push(3002, kept, { prune: 'true', 'dry-run': 'true' })
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    expect(await valuesEverywhere()).toEqual(before)
    expect(regionsOutput(planned)).toEqual({
      [PRIMARY]: keys({ unchanged: ['stripe_api_key'], deleted: ['database_url', 'webhook_secret'] }),
      [WEST]: keys({ unchanged: ['stripe_api_key'], deleted: ['database_url', 'webhook_secret'] }),
      [SOUTH]: keys({ created: ['stripe_api_key'], deleted: ['database_url', 'legacy', 'webhook_secret'] })
    })
    expect(planned.stdout).toContain(`Planning 1 secrets to ${PATH}/ in ${PRIMARY}, ${WEST}, ${SOUTH}`)
    expect(logOf(planned, SOUTH)).toEqual([
      `In ${SOUTH} (replica):`,
      `would delete ${PATH}/database_url`,
      `would delete ${PATH}/legacy`,
      `would create ${PATH}/stripe_api_key from STRIPE_API_KEY`,
      `would delete ${PATH}/webhook_secret`,
      `kept         ${PATH}/pushed (not tagged managed-by=zerotouch-secrets, so prune leaves it)`,
      'Dry run, nothing written. A real run: 1 created, 0 updated, 0 unchanged, 3 deleted, 0 failed.'
    ])
    expect(logOf(planned, WEST)).toContain(
      `kept         ${PATH}/manual (not tagged managed-by=zerotouch-secrets, so prune leaves it)`
    )
    expect(Object.keys(tablesOf(planned))).toEqual([
      `Secrets plan for ${PATH} in ${PRIMARY} (primary) (dry run)`,
      `Secrets plan for ${PATH} in ${WEST} (replica) (dry run)`,
      `Secrets plan for ${PATH} in ${SOUTH} (replica) (dry run)`
    ])
    expect(tablesOf(planned)[`Secrets plan for ${PATH} in ${SOUTH} (replica) (dry run)`]).toEqual([
      PUSH_HEADER,
      row('database_url', 'would delete', '', ''),
      row('legacy', 'would delete', '', ''),
      row('stripe_api_key', 'would create', ''),
      row('webhook_secret', 'would delete', '', '')
    ])
    expectNoLeaks(planned, values)

    harness.proxy.calls.length = 0
    const pruned = await push(3003, kept, { prune: 'true' })
    expect(writesByRegion()).toEqual({
      [PRIMARY]: ['DeleteParameters database_url,webhook_secret'],
      [WEST]: ['DeleteParameters database_url,webhook_secret'],
      [SOUTH]: ['DeleteParameters database_url,legacy,webhook_secret', 'PutParameter stripe_api_key']
    })
    expect(await valuesEverywhere()).toEqual({
      [PRIMARY]: asStored(kept),
      [WEST]: { ...asStored(kept), manual: 'set-by-hand-west' },
      [SOUTH]: { ...asStored(kept), pushed: 'pushed-by-eso' }
    })
    expect(pruned.outputs).toMatchObject({ deleted: '["database_url","webhook_secret"]', changed: 'true' })
    expect(regionsOutput(pruned)).toEqual(regionsOutput(planned))
    expect(tablesOf(pruned)[`Secrets pushed to ${PATH} in ${SOUTH} (replica)`]).toEqual([
      PUSH_HEADER,
      row('database_url', 'deleted', '', ''),
      row('legacy', 'deleted', '', ''),
      row('stripe_api_key', 'created', 1),
      row('webhook_secret', 'deleted', '', '')
    ])
    expectNoLeaks(pruned, values)
  })

  it('fails before any write, in any region, when a replica holds another tool’s parameter, naming the region', async () => {
    await put(SOUTH, 'webhook_secret', 'theirs-in-south', { tags: [{ Key: 'managed-by', Value: 'external-secrets' }] })
    harness.proxy.calls.length = 0
    const refused = await run({ secrets: JSON.stringify(SECRETS) }, workflowRun(4101))
    expect(refused.exitCode).not.toBe(0)
    expect(errorOf(refused)).toBe(
      `::error::Nothing was written in any region: the plan has problems. [ZT121]\n` +
        `  - ${SOUTH}: ${PATH}/webhook_secret is tagged managed-by=external-secrets: it belongs to another tool and the action will not overwrite or delete it`
    )
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    expect(await valuesEverywhere()).toEqual({
      [PRIMARY]: {},
      [WEST]: {},
      [SOUTH]: { webhook_secret: 'theirs-in-south' }
    })
    expect(refused.outputs.regions).toBe('{}')
    expectNoLeaks(refused, [...Object.values(SECRETS), 'theirs-in-south'])
  })

  it('fails before any write, in any region, when a replica refuses access, naming the region and the permission; then converges', async () => {
    await push(4001, SECRETS)
    const rotated = { ...SECRETS, STRIPE_API_KEY: 'sk_live_rotated_654321' }
    const denied = `arn:aws:ssm:${SOUTH}:123456789012:parameter${PATH}/database_url`
    // A policy whose parameter ARNs leave ap-south-1 out: IAM refuses every SSM call signed for that region.
    harness.proxy.fault = ({ operation, region }): Fault | undefined =>
      region === SOUTH
        ? {
            kind: 'status',
            status: 400,
            type: 'AccessDeniedException',
            message: `User: arn:aws:sts::123456789012:assumed-role/release/github-actions is not authorized to perform: ssm:${operation} on resource: ${denied} because no identity-based policy allows the ssm:${operation} action`
          }
        : undefined
    harness.proxy.calls.length = 0

    const refused = await run({ secrets: JSON.stringify(rotated) }, workflowRun(4002))
    expect(refused.exitCode).not.toBe(0)
    expect(errorOf(refused)).toBe(
      `::error::Nothing was written in any region: reading SSM failed in ${SOUTH}. [ZT120]\n` +
        `  - ${SOUTH}: AWS denied ssm:GetParameters on ${denied}: grant ssm:GetParameters on that resource to the role the job assumes (see the IAM policy in the README)`
    )
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    // Every region was read in the same pass, the refusal in ap-south-1 included.
    expect(
      new Set(harness.proxy.calls.filter(({ operation }) => operation === 'GetParameters').map(({ region }) => region))
    ).toEqual(new Set(REGIONS))
    const unchanged = asStored(SECRETS)
    expect(await valuesEverywhere()).toEqual({ [PRIMARY]: unchanged, [WEST]: unchanged, [SOUTH]: unchanged })
    expect(refused.outputs).toMatchObject({ created: '[]', updated: '[]', changed: 'false', regions: '{}' })
    expect(tablesOf(refused)).toEqual({})
    expectNoLeaks(refused, [...Object.values(rotated), SECRETS.STRIPE_API_KEY])

    harness.proxy.fault = undefined
    harness.proxy.calls.length = 0
    const granted = await push(4003, rotated)
    expect(writesByRegion()).toEqual({
      [PRIMARY]: ['PutParameter stripe_api_key'],
      [WEST]: ['PutParameter stripe_api_key'],
      [SOUTH]: ['PutParameter stripe_api_key']
    })
    const now = asStored(rotated)
    expect(await valuesEverywhere()).toEqual({ [PRIMARY]: now, [WEST]: now, [SOUTH]: now })
    expectNoLeaks(granted, [...Object.values(rotated), SECRETS.STRIPE_API_KEY])
  })

  describe('with a cluster', () => {
    let kube: KubeApiServer
    beforeEach(async () => {
      kube = await startKubeApiServer({
        ssmEndpoint: harness.moto.endpoint,
        region: PRIMARY,
        reconcileDelayMs: 100,
        retryBaseMs: 60_000
      })
      kube.apply(readFileSync('__tests__/fixtures/cluster/payments-prod.yaml', 'utf8'))
    })
    afterEach(async () => kube?.close())

    it('names the replica that failed after its first write and what was and was not written there, writes the primary fully, does not sync; a re-run writes only what is missing', async () => {
      const cluster = { namespace: 'payments-prod', kubeconfig: kube.kubeconfig(), timeout: '30s' }
      let westPuts = 0
      harness.proxy.fault = ({ operation, region, body }): Fault | undefined =>
        region === WEST && operation === 'PutParameter' && ++westPuts > 1
          ? {
              kind: 'status',
              status: 400,
              type: 'AccessDeniedException',
              message: `User: arn:aws:sts::123456789012:assumed-role/release/github-actions is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:${WEST}:123456789012:parameter${String(body.Name)}`
            }
          : undefined

      const failed = await run({ secrets: JSON.stringify(SECRETS), ...cluster }, workflowRun(5001))
      expect(failed.exitCode).not.toBe(0)
      const westCalls = harness.proxy.calls.filter(
        ({ operation, region }) => operation === 'PutParameter' && region === WEST
      )
      expect(westCalls.map(({ faulted }) => faulted)).toEqual([undefined, 'status', 'status'])
      const [writtenKey, ...notWritten] = westCalls.map(({ body }) => String(body.Name).slice(PATH.length + 1))
      const reason = (key: string) =>
        `AWS denied ssm:PutParameter on arn:aws:ssm:${WEST}:123456789012:parameter${PATH}/${key}: grant ssm:PutParameter on that resource to the role the job assumes (see the IAM policy in the README)`
      expect(errorOf(failed)).toBe(
        [
          `::error::Parameters were not written in ${WEST}; nothing was rolled back, and a re-run writes only what is missing or different, region by region: [ZT130]`,
          `In ${WEST} (replica), written there: ${writtenKey}. 2 of 3 parameters were not written or deleted; a re-run retries only those:`,
          ...notWritten.sort().map((key) => `  - ${PATH}/${key}: ${reason(key)}`),
          'The sync phase did not run: the primary region holds every value, but the run failed; a re-run writes what is missing in the replica regions, then syncs.'
        ].join('\n')
      )
      const everywhere = asStored(SECRETS)
      expect(await valuesEverywhere()).toEqual({
        [PRIMARY]: everywhere,
        [WEST]: { [writtenKey]: everywhere[writtenKey] },
        [SOUTH]: everywhere
      })
      expect(failed.outputs).toMatchObject({
        created: '["database_url","stripe_api_key","webhook_secret"]',
        synced: '[]'
      })
      expect(regionsOutput(failed)).toEqual({
        [PRIMARY]: keys({ created: ['database_url', 'stripe_api_key', 'webhook_secret'] }),
        [WEST]: keys({ created: [writtenKey] }),
        [SOUTH]: keys({ created: ['database_url', 'stripe_api_key', 'webhook_secret'] })
      })
      expect(tablesOf(failed)[`Secrets pushed to ${PATH} in ${WEST} (replica)`]).toEqual([
        PUSH_HEADER,
        ...['database_url', 'stripe_api_key', 'webhook_secret'].map((key) =>
          key === writtenKey ? row(key, 'created', 1) : row(key, `failed: ${reason(key)}`, '')
        )
      ])
      // No ExternalSecret was annotated: the sync phase never started.
      expect(kube.requests.filter(({ method }) => method === 'PATCH')).toEqual([])
      expect(failed.stdout).not.toContain('::group::Sync')
      expectNoLeaks(failed, [...Object.values(SECRETS), kube.token])

      harness.proxy.fault = undefined
      harness.proxy.calls.length = 0
      const rerun = await push(5002, SECRETS, cluster)
      expect(writesByRegion()).toEqual({
        [PRIMARY]: [],
        [WEST]: notWritten.sort().map((key) => `PutParameter ${key}`),
        [SOUTH]: []
      })
      expect(regionsOutput(rerun)).toMatchObject({
        [WEST]: keys({ created: notWritten.sort(), unchanged: [writtenKey] })
      })
      expect(await valuesEverywhere()).toEqual({ [PRIMARY]: everywhere, [WEST]: everywhere, [SOUTH]: everywhere })
      expect(JSON.parse(rerun.outputs.synced)).toEqual(['payments-prod/payments-db', 'payments-prod/payments-provider'])
      expectNoLeaks(rerun, [...Object.values(SECRETS), kube.token])
    })
  })

  it('restores from the primary’s history into every region, and with prune deletes per region what was created after the point', async () => {
    await push(6001, SECRETS)
    const point = await pointBetweenRuns()
    const second = { ...SECRETS, WEBHOOK_SECRET: 'whsec_second_0002', NEW_KEY: 'created-after-the-point' }
    await push(6002, second)
    // us-west-2 lost a key the point holds: the restore brings it back there too.
    await harness.ssmIn(WEST).send(new DeleteParameterCommand({ Name: `${PATH}/database_url` }))
    harness.proxy.calls.length = 0

    const restored = await run({ 'restore-to': point }, workflowRun(6003))
    expect(errorOf(restored)).toBe('')
    expect(restored.exitCode).toBe(0)
    // The plan comes from the primary's history alone.
    const histories = harness.proxy.calls.filter(({ operation }) => operation === 'GetParameterHistory')
    expect(histories.length).toBeGreaterThan(0)
    expect(new Set(histories.map(({ region }) => region))).toEqual(new Set([PRIMARY]))
    expect(writesByRegion()).toEqual({
      [PRIMARY]: ['PutParameter webhook_secret'],
      [WEST]: ['PutParameter database_url', 'PutParameter webhook_secret'],
      [SOUTH]: ['PutParameter webhook_secret']
    })
    expect(restored.outputs).toMatchObject({
      updated: '["webhook_secret"]',
      unchanged: '["database_url","stripe_api_key"]',
      deleted: '[]'
    })
    expect(regionsOutput(restored)).toEqual({
      [PRIMARY]: keys({ updated: ['webhook_secret'], unchanged: ['database_url', 'stripe_api_key'] }),
      [WEST]: keys({ created: ['database_url'], updated: ['webhook_secret'], unchanged: ['stripe_api_key'] }),
      [SOUTH]: keys({ updated: ['webhook_secret'], unchanged: ['database_url', 'stripe_api_key'] })
    })
    const atThePoint = { ...asStored(SECRETS), new_key: second.NEW_KEY }
    expect(await valuesEverywhere()).toEqual({ [PRIMARY]: atThePoint, [WEST]: atThePoint, [SOUTH]: atThePoint })
    const restoredFrom1 = `restored from version 1 (as of ${point}); ${provenance(6003)}`
    for (const region of REGIONS)
      expect((await stored(region)).webhook_secret).toMatchObject({ version: 3, description: restoredFrom1 })
    expect((await stored(WEST)).database_url).toMatchObject({
      version: 1,
      description: restoredFrom1,
      tags: { 'managed-by': 'zerotouch-secrets' }
    })
    expect(restored.stdout).toContain(`Restoring 4 parameters under ${PATH}/ to ${point}`)
    expect(tablesOf(restored)[`Secrets restored under ${PATH} in ${WEST} (replica)`]).toEqual([
      RESTORE_HEADER,
      ['database_url', `${PATH}/database_url`, 'created again from version 1 as version 1'],
      ['stripe_api_key', `${PATH}/stripe_api_key`, 'unchanged: version 1 holds the value of version 1'],
      ['webhook_secret', `${PATH}/webhook_secret`, 'restored from version 1 to new version 3']
    ])
    expect(tablesOf(restored)[`Secrets restored under ${PATH} in ${PRIMARY} (primary)`]).toContainEqual([
      'new_key',
      `${PATH}/new_key`,
      'kept: created after the point; prune: true deletes it'
    ])
    const values = [...Object.values(second), SECRETS.WEBHOOK_SECRET]
    expectNoLeaks(restored, values)

    harness.proxy.calls.length = 0
    const pruned = await run({ 'restore-to': point, prune: 'true' }, workflowRun(6004))
    expect(errorOf(pruned)).toBe('')
    expect(writesByRegion()).toEqual({
      [PRIMARY]: ['DeleteParameters new_key'],
      [WEST]: ['DeleteParameters new_key'],
      [SOUTH]: ['DeleteParameters new_key']
    })
    const onlyThePoint = asStored(SECRETS)
    expect(await valuesEverywhere()).toEqual({
      [PRIMARY]: onlyThePoint,
      [WEST]: onlyThePoint,
      [SOUTH]: onlyThePoint
    })
    const deleted = keys({ unchanged: ['database_url', 'stripe_api_key', 'webhook_secret'], deleted: ['new_key'] })
    expect(regionsOutput(pruned)).toEqual({ [PRIMARY]: deleted, [WEST]: deleted, [SOUTH]: deleted })
    expectNoLeaks(pruned, values)
  })
})
