import { describe, expect, it } from '@jest/globals'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import { backoffMs, cancellable, formatSeconds } from '../../src/time.js'

describe('backoffMs', () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1_600],
    [6, 2_000],
    [7, 2_000]
  ])('after %p failures waits %p ms (100 ms doubling, capped at 2 s)', (failures, ms) => {
    expect(backoffMs({ baseMs: 100, capMs: 2_000 }, failures)).toBe(ms)
  })

  it('waits the base before any failure is counted', () => {
    expect(backoffMs({ baseMs: 100, capMs: 2_000 }, 0)).toBe(100)
  })
})

describe('formatSeconds', () => {
  it.each([
    [0, '0.0'],
    [0.04, '0.0'],
    [0.05, '0.1'],
    [0.15, '0.2'],
    [0.25, '0.3'],
    [1.5, '1.5'],
    [2.449, '2.4'],
    [9.94, '9.9'],
    [9.95, '10'],
    [9.96, '10'],
    [12.5, '13'],
    [90, '90'],
    [300, '300']
  ])('%p s reads "%s"', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text)
  })
})

describe('cancellable', () => {
  it('ends every sleep when the run is cancelled, those under their own signal too, and carries the signal', async () => {
    const clock = virtualClock()
    const cancel = new AbortController()
    const run = cancellable(clock, cancel.signal)
    expect(run.cancelled).toBe(cancel.signal)
    const own = new AbortController()
    const woke: string[] = []
    const sleeps = Promise.all([
      run.sleep(60_000).then(() => woke.push(`plain at ${clock.now()}`)),
      run.sleep(60_000, own.signal).then(() => woke.push(`own signal at ${clock.now()}`)),
      clock.sleep(1_000).then(() => cancel.abort('SIGINT'))
    ])
    await clock.run(sleeps)
    expect(woke).toEqual(['plain at 1000', 'own signal at 1000'])
    // Once cancelled, a new sleep does not wait at all.
    await clock.run(run.sleep(5_000))
    expect(clock.now()).toBe(1_000)
  })
})
