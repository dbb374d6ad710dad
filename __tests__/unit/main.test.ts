/**
 * run() in-process, as actions/typescript-action tests its run(): @actions/core mocked
 * (__fixtures__/core.ts), SSM an in-memory store, the cluster an in-memory API with a simulated
 * operator, the sync phase on a virtual clock. These are the rules of run() itself: a failed push
 * stops the sync phase, every output is set once on every path, the job summary is written even on
 * failure, values are masked before anything is logged and never shown. What only the bundle can
 * show (the runner's file commands, the Node 24 ESM bundle, the real SDK and HTTP) stays in
 * __tests__/integration/*bundle*.test.ts and __tests__/faults/.
 */
import { beforeEach, describe, expect, it, jest } from '@jest/globals'
import * as core from '../../__fixtures__/core.js'
import { awsError } from '../../__fixtures__/aws-errors.js'
import { tokenKubeconfig } from '../../__fixtures__/kubeconfig.js'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import { MemoryStore } from '../../__fixtures__/memory-store.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import { workflowRun } from '../../__fixtures__/writer.js'
import { findLeaks } from '../../testing/leaks.ts'
import { hostname } from 'node:os'
import { describeVersion } from '../../src/history/provenance.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import { KubeError } from '../../src/k8s/errors.js'
import { kubeconfigCredentials } from '../../src/k8s/kubeconfig.js'
import type { KubeApiOptions } from '../../src/k8s/client.js'
import type { Dependencies } from '../../src/main.js'
import type { AwsStoreOptions } from '../../src/ssm/aws-store.js'
import type { Workload } from '../../src/workloads/model.js'

jest.unstable_mockModule('@actions/core', () => core)
// @actions/github's context, as the runner's environment makes it (the main loads it only when it writes).
jest.unstable_mockModule('@actions/github', () => ({
  context: { ...workflowRun, repo: { owner: workflowRun.owner, repo: workflowRun.repo } }
}))
const { run } = await import('../../src/main.js')
// The main imports the cluster's modules lazily; loaded once here, so that the imports inside a
// run settle at once and the virtual clock never sees the run waiting on module loading.
await Promise.all([
  import('../../src/k8s/connect.js'),
  import('../../src/preflight/preflight.js'),
  import('../../src/gate/gate.js'),
  import('../../src/sync/sync.js'),
  import('../../src/rollout/rollout.js')
])

const PATH = '/zerotouch/prod/payments'
const SECRETS = {
  DATABASE_URL: 'postgres://payments:s3cret-pass@db:5432/payments',
  STRIPE_API_KEY: 'sk_live_abcdef123456',
  WEBHOOK_SECRET: 'whsec_0123456789',
  TLS_KEY: '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nfinal-line-of-key\n-----END KEY-----',
  github_token: 'ghs_notpushedatall123'
}
const KEYS = ['database_url', 'stripe_api_key', 'tls_key', 'webhook_secret']
const KUBE_TOKEN = 'kube-token-7f3e9a1c5b'
const KUBECONFIG = tokenKubeconfig(KUBE_TOKEN)
const ENV = { AWS_REGION: 'us-east-1', GITHUB_STEP_SUMMARY: '/nonexistent/step-summary', HOME: '/nonexistent' }
const PUSH = { environment: 'prod', service: 'payments', secrets: JSON.stringify(SECRETS) }
const SYNC = { ...PUSH, namespace: 'payments-prod', kubeconfig: KUBECONFIG, timeout: '30s' }
const OWN = { tags: { 'managed-by': 'zerotouch-secrets' } }
/** The outputs of a run that did nothing. */
const NOTHING = {
  created: '[]',
  updated: '[]',
  unchanged: '[]',
  deleted: '[]',
  changed: 'false',
  synced: '[]',
  restarted: '[]',
  versions: '{}',
  regions: '{}',
  drift: '[]'
}
/** Each key at version 1: the versions output after a first run. */
const FIRST_VERSIONS = JSON.stringify({ database_url: 1, stripe_api_key: 1, tls_key: 1, webhook_secret: 1 })
const PUSH_HEADING = `<h3>Secrets pushed to ${PATH}</h3>`
const SYNC_HEADING = '<h3>ExternalSecrets force-synced (external-secrets.io/v1)</h3>'
/** Seconds the simulated operator takes to sync an annotated ExternalSecret. */
const OPERATOR_DELAY_MS = 2_000

type Behaviour = 'ok' | 'ignore' | { readonly fail: string }

let store: MemoryStore
let kube: MemoryKube
let clock: ReturnType<typeof virtualClock>
let storesMade: AwsStoreOptions[]
let kubesMade: KubeApiOptions[]

beforeEach(() => {
  core.reset()
  store = new MemoryStore()
  kube = new MemoryKube()
  clock = virtualClock()
  storesMade = []
  kubesMade = []
  for (const es of cluster()) kube.add(es)
  operator()
})

/** The payments tenant's ExternalSecrets, as __tests__/fixtures/cluster/payments-prod.yaml has them. */
function cluster(): ExternalSecret[] {
  const es = (
    name: string,
    keys: string[],
    labels: Record<string, string> = { 'zerotouch.io/managed': 'true' }
  ): ExternalSecret => ({
    metadata: { name, namespace: 'payments-prod', labels },
    spec: {
      refreshInterval: '1h',
      data: keys.map((key) => ({ secretKey: key.toUpperCase(), remoteRef: { key: `${PATH}/${key}` } }))
    },
    status: {
      syncedResourceVersion: '1-before-the-run',
      conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced' }]
    }
  })
  return [
    es('payments-db', ['database_url']),
    es('payments-provider', ['stripe_api_key', 'webhook_secret']),
    es('unmanaged', ['database_url'], {})
  ]
}

/** The External Secrets operator: each patched ExternalSecret syncs, fails or is ignored, OPERATOR_DELAY_MS later on the virtual clock. */
/** `synced`: told of each ExternalSecret the operator has synced. */
function operator(
  behaviours: Readonly<Record<string, Behaviour>> = {},
  synced: (name: string) => void = () => undefined
): void {
  kube.onPatch = ({ metadata: { namespace = '', name } }) => {
    const behaviour = behaviours[name] ?? 'ok'
    if (behaviour === 'ignore') return
    clock.after(OPERATOR_DELAY_MS, () => {
      if (behaviour !== 'ok') return kube.syncFail(namespace, name, behaviour.fail)
      kube.syncOk(namespace, name)
      synced(name)
    })
  }
}

/** payments-db reading database_url at version 1 only. */
function pinDatabaseUrl(): void {
  const db = kube.get('payments-prod', 'payments-db')!
  kube.add({
    ...db,
    spec: {
      ...db.spec,
      data: [{ secretKey: 'DATABASE_URL', remoteRef: { key: `${PATH}/database_url`, version: '1' } }]
    }
  })
}

/** One run of the action with these inputs, on the virtual clock. */
function runAction(inputs: Readonly<Record<string, string>>, overrides: Partial<Dependencies> = {}): Promise<void> {
  core.setInputs(inputs)
  const deps: Dependencies = {
    createStore: (options) => {
      storesMade.push(options)
      return store
    },
    createKube: (options) => {
      kubesMade.push(options)
      // As the real client does: the kubeconfig's credentials are reported for masking before use.
      kubeconfigCredentials(options.kubeconfig).forEach(options.mask)
      return kube
    },
    env: ENV,
    clock,
    ...overrides
  }
  return clock.run(run(deps))
}

const patched = () =>
  kube.calls.filter(({ verb }) => verb === 'patch').map(({ namespace, name }) => `${namespace}/${name}`)
const summaryText = () => core.summaryWrites().join('')
const values = (secrets: Readonly<Record<string, string>> = SECRETS) => [...Object.values(secrets), KUBE_TOKEN]

/** Every output set exactly once, with these values. */
function expectOutputs({ regions: _, ...expected }: Readonly<Record<string, string>>): void {
  const { regions = '', ...outputs } = core.outputs()
  expect(outputs).toEqual(expected)
  // regions: the primary's keys by result, as the other outputs have them; {} when the push did not report
  const byResult = Object.fromEntries(
    (['created', 'updated', 'unchanged', 'deleted'] as const).map((result): [string, string[]] => [
      result,
      JSON.parse(expected[result]) as string[]
    ])
  )
  const reported = JSON.parse(regions) as Record<string, unknown>
  if (Object.keys(reported).length || Object.values(byResult).some((keys) => keys.length))
    expect(reported).toEqual({ [ENV.AWS_REGION]: byResult })
  expect(core.outputCounts()).toEqual(Object.fromEntries(Object.keys(NOTHING).map((name) => [name, 1])))
}

/** No form of a value in anything a reader of the step sees. */
function expectNoLeaks(secrets: readonly string[] = values()): void {
  expect(findLeaks(core.visibleText(), secrets)).toEqual([])
}

/** Every value, and every line of a multi-line one, registered with setSecret before anything else is shown. */
function expectMaskedFirst(secrets: Readonly<Record<string, string>> = SECRETS): void {
  const calls = core.callOrder()
  const first = calls.findIndex(([name]) => name !== 'getInput' && name !== 'setSecret')
  const masked = calls
    .slice(0, first < 0 ? calls.length : first)
    .filter(([name]) => name === 'setSecret')
    .map(([, value]) => value)
  const parts = Object.values(secrets)
    .flatMap((value) => [value, ...value.split('\n')])
    .filter((part) => part.trim().length >= 3)
  expect(masked).toEqual(expect.arrayContaining(parts))
}

/** At most one failure, and its code. */
function failureCode(): string | undefined {
  const failures = core.failures()
  expect(failures.length).toBeLessThanOrEqual(1)
  return failures[0] && /\[(ZT\d{3})\]/.exec(failures[0])?.[1]
}

describe('run(): outputs the runner would drop', () => {
  it('warns for each output holding a line of a secret, naming the output and the secret, never the line', async () => {
    const secrets = { ...SECRETS, JSON_CONFIG: '{\n  "feature": "enabled-for-all"\n}', FLAG: 'true' }
    await runAction({ ...PUSH, secrets: JSON.stringify(secrets) })
    expect(core.failures()).toEqual([])
    // The runner masks every line of a value, `{` and `}` included.
    expect(core.secrets()).toEqual(expect.arrayContaining(['{', '}', '"feature": "enabled-for-all"']))
    const dropped = core.warnings().filter((warning) => warning.startsWith('The output'))
    expect(dropped.map((warning) => warning.slice(0, warning.indexOf(':')))).toEqual([
      'The output "changed" contains a line of the secret FLAG',
      'The output "regions" contains a line of the secret JSON_CONFIG',
      'The output "versions" contains a line of the secret JSON_CONFIG'
    ])
    for (const warning of dropped) expect(warning).not.toContain('enabled-for-all')
  })

  it('warns of nothing when no line of a secret is in the outputs', async () => {
    await runAction(PUSH)
    expect(core.warnings().filter((warning) => warning.startsWith('The output'))).toEqual([])
  })
})

describe('run(): push only', () => {
  const write = (keys: string[]) => JSON.stringify(keys)
  const seedAll = (changed: Partial<typeof SECRETS> = {}) => {
    for (const [name, value] of Object.entries({ ...SECRETS, ...changed }))
      if (name !== 'github_token') store.seed(`${PATH}/${name.toLowerCase()}`, value, OWN)
  }
  const CASES: Array<{
    what: string
    seed?: () => void
    inputs?: Record<string, string>
    outputs: Partial<typeof NOTHING>
    puts: number
    deletes?: number
    heading?: string
  }> = [
    {
      what: 'a first run creates every key',
      outputs: { created: write(KEYS), changed: 'true', versions: FIRST_VERSIONS },
      puts: 4
    },
    {
      what: 'a re-run writes only the key whose value changed',
      seed: () => seedAll({ STRIPE_API_KEY: 'sk_live_before_rotation' }),
      outputs: {
        updated: write(['stripe_api_key']),
        unchanged: write(['database_url', 'tls_key', 'webhook_secret']),
        changed: 'true',
        versions: JSON.stringify({ database_url: 1, stripe_api_key: 2, tls_key: 1, webhook_secret: 1 })
      },
      puts: 1
    },
    {
      what: 'an unchanged re-run writes nothing',
      seed: () => seedAll(),
      outputs: { unchanged: write(KEYS), versions: FIRST_VERSIONS },
      puts: 0
    },
    {
      what: 'prune deletes its own parameter that no secret names any more',
      seed: () => {
        seedAll()
        store.seed(`${PATH}/retired_key`, 'retired-value', OWN)
      },
      inputs: { prune: 'true' },
      outputs: { unchanged: write(KEYS), deleted: write(['retired_key']), changed: 'true', versions: FIRST_VERSIONS },
      puts: 0,
      deletes: 1
    },
    {
      what: 'a dry run plans and writes nothing',
      inputs: { 'dry-run': 'true' },
      outputs: { created: write(KEYS), changed: 'true' },
      puts: 0,
      heading: `<h3>Secrets plan for ${PATH} (dry run)</h3>`
    }
  ]

  it.each(CASES)(
    '$what: every output set once, values masked first and never shown',
    async ({ seed, inputs = {}, outputs, puts, deletes = 0, heading = PUSH_HEADING }) => {
      seed?.()
      await runAction({ ...PUSH, ...inputs })
      expect(core.failures()).toEqual([])
      expectOutputs({ ...NOTHING, ...outputs })
      expect([store.count('putParameter'), store.count('deleteParameters')]).toEqual([puts, deletes])
      expect(storesMade).toEqual([{ region: 'us-east-1', endpoint: undefined }])
      expect(kubesMade).toEqual([])
      expect(core.infoLines()).toContain('No namespace given: the sync phase is skipped.')
      expect(core.summary.write).toHaveBeenCalledTimes(1)
      expect(summaryText()).toContain(heading)
      expect(summaryText()).not.toContain('ExternalSecrets force-synced')
      expectMaskedFirst()
      expectNoLeaks()
    }
  )

  it('reports each key in the log and the summary by name, version and source secret', async () => {
    await runAction(PUSH)
    expect(core.infoLines()).toContain(`created      ${PATH}/database_url (version 1) from DATABASE_URL`)
    expect(summaryText()).toContain(
      `<tr><td>stripe_api_key</td><td>${PATH}/stripe_api_key</td><td>created</td><td>1</td><td>STRIPE_API_KEY</td></tr>`
    )
    expect(store.parameters.get(`${PATH}/tls_key`)).toMatchObject({
      value: SECRETS.TLS_KEY,
      type: 'SecureString',
      tags: { 'managed-by': 'zerotouch-secrets' }
    })
    expect(store.parameters.has(`${PATH}/github_token`)).toBe(false)
  })
})

describe('run(): push then sync', () => {
  it('annotates the selected ExternalSecrets, waits for their fresh syncs, and lists them in synced and the summary', async () => {
    await runAction(SYNC)
    expect(core.failures()).toEqual([])
    expectOutputs({
      ...NOTHING,
      created: JSON.stringify(KEYS),
      changed: 'true',
      synced: '["payments-prod/payments-db","payments-prod/payments-provider"]',
      versions: FIRST_VERSIONS
    })
    expect(patched().sort()).toEqual(['payments-prod/payments-db', 'payments-prod/payments-provider'])
    expect(kubesMade).toEqual([expect.objectContaining({ kubeconfig: KUBECONFIG.trim(), context: '' })])
    expect(kube.get('payments-prod', 'unmanaged')?.metadata.annotations).toBeUndefined()
    expect(kube.openWatches()).toBe(0)
    expect(core.summary.write).toHaveBeenCalledTimes(1)
    const summary = summaryText()
    expect(summary).toContain(PUSH_HEADING)
    expect(summary).toContain(SYNC_HEADING)
    expect(summary.indexOf(PUSH_HEADING)).toBeLessThan(summary.indexOf(SYNC_HEADING))
    expect(summary).toContain('<tr><td>payments-prod/payments-db</td><td>synced</td><td>2.0 s</td></tr>')
    expect(summary).toContain('<tr><td>payments-prod/payments-provider</td><td>synced</td><td>2.0 s</td></tr>')
    expectMaskedFirst()
    expectNoLeaks()
  })

  it("logs each phase inside its own log group, in the run's order, and fails outside them", async () => {
    await runAction(SYNC)
    const phases = [
      'Pre-flight: the cluster',
      'Push to SSM Parameter Store',
      'Sync: force-sync the ExternalSecrets',
      'Rollout: restart the workloads'
    ]
    expect(core.groups()).toEqual(phases.flatMap((name) => [name, `end ${name}`]))
    const calls = core.callOrder()
    const line = (text: string) => calls.findIndex(([name, value]) => name === 'info' && value === text)
    const group = (title: string) => calls.findIndex(([name, value]) => name === 'group' && value === title)
    expect(line(`created      ${PATH}/database_url (version 1) from DATABASE_URL`)).toBeGreaterThan(
      group('Push to SSM Parameter Store')
    )
    expect(line(`created      ${PATH}/database_url (version 1) from DATABASE_URL`)).toBeLessThan(
      group('Sync: force-sync the ExternalSecrets')
    )

    core.reset()
    store.fault = (operation) =>
      operation === 'putParameter' ? { error: awsError('AccessDeniedException', 400, 'not allowed') } : undefined
    await runAction({ ...SYNC, secrets: JSON.stringify({ NEW_KEY: 'a-new-value' }) })
    expect(failureCode()).toBe('ZT130')
    expect(core.groups().at(-1)).toBe('end Push to SSM Parameter Store')
  })

  it('in a dry run plans both phases and writes and annotates nothing', async () => {
    for (const key of KEYS) store.seed(`${PATH}/${key}`, `old-${key}`, OWN)
    await runAction({ ...SYNC, 'dry-run': 'true' })
    expect(core.failures()).toEqual([])
    expectOutputs({ ...NOTHING, updated: JSON.stringify(KEYS), changed: 'true', versions: FIRST_VERSIONS })
    expect([store.count('putParameter'), patched().length]).toEqual([0, 0])
    expect(summaryText()).toContain(`<h3>Secrets plan for ${PATH} (dry run)</h3>`)
    expect(summaryText()).toContain('<tr><td>payments-prod/payments-db</td><td>would annotate</td><td></td></tr>')
    expectNoLeaks()
  })

  it('with no secrets, skips the push and still syncs, checking the references in SSM', async () => {
    for (const key of KEYS) store.seed(`${PATH}/${key}`, `stored-${key}`, OWN)
    await runAction({ environment: 'prod', service: 'payments', namespace: 'payments-prod', kubeconfig: KUBECONFIG })
    expect(core.failures()).toEqual([])
    expectOutputs({ ...NOTHING, synced: '["payments-prod/payments-db","payments-prod/payments-provider"]' })
    expect(core.infoLines()).toContain('No secrets given: the push phase is skipped.')
    expect(store.count('putParameter')).toBe(0)
    expect(store.count('getParameters')).toBeGreaterThan(0)
    expect(summaryText()).not.toContain(PUSH_HEADING)
    expect(summaryText()).toContain(SYNC_HEADING)
  })
})

describe('run(): invalid inputs', () => {
  const VALUE = 'correct-horse-battery-staple'
  const CASES: Array<{
    what: string
    inputs: Record<string, string>
    named: string[]
    env?: Record<string, string>
    overrides?: Partial<Dependencies>
  }> = [
    {
      what: 'an invalid tier and environment',
      inputs: { ...SYNC, tier: 'Gold', environment: 'Prod' },
      named: ['tier', 'environment']
    },
    {
      what: 'secrets that are no JSON, holding a value',
      inputs: { ...PUSH, secrets: `{"A": "${VALUE}"` },
      named: ['secrets']
    },
    {
      what: 'no AWS region anywhere',
      inputs: PUSH,
      named: ['aws-region'],
      env: { GITHUB_STEP_SUMMARY: ENV.GITHUB_STEP_SUMMARY }
    },
    // The real client reads the kubeconfig, and refuses it before it sends anything.
    {
      what: 'a kube-context the kubeconfig lacks (checked before the push)',
      inputs: { ...SYNC, 'kube-context': 'prod-cluster' },
      named: ['kube-context'],
      overrides: { createKube: undefined }
    }
  ]

  it.each(CASES)(
    '$what: fails ZT100 naming the inputs, touches nothing, and still sets every output and writes the summary',
    async ({ inputs, named, env = ENV, overrides }) => {
      await runAction(inputs, { env, ...overrides })
      expect(failureCode()).toBe('ZT100')
      expect(core.failures()[0]).toMatch(/^Invalid inputs; nothing was written\. \[ZT100\]/)
      for (const input of named) expect(core.failures()[0]).toContain(`  - ${input}: `)
      expect(storesMade).toEqual([])
      expect(store.calls).toEqual([])
      expect(kubesMade).toEqual([])
      expect(kube.calls).toEqual([])
      expectOutputs(NOTHING)
      expect(core.summary.write).toHaveBeenCalledTimes(1)
      expectNoLeaks([...values(), VALUE])
    }
  )
})

describe('run(): the definitions check', () => {
  it('runs before the push: definitions it cannot check stop the run with nothing written, every output set and the summary written', async () => {
    core.setInputs({ ...SYNC, definitions: 'tenants/missing/overlays/prod' })
    // No clock.run: nothing sleeps, and the check looks at the file system.
    await run({
      createStore: () => store,
      createKube: () => kube,
      env: { ...ENV, GITHUB_WORKSPACE: `${process.cwd()}/__tests__/fixtures` },
      clock
    })
    expect(failureCode()).toBe('ZT110')
    expect(core.failures()[0]).toMatch(
      /^definitions: "tenants\/missing\/overlays\/prod" is not a folder in the workspace/
    )
    expect(store.calls).toEqual([])
    expect(kube.calls).toEqual([])
    expectOutputs(NOTHING)
    expect(core.summary.write).toHaveBeenCalledTimes(1)
    expectNoLeaks()
  })
})

describe('run(): a failed push', () => {
  const STRIPE = `${PATH}/stripe_api_key`
  const CASES: Array<{ what: string; error: () => Error; reason: RegExp }> = [
    {
      what: 'AWS denies one write',
      error: () =>
        awsError(
          'AccessDeniedException',
          400,
          `User: ci is not authorized to perform: ssm:PutParameter on resource: ${STRIPE}`
        ),
      reason: /AWS denied/
    },
    {
      what: 'AWS refuses one write echoing its value',
      error: () =>
        awsError(
          'ValidationException',
          400,
          `1 validation error detected: Value '${SECRETS.STRIPE_API_KEY}' at 'value' failed to satisfy constraint`
        ),
      reason: /ValidationException/
    }
  ]

  it.each(CASES)(
    '$what: fails ZT130 naming the key, does not start the sync phase, and still reports the push',
    async ({ error, reason }) => {
      store.fault = (operation, names) =>
        operation === 'putParameter' && names.includes(STRIPE) ? { error: error() } : undefined
      await runAction(SYNC)
      expect(failureCode()).toBe('ZT130')
      const [failure] = core.failures()
      expect(failure).toMatch(
        new RegExp(`^1 of 4 parameters were not written or deleted.*\\n {2}- ${STRIPE}: ${reason.source}`, 's')
      )
      expect(failure).toContain('The sync phase did not run')
      expect(kube.calls.map(({ verb }) => verb)).not.toContain('list-events')
      expect(patched()).toEqual([])
      expectOutputs({
        ...NOTHING,
        created: JSON.stringify(['database_url', 'tls_key', 'webhook_secret']),
        changed: 'true',
        synced: '[]',
        versions: JSON.stringify({ database_url: 1, tls_key: 1, webhook_secret: 1 })
      })
      expect(core.summary.write).toHaveBeenCalledTimes(1)
      expect(summaryText()).toContain(PUSH_HEADING)
      expect(summaryText()).toMatch(/<tr><td>stripe_api_key<\/td><td>[^<]+<\/td><td>failed: /)
      expect(summaryText()).not.toContain(SYNC_HEADING)
      expectNoLeaks()
    }
  )
})

describe('run(): the pre-flight', () => {
  const CASES: Array<{
    what: string
    setup: () => void
    inputs?: Record<string, string>
    code: string
    message: RegExp
  }> = [
    {
      what: 'the cluster lacks the External Secrets CRDs',
      setup: () => (kube.version = undefined),
      code: 'ZT141',
      message: /^Nothing was written: the cluster does not serve the external-secrets\.io API/
    },
    {
      what: 'no ExternalSecret matches the selector',
      setup: () => undefined,
      inputs: { 'label-selector': 'team=nobody' },
      code: 'ZT143',
      message: /\n {2}- no ExternalSecret matches label selector "team=nobody" in namespace "payments-prod"/
    },
    {
      what: 'the namespace does not exist',
      setup: () => (kube.namespaces = new Set(['payments-stg'])),
      code: 'ZT143',
      message: /\n {2}- namespace "payments-prod" does not exist in the cluster/
    },
    {
      what: 'the identity may not patch ExternalSecrets',
      setup: () =>
        (kube.denied = [
          { verb: 'patch', group: 'external-secrets.io', resource: 'externalsecrets', namespace: 'payments-prod' }
        ]),
      code: 'ZT142',
      message:
        /\n {2}- forbidden: the identity of the kubeconfig may not patch externalsecrets\.external-secrets\.io in namespace "payments-prod"/
    },
    {
      what: 'a selected ExternalSecret reads through a store that does not exist',
      setup: () => {
        const db = kube.get('payments-prod', 'payments-db')!
        kube.add({ ...db, spec: { ...db.spec, secretStoreRef: { name: 'gone', kind: 'ClusterSecretStore' } } })
      },
      code: 'ZT144',
      message:
        /\n {2}- ExternalSecret payments-prod\/payments-db reads through ClusterSecretStore "gone", which does not exist in the cluster/
    },
    {
      what: 'the credentials are rejected',
      setup: () =>
        kube.failNext(
          'discover',
          new KubeError(
            'unauthorized',
            `the Kubernetes API server rejected the credentials (401 Unauthorized) for token ${KUBE_TOKEN}`,
            401
          )
        ),
      code: 'ZT140',
      message:
        /^Nothing was written: the Kubernetes API server rejected the credentials \(401 Unauthorized\) for token \*\*\* \[ZT140\]/
    }
  ]

  it.each(CASES)(
    '$what: fails $code before anything is read from SSM or written, with every output set and the summary written',
    async ({ setup, inputs = {}, code, message }) => {
      setup()
      await runAction({ ...SYNC, ...inputs })
      expect(failureCode()).toBe(code)
      expect(core.failures()[0]).toMatch(message)
      expect(store.calls).toEqual([])
      expect(patched()).toEqual([])
      expectOutputs(NOTHING)
      expect(core.summary.write).toHaveBeenCalledTimes(1)
      expect(summaryText()).not.toContain(PUSH_HEADING)
      expectNoLeaks()
    }
  )

  it('runs in a dry run too', async () => {
    kube.denied = [{ verb: 'watch', group: '', resource: 'events', namespace: 'payments-prod' }]
    await runAction({ ...SYNC, 'dry-run': 'true' })
    expect(failureCode()).toBe('ZT142')
    expect(store.calls).toEqual([])
  })
})

describe('run(): the prune guard', () => {
  it.each([false, true])(
    'refuses a prune of a parameter a live ExternalSecret reads, the unselected one too, before anything is written (dry run: %p)',
    async (dryRun) => {
      store.seed(`${PATH}/legacy_token`, 'old', OWN)
      const unmanaged = kube.get('payments-prod', 'unmanaged')!
      kube.add({ ...unmanaged, spec: { data: [{ secretKey: 'T', remoteRef: { key: `${PATH}/legacy_token` } }] } })
      await runAction({ ...SYNC, prune: 'true', 'dry-run': String(dryRun) })
      expect(failureCode()).toBe('ZT121')
      expect(core.failures()[0]).toContain(
        `${PATH}/legacy_token would be pruned, but ExternalSecret payments-prod/unmanaged reads it`
      )
      expect(store.count('putParameter') + store.count('addTags') + store.count('deleteParameters')).toBe(0)
      expect(patched()).toEqual([])
      expectNoLeaks()
    }
  )
})

describe('run(): a failing sync phase', () => {
  const CASES: Array<{
    what: string
    setup: () => void
    inputs?: Record<string, string>
    code: string
    message: RegExp
    synced: string[]
    annotated: boolean
  }> = [
    {
      what: 'the operator fails one ExternalSecret',
      setup: () => operator({ 'payments-db': { fail: 'error processing spec.data[0], err: provider exploded' } }),
      code: 'ZT150',
      message: /payments-prod\/payments-db \(failed\): .*provider exploded/,
      synced: ['payments-prod/payments-provider'],
      annotated: true
    },
    {
      what: 'the operator never syncs one ExternalSecret',
      setup: () => operator({ 'payments-db': 'ignore' }),
      code: 'ZT150',
      message: /payments-prod\/payments-db \(timed out\)/,
      synced: ['payments-prod/payments-provider'],
      annotated: true
    },
    {
      what: 'a referenced parameter is missing',
      setup: () => undefined,
      inputs: {
        secrets: JSON.stringify({ DATABASE_URL: SECRETS.DATABASE_URL, STRIPE_API_KEY: SECRETS.STRIPE_API_KEY })
      },
      code: 'ZT144',
      message: /Nothing was annotated.*\n.*\/zerotouch\/prod\/payments\/webhook_secret/,
      synced: [],
      annotated: false
    },
    {
      what: 'an ExternalSecret is pinned to a version of a key the run wrote',
      setup: pinDatabaseUrl,
      code: 'ZT144',
      message:
        /\[ZT144\]\n {2}- payments-prod\/payments-db: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/prod\/payments\/database_url" is pinned to version 1,/,
      synced: [],
      annotated: false
    }
  ]

  it.each(CASES)(
    '$what: fails $code after the push, with every output set and the summary written',
    async ({ setup, inputs = {}, code, message, synced, annotated }) => {
      setup()
      await runAction({ ...SYNC, ...inputs })
      expect(failureCode()).toBe(code)
      expect(core.failures()[0]).toMatch(message)
      expect(core.outputs().synced).toBe(JSON.stringify(synced))
      expect(JSON.parse(core.outputs().created)).toEqual(expect.arrayContaining(['database_url', 'stripe_api_key']))
      expect(core.outputCounts()).toEqual(Object.fromEntries(Object.keys(NOTHING).map((name) => [name, 1])))
      expect(patched().length > 0).toBe(annotated)
      expect(kube.openWatches()).toBe(0)
      expect(core.summary.write).toHaveBeenCalledTimes(1)
      expect(summaryText()).toContain(PUSH_HEADING)
      expect(summaryText().includes(SYNC_HEADING)).toBe(annotated)
      expectNoLeaks()
    }
  )

  it('gives up waiting at the timeout input, in simulated time', async () => {
    operator({ 'payments-db': 'ignore' })
    await runAction({ ...SYNC, timeout: '45s' })
    expect(clock.now()).toBeGreaterThanOrEqual(45_000)
    expect(clock.now()).toBeLessThan(60_000)
    expect(summaryText()).toContain('<tr><td>payments-prod/payments-db</td><td>timed out')
  })
})

describe("run(): a cancelled run (the runner's SIGINT or SIGTERM)", () => {
  it('stops waiting for the sync at once, annotates nothing more, sets every output and writes the summary, failing ZT190', async () => {
    const cancel = new AbortController()
    // Cancelled while the sync waits: payments-provider synced, payments-db never will.
    operator({ 'payments-db': 'ignore' }, (name) => {
      if (name === 'payments-provider') cancel.abort('SIGINT')
    })
    await runAction({ ...SYNC, timeout: '45s' }, { cancel: cancel.signal })
    expect(failureCode()).toBe('ZT190')
    expect(core.failures()[0]).toMatch(
      /^The run was cancelled \(SIGINT\) during "Sync: force-sync the ExternalSecrets": no new write was started/
    )
    // The wait ended when the signal came, not at the timeout.
    expect(clock.now()).toBeLessThan(45_000)
    expect(core.infoLines()).toContain(
      'The run was cancelled (SIGINT): no new write starts; the writes in flight finish, then the outputs and the job summary are written.'
    )
    expect(JSON.parse(core.outputs().created)).toEqual(KEYS)
    expect(core.outputs().synced).toBe('["payments-prod/payments-provider"]')
    expect(core.outputCounts()).toEqual(Object.fromEntries(Object.keys(NOTHING).map((name) => [name, 1])))
    expect(summaryText()).toContain(PUSH_HEADING)
    expect(summaryText()).toContain(
      '<tr><td>payments-prod/payments-db</td><td>failed: not awaited: the run was cancelled'
    )
    expect(kube.openWatches()).toBe(0)
    expectNoLeaks()
  })

  it('in the push, lets the writes in flight finish and starts no other, and no phase after it runs', async () => {
    const cancel = new AbortController()
    store.fault = (operation) => {
      if (operation === 'putParameter') cancel.abort('SIGTERM')
      return undefined
    }
    const more = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`EXTRA_${i}`, `extra-value-${i}`]))
    await runAction({ ...SYNC, secrets: JSON.stringify({ ...SECRETS, ...more }) }, { cancel: cancel.signal })
    expect(failureCode()).toBe('ZT190')
    expect(core.failures()[0]).toMatch(/^The run was cancelled \(SIGTERM\) during "Push to SSM Parameter Store"/)
    const written = JSON.parse(core.outputs().created) as string[]
    expect(written.length).toBe(store.count('putParameter'))
    expect(written.length).toBeGreaterThan(0)
    // At most the four writes the push runs at once were in flight; the other keys were not written.
    expect(written.length).toBeLessThanOrEqual(4)
    expect(summaryText().match(/not written: the run was cancelled before this write went through/g)).toHaveLength(
      KEYS.length + 8 - written.length
    )
    expect(patched()).toEqual([])
    expect(core.outputCounts()).toEqual(Object.fromEntries(Object.keys(NOTHING).map((name) => [name, 1])))
  })
})

describe('run(): the job summary', () => {
  const CASES: Array<{ what: string; env: Record<string, string>; writes: number }> = [
    { what: 'is written once when GITHUB_STEP_SUMMARY is set', env: ENV, writes: 1 },
    { what: 'is not written when GITHUB_STEP_SUMMARY is not set', env: { AWS_REGION: 'us-east-1' }, writes: 0 }
  ]

  it.each(CASES)('$what', async ({ env, writes }) => {
    await runAction(PUSH, { env })
    expect(core.summary.write).toHaveBeenCalledTimes(writes)
    expect(core.failures()).toEqual([])
    expectOutputs({ ...NOTHING, created: JSON.stringify(KEYS), changed: 'true', versions: FIRST_VERSIONS })
  })

  it('that cannot be written is a warning with its reason redacted, not a failure or a crash', async () => {
    core.summary.write.mockRejectedValueOnce(
      new Error(`ENOSPC: no space left on device, write (${SECRETS.WEBHOOK_SECRET})`)
    )
    await expect(runAction(SYNC)).resolves.toBeUndefined()
    expect(core.failures()).toEqual([])
    expect(core.warnings()).toEqual([
      'The job summary could not be written: ENOSPC: no space left on device, write (***)'
    ])
    expectOutputs({
      ...NOTHING,
      created: JSON.stringify(KEYS),
      changed: 'true',
      synced: '["payments-prod/payments-db","payments-prod/payments-provider"]',
      versions: FIRST_VERSIONS
    })
    expectNoLeaks()
  })
})

describe('run(): an unexpected error', () => {
  const CASES: Array<{ what: string; thrown: unknown; message: string }> = [
    {
      what: 'an Error holding a secret value',
      thrown: new Error(`credentials for ${SECRETS.DATABASE_URL} could not be loaded`),
      message: 'Unexpected error: credentials for *** could not be loaded [ZT199]'
    },
    { what: 'a thrown string', thrown: 'the SDK fell over', message: 'Unexpected error: the SDK fell over [ZT199]' }
  ]

  it.each(CASES)(
    '$what fails ZT199, redacted, with every output set and the summary written',
    async ({ thrown, message }) => {
      const createStore = () => {
        throw thrown
      }
      await runAction(SYNC, { createStore })
      expect(core.failures()).toEqual([message])
      expectOutputs(NOTHING)
      expect(kube.calls).toEqual([])
      expect(core.summary.write).toHaveBeenCalledTimes(1)
      expectNoLeaks()
    }
  )
})

describe('run(): the workloads on old Secret data', () => {
  const ROLLOUT_MS = 3_000
  /** A Deployment in payments-prod whose pods read `secret` through envFrom, rolled out at generation 1. */
  const deployment = (name: string, secret: string, paused = false): Workload => ({
    kind: 'Deployment',
    metadata: { name, namespace: 'payments-prod', generation: 1 },
    spec: {
      replicas: 1,
      paused,
      selector: { matchLabels: { app: name } },
      template: { spec: { containers: [{ envFrom: [{ secretRef: { name: secret } }] }] } }
    },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }
  })
  /** Its pod, started at `at` (ms). */
  const startPod = (name: string, at: number) =>
    kube.setPods('payments-prod', name, [
      { metadata: { name: `${name}-0` }, status: { phase: 'Running', startTime: new Date(at).toISOString() } }
    ])

  beforeEach(() => {
    kube.putWorkload(deployment('payments-api', 'payments-provider'))
    kube.putWorkload(deployment('billing', 'billing-secrets'))
    for (const name of ['payments-api', 'payments-worker', 'billing']) startPod(name, -100_000)
    // ESO writes the Secret's data when the values change: at the start of the first run.
    kube.writeSecretData('payments-prod', 'payments-provider', 0)
    // The Deployment controller: a restarted Deployment rolls out ROLLOUT_MS later, its new pod running.
    kube.onRestart = ({ metadata: { name } }) =>
      clock.after(ROLLOUT_MS, () => {
        startPod(name, clock.now())
        kube.updateWorkload('Deployment', 'payments-prod', name, (current) => ({
          ...current,
          status: {
            observedGeneration: current.metadata.generation,
            replicas: 1,
            updatedReplicas: 1,
            availableReplicas: 1
          }
        }))
      })
  })

  const restarts = () => kube.calls.filter(({ verb }) => verb === 'restart').map(({ name }) => name)

  it('restart: changed restarts only the workloads whose pods started before the data of their Secret, waits for their rollout, and lists them in restarted and the summary', async () => {
    await runAction({ ...SYNC, restart: 'changed' })
    expect(core.failures()).toEqual([])
    expect(restarts()).toEqual(['payments-api'])
    expectOutputs({
      ...NOTHING,
      created: JSON.stringify(KEYS),
      changed: 'true',
      synced: '["payments-prod/payments-db","payments-prod/payments-provider"]',
      restarted: '["payments-prod/Deployment/payments-api"]',
      versions: FIRST_VERSIONS
    })
    expect(clock.now()).toBe(OPERATOR_DELAY_MS + ROLLOUT_MS)
    expect(summaryText()).toContain(
      '<tr><td>payments-prod/Deployment/payments-api</td><td>payments-provider</td><td>restarted, rolled out</td><td>3.0 s</td></tr>'
    )
    expectNoLeaks()
  })

  it('cancelled during the rollout wait: stops waiting at once, reports the rollout not awaited, fails ZT190', async () => {
    const cancel = new AbortController()
    clock.after(OPERATOR_DELAY_MS + ROLLOUT_MS / 3, () => cancel.abort('SIGTERM'))
    await runAction({ ...SYNC, restart: 'changed' }, { cancel: cancel.signal })
    expect(failureCode()).toBe('ZT190')
    expect(core.failures()[0]).toMatch(/^The run was cancelled \(SIGTERM\) during "Rollout: restart the workloads"/)
    expect(restarts()).toEqual(['payments-api'])
    expect(clock.now()).toBe(OPERATOR_DELAY_MS + ROLLOUT_MS / 3)
    expect(core.outputs().restarted).toBe('[]')
    expect(summaryText()).toContain('not awaited: the run was cancelled')
    expect(kube.openWatches()).toBe(0)
  })

  it('an unchanged re-run restarts nothing', async () => {
    await runAction({ ...SYNC, restart: 'changed' })
    core.reset()
    kube.calls.length = 0
    await runAction({ ...SYNC, restart: 'changed' })
    expect(core.failures()).toEqual([])
    expect(restarts()).toEqual([])
    expect(core.outputs().restarted).toBe('[]')
  })

  it('restart: none warns for each workload left on the old values and patches nothing', async () => {
    await runAction(SYNC)
    expect(core.failures()).toEqual([])
    expect(restarts()).toEqual([])
    expect(core.warnings()).toEqual([
      expect.stringMatching(
        /^payments-prod\/Deployment\/payments-api reads Secret payments-provider: its pods started before the current data and run the old values/
      )
    ])
    expect(core.outputs().restarted).toBe('[]')
  })

  it('a dry run lists what it would restart, and restarts nothing', async () => {
    await runAction({ ...SYNC, restart: 'changed', 'dry-run': 'true' })
    expect(core.failures()).toEqual([])
    expect(restarts()).toEqual([])
    expect(core.outputs().restarted).toBe('[]')
    expect(core.infoLines()).toContainEqual(
      expect.stringMatching(/^would restart +payments-prod\/Deployment\/payments-api \(reads payments-provider\)$/)
    )
  })

  it('fails ZT160 naming a paused Deployment, after restarting the others', async () => {
    kube.putWorkload(deployment('payments-worker', 'payments-provider', true))
    await runAction({ ...SYNC, restart: 'changed' })
    expect(failureCode()).toBe('ZT160')
    expect(core.failures()[0]).toMatch(
      /payments-prod\/Deployment\/payments-worker \(paused, failed\): paused: resume it, then re-run \(or restart it yourself\)/
    )
    expect(restarts()).toEqual(['payments-api'])
    expect(core.outputs().restarted).toBe('["payments-prod/Deployment/payments-api"]')
  })

  it('checks the permissions on the workloads before anything is written', async () => {
    kube.denied = [{ verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'payments-prod' }]
    await runAction({ ...SYNC, restart: 'changed' })
    expect(failureCode()).toBe('ZT142')
    expect(core.failures()[0]).toMatch(/may not patch deployments\.apps in namespace "payments-prod"/)
    expect(store.calls).toEqual([])
  })

  it.each([
    ['an unknown policy', { restart: 'always' }, /restart: "always" is not one of none, changed/],
    [
      'restart: changed without waiting for the sync',
      { restart: 'changed', wait: 'false' },
      /restart: changed restarts the workloads once their Secrets are confirmed fresh, which needs wait: true/
    ],
    [
      'a rollout-timeout that is no duration',
      { 'rollout-timeout': 'soon' },
      /rollout-timeout: "soon" is not a duration/
    ]
  ])('refuses %s before anything is written', async (_what, inputs, message) => {
    await runAction({ ...SYNC, ...inputs })
    expect(failureCode()).toBe('ZT100')
    expect(core.failures()[0]).toMatch(message)
    expect(store.calls).toEqual([])
  })
})

describe('run(): provenance', () => {
  const descriptions = () => KEYS.map((key) => store.history(`${PATH}/${key}`).at(-1)?.description)

  it("describes every version written in a workflow run with the run, from @actions/github's context", async () => {
    await runAction(PUSH, { env: { ...ENV, GITHUB_REPOSITORY: 'octo/payments', GITHUB_RUN_ID: '4242' } })
    expect(core.failures()).toEqual([])
    expect(new Set(descriptions())).toEqual(new Set([describeVersion({ kind: 'workflow', run: workflowRun })]))
    expect(descriptions()[0]).toContain('https://github.example.com/octo/payments/actions/runs/4242/attempts/2')
  })

  it('says a run outside a workflow run is local, naming the host', async () => {
    await runAction(PUSH)
    expect(new Set(descriptions())).toEqual(new Set([`zerotouch-secrets: local run on ${hostname()}`]))
  })
})

describe('run(): restore-to', () => {
  const NOW = Date.UTC(2026, 10, 30, 13)
  const MINUTE = 60_000
  const RESTORE = {
    environment: 'prod',
    service: 'payments',
    namespace: 'payments-prod',
    kubeconfig: KUBECONFIG,
    timeout: '30s'
  }
  const HISTORY_VALUES = {
    one: 'postgres://payments:first-pass@db/payments',
    two: 'postgres://payments:second-pass@db/payments',
    key: 'sk_live_kept_0123'
  }
  const by = (runId: number) => describeVersion({ kind: 'workflow', run: { ...workflowRun, runId } })

  beforeEach(() => {
    clock = virtualClock(NOW)
    operator()
    store.now = () => clock.now()
    store.seedHistory(
      `${PATH}/database_url`,
      [
        { value: HISTORY_VALUES.one, modifiedAt: NOW - 30 * MINUTE, description: by(1) },
        { value: HISTORY_VALUES.two, modifiedAt: NOW - 10 * MINUTE, description: by(2) }
      ],
      OWN
    )
    store.seedHistory(
      `${PATH}/stripe_api_key`,
      [{ value: HISTORY_VALUES.key, modifiedAt: NOW - 30 * MINUTE, description: by(1) }],
      OWN
    )
    store.seedHistory(
      `${PATH}/webhook_secret`,
      [{ value: 'whsec_added_later', modifiedAt: NOW - 10 * MINUTE, description: by(2) }],
      OWN
    )
  })

  it('puts the values of the time back as new versions, syncs the cluster, and reports each key', async () => {
    await runAction({ ...RESTORE, 'restore-to': '2026-11-30T12:40:00Z' })
    expect(core.failures()).toEqual([])
    expectOutputs({
      ...NOTHING,
      updated: '["database_url"]',
      unchanged: '["stripe_api_key"]',
      changed: 'true',
      synced: '["payments-prod/payments-db","payments-prod/payments-provider"]',
      versions: JSON.stringify({ database_url: 3, stripe_api_key: 1 })
    })
    expect(store.history(`${PATH}/database_url`).at(-1)).toMatchObject({
      version: 3,
      value: HISTORY_VALUES.one,
      description: `restored from version 1 (as of 2026-11-30T12:40:00.000Z); zerotouch-secrets: local run on ${hostname()}`
    })
    expect(store.parameters.has(`${PATH}/webhook_secret`)).toBe(true)
    expect(core.infoLines()).toContain(`Restoring 3 parameters under ${PATH}/ to 2026-11-30T12:40:00.000Z`)
    expect(core.infoLines()).toContain(
      `kept         ${PATH}/webhook_secret (created after the point; prune: true deletes it)`
    )
    const summary = summaryText()
    expect(summary).toContain(`<h3>Secrets restored under ${PATH}</h3>`)
    expect(summary).toContain(
      `<tr><td>database_url</td><td>${PATH}/database_url</td><td>restored from version 1 to new version 3</td></tr>`
    )
    expect(summary).toContain(
      `<tr><td>stripe_api_key</td><td>${PATH}/stripe_api_key</td><td>unchanged: version 1 holds the value of version 1</td></tr>`
    )
    expect(patched().sort()).toEqual(['payments-prod/payments-db', 'payments-prod/payments-provider'])
    expect(core.secrets()).toEqual(expect.arrayContaining(Object.values(HISTORY_VALUES)))
    expectNoLeaks([...Object.values(HISTORY_VALUES), KUBE_TOKEN])
  })

  it('run:<id> restores the state right after that run; with prune, deletes what the run had not written yet', async () => {
    await runAction({ environment: 'prod', service: 'payments', 'restore-to': 'run:1', prune: 'true' })
    expect(core.failures()).toEqual([])
    expect(core.outputs()).toMatchObject({
      updated: '["database_url"]',
      unchanged: '["stripe_api_key"]',
      deleted: '["webhook_secret"]',
      changed: 'true'
    })
    expect(store.parameters.has(`${PATH}/webhook_secret`)).toBe(false)
  })

  it('dry run: reports the plan and writes and annotates nothing', async () => {
    await runAction({ ...RESTORE, 'restore-to': '2026-11-30T12:40:00Z', 'dry-run': 'true' })
    expect(core.failures()).toEqual([])
    expect(core.outputs()).toMatchObject({
      updated: '["database_url"]',
      versions: JSON.stringify({ database_url: 2, stripe_api_key: 1 })
    })
    expect([store.count('putParameter'), store.count('deleteParameters'), patched().length]).toEqual([0, 0, 0])
    expect(summaryText()).toContain(
      `<tr><td>database_url</td><td>${PATH}/database_url</td><td>would restore version 1 (now version 2)</td></tr>`
    )
  })

  it.each([
    [
      'together with secrets',
      { secrets: JSON.stringify({ DATABASE_URL: 'postgres://x' }) },
      /restore-to: is refused together with secrets/
    ],
    ['malformed', {}, /restore-to: "yesterday" is neither an ISO-8601 UTC time/]
  ])('refused %s (ZT100), with no request to SSM or the cluster', async (_what, inputs, message) => {
    await runAction({
      ...RESTORE,
      'restore-to': 'yesterday',
      ...inputs,
      ...('secrets' in inputs ? { 'restore-to': '2026-11-30T12:40:00Z' } : {})
    })
    expect(failureCode()).toBe('ZT100')
    expect(core.failures()[0]).toMatch(message)
    expect([store.calls, kube.calls]).toEqual([[], []])
    expectOutputs(NOTHING)
  })

  it('refuses an unknown run id (ZT122) before anything is written', async () => {
    await runAction({ ...RESTORE, 'restore-to': 'run:77' })
    expect(failureCode()).toBe('ZT122')
    expect(core.failures()[0]).toMatch(/was written by run 77/)
    expect([store.count('putParameter'), patched().length]).toEqual([0, 0])
    expectOutputs(NOTHING)
  })
})

describe('run(): check mode', () => {
  const CHECK = { ...SYNC, mode: 'check' }
  /** The release's state: every key at its value, written and recorded by a local run of the action. */
  function released(): void {
    const description = describeVersion({ kind: 'local', host: hostname() })
    for (const key of KEYS)
      store.seed(`${PATH}/${key}`, SECRETS[key.toUpperCase() as keyof typeof SECRETS], { ...OWN, description })
  }
  const writes = () => [
    ...store.calls.map(({ operation }) => operation).filter((operation) => /^(put|add|delete)/.test(operation)),
    ...kube.calls
      .map(({ verb }) => verb)
      .filter((verb) => verb === 'patch' || verb === 'patch-ces' || verb === 'restart')
  ]

  it('after a release finds nothing: drift [] among every output, reads only, and no phase of the release runs', async () => {
    released()
    await runAction(CHECK)
    expect(core.failures()).toEqual([])
    expectOutputs(NOTHING)
    expect(writes()).toEqual([])
    expect(core.groups()).toEqual([
      'Pre-flight: the cluster',
      'end Pre-flight: the cluster',
      'Check: drift from the release (read-only)',
      'end Check: drift from the release (read-only)'
    ])
    expect(summaryText()).toContain(`<h3>Drift check of ${PATH} (check mode: nothing written)</h3>`)
  })

  it('with drift and fail-on-drift, fails ZT170 naming each finding, sets drift, and writes nothing; the values never shown', async () => {
    released()
    await runAction({ ...CHECK, secrets: JSON.stringify({ ...SECRETS, STRIPE_API_KEY: 'sk_live_rotated_999' }) })
    const [failure] = core.failures()
    expect(failure).toMatch(
      /^Drift found: 1 finding \(fail-on-drift: true\)\. Check mode wrote nothing\. \[ZT170\]\n {2}- differs \/zerotouch\/prod\/payments\/stripe_api_key: version 1 holds another value than STRIPE_API_KEY/
    )
    expect(JSON.parse(core.outputs().drift)).toEqual([
      {
        kind: 'differs',
        name: `${PATH}/stripe_api_key`,
        detail: 'version 1 holds another value than STRIPE_API_KEY: a release writes a new version'
      }
    ])
    expect(writes()).toEqual([])
    expect(findLeaks(core.visibleText(), [...values(), 'sk_live_rotated_999'])).toEqual([])
  })
})
