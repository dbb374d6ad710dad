import { describe, expect, it } from '@jest/globals'
import { classifyFailure, withRetry, type RetryPolicy } from '../../src/ssm/retry.js'
import { awsError } from '../../__fixtures__/aws-errors.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import { Pacer } from '../../src/ssm/pacer.js'
import { cancellable } from '../../src/time.js'

/** A policy on a fake clock: sleeping advances time instantly. */
function fakePolicy(windowMs = 10_000): RetryPolicy & { slept: number[] } {
  let now = 0
  const slept: number[] = []
  return {
    baseMs: 100,
    capMs: 1_000,
    windowMs,
    random: () => 1,
    clock: {
      now: () => now,
      sleep: (ms) => {
        slept.push(ms)
        now += ms
        return Promise.resolve()
      }
    },
    slept
  }
}

describe('classifyFailure', () => {
  it.each([
    [awsError('ThrottlingException', 400), 'throttled'],
    [awsError('Whatever', 429), 'throttled'],
    [awsError('TooManyUpdates', 400), 'busy'],
    [awsError('InternalServerError', 500), 'ambiguous'],
    [awsError('ServiceUnavailable', 503), 'ambiguous'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'ambiguous'],
    [Object.assign(new Error('socket hang up'), { name: 'Error' }), 'ambiguous'],
    [Object.assign(new Error('wrapped'), { cause: Object.assign(new Error('x'), { code: 'EPIPE' }) }), 'ambiguous'],
    [awsError('AccessDeniedException', 400), 'fatal'],
    [awsError('ValidationException', 400), 'fatal'],
    [awsError('ParameterAlreadyExists', 400), 'fatal']
  ])('classifies %p as %p', (error, kind) => expect(classifyFailure(error)).toBe(kind))
})

describe('withRetry', () => {
  it('retries throttling with doubling, capped backoff until it succeeds', async () => {
    const policy = fakePolicy()
    let calls = 0
    const result = await withRetry(() => {
      calls += 1
      if (calls < 6) return Promise.reject(awsError('ThrottlingException', 400))
      return Promise.resolve('done')
    }, policy)
    expect(result).toBe('done')
    expect(policy.slept).toEqual([100, 200, 400, 800, 1000])
  })

  it('tells the operation what the previous attempt ran into', async () => {
    const seen: unknown[] = []
    const failures = [awsError('InternalFailure', 500), awsError('TooManyUpdates', 400)]
    await withRetry((attempt) => {
      seen.push(attempt)
      const failure = failures.shift()
      return failure ? Promise.reject(failure) : Promise.resolve()
    }, fakePolicy())
    expect(seen).toEqual([
      { number: 1 },
      { number: 2, previousFailure: 'ambiguous' },
      { number: 3, previousFailure: 'busy' }
    ])
  })

  it('does not retry a fatal error', async () => {
    let calls = 0
    await expect(
      withRetry(() => {
        calls += 1
        return Promise.reject(awsError('AccessDeniedException', 400))
      }, fakePolicy())
    ).rejects.toMatchObject({ name: 'AccessDeniedException' })
    expect(calls).toBe(1)
  })

  it('keeps retrying for the whole window, not a fixed number of attempts, then gives the last error', async () => {
    const policy = fakePolicy(30_000)
    let calls = 0
    await expect(
      withRetry(() => {
        calls += 1
        return Promise.reject(awsError('ThrottlingException', 400))
      }, policy)
    ).rejects.toMatchObject({ name: 'ThrottlingException' })
    expect(calls).toBeGreaterThan(20)
    expect(policy.slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(30_000)
  })
})

describe('withRetry, once the run is cancelled', () => {
  it('starts no attempt, and stops retrying, with ZT190', async () => {
    const cancel = new AbortController()
    const policy = fakePolicy()
    const cancelled = { ...policy, clock: { ...policy.clock, cancelled: cancel.signal } }
    let attempts = 0
    const failing = withRetry(() => {
      attempts++
      if (attempts === 2) cancel.abort('SIGTERM')
      return Promise.reject(awsError('ThrottlingException', 400))
    }, cancelled)
    await expect(failing).rejects.toMatchObject({ code: 'ZT190' })
    await expect(failing).rejects.toThrow(/^The run was cancelled \(SIGTERM\) before an SSM call/)
    expect(attempts).toBe(2)
    await expect(withRetry(() => Promise.resolve(1), cancelled)).rejects.toMatchObject({ code: 'ZT190' })
  })
})

describe('the pacer, once the run is cancelled', () => {
  it('stops every call waiting for its turn at once: none is sent', async () => {
    const clock = virtualClock()
    const cancel = new AbortController()
    const policy: RetryPolicy = { ...fakePolicy(), clock: cancellable(clock, cancel.signal) }
    const pacer = new Pacer(policy.clock)
    // One throttle, a second after the only call: calls now go 1 a second.
    const sentAt = await pacer.take()
    await clock.advance(1_000)
    pacer.throttled(sentAt)
    let sent = 0
    const calls = Array.from({ length: 20 }, () =>
      withRetry(
        () => {
          sent++
          return Promise.resolve()
        },
        policy,
        pacer
      ).catch((error: unknown) => error)
    )
    clock.after(2_500, () => cancel.abort('SIGINT'))
    const results = await clock.run(Promise.all(calls))
    expect(clock.now()).toBe(3_500)
    expect(sent).toBeGreaterThan(0)
    expect(sent).toBeLessThanOrEqual(4)
    expect(results.filter((result) => (result as { code?: string })?.code === 'ZT190')).toHaveLength(20 - sent)
  })
})
