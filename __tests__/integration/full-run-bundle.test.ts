/**
 * The whole job, as the GitHub runner runs it: dist/index.js with INPUT_* variables pushes to moto,
 * then force-syncs the ExternalSecrets of the project's test Kubernetes API server (whose operator
 * simulation reads moto, through the same fault-injecting proxy) through a kubeconfig, and returns only after each
 * has freshly synced.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { runBundledAction, type ActionRun } from '../../testing/action.ts'
import { startKubeApiServer, type KubeApiServer } from '../../testing/kube/index.ts'
import { findLeaks } from '../../testing/leaks.ts'
import { writeCalls, type Fault, type RecordedCall } from '../../testing/ssm-proxy.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { FAILURE_CONFIRM_MS } from '../../src/sync/wait.js'

const AWS = LOCAL_AWS
const SECRETS = {
  DATABASE_URL: 'postgres://payments:s3cret-pass@db:5432/payments',
  STRIPE_API_KEY: 'sk_live_abcdef123456',
  WEBHOOK_SECRET: 'whsec_0123456789'
}

const harness = useSsmBehindProxy()
let kube: KubeApiServer

beforeEach(async () => {
  kube = await startKubeApiServer({
    // The operator reads through the proxy too (GetParameter, which the action never calls), so a test can fail it.
    ssmEndpoint: harness.proxy.endpoint,
    region: 'us-east-1',
    reconcileDelayMs: 100,
    retryBaseMs: 60_000
  })
  kube.apply(readFileSync('__tests__/fixtures/cluster/payments-prod.yaml', 'utf8'))
})
afterEach(async () => kube?.close())

function run(inputs: Record<string, string> = {}, secrets: Record<string, string> = SECRETS): Promise<ActionRun> {
  return runBundledAction(
    {
      environment: 'prod',
      service: 'payments',
      'ssm-endpoint': harness.proxy.endpoint,
      secrets: JSON.stringify(secrets),
      namespace: 'payments-prod',
      kubeconfig: kube.kubeconfig(),
      timeout: '30s',
      ...inputs
    },
    AWS
  )
}

function expectNoLeaks(result: ActionRun, secrets: Record<string, string> = SECRETS) {
  const texts = {
    stdout: result.stdout,
    stderr: result.stderr,
    outputs: JSON.stringify(result.outputs),
    summary: result.summary
  }
  expect(findLeaks(texts, [...Object.values(secrets), kube.token])).toEqual([])
}

function patched(): string[] {
  return kube.requests
    .filter((request) => request.method === 'PATCH')
    .map((request) => request.path.replace(/^.*\/namespaces\//, ''))
}

describe('the bundled action, push then sync', () => {
  it('pushes, annotates exactly the selected ExternalSecrets, and returns after each freshly synced', async () => {
    const result = await run()
    expect(result.stdout).not.toMatch(/::error::/)
    expect(result.exitCode).toBe(0)
    expect(result.outputs.created).toBe('["database_url","stripe_api_key","webhook_secret"]')
    expect(JSON.parse(result.outputs.synced)).toEqual(['payments-prod/payments-db', 'payments-prod/payments-provider'])
    expect(patched().sort()).toEqual([
      'payments-prod/externalsecrets/payments-db',
      'payments-prod/externalsecrets/payments-provider'
    ])
    const secret = kube.get('Secret', 'payments-prod', 'payments-provider') as unknown as {
      data: Record<string, string>
    }
    expect(Buffer.from(secret.data.STRIPE_API_KEY, 'base64').toString()).toBe(SECRETS.STRIPE_API_KEY)
    for (const name of ['payments-db', 'payments-provider']) {
      const es = kube.get('ExternalSecret', 'payments-prod', name) as unknown as {
        status: { conditions: Array<{ type: string; status: string }> }
      }
      expect(es.status.conditions.find(({ type }) => type === 'Ready')?.status).toBe('True')
    }
    expect(result.summary).toMatch(/ExternalSecrets force-synced/)
    expect(result.stdout).toContain(`::add-mask::${kube.token}`)
    // The log folds phase by phase: each phase's lines between its ::group:: and ::endgroup::.
    const push = result.stdout.slice(result.stdout.indexOf('::group::Push to SSM Parameter Store'))
    expect(push.slice(0, push.indexOf('::endgroup::'))).toMatch(
      /created +\/zerotouch\/prod\/payments\/database_url \(version 1\)/
    )
    expect(result.stdout).toMatch(/^::group::Sync: force-sync the ExternalSecrets$/m)
    expectNoLeaks(result)
  })

  it('on a re-run with one value changed, writes one key and the cluster reads the new value', async () => {
    await run()
    harness.proxy.calls.length = 0
    kube.clearRequests()
    const changed = { ...SECRETS, WEBHOOK_SECRET: 'whsec_rotated_999' }
    const result = await run({}, changed)
    expect(result.exitCode).toBe(0)
    expect(writeCalls(harness.proxy.calls).map(({ body }) => body.Name)).toEqual([
      '/zerotouch/prod/payments/webhook_secret'
    ])
    const secret = kube.get('Secret', 'payments-prod', 'payments-provider') as unknown as {
      data: Record<string, string>
    }
    expect(Buffer.from(secret.data.WEBHOOK_SECRET, 'base64').toString()).toBe('whsec_rotated_999')
  })

  it("fails with the operator's reason when an ExternalSecret cannot sync, after pushing", async () => {
    kube.operator.failWith(
      'payments-prod',
      'payments-db',
      'error processing spec.data[0] (key: /zerotouch/prod/payments/database_url), err: provider exploded'
    )
    const result = await run()
    expect(result.exitCode).not.toBe(0)
    expect(result.outputs.created).toBe('["database_url","stripe_api_key","webhook_secret"]')
    expect(JSON.parse(result.outputs.synced)).toEqual(['payments-prod/payments-provider'])
    expect(result.stdout.replace(/%0A/g, '\n')).toMatch(/payments-prod\/payments-db.*provider exploded/)
    expectNoLeaks(result)
  })

  describe('a provider error after the annotation (the operator writes Ready=False and retries with backoff)', () => {
    const DB_KEY = '/zerotouch/prod/payments/database_url'
    const ROTATED = { ...SECRETS, DATABASE_URL: 'postgres://payments:rotated-pass@db:5432/payments' }
    /** Throttles the operator's reads of payments-db's parameter: the first `times` of them, or all. */
    function throttleOperatorReads(times = Infinity): void {
      let throttled = 0
      harness.proxy.fault = (call: RecordedCall): Fault | undefined =>
        call.operation === 'GetParameter' && call.body.Name === DB_KEY && throttled++ < times
          ? { kind: 'throttle' }
          : undefined
    }
    const failedReconciles = () =>
      kube.operator.reconciles.filter(({ name, outcome }) => name === 'payments-db' && outcome === 'failed')

    /** A first run syncs both (Ready True at the next annotation); then the operator idles. */
    async function synced(): Promise<number> {
      expect((await run()).exitCode).toBe(0)
      await kube.operator.idle()
      return failedReconciles().length
    }

    it('succeeds when the read the annotation asked for is throttled and the retry syncs', async () => {
      const failedBefore = await synced()
      kube.operator.retryBaseMs = 200
      throttleOperatorReads(1)
      const result = await run({}, ROTATED)
      expect(result.stdout).not.toMatch(/::error::/)
      expect(result.exitCode).toBe(0)
      expect(JSON.parse(result.outputs.synced)).toEqual([
        'payments-prod/payments-db',
        'payments-prod/payments-provider'
      ])
      // The provider error did happen: a throttled read, a reconcile that wrote Ready=False, then the retry synced.
      expect(harness.proxy.calls.filter(({ faulted }) => faulted === 'throttle')).toHaveLength(1)
      expect(failedReconciles().length).toBe(failedBefore + 1)
      const secret = kube.get('Secret', 'payments-prod', 'payments-db') as unknown as { data: Record<string, string> }
      expect(Buffer.from(secret.data.DATABASE_URL, 'base64').toString()).toMatch(/rotated-pass/)
      expectNoLeaks(result, ROTATED)
    })

    it("fails with ZT150 naming it and the provider's message when the provider keeps failing, after the bound, not at once", async () => {
      const failedBefore = await synced()
      // A retry later than the bound: the failure stands FAILURE_CONFIRM_MS after the first failed reconcile.
      kube.operator.retryBaseMs = 60_000
      throttleOperatorReads()
      const result = await run({}, ROTATED)
      const ended = Date.now()
      expect(result.exitCode).not.toBe(0)
      expect(JSON.parse(result.outputs.synced)).toEqual(['payments-prod/payments-provider'])
      const log = result.stdout.replace(/%0A/g, '\n')
      expect(log).toMatch(/\[ZT150\]/)
      expect(log).toMatch(
        /payments-prod\/payments-db: the sync failed: error processing spec\.data\[0\] \(key: \/zerotouch\/prod\/payments\/database_url\), err: Rate exceeded/
      )
      const [failed] = failedReconciles().slice(failedBefore)
      expect(failed).toBeDefined()
      // The waiter saw the failure when the watch delivered it, a moment after the reconcile ended (the tolerance).
      expect(ended - failed.finishedAt).toBeGreaterThanOrEqual(FAILURE_CONFIRM_MS - 250)
      expectNoLeaks(result, ROTATED)
    })
  })

  it('refuses before annotating when a referenced parameter is missing, and names it', async () => {
    const { WEBHOOK_SECRET: _omitted, ...partial } = SECRETS
    const result = await run({}, partial)
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toMatch(/Nothing was annotated.*\/zerotouch\/prod\/payments\/webhook_secret/)
    expect(patched()).toEqual([])
  })

  it('refuses before annotating an ExternalSecret pinned to a version of a key the run wrote, which it would never read', async () => {
    const current = kube.get('ExternalSecret', 'payments-prod', 'payments-db')!
    kube.apply({
      ...current,
      spec: {
        ...(current.spec as object),
        data: [{ secretKey: 'DATABASE_URL', remoteRef: { key: '/zerotouch/prod/payments/database_url', version: '1' } }]
      }
    })
    const result = await run()
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout.replace(/%0A/g, '\n')).toMatch(
      /\[ZT144\]\n {2}- payments-prod\/payments-db: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/prod\/payments\/database_url" is pinned to version 1,/
    )
    expect(patched()).toEqual([])
  })

  it('dry-run plans the push and the sync, and writes and annotates nothing', async () => {
    const result = await run({ 'dry-run': 'true', 'verify-references': 'false' })
    expect(result.exitCode).toBe(0)
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    expect(patched()).toEqual([])
  })

  it('talks to a plain http:// API server (kubectl proxy) without insecure-skip-tls-verify, as kubectl does', async () => {
    const kubeconfig = kube
      .kubeconfig()
      .split('\n')
      .filter((line) => !line.includes('insecure-skip-tls-verify'))
      .join('\n')
    expect(kubeconfig).toMatch(/server: http:\/\/127\.0\.0\.1:\d+/)
    const result = await run({ kubeconfig })
    expect(result.stdout).not.toMatch(/::error::/)
    expect(JSON.parse(result.outputs.synced)).toEqual(['payments-prod/payments-db', 'payments-prod/payments-provider'])
  })
})
