import type { Clock } from '../time.js'

/** A throttle cuts the rate to this share of what was getting through. */
const CUT = 0.7
/** After a cut the rate doubles every DOUBLING_MS, probing for what the quota allows again. */
const DOUBLING_MS = 3_000
/** Calls a second, at least: a cut never goes below it. */
const MIN_RATE = 1
/** Calls sent this recently tell the rate the quota saw. */
const MEASURE_MS = 1_000
/** The shortest span the measure divides by, so that a burst at the start does not read as thousands a second. */
const MIN_SPAN_MS = 10

/**
 * Spaces the calls that share one SSM quota across all the workers of a run. Each key backing off
 * on its own leaves the quota idle while the last keys sleep on backoffs grown during the throttling;
 * one pace for all of them keeps the quota in use (multiplicative decrease, as TCP paces a link):
 * - calls are not paced until the first throttle;
 * - a throttle cuts the rate to CUT × the rate calls were sent at over the last second (or the pace,
 *   if lower), once a round: throttles of calls sent before the last cut answer the old rate and do
 *   not cut again;
 * - from a cut, the rate doubles every DOUBLING_MS until the next throttle.
 */
export class Pacer {
  /** The retry policy's, so that tests can run it on simulated time. */
  readonly #clock: Clock
  /** The rate right after the last cut, in calls a second; undefined until the first throttle. */
  #base: number | undefined
  #cutAt = Number.NEGATIVE_INFINITY
  /** When the next call may go. */
  #next = Number.NEGATIVE_INFINITY
  /** When the calls of the last MEASURE_MS went, and when the first one did. */
  readonly #sent: number[] = []
  #start: number | undefined

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** Calls a second now; undefined while unpaced. */
  rate(now = this.#clock.now()): number | undefined {
    return this.#base === undefined ? undefined : this.#base * 2 ** ((now - this.#cutAt) / DOUBLING_MS)
  }

  /**
   * Waits for this call's turn; returns when it goes, for `throttled`. A cut while it waits re-queues it at the new
   * pace.
   */
  async take(): Promise<number> {
    for (;;) {
      const now = this.#clock.now()
      const rate = this.rate(now)
      if (rate === undefined) return this.#send(now)
      const at = Math.max(now, this.#next)
      this.#next = at + 1_000 / rate
      if (at <= now) return this.#send(now)
      const cutAt = this.#cutAt
      await this.#clock.sleep(at - now)
      if (cutAt === this.#cutAt) return this.#send(this.#clock.now())
    }
  }

  /** A call sent at `sentAt` was throttled. */
  throttled(sentAt: number): void {
    if (sentAt <= this.#cutAt) return
    const now = this.#clock.now()
    const before = Math.min(this.rate(now) ?? Number.POSITIVE_INFINITY, this.#measuredRate(now))
    this.#base = Math.max(MIN_RATE, CUT * before)
    this.#cutAt = now
    this.#next = now + 1_000 / this.#base
  }

  #send(now: number): number {
    this.#start ??= now
    this.#sent.push(now)
    while (this.#sent[0] <= now - MEASURE_MS) this.#sent.shift()
    return now
  }

  /** Calls a second over the last MEASURE_MS, or since the first call when that is more recent. */
  #measuredRate(now: number): number {
    const span = Math.min(MEASURE_MS, Math.max(MIN_SPAN_MS, now - (this.#start ?? now)))
    return this.#sent.filter((at) => at > now - MEASURE_MS).length * (1_000 / span)
  }
}
