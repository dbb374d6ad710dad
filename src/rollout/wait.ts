import type { Workload, WorkloadKind } from '../workloads/model.js'
import { rolloutStatus } from '../workloads/status.js'
import type { Freshness } from '../workloads/current.js'

/**
 * The wait for rollouts as a state machine, fed what the watches (and re-lists) see and what the pods tell. Pure:
 * no I/O, times are given. The rules of `kubectl rollout status` decide when a rollout is done; then:
 * - a workload the action restarted is done once the generation its patch made has rolled out (older states the
 *   watch replays are ignored): its pods were made after the restart, which came after the data;
 * - one left to Reloader is done once a generation past the one listed after the sync has rolled out (a template
 *   change made after the current data was written: Reloader's, or any other, its pods read that data), or, its
 *   rollout done at the listed generation, once its pods are current (Reloader's rollout began before the listing).
 *   Pods of the data's own second cannot be told apart: the action restarts it itself (`restart`).
 */

export interface RolloutTarget {
  readonly kind: WorkloadKind
  readonly namespace: string
  readonly name: string
  /** restart: the generation of the patch's answer; reloader: the generation listed after the sync. */
  readonly generation: number
  readonly by: 'restart' | 'reloader'
  /** When the restart was patched, or the wait began (ms). */
  readonly since: number
}

export type WaitResult = 'rolled-out' | 'failed' | 'timed-out' | 'not-awaited'

export interface RolloutWaitOutcome {
  readonly target: RolloutTarget
  readonly result: WaitResult
  /** From `since` to the end of the rollout (or its failure), in seconds. */
  readonly seconds?: number
  readonly reason?: string
}

interface Tracked {
  target: RolloutTarget
  result?: WaitResult
  settledAt?: number
  reason?: string
  /** The last `kubectl rollout status` message, for a timeout. */
  lastStatus?: string
}

export class RolloutWaiter {
  private readonly tracked: Tracked[]

  constructor(targets: readonly RolloutTarget[]) {
    this.tracked = targets.map((target) => ({ target }))
  }

  /** `check-pods`: its rollout is done at the generation listed; whether it is over, its pods tell (podsChecked). */
  observe(workload: Workload, now: number): 'check-pods' | undefined {
    const entry = this.waiting(workload)
    if (!entry) return
    const generation = workload.metadata.generation ?? 0
    const { target } = entry
    if (generation < target.generation) return
    const status = rolloutStatus(workload)
    switch (status.state) {
      case 'done':
        if (target.by === 'reloader' && generation === target.generation) return 'check-pods'
        return settle(entry, 'rolled-out', now)
      case 'failed':
        return settle(entry, 'failed', now, status.reason)
      case 'not-awaited':
        return settle(entry, 'not-awaited', now, status.reason)
      case 'waiting':
        entry.lastStatus = status.reason
        return undefined
    }
  }

  /**
   * What its pods tell of a target whose rollout is done: current, it is over; stale, Reloader has yet to act;
   * `restart`: pods of the data's own second, which the action restarts itself (then calls `restarted`).
   */
  podsChecked(workload: Workload, freshness: Freshness, now: number): 'restart' | undefined {
    const entry = this.waiting(workload)
    if (!entry) return
    if (freshness === 'current') return settle(entry, 'rolled-out', now)
    entry.lastStatus = 'its pods still run the old data'
    return freshness === 'same-second' ? 'restart' : undefined
  }

  /** The action restarted a target itself: from now on it waits for that rollout. */
  restarted(target: RolloutTarget): void {
    const entry = this.waiting(target)
    if (entry) entry.target = target
  }

  /**
   * A workload was deleted: fails its wait if it is a target still waiting. The deletion of any other workload (Argo
   * pruning a renamed Deployment, a `kubectl delete`) ends no wait.
   */
  deleted(workload: Workload, now: number): void {
    const entry = this.waiting(workload)
    if (entry) settleDeleted(entry, now)
  }

  /**
   * A list of `kind` in `namespace` taken again (the watch's resourceVersion expired, 410 Gone): a target still
   * waiting that it lacks was deleted while no watch was open to see its DELETED event.
   */
  relisted(kind: WorkloadKind, namespace: string, items: readonly Workload[], now: number): void {
    for (const entry of this.tracked) {
      const { target } = entry
      if (entry.result || target.kind !== kind || target.namespace !== namespace) continue
      if (!items.some(({ metadata }) => metadata.name === target.name)) settleDeleted(entry, now)
    }
  }

  /**
   * Ends the wait of the targets still waiting in `namespace` (or all; or the one named `name` there) with `reason`,
   * e.g. a forbidden watch.
   */
  failWaiting(reason: string, now: number, namespace?: string, name?: string): void {
    for (const entry of this.tracked)
      if (
        !entry.result &&
        (namespace === undefined || entry.target.namespace === namespace) &&
        (name === undefined || entry.target.name === name)
      )
        settle(entry, 'failed', now, reason)
  }

  /** Ends the wait at the rollout timeout: each unfinished one named with its last status. */
  timeOut(now: number): void {
    for (const entry of this.tracked) {
      if (entry.result) continue
      const reason =
        entry.target.by === 'reloader' && entry.lastStatus === undefined
          ? 'left to Reloader, but no rollout began: is Reloader running?'
          : `not rolled out within rollout-timeout: ${entry.lastStatus ?? 'the controller has not acted on the restart'}`
      settle(entry, 'timed-out', now, reason)
    }
  }

  settled(): boolean {
    return this.tracked.every(({ result }) => result !== undefined)
  }

  /** The entry of the target that is `workload` (same kind, namespace and name), while it is still waiting. */
  private waiting(workload: Workload | RolloutTarget): Tracked | undefined {
    const { kind, namespace, name } = 'metadata' in workload ? { kind: workload.kind, ...workload.metadata } : workload
    const entry = this.tracked.find(
      ({ target }) => target.kind === kind && target.namespace === namespace && target.name === name
    )
    return entry?.result ? undefined : entry
  }

  outcomes(): RolloutWaitOutcome[] {
    return this.tracked.map(({ target, result, settledAt, reason }) => ({
      target,
      result: result ?? 'timed-out',
      seconds: settledAt === undefined ? undefined : Math.max(0, (settledAt - target.since) / 1000),
      reason
    }))
  }
}

function settleDeleted(entry: Tracked, now: number): void {
  const { kind, namespace, name } = entry.target
  settle(entry, 'failed', now, `${kind} ${namespace}/${name} was deleted while rolling out`)
}

function settle(entry: Tracked, result: WaitResult, now: number, reason?: string): undefined {
  entry.result = result
  entry.settledAt = now
  entry.reason = reason
}
