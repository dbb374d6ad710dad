/**
 * A proxy in front of moto that enforces Parameter Store's quotas, scaled so runs stay short: one token bucket per
 * region and operation (writes 3 a second, reads 40, times `scale`), a fixed latency added to every call (throttled
 * or not), and the real service's answer over the rate: HTTP 400, `x-amzn-errortype: ThrottlingException`,
 * `{"__type":"ThrottlingException","message":"Rate exceeded"}` (testing/ssm-proxy.ts).
 *
 * The quotas are per account and region: "Parameter Store throughput ... applies to GetParameter, GetParameters,
 * and PutParameter API calls for your Amazon Web Services account and Amazon Web Services Region" (AWS CLI
 * reference, https://docs.aws.amazon.com/cli/latest/reference/ssm/put-parameter.html; shared/reference/
 * ssm-parameter-store.md, "Throughput (per account and region)").
 * So each region a call is signed for has buckets of its own, as one endpoint serves every region here.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { startSsmProxy, tokenBucket, type RecordedCall } from '../testing/ssm-proxy.ts'

/** Parameter Store's default quotas, calls a second per account and region (shared/reference/ssm-parameter-store.md). */
const REAL_RATES = { write: 3, read: 40 } as const

/** Mutating operations share the write quota's rate (each with its own bucket); every other operation the read quota's. */
const WRITE_OPERATIONS = new Set([
  'PutParameter',
  'AddTagsToResource',
  'RemoveTagsFromResource',
  'DeleteParameter',
  'DeleteParameters',
  'LabelParameterVersion'
])

export interface QuotaOptions {
  /** Multiplies both real rates: 10 gives 30 writes and 400 reads a second. */
  readonly scale: number
  /** Added to every call, before the bucket decides. */
  readonly latencyMs: number
}

export interface CallRecord {
  readonly operation: string
  /** The region the call was signed for (its SigV4 credential scope). */
  readonly region: string
  /** performance.now() when the request reached the proxy. */
  readonly arrivedAt: number
  readonly throttled: boolean
}

export interface QuotaProxy {
  readonly endpoint: string
  /** Every call since the last reset, in the order the buckets decided them. */
  readonly calls: readonly CallRecord[]
  /** Calls a second one region's bucket of this operation allows. */
  rate(operation: string): number
  /**
   * Tokens a bucket holds at most: one second of the real quota (3 writes, 40 reads), whatever the scale. AWS
   * publishes no burst for SSM; at scale 10 this lets a tool beat "k calls at the rate" by a tenth of a second at most.
   */
  burst(operation: string): number
  /** Forgets the calls and refills every bucket: each measured run starts from a rested account. */
  reset(): void
  close(): Promise<void>
}

export async function startQuotaProxy(target: string, options: QuotaOptions): Promise<QuotaProxy> {
  const proxy = await startSsmProxy(target)
  const burst = (operation: string) => (WRITE_OPERATIONS.has(operation) ? REAL_RATES.write : REAL_RATES.read)
  const rate = (operation: string) => options.scale * burst(operation)
  /** By region, then operation. */
  const buckets = new Map<string, Map<string, { take(): boolean }>>()
  const arrivals = new WeakMap<RecordedCall, number>()
  const calls: CallRecord[] = []
  proxy.hold = (call) => {
    arrivals.set(call, performance.now())
    return delay(options.latencyMs)
  }
  proxy.fault = (call) => {
    const { region } = call
    const regional = buckets.get(region) ?? new Map<string, { take(): boolean }>()
    buckets.set(region, regional)
    let bucket = regional.get(call.operation)
    if (!bucket) regional.set(call.operation, (bucket = tokenBucket(rate(call.operation), burst(call.operation))))
    const throttled = !bucket.take()
    calls.push({ operation: call.operation, region, arrivedAt: arrivals.get(call) ?? performance.now(), throttled })
    return throttled ? { kind: 'throttle' } : undefined
  }
  return {
    endpoint: proxy.endpoint,
    calls,
    rate,
    burst,
    reset() {
      calls.length = 0
      proxy.calls.length = 0
      buckets.clear()
    },
    close: () => proxy.close()
  }
}
