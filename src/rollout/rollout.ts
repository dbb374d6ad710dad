import pLimit from 'p-limit'
import type { WorkloadsApi } from '../workloads/api.js'
import { KubeError, stopOnKubeError } from '../k8s/errors.js'
import { withKubeRetry } from '../k8s/retry.js'
import { inNamespace, refOf, type Listed, type ObjectRef } from '../k8s/types.js'
import { resumableWatch, watchUntilSettled, type SettleLoop } from '../k8s/watch.js'
import type { ExternalSecret, SecretStore } from '../eso/model.js'
import type { Redactor } from '../secrets/redact.js'
import { formatSeconds, type Clock } from '../time.js'
import {
  pausedReason,
  podSelector,
  resolveWorkloadRefs,
  restartStamp,
  type RestartPolicy,
  type Workload,
  type WorkloadKind
} from '../workloads/model.js'
import { freshnessOf, secretData, type SecretData } from '../workloads/current.js'
import {
  behind,
  changedSecrets,
  handlingOf,
  readersOf,
  secretsOf,
  syncedSecrets,
  type Handling,
  type Reader
} from '../workloads/plan.js'
import { RolloutWaiter, type RolloutTarget } from './wait.js'

/**
 * The rollout phase, after the sync: the workloads reading a Secret of a freshly synced ExternalSecret whose pods
 * started before that Secret's current data (current.ts) are restarted (as `kubectl rollout restart` does) or left
 * to Reloader, and awaited (by the rules of `kubectl rollout status`, watching) until their pods run the current
 * data; with `restart: none` they are named in a warning. Environment variables are read when a container starts:
 * without a restart the pods keep the old values. Decided by data, not by what this run wrote, so a re-run after a
 * failed rollout restarts what the failed run left behind, and an unchanged re-run whose pods are current restarts
 * nothing.
 */

export interface RolloutSettings {
  readonly restart: RestartPolicy
  /** Upper bound for the rollouts, from the first restart. */
  readonly timeoutMs: number
}

/** The rollout phase's slice of the configuration (the namespaces are those of the synced Secrets). */
export interface RolloutConfig {
  readonly rollout: RolloutSettings
  readonly dryRun: boolean
}

export interface RolloutDependencies {
  readonly kube: WorkloadsApi
  readonly clock: Clock
  readonly redact: Redactor
  readonly log?: (line: string) => void
}

/** What the rollout needs of the run before it: the ExternalSecrets the sync listed and confirmed fresh. */
export interface FreshSecrets {
  /** The selected ExternalSecrets as the sync phase listed them, and those it confirmed freshly synced. */
  readonly externalSecrets: readonly ExternalSecret[]
  /** The stores they read through. */
  readonly stores: readonly SecretStore[]
  readonly synced: readonly ObjectRef[]
  /** The parameters the push wrote (or would write, in a dry run). */
  readonly written: ReadonlySet<string>
  /** The workload kinds the cluster serves (Rollout only with the Argo Rollouts CRD), from the pre-flight. */
  readonly workloadKinds: readonly WorkloadKind[]
}

export type RolloutAction = 'restarted' | 'reloader' | 'not-restarted' | 'would-restart' | 'paused' | 'not-patched'
export type RolloutResult = 'rolled-out' | 'failed' | 'timed-out' | 'not-awaited'

export interface RolloutOutcome {
  readonly namespace: string
  readonly kind: WorkloadKind
  readonly name: string
  /** The synced Secrets it reads whose current data its pods do not run. */
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
const CONCURRENCY = 4
/** How often the pods of a rollout done on old data are looked at again. */
const POD_RECHECK_MS = 2_000

/** The workloads of a namespace listed after the sync, with the list's resourceVersion for the wait's watch. */
interface WorkloadList extends Listed<Workload> {
  readonly kind: WorkloadKind
  readonly namespace: string
}

/** A reader whose pods are not current, and what the action does with it. */
interface Judged extends Reader {
  readonly handling: Handling
}

export async function rollOut(
  config: RolloutConfig,
  fresh: FreshSecrets,
  deps: RolloutDependencies
): Promise<RolloutReport> {
  const secrets = syncedSecrets(fresh.externalSecrets, fresh.synced)
  const changed = changedSecrets(fresh.externalSecrets, fresh.stores, fresh.synced, fresh.written)
  const since = deps.clock.now()
  const notes: string[] = []
  const report = (outcomes: RolloutOutcome[]): RolloutReport => ({
    restart: config.rollout.restart,
    dryRun: config.dryRun,
    outcomes,
    notes
  })
  // With restart: none the rollout only warns: a call the Role does not allow is a note, not a failure.
  const tolerant = <T>(call: () => Promise<T>, note: (message: string) => string): Promise<T | undefined> =>
    call().catch((error: unknown) => {
      if (config.rollout.restart !== 'none' || !(error instanceof KubeError) || error.kind !== 'forbidden') throw error
      notes.push(note(deps.redact(error.message)))
      return undefined
    })
  const namespaces = [...new Set(secrets.map(({ namespace }) => namespace))]
  const { lists, judged } = await stopOnKubeError(
    async () => {
      const lists = await listWorkloads(namespaces, fresh.workloadKinds, deps, tolerant)
      const readers = readersOf(
        resolveWorkloadRefs(
          lists.flatMap(({ items, namespace }) => items.map((workload) => inNamespace(workload, namespace)))
        ),
        secrets
      )
      const data = await secretsData(readers, { changed, since }, deps, tolerant)
      return { lists, judged: await judge(readers, data, changed, config.dryRun, deps, tolerant) }
    },
    'The Secrets are synced; finding the workloads still on their old data failed',
    deps.redact
  )
  if (config.rollout.restart === 'none') return report(judged.map((reader) => outcome(reader, 'not-restarted')))
  if (config.dryRun)
    return report(
      judged.map((reader) => outcome(reader, reader.handling === 'restart' ? 'would-restart' : reader.handling))
    )

  const paused = judged.filter(({ handling }) => handling === 'paused')
  const restarted = await restart(
    judged.filter(({ handling }) => handling === 'restart'),
    deps
  )
  const targets: RolloutTarget[] = [
    ...restarted.flatMap(({ target }) => (target ? [target] : [])),
    ...judged
      .filter(({ handling }) => handling === 'reloader')
      .map(({ workload }) => targetOf(workload, 'reloader', workload.metadata.generation ?? 0, deps.clock.now()))
  ]
  const waited = await waitForRollouts(targets, judged, lists, { changed, since }, config.rollout.timeoutMs, deps)
  const readerOf = (target: RolloutTarget): Judged | undefined =>
    judged.find(
      ({ workload }) =>
        workload.kind === target.kind &&
        workload.metadata.namespace === target.namespace &&
        workload.metadata.name === target.name
    )
  return report([
    ...waited.flatMap((entry) => {
      const reader = readerOf(entry.target)
      return reader
        ? [
            outcome(reader, entry.target.by === 'restart' ? 'restarted' : 'reloader', {
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

type Tolerant = <T>(call: () => Promise<T>, note: (message: string) => string) => Promise<T | undefined>

/** Every kind of workload the cluster serves in each namespace holding a synced Secret. */
async function listWorkloads(
  namespaces: readonly string[],
  kinds: readonly WorkloadKind[],
  { kube }: RolloutDependencies,
  tolerant: Tolerant
): Promise<WorkloadList[]> {
  const pairs = namespaces.flatMap((namespace) => kinds.map((kind) => ({ kind, namespace })))
  const limit = pLimit(CONCURRENCY)
  const lists = await Promise.all(
    pairs.map(({ kind, namespace }) =>
      limit(async () => {
        const listed = await tolerant(
          () => kube.listWorkloads(kind, namespace),
          (message) => `${message}: workloads reading a synced Secret are not looked for there`
        )
        return listed && { kind, namespace, ...listed }
      })
    )
  )
  return lists.filter((list) => list !== undefined)
}

/** What this run changed: the Secrets, and when the rollout phase began (see SecretData.changedBefore). */
interface ThisRun {
  readonly changed: readonly ObjectRef[]
  readonly since: number
}

/** When the current data of each Secret the readers read was written, from its metadata (never its data). */
async function secretsData(
  readers: readonly Reader[],
  { changed, since }: ThisRun,
  { kube }: RolloutDependencies,
  tolerant: Tolerant
): Promise<SecretData[]> {
  const refs = secretsOf(readers)
  const limit = pLimit(CONCURRENCY)
  const found = await Promise.all(
    refs.map(({ namespace, name }) =>
      limit(() =>
        tolerant(
          () => kube.secretMetadata(namespace, name),
          (message) =>
            `${message}: whether the pods reading Secret ${namespace}/${name} run its current data is not known`
        )
      )
    )
  )
  return found.flatMap((metadata, index) => {
    const { namespace, name } = refs[index]
    const data = metadata && secretData({ ...metadata, namespace })
    if (!data) return []
    const changedNow = changed.some((ref) => ref.namespace === namespace && ref.name === name)
    return [changedNow ? { ...data, changedBefore: since } : data]
  })
}

/**
 * Each reader whose pods do not all run the current data of the Secrets it reads, narrowed to those, with what to
 * do about it; in a dry run, also those reading a Secret the run would change.
 */
async function judge(
  readers: readonly Reader[],
  data: readonly SecretData[],
  changed: readonly ObjectRef[],
  dryRun: boolean,
  deps: RolloutDependencies,
  tolerant: Tolerant
): Promise<Judged[]> {
  const limit = pLimit(CONCURRENCY)
  const willChange = (secret: ObjectRef): boolean =>
    dryRun && changed.some((ref) => ref.namespace === secret.namespace && ref.name === secret.name)
  const judged = await Promise.all(
    readers.map((reader) =>
      limit(async (): Promise<Judged | undefined> => {
        const namespace = reader.workload.metadata.namespace ?? ''
        const selector = podSelector(reader.workload)
        const pods =
          selector &&
          (await tolerant(
            () => deps.kube.listPods(namespace, selector),
            (message) =>
              `${message}: whether ${reader.workload.kind} ${namespace}/${reader.workload.metadata.name} runs the current data is not known`
          ))
        // Forbidden with restart: none (a note says so): not judged.
        if (selector && !pods) return undefined
        const late = behind(reader, pods ? pods.items : undefined, data, willChange)
        return late && { ...late.reader, handling: handlingOf(late.reader, late.freshness, data, changed) }
      })
    )
  )
  return judged.filter((reader) => reader !== undefined)
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
async function restart<R extends Reader>(
  readers: readonly R[],
  { kube, clock }: RolloutDependencies
): Promise<Array<{ reader: R; target?: RolloutTarget; error?: string }>> {
  const limit = pLimit(CONCURRENCY)
  return Promise.all(
    readers.map((reader) =>
      limit(async () => {
        const { kind, metadata } = reader.workload
        try {
          // The millisecond of a template restart also tells the pods it makes from those that started in the same
          // second as the data, before it (current.ts); see restartStamp.
          const restartedAt = restartStamp(kind, clock.now())
          const patched = await withKubeRetry(
            () => kube.restartWorkload(kind, metadata.namespace ?? '', metadata.name, restartedAt),
            clock
          )
          return {
            reader,
            target: targetOf(reader.workload, 'restart', patched.metadata.generation ?? 0, clock.now())
          }
        } catch (error) {
          return { reader, error: `not restarted: ${error instanceof Error ? error.message : String(error)}` }
        }
      })
    )
  )
}

/**
 * Watches each kind and namespace involved from the list's resourceVersion until every rollout settles or the
 * timeout. A target left to Reloader whose rollout is done at the generation listed has its pods looked at: current,
 * it is done; of the data's own second, the action restarts it itself (then waits for that rollout).
 */
async function waitForRollouts(
  targets: readonly RolloutTarget[],
  readers: readonly Reader[],
  lists: readonly WorkloadList[],
  thisRun: ThisRun,
  timeoutMs: number,
  deps: RolloutDependencies
): Promise<ReturnType<RolloutWaiter['outcomes']>> {
  if (!targets.length) return []
  const { kube, clock } = deps
  const waiter = new RolloutWaiter(targets)
  const involved = lists.filter(({ kind, namespace }) =>
    targets.some((target) => target.kind === kind && target.namespace === namespace)
  )
  const checking = new Set<Reader>()
  const checkPods = (workload: Workload, loop: SettleLoop): void => {
    const reader = readers.find(
      (candidate) =>
        candidate.workload.kind === workload.kind &&
        candidate.workload.metadata.namespace === workload.metadata.namespace &&
        candidate.workload.metadata.name === workload.metadata.name
    )
    const selector = reader && podSelector(reader.workload)
    if (!reader || !selector || checking.has(reader)) return
    checking.add(reader)
    void (async () => {
      try {
        const namespace = workload.metadata.namespace ?? ''
        const [pods, data] = await Promise.all([
          kube.listPods(namespace, selector),
          secretsData([reader], thisRun, deps, (call) => call())
        ])
        const freshness = freshnessOf(pods.items, data)
        const next = waiter.podsChecked(workload, freshness, clock.now())
        if (next === 'restart') {
          const [{ target, error }] = await restart([reader], deps)
          if (target) waiter.restarted(target)
          else waiter.failWaiting(error ?? 'not restarted', clock.now(), namespace, workload.metadata.name)
        } else if (freshness === 'stale')
          // Old pods may still be listed as the status says done, and Reloader may act later: look again.
          void loop.sleep(POD_RECHECK_MS, loop.signal).then(() => {
            if (!loop.signal.aborted) checkPods(workload, loop)
          })
      } catch (error) {
        waiter.failWaiting(
          `could not list its pods: ${error instanceof Error ? error.message : String(error)}`,
          clock.now(),
          workload.metadata.namespace,
          workload.metadata.name
        )
      } finally {
        checking.delete(reader)
        loop.check()
      }
    })()
  }
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
          involved.map(({ kind, namespace, resourceVersion }) => {
            const seen = (workload: Workload): void => {
              if (waiter.observe(workload, clock.now()) === 'check-pods') checkPods(workload, loop)
            }
            return resumableWatch<Workload>({
              resourceVersion,
              start: (rv, handlers) => kube.watchWorkloads(kind, namespace, rv, handlers),
              relist: () => kube.listWorkloads(kind, namespace),
              onEvent: ({ type, object }) => {
                if (type === 'DELETED') waiter.deleted(inNamespace(object, namespace), clock.now())
                else seen(inNamespace(object, namespace))
                loop.check()
              },
              onRelisted: (items) => {
                waiter.relisted(kind, namespace, items, clock.now())
                for (const workload of items) seen(inNamespace(workload, namespace))
                loop.check()
              },
              onFatal: (error) => {
                waiter.failWaiting(`could not watch its rollout: ${error.message}`, clock.now(), namespace)
                loop.check()
              },
              sleep: loop.sleep
            })
          })
      }),
    NOT_YET,
    deps.redact
  )
  return waiter.outcomes()
}
