/**
 * Argo Rollouts through the bundled action, against the test API server with the Rollout CRD and controller
 * (testing/kube/controllers.ts, after argoproj/argo-rollouts rollout/restart.go): a Rollout reading a changed Secret
 * is restarted as `kubectl argo rollouts restart` does (spec.restartAt), awaited by its own status, reported as
 * `namespace/Rollout/name`; its failures are ZT160 with the controller's message; its permissions are checked before
 * anything is written, and only where the CRD is served.
 */
import { describe, expect, it } from '@jest/globals'
import { errorOf, type ActionRun } from '../../testing/action.ts'
import type { KubeApiServer, KubeApiServerOptions } from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import {
  argoRollout,
  deployment,
  firstRelease,
  NS,
  paymentsCluster,
  readByPods,
  release,
  restartPatches,
  ROTATED,
  SECRETS
} from '../../__fixtures__/rollout-harness.ts'
import { useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const harness = useSsmBehindProxy()
const cluster = useTestCluster()

const run = (secrets: Record<string, string>, extra: Record<string, string> = {}): Promise<ActionRun> =>
  release(harness, cluster.current, secrets, extra)
const stripeKeysRead = (name: string) =>
  readByPods(cluster.current, name, 'payments-provider', 'STRIPE_API_KEY', 'Rollout')

/**
 * The first release, then a Rollout reading payments-provider (and one reading payments-db) and a Deployment
 * deployed after the data (their pods run it), settled.
 */
async function released(
  rollout: ReturnType<typeof argoRollout> = argoRollout('payments-worker', 'payments-provider'),
  options: KubeApiServerOptions = {}
): Promise<KubeApiServer> {
  const kube = cluster.track(await paymentsCluster(harness, [], { argoRollouts: true, ...options }))
  await firstRelease(harness, kube, [
    rollout,
    argoRollout('payments-ledger', 'payments-db'),
    deployment('payments-api', 'payments-provider')
  ])
  kube.clearRequests()
  harness.proxy.calls.length = 0
  return kube
}

describe('a Rollout reading a changed Secret', () => {
  it('is restarted through spec.restartAt and awaited until Healthy; every pod it runs has the new value', async () => {
    const kube = await released()
    expect(stripeKeysRead('payments-worker')).toEqual([SECRETS.STRIPE_API_KEY, SECRETS.STRIPE_API_KEY])
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toBe('')
    expect(JSON.parse(result.outputs.restarted)).toEqual([
      `${NS}/Deployment/payments-api`,
      `${NS}/Rollout/payments-worker`
    ])
    expect(restartPatches(kube).sort()).toEqual(['payments-api', 'payments-worker'])
    // What `kubectl argo rollouts restart` sends: a JSON merge patch of spec.restartAt, whole seconds.
    const patch = kube.requests.find(
      ({ method, path }) => method === 'PATCH' && path.endsWith('/rollouts/payments-worker')
    )
    expect(patch?.contentType).toBe('application/merge-patch+json')
    expect(JSON.parse(patch?.body ?? '')).toEqual({
      spec: { restartAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) as unknown }
    })
    expect(kube.get('Rollout', NS, 'payments-worker')?.status).toMatchObject({
      phase: 'Healthy',
      restartedAt: (JSON.parse(patch?.body ?? '{}') as { spec: { restartAt: string } }).spec.restartAt
    })
    expect(stripeKeysRead('payments-worker')).toEqual([ROTATED.STRIPE_API_KEY, ROTATED.STRIPE_API_KEY])
    // The Rollout reading an unchanged Secret is not touched.
    expect(kube.get('Rollout', NS, 'payments-ledger')?.metadata.generation).toBe(1)
    expect(result.summary).toMatch(new RegExp(`${NS}/Rollout/payments-worker`))
    expect(findRunLeaks(result, [...Object.values(ROTATED), kube.token])).toEqual([])
  })

  it('with restart: none, is named in a warning as namespace/Rollout/name and not patched', async () => {
    const kube = await released()
    const result = await run(ROTATED)
    expect(errorOf(result)).toBe('')
    expect(result.stdout).toContain(
      `::warning::${NS}/Rollout/payments-worker reads Secret payments-provider: its pods started before the current data and run the old values until they restart (restart: changed restarts them and waits for the rollout)`
    )
    expect(restartPatches(kube)).toEqual([])
    expect(stripeKeysRead('payments-worker')).toEqual([SECRETS.STRIPE_API_KEY, SECRETS.STRIPE_API_KEY])
  })

  it("fails the step (ZT160) with the controller's message when it turns Degraded", async () => {
    const kube = await released(argoRollout('payments-worker', 'payments-provider', { progressDeadlineSeconds: 20 }))
    kube.controllers.failPods(NS, 'payments-worker')
    const result = await run(ROTATED, { restart: 'changed' })
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toMatch(/\[ZT160\]/)
    expect(errorOf(result)).toMatch(
      /payments-prod\/Rollout\/payments-worker \(restarted, failed\): The rollout is in a degraded state with message: ProgressDeadlineExceeded: ReplicaSet "payments-worker-[a-z0-9]+" has timed out progressing\./
    )
    expect(JSON.parse(result.outputs.restarted)).toEqual([`${NS}/Deployment/payments-api`])
  })

  it('is not restarted when paused, and fails the step naming it and how to get it going', async () => {
    const kube = await released(argoRollout('payments-worker', 'payments-provider', { paused: true }))
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toMatch(/\[ZT160\]/)
    expect(errorOf(result)).toContain(
      `${NS}/Rollout/payments-worker (paused, failed): paused (manually paused): promote or resume it (kubectl argo rollouts promote), then re-run`
    )
    expect(restartPatches(kube)).toEqual(['payments-api'])
  })
})

describe('a Rollout with a workloadRef', () => {
  it("reads the referenced Deployment's template: the Rollout is restarted, the Deployment is not touched", async () => {
    const template = {
      ...deployment('payments-worker-template', 'payments-provider'),
      spec: { ...deployment('payments-worker-template', 'payments-provider').spec, replicas: 0 }
    }
    const { template: _own, ...spec } = argoRollout('payments-worker', 'payments-provider').spec
    const referencing = {
      ...argoRollout('payments-worker', 'payments-provider'),
      // As Argo's docs write it: the Rollout's selector matches the referenced template's labels.
      spec: {
        ...spec,
        selector: template.spec.selector,
        workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'payments-worker-template' }
      }
    }
    const kube = cluster.track(await paymentsCluster(harness, [], { argoRollouts: true }))
    await firstRelease(harness, kube, [template, referencing])
    expect(stripeKeysRead('payments-worker')).toEqual([SECRETS.STRIPE_API_KEY, SECRETS.STRIPE_API_KEY])
    kube.clearRequests()
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toBe('')
    expect(JSON.parse(result.outputs.restarted)).toEqual([`${NS}/Rollout/payments-worker`])
    expect(restartPatches(kube)).toEqual(['payments-worker'])
    expect(kube.get('Deployment', NS, 'payments-worker-template')?.metadata.generation).toBe(1)
    expect(stripeKeysRead('payments-worker')).toEqual([ROTATED.STRIPE_API_KEY, ROTATED.STRIPE_API_KEY])
  })
})

describe('the pre-flight', () => {
  it('checks patch on rollouts.argoproj.io where the CRD is served, before any SSM write', async () => {
    const rbac = [
      { verbs: ['list', 'watch', 'patch'], resources: ['externalsecrets', 'events'] },
      { verbs: ['list', 'watch', 'patch'], resources: ['deployments', 'statefulsets', 'daemonsets'] },
      { verbs: ['list', 'watch'], apiGroups: ['argoproj.io'], resources: ['rollouts'] },
      { verbs: ['get'], resources: ['clustersecretstores', 'secrets'] },
      { verbs: ['list'], resources: ['pods'] }
    ]
    const kube = await released(undefined, { rbac })
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toMatch(/\[ZT142\]/)
    expect(errorOf(result)).toMatch(/may not patch rollouts\.argoproj\.io in namespace "payments-prod"/)
    expect(harness.proxy.calls).toEqual([])
    expect(restartPatches(kube)).toEqual([])
  })

  it('asks nothing about rollouts where the CRD is not installed', async () => {
    const kube = cluster.track(
      await paymentsCluster(harness, [], {
        rbac: [
          { verbs: ['list', 'watch', 'patch'], resources: ['externalsecrets', 'events'] },
          { verbs: ['list', 'watch', 'patch'], resources: ['deployments', 'statefulsets', 'daemonsets'] },
          { verbs: ['get'], resources: ['clustersecretstores', 'secrets'] },
          { verbs: ['list'], resources: ['pods'] }
        ]
      })
    )
    await firstRelease(harness, kube, [deployment('payments-api', 'payments-provider')])
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toBe('')
    expect(JSON.parse(result.outputs.restarted)).toEqual([`${NS}/Deployment/payments-api`])
    expect(kube.requests.some(({ path }) => path.includes('/apis/argoproj.io/v1alpha1/namespaces'))).toBe(false)
  })
})
