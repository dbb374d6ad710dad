/**
 * stakater/Reloader and `restart: changed`, through the bundled action, against the project's test API server
 * with its Reloader simulation (testing/kube/reloader.ts): a workload Reloader restarts for a changed Secret is not
 * patched by the action, which waits for the rollout Reloader starts and lists it in `restarted`; without Reloader
 * running, that wait ends at rollout-timeout with ZT160, and nothing was patched.
 *
 * How the two restarts are told apart: the action's is an HTTP PATCH (in the request log) that sets the template
 * annotation `kubectl.kubernetes.io/restartedAt`; Reloader's is a write of the simulation to the store (not in the
 * request log, recorded in `kube.reloader.reloads`) that sets the env var `STAKATER_<SECRET>_SECRET` to the SHA1 of
 * the Secret's data.
 */
import { describe, expect, it } from '@jest/globals'
import { errorOf, type ActionRun } from '../../testing/action.ts'
import {
  reloaderEnvVarName,
  reloaderSecretSha,
  type KubeApiServer,
  type KubeApiServerOptions
} from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import {
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
import { until } from '../../__fixtures__/until.ts'
import { RESTARTED_AT } from '../../src/workloads/model.js'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const ENV_VAR = reloaderEnvVarName('payments-provider')

const harness = useSsmBehindProxy()
const cluster = useTestCluster()

/**
 * payments-api: annotated for Reloader, reads the Secret the second release changes; payments-migrator reads a
 * Secret that stays the same; with `worker`, payments-worker reads the changed Secret without the annotation (the
 * action restarts it).
 */
async function released(options: KubeApiServerOptions, { worker }: { worker: boolean }): Promise<KubeApiServer> {
  const kube = cluster.track(await paymentsCluster(harness, [], options))
  await firstRelease(harness, kube, [
    deployment('payments-api', 'payments-provider', { annotations: { 'reloader.stakater.com/auto': 'true' } }),
    deployment('payments-migrator', 'payments-db'),
    ...(worker ? [deployment('payments-worker', 'payments-provider')] : [])
  ])
  if (options.reloader) {
    // The Secrets were created by this first release: Reloader does nothing on a creation.
    await kube.reloader.idle()
    expect(kube.reloader.reloads).toEqual([])
  }
  expect(readByPods(kube, 'payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
    SECRETS.STRIPE_API_KEY,
    SECRETS.STRIPE_API_KEY
  ])
  kube.clearRequests()
  harness.proxy.calls.length = 0
  return kube
}

const run = (secrets: Record<string, string>, extra: Record<string, string> = {}): Promise<ActionRun> =>
  release(harness, cluster.current, secrets, extra)
/** The workloads the action PATCHed. */
const patched = (): string[] => restartPatches(cluster.current)

interface Template {
  metadata?: { annotations?: Record<string, string> }
  spec: { containers: { env?: { name: string; value?: string }[] }[] }
}
const templateOf = (name: string): Template =>
  (cluster.current.get('Deployment', NS, name)!.spec as { template: Template }).template
/** The two marks a restart leaves on the template: the action's annotation, Reloader's env var. */
const marks = (name: string) => ({
  restartedAt: templateOf(name).metadata?.annotations?.[RESTARTED_AT],
  reloaderEnv: templateOf(name).spec.containers[0].env?.find((variable) => variable.name === ENV_VAR)?.value
})

describe('restart: changed with stakater/Reloader', () => {
  it('leaves the annotated Deployment to Reloader, waits for its rollout, and lists it in restarted; its pods start with the new value', async () => {
    // More than a second after the data: Reloader's pods start in a later second whenever the run lists the workloads.
    const kube = await released({ reloader: true, reloaderDelayMs: 1_100 }, { worker: true })
    const generation = kube.get('Deployment', NS, 'payments-api')!.metadata.generation
    const startedAt = Date.now()
    const result = await run(ROTATED, { restart: 'changed' })
    const elapsedMs = Date.now() - startedAt
    expect(errorOf(result)).toBe('')
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.outputs.restarted)).toEqual([
      `${NS}/Deployment/payments-api`,
      `${NS}/Deployment/payments-worker`
    ])

    // The action patched the workload without the annotation only; Reloader changed the annotated one, once.
    expect(patched()).toEqual(['payments-worker'])
    const sha = reloaderSecretSha(kube.get('Secret', NS, 'payments-provider')!.data)
    expect(
      kube.reloader.reloads.map(({ kind, name, secret, envVar, sha: value }) => ({
        kind,
        name,
        secret,
        envVar,
        value
      }))
    ).toEqual([
      {
        kind: 'Deployment',
        name: 'payments-api',
        secret: 'payments-provider',
        envVar: 'STAKATER_PAYMENTS_PROVIDER_SECRET',
        value: sha
      }
    ])
    expect(marks('payments-api')).toEqual({ restartedAt: undefined, reloaderEnv: sha })
    expect(marks('payments-worker')).toEqual({ restartedAt: expect.any(String), reloaderEnv: undefined })
    expect(kube.get('Deployment', NS, 'payments-api')!.metadata.generation).toBe((generation ?? 0) + 1)

    // It returned once Reloader's rollout was complete: every running pod started with the new value.
    expect(readByPods(kube, 'payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
    expect(readByPods(kube, 'payments-worker', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
    const rollout = kube.controllers.rollouts.find(
      ({ name, startedAt: at }) => name === 'payments-api' && at >= kube.reloader.reloads[0].at
    )
    expect(rollout).toMatchObject({ outcome: 'complete' })
    expect(rollout!.finishedAt).toBeLessThanOrEqual(startedAt + elapsedMs)
    expect(kube.controllers.podsOf('Deployment', NS, 'payments-migrator')).toHaveLength(2)
    expect(result.stdout).toMatch(
      /left to Reloader, rolled out\s+payments-prod\/Deployment\/payments-api \(reads payments-provider\) in /
    )
    expect(result.stdout).toMatch(
      /restarted, rolled out\s+payments-prod\/Deployment\/payments-worker \(reads payments-provider\) in /
    )
    expect(findRunLeaks(result, [...Object.values(ROTATED), kube.token])).toEqual([])
  })

  it('fails at rollout-timeout with ZT160 when Reloader is not running, having patched nothing', async () => {
    const kube = await released({}, { worker: false })
    const generation = kube.get('Deployment', NS, 'payments-api')!.metadata.generation
    const startedAt = Date.now()
    const result = await run(ROTATED, { restart: 'changed', 'rollout-timeout': '3s' })
    const elapsedMs = Date.now() - startedAt
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toMatch(/\[ZT160\]/)
    expect(errorOf(result)).toContain(
      `${NS}/Deployment/payments-api (left to Reloader, timed out): left to Reloader, but no rollout began: is Reloader running?`
    )
    expect(elapsedMs).toBeGreaterThanOrEqual(3000)
    expect(result.outputs.restarted).toBe('[]')

    // The Secret is synced, but nothing restarted the pods: no patch, no template change, the old value running.
    expect(patched()).toEqual([])
    // Its only writes: the force-sync annotations on the ExternalSecrets.
    const writes = kube.requests.filter(({ method }) => !['GET', 'POST'].includes(method))
    expect(writes.length).toBeGreaterThan(0)
    expect(
      writes.filter(
        ({ method, path }) =>
          method !== 'PATCH' || !path.startsWith(`/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets/`)
      )
    ).toEqual([])
    expect(
      Buffer.from(
        (kube.get('Secret', NS, 'payments-provider')!.data as Record<string, string>).STRIPE_API_KEY,
        'base64'
      ).toString('utf8')
    ).toBe(ROTATED.STRIPE_API_KEY)
    expect(kube.get('Deployment', NS, 'payments-api')!.metadata.generation).toBe(generation)
    expect(marks('payments-api')).toEqual({ restartedAt: undefined, reloaderEnv: undefined })
    expect(readByPods(kube, 'payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      SECRETS.STRIPE_API_KEY,
      SECRETS.STRIPE_API_KEY
    ])
  })

  /**
   * Holds the run at its first SSM read after the push wrote (the sync phase checking the references, before it
   * annotates) while `meanwhile` plays what happens in the cluster at that moment.
   */
  const afterThePush = (meanwhile: () => Promise<void>): void => {
    let held = false
    harness.proxy.hold = (call) => {
      const pushed = harness.proxy.calls.some(({ operation }) => operation === 'PutParameter')
      if (held || !pushed || call.operation === 'PutParameter') return undefined
      held = true
      return meanwhile()
    }
  }

  it('counts the rollout Reloader made when ESO picked up the new value before the force-sync', async () => {
    // Reloader acts more than a second after the data: its pods start in a later second (src/workloads/current.ts).
    const kube = await released({ reloader: true, reloaderDelayMs: 1_100 }, { worker: false })
    afterThePush(async () => {
      // ESO reconciles on its own (here: a label change; a short refreshInterval does the same) and writes the data.
      const es = kube.get('ExternalSecret', NS, 'payments-provider')!
      kube.apply({
        ...es,
        metadata: { ...es.metadata, labels: { ...es.metadata.labels, team: 'payments' } }
      })
      await until(() => kube.reloader.reloads.length > 0)
      await kube.controllers.idle()
    })
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toBe('')
    expect(result.exitCode).toBe(0)
    // Reloader's rollout brought the new value before the rollout phase looked: nothing to restart, nothing to wait for.
    expect(patched()).toEqual([])
    expect(kube.reloader.reloads).toHaveLength(1)
    expect(result.stdout).toContain('Every workload reading a synced Secret runs its current data.')
    expect(readByPods(kube, 'payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
    expect(findRunLeaks(result, [...Object.values(ROTATED), kube.token])).toEqual([])
  })

  it("does not count a template change that is not Reloader's: a new image rolled out before the data, the run waits for Reloader", async () => {
    const kube = await released({ reloader: true, reloaderDelayMs: 2_000 }, { worker: false })
    afterThePush(async () => {
      // A new image, rolled out while the run checks the references: a generation past any taken before the sync.
      const api = deployment('payments-api', 'payments-provider', {
        annotations: { 'reloader.stakater.com/auto': 'true' }
      })
      api.spec.template.spec.containers[0].image = 'app:2'
      kube.apply(api)
      await kube.controllers.idle()
      // ESO writes the data after the annotation, in a later second than these pods started.
      const nextSecond = Math.floor(Date.now() / 1_000) * 1_000 + 1_000
      await until(() => Date.now() >= nextSecond)
    })
    const result = await run(ROTATED, { restart: 'changed' })
    expect(errorOf(result)).toBe('')
    expect(patched()).toEqual([])
    expect(kube.reloader.reloads).toHaveLength(1)
    expect(result.stdout).toMatch(
      /left to Reloader, rolled out\s+payments-prod\/Deployment\/payments-api \(reads payments-provider\) in /
    )
    expect(JSON.parse(result.outputs.restarted)).toEqual([`${NS}/Deployment/payments-api`])
    // It returned once Reloader's rollout was done: every running pod started with the new value, on the new image.
    expect(readByPods(kube, 'payments-api', 'payments-provider', 'STRIPE_API_KEY')).toEqual([
      ROTATED.STRIPE_API_KEY,
      ROTATED.STRIPE_API_KEY
    ])
  })
})
