import { pushSecrets, type PushDependencies, type PushReport } from '../src/push/push.js'
import { createRedactor } from '../src/secrets/redact.js'
import { serviceTarget } from '../src/ssm/rules.js'
import type { ParameterStore } from '../src/ssm/store.js'
import type { Clock } from '../src/time.js'
import { tokenBucket } from '../testing/ssm-proxy.ts'
import { awsError } from './aws-errors.js'
import { MemoryStore } from './memory-store.js'
import { localWriter } from './writer.js'

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

/**
 * A first push of `keys` new keys (`k0`: `v0`, ...) to `store` (and `replicas`), on `clock`: retries from 100 ms up
 * to 5 s, for up to 2 minutes.
 */
export function firstPush(
  clock: Clock,
  keys: number,
  { store, replicas }: Pick<PushDependencies, 'store' | 'replicas'>
): Promise<PushReport> {
  const secrets = Array.from({ length: keys }, (_, i) => ({ source: `K${i}`, key: `k${i}`, value: `v${i}` }))
  return pushSecrets(
    {
      secrets,
      target: serviceTarget('/zerotouch', 'prod', 'svc'),
      write: { tier: 'Standard', tags: {}, prune: false },
      dryRun: false
    },
    {
      store,
      replicas,
      redact: createRedactor([]),
      retry: { baseMs: 100, capMs: 5_000, windowMs: 120_000, clock, random: () => 0.5 },
      writer: localWriter
    }
  )
}
