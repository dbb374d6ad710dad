import { beforeEach, describe, expect, it } from '@jest/globals'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import { KubeError } from '../../src/k8s/errors.js'
import { rolloutOutputs } from '../../src/rollout/report.js'
import { behind, changedSecrets, handlingOf, readersOf, syncedSecrets } from '../../src/workloads/plan.js'
import { rollOut, type RolloutConfig, type RolloutOutcome, type RolloutReport } from '../../src/rollout/rollout.js'
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
 * are played through `onRestart`, each rollout taking ROLLOUT_MS and leaving pods started at its end. ESO wrote the
 * data of Secret payments-db at 0 s; the workloads' pods started long before (STALE) unless a test says otherwise.
 */

const NS = 'payments-prod'
const ROLLOUT_MS = 4_000
const STALE = -100_000
const DB_PARAMETER = '/zerotouch/prod/payments/database_url'

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
  const selector = { matchLabels: { app: name } }
  switch (kind) {
    case 'Deployment':
      return {
        kind,
        metadata,
        spec: { replicas: 2, paused, selector, template },
        status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }
      }
    case 'StatefulSet':
      return {
        kind,
        metadata,
        spec: { replicas: 2, updateStrategy: { type: onDelete ? 'OnDelete' : 'RollingUpdate' }, selector, template },
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
        spec: { updateStrategy: { type: onDelete ? 'OnDelete' : 'RollingUpdate' }, selector, template },
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

/** Two pods of the workload, started at `at` (ms), with its pod template's annotations. */
function startPods(current: Workload, at: number): void {
  const annotations = current.spec.template?.metadata?.annotations
  kube.setPods(
    NS,
    current.metadata.name,
    [0, 1].map((index) => ({
      metadata: { name: `${current.metadata.name}-${index}`, ...(annotations ? { annotations } : {}) },
      status: { phase: 'Running', startTime: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') }
    }))
  )
}

/** The workload, with its pods started at `startedAt`. */
function put(current: Workload, startedAt = STALE): void {
  kube.putWorkload(current)
  startPods(current, startedAt)
}

let kube: MemoryKube
let clock: ReturnType<typeof virtualClock>
let log: string[]
beforeEach(() => {
  kube = new MemoryKube()
  clock = virtualClock()
  log = []
  kube.writeSecretData(NS, 'payments-db', 0)
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
    void clock
      .sleep(ROLLOUT_MS)
      .then(() =>
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
      .then((rolled) => startPods(rolled, clock.now()))
    return observed
  }
}

const config = (restart: 'none' | 'changed' = 'changed', dryRun = false, timeoutMs = 60_000): RolloutConfig => ({
  rollout: { restart, timeoutMs },
  dryRun
})
const deps = () => ({ kube, clock, redact: createRedactor([]), log: (line: string) => log.push(line) })
const DB = externalSecret('db', [DB_PARAMETER], { target: 'payments-db' })
const CHANGED = [{ namespace: NS, name: 'payments-db' }]
/** A cluster with the Argo Rollouts CRD. */
const ALL_KINDS = WORKLOAD_KINDS

/** The phase as the main runs it, after the sync confirmed ExternalSecret db fresh; this run wrote `written`. */
async function run(
  restart: 'none' | 'changed' = 'changed',
  { dryRun = false, timeoutMs = 60_000, written = [DB_PARAMETER] } = {}
): Promise<RolloutReport> {
  return clock.run(
    rollOut(
      config(restart, dryRun, timeoutMs),
      {
        externalSecrets: [DB],
        stores: [],
        synced: [{ namespace: NS, name: 'db' }],
        written: new Set(written),
        workloadKinds: ALL_KINDS
      },
      deps()
    )
  )
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

  it('is every Secret of a freshly synced ExternalSecret, once, for the rule by data', () => {
    const externalSecrets = [
      externalSecret('a', ['/zerotouch/prod/payments/database_url'], { target: 'shared' }),
      externalSecret('b', ['/zerotouch/prod/payments/stripe_key'], { target: 'shared' }),
      externalSecret('stripe', ['/zerotouch/prod/payments/stripe_key']),
      externalSecret('not-synced', ['/zerotouch/prod/payments/database_url'])
    ]
    const synced = ['a', 'b', 'stripe'].map((name) => ({ namespace: NS, name }))
    expect(syncedSecrets(externalSecrets, synced)).toEqual([
      { namespace: NS, name: 'shared' },
      { namespace: NS, name: 'stripe' }
    ])
  })

  it('picks the readers of a synced Secret of their own namespace', () => {
    const readers = readersOf(
      [
        workload('Deployment', 'api', ['payments-db', 'other']),
        workload('StatefulSet', 'unrelated', ['other']),
        {
          ...workload('DaemonSet', 'elsewhere', ['payments-db']),
          metadata: { name: 'elsewhere', namespace: 'payments-stg', generation: 1 }
        }
      ],
      CHANGED
    )
    expect(readers.map(({ workload: { metadata }, secrets }) => [metadata.name, secrets])).toEqual([
      ['api', ['payments-db']]
    ])
  })
})

describe('which readers are behind their Secrets, and on which', () => {
  const reader = { workload: workload('Deployment', 'api', ['a', 'b']), secrets: ['a', 'b'] }
  const data = [
    { namespace: NS, name: 'a', second: 10_000, first: false },
    { namespace: NS, name: 'b', second: 0, first: false }
  ]
  const pod = (at: number) => ({
    metadata: { name: 'api-0' },
    status: { startTime: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') }
  })
  const never = () => false

  it('is narrowed to the Secrets whose data is newer than its pods', () => {
    expect(behind(reader, [pod(5_000)], data, never)).toEqual({
      reader: { ...reader, secrets: ['a'] },
      freshness: 'stale'
    })
    expect(behind(reader, [pod(11_000)], data, never)).toBeUndefined()
    expect(behind(reader, [pod(10_000)], data, never)).toMatchObject({ freshness: 'same-second' })
  })

  it('never for a Secret without data (it does not exist); always when its pods cannot be found', () => {
    expect(behind(reader, [pod(-50_000)], [], never)).toBeUndefined()
    expect(behind(reader, undefined, [], never)).toEqual({ reader, freshness: 'stale' })
  })

  it('in a dry run, on a Secret the run would change, however new its pods', () => {
    expect(behind(reader, [pod(11_000)], data, ({ name }) => name === 'b')).toEqual({
      reader: { ...reader, secrets: ['b'] },
      freshness: 'stale'
    })
  })
})

describe('how a reader on old data is brought to the current data', () => {
  const RELOADED = { annotations: { 'reloader.stakater.com/auto': 'true' } }
  const data = (first = false, annotations: Record<string, string> = {}) => [
    { namespace: NS, name: 'payments-db', second: 0, first, annotations }
  ]
  const handling = (
    current: Workload,
    freshness: 'stale' | 'same-second' = 'stale',
    {
      first = false,
      changed = CHANGED,
      secret = {}
    }: { first?: boolean; changed?: typeof CHANGED; secret?: Record<string, string> } = {}
  ) => handlingOf({ workload: current, secrets: ['payments-db'] }, freshness, data(first, secret), changed)

  it('restarts a workload Reloader does not watch the Secret for', () => {
    expect(handling(workload('Deployment', 'api', ['payments-db']))).toBe('restart')
  })

  it('leaves to Reloader a workload it restarts for a change of data this run made, its pods older than the data', () => {
    expect(handling(workload('Deployment', 'api', ['payments-db'], RELOADED))).toBe('reloader')
  })

  it.each([
    ['on a re-run: the data came from an earlier run, Reloader acted on it already', { changed: [] }],
    ["when the data is the Secret's first: Reloader does not act on a creation", { first: true }]
  ])('restarts a Reloader workload itself %s', (_, options) => {
    expect(handling(workload('Deployment', 'api', ['payments-db'], RELOADED), 'stale', options)).toBe('restart')
  })

  it('restarts a Reloader workload itself when the Secret tells Reloader to ignore it (reloader.stakater.com/ignore)', () => {
    const ignored = { secret: { 'reloader.stakater.com/ignore': 'true' } }
    expect(handling(workload('Deployment', 'api', ['payments-db'], RELOADED), 'stale', ignored)).toBe('restart')
  })

  it('leaves to Reloader a search-mode workload when the Secret says reloader.stakater.com/match', () => {
    const search = { annotations: { 'reloader.stakater.com/search': 'true' } }
    expect(handling(workload('Deployment', 'api', ['payments-db'], search))).toBe('restart')
    const matched = { secret: { 'reloader.stakater.com/match': 'true' } }
    expect(handling(workload('Deployment', 'api', ['payments-db'], search), 'stale', matched)).toBe('reloader')
  })

  it("restarts a Reloader workload itself when its pods are of the data's own second (one restart more at worst)", () => {
    expect(handling(workload('Deployment', 'api', ['payments-db'], RELOADED), 'same-second')).toBe('restart')
  })

  it('refuses a paused Deployment, Reloader or not', () => {
    expect(handling(workload('Deployment', 'api', ['payments-db'], { paused: true }))).toBe('paused')
    expect(handling(workload('Deployment', 'api', ['payments-db'], { ...RELOADED, paused: true }))).toBe('paused')
  })
})

const RELOADED = { annotations: { 'reloader.stakater.com/auto': 'true' } }

describe('restart: changed', () => {
  it('restarts exactly the readers, as kubectl rollout restart does, and returns when each has rolled out', async () => {
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const)
      put(workload(kind, `${kind.toLowerCase()}-reader`, ['payments-db']))
    put(workload('Deployment', 'unaffected', ['stripe']))
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
    put({ ...api, spec: { ...api.spec, template: { ...api.spec.template, ...annotated } } })
    expect(summary(await run())).toEqual({ 'Deployment/api': ['restarted', 'rolled-out', 4] })
    expect(kube.getWorkload('Deployment', NS, 'api')?.metadata.generation).toBe(2)
  })

  it("restarts pods of the data's second again when this run changed the data after an earlier run's restart in it", async () => {
    // An earlier run restarted at 0.2 s, its pods started within second 0; this run's data landed later in second 0.
    const api = workload('Deployment', 'api', ['payments-db'])
    const annotated = { metadata: { annotations: { [RESTARTED_AT]: '1970-01-01T00:00:00.200Z' } } }
    put({ ...api, spec: { ...api.spec, template: { ...api.spec.template, ...annotated } } }, 300)
    await clock.advance(800)
    // Not changed by this run: that restart came after the data it ran with.
    expect((await run('changed', { written: [] })).outcomes).toEqual([])
    // Changed by this run: the restart came before this run's data.
    expect(summary(await run())).toEqual({ 'Deployment/api': ['restarted', 'rolled-out', 4] })
  })

  it('restarts nothing when no workload reads a synced Secret, or every reader runs the current data', async () => {
    put(workload('Deployment', 'other', ['stripe']))
    put(workload('Deployment', 'api', ['payments-db']), 1_000)
    expect((await run()).outcomes).toEqual([])
    expect((await run('changed', { written: [] })).outcomes).toEqual([])
    expect(restarts()).toEqual([])
  })

  it('on a re-run that writes nothing, restarts the readers whose pods started before the current data', async () => {
    // The run before wrote the data at 0 s; its rollout failed (a paused Deployment, a deadline): the pods are older.
    put(workload('Deployment', 'api', ['payments-db']))
    put(workload('Deployment', 'current', ['payments-db']), 1_000)
    const report = await run('changed', { written: [] })
    expect(summary(report)).toEqual({ 'Deployment/api': ['restarted', 'rolled-out', 4] })
    expect(restarts()).toEqual(['Deployment/api'])
    // Re-run again: every pod now runs the current data, nothing is restarted.
    kube.calls.length = 0
    expect((await run('changed', { written: [] })).outcomes).toEqual([])
    expect(restarts()).toEqual([])
  })

  it('names each reader by the Secrets whose current data its pods do not run', async () => {
    kube.writeSecretData(NS, 'payments-cache', -200_000)
    const cache = externalSecret('cache', ['/zerotouch/prod/payments/redis_url'], { target: 'payments-cache' })
    put(workload('Deployment', 'api', ['payments-db', 'payments-cache']))
    const report = await clock.run(
      rollOut(
        config(),
        {
          externalSecrets: [DB, cache],
          stores: [],
          synced: ['db', 'cache'].map((name) => ({ namespace: NS, name })),
          written: new Set(),
          workloadKinds: ALL_KINDS
        },
        deps()
      )
    )
    expect(report.outcomes.map(({ name, secrets }) => [name, secrets])).toEqual([['api', ['payments-db']]])
  })

  it("restarts a reader whose pods started in the data's own second, unless the action's restart made them", async () => {
    // Pods of 0.xxx s: they may have started before the data of 0.yyy s.
    put(workload('Deployment', 'api', ['payments-db']), 0)
    const restarted = workload('Deployment', 'again', ['payments-db'])
    const annotated = { metadata: { annotations: { [RESTARTED_AT]: '1970-01-01T00:00:00.500Z' } } }
    // Pods of a restart at 0.5 s, which came after the data (the action restarts after the sync).
    put({ ...restarted, spec: { ...restarted.spec, template: { ...restarted.spec.template, ...annotated } } }, 0)
    expect(summary(await run('changed', { written: [] }))).toEqual({ 'Deployment/api': ['restarted', 'rolled-out', 4] })
  })

  it('restarts nothing for a Secret that does not exist, and reads its metadata only', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    kube = Object.assign(kube, { secretMetadata: () => Promise.resolve(undefined) })
    expect((await run()).outcomes).toEqual([])
  })

  it("fails a rollout at once with the controller's message when it exceeds its progress deadline", async () => {
    controllers({ deadline: ['api'] })
    put(workload('Deployment', 'api', ['payments-db']))
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
    put(workload('Deployment', 'api', ['payments-db']))
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
    put(workload('Deployment', 'paused', ['payments-db'], { paused: true }))
    put(workload('Deployment', 'api', ['payments-db']))
    const report = await run()
    expect(summary(report)).toEqual({
      'Deployment/api': ['restarted', 'rolled-out', 4],
      'Deployment/paused': ['paused', 'failed', 'paused: resume it, then re-run (or restart it yourself)']
    })
    expect(restarts()).toEqual(['Deployment/api'])
  })

  it('restarts an OnDelete StatefulSet but does not wait for pods that only a deletion replaces', async () => {
    put(workload('StatefulSet', 'db', ['payments-db'], { onDelete: true }))
    kube.onRestart = () => undefined
    const report = await run()
    expect(summary(report)).toEqual({
      'StatefulSet/db': ['restarted', 'not-awaited', 'restarted, not awaited (OnDelete)']
    })
  })

  it('leaves a workload Reloader restarts to Reloader and waits for the rollout it starts', async () => {
    put(
      workload('Deployment', 'api', ['payments-db'], {
        annotations: { 'secret.reloader.stakater.com/reload': 'payments-db' }
      })
    )
    // Reloader: 1 s after the Secret changed it changes the pod template; the controller rolls it out.
    clock.after(1_000, () => {
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

  it('counts a Reloader rollout that began before the sync once its pods run the current data', async () => {
    // ESO picked up the value on its own; Reloader changed the template (generation 2) before the action looked.
    const api = workload('Deployment', 'api', ['payments-db'], RELOADED) as Deployment
    put({
      ...api,
      metadata: { ...api.metadata, generation: 2 },
      status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 }
    })
    // The new pods run before the status says the rollout is done.
    clock.after(2_000, () => {
      startPods(api, clock.now())
      kube.updateWorkload('Deployment', NS, 'api', rolledOut)
    })
    const report = await run()
    expect(summary(report)).toEqual({ 'Deployment/api': ['reloader', 'rolled-out', 2] })
    expect(restarts()).toEqual([])
  })

  it('does not count a rollout that ends with pods older than the data: it waits for Reloader', async () => {
    // A new image rolled out before the data was written (its pods of STALE), its status done only now.
    const api = workload('Deployment', 'api', ['payments-db'], RELOADED) as Deployment
    put({ ...api, status: { observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2 } })
    clock.after(1_000, () => kube.updateWorkload('Deployment', NS, 'api', rolledOut))
    const report = await run('changed', { timeoutMs: 10_000 })
    expect(summary(report)).toEqual({
      'Deployment/api': [
        'reloader',
        'timed-out',
        'not rolled out within rollout-timeout: its pods still run the old data'
      ]
    })
  })

  it("restarts a Reloader workload itself when Reloader's pods started in the data's own second", async () => {
    const api = workload('Deployment', 'api', ['payments-db'], RELOADED) as Deployment
    put({
      ...api,
      metadata: { ...api.metadata, generation: 2 },
      status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 }
    })
    clock.after(500, () => {
      startPods(api, 0)
      kube.updateWorkload('Deployment', NS, 'api', rolledOut)
    })
    const report = await run()
    expect(summary(report)).toEqual({ 'Deployment/api': ['restarted', 'rolled-out', 4] })
    expect(restarts()).toEqual(['Deployment/api'])
  })

  it('says Reloader did not start a rollout when none began within rollout-timeout', async () => {
    put(workload('Deployment', 'api', ['payments-db'], RELOADED))
    const report = await run('changed', { timeoutMs: 30_000 })
    expect(summary(report)).toEqual({
      'Deployment/api': ['reloader', 'timed-out', 'left to Reloader, but no rollout began: is Reloader running?']
    })
  })

  it('retries a restart the API server refused with a conflict, and reports one it refuses for good', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    put(workload('Deployment', 'web', ['payments-db']))
    kube.failNext('restart', new KubeError('conflict', 'patch deployments.apps: conflict (409)', 409))
    kube.failNext(
      'restart',
      new KubeError('forbidden', 'forbidden: may not patch deployments.apps in namespace "payments-prod"', 403)
    )
    const report = await run()
    const results = Object.values(summary(report)).map(([action, result]) => `${action} ${result}`)
    expect(results.sort()).toEqual(['not-patched failed', 'restarted rolled-out'])
  })

  it('fails a workload deleted while its watch was gone (410): the re-list no longer has it', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    clock.after(1_000, () => {
      // The watch ends with 410 Gone; the deletion lands before the re-list, so no watch sees its event.
      kube.compact({ endOpen: true })
      kube.deleteWorkload('Deployment', NS, 'api')
    })
    expect(summary(await run())).toEqual({
      'Deployment/api': ['restarted', 'failed', `Deployment ${NS}/api was deleted while rolling out`]
    })
  })

  it('keeps waiting through a dropped watch', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    clock.after(1_000, () => kube.dropWatches())
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
    put(workload('Rollout', 'api', ['payments-db']))
    put(workload('Deployment', 'web', ['payments-db']))
    await clock.advance(1_250)
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
    put(workload('Rollout', 'api', ['payments-db']))
    expect(summary(await run())).toEqual({
      'Rollout/api': [
        'restarted',
        'failed',
        'The rollout is in a degraded state with message: ProgressDeadlineExceeded: ReplicaSet "api-7d9f" has timed out progressing.'
      ]
    })
  })

  it('does not restart a paused Rollout (by hand or at a step), and says how to get it going', async () => {
    put(workload('Rollout', 'held', ['payments-db'], { paused: true }))
    const stepped = argoRollout('canary', ['payments-db'])
    put({
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
    put(workload('Deployment', 'api-template', ['payments-db']))
    const { template: _template, ...spec } = argoRollout('api', []).spec
    const rollout = argoRollout('api', [])
    put({
      ...rollout,
      spec: { ...spec, workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api-template' } }
    })
    expect(summary(await run())).toEqual({ 'Rollout/api': ['restarted', 'rolled-out', 4] })
    expect(restarts()).toEqual(['Rollout/api'])
  })

  it('leaves a Rollout annotated for Reloader to it (Reloader with --is-Argo-Rollouts) and waits for its rollout', async () => {
    const annotated = argoRollout('api', ['payments-db'])
    put({
      ...annotated,
      metadata: { ...annotated.metadata, annotations: { 'secret.reloader.stakater.com/reload': 'payments-db' } }
    })
    // Reloader's restart strategy (reloader.stakater.com/rollout-strategy: restart): spec.restartAt, a new generation.
    clock.after(1_000, () => {
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
    put(workload('Rollout', 'api', ['payments-db']))
    const report = await run('none')
    expect(summary(report)).toEqual({ 'Rollout/api': ['not-restarted', undefined, undefined] })
    expect(restarts()).toEqual([])
  })
})

describe('restart: none, and the dry run', () => {
  it('restart: none names each reader, patches nothing, and confirms no rollout', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
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
      'forbidden: may not list deployments.apps in namespace "payments-prod": workloads reading a synced Secret are not looked for there'
    ])
  })

  it('restart: none goes on, with a note, where the identity may not read the Secret or list the pods', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    kube.failNext('get-secret', new KubeError('forbidden', 'forbidden: may not get secrets', 403))
    const report = await run('none')
    expect(report.notes).toEqual([
      `forbidden: may not get secrets: whether the pods reading Secret ${NS}/payments-db run its current data is not known`
    ])
    kube.failNext('list-pods', new KubeError('forbidden', 'forbidden: may not list pods', 403))
    const again = await run('none')
    expect(again.notes).toEqual([
      `forbidden: may not list pods: whether Deployment ${NS}/api runs the current data is not known`
    ])
    expect(again.outcomes).toEqual([])
  })

  it('a dry run lists what it would restart and patches nothing: readers on old data, and of a Secret it would change', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    put(workload('Deployment', 'would-change', ['payments-db']), 1_000)
    put(workload('Deployment', 'reloaded', ['payments-db'], { annotations: { 'reloader.stakater.com/auto': 'true' } }))
    const report = await run('changed', { dryRun: true })
    expect(summary(report)).toEqual({
      'Deployment/api': ['would-restart', undefined, undefined],
      'Deployment/would-change': ['would-restart', undefined, undefined],
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

  it('fails a target a re-list (after 410 Gone) no longer has, and only the targets of that kind and namespace', () => {
    const waiter = new RolloutWaiter([...TARGETS, target('Deployment', 'payments-api', 'payments-staging')])
    // The Deployments of the namespace listed again: payments-api was deleted while no watch was open.
    waiter.relisted('Deployment', NS, [seen('Deployment', 'payments-api-old')], 1_000)
    expect(results(waiter)).toEqual({
      [`${NS}/Deployment/payments-api`]: ['failed', `Deployment ${NS}/payments-api was deleted while rolling out`],
      [`${NS}/StatefulSet/payments-worker`]: ['timed-out', undefined],
      ['payments-staging/Deployment/payments-api']: ['timed-out', undefined]
    })
    // A re-list that still has them fails nothing: they keep waiting.
    const kept = new RolloutWaiter(TARGETS)
    kept.relisted('StatefulSet', NS, [seen('StatefulSet', 'payments-worker')], 1_000)
    kept.relisted('Deployment', NS, [seen('Deployment', 'payments-api')], 1_000)
    expect(kept.settled()).toBe(false)
    expect(Object.values(results(kept)).map(([result]) => result)).toEqual(['timed-out', 'timed-out'])
  })

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

describe('the waiter: a target left to Reloader is done when its pods run the current data', () => {
  const RELOADER: RolloutTarget = {
    kind: 'Deployment',
    namespace: NS,
    name: 'api',
    generation: 2,
    by: 'reloader',
    since: 0
  }
  const at = (generation: number): Workload => {
    const current = workload('Deployment', 'api', [])
    return rolledOut({ ...current, metadata: { ...current.metadata, generation } })
  }

  it('asks for the pods when its rollout is done at the generation listed, and settles only on current pods', () => {
    const waiter = new RolloutWaiter([RELOADER])
    expect(waiter.observe(at(2), 1_000)).toBe('check-pods')
    expect(waiter.podsChecked(at(2), 'stale', 1_000)).toBeUndefined()
    expect(waiter.settled()).toBe(false)
    expect(waiter.podsChecked(at(2), 'current', 3_000)).toBeUndefined()
    expect(waiter.outcomes()).toEqual([{ target: RELOADER, result: 'rolled-out', seconds: 3, reason: undefined }])
  })

  it('counts a rollout of a later generation (a template change made after the listing) without asking', () => {
    const waiter = new RolloutWaiter([RELOADER])
    expect(waiter.observe(at(3), 2_000)).toBeUndefined()
    expect(waiter.outcomes()[0]).toMatchObject({ result: 'rolled-out', seconds: 2 })
  })

  it("asks for a restart when the pods are of the data's own second, then waits for that restart's rollout", () => {
    const waiter = new RolloutWaiter([RELOADER])
    expect(waiter.podsChecked(at(2), 'same-second', 1_000)).toBe('restart')
    const restarted: RolloutTarget = { ...RELOADER, by: 'restart', generation: 3, since: 1_000 }
    waiter.restarted(restarted)
    expect(waiter.observe(at(2), 1_500)).toBeUndefined()
    expect(waiter.settled()).toBe(false)
    waiter.observe(at(3), 5_000)
    expect(waiter.outcomes()).toEqual([{ target: restarted, result: 'rolled-out', seconds: 4, reason: undefined }])
  })

  it('names the old data at rollout-timeout once a rollout was done on stale pods', () => {
    const waiter = new RolloutWaiter([RELOADER])
    waiter.podsChecked(at(2), 'stale', 1_000)
    waiter.timeOut(10_000)
    expect(waiter.outcomes()[0]).toMatchObject({
      result: 'timed-out',
      reason: 'not rolled out within rollout-timeout: its pods still run the old data'
    })
  })
})

describe('the lists', () => {
  const listed = () => kube.calls.filter(({ verb }) => verb === 'list-workloads').map(({ kind }) => kind)

  it('lists each kind the cluster serves, once, in the namespaces of the synced Secrets', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    await run()
    expect(listed()).toEqual(['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'])
  })

  it('lists no Rollouts where the cluster does not serve them', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    await clock.run(
      rollOut(
        config(),
        {
          externalSecrets: [DB],
          stores: [],
          synced: [{ namespace: NS, name: 'db' }],
          written: new Set([DB_PARAMETER]),
          workloadKinds: APPS_KINDS
        },
        deps()
      )
    )
    expect(listed()).toEqual(['Deployment', 'StatefulSet', 'DaemonSet'])
  })

  it('with restart: changed, fails on a list the cluster refuses, before anything is restarted', async () => {
    put(workload('Deployment', 'api', ['payments-db']))
    kube.failNext(
      'list-workloads',
      new KubeError('forbidden', 'forbidden: may not list deployments.apps in namespace "payments-prod"', 403)
    )
    await expect(run()).rejects.toThrow(
      /^The Secrets are synced; finding the workloads still on their old data failed: forbidden: may not list deployments\.apps/
    )
    expect(restarts()).toEqual([])
  })
})

// Keep the builder honest: a Deployment as written here is one the status rules call done.
it('builds workloads that are rolled out as written', () => {
  const deployment = workload('Deployment', 'x', []) as Deployment
  expect(rolledOut(deployment)).toEqual(deployment)
})
