import pLimit from 'p-limit'
import type { ClusterSettings } from '../k8s/api.js'
import type { WorkloadsApi } from '../workloads/api.js'
import { KubeError, stopOnKubeError } from '../k8s/errors.js'
import { withKubeRetry } from '../k8s/retry.js'
import { inNamespace, refOf, type Listed } from '../k8s/types.js'
import { resumableWatch, watchUntilSettled } from '../k8s/watch.js'
import type { Redactor } from '../secrets/redact.js'
import { formatSeconds, type Clock } from '../time.js'
import {
  pausedReason,
  resolveWorkloadRefs,
  restartStamp,
  type RestartPolicy,
  type Workload,
  type WorkloadKind
} from '../workloads/model.js'
import { readersOf, type ChangedSecret, type Reader } from './plan.js'
import { RolloutWaiter, type RolloutTarget } from './wait.js'

/**
 * The rollout phase: the workloads whose pods read a Secret this run changed are restarted (as
 * `kubectl rollout restart` does) and awaited (by the rules of `kubectl rollout status`, watching),
 * or, with `restart: none`, named in a warning. Environment variables are read when a container
 * starts: without a restart the pods keep the old values.
 */

export interface RolloutSettings {
  readonly restart: RestartPolicy
  /** Upper bound for the rollouts, from the first restart. */
  readonly timeoutMs: number
}

/** The rollout phase's slice of the configuration. */
export interface RolloutConfig {
  readonly cluster: Pick<ClusterSettings, 'namespaces'>
  readonly rollout: RolloutSettings
  readonly dryRun: boolean
}

export interface RolloutDependencies {
  readonly kube: WorkloadsApi
  readonly clock: Clock
  readonly redact: Redactor
  readonly log?: (line: string) => void
}

/** The workloads of the namespaces, listed before the annotation: what a rollout Reloader starts is told from. */
export interface WorkloadSnapshot {
  readonly lists: ReadonlyArray<Listed<Workload> & { readonly kind: WorkloadKind; readonly namespace: string }>
  /** Why some could not be listed (restart: none only; restart: changed has its permissions checked before). */
  readonly notes: readonly string[]
}

export type RolloutAction = 'restarted' | 'reloader' | 'not-restarted' | 'would-restart' | 'paused' | 'not-patched'
export type RolloutResult = 'rolled-out' | 'failed' | 'timed-out' | 'not-awaited'

export interface RolloutOutcome {
  readonly namespace: string
  readonly kind: WorkloadKind
  readonly name: string
  /** The changed Secrets it reads. */
  readonly secrets: readonly string[]
  readonly action: RolloutAction
  readonly result?: RolloutResult
  /** From the restart (or the start of the wait, for Reloader) to the end of the rollout. */
  readonly seconds?: number
  readonly reason?: string
}

export interface RolloutReport {
  readonly restart: RestartPolicy
  readonly dryRun: boolean
  readonly outcomes: readonly RolloutOutcome[]
  readonly notes: readonly string[]
}

const NOT_YET = 'The Secrets are synced; restarting the workloads that read them failed'
const RESTART_CONCURRENCY = 4

/** `kinds`: those the cluster serves (Rollout only with the Argo Rollouts CRD), from the pre-flight. */
export async function snapshotWorkloads(
  { cluster, rollout }: RolloutConfig,
  kinds: readonly WorkloadKind[],
  deps: RolloutDependencies
): Promise<WorkloadSnapshot> {
  const pairs = cluster.namespaces.flatMap((namespace) => kinds.map((kind) => ({ kind, namespace })))
  const listed = await stopOnKubeError(
    () =>
      Promise.all(
        pairs.map(async ({ kind, namespace }) => {
          try {
            return { kind, namespace, ...(await deps.kube.listWorkloads(kind, namespace)) }
          } catch (error) {
            // With restart: none the list serves a warning only; a Role without it is no failure.
            if (rollout.restart === 'none' && error instanceof KubeError && error.kind === 'forbidden')
              return `${deps.redact(error.message)}: workloads reading a changed Secret are not looked for there`
            throw error
          }
        })
      ),
    'Nothing was annotated',
    deps.redact
  )
  return {
    lists: listed.filter((entry) => typeof entry !== 'string'),
    notes: listed.filter((entry) => typeof entry === 'string')
  }
}

export async function rollOut(
  config: RolloutConfig,
  snapshot: WorkloadSnapshot,
  changed: readonly ChangedSecret[],
  deps: RolloutDependencies
): Promise<RolloutReport> {
  const readers = readersOf(
    resolveWorkloadRefs(
      snapshot.lists.flatMap(({ items, namespace }) => items.map((workload) => inNamespace(workload, namespace)))
    ),
    changed
  )
  const report = (outcomes: RolloutOutcome[]): RolloutReport => ({
    restart: config.rollout.restart,
    dryRun: config.dryRun,
    outcomes,
    notes: snapshot.notes
  })
  if (config.rollout.restart === 'none') return report(readers.map((reader) => outcome(reader, 'not-restarted')))
  if (config.dryRun)
    return report(
      readers.map((reader) => outcome(reader, reader.handling === 'restart' ? 'would-restart' : reader.handling))
    )

  const start = deps.clock.now()
  const paused = readers.filter(({ handling }) => handling === 'paused')
  const restarted = await restart(
    readers.filter(({ handling }) => handling === 'restart'),
    deps
  )
  const targets: RolloutTarget[] = [
    ...restarted.flatMap(({ target }) => (target ? [target] : [])),
    ...readers
      .filter(({ handling }) => handling === 'reloader')
      .map(({ workload }) => targetOf(workload, 'reloader', workload.metadata.generation ?? 0, start))
  ]
  const waited = await waitForRollouts(targets, snapshot, config.rollout.timeoutMs, deps)
  const byTarget = new Map(waited.map((entry) => [entry.target, entry]))
  const readerOf = (target: RolloutTarget): Reader | undefined =>
    readers.find(
      ({ workload }) =>
        workload.kind === target.kind &&
        workload.metadata.namespace === target.namespace &&
        workload.metadata.name === target.name
    )
  return report([
    ...targets.flatMap((target) => {
      const reader = readerOf(target)
      const entry = byTarget.get(target)
      return reader && entry
        ? [
            outcome(reader, target.by === 'restart' ? 'restarted' : 'reloader', {
              result: entry.result,
              seconds: entry.seconds,
              reason: entry.reason && deps.redact(entry.reason)
            })
          ]
        : []
    }),
    ...restarted.flatMap(({ reader, error }) =>
      error ? [outcome(reader, 'not-patched', { result: 'failed', reason: deps.redact(error) })] : []
    ),
    ...paused.map((reader) => outcome(reader, 'paused', { result: 'failed', reason: pausedReason(reader.workload) }))
  ])
}

function outcome(
  { workload, secrets }: Reader,
  action: RolloutAction,
  extra: Pick<RolloutOutcome, 'result' | 'seconds' | 'reason'> = {}
): RolloutOutcome {
  return { ...refOf(workload), kind: workload.kind, secrets, action, ...extra }
}

function targetOf(workload: Workload, by: RolloutTarget['by'], generation: number, since: number): RolloutTarget {
  return { ...refOf(workload), kind: workload.kind, generation, by, since }
}

/** kubectl's restart, one patch a workload, a few at once; 409, 429, 5xx and network errors are tried again. */
async function restart(
  readers: readonly Reader[],
  { kube, clock }: RolloutDependencies
): Promise<Array<{ reader: Reader; target?: RolloutTarget; error?: string }>> {
  const limit = pLimit(RESTART_CONCURRENCY)
  return Promise.all(
    readers.map(({ workload, ...rest }) =>
      limit(async () => {
        const reader = { workload, ...rest }
        const { kind, metadata } = workload
        try {
          const restartedAt = restartStamp(kind, clock.now())
          const patched = await withKubeRetry(
            () => kube.restartWorkload(kind, metadata.namespace ?? '', metadata.name, restartedAt),
            clock
          )
          return { reader, target: targetOf(workload, 'restart', patched.metadata.generation ?? 0, clock.now()) }
        } catch (error) {
          return { reader, error: `not restarted: ${error instanceof Error ? error.message : String(error)}` }
        }
      })
    )
  )
}

/**
 * Watches each kind and namespace involved from the snapshot's resourceVersion until every rollout settles or the
 * timeout.
 */
async function waitForRollouts(
  targets: readonly RolloutTarget[],
  snapshot: WorkloadSnapshot,
  timeoutMs: number,
  deps: RolloutDependencies
): Promise<ReturnType<RolloutWaiter['outcomes']>> {
  if (!targets.length) return []
  const { kube, clock } = deps
  const waiter = new RolloutWaiter(targets)
  const involved = snapshot.lists.filter(({ kind, namespace }) =>
    targets.some((target) => target.kind === kind && target.namespace === namespace)
  )
  deps.log?.(`Waiting up to ${formatSeconds(timeoutMs / 1000)} s for ${targets.length} rollouts.`)
  await stopOnKubeError(
    () =>
      watchUntilSettled({
        clock,
        timeoutMs,
        settled: () => waiter.settled(),
        onTimeout: () => waiter.timeOut(clock.now()),
        onCancel: () => waiter.failWaiting('not awaited: the run was cancelled', clock.now()),
        start: (loop) =>
          involved.map(({ kind, namespace, resourceVersion }) =>
            resumableWatch<Workload>({
              resourceVersion,
              start: (rv, handlers) => kube.watchWorkloads(kind, namespace, rv, handlers),
              relist: () => kube.listWorkloads(kind, namespace),
              onEvent: ({ type, object }) => {
                if (type === 'DELETED') waiter.deleted(inNamespace(object, namespace), clock.now())
                else waiter.observe(inNamespace(object, namespace), clock.now())
                loop.check()
              },
              onRelisted: (items) => {
                for (const workload of items) waiter.observe(inNamespace(workload, namespace), clock.now())
                loop.check()
              },
              onFatal: (error) => {
                waiter.failWaiting(`could not watch its rollout: ${error.message}`, clock.now(), namespace)
                loop.check()
              },
              sleep: loop.sleep
            })
          )
      }),
    NOT_YET,
    deps.redact
  )
  return waiter.outcomes()
}
