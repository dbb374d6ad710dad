import type { Workload, WorkloadKind } from '../workloads/model.js'
import { rolloutStatus } from '../workloads/status.js'

/**
 * The wait for rollouts as a state machine, fed what the watches (and re-lists) see. Pure: no
 * I/O, times are given. A workload the action restarted is judged from the generation its patch
 * made on (older states the watch replays are ignored); one left to Reloader, once its generation
 * has passed the one listed before the annotation (Reloader's own change to the template). Then the
 * rules of `kubectl rollout status` decide.
 */

export interface RolloutTarget {
  readonly kind: WorkloadKind
  readonly namespace: string
  readonly name: string
  /** restart: the generation of the patch's answer; reloader: the generation before the annotation. */
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
  readonly target: RolloutTarget
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

  observe(workload: Workload, now: number): void {
    const entry = this.waiting(workload)
    if (!entry) return
    const generation = workload.metadata.generation ?? 0
    const { target } = entry
    if (target.by === 'restart' ? generation < target.generation : generation <= target.generation) return
    const status = rolloutStatus(workload)
    switch (status.state) {
      case 'done':
        return settle(entry, 'rolled-out', now)
      case 'failed':
        return settle(entry, 'failed', now, status.reason)
      case 'not-awaited':
        return settle(entry, 'not-awaited', now, status.reason)
      case 'waiting':
        entry.lastStatus = status.reason
    }
  }

  /**
   * A workload was deleted: fails its wait if it is a target still waiting. The deletion of any other workload (Argo
   * pruning a renamed Deployment, a `kubectl delete`) ends no wait.
   */
  deleted(workload: Workload, now: number): void {
    const entry = this.waiting(workload)
    if (!entry) return
    const { kind, namespace, name } = entry.target
    settle(entry, 'failed', now, `${kind} ${namespace}/${name} was deleted while rolling out`)
  }

  /** Ends the wait of the targets still waiting in `namespace` (or all) with `reason`, e.g. a forbidden watch. */
  failWaiting(reason: string, now: number, namespace?: string): void {
    for (const entry of this.tracked)
      if (!entry.result && (namespace === undefined || entry.target.namespace === namespace))
        settle(entry, 'failed', now, reason)
  }

  /** Ends the wait at the rollout timeout: each unfinished one named with its last status. */
  timeOut(now: number): void {
    for (const entry of this.tracked) {
      if (entry.result) continue
      const reason =
        entry.target.by === 'reloader' && entry.lastStatus === undefined
          ? 'annotated for Reloader, but no rollout began: is Reloader running?'
          : `not rolled out within rollout-timeout: ${entry.lastStatus ?? 'the controller has not acted on the restart'}`
      settle(entry, 'timed-out', now, reason)
    }
  }

  settled(): boolean {
    return this.tracked.every(({ result }) => result !== undefined)
  }

  /** The entry of the target that is `workload` (same kind, namespace and name), while it is still waiting. */
  private waiting(workload: Workload): Tracked | undefined {
    const entry = this.tracked.find(
      ({ target }) =>
        target.kind === workload.kind &&
        target.namespace === workload.metadata.namespace &&
        target.name === workload.metadata.name
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

function settle(entry: Tracked, result: WaitResult, now: number, reason?: string): void {
  entry.result = result
  entry.settledAt = now
  entry.reason = reason
}
