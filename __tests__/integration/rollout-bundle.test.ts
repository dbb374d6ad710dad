/**
 * The rollout through the bundled action, as the runner runs it, against the project's test API server:
 * its External Secrets operator writes the Secrets from moto, its workload controllers roll pods out,
 * and each pod records the Secret data it read when it started. After the action returns, every running
 * pod of a workload reading a changed Secret started with the new values, and no other was touched; a re-run after
 * a failed rollout finishes it.
 */
import { describe, expect, it } from '@jest/globals'
import { errorOf, type ActionRun } from '../../testing/action.ts'
import type { KubeApiServer, KubeApiServerOptions } from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import {
  deployment,
  firstRelease,
  NS,
  paymentsCluster,
  readByPods as podsRead,
  release,
  restartPatches as patchesOf,
  ROTATED,
  SECRETS
} from '../../__fixtures__/rollout-harness.ts'
import { useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { until } from '../../__fixtures__/until.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const harness = useSsmBehindProxy()
const cluster = useTestCluster()

const run = (secrets: Record<string, string>, extra: Record<string, string> = {}): Promise<ActionRun> =>
  release(harness, cluster.current, secrets, extra)
const restartPatches = (): string[] => patchesOf(cluster.current)
const readByPods = (name: string, secret: string, key: string): unknown[] =>
  podsRead(cluster.current, name, secret, key)

/** The first release: the values pushed, the Secrets written, the pods started with them. */
async function released(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const kube = cluster.track(await paymentsCluster(harness, [], options))
  await firstRelease(harness, kube, [
    deployment('payments-api', 'payments-provider'),
    deployment('payments-migrator', 'payments-db', { key: 'DATABASE_URL' }),
    deployment('billing', 'billing-secrets')
  ])
  kube.clearRequests()
  harness.proxy.calls.length = 0
  return kube
}

describe('restart: changed', () => {
  it('restarts only the workloads reading the changed Secret; every pod they run started with the new value', async () => {
    const kube = await released()
    expect(readByPods('payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      SECRETS.STRIPE_API_KEY,
      SECRETS.STRIPE_API_KEY
    ])
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toBe('')
    expect(JSON.parse(result.outputs.restarted)).toEqual([`${NS}/Deployment/payments-api`])
    expect(restartPatches()).toEqual(['payments-api'])
    expect(readByPods('payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
    expect(readByPods('payments-migrator', 'payments-db', 'DATABASE_URL')).toEqual([
      SECRETS.DATABASE_URL,
      SECRETS.DATABASE_URL
    ])
    expect(result.summary).toMatch(/Workloads on old Secret data/)
    expect(findRunLeaks(result, [...Object.values(ROTATED), kube.token])).toEqual([])
  })

  it('restarts nothing on an unchanged re-run', async () => {
    await released()
    const result = await run(SECRETS, { restart: 'changed' })
    expect(errorOf(result)).toBe('')
    expect(result.outputs.restarted).toBe('[]')
    expect(restartPatches()).toEqual([])
  })

  it('waits per target: the deletion of another Deployment of the namespace mid-rollout fails nothing', async () => {
    const kube = await released()
    // The controllers hold every rollout from the start, so the deletion lands while payments-api is still awaited.
    kube.controllers.pause()
    const running = run(ROTATED, { restart: 'changed' })
    await until(() => restartPatches().includes('payments-api'))
    // Argo pruning a renamed Deployment: payments-migrator reads no changed Secret.
    expect(kube.delete('Deployment', NS, 'payments-migrator')).toBeDefined()
    kube.controllers.resume()
    const result = await running
    expect(errorOf(result)).toBe('')
    expect(JSON.parse(result.outputs.restarted)).toEqual([`${NS}/Deployment/payments-api`])
    expect(restartPatches()).toEqual(['payments-api'])
    expect(readByPods('payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
  })

  it("fails the step with the controller's message when a rollout exceeds its progress deadline", async () => {
    const kube = await released()
    kube.apply(deployment('payments-api', 'payments-provider', { progressDeadlineSeconds: 20 }))
    await kube.controllers.idle()
    kube.controllers.failPods(NS, 'payments-api')
    const result = await run(ROTATED, { restart: 'changed' })
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toMatch(/\[ZT160\]/)
    expect(errorOf(result)).toMatch(
      /payments-prod\/Deployment\/payments-api \(restarted, failed\): deployment "payments-api" exceeded its progress deadline: ReplicaSet "payments-api-[a-z0-9]+" has timed out progressing\./
    )
    expect(result.outputs.restarted).toBe('[]')
  })

  it('fails before any SSM write when the identity may not patch deployments', async () => {
    await released({
      rbac: [
        { verbs: ['list', 'watch', 'patch'], resources: ['externalsecrets', 'events'] },
        { verbs: ['list', 'watch'], resources: ['deployments', 'statefulsets', 'daemonsets'] },
        { verbs: ['patch'], resources: ['statefulsets', 'daemonsets'] },
        { verbs: ['get'], resources: ['clustersecretstores'] },
        { verbs: ['list'], resources: ['pods'] },
        { verbs: ['get'], resources: ['secrets'] }
      ]
    })
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toMatch(/\[ZT142\]/)
    expect(errorOf(result)).toMatch(/may not patch deployments\.apps in namespace "payments-prod"/)
    expect(harness.proxy.calls).toEqual([])
    expect(restartPatches()).toEqual([])
  })
})

describe('re-runs converge', () => {
  it('a release that failed on a paused Deployment (ZT160), re-run once it is resumed, restarts it, awaits it and goes green', async () => {
    const kube = await released()
    // kubectl rollout pause
    kube.apply(deployment('payments-api', 'payments-provider', { paused: true }))
    await kube.controllers.idle()
    const failed = await run(ROTATED, { restart: 'changed' })
    expect(failed.exitCode).not.toBe(0)
    expect(errorOf(failed)).toMatch(/\[ZT160\]/)
    expect(errorOf(failed)).toContain(
      `${NS}/Deployment/payments-api (paused, failed): paused: resume it, then re-run (or restart it yourself)`
    )
    expect(errorOf(failed)).toContain('a re-run restarts every workload still on old data')
    expect(failed.outputs.restarted).toBe('[]')
    expect(readByPods('payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      SECRETS.STRIPE_API_KEY,
      SECRETS.STRIPE_API_KEY
    ])

    // kubectl rollout resume, then "Re-run failed jobs": the same secrets, nothing left to write.
    kube.apply(deployment('payments-api', 'payments-provider'))
    await kube.controllers.idle()
    kube.clearRequests()
    harness.proxy.calls.length = 0
    const rerun = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(rerun)).toBe('')
    expect(rerun.exitCode).toBe(0)
    expect(JSON.parse(rerun.outputs.changed)).toBe(false)
    expect(harness.proxy.calls.filter(({ operation }) => operation === 'PutParameter')).toEqual([])
    expect(JSON.parse(rerun.outputs.restarted)).toEqual([`${NS}/Deployment/payments-api`])
    expect(restartPatches()).toEqual(['payments-api'])
    expect(rerun.stdout).toMatch(
      /restarted, rolled out\s+payments-prod\/Deployment\/payments-api \(reads payments-provider\) in /
    )
    expect(readByPods('payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
    // The Secret was read as metadata only: no value reached the action.
    const secretReads = kube.requests.filter(({ path }) => path.startsWith(`/api/v1/namespaces/${NS}/secrets/`))
    expect(secretReads.length).toBeGreaterThan(0)
    expect(secretReads.every(({ accept }) => accept?.startsWith('application/json;as=PartialObjectMetadata'))).toBe(
      true
    )
    expect(findRunLeaks(rerun, [...Object.values(ROTATED), kube.token])).toEqual([])

    // Once more: every pod runs the current data, nothing is restarted.
    kube.clearRequests()
    const again = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(again)).toBe('')
    expect(again.outputs.restarted).toBe('[]')
    expect(restartPatches()).toEqual([])
    expect(again.stdout).toContain('Every workload reading a synced Secret runs its current data.')
  })

  it('a release whose rollout hit its progress deadline, re-run once the pods can start, finds them current and goes green', async () => {
    const kube = await released()
    kube.apply(deployment('payments-api', 'payments-provider', { progressDeadlineSeconds: 20 }))
    await kube.controllers.idle()
    kube.controllers.failPods(NS, 'payments-api')
    const failed = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(failed)).toMatch(/\[ZT160\]/)
    // The cause fixed, the Deployment controller finishes the rollout the restart began: its new pods read the data.
    kube.controllers.clearFailure(NS, 'payments-api')
    await kube.controllers.idle()
    kube.clearRequests()
    const rerun = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(rerun)).toBe('')
    expect(rerun.outputs.restarted).toBe('[]')
    expect(restartPatches()).toEqual([])
    expect(readByPods('payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
  })
})

describe('restart: none', () => {
  it('warns naming each workload still on the old values and the Secret, and patches nothing', async () => {
    await released()
    const result = await run(ROTATED)
    expect(errorOf(result)).toBe('')
    expect(result.stdout).toContain(
      `::warning::${NS}/Deployment/payments-api reads Secret payments-provider: its pods started before the current data and run the old values until they restart`
    )
    expect(result.outputs.restarted).toBe('[]')
    expect(restartPatches()).toEqual([])
    expect(readByPods('payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      SECRETS.STRIPE_API_KEY,
      SECRETS.STRIPE_API_KEY
    ])
  })
})
