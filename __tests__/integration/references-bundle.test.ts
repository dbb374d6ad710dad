/**
 * References as the External Secrets Operator resolves them (#19 items 8 and 11), through the bundled action
 * against the test API server (whose operator reads through each store as external-secrets' Parameter Store
 * provider does) and moto behind the recording proxy: a store's prefix and a find without a path are what the
 * guardrails, the restart decision and the prune guard see.
 */
import { describe, expect, it } from '@jest/globals'
import { errorOf, runBundledAction, type ActionRun } from '../../testing/action.ts'
import { parameterStore, type KubeApiServer, type KubeObject } from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { writeCalls } from '../../testing/ssm-proxy.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { pointBetweenRuns } from '../../__fixtures__/until.ts'
import {
  NS,
  ROTATED,
  SECRETS,
  deployment,
  paymentsCluster,
  readByPods,
  release
} from '../../__fixtures__/rollout-harness.ts'
import { HAS_KUSTOMIZE } from '../../__fixtures__/tools.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const harness = useSsmBehindProxy()
const cluster = useTestCluster()

const LABELS = { 'zerotouch.io/managed': 'true' }

/** An ExternalSecret of the payments namespace writing the Secret of the same name. */
function externalSecret(
  name: string,
  spec: Record<string, unknown>,
  labels: Record<string, string> = LABELS
): KubeObject {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace: NS, labels },
    spec: { refreshInterval: '1h', target: { name }, ...spec }
  }
}

const annotated = (): string[] =>
  cluster.current.requests
    .filter(({ method, path }) => method === 'PATCH' && path.includes('/externalsecrets/'))
    .map(({ path }) => path.slice(path.lastIndexOf('/') + 1))

function expectNoLeaks(result: ActionRun, values: Record<string, string> = SECRETS): void {
  expect(findRunLeaks(result, [...Object.values(values), ...(cluster.started ? [cluster.started.token] : [])])).toEqual(
    []
  )
}

describe("a store's prefix", () => {
  /** The payments cluster plus a SecretStore with `prefix` and an ExternalSecret reading stripe_api_key through it. */
  async function tenantCluster(prefix: string): Promise<KubeApiServer> {
    const kube = cluster.track(await paymentsCluster(harness, [deployment('tenant-api', 'payments-tenant')]))
    kube.apply([
      parameterStore({ kind: 'SecretStore', name: 'tenant', namespace: NS, prefix }),
      externalSecret('payments-tenant', {
        secretStoreRef: { name: 'tenant' },
        data: [{ secretKey: 'STRIPE_API_KEY', remoteRef: { key: 'stripe_api_key' } }]
      })
    ])
    return kube
  }

  it('is seen by the guardrails and the restart decision: the reader of the prefixed key is restarted onto the new value', async () => {
    const kube = await tenantCluster('/zerotouch/prod/payments/')
    const first = await release(harness, kube, SECRETS)
    expect(errorOf(first)).toBe('')
    expect(JSON.parse(first.outputs.synced)).toContain(`${NS}/payments-tenant`)

    const rotated = await release(harness, kube, ROTATED, { restart: 'changed' })
    expect(errorOf(rotated)).toBe('')
    expect(JSON.parse(rotated.outputs.restarted)).toEqual([`${NS}/Deployment/tenant-api`])
    expect(readByPods(kube, 'tenant-api', 'payments-tenant', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
    expectNoLeaks(rotated, ROTATED)
  })

  it('that points at another environment is refused by the guardrails, naming the key as written and as read; nothing is annotated', async () => {
    const kube = await tenantCluster('/zerotouch/stg/payments/')
    const result = await release(harness, kube, SECRETS)
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toContain('[ZT144]')
    expect(result.stdout).toContain(
      `${NS}/payments-tenant: spec.data[0].remoteRef.key "stripe_api_key" (read as "/zerotouch/stg/payments/stripe_api_key": the prefix "/zerotouch/stg/payments/" of SecretStore "${NS}/tenant") reads environment "stg", not "prod": a cross-environment reference`
    )
    expect(annotated()).toEqual([])
    expectNoLeaks(result)
  })

  it('of a store that does not exist stops the run in the pre-flight, naming the ExternalSecret and the store, before any SSM request', async () => {
    const kube = cluster.track(await paymentsCluster(harness, []))
    kube.apply(
      externalSecret('payments-tenant', {
        secretStoreRef: { name: 'tenant' },
        data: [{ secretKey: 'STRIPE_API_KEY', remoteRef: { key: 'stripe_api_key' } }]
      })
    )
    const result = await release(harness, kube, SECRETS)
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toMatch(/^::error::Nothing was written: the cluster check found 1 problem: \[ZT144\]/)
    expect(result.stdout).toContain(
      `ExternalSecret ${NS}/payments-tenant reads through SecretStore "${NS}/tenant", which does not exist in the cluster`
    )
    expect(harness.proxy.calls).toEqual([])
    expect(annotated()).toEqual([])
  })
})

describe('a find without a path', () => {
  it('searches from /: the guardrails refuse it, and without them the restart decision sees what it reads', async () => {
    const kube = cluster.track(await paymentsCluster(harness, [deployment('everything', 'payments-all')]))
    kube.apply(
      externalSecret('payments-all', {
        secretStoreRef: { name: 'aws-parameter-store', kind: 'ClusterSecretStore' },
        dataFrom: [
          {
            find: { name: { regexp: '^/zerotouch/prod/payments/stripe' } },
            rewrite: [{ regexp: { source: '^/zerotouch/prod/payments/', target: '' } }]
          }
        ]
      })
    )
    const refused = await release(harness, kube, SECRETS)
    expect(errorOf(refused)).toContain('[ZT144]')
    expect(refused.stdout).toContain(
      `${NS}/payments-all: spec.dataFrom[0].find (no path: searches from "/") reads all of /zerotouch/, not "prod": a cross-environment reference`
    )
    expect(annotated()).toEqual([])

    const rotated = await release(harness, kube, ROTATED, { restart: 'changed', 'verify-references': 'false' })
    expect(errorOf(rotated)).toBe('')
    expect(JSON.parse(rotated.outputs.restarted)).toContain(`${NS}/Deployment/everything`)
    expect(readByPods(kube, 'everything', 'payments-all', 'stripe_api_key')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
  })
})

describe('a prune', () => {
  const WITH_LEGACY = { ...SECRETS, LEGACY_TOKEN: 'tok_legacy_0123456789' }
  const LEGACY = '/zerotouch/prod/payments/legacy_token'

  it.each([false, true])(
    'never deletes a parameter a live ExternalSecret of the namespace reads, selected or not (dry run: %p): refused before any write',
    async (dryRun) => {
      const kube = cluster.track(await paymentsCluster(harness, []))
      // Not labelled: the sync leaves it alone, but the operator reads it, and would fail once the parameter is gone.
      kube.apply(
        externalSecret(
          'payments-legacy',
          {
            secretStoreRef: { name: 'tenant' },
            data: [{ secretKey: 'TOKEN', remoteRef: { key: 'legacy_token' } }]
          },
          {}
        )
      )
      kube.apply(
        parameterStore({ kind: 'SecretStore', name: 'tenant', namespace: NS, prefix: '/zerotouch/prod/payments/' })
      )
      expect(errorOf(await release(harness, kube, WITH_LEGACY))).toBe('')
      harness.proxy.calls.length = 0
      kube.clearRequests()

      const result = await release(harness, kube, SECRETS, { prune: 'true', 'dry-run': String(dryRun) })
      expect(result.exitCode).not.toBe(0)
      expect(errorOf(result)).toMatch(/^::error::Nothing was written: the plan has problems\. \[ZT121\]/)
      expect(result.stdout).toContain(
        `${LEGACY} would be pruned, but ExternalSecret ${NS}/payments-legacy reads it (spec.data[0].remoteRef.key "legacy_token" (read as "${LEGACY}"`
      )
      expect(writeCalls(harness.proxy.calls)).toEqual([])
      expect(annotated()).toEqual([])
      expectNoLeaks(result, WITH_LEGACY)
    }
  )

  it('in a restore never deletes a parameter created after the point that a live ExternalSecret reads: refused before any write', async () => {
    const kube = cluster.track(await paymentsCluster(harness, []))
    expect(errorOf(await release(harness, kube, SECRETS))).toBe('')
    const point = await pointBetweenRuns()
    expect(errorOf(await release(harness, kube, WITH_LEGACY))).toBe('')
    kube.apply(
      externalSecret('payments-legacy', {
        secretStoreRef: { name: 'aws-parameter-store', kind: 'ClusterSecretStore' },
        data: [{ secretKey: 'TOKEN', remoteRef: { key: LEGACY } }]
      })
    )
    harness.proxy.calls.length = 0
    kube.clearRequests()

    const result = await release(harness, kube, {}, { secrets: '', 'restore-to': point, prune: 'true' })
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toContain('[ZT121]')
    expect(result.stdout).toContain(
      `${LEGACY} would be pruned, but ExternalSecret ${NS}/payments-legacy reads it (spec.data[0].remoteRef.key "${LEGACY}")`
    )
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    expect(annotated()).toEqual([])
    expectNoLeaks(result, WITH_LEGACY)
  })

  ;(HAS_KUSTOMIZE ? it : it.skip)(
    'never deletes a parameter the rendered definitions read, without a cluster: refused before any write',
    async () => {
      const inputs = {
        environment: 'prod',
        service: 'payments',
        'ssm-endpoint': harness.proxy.endpoint,
        definitions: 'good/overlays/prod'
      }
      const env = { ...LOCAL_AWS, GITHUB_WORKSPACE: `${process.cwd()}/__tests__/fixtures/tenants` }
      const first = await runBundledAction({ ...inputs, secrets: JSON.stringify(SECRETS) }, env)
      expect(errorOf(first)).toBe('')
      // The platform's ClusterSecretStore is not in the overlay, and there is no cluster to read it from: said, not refused.
      expect(first.stdout).toContain(
        'ExternalSecret payments-prod/payments-provider reads through ClusterSecretStore "aws-parameter-store", which the definitions do not render and no cluster was given to read: its keys are checked as written'
      )
      harness.proxy.calls.length = 0

      const { WEBHOOK_SECRET: _dropped, ...partial } = SECRETS
      const result = await runBundledAction({ ...inputs, secrets: JSON.stringify(partial), prune: 'true' }, env)
      expect(result.exitCode).not.toBe(0)
      expect(errorOf(result)).toContain('[ZT121]')
      expect(result.stdout).toMatch(
        /\/zerotouch\/prod\/payments\/webhook_secret would be pruned, but \S+: ExternalSecret payments-prod\/payments-provider \(definitions\) reads it/
      )
      expect(writeCalls(harness.proxy.calls)).toEqual([])
      expectNoLeaks(result)
    }
  )
})
