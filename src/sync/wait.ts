import { readyCondition, type ExternalSecret } from '../eso/model.js'
import type { Condition, KubeEvent, ObjectRef } from '../k8s/types.js'
import { formatSeconds } from '../time.js'
import { eventSubject, isFailureOfThisRun, newestEvent, type EventSnapshot } from '../eso/events.js'
import { describeCondition, isFreshlySynced } from './fresh.js'

/**
 * The wait for fresh syncs as a state machine, fed what the watches (and re-lists) see. Pure:
 * no I/O, times are given.
 *
 * Per ExternalSecret:
 * - states the watch delivers before this run's annotation are ignored (the watch starts from
 *   the list made before annotating); from the first state carrying the run's annotation value on,
 *   and for every re-listed state, it is judged;
 * - synced: syncedResourceVersion differs from the one recorded at the annotation, Ready True;
 * - failed: a failure of this run not followed by a fresh sync within FAILURE_CONFIRM_MS (or by the timeout): an
 *   UpdateFailed Event of this run (its message is the reason), or Ready turning False after the annotation (its
 *   condition is the reason until an Event's message comes). A Ready=False already there at the annotation is no
 *   failure: the values just pushed may fix it, and only an Event would say they did not.
 *
 * Why a failure waits for confirmation (one pending-failure path for both):
 * - an Event: a reconcile that read the provider before the push wrote (an ExternalSecret failing, and retried, since
 *   before the run) records its UpdateFailed Event when it ends, possibly after the Events were listed for the
 *   annotation. Its status write then conflicts with the annotation, and the operator's next reconcile, the one the
 *   annotation asked for, syncs;
 * - Ready turning False: a provider error (throttling, a network error) is not final. ESO's reconcile returns it to
 *   controller-runtime (externalsecret_controller.go), whose workqueue retries the item with per-item exponential
 *   backoff (5 ms doubling, workqueue.DefaultTypedControllerRateLimiter): a throttled or failed read is retried within
 *   milliseconds to seconds, and the next success writes a fresh sync.
 */

/** How long a failure (an UpdateFailed Event, Ready turning False) waits for a fresh sync that would contradict it. */
export const FAILURE_CONFIRM_MS = 5_000

export interface WaitTarget {
  readonly namespace: string
  readonly name: string
  readonly uid?: string
  /** status.syncedResourceVersion at the annotation. */
  readonly recordedVersion?: string
  /** The Ready condition at the annotation. */
  readonly readyAtAnnotation?: Condition
  /** When the annotation was written (ms). */
  readonly annotatedAt: number
  /**
   * The key under which this run's value reaches it, when not the annotation-key input: `external-secrets.io/
   * force-sync`, passed on by the ClusterExternalSecret that controls it (see route.ts).
   */
  readonly annotationKey?: string
}

export type WaitResult = 'synced' | 'failed' | 'timed-out'

export interface WaitOutcome {
  readonly namespace: string
  readonly name: string
  readonly result: WaitResult
  /** Annotation to fresh sync (or to failure), in seconds. */
  readonly seconds?: number
  readonly reason?: string
}

interface PendingFailure {
  readonly reason: string
  readonly at: number
  /** Ready turning False, not an Event: the reason is the condition's generic message. */
  readonly fromCondition: boolean
}

interface Tracked {
  readonly target: WaitTarget
  state: 'waiting' | WaitResult
  /** A state carrying this run's annotation has been seen: later states are after the annotation. */
  afterAnnotation: boolean
  lastReadyStatus?: string
  lastCondition?: Condition
  lastVersion?: string
  settledAt?: number
  reason?: string
  /** The reason came from the Ready condition; an Event's message would be better. */
  reasonFromCondition?: boolean
  /** A failure after the annotation, waiting FAILURE_CONFIRM_MS for a fresh sync to contradict it. */
  failing?: PendingFailure
}

export class SyncWaiter {
  private readonly tracked = new Map<string, Tracked>()
  private readonly snapshot: EventSnapshot
  private readonly annotationKey: string
  private readonly annotationValue: string

  constructor(
    targets: readonly WaitTarget[],
    options: { snapshot: EventSnapshot; annotationKey: string; annotationValue: string }
  ) {
    this.snapshot = options.snapshot
    this.annotationKey = options.annotationKey
    this.annotationValue = options.annotationValue
    for (const target of targets) {
      this.tracked.set(`${target.namespace}/${target.name}`, {
        target,
        state: 'waiting',
        afterAnnotation: false,
        lastReadyStatus: target.readyAtAnnotation?.status,
        lastCondition: target.readyAtAnnotation,
        lastVersion: target.recordedVersion
      })
    }
  }

  /**
   * A state of an ExternalSecret: from the watch (`listed` false, in the order the server sent
   * them) or from a list made after the annotations (`listed` true).
   */
  observe(es: ExternalSecret, now: number, { listed = false }: { listed?: boolean } = {}): void {
    const entry = this.entry(es.metadata.namespace ?? '', es.metadata.name, es.metadata.uid)
    if (!entry || entry.state !== 'waiting') return
    if (!entry.afterAnnotation) {
      const key = entry.target.annotationKey ?? this.annotationKey
      if (!listed && es.metadata.annotations?.[key] !== this.annotationValue) return
      entry.afterAnnotation = true
    }
    const ready = readyCondition(es)
    entry.lastCondition = ready
    entry.lastVersion = es.status?.syncedResourceVersion
    if (isFreshlySynced(entry.target.recordedVersion, es)) {
      this.settle(entry, 'synced', now)
    } else if (ready?.status === 'False' && entry.lastReadyStatus !== 'False' && !entry.failing) {
      // An Event's message, when one is pending, says more than the condition.
      entry.failing = { reason: `the sync failed: ${describeCondition(ready)}`, at: now, fromCondition: true }
    }
    entry.lastReadyStatus = ready?.status
  }

  /** The ExternalSecret was deleted while waiting. */
  observeDeleted(es: ExternalSecret, now: number): void {
    const entry = this.entry(es.metadata.namespace ?? '', es.metadata.name, es.metadata.uid)
    if (entry?.state === 'waiting') this.settle(entry, 'failed', now, 'it was deleted while waiting for its sync')
  }

  /** An Event from the watch or from a list made after the annotations. */
  observeEvent(event: KubeEvent, now: number): void {
    const subject = eventSubject(event)
    const entry = subject ? this.tracked.get(subject) : undefined
    if (!entry || !isFailureOfThisRun(event, this.snapshot, entry.target)) return
    const reason = `the sync failed: ${event.message ?? event.reason}`
    if (entry.state === 'waiting') entry.failing = { reason, at: now, fromCondition: false }
    else if (entry.state === 'failed' && entry.reasonFromCondition) {
      entry.reason = reason
      entry.reasonFromCondition = false
    }
  }

  /** Events from a list made after the annotations: per ExternalSecret, the newest failure of this run counts. */
  observeEvents(events: readonly KubeEvent[], now: number): void {
    const bySubject = new Map<string, KubeEvent[]>()
    for (const event of events) {
      const subject = eventSubject(event)
      const entry = subject ? this.tracked.get(subject) : undefined
      if (!subject || !entry || !isFailureOfThisRun(event, this.snapshot, entry.target)) continue
      bySubject.set(subject, [...(bySubject.get(subject) ?? []), event])
    }
    for (const candidates of bySubject.values()) this.observeEvent(newestEvent(candidates)!, now)
  }

  /** Settles as failed each ExternalSecret whose failure no fresh sync contradicted within FAILURE_CONFIRM_MS. */
  confirmFailures(now: number): void {
    for (const entry of this.tracked.values()) {
      if (entry.state === 'waiting' && entry.failing && now - entry.failing.at >= FAILURE_CONFIRM_MS)
        this.settleFailing(entry, entry.failing)
    }
  }

  /** When the next pending failure is confirmed, if one waits. */
  nextConfirmation(): number | undefined {
    const pending = [...this.tracked.values()].flatMap(({ state, failing }) =>
      state === 'waiting' && failing ? [failing.at + FAILURE_CONFIRM_MS] : []
    )
    return pending.length ? Math.min(...pending) : undefined
  }

  /**
   * Ends the wait of the ExternalSecrets still waiting (in `namespace`, or all) with `reason`, e.g. a forbidden watch.
   */
  failWaiting(reason: string, now: number, namespace?: string): void {
    for (const entry of this.tracked.values()) {
      if (entry.state === 'waiting' && (namespace === undefined || entry.target.namespace === namespace))
        this.settle(entry, 'failed', now, reason)
    }
  }

  /** Ends the wait at its timeout: every ExternalSecret still waiting is named with its last known condition. */
  timeOut(timeoutMs: number, now: number): void {
    for (const entry of this.tracked.values()) {
      if (entry.state !== 'waiting') continue
      if (entry.failing) {
        this.settleFailing(entry, entry.failing)
        continue
      }
      const version =
        entry.lastVersion === entry.target.recordedVersion
          ? 'syncedResourceVersion unchanged since the annotation'
          : 'syncedResourceVersion changed but Ready is not True'
      const seen = entry.afterAnnotation ? '' : '; the operator has not acted on the annotation'
      this.settle(
        entry,
        'timed-out',
        now,
        `not freshly synced within ${formatSeconds(timeoutMs / 1000)} s: last known ${describeCondition(entry.lastCondition)}, ${version}${seen}`
      )
    }
  }

  settled(): boolean {
    return [...this.tracked.values()].every((entry) => entry.state !== 'waiting')
  }

  /** Failed ones whose reason is only the generic Ready message: an Event would tell more. */
  wantingEventReason(): ObjectRef[] {
    return [...this.tracked.values()]
      .filter((entry) => entry.state === 'failed' && entry.reasonFromCondition)
      .map(({ target }) => ({ namespace: target.namespace, name: target.name }))
  }

  outcomes(): WaitOutcome[] {
    return [...this.tracked.values()].map((entry) => ({
      namespace: entry.target.namespace,
      name: entry.target.name,
      result: entry.state === 'waiting' ? 'timed-out' : entry.state,
      seconds:
        entry.settledAt === undefined ? undefined : Math.max(0, (entry.settledAt - entry.target.annotatedAt) / 1000),
      reason: entry.reason
    }))
  }

  private entry(namespace: string, name: string, uid?: string): Tracked | undefined {
    const entry = this.tracked.get(`${namespace}/${name}`)
    if (entry?.target.uid && uid && entry.target.uid !== uid) return undefined // deleted and created again
    return entry
  }

  private settleFailing(entry: Tracked, { reason, at, fromCondition }: PendingFailure): void {
    this.settle(entry, 'failed', at, reason, fromCondition)
  }

  private settle(entry: Tracked, state: WaitResult, now: number, reason?: string, fromCondition = false): void {
    entry.state = state
    entry.settledAt = now
    entry.reason = reason
    entry.reasonFromCondition = fromCondition
  }
}
