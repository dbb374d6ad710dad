import { setImmediate as settle } from 'node:timers/promises'
import type { Clock } from '../src/time.js'

/**
 * Simulated time for code that takes a Clock (`now`, `sleep`): `run` lets everything that can go
 * on go on, then jumps to the earliest sleeper's wake-up time, so minutes of pacing or waiting
 * take milliseconds and always play out the same way. A sleep whose signal aborts ends at once.
 * Time starts at `start` (ms since the epoch), 0 unless a test needs a date.
 */
export function virtualClock(start = 0) {
  let time = start
  const sleepers: Array<{ at: number; wake: () => void }> = []
  const clock: Clock & {
    run<T>(work: Promise<T>): Promise<T>
    after(ms: number, act: () => void): void
    advance(ms: number): Promise<void>
  } = {
    now: () => time,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve()
        const sleeper = { at: time + Math.max(0, ms), wake: () => resolve() }
        sleepers.push(sleeper)
        signal?.addEventListener(
          'abort',
          () => {
            const index = sleepers.indexOf(sleeper)
            if (index >= 0) sleepers.splice(index, 1)
            resolve()
          },
          { once: true }
        )
      }),
    /**
     * An event of the simulated world (an operator's sync, a controller's rollout, the runner's signal): `act` runs
     * once `ms` of simulated time have passed, as a timer would. No real time passes.
     */
    after(ms, act) {
      void clock.sleep(ms).then(act)
    },
    /** Moves simulated time `ms` forward, waking every sleeper due on the way. No real time passes. */
    async advance(ms) {
      await clock.run(clock.sleep(ms))
    },
    async run<T>(work: Promise<T>): Promise<T> {
      let done = false
      const finished = work.finally(() => (done = true))
      // Work that fails is the caller's, through the returned promise: not an unhandled
      // rejection while `run` is still between two turns of the event loop.
      finished.catch(() => undefined)
      for (;;) {
        await settle()
        if (done) return finished
        sleepers.sort((a, b) => a.at - b.at)
        const next = sleepers.shift()
        if (!next) throw new Error('virtual clock: nothing is sleeping and the work has not finished')
        time = next.at
        next.wake()
      }
    }
  }
  return clock
}
