/**
 * The check's SSM reads on the in-memory Parameter Store: batched as the push reads (10 names a GetParameters, 50 a
 * DescribeParameters), a history only where a copied record is possible, tags only where the Description is no
 * record of the action, and never a write.
 */
import { beforeEach, describe, expect, it } from '@jest/globals'
import { awsError } from '../../__fixtures__/aws-errors.js'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import { MemoryStore } from '../../__fixtures__/memory-store.js'
import { workflowRun } from '../../__fixtures__/writer.js'
import { checkDrift, type CheckRequest } from '../../src/check/check.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import { describeVersion } from '../../src/history/provenance.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import { createRedactor } from '../../src/secrets/redact.js'
import { DEFAULT_RETRY_POLICY } from '../../src/ssm/retry.js'
import { serviceTarget } from '../../src/ssm/rules.js'

const TARGET = serviceTarget('/zerotouch', 'prod', 'payments')
const OWN = { 'managed-by': 'zerotouch-secrets' }
const RECORD = describeVersion({ kind: 'workflow', run: workflowRun })

let store: MemoryStore
beforeEach(() => {
  store = new MemoryStore()
})

function secretsOf(count: number) {
  return Array.from({ length: count }, (_, index) => ({
    source: `KEY_${index}`,
    key: `key_${index}`,
    value: `value-${index}`
  }))
}

function request(secrets: CheckRequest['config']['secrets'], prune = false): CheckRequest {
  return {
    config: {
      target: TARGET,
      secrets,
      write: { prune },
      selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true')
    },
    store,
    retry: DEFAULT_RETRY_POLICY
  }
}

const WRITES = ['putParameter', 'addTags', 'deleteParameters'] as const

describe('the check of SSM', () => {
  it.each([
    [3, 1, 1],
    [25, 3, 1],
    [60, 6, 2]
  ])(
    'reads %i keys with %i GetParameters and %i DescribeParameters, and writes nothing',
    async (count, gets, describes) => {
      const secrets = secretsOf(count)
      for (const { key, value } of secrets)
        store.seed(`${TARGET.path}/${key}`, value, { tags: OWN, description: RECORD })
      const report = await checkDrift(request(secrets), createRedactor([]))
      expect(report.findings).toEqual([])
      expect(store.count('getParameters')).toBe(gets)
      expect(store.count('describeParameters')).toBe(describes)
      expect(store.count('getHistoryPage')).toBe(0)
      expect(store.count('getTags')).toBe(0)
      for (const operation of WRITES) expect(store.count(operation)).toBe(0)
    }
  )

  it('reads the history of a key whose record may be a copy, and the tags of one without a record; no other', async () => {
    const [copied, own, foreign, handMade] = secretsOf(4)
    // A CLI edit without a description: SSM copied run 4242's record onto version 2.
    store.seedHistory(
      `${TARGET.path}/${copied.key}`,
      [
        { value: copied.value, modifiedAt: 1, description: RECORD },
        { value: 'edited', modifiedAt: 2, description: RECORD }
      ],
      { tags: OWN }
    )
    store.seed(`${TARGET.path}/${own.key}`, own.value, { tags: OWN, description: RECORD })
    store.seed(`${TARGET.path}/${foreign.key}`, 'console', { tags: OWN, description: 'hotfix' })
    store.seed(`${TARGET.path}/${handMade.key}`, handMade.value, { description: 'made by hand' })
    const report = await checkDrift(request([copied, own, foreign, handMade]), createRedactor([]))
    expect(report.findings.map(({ kind, name }) => `${kind} ${name}`)).toEqual([
      `differs ${TARGET.path}/key_0`,
      `differs ${TARGET.path}/key_2`,
      `edited-outside ${TARGET.path}/key_0`,
      `edited-outside ${TARGET.path}/key_2`
    ])
    expect(store.calls.filter(({ operation }) => operation === 'getHistoryPage').map(({ names }) => names)).toEqual([
      [`${TARGET.path}/key_0`]
    ])
    expect(
      store.calls
        .filter(({ operation }) => operation === 'getTags')
        .flatMap(({ names }) => names)
        .sort()
    ).toEqual([`${TARGET.path}/key_2`, `${TARGET.path}/key_3`])
    for (const operation of WRITES) expect(store.count(operation)).toBe(0)
  })

  it("with prune, names the action's parameters under the path that secrets no longer has; not another's", async () => {
    const [kept] = secretsOf(1)
    store.seed(`${TARGET.path}/${kept.key}`, kept.value, { tags: OWN, description: RECORD })
    store.seed(`${TARGET.path}/old_flag`, 'x', { tags: OWN, description: RECORD })
    store.seed(`${TARGET.path}/shared`, 'y', { tags: { 'managed-by': 'external-secrets' } })
    const report = await checkDrift(request([kept], true), createRedactor([]))
    expect(report.findings.map(({ kind, name }) => `${kind} ${name}`)).toEqual([`extra ${TARGET.path}/old_flag`])
    expect((await checkDrift(request([kept]), createRedactor([]))).findings).toEqual([])
    for (const operation of WRITES) expect(store.count(operation)).toBe(0)
  })

  it("redacts every detail: an operator's message that echoes a value never shows it", async () => {
    const [key] = secretsOf(1)
    store.seed(`${TARGET.path}/${key.key}`, key.value, { tags: OWN, description: RECORD })
    const kube = new MemoryKube()
    const failing: ExternalSecret = {
      metadata: { name: 'payments-db', namespace: 'apps', labels: { 'zerotouch.io/managed': 'true' } },
      spec: { data: [{ secretKey: 'URL', remoteRef: { key: `${TARGET.path}/${key.key}` } }] },
      status: {
        conditions: [
          { type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: `template: bad ${key.value}` }
        ]
      }
    }
    const report = await checkDrift(
      {
        ...request([key]),
        cluster: {
          kube,
          namespaces: ['apps'],
          apiVersion: 'v1',
          externalSecrets: [failing],
          stores: [],
          workloadKinds: []
        }
      },
      createRedactor([key.value])
    )
    expect(report.findings.map(({ kind, name }) => `${kind} ${name}`)).toEqual(['not-ready apps/payments-db'])
    expect(report.findings[0].detail).toMatch(/^Ready is False \(SecretSyncedError: template: bad \*+\)$/)
    expect(JSON.stringify(report)).not.toContain(key.value)
    expect(kube.calls.map(({ verb }) => verb)).toEqual(['list-events'])
  })
})

describe('the check of replica regions', () => {
  it('reads each replica once, batched, compares it with the primary, and writes nowhere', async () => {
    const secrets = secretsOf(12)
    const west = new MemoryStore()
    for (const { key, value } of secrets) {
      store.seed(`${TARGET.path}/${key}`, value, { tags: OWN, description: RECORD })
      if (key !== 'key_3') west.seed(`${TARGET.path}/${key}`, key === 'key_7' ? 'edited' : value, { tags: OWN })
    }
    const report = await checkDrift(
      { ...request(secrets), regions: { primary: 'eu-west-1', replicas: [{ region: 'us-west-2', store: west }] } },
      createRedactor([])
    )
    expect(report.findings.map(({ kind, name }) => `${kind} ${name}`)).toEqual([
      `region-differs ${TARGET.path}/key_3`,
      `region-differs ${TARGET.path}/key_7`
    ])
    expect(west.count('getParameters')).toBe(2)
    expect(west.calls.map(({ operation }) => operation)).toEqual(['getParameters', 'getParameters'])
    for (const operation of WRITES) expect(store.count(operation) + west.count(operation)).toBe(0)
  })

  it('stops, naming the replica, when it cannot be read', async () => {
    const west = new MemoryStore()
    west.fault = () => ({
      error: awsError(
        'AccessDeniedException',
        400,
        'User: x is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-west-2:1:parameter/zerotouch/prod/payments/key_0'
      )
    })
    const checking = checkDrift(
      { ...request(secretsOf(1)), regions: { primary: 'eu-west-1', replicas: [{ region: 'us-west-2', store: west }] } },
      createRedactor([])
    )
    await expect(checking).rejects.toThrow(
      /^Check mode writes nothing: reading SSM in us-west-2 failed\. AWS denied ssm:GetParameters on arn:aws:ssm:us-west-2:/
    )
  })
})
