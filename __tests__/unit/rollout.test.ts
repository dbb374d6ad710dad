import { beforeEach, describe, expect, it } from '@jest/globals'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import { KubeError } from '../../src/k8s/errors.js'
import { rolloutOutputs } from '../../src/rollout/report.js'
import { changedSecrets, readersOf } from '../../src/rollout/plan.js'
import {
  rollOut,
  snapshotWorkloads,
  type RolloutConfig,
  type RolloutOutcome,
  type RolloutReport
} from '../../src/rollout/rollout.js'
import { RolloutWaiter, type RolloutTarget } from '../../src/rollout/wait.js'
import { createRedactor } from '../../src/secrets/redact.js'
import {
  APPS_KINDS,
  RESTARTED_AT,
  WORKLOAD_KINDS,
  type Deployment,
  type Rollout,
  type Workload,
  type WorkloadKind
} from '../../src/workloads/model.js'

/**
 * The rollout phase against the in-memory cluster, on simulated time: the workload controllers
 * are played through `onRestart`, each rollout taking ROLLOUT_MS.
 */

const NS = 'payments-prod'
const ROLLOUT_MS = 4_000

function externalSecret(
  name: string,
  keys: string[],
  { target, find }: { target?: string; find?: string } = {}
): ExternalSecret {
  return {
    metadata: { name, namespace: NS },
    spec: {
      target: target === undefined ? undefined : { name: target },
      data: keys.map((key, index) => ({ secretKey: `K${index}`, remoteRef: { key } })),
      dataFrom: find === undefined ? undefined : [{ find: { path: find } }]
    }
  }
}

/** A workload of `kind` whose pods read `secrets` through envFrom, up to date at generation 1. */
function workload(
  kind: WorkloadKind,
  name: string,
  secrets: string[],
  {
    annotations = {},
    paused = false,
    onDelete = false
  }: { annotations?: Record<string, string>; paused?: boolean; onDelete?: boolean } = {}
): Workload {
  const template = { spec: { containers: [{ envFrom: secrets.map((secret) => ({ secretRef: { name: secret } })) }] } }
  const metadata = { name, namespace: NS, generation: 1, annotations }
  switch (kind) {
    case 'Deployment':
      return {
        kind,
        metadata,
        spec: { replicas: 2, paused, template },
        status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }
      }
    case 'StatefulSet':
      return {
        kind,
        metadata,
        spec: { replicas: 2, updateStrategy: { type: onDelete ? 'OnDelete' : 'RollingUpdate' }, template },
        status: {
          observedGeneration: 1,
          replicas: 2,
          readyReplicas: 2,
          updatedReplicas: 2,
          currentRevision: 'r1',
          updateRevision: 'r1'
        }
      }
    case 'DaemonSet':
      return {
        kind,
        metadata,
        spec: { updateStrategy: { type: onDelete ? 'OnDelete' : 'RollingUpdate' }, template },
        status: { observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 }
      }
    case 'Rollout':
      return {
        kind,
        metadata,
        spec: { replicas: 2, paused, template },
        status: { observedGeneration: '1', phase: 'Healthy', replicas: 2, updatedReplicas: 2, availableReplicas: 2 }
      }
  }
}

/** The status a controller writes once the pods of the current template all run. */
function rolledOut(current: Workload): Workload {
  const generation = current.metadata.generation ?? 0
  switch (current.kind) {
    case 'Deployment':
      return {
        ...current,
        status: { observedGeneration: generation, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }
      }
    case 'StatefulSet':
      return {
        ...current,
        status: {
          observedGeneration: generation,
          replicas: 2,
          readyReplicas: 2,
          updatedReplicas: 2,
          currentRevision: `r${generation}`,
          updateRevision: `r${generation}`
        }
      }
    case 'DaemonSet':
      return {
        ...current,
        status: {
          observedGeneration: generation,
          desiredNumberScheduled: 2,
          updatedNumberScheduled: 2,
          numberAvailable: 2
        }
      }
    case 'Rollout':
      return {
        ...current,
        status: {
          observedGeneration: String(generation),
          phase: 'Healthy',
          replicas: 2,
          updatedReplicas: 2,
          availableReplicas: 2,
          restartedAt: current.spec.restartAt
        }
      }
  }
}

let kube: MemoryKube
let clock: ReturnType<typeof virtualClock>
let log: string[]
beforeEach(() => {
  kube = new MemoryKube()
  clock = virtualClock()
  log = []
  controllers()
})

/** The workload controllers: a restarted workload observes its new generation at once, then rolls out in ROLLOUT_MS (or hits its progress deadline). */
function controllers({ deadline = [] as string[] } = {}): void {
  kube.onRestart = (restarted) => {
    const { kind, metadata } = restarted
    const observed = kube.updateWorkload(kind, NS, metadata.name, (current) => {
      if (current.kind === 'Deployment')
        return {
          ...current,
          status: { ...current.status, observedGeneration: current.metadata.generation, updatedReplicas: 0 }
        }
      // The Rollout controller (CalculateRolloutPhase): Progressing until status.restartedAt equals spec.restartAt.
      if (current.kind === 'Rollout')
        return {
          ...current,
          status: {
            ...current.status,
            observedGeneration: String(current.metadata.generation),
            phase: 'Progressing',
            message: 'rollout is restarting'
          }
        }
      return current
    })
    void clock.sleep(ROLLOUT_MS).then(() =>
      kube.updateWorkload(kind, NS, metadata.name, (current) =>
        deadline.includes(metadata.name) && current.kind === 'Rollout'
          ? {
              ...current,
              status: {
                ...current.status,
                phase: 'Degraded',
                message: `ProgressDeadlineExceeded: ReplicaSet "${metadata.name}-7d9f" has timed out progressing.`
              }
            }
          : deadline.includes(metadata.name) && current.kind === 'Deployment'
            ? {
                ...current,
                status: {
                  ...current.status,
                  conditions: [
                    {
                      type: 'Progressing',
                      status: 'False',
                      reason: 'ProgressDeadlineExceeded',
                      message: `ReplicaSet "${metadata.name}-7d9f" has timed out progressing.`
                    }
                  ]
                }
              }
            : rolledOut(current)
      )
    )
    return observed
  }
}

const config = (restart: 'none' | 'changed' = 'changed', dryRun = false, timeoutMs = 60_000): RolloutConfig => ({
  cluster: { namespaces: [NS] },
  rollout: { restart, timeoutMs },
  dryRun
})
const deps = () => ({ kube, clock, redact: createRedactor([]), log: (line: string) => log.push(line) })
const CHANGED = [{ namespace: NS, name: 'payments-db' }]
/** A cluster with the Argo Rollouts CRD. */
const ALL_KINDS = WORKLOAD_KINDS

/** The phase as the main runs it: the snapshot before the annotation, then the rollout after the sync. */
async function run(
  restart: 'none' | 'changed' = 'changed',
  { dryRun = false, timeoutMs = 60_000, changed = CHANGED } = {}
): Promise<RolloutReport> {
  const snapshot = await snapshotWorkloads(config(restart, dryRun, timeoutMs), ALL_KINDS, deps())
  return clock.run(rollOut(config(restart, dryRun, timeoutMs), snapshot, changed, deps()))
}

/** Per workload: what was done, how it ended, and its rollout time in seconds or why it did not roll out. */
const summary = (report: RolloutReport) =>
  Object.fromEntries(
    report.outcomes.map((outcome: RolloutOutcome) => [
      `${outcome.kind}/${outcome.name}`,
      [outcome.action, outcome.result, outcome.result === 'rolled-out' ? outcome.seconds : outcome.reason]
    ])
  )
const restarts = () => kube.calls.filter(({ verb }) => verb === 'restart').map(({ kind, name }) => `${kind}/${name}`)

describe('what changed', () => {
  const written = new Set(['/zerotouch/prod/payments/database_url', '/zerotouch/prod/payments/queue/url'])

  it('is the Secret of each freshly synced ExternalSecret that reads a parameter this run wrote, by key or under a find path', () => {
    const externalSecrets = [
      externalSecret('db', ['/zerotouch/prod/payments/database_url'], { target: 'payments-db' }),
      externalSecret('queue', [], { find: '/zerotouch/prod/payments/queue' }),
      externalSecret('stripe', ['/zerotouch/prod/payments/stripe_key']),
      externalSecret('not-synced', ['/zerotouch/prod/payments/database_url'])
    ]
    const synced = ['db', 'queue', 'stripe'].map((name) => ({ namespace: NS, name }))
    expect(changedSecrets(externalSecrets, [], synced, written)).toEqual([
      { namespace: NS, name: 'payments-db' },
      { namespace: NS, name: 'queue' }
    ])
  })

  it('names a Secret that two ExternalSecrets write once', () => {
    const both = [
      externalSecret('a', ['/zerotouch/prod/payments/database_url'], { target: 'shared' }),
      externalSecret('b', ['/zerotouch/prod/payments/database_url'], { target: 'shared' })
    ]
    expect(
      changedSecrets(
        both,
        [],
        [
          { namespace: NS, name: 'a' },
          { namespace: NS, name: 'b' }
        ],
        written
      )
    ).toEqual([{ namespace: NS, name: 'shared' }])
  })

  it('picks the readers of a changed Secret of their own namespace, and how each is restarted', () => {
    const readers = readersOf(
      [
        workload('Deployment', 'api', ['payments-db', 'other']),
        workload('Deployment', 'reloaded', ['payments-db'], { annotations: { 'reloader.stakater.com/auto': 'true' } }),
        workload('Deployment', 'paused', ['payments-db'], { paused: true }),
        workload('StatefulSet', 'unrelated', ['other']),
        {
          ...workload('DaemonSet', 'elsewhere', ['payments-db']),
          metadata: { name: 'elsewhere', namespace: 'payments-stg', generation: 1 }
        }
      ],
      CHANGED
    )
    expect(readers.map(({ workload: { metadata }, secrets, handling }) => [metadata.name, secrets, handling])).toEqual([
      ['api', ['payments-db'], 'restart'],
      ['reloaded', ['payments-db'], 'reloader'],
      ['paused', ['payments-db'], 'paused']
    ])
  })
})

describe('restart: changed', () => {
  it('restarts exactly the readers, as kubectl rollout restart does, and returns when each has rolled out', async () => {
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const)
      kube.putWorkload(workload(kind, `${kind.toLowerCase()}-reader`, ['payments-db']))
    kube.putWorkload(workload('Deployment', 'unaffected', ['stripe']))
    const report = await run()
    expect(summary(report)).toEqual({
      'Deployment/deployment-reader': ['restarted', 'rolled-out', 4],
      'StatefulSet/statefulset-reader': ['restarted', 'rolled-out', 4],
      'DaemonSet/daemonset-reader': ['restarted', 'rolled-out', 4]
    })
    expect(restarts().sort()).toEqual([
      'DaemonSet/daemonset-reader',
      'Deployment/deployment-reader',
      'StatefulSet/statefulset-reader'
    ])
    expect(
      kube.getWorkload('Deployment', NS, 'deployment-reader')?.spec.template.metadata?.annotations?.[RESTARTED_AT]
    ).toBe('1970-01-01T00:00:00.000Z')
    expect(kube.getWorkload('Deployment', NS, 'unaffected')?.metadata.generation).toBe(1)
    expect(clock.now()).toBe(ROLLOUT_MS)
    expect(kube.openWatches()).toBe(0)
    expect(rolloutOutputs(report)).toEqual({
      restarted: JSON.stringify([
        `${NS}/DaemonSet/daemonset-reader`,
        `${NS}/Deployment/deployment-reader`,
        `${NS}/StatefulSet/statefulset-reader`
      ])
    })
  })

  it('restarts a workload that kubectl restarted within the same second: the template changes, the pods roll', async () => {
    const api = workload('Deployment', 'api', ['payments-db'])
    const annotated = { metadata: { annotations: { [RESTARTED_AT]: '1970-01-01T00:00:00Z' } } }
    kube.putWorkload({ ...api, spec: { ...api.spec, template: { ...api.spec.template, ...annotated } } })
    expect(summary(await run())).toEqual({ 'Deployment/api': ['restarted', 'rolled-out', 4] })
    expect(kube.getWorkload('Deployment', NS, 'api')?.metadata.generation).toBe(2)
  })

  it('restarts nothing when no workload reads a changed Secret, or nothing changed', async () => {
    kube.putWorkload(workload('Deployment', 'api', ['stripe']))
    expect((await run()).outcomes).toEqual([])
    expect((await run('changed', { changed: [] })).outcomes).toEqual([])
    expect(restarts()).toEqual([])
  })

  it("fails a rollout at once with the controller's message when it exceeds its progress deadline", async () => {
    controllers({ deadline: ['api'] })
    kube.putWorkload(workload('Deployment', 'api', ['payments-db']))
    const report = await run()
    expect(summary(report)).toEqual({
      'Deployment/api': [
        'restarted',
        'failed',
        'deployment "api" exceeded its progress deadline: ReplicaSet "api-7d9f" has timed out progressing.'
      ]
    })
    expect(clock.now()).toBe(ROLLOUT_MS)
  })

  it('names each unfinished rollout with its last status at rollout-timeout', async () => {
    kube.putWorkload(workload('Deployment', 'api', ['payments-db']))
    const report = await run('changed', { timeoutMs: 1_000 })
    expect(summary(report)).toEqual({
      'Deployment/api': [
        'restarted',
        'timed-out',
        'not rolled out within rollout-timeout: Waiting for deployment "api" rollout to finish: 0 out of 2 new replicas have been updated...'
      ]
    })
    expect(clock.now()).toBe(1_000)
  })

  it('does not patch a paused Deployment, fails naming it, and still restarts the others', async () => {
    kube.putWorkload(workload('Deployment', 'paused', ['payments-db'], { paused: true }))
    kube.putWorkload(workload('Deployment', 'api', ['payments-db']))
    const report = await run()
    expect(summary(report)).toEqual({
      'Deployment/api': ['restarted', 'rolled-out', 4],
      'Deployment/paused': ['paused', 'failed', 'paused: resume it or restart it yourself']
    })
    expect(restarts()).toEqual(['Deployment/api'])
  })

  it('restarts an OnDelete StatefulSet but does not wait for pods that only a deletion replaces', async () => {
    kube.putWorkload(workload('StatefulSet', 'db', ['payments-db'], { onDelete: true }))
    kube.onRestart = () => undefined
    const report = await run()
    expect(summary(report)).toEqual({
      'StatefulSet/db': ['restarted', 'not-awaited', 'restarted, not awaited (OnDelete)']
    })
  })

  it('leaves a workload Reloader restarts to Reloader and waits for the rollout it starts', async () => {
    kube.putWorkload(
      workload('Deployment', 'api', ['payments-db'], {
        annotations: { 'secret.reloader.stakater.com/reload': 'payments-db' }
      })
    )
    // Reloader: 1 s after the Secret changed it changes the pod template; the controller rolls it out.
    void clock.sleep(1_000).then(() => {
      const changed = kube.updateWorkload('Deployment', NS, 'api', (current) => ({
        ...current,
        metadata: { ...current.metadata, generation: 2 }
      }))
      kube.onRestart(changed)
    })
    const report = await run()
    expect(summary(report)).toEqual({ 'Deployment/api': ['reloader', 'rolled-out', 5] })
    expect(restarts()).toEqual([])
    expect(rolloutOutputs(report).restarted).toBe(JSON.stringify([`${NS}/Deployment/api`]))
  })

  it('says Reloader did not start a rollout when none began within rollout-timeout', async () => {
    kube.putWorkload(
      workload('Deployment', 'api', ['payments-db'], { annotations: { 'reloader.stakater.com/auto': 'true' } })
    )
    const report = await run('changed', { timeoutMs: 30_000 })
    expect(summary(report)).toEqual({
      'Deployment/api': ['reloader', 'timed-out', 'annotated for Reloader, but no rollout began: is Reloader running?']
    })
  })

  it('retries a restart the API server refused with a conflict, and reports one it refuses for good', async () => {
    kube.putWorkload(workload('Deployment', 'api', ['payments-db']))
    kube.putWorkload(workload('Deployment', 'web', ['payments-db']))
    kube.failNext('restart', new KubeError('conflict', 'patch deployments.apps: conflict (409)', 409))
    kube.failNext(
      'restart',
      new KubeError('forbidden', 'forbidden: may not patch deployments.apps in namespace "payments-prod"', 403)
    )
    const report = await run()
    const results = Object.values(summary(report)).map(([action, result]) => `${action} ${result}`)
    expect(results.sort()).toEqual(['not-patched failed', 'restarted rolled-out'])
  })

  it('keeps waiting through a dropped watch', async () => {
    kube.putWorkload(workload('Deployment', 'api', ['payments-db']))
    void clock.sleep(1_000).then(() => kube.dropWatches())
    expect(summary(await run())).toEqual({ 'Deployment/api': ['restarted', 'rolled-out', 4] })
  })
})

describe('Argo Rollouts', () => {
  const argoRollout = (name: string, secrets: string[], options: { paused?: boolean } = {}): Rollout => {
    const made = workload('Rollout', name, secrets, options)
    if (made.kind !== 'Rollout') throw new Error('the factory makes a Rollout of kind Rollout')
    return made
  }

  it('restarts a Rollout as kubectl argo rollouts restart does (spec.restartAt) and waits until it is Healthy', async () => {
    kube.putWorkload(workload('Rollout', 'api', ['payments-db']))
    kube.putWorkload(workload('Deployment', 'web', ['payments-db']))
    await clock.run(clock.sleep(1_250))
    const report = await run()
    expect(summary(report)).toEqual({
      'Deployment/web': ['restarted', 'rolled-out', 4],
      'Rollout/api': ['restarted', 'rolled-out', 4]
    })
    // Whole seconds, rounded up: every pod created until the patch is older than restartAt.
    expect(kube.getWorkload('Rollout', NS, 'api')?.spec.restartAt).toBe('1970-01-01T00:00:02Z')
    expect(kube.getWorkload('Rollout', NS, 'api')?.metadata.generation).toBe(2)
    expect(rolloutOutputs(report).restarted).toBe(JSON.stringify([`${NS}/Deployment/web`, `${NS}/Rollout/api`]))
  })

  it('fails a Rollout that turns Degraded with the controller’s message', async () => {
    controllers({ deadline: ['api'] })
    kube.putWorkload(workload('Rollout', 'api', ['payments-db']))
    expect(summary(await run())).toEqual({
      'Rollout/api': [
        'restarted',
        'failed',
        'The rollout is in a degraded state with message: ProgressDeadlineExceeded: ReplicaSet "api-7d9f" has timed out progressing.'
      ]
    })
  })

  it('does not restart a paused Rollout (by hand or at a step), and says how to get it going', async () => {
    kube.putWorkload(workload('Rollout', 'held', ['payments-db'], { paused: true }))
    const stepped = argoRollout('canary', ['payments-db'])
    kube.putWorkload({
      ...stepped,
      status: {
        ...stepped.status,
        phase: 'Paused',
        message: 'CanaryPauseStep',
        pauseConditions: [{ reason: 'CanaryPauseStep' }]
      }
    })
    expect(summary(await run())).toEqual({
      'Rollout/canary': [
        'paused',
        'failed',
        'paused (CanaryPauseStep): promote or resume it (kubectl argo rollouts promote), then re-run'
      ],
      'Rollout/held': [
        'paused',
        'failed',
        'paused (manually paused): promote or resume it (kubectl argo rollouts promote), then re-run'
      ]
    })
    expect(restarts()).toEqual([])
  })

  it('reads the template of the Deployment a workloadRef names, restarts the Rollout and leaves the Deployment alone', async () => {
    kube.putWorkload(workload('Deployment', 'api-template', ['payments-db']))
    const { template: _template, ...spec } = argoRollout('api', []).spec
    const rollout = argoRollout('api', [])
    kube.putWorkload({
      ...rollout,
      spec: { ...spec, workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api-template' } }
    })
    expect(summary(await run())).toEqual({ 'Rollout/api': ['restarted', 'rolled-out', 4] })
    expect(restarts()).toEqual(['Rollout/api'])
  })

  it('leaves a Rollout annotated for Reloader to it (Reloader with --is-Argo-Rollouts) and waits for its rollout', async () => {
    const annotated = argoRollout('api', ['payments-db'])
    kube.putWorkload({
      ...annotated,
      metadata: { ...annotated.metadata, annotations: { 'secret.reloader.stakater.com/reload': 'payments-db' } }
    })
    // Reloader's restart strategy (reloader.stakater.com/rollout-strategy: restart): spec.restartAt, a new generation.
    void clock.sleep(1_000).then(() => {
      const changed = kube.updateWorkload('Rollout', NS, 'api', (current) => ({
        ...current,
        metadata: { ...current.metadata, generation: 2 },
        spec: { ...current.spec, restartAt: '1970-01-01T00:00:01Z' }
      }))
      kube.onRestart(changed)
    })
    expect(summary(await run())).toEqual({ 'Rollout/api': ['reloader', 'rolled-out', 5] })
    expect(restarts()).toEqual([])
  })

  it('with restart: none, names a Rollout in the warning as namespace/Rollout/name', async () => {
    kube.putWorkload(workload('Rollout', 'api', ['payments-db']))
    const report = await run('none')
    expect(summary(report)).toEqual({ 'Rollout/api': ['not-restarted', undefined, undefined] })
    expect(restarts()).toEqual([])
  })
})

describe('restart: none, and the dry run', () => {
  it('restart: none names each reader, patches nothing, and confirms no rollout', async () => {
    kube.putWorkload(workload('Deployment', 'api', ['payments-db']))
    const report = await run('none')
    expect(summary(report)).toEqual({ 'Deployment/api': ['not-restarted', undefined, undefined] })
    expect(restarts()).toEqual([])
    expect(rolloutOutputs(report)).toEqual({ restarted: '[]' })
  })

  it('restart: none goes on, with a note, where the identity may not list workloads', async () => {
    kube.failNext(
      'list-workloads',
      new KubeError('forbidden', 'forbidden: may not list deployments.apps in namespace "payments-prod"', 403)
    )
    const report = await run('none')
    expect(report.notes).toEqual([
      'forbidden: may not list deployments.apps in namespace "payments-prod": workloads reading a changed Secret are not looked for there'
    ])
  })

  it('a dry run lists what it would restart and patches nothing', async () => {
    kube.putWorkload(workload('Deployment', 'api', ['payments-db']))
    kube.putWorkload(
      workload('Deployment', 'reloaded', ['payments-db'], { annotations: { 'reloader.stakater.com/auto': 'true' } })
    )
    const report = await run('changed', { dryRun: true })
    expect(summary(report)).toEqual({
      'Deployment/api': ['would-restart', undefined, undefined],
      'Deployment/reloaded': ['reloader', undefined, undefined]
    })
    expect(restarts()).toEqual([])
    expect(rolloutOutputs(report)).toEqual({ restarted: '[]' })
  })
})

describe('the waiter: a deletion ends the wait of that target only', () => {
  const target = (kind: WorkloadKind, name: string, namespace = NS): RolloutTarget => ({
    kind,
    namespace,
    name,
    generation: 2,
    by: 'restart',
    since: 0
  })
  /** `kind` `name` in `namespace` at the restart's generation, as a watch (or its DELETED event) shows it. */
  const seen = (kind: WorkloadKind, name: string, namespace = NS): Workload => {
    const current = workload(kind, name, [])
    return rolledOut({ ...current, metadata: { ...current.metadata, namespace, generation: 2 } })
  }
  const results = (waiter: RolloutWaiter) =>
    Object.fromEntries(
      waiter
        .outcomes()
        .map(({ target, result, reason }) => [`${target.namespace}/${target.kind}/${target.name}`, [result, reason]])
    )
  const API = target('Deployment', 'payments-api')
  const WORKER = target('StatefulSet', 'payments-worker')
  const TARGETS = [API, WORKER]

  it.each([
    ['another Deployment of the namespace', seen('Deployment', 'payments-api-old')],
    ['a workload of another kind with the name of a target', seen('DaemonSet', 'payments-api')],
    ['a target kind and name in another namespace', seen('Deployment', 'payments-api', 'payments-staging')],
    ['a StatefulSet named as the awaited Deployment', seen('StatefulSet', 'payments-api')]
  ])('ignores the deletion of %s: every target keeps waiting and can still roll out', (_, other) => {
    const waiter = new RolloutWaiter(TARGETS)
    waiter.deleted(other, 1_000)
    expect(waiter.settled()).toBe(false)
    waiter.observe(seen('Deployment', 'payments-api'), 2_000)
    waiter.observe(seen('StatefulSet', 'payments-worker'), 3_000)
    expect(waiter.settled()).toBe(true)
    expect(results(waiter)).toEqual({
      [`${NS}/Deployment/payments-api`]: ['rolled-out', undefined],
      [`${NS}/StatefulSet/payments-worker`]: ['rolled-out', undefined]
    })
  })

  it.each([
    { deleted: API, other: WORKER },
    { deleted: WORKER, other: API }
  ])(
    'fails exactly the deleted $deleted.kind; the other target keeps waiting and can still roll out',
    ({ deleted, other }) => {
      const waiter = new RolloutWaiter(TARGETS)
      waiter.deleted(seen(deleted.kind, deleted.name), 1_000)
      expect(waiter.settled()).toBe(false)
      waiter.observe(seen(other.kind, other.name), 2_000)
      expect(waiter.settled()).toBe(true)
      expect(results(waiter)).toEqual({
        [`${NS}/${deleted.kind}/${deleted.name}`]: [
          'failed',
          `${deleted.kind} ${NS}/${deleted.name} was deleted while rolling out`
        ],
        [`${NS}/${other.kind}/${other.name}`]: ['rolled-out', undefined]
      })
      expect(waiter.outcomes().map(({ seconds }) => seconds)).toEqual(
        TARGETS.map((candidate) => (candidate === deleted ? 1 : 2))
      )
    }
  )

  it('leaves a target that already rolled out as it ended when it is deleted afterwards', () => {
    const waiter = new RolloutWaiter(TARGETS)
    waiter.observe(seen('Deployment', 'payments-api'), 2_000)
    waiter.deleted(seen('Deployment', 'payments-api'), 3_000)
    expect(results(waiter)[`${NS}/Deployment/payments-api`]).toEqual(['rolled-out', undefined])
    expect(waiter.settled()).toBe(false)
  })

  it('still ends every wait of the namespace when its watch breaks', () => {
    const waiter = new RolloutWaiter([...TARGETS, target('Deployment', 'payments-api', 'payments-staging')])
    waiter.failWaiting('could not watch its rollout: forbidden', 1_000, NS)
    expect(results(waiter)).toEqual({
      [`${NS}/Deployment/payments-api`]: ['failed', 'could not watch its rollout: forbidden'],
      [`${NS}/StatefulSet/payments-worker`]: ['failed', 'could not watch its rollout: forbidden'],
      ['payments-staging/Deployment/payments-api']: ['timed-out', undefined]
    })
  })
})

describe('the snapshot', () => {
  it('lists every kind in every namespace once, before the annotation', async () => {
    const snapshot = await snapshotWorkloads(
      { ...config(), cluster: { namespaces: [NS, 'payments-jobs'] } },
      APPS_KINDS,
      deps()
    )
    expect(snapshot.lists.map(({ kind, namespace }) => `${namespace}/${kind}`)).toEqual([
      `${NS}/Deployment`,
      `${NS}/StatefulSet`,
      `${NS}/DaemonSet`,
      'payments-jobs/Deployment',
      'payments-jobs/StatefulSet',
      'payments-jobs/DaemonSet'
    ])
  })

  it('lists Rollouts too where the cluster serves them', async () => {
    const snapshot = await snapshotWorkloads(config(), ALL_KINDS, deps())
    expect(snapshot.lists.map(({ kind }) => kind)).toEqual(['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'])
  })

  it('with restart: changed, fails on a list the cluster refuses, before anything is annotated', async () => {
    kube.failNext(
      'list-workloads',
      new KubeError('forbidden', 'forbidden: may not list deployments.apps in namespace "payments-prod"', 403)
    )
    await expect(snapshotWorkloads(config(), APPS_KINDS, deps())).rejects.toThrow(
      /^Nothing was annotated: forbidden: may not list deployments\.apps/
    )
  })
})

// Keep the builder honest: a Deployment as written here is one the status rules call done.
it('builds workloads that are rolled out as written', () => {
  const deployment = workload('Deployment', 'x', []) as Deployment
  expect(rolledOut(deployment)).toEqual(deployment)
})
