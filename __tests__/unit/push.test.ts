import { beforeEach, describe, expect, it } from '@jest/globals'
import { awsError } from '../../__fixtures__/aws-errors.js'
import { MemoryStore } from '../../__fixtures__/memory-store.js'
import { localWriter } from '../../__fixtures__/writer.js'
import { ActionError } from '../../src/errors.js'
import { ownedReferences, type OwnedReference } from '../../src/eso/guardrails.js'
import { pushSecrets, type WriteSettings } from '../../src/push/push.js'
import { keptAdvancedNotices, pushFailure } from '../../src/push/report.js'
import { createRedactor } from '../../src/secrets/redact.js'
import type { Secret } from '../../src/secrets/keys.js'
import type { RetryPolicy } from '../../src/ssm/retry.js'
import { serviceTarget } from '../../src/ssm/rules.js'

const PATH = '/zerotouch/prod/payments'
const MANAGED = { 'managed-by': 'zerotouch-secrets' }
/** Retries at once, on a clock that moves only when it sleeps. */
function instantRetry(): RetryPolicy {
  let now = 0
  return {
    baseMs: 10,
    capMs: 100,
    windowMs: 60_000,
    random: () => 1,
    clock: {
      now: () => now,
      sleep: (ms) => {
        now += ms
        return Promise.resolve()
      }
    }
  }
}

function secrets(count: number, value = (i: number) => `value-${i}`): Secret[] {
  return Array.from({ length: count }, (_, i) => ({ source: `KEY_${i}`, key: `key_${i}`, value: value(i) }))
}

let store: MemoryStore
beforeEach(() => {
  store = new MemoryStore()
})

function push(
  input: Secret[],
  { dryRun = false, readers, ...write }: Partial<WriteSettings> & { dryRun?: boolean; readers?: OwnedReference[] } = {}
) {
  const redact = createRedactor(input.map(({ value }) => value))
  const target = serviceTarget('/zerotouch', 'prod', 'payments')
  return pushSecrets(
    { secrets: input, target, write: { tier: 'Standard', tags: {}, prune: false, ...write }, dryRun, readers },
    { store, redact, retry: instantRetry(), writer: localWriter }
  )
}

async function expectNothingWritten(promise: Promise<unknown>, message: RegExp) {
  await expect(promise).rejects.toThrow(ActionError)
  await expect(promise).rejects.toThrow(message)
  expect(store.count('putParameter') + store.count('addTags') + store.count('deleteParameters')).toBe(0)
}

describe('pushSecrets', () => {
  it('creates new parameters as SecureString, tagged in the same call', async () => {
    const report = await push(secrets(2), { tags: { team: 'payments' } })
    expect(report.outcomes.map(({ key, result, version }) => [key, result, version])).toEqual([
      ['key_0', 'created', 1],
      ['key_1', 'created', 1]
    ])
    expect(store.parameters.get(`${PATH}/key_0`)).toEqual({
      value: 'value-0',
      type: 'SecureString',
      version: 1,
      tags: { team: 'payments', ...MANAGED },
      tier: 'Standard'
    })
    expect(store.count('addTags')).toBe(0)
  })

  it('reads in batches of 10 and makes zero writes when nothing changed', async () => {
    await push(secrets(25))
    store.calls.length = 0
    const report = await push(secrets(25))
    expect(store.count('getParameters')).toBe(3)
    expect(store.calls.every(({ operation }) => operation === 'getParameters')).toBe(true)
    expect(report.outcomes.every(({ result }) => result === 'unchanged')).toBe(true)
  })

  it('writes only the changed key and does not re-tag a parameter it already tagged', async () => {
    await push(secrets(100))
    store.calls.length = 0
    const report = await push(secrets(100, (i) => (i === 7 ? 'new' : `value-${i}`)))
    expect(store.count('getParameters')).toBe(10)
    expect(store.count('putParameter')).toBe(1)
    expect(store.count('addTags')).toBe(0)
    expect(report.outcomes.find(({ key }) => key === 'key_7')).toMatchObject({ result: 'updated', version: 2 })
    expect(store.parameters.get(`${PATH}/key_7`)?.value).toBe('new')
  })

  it('adopts an untagged parameter by tagging it when it writes it', async () => {
    store.seed(`${PATH}/key_0`, 'old')
    await push(secrets(1), { tags: { team: 'payments' } })
    expect(store.parameters.get(`${PATH}/key_0`)).toMatchObject({
      value: 'value-0',
      version: 2,
      tags: { team: 'payments', ...MANAGED }
    })
  })

  it('refuses to overwrite a parameter another tool owns, and writes nothing at all', async () => {
    store.seed(`${PATH}/key_1`, 'old', { tags: { 'managed-by': 'external-secrets' } })
    await expectNothingWritten(push(secrets(3)), /key_1 is tagged managed-by=external-secrets/)
  })

  it('refuses a parameter of another type before writing anything', async () => {
    store.seed(`${PATH}/key_0`, 'plain', { type: 'String' })
    await expectNothingWritten(push(secrets(2)), /key_0 exists as a String parameter/)
  })

  it('writes an Advanced parameter as Advanced whatever tier says (SSM refuses a downgrade), and reports it', async () => {
    store.seed(`${PATH}/key_0`, 'x'.repeat(5000), { tier: 'Advanced', tags: MANAGED })
    store.seed(`${PATH}/key_1`, 'old', { tags: MANAGED })
    store.seed(`${PATH}/key_2`, 'small', { tier: 'Advanced', tags: MANAGED })
    const report = await push(secrets(3))
    expect(report.outcomes.map(({ key, result, version }) => [key, result, version])).toEqual([
      ['key_0', 'updated', 2],
      ['key_1', 'updated', 2],
      ['key_2', 'updated', 2]
    ])
    expect(report.keptAdvanced).toEqual([`${PATH}/key_0`, `${PATH}/key_2`])
    expect([0, 1, 2].map((i) => store.parameters.get(`${PATH}/key_${i}`)?.tier)).toEqual([
      'Advanced',
      'Standard',
      'Advanced'
    ])
    expect(keptAdvancedNotices(report, 'Standard')).toEqual([
      `${PATH}/key_0 is an Advanced parameter and SSM never moves one back to Standard: it was written as Advanced (tier: Standard). To make it Standard, delete it and let the next run create it again.`,
      `${PATH}/key_2 is an Advanced parameter and SSM never moves one back to Standard: it was written as Advanced (tier: Standard). To make it Standard, delete it and let the next run create it again.`
    ])
  })

  it('keeps an Advanced parameter Advanced with Intelligent-Tiering too, and reports nothing when tier is Advanced', async () => {
    store.seed(`${PATH}/key_0`, 'x'.repeat(5000), { tier: 'Advanced', tags: MANAGED })
    const intelligent = await push(secrets(1), { tier: 'Intelligent-Tiering' })
    expect(store.parameters.get(`${PATH}/key_0`)).toMatchObject({ value: 'value-0', tier: 'Advanced' })
    expect(intelligent.keptAdvanced).toEqual([`${PATH}/key_0`])
    const advanced = await push(
      secrets(1, () => 'next'),
      { tier: 'Advanced' }
    )
    expect(advanced.outcomes[0]).toMatchObject({ result: 'updated', version: 3 })
    expect(advanced.keptAdvanced).toEqual([])
  })

  it('reads tiers with DescribeParameters for the keys to update only, 50 names a call', async () => {
    const many = secrets(120)
    for (const { key } of many) store.seed(`${PATH}/${key}`, 'old', { tags: MANAGED })
    store.seed(`${PATH}/key_7`, 'value-7', { tags: MANAGED })
    store.calls.length = 0
    await push(many)
    const described = store.calls.filter(({ operation }) => operation === 'describeParameters')
    expect(described.map(({ names }) => names.length)).toEqual([50, 50, 19])
    expect(described.flatMap(({ names }) => names)).not.toContain(`${PATH}/key_7`)
    // An unchanged re-run, and a first push, describe nothing.
    store.calls.length = 0
    await push(many)
    store.parameters.clear()
    await push(secrets(3))
    expect(store.count('describeParameters')).toBe(0)
  })

  it('a dry run reports the tier it would keep, and writes nothing', async () => {
    store.seed(`${PATH}/key_0`, 'x'.repeat(5000), { tier: 'Advanced', tags: MANAGED })
    const report = await push(secrets(1), { dryRun: true })
    expect(report.keptAdvanced).toEqual([`${PATH}/key_0`])
    expect(keptAdvancedNotices(report, 'Standard')[0]).toMatch(/it would be written as Advanced/)
    expect(store.count('putParameter')).toBe(0)
  })

  it('refuses the whole run, before any write, when a parameter to update holds 100 versions and its oldest carries a label', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => ({ value: `v${i + 1}`, modifiedAt: i }))
    store.seedHistory(`${PATH}/key_1`, hundred, { tags: MANAGED, first: 21 })
    store.label(`${PATH}/key_1`, 21, ['stable', 'pinned'])
    store.seed(`${PATH}/key_2`, 'old', { tags: MANAGED })
    await expectNothingWritten(
      push(secrets(3)),
      new RegExp(
        `${PATH}/key_1: version 21, the oldest of the 100 versions SSM keeps, carries the labels stable, pinned, so SSM refuses a new version \\(ParameterMaxVersionLimitExceeded\\)`
      )
    )
    // Only the parameter at the limit has its history read.
    expect(store.calls.filter(({ operation }) => operation === 'getHistoryPage').map(({ names }) => names)).toEqual([
      [`${PATH}/key_1`],
      [`${PATH}/key_1`]
    ])
  })

  it('writes a parameter at 100 versions when its oldest has no label (SSM drops that version), and an unchanged one is never in the way', async () => {
    const hundred = Array.from({ length: 100 }, (_, i) => ({ value: `v${i + 1}`, modifiedAt: i }))
    store.seedHistory(`${PATH}/key_0`, hundred, { tags: MANAGED })
    store.label(`${PATH}/key_0`, 2, ['stable'])
    store.seedHistory(`${PATH}/key_1`, [...hundred.slice(1), { value: 'value-1', modifiedAt: 100 }], { tags: MANAGED })
    store.label(`${PATH}/key_1`, 1, ['stable'])
    const report = await push(secrets(2))
    expect(report.outcomes.map(({ key, result, version }) => [key, result, version])).toEqual([
      ['key_0', 'updated', 101],
      ['key_1', 'unchanged', 100]
    ])
    expect(store.history(`${PATH}/key_0`).map(({ version }) => version)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 2)
    )
    expect(store.calls.filter(({ operation }) => operation === 'getHistoryPage')).toHaveLength(2)
  })

  it('stops before writing when it cannot read, explaining the missing permission', async () => {
    store.fault = (operation) =>
      operation === 'getParameters'
        ? {
            error: awsError(
              'AccessDeniedException',
              400,
              'User: arn:aws:sts::1:assumed-role/ci is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:eu-west-1:1:parameter/zerotouch/prod/payments/key_0 because no identity-based policy allows it'
            )
          }
        : undefined
    await expectNothingWritten(
      push(secrets(2)),
      /AWS denied ssm:GetParameters on arn:aws:ssm:eu-west-1:1:parameter\/zerotouch\/prod\/payments\/key_0/
    )
  })

  it('dry-run reads and plans but writes, tags and deletes nothing', async () => {
    store.seed(`${PATH}/key_0`, 'old', { tags: MANAGED })
    store.seed(`${PATH}/gone`, 'x', { tags: MANAGED })
    const report = await push(secrets(2), { dryRun: true, prune: true })
    expect(report.dryRun).toBe(true)
    expect(report.outcomes.map(({ key, result }) => [key, result])).toEqual([
      ['key_0', 'updated'],
      ['key_1', 'created'],
      ['gone', 'deleted']
    ])
    expect(store.count('putParameter') + store.count('addTags') + store.count('deleteParameters')).toBe(0)
    expect(store.parameters.get(`${PATH}/key_0`)?.value).toBe('old')
  })

  it('prunes, in batches of 10, only its own parameters directly under the service path', async () => {
    for (let i = 0; i < 23; i++) store.seed(`${PATH}/old_${i}`, 'x', { tags: MANAGED })
    store.seed(`${PATH}/untagged`, 'x')
    store.seed(`${PATH}/theirs`, 'x', { tags: { 'managed-by': 'external-secrets' } })
    store.seed(`${PATH}/nested/deeper`, 'x', { tags: MANAGED })
    store.seed('/zerotouch/prod/other/old_1', 'x', { tags: MANAGED })
    store.seed('/zerotouch/stg/payments/old_1', 'x', { tags: MANAGED })
    const report = await push(secrets(1), { prune: true })
    expect(store.count('deleteParameters')).toBe(3)
    expect(report.outcomes.filter(({ result }) => result === 'deleted')).toHaveLength(23)
    expect([...store.parameters.keys()].sort()).toEqual(
      [
        '/zerotouch/prod/other/old_1',
        '/zerotouch/stg/payments/old_1',
        `${PATH}/key_0`,
        `${PATH}/nested/deeper`,
        `${PATH}/theirs`,
        `${PATH}/untagged`
      ].sort()
    )
    expect(report.notOwned.sort()).toEqual([`${PATH}/theirs`, `${PATH}/untagged`])
  })

  it('refuses a prune that would delete a parameter an ExternalSecret still reads, writing nothing, a dry run too', async () => {
    store.seed(`${PATH}/key_0`, 'old', { tags: MANAGED })
    store.seed(`${PATH}/still_read`, 'x', { tags: MANAGED })
    store.seed(`${PATH}/unread`, 'x', { tags: MANAGED })
    const readers = ownedReferences(
      {
        metadata: { name: 'api', namespace: 'payments-prod' },
        spec: { data: [{ secretKey: 'X', remoteRef: { key: `${PATH}/still_read` } }] }
      },
      []
    )
    for (const dryRun of [false, true]) {
      const refused = push(secrets(1), { prune: true, readers, dryRun })
      await expectNothingWritten(
        refused,
        /the plan has problems[\s\S]*\/zerotouch\/prod\/payments\/still_read would be pruned, but ExternalSecret payments-prod\/api reads it/
      )
      await expect(refused).rejects.toMatchObject({ code: 'ZT121', problems: [expect.not.stringContaining('unread')] })
    }
    expect(store.parameters.get(`${PATH}/key_0`)?.value).toBe('old')
    const report = await push(secrets(1), { prune: false, readers })
    expect(report.outcomes.map(({ result }) => result)).toEqual(['updated'])
  })

  it('writes every key exactly once through a throttling storm', async () => {
    let n = 0
    store.fault = (operation) =>
      operation === 'putParameter' && n++ % 4 !== 0
        ? { error: awsError('ThrottlingException', 400, 'Rate exceeded') }
        : undefined
    const report = await push(secrets(200))
    expect(report.outcomes.every(({ result, version }) => result === 'created' && version === 1)).toBe(true)
    expect([...store.parameters.values()].every(({ version }) => version === 1)).toBe(true)
    expect(store.parameters.size).toBe(200)
  })

  it('retries TooManyUpdates, which the SDK does not', async () => {
    store.seed(`${PATH}/key_0`, 'old', { tags: MANAGED })
    let n = 0
    store.fault = (operation) =>
      operation === 'putParameter' && n++ < 3 ? { error: awsError('TooManyUpdates', 400) } : undefined
    const report = await push(secrets(1))
    expect(report.outcomes[0]).toMatchObject({ result: 'updated', version: 2 })
  })

  it('never stacks a duplicate version when a write landed but its answer was lost', async () => {
    store.seed(`${PATH}/key_1`, 'old', { tags: MANAGED })
    const failed = new Set<string>()
    store.fault = (operation, [name]) => {
      if (operation !== 'putParameter' || failed.has(name)) return undefined
      failed.add(name)
      return { error: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), after: true }
    }
    const report = await push(secrets(2))
    expect(report.outcomes.map(({ key, result, version }) => [key, result, version])).toEqual([
      ['key_0', 'created', 1],
      ['key_1', 'updated', 2]
    ])
    expect(store.parameters.get(`${PATH}/key_0`)?.version).toBe(1)
    expect(store.parameters.get(`${PATH}/key_1`)?.version).toBe(2)
  })

  it('handles a parameter another run created between its read and its write', async () => {
    store.fault = (operation, [name]) => {
      if (operation !== 'putParameter' || store.parameters.has(name)) return undefined
      store.seed(name, name.endsWith('key_0') ? 'value-0' : 'their value', { tags: MANAGED })
      return undefined
    }
    const report = await push(secrets(2))
    expect(report.outcomes.map(({ key, result }) => [key, result])).toEqual([
      ['key_0', 'unchanged'],
      ['key_1', 'updated']
    ])
    expect(store.parameters.get(`${PATH}/key_1`)).toMatchObject({ value: 'value-1', version: 2 })
  })

  it('keeps writing the other keys when one fails, and names the failed one without its value', async () => {
    const input = secrets(3)
    store.fault = (operation, [name]) =>
      operation === 'putParameter' && name.endsWith('key_1')
        ? {
            error: awsError(
              'ValidationException',
              400,
              `1 validation error detected: Value '${input[1].value}' at 'value' failed to satisfy constraint`
            )
          }
        : undefined
    const report = await push(input)
    expect(report.outcomes.map(({ result }) => result)).toEqual(['created', 'failed', 'created'])
    const failure = pushFailure([report]) ?? ''
    expect(failure).toMatch(
      /1 of 3 parameters were not written.*\n.*\/zerotouch\/prod\/payments\/key_1: ValidationException/
    )
    expect(failure).not.toContain(input[1].value)
  })

  it('names the keys still throttled when the retry window closes', async () => {
    store.fault = (operation, [name]) =>
      operation === 'putParameter' && name.endsWith('key_0')
        ? { error: awsError('ThrottlingException', 400) }
        : undefined
    const report = await push(secrets(2))
    expect(report.outcomes.map(({ result }) => result)).toEqual(['failed', 'created'])
    expect(pushFailure([report])).toMatch(/key_0: still throttled by AWS after retrying/)
  })
})

describe('provenance', () => {
  it('describes every version it writes with the writer, and asks who writes only when something is written', async () => {
    let asked = 0
    const writer = () => {
      asked += 1
      return localWriter()
    }
    const run = (input: Secret[], dryRun = false) =>
      pushSecrets(
        {
          secrets: input,
          target: serviceTarget('/zerotouch', 'prod', 'payments'),
          write: { tier: 'Standard', tags: {}, prune: false },
          dryRun
        },
        { store, redact: createRedactor([]), retry: instantRetry(), writer }
      )
    await run(secrets(2))
    expect(asked).toBe(1)
    expect(store.history(`${PATH}/key_0`).map(({ description }) => description)).toEqual([
      'zerotouch-secrets: local run on test-host'
    ])
    await run(secrets(2))
    await run(
      secrets(2, () => 'other'),
      true
    )
    expect(asked).toBe(1)
    expect(store.history(`${PATH}/key_1`)).toHaveLength(1)
  })

  it('describes a restored version with the version it copies and the point', async () => {
    store.seed(`${PATH}/key_0`, 'now', { tags: MANAGED })
    const restored = {
      source: 'version 1',
      key: 'key_0',
      value: 'then',
      restoredFrom: { version: 1, asOf: Date.UTC(2026, 10, 30, 12) }
    }
    const report = await pushSecrets(
      {
        secrets: [restored],
        target: serviceTarget('/zerotouch', 'prod', 'payments'),
        write: { tier: 'Standard', tags: {}, prune: false },
        dryRun: false
      },
      { store, redact: createRedactor([]), retry: instantRetry(), writer: localWriter }
    )
    expect(report.outcomes).toEqual([
      {
        key: 'key_0',
        name: `${PATH}/key_0`,
        source: 'version 1',
        result: 'updated',
        version: 2,
        restoredFrom: restored.restoredFrom
      }
    ])
    expect(store.history(`${PATH}/key_0`).at(-1)?.description).toBe(
      'restored from version 1 (as of 2026-11-30T12:00:00.000Z); zerotouch-secrets: local run on test-host'
    )
  })
})
