import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { firstPush, quotaStore } from '../../__fixtures__/quota-store.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import { Pacer } from '../../src/ssm/pacer.js'

describe('Pacer', () => {
  it('does not pace before the first throttle', async () => {
    const clock = virtualClock()
    const pacer = new Pacer(clock)
    const sent = await clock.run(Promise.all(Array.from({ length: 50 }, () => pacer.take())))
    expect(new Set(sent)).toEqual(new Set([0]))
    expect(pacer.rate()).toBeUndefined()
  })

  /** An unpaced pacer whose first call went at 0, and `calls` more at `at` ms. */
  async function pacerAfter(clock: ReturnType<typeof virtualClock>, calls: number, at: number): Promise<Pacer> {
    const pacer = new Pacer(clock)
    await pacer.take()
    await clock.advance(at)
    for (let i = 0; i < calls; i++) await pacer.take()
    return pacer
  }

  it('cuts to 0.7 of the rate calls were sent at over the last second, then spaces every call at that pace', async () => {
    const clock = virtualClock()
    const pacer = await pacerAfter(clock, 20, 1000)
    pacer.throttled(clock.now())
    expect(pacer.rate()).toBeCloseTo(14)
    const sent = await clock.run(Promise.all(Array.from({ length: 5 }, () => pacer.take())))
    const gaps = sent.slice(1).map((at, i) => at - sent[i])
    for (const gap of gaps) expect(gap).toBeCloseTo(1000 / 14, 0)
    expect(sent[0] - 1000).toBeCloseTo(1000 / 14, 0)
  })

  it('measures a throttle soon after the start over the time since the first call', async () => {
    const clock = virtualClock()
    const pacer = await pacerAfter(clock, 3, 20)
    pacer.throttled(clock.now())
    expect(pacer.rate()).toBeCloseTo(0.7 * 200)
  })

  it('cuts once a round: a throttle of a call sent before the last cut does not cut again', async () => {
    const clock = virtualClock()
    const pacer = await pacerAfter(clock, 10, 1000)
    const [a, b] = [await pacer.take(), await pacer.take()]
    pacer.throttled(a)
    const afterFirst = pacer.rate()
    await clock.advance(1)
    pacer.throttled(b)
    expect(pacer.rate()).toBeCloseTo(afterFirst! * 2 ** (1 / 3000))
    const c = await clock.run(pacer.take())
    const before = pacer.rate()!
    pacer.throttled(c)
    expect(pacer.rate()).toBeCloseTo(0.7 * before)
  })

  it('never paces slower than one call a second, even when the first call is throttled', () => {
    const pacer = new Pacer(virtualClock())
    pacer.throttled(0)
    expect(pacer.rate()).toBe(1)
  })

  it('doubles the rate every 3 seconds after a cut', async () => {
    const clock = virtualClock()
    const pacer = new Pacer(clock)
    pacer.throttled(0)
    await clock.advance(6000)
    expect(pacer.rate()).toBeCloseTo(4)
  })

  it('cuts from the rate calls were really sent at when the pace has grown far beyond it', async () => {
    const clock = virtualClock()
    const pacer = await pacerAfter(clock, 10, 1000)
    pacer.throttled(clock.now())
    await clock.advance(30_000)
    expect(pacer.rate()).toBeGreaterThan(1000)
    const sent = await clock.run(Promise.all(Array.from({ length: 5 }, () => pacer.take())))
    pacer.throttled(sent.at(-1)!)
    expect(pacer.rate()).toBeCloseTo(0.7 * 5)
  })

  it('re-queues a call that waited through a cut at the new, slower pace', async () => {
    const clock = virtualClock()
    const pacer = await pacerAfter(clock, 10, 1000)
    pacer.throttled(clock.now()) // 7 a second
    const queued = Array.from({ length: 3 }, () => pacer.take())
    const cut = clock.sleep(1).then(() => pacer.throttled(clock.now()))
    const sent = await clock.run(Promise.all([...queued, cut]).then(([...times]) => times.slice(0, 3) as number[]))
    expect(Math.min(...sent.slice(1).map((at, i) => at - sent[i]))).toBeGreaterThan(1000 / 7)
  })
})

describe('the push under a write quota, on simulated time', () => {
  interface Quota {
    readonly rate: number
    readonly burst: number
    readonly latencyMs: number
    readonly keys: number
  }

  /**
   * A first push of `keys` new keys to an in-memory store whose PutParameter takes `latencyMs` and
   * is throttled over `rate` a second (bursts of `burst`), on simulated time.
   */
  async function pushUnderQuota({ rate, burst, latencyMs, keys }: Quota) {
    const clock = virtualClock()
    const { store, slow, stats } = quotaStore(clock, { rate, burst, latencyMs })
    const report = await clock.run(firstPush(clock, keys, { store: slow }))
    // The least time: every key after the burst waits for a token; 4 writers, each call takes latencyMs.
    const floorMs = Math.max(((keys - burst) / rate) * 1000, Math.ceil(keys / 4) * latencyMs)
    return { report, writes: store.count('putParameter'), throttled: stats.throttled, ms: clock.now(), floorMs }
  }

  it('writes 300 new keys at 10 a second each once, close to the time the quota allows, with few throttled calls', async () => {
    const { report, writes, throttled, ms, floorMs } = await pushUnderQuota({
      rate: 10,
      burst: 10,
      latencyMs: 20,
      keys: 300
    })
    expect(report.outcomes.every(({ result }) => result === 'created')).toBe(true)
    expect(writes).toBe(300)
    expect(ms).toBeGreaterThanOrEqual(floorMs)
    expect(ms).toBeLessThan(floorMs * 1.3)
    expect(throttled).toBeLessThan(300 * 0.2)
  })

  it('stays near the floor whatever the quota, burst and latency (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          rate: fc.integer({ min: 2, max: 100 }),
          burstShare: fc.double({ min: 0, max: 1, noNaN: true }),
          latencyMs: fc.integer({ min: 5, max: 100 }),
          keys: fc.integer({ min: 20, max: 300 })
        }),
        async ({ rate, burstShare, latencyMs, keys }) => {
          const burst = Math.max(1, Math.round(rate * burstShare))
          const { writes, throttled, ms, floorMs } = await pushUnderQuota({ rate, burst, latencyMs, keys })
          expect(writes).toBe(keys)
          expect(ms / floorMs).toBeLessThan(1.6)
          // About 15 cuts bring the first guess (4 calls at once) down to a slow quota; then about one throttle a cycle.
          expect(throttled).toBeLessThan(25 + 0.4 * keys)
        }
      ),
      // A fixed sample of quotas, so that the run is the same every time.
      { numRuns: 60, seed: 20261129 }
    )
  })
})
