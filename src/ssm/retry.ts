import { stopIfCancelled } from '../errors.js'
import { networkErrorCode } from '../network.js'
import { backoffMs, systemClock, type Backoff, type Clock } from '../time.js'
import type { Pacer } from './pacer.js'

/**
 * How a failed call may be retried:
 * - `throttled` / `busy` (TooManyUpdates): refused, nothing was applied; try again later.
 * - `ambiguous` (5xx, network error, timeout): it may or may not have been applied.
 * - `fatal`: retrying cannot help.
 */
export type FailureKind = 'throttled' | 'busy' | 'ambiguous' | 'fatal'

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown'
])

interface AwsLikeError {
  name?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
  $retryable?: { throttling?: boolean }
}

export function classifyFailure(error: unknown): FailureKind {
  const e = (error ?? {}) as AwsLikeError
  const status = e.$metadata?.httpStatusCode
  if (e.name === 'TooManyUpdates') return 'busy'
  if (THROTTLING.has(e.name ?? '') || e.$retryable?.throttling || status === 429) return 'throttled'
  if (status !== undefined && status >= 500) return 'ambiguous'
  if (e.name === 'AbortError' || networkErrorCode(e) || /network/i.test(e.message ?? '')) return 'ambiguous'
  return 'fatal'
}

/** The backoff (baseMs, capMs) is each retry's ceiling: the wait is a random share of it (full jitter). */
export interface RetryPolicy extends Backoff {
  /** How long one operation keeps retrying before its last error stands. */
  readonly windowMs: number
  /** Where it waits and reads the time: the run's clock. */
  readonly clock: Clock
  readonly random: () => number
}

/**
 * The action's retry policy against SSM quotas: retry throttling, TooManyUpdates, 5xx and network
 * errors until a time window closes, rather than until a small budget of attempts runs out, since
 * PutParameter is throttled at about 3 a second per account. Backoff is full-jitter exponential;
 * throttled calls that share a Pacer wait for its pace instead.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseMs: 100,
  capMs: 5_000,
  windowMs: 120_000,
  clock: systemClock,
  random: () => Math.random()
}

/** What the previous attempt of an operation ran into, so a write can check before repeating. */
export interface Attempt {
  readonly number: number
  readonly previousFailure?: Exclude<FailureKind, 'fatal'>
}

/**
 * Runs `operation` until it succeeds, fails for good, or the policy's window closes; once the run is
 * cancelled (the clock's `cancelled`), it starts no attempt and throws ZT190. With a pacer
 * (calls that share a quota), a throttled call waits for its turn in the shared pace instead of
 * backing off on its own; other failures back off with full jitter.
 */
export async function withRetry<T>(
  operation: (attempt: Attempt) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  pacer?: Pacer
): Promise<T> {
  const deadline = policy.clock.now() + policy.windowMs
  let attempt: Attempt = { number: 1 }
  for (;;) {
    const sentAt = (await pacer?.take()) ?? 0
    stopIfCancelled(policy.clock.cancelled, 'before an SSM call')
    try {
      return await operation(attempt)
    } catch (error) {
      const kind = classifyFailure(error)
      if (kind === 'fatal') throw error
      if (kind === 'throttled' && pacer) {
        pacer.throttled(sentAt)
        if (policy.clock.now() > deadline) throw error
      } else {
        const backoff = policy.random() * backoffMs(policy, attempt.number)
        if (policy.clock.now() + backoff > deadline) throw error
        await policy.clock.sleep(backoff)
      }
      attempt = { number: attempt.number + 1, previousFailure: kind }
    }
  }
}
