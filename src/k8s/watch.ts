import { KubeError } from './errors.js'
import type { Listed, ObjectMeta, WatchEvent, WatchHandle, WatchHandlers } from './types.js'
import { backoffMs, type Backoff, type Clock } from '../time.js'

/**
 * A watch that outlives its HTTP requests: a watch that ends is resumed from the last
 * resourceVersion seen (events and bookmarks); on 410 Gone the collection is listed again, the
 * listed items handed over, and the watch resumes from the list. Network and server errors are
 * retried with backoff until stopped; forbidden, unauthorized or not-found end it (`onFatal`).
 */

export interface ResumableWatchOptions<T extends { metadata: ObjectMeta }> {
  readonly resourceVersion: string
  start(resourceVersion: string, handlers: WatchHandlers<T>): Promise<WatchHandle>
  relist(): Promise<Listed<T>>
  onEvent(event: WatchEvent<T>): void
  onRelisted(items: readonly T[]): void
  onFatal(error: KubeError): void
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<unknown>
  readonly backoff?: Backoff
}

const DEFAULT_BACKOFF: Backoff = { baseMs: 100, capMs: 2_000 }

const FATAL = new Set(['forbidden', 'unauthorized', 'not-found', 'missing-crd'])

export interface ResumableWatch {
  stop(): void
  /** Settles when the watch has stopped (after stop() or a fatal error). */
  readonly done: Promise<void>
}

export function resumableWatch<T extends { metadata: ObjectMeta }>(options: ResumableWatchOptions<T>): ResumableWatch {
  let stopped = false
  let current: WatchHandle | undefined
  let wake: (() => void) | undefined
  const abort = new AbortController()
  const backoff = options.backoff ?? DEFAULT_BACKOFF

  const run = async (): Promise<void> => {
    let resourceVersion = options.resourceVersion
    let failures = 0
    while (!stopped) {
      let received = 0
      const ended = new Promise<unknown>((resolve) => {
        wake = () => resolve(undefined)
        const handlers: WatchHandlers<T> = {
          onEvent: (event) => {
            if (stopped) return
            received++
            resourceVersion = event.object.metadata?.resourceVersion || resourceVersion
            if (event.type !== 'BOOKMARK') options.onEvent(event)
          },
          onEnd: (error) => resolve(error ?? undefined)
        }
        options.start(resourceVersion, handlers).then(
          (handle) => {
            current = handle
            if (stopped) handle.stop()
          },
          (error: unknown) => resolve(error ?? new Error('the watch could not start'))
        )
      })
      const error = await ended
      current = undefined
      if (stopped) return
      if (error === undefined) {
        // Ended by the server: resume at once, unless it ends at once again and again.
        failures = received ? 0 : failures + 1
        if (failures) await pause(backoffMs(backoff, failures))
        continue
      }
      if (error instanceof KubeError && error.kind === 'gone') {
        try {
          const listed = await options.relist()
          if (stopped) return
          resourceVersion = listed.resourceVersion
          options.onRelisted(listed.items)
          failures = 0
          continue
        } catch (relistError) {
          if (isFatal(relistError)) return options.onFatal(relistError)
          // resourceVersion is still too old: the next start ends in 410 again and lists again
        }
      } else if (isFatal(error)) {
        return options.onFatal(error)
      }
      failures++
      await pause(backoffMs(backoff, failures))
    }
  }

  const pause = async (ms: number): Promise<void> => {
    if (stopped) return
    await Promise.race([options.sleep(ms, abort.signal), new Promise<void>((resolve) => (wake = resolve))])
  }

  const done = run()
  return {
    stop: () => {
      stopped = true
      current?.stop()
      abort.abort()
      wake?.()
    },
    done
  }
}

function isFatal(error: unknown): error is KubeError {
  return error instanceof KubeError && FATAL.has(error.kind)
}

/** How long stopped watches may take to settle before a wait returns anyway. */
const WATCH_GRACE_MS = 1_000

/** What a wait hands the watches it starts. */
export interface SettleLoop {
  /** Call after each observation: the wait ends once `settled()` holds. */
  readonly check: () => void
  /** Ends the wait at once (a watch that cannot go on). */
  readonly end: () => void
  /** Aborted when the wait ends: for timers of the caller's own. */
  readonly signal: AbortSignal
  /** The clock's sleep, for the watches' backoff. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<unknown>
}

export interface SettleOptions {
  readonly clock: Clock
  readonly timeoutMs: number
  /** Whether every object waited for has settled. */
  readonly settled: () => boolean
  /** Called once when the timeout passes first; the wait then ends. */
  readonly onTimeout: () => void
  /** Called once when the run is cancelled first (the clock's `cancelled`); the wait then ends at once. */
  readonly onCancel?: () => void
  /** Starts the watches that feed the wait. */
  readonly start: (loop: SettleLoop) => readonly ResumableWatch[]
}

/**
 * The one watch-until-settled loop (the gate, the sync wait, the rollout wait): runs until
 * `settled()`, `end()` or the timeout. The one shutdown rule: every watch is stopped, and the wait
 * returns once they have settled, or after WATCH_GRACE_MS: a re-list hanging on a dead server must
 * not hold the step.
 */
export async function watchUntilSettled({
  clock,
  timeoutMs,
  settled,
  onTimeout,
  onCancel,
  start
}: SettleOptions): Promise<void> {
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  const timer = new AbortController()
  const check = (): void => {
    if (settled()) finish()
  }
  const watches = start({
    check,
    end: () => finish(),
    signal: timer.signal,
    sleep: (ms, signal) => clock.sleep(ms, signal)
  })
  void clock.sleep(timeoutMs, timer.signal).then(() => {
    if (timer.signal.aborted) return
    // A cancelled run ends the wait at once (the clock's sleeps end early): not a timeout.
    if (clock.cancelled?.aborted) onCancel?.()
    else onTimeout()
    finish()
  })
  try {
    check()
    await finished
  } finally {
    timer.abort()
    for (const watch of watches) watch.stop()
    const grace = new AbortController()
    await Promise.race([Promise.all(watches.map(({ done }) => done)), clock.sleep(WATCH_GRACE_MS, grace.signal)])
    grace.abort()
  }
}
