/**
 * The whole job, as the GitHub runner runs it: dist/index.js with INPUT_* variables pushes to moto,
 * then force-syncs the ExternalSecrets of the project's test Kubernetes API server (whose operator
 * simulation reads moto) through a kubeconfig, and returns only after each has freshly synced.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { runBundledAction, type ActionRun } from '../../testing/action.ts'
import { startKubeApiServer, type KubeApiServer } from '../../testing/kube/index.ts'
import { findLeaks } from '../../testing/leaks.ts'
import { writeCalls } from '../../testing/ssm-proxy.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'

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
    ssmEndpoint: harness.moto.endpoint,
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

function expectNoLeaks(result: ActionRun) {
  const texts = {
    stdout: result.stdout,
    stderr: result.stderr,
    outputs: JSON.stringify(result.outputs),
    summary: result.summary
  }
  expect(findLeaks(texts, [...Object.values(SECRETS), kube.token])).toEqual([])
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
