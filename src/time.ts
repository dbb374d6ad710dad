import { setTimeout as delay } from 'node:timers/promises'

/** Where the run reads the time and waits: the system's, or a simulated one in tests. */
export interface Clock {
  now(): number
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<unknown>
  /**
   * Aborted when the run is cancelled (see `cancellable`), its reason the signal's name: every sleep on this
   * clock then ends at once, and no retry or new write starts.
   */
  readonly cancelled?: AbortSignal
}

/**
 * The run's clock once it can be cancelled: every sleep also ends when `cancel` aborts, and the clock carries
 * the signal (`cancelled`) to everything that waits or writes on it (the SSM retries and pacer, the Kubernetes
 * retries, the watch waits).
 */
export function cancellable(clock: Clock, cancel: AbortSignal): Clock {
  return {
    now: () => clock.now(),
    sleep: (ms, signal) => clock.sleep(ms, signal ? AbortSignal.any([signal, cancel]) : cancel),
    cancelled: cancel
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined)
}

/** A capped exponential backoff: `baseMs` before the 2nd attempt, doubling up to `capMs`. */
export interface Backoff {
  readonly baseMs: number
  readonly capMs: number
}

/** The backoff after `failures` consecutive failures (1 = the first). */
export function backoffMs({ baseMs, capMs }: Backoff, failures: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1))
}

/** Seconds for people: one decimal under 10 (rounded half up: 0.15 is "0.2"), whole above. */
export function formatSeconds(seconds: number): string {
  if (seconds >= 9.95) return String(Math.round(seconds))
  return (Math.round(seconds * 10) / 10).toFixed(1)
}
