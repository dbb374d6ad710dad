import { setImmediate as settle } from 'node:timers/promises'

/**
 * Simulated time for code that takes `now` and `sleep` (the retry policy, the pacer): `run` lets
 * everything that can go on go on, then jumps to the earliest sleeper's wake-up time, so minutes
 * of pacing take milliseconds and always play out the same way.
 */
export function virtualClock() {
  let time = 0
  const sleepers: Array<{ at: number; wake: () => void }> = []
  return {
    now: () => time,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ at: time + Math.max(0, ms), wake })),
    async run<T>(work: Promise<T>): Promise<T> {
      let done = false
      const finished = work.finally(() => (done = true))
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
}
