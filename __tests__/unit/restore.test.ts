import { beforeEach, describe, expect, it } from '@jest/globals'
import { MemoryStore } from '../../__fixtures__/memory-store.js'
import { actionErrorOf } from '../../__fixtures__/problems.js'
import { localWriter, workflowRun } from '../../__fixtures__/writer.js'
import { describeVersion } from '../../src/history/provenance.js'
import type { RestorePoint } from '../../src/history/select.js'
import { pushSecrets } from '../../src/push/push.js'
import { restoreLogLines, restoreSummaryRows } from '../../src/push/report.js'
import { planRestore } from '../../src/restore/restore.js'
import { createRedactor } from '../../src/secrets/redact.js'
import type { RetryPolicy } from '../../src/ssm/retry.js'
import { serviceTarget, type Tier } from '../../src/ssm/rules.js'

const TARGET = serviceTarget('/zerotouch', 'prod', 'payments')
const PATH = TARGET.path
const MANAGED = { 'managed-by': 'zerotouch-secrets' }
const T0 = Date.UTC(2026, 10, 30, 12)
const MINUTE = 60_000
const at = (minute: number) => T0 + minute * MINUTE
const byRun = (runId: number) => describeVersion({ kind: 'workflow', run: { ...workflowRun, runId } })

const noWait: RetryPolicy = {
  baseMs: 1,
  capMs: 1,
  windowMs: 1_000,
  random: () => 1,
  clock: { now: () => 0, sleep: () => Promise.resolve() }
}

let store: MemoryStore
let masked: string[]
beforeEach(() => {
  store = new MemoryStore()
  masked = []
  // db_url: runs 1, 2 and 3 change it; api_key: written by run 1 only; cache_url: created by run 3.
  store.seedHistory(
    `${PATH}/db_url`,
    [
      { value: 'db-one', modifiedAt: at(0), description: byRun(1) },
      { value: 'db-two', modifiedAt: at(10), description: byRun(2) },
      { value: 'db-three', modifiedAt: at(20), description: byRun(3) }
    ],
    { tags: MANAGED }
  )
  store.seedHistory(`${PATH}/api_key`, [{ value: 'key-one', modifiedAt: at(0), description: byRun(1) }], {
    tags: MANAGED
  })
  store.seedHistory(`${PATH}/cache_url`, [{ value: 'cache-three', modifiedAt: at(20), description: byRun(3) }], {
    tags: MANAGED
  })
  store.seedHistory(`${PATH}/foreign`, [{ value: 'theirs', modifiedAt: at(30) }], {
    tags: { 'managed-by': 'external-secrets' }
  })
  store.seedHistory(`${PATH}/untagged`, [{ value: 'by-hand', modifiedAt: at(30) }])
  store.seedHistory(`${PATH}/deeper/nested`, [{ value: 'nested', modifiedAt: at(30) }], { tags: MANAGED })
})

function plan(restore: RestorePoint, { now = at(60), tier = 'Standard' }: { now?: number; tier?: Tier } = {}) {
  return planRestore(
    { target: TARGET, restore, write: { tier } },
    {
      store,
      redact: createRedactor([]),
      mask: (value) => masked.push(value),
      clock: { now: () => now, sleep: () => Promise.resolve() },
      retry: noWait
    }
  )
}

async function restoreTo(restore: RestorePoint, { prune = false, dryRun = false } = {}) {
  const restored = await plan(restore)
  const report = await pushSecrets(
    { target: TARGET, secrets: restored.secrets, write: { tier: 'Standard', tags: {}, prune }, dryRun },
    { store, redact: createRedactor([]), retry: noWait, writer: localWriter }
  )
  return { restored, report }
}

const writes = () => store.count('putParameter') + store.count('addTags') + store.count('deleteParameters')

describe('planRestore', () => {
  it('chooses, for each parameter the action owns, the version current at the time', async () => {
    const restored = await plan({ kind: 'time', at: at(15) })
    expect(restored.at).toBe(at(15))
    expect(restored.secrets.sort((a, b) => a.key.localeCompare(b.key))).toEqual([
      { key: 'api_key', source: 'version 1', value: 'key-one', restoredFrom: { version: 1, asOf: at(15) } },
      { key: 'db_url', source: 'version 2', value: 'db-two', restoredFrom: { version: 2, asOf: at(15) } }
    ])
    expect(restored.createdAfter).toEqual([`${PATH}/cache_url`])
    expect(restored.notOwned.sort()).toEqual([`${PATH}/foreign`, `${PATH}/untagged`])
  })

  it("reads the history of the action's own parameters only, directly under the path, and writes nothing", async () => {
    await plan({ kind: 'time', at: at(15) })
    expect(
      store.calls
        .filter(({ operation }) => operation === 'getHistoryPage')
        .flatMap(({ names }) => names)
        .sort()
    ).toEqual([`${PATH}/api_key`, `${PATH}/cache_url`, `${PATH}/db_url`])
    expect(writes()).toBe(0)
  })

  it("stands a run for the state right after that run's last write", async () => {
    const restored = await plan({ kind: 'run', runId: '2' })
    expect(restored.at).toBe(at(10))
    expect(restored.secrets.map(({ key, value }) => [key, value]).sort()).toEqual([
      ['api_key', 'key-one'],
      ['db_url', 'db-two']
    ])
  })

  it('masks what each parameter holds now and held at the point, and nothing else of its history', async () => {
    await plan({ kind: 'time', at: at(15) })
    expect(masked.sort()).toEqual(['db-three', 'db-two', 'key-one'])
  })

  it('refuses a run that wrote none of the parameters, naming the run, before any write', async () => {
    const error = await actionErrorOf(plan({ kind: 'run', runId: '99' }))
    expect(error.code).toBe('ZT122')
    expect(error.message).toMatch(
      /no version of the 3 parameters the action owns under \/zerotouch\/prod\/payments\/ was written by run 99/
    )
    expect(writes()).toBe(0)
  })

  it('refuses a time in the future as an invalid input, before reading SSM', async () => {
    const error = await actionErrorOf(plan({ kind: 'time', at: at(61) }))
    expect(error.code).toBe('ZT100')
    expect(error.message).toMatch(
      /restore-to: 2026-11-30T13:01:00.000Z is in the future \(now 2026-11-30T13:00:00.000Z\)/
    )
    expect(store.calls).toEqual([])
  })

  it('refuses the whole restore, naming the parameter, when a history no longer reaches the point', async () => {
    store.seedHistory(
      `${PATH}/rotated`,
      Array.from({ length: 100 }, (_, i) => ({ value: `r${i}`, modifiedAt: at(5 + i / 100) })),
      { tags: MANAGED, first: 7 }
    )
    const error = await actionErrorOf(plan({ kind: 'time', at: at(1) }))
    expect(error.code).toBe('ZT122')
    expect(error.problems).toEqual([
      `${PATH}/rotated: the oldest version SSM still keeps is version 7, written 2026-11-30T12:05:00.000Z, after 2026-11-30T12:01:00.000Z: what it held then is no longer stored`
    ])
    expect(writes()).toBe(0)
  })

  it('reads a history longer than a page', async () => {
    store.seedHistory(
      `${PATH}/busy`,
      Array.from({ length: 100 }, (_, i) => ({ value: `b${i}`, modifiedAt: at(i / 10) })),
      { tags: MANAGED }
    )
    const restored = await plan({ kind: 'time', at: at(9.95) })
    expect(restored.secrets.find(({ key }) => key === 'busy')).toMatchObject({
      value: 'b99',
      restoredFrom: { version: 100 }
    })
    expect(store.count('getHistoryPage')).toBe(3 + 2)
  })

  it('refuses a value too large for the tier, naming the parameter', async () => {
    store.seedHistory(
      `${PATH}/big`,
      [
        { value: 'x'.repeat(5000), modifiedAt: at(0) },
        { value: 'small', modifiedAt: at(20) }
      ],
      { tags: MANAGED }
    )
    const error = await actionErrorOf(plan({ kind: 'time', at: at(15) }))
    expect(error.problems).toEqual([
      `${PATH}/big: version 1 holds more than the 4096 bytes of the Standard tier: set tier: Advanced`
    ])
    await expect(plan({ kind: 'time', at: at(15) }, { tier: 'Advanced' })).resolves.toBeDefined()
  })
})

describe('a restore, written by the push phase', () => {
  it('brings back a large version of an Advanced parameter with tier: Standard: the write keeps it Advanced', async () => {
    store.seedHistory(
      `${PATH}/big`,
      [
        { value: 'x'.repeat(5000), modifiedAt: at(0), tier: 'Advanced' },
        { value: 'small', modifiedAt: at(20), tier: 'Advanced' }
      ],
      { tags: MANAGED }
    )
    const { report } = await restoreTo({ kind: 'time', at: at(15) })
    expect(report.outcomes.find(({ key }) => key === 'big')).toMatchObject({ result: 'updated', version: 3 })
    expect(report.keptAdvanced).toEqual([`${PATH}/big`])
    expect(store.parameters.get(`${PATH}/big`)).toMatchObject({ value: 'x'.repeat(5000), tier: 'Advanced' })
  })

  it('refuses the whole restore, before any write, when a parameter to rewrite holds 100 versions and its oldest carries a label', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => ({ value: `hot-${i}`, modifiedAt: at(i) }))
    store.seedHistory(`${PATH}/hot`, hundred, { tags: MANAGED, first: 7 })
    store.label(`${PATH}/hot`, 7, ['release-1'])
    const error = await actionErrorOf(restoreTo({ kind: 'time', at: at(5) }))
    expect(error.code).toBe('ZT121')
    expect(error.problems).toEqual([
      `${PATH}/hot: version 7, the oldest of the 100 versions SSM keeps, carries the label release-1, so SSM refuses a new version (ParameterMaxVersionLimitExceeded): move the label to a newer version or remove it (aws ssm unlabel-parameter-version --name ${PATH}/hot --parameter-version 7 --labels release-1)`
    ])
    expect(writes()).toBe(0)
  })

  it('writes back only the values that differ, as new versions described as restored', async () => {
    const { report } = await restoreTo({ kind: 'time', at: at(5) })
    expect(report.outcomes.map(({ key, result, version }) => [key, result, version]).sort()).toEqual([
      ['api_key', 'unchanged', 1],
      ['db_url', 'updated', 4]
    ])
    expect(store.history(`${PATH}/db_url`).at(-1)).toMatchObject({
      version: 4,
      value: 'db-one',
      description: 'restored from version 1 (as of 2026-11-30T12:05:00.000Z); zerotouch-secrets: local run on test-host'
    })
    expect(store.count('putParameter')).toBe(1)
  })

  it('keeps a parameter created after the point, and reports it, without prune', async () => {
    const { restored, report } = await restoreTo({ kind: 'time', at: at(5) })
    expect(store.parameters.has(`${PATH}/cache_url`)).toBe(true)
    expect(restoreLogLines(restored, false)).toEqual([
      `kept         ${PATH}/cache_url (created after the point; prune: true deletes it)`,
      `not touched  ${PATH}/foreign (not tagged managed-by=zerotouch-secrets)`,
      `not touched  ${PATH}/untagged (not tagged managed-by=zerotouch-secrets)`
    ])
    expect(restoreSummaryRows(restored, report, false)).toEqual([
      ['Key', 'Parameter', 'Result'],
      ['api_key', `${PATH}/api_key`, 'unchanged: version 1 holds the value of version 1'],
      ['cache_url', `${PATH}/cache_url`, 'kept: created after the point; prune: true deletes it'],
      ['db_url', `${PATH}/db_url`, 'restored from version 1 to new version 4'],
      ['foreign', `${PATH}/foreign`, 'not touched: not tagged managed-by=zerotouch-secrets'],
      ['untagged', `${PATH}/untagged`, 'not touched: not tagged managed-by=zerotouch-secrets']
    ])
  })

  it('deletes a parameter created after the point with prune, and never a foreign, untagged or nested one', async () => {
    const { restored, report } = await restoreTo({ kind: 'time', at: at(5) }, { prune: true })
    expect(report.outcomes.filter(({ result }) => result === 'deleted').map(({ name }) => name)).toEqual([
      `${PATH}/cache_url`
    ])
    expect([...store.parameters.keys()].sort()).toEqual([
      `${PATH}/api_key`,
      `${PATH}/db_url`,
      `${PATH}/deeper/nested`,
      `${PATH}/foreign`,
      `${PATH}/untagged`
    ])
    expect(store.history(`${PATH}/foreign`)).toHaveLength(1)
    expect(restoreSummaryRows(restored, report, true).slice(1)).toContainEqual([
      'cache_url',
      `${PATH}/cache_url`,
      'deleted: created after the point'
    ])
  })

  it('restores to before the service existed: with prune, deletes every parameter the action owns', async () => {
    const { restored, report } = await restoreTo({ kind: 'time', at: at(-1) }, { prune: true })
    expect(restored.secrets).toEqual([])
    expect(report.outcomes.map(({ key, result }) => [key, result]).sort()).toEqual([
      ['api_key', 'deleted'],
      ['cache_url', 'deleted'],
      ['db_url', 'deleted']
    ])
  })

  it('dry run: plans the restore and writes nothing', async () => {
    const { restored, report } = await restoreTo({ kind: 'time', at: at(5) }, { prune: true, dryRun: true })
    expect(writes()).toBe(0)
    expect(restoreSummaryRows(restored, report, true).slice(1)).toEqual([
      ['api_key', `${PATH}/api_key`, 'unchanged: version 1 holds the value of version 1'],
      ['cache_url', `${PATH}/cache_url`, 'would delete: created after the point'],
      ['db_url', `${PATH}/db_url`, 'would restore version 1 (now version 3)'],
      ['foreign', `${PATH}/foreign`, 'not touched: not tagged managed-by=zerotouch-secrets'],
      ['untagged', `${PATH}/untagged`, 'not touched: not tagged managed-by=zerotouch-secrets']
    ])
  })

  it('a second restore to the same point writes nothing', async () => {
    await restoreTo({ kind: 'time', at: at(5) })
    const before = store.count('putParameter')
    const { report } = await restoreTo({ kind: 'time', at: at(5) })
    expect(store.count('putParameter')).toBe(before)
    expect(report.outcomes.every(({ result }) => result === 'unchanged')).toBe(true)
  })
})
