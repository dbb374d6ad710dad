import type { ParameterStore } from '../src/ssm/store.js'
import type { Clock } from '../src/time.js'
import { tokenBucket } from '../testing/ssm-proxy.ts'
import { awsError } from './aws-errors.js'
import { MemoryStore } from './memory-store.js'

export interface WriteQuota {
  /** PutParameter calls a second; absent: no quota. */
  readonly rate?: number
  /** Calls the bucket lets through at once; the rate by default. */
  readonly burst?: number
  /** How long each PutParameter takes, on the clock. */
  readonly latencyMs: number
}

/**
 * An in-memory store (`store`) behind a PutParameter that takes `latencyMs` on `clock` and is throttled, as SSM
 * answers (ThrottlingException), over `rate` a second: `slow` is the store to push to. Counts the throttled calls
 * and records when each accepted write went.
 */
export function quotaStore(clock: Clock, { rate, burst = rate, latencyMs }: WriteQuota) {
  const store = new MemoryStore()
  const bucket = rate === undefined ? undefined : tokenBucket(rate, burst, () => clock.now())
  const stats = { throttled: 0, putTimes: [] as number[] }
  const slow = Object.create(store) as ParameterStore
  slow.putParameter = async (write) => {
    await clock.sleep(latencyMs)
    if (bucket && !bucket.take()) {
      stats.throttled += 1
      throw awsError('ThrottlingException', 400, 'Rate exceeded')
    }
    stats.putTimes.push(clock.now())
    return store.putParameter(write)
  }
  return { store, slow, stats }
}
