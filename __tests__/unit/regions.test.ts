/** The push into replica regions: every region planned before the first write anywhere, then each written at its own pace. */
import { beforeEach, describe, expect, it } from '@jest/globals'
import { awsError } from '../../__fixtures__/aws-errors.js'
import { MemoryStore } from '../../__fixtures__/memory-store.js'
import { firstPush, quotaStore } from '../../__fixtures__/quota-store.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import { localWriter } from '../../__fixtures__/writer.js'
import { ActionError } from '../../src/errors.js'
import { pushPhase } from '../../src/push/phase.js'
import { pushSecrets, type PushReport, type WriteSettings } from '../../src/push/push.js'
import { keptAdvancedNotices, pushFailure, pushOutputs, regionViews } from '../../src/push/report.js'
import { createRedactor } from '../../src/secrets/redact.js'
import type { Secret } from '../../src/secrets/keys.js'
import type { RetryPolicy } from '../../src/ssm/retry.js'
import { serviceTarget } from '../../src/ssm/rules.js'

const PATH = '/zerotouch/prod/payments'
const MANAGED = { 'managed-by': 'zerotouch-secrets' }
const PRIMARY = 'eu-west-1'
const WRITE: WriteSettings = { tier: 'Standard', tags: {}, prune: false }
const SECRETS: Secret[] = [
  { source: 'DATABASE_URL', key: 'database_url', value: 'postgres://db' },
  { source: 'STRIPE_KEY', key: 'stripe_key', value: 'sk_live_1' },
  { source: 'TLS_KEY', key: 'tls_key', value: 'tls-1' }
]

/** Retries at once, on a clock that moves only when it sleeps. */
function instantRetry(): RetryPolicy {
  let now = 0
  const clock = {
    now: () => now,
    sleep: (ms: number) => {
      now += ms
      return Promise.resolve()
    }
  }
  return { baseMs: 10, capMs: 100, windowMs: 60_000, random: () => 1, clock }
}

let primary: MemoryStore
let west: MemoryStore
let south: MemoryStore
beforeEach(() => {
  primary = new MemoryStore()
  west = new MemoryStore()
  south = new MemoryStore()
})

const stores = () => [primary, west, south]
const writes = (store: MemoryStore) =>
  store.count('putParameter') + store.count('addTags') + store.count('deleteParameters')

function push(
  secrets: readonly Secret[] = SECRETS,
  {
    dryRun = false,
    retry = instantRetry(),
    ...write
  }: Partial<WriteSettings> & { dryRun?: boolean; retry?: RetryPolicy } = {},
  writer = localWriter
): Promise<PushReport> {
  return pushSecrets(
    {
      secrets,
      target: serviceTarget('/zerotouch', 'prod', 'payments'),
      write: { ...WRITE, ...write },
      dryRun
    },
    {
      store: primary,
      replicas: {
        primary: PRIMARY,
        stores: [
          { region: 'us-west-2', store: west },
          { region: 'ap-south-1', store: south }
        ]
      },
      redact: createRedactor(secrets.map(({ value }) => value)),
      retry,
      writer
    }
  )
}

/** Each region's `key:result`s, sorted. */
function results(report: PushReport): Record<string, string[]> {
  return Object.fromEntries(
    regionViews(report, PRIMARY).map((view): [string, string[]] => [
      view.region?.name ?? PRIMARY,
      view.outcomes.map(({ key, result }) => `${key}:${result}`).sort()
    ])
  )
}

describe('pushSecrets with replica regions', () => {
  it('makes the same writes in every region: names, values, SecureString, tags on create, the description', async () => {
    const report = await push(SECRETS, { tags: { team: 'payments' } })
    for (const store of stores()) {
      expect([...store.parameters.keys()].sort()).toEqual(SECRETS.map(({ key }) => `${PATH}/${key}`).sort())
      for (const { key, value } of SECRETS) {
        expect(store.parameters.get(`${PATH}/${key}`)).toMatchObject({
          value,
          type: 'SecureString',
          version: 1,
          tags: { team: 'payments', ...MANAGED }
        })
      }
    }
    const descriptions = stores().map((store) => store.history(`${PATH}/database_url`)[0].description)
    expect(descriptions[0]).toMatch(/zerotouch-secrets/)
    expect(new Set(descriptions).size).toBe(1)
    expect(report.replicas.map(({ region }) => region)).toEqual(['us-west-2', 'ap-south-1'])
    expect(Object.values(results(report))).toEqual(
      Array(3).fill(['database_url:created', 'stripe_key:created', 'tls_key:created'])
    )
  })

  it('decides skip-unchanged per region: a replica missing a key, or holding another value, gets it written, the primary nothing', async () => {
    for (const store of stores())
      for (const { key, value } of SECRETS) store.seed(`${PATH}/${key}`, value, { tags: MANAGED })
    west.parameters.delete(`${PATH}/stripe_key`)
    south.seed(`${PATH}/tls_key`, 'edited-in-the-console', { tags: MANAGED, version: 4 })
    const report = await push()
    expect(writes(primary)).toBe(0)
    expect(west.calls.filter(({ operation }) => operation === 'putParameter').flatMap(({ names }) => names)).toEqual([
      `${PATH}/stripe_key`
    ])
    expect(south.calls.filter(({ operation }) => operation === 'putParameter').flatMap(({ names }) => names)).toEqual([
      `${PATH}/tls_key`
    ])
    expect(south.parameters.get(`${PATH}/tls_key`)?.value).toBe('tls-1')
    expect(results(report)).toEqual({
      [PRIMARY]: ['database_url:unchanged', 'stripe_key:unchanged', 'tls_key:unchanged'],
      'us-west-2': ['database_url:unchanged', 'stripe_key:created', 'tls_key:unchanged'],
      'ap-south-1': ['database_url:unchanged', 'stripe_key:unchanged', 'tls_key:updated']
    })
    expect(JSON.parse(pushOutputs(regionViews(report, PRIMARY), PRIMARY).regions)).toEqual({
      [PRIMARY]: { created: [], updated: [], unchanged: ['database_url', 'stripe_key', 'tls_key'], deleted: [] },
      'us-west-2': { created: ['stripe_key'], updated: [], unchanged: ['database_url', 'tls_key'], deleted: [] },
      'ap-south-1': { created: [], updated: ['tls_key'], unchanged: ['database_url', 'stripe_key'], deleted: [] }
    })
  })

  it('keeps the tier each region already has: an Advanced parameter in a replica stays Advanced there only', async () => {
    for (const store of stores()) store.seed(`${PATH}/database_url`, 'old', { tags: MANAGED })
    west.seed(`${PATH}/database_url`, 'old', { tags: MANAGED, tier: 'Advanced' })
    const report = await push(SECRETS.slice(0, 1))
    expect(primary.parameters.get(`${PATH}/database_url`)?.tier).toBe('Standard')
    expect(west.parameters.get(`${PATH}/database_url`)?.tier).toBe('Advanced')
    const notices = regionViews(report, PRIMARY).flatMap((view) => keptAdvancedNotices(view, 'Standard'))
    expect(notices).toEqual([expect.stringMatching(new RegExp(`^${PATH}/database_url in us-west-2 is an Advanced`))])
  })

  it('writes nowhere when a replica refuses a read, naming the region and the permission', async () => {
    south.fault = (operation) =>
      operation === 'getParameters'
        ? {
            error: awsError(
              'AccessDeniedException',
              400,
              `User: arn:aws:iam::123:user/ci is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:ap-south-1:123:parameter${PATH}/database_url`
            )
          }
        : undefined
    const failure = await push().catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(ActionError)
    expect((failure as ActionError).code).toBe('ZT120')
    expect((failure as ActionError).message).toMatch(
      /^Nothing was written in any region: reading SSM failed in ap-south-1\./
    )
    expect((failure as ActionError).problems).toEqual([
      expect.stringMatching(/^ap-south-1: AWS denied ssm:GetParameters on arn:aws:ssm:ap-south-1:/)
    ])
    expect(stores().map(writes)).toEqual([0, 0, 0])
  })

  it("writes nowhere when a replica's plan has a problem (another tool's parameter), naming the region", async () => {
    west.seed(`${PATH}/tls_key`, 'pushed-by-eso', { tags: { 'managed-by': 'external-secrets' } })
    const failure = (await push().catch((error: unknown) => error)) as ActionError
    expect(failure.code).toBe('ZT121')
    expect(failure.message).toMatch(/^Nothing was written in any region: the plan has problems\./)
    expect(failure.problems).toEqual([
      expect.stringMatching(new RegExp(`^us-west-2: ${PATH}/tls_key is tagged managed-by=external-secrets`))
    ])
    expect(stores().map(writes)).toEqual([0, 0, 0])
  })

  it('a replica failing after its first write fails that region only, names what was and was not written there, and a re-run converges', async () => {
    let puts = 0
    west.fault = (operation) =>
      operation === 'putParameter' && ++puts > 1
        ? { error: awsError('InternalServerError', 500, 'We encountered an internal error') }
        : undefined
    const report = await push()
    expect(stores().map((store) => store.parameters.size)).toEqual([3, 1, 3])
    const failure = pushFailure(regionViews(report, PRIMARY)) ?? ''
    const [, ...lines] = failure.split('\n')
    expect(failure).toMatch(/^Parameters were not written in us-west-2; nothing was rolled back/)
    const written = [...west.parameters.keys()].map((name) => name.slice(PATH.length + 1))
    expect(lines[0]).toBe(
      `In us-west-2 (replica), written there: ${written[0]}. 2 of 3 parameters were not written or deleted; a re-run retries only those:`
    )
    expect(lines.slice(1)).toHaveLength(2)
    expect(failure).not.toMatch(/postgres|sk_live|tls-1/)

    const phaseReport = pushPhase.report(report, {
      config: {
        target: serviceTarget('/zerotouch', 'prod', 'payments'),
        secrets: SECRETS,
        write: WRITE,
        dryRun: false
      },
      primary: { region: PRIMARY, store: primary },
      replicas: [
        { region: 'us-west-2', store: west },
        { region: 'ap-south-1', store: south }
      ],
      retry: instantRetry(),
      env: {},
      readers: []
    })
    expect(phaseReport.failure?.code).toBe('ZT130')
    expect(phaseReport.failure?.message).toMatch(
      /The sync phase did not run: the primary region holds every value, but the run failed; a re-run writes what is missing in the replica regions, then syncs\.$/
    )
    expect(phaseReport.summary?.map(({ heading }) => heading)).toEqual([
      `Secrets pushed to ${PATH} in eu-west-1 (primary)`,
      `Secrets pushed to ${PATH} in us-west-2 (replica)`,
      `Secrets pushed to ${PATH} in ap-south-1 (replica)`
    ])

    west.fault = undefined
    const before = stores().map(writes)
    const again = await push()
    expect(stores().map(writes)).toEqual([before[0], before[1] + 2, before[2]])
    expect(west.parameters.size).toBe(3)
    expect(results(again)[PRIMARY]).toEqual(['database_url:unchanged', 'stripe_key:unchanged', 'tls_key:unchanged'])
    expect(results(again)['us-west-2'].filter((outcome) => outcome.endsWith(':created'))).toHaveLength(2)
    expect(results(again)['us-west-2']).toContain(`${written[0]}:unchanged`)
    expect(pushFailure(regionViews(again, PRIMARY))).toBeUndefined()
  })

  it('prunes per region, only the parameters tagged as its own there', async () => {
    for (const store of stores())
      for (const { key, value } of SECRETS) store.seed(`${PATH}/${key}`, value, { tags: MANAGED })
    primary.seed(`${PATH}/old_primary`, 'x', { tags: MANAGED })
    west.seed(`${PATH}/old_west`, 'x', { tags: MANAGED })
    west.seed(`${PATH}/hand_made`, 'x')
    const report = await push(SECRETS, { prune: true })
    expect(primary.parameters.has(`${PATH}/old_primary`)).toBe(false)
    expect(west.parameters.has(`${PATH}/old_west`)).toBe(false)
    expect(west.parameters.has(`${PATH}/hand_made`)).toBe(true)
    expect(south.count('deleteParameters')).toBe(0)
    expect(report.notOwned).toEqual([])
    expect(report.replicas[0].notOwned).toEqual([`${PATH}/hand_made`])
    expect(results(report)[PRIMARY]).toContain('old_primary:deleted')
    expect(results(report)['us-west-2']).toContain('old_west:deleted')
  })

  it('a dry run plans every region and writes nowhere', async () => {
    west.seed(`${PATH}/database_url`, 'old', { tags: MANAGED })
    const report = await push(SECRETS, { dryRun: true })
    expect(stores().map(writes)).toEqual([0, 0, 0])
    expect(report.dryRun).toBe(true)
    expect(results(report)['us-west-2']).toEqual(['database_url:updated', 'stripe_key:created', 'tls_key:created'])
  })

  it('asks who writes once for all regions, and not at all when no region changes', async () => {
    let asked = 0
    const counting = () => {
      asked += 1
      return localWriter()
    }
    await push(SECRETS, {}, counting)
    expect(asked).toBe(1)
    await push(SECRETS, {}, counting)
    expect(asked).toBe(1)
  })
})

describe('replica regions on simulated time', () => {
  it('paces each region on its own: a throttled replica does not slow the primary', async () => {
    const clock = virtualClock()
    const main = quotaStore(clock, { latencyMs: 50 })
    const replica = quotaStore(clock, { rate: 3, burst: 3, latencyMs: 50 })
    const report = await clock.run(
      firstPush(clock, 40, {
        store: main.slow,
        replicas: { primary: PRIMARY, stores: [{ region: 'us-west-2', store: replica.slow }] }
      })
    )
    expect(
      [report, ...report.replicas].map(({ outcomes }) => outcomes.every(({ result }) => result === 'created'))
    ).toEqual([true, true])
    // Unthrottled, 4 writers of 50 ms each take 10 rounds; the replica's quota (3 a second) needs over 12 s.
    expect(Math.max(...main.stats.putTimes)).toBe(10 * 50)
    expect(Math.max(...replica.stats.putTimes)).toBeGreaterThan(12_000)
  })
})
