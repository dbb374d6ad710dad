/**
 * ClusterExternalSecrets through the bundled action, against the test API server with the ClusterExternalSecret
 * controller (testing/kube/clusterexternalsecret.ts, after external-secrets clusterexternalsecret_controller.go),
 * which resets the annotations of the ExternalSecrets it controls on every reconcile: a selected ExternalSecret it
 * controls is force-synced through it (its external-secrets.io/force-sync, passed on), and awaited as the others.
 */
import { describe, expect, it } from '@jest/globals'
import { errorOf, type ActionRun } from '../../testing/action.ts'
import type { KubeApiServer, KubeApiServerOptions } from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { NS, paymentsCluster, release, ROTATED, SECRETS } from '../../__fixtures__/rollout-harness.ts'
import { useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { until } from '../../__fixtures__/until.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const harness = useSsmBehindProxy()
const cluster = useTestCluster()

const run = (secrets: Record<string, string>, extra: Record<string, string> = {}): Promise<ActionRun> =>
  release(harness, cluster.current, secrets, extra)

/** A ClusterExternalSecret provisioning payments-shared in payments-prod and payments-stg, with the selector label. */
const SHARED = `
apiVersion: v1
kind: Namespace
metadata: { name: payments-stg }
---
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: { name: payments-shared }
spec:
  namespaces: [${NS}, payments-stg]
  externalSecretMetadata: { labels: { zerotouch.io/managed: "true" } }
  externalSecretSpec:
    refreshInterval: 1h
    secretStoreRef: { name: aws-parameter-store, kind: ClusterSecretStore }
    target: { name: payments-shared }
    data: [{ secretKey: STRIPE_API_KEY, remoteRef: { key: /zerotouch/prod/payments/stripe_api_key } }]
`

/** The payments cluster with the ClusterExternalSecret SHARED, once it has made payments-shared. */
async function sharedCluster(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const started = cluster.track(await paymentsCluster(harness, [], options))
  started.apply(SHARED)
  await until(() => started.get('ExternalSecret', NS, 'payments-shared') !== undefined)
  return started
}

const sharedValue = () => {
  const data = cluster.current.get('Secret', NS, 'payments-shared')?.data as Record<string, string> | undefined
  return data && Buffer.from(data.STRIPE_API_KEY, 'base64').toString('utf8')
}

describe('an ExternalSecret a ClusterExternalSecret controls', () => {
  it('is force-synced through the ClusterExternalSecret, awaited, and named in synced; the others as before', async () => {
    const kube = await sharedCluster()
    expect(errorOf(await run(SECRETS))).toBe('')
    kube.clearRequests()
    const result = await run(ROTATED)
    expect(errorOf(result)).toBe('')
    expect(JSON.parse(result.outputs.synced)).toEqual([
      `${NS}/payments-db`,
      `${NS}/payments-provider`,
      `${NS}/payments-shared`
    ])
    expect(sharedValue()).toBe(ROTATED.STRIPE_API_KEY)
    const patches = kube.requests.filter(({ method }) => method === 'PATCH').map(({ path }) => path)
    expect(patches.sort()).toEqual([
      '/apis/external-secrets.io/v1/clusterexternalsecrets/payments-shared',
      `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/payments-db`,
      `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/payments-provider`
    ])
    const cesPatch = kube.requests.find(({ path }) => path.endsWith('/clusterexternalsecrets/payments-shared'))
    expect(JSON.parse(cesPatch?.body ?? '{}')).toEqual({
      metadata: { annotations: { 'external-secrets.io/force-sync': expect.any(String) as unknown } }
    })
    expect(result.stdout).toContain(
      `Force-synced ${NS}/payments-shared through ClusterExternalSecret "payments-shared" (external-secrets.io/force-sync)`
    )
    expect(result.stdout).toContain(
      '::warning::ClusterExternalSecret "payments-shared" was annotated to force-sync the selected ExternalSecrets it controls; it also provisions namespace payments-stg, outside the selection, whose ExternalSecrets refreshed too'
    )
    expect(findRunLeaks(result, [...Object.values(ROTATED), kube.token])).toEqual([])
  })

  it('needs patch on clusterexternalsecrets at the cluster scope: without it the run fails before any SSM write', async () => {
    await sharedCluster({
      rbac: [
        { verbs: ['list', 'watch', 'patch'], resources: ['externalsecrets'], namespaces: [NS] },
        { verbs: ['list', 'watch'], resources: ['events'], namespaces: [NS] }
      ]
    })
    const result = await run(ROTATED)
    expect(errorOf(result)).toMatch(/\[ZT142\]/)
    expect(errorOf(result)).toContain(
      'may not patch clusterexternalsecrets.external-secrets.io at the cluster scope. Grant verb "patch" on resource "clusterexternalsecrets" (apiGroup "external-secrets.io") to it with a ClusterRole and a ClusterRoleBinding. The selected ExternalSecrets it controls are force-synced through ClusterExternalSecret "payments-shared".'
    )
    expect(harness.proxy.calls).toEqual([])
  })
})
