import pLimit from 'p-limit'
import { Pacer } from './pacer.js'
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.js'
import { inBatches, type ParameterStore, type StoredParameter } from './store.js'

/** Concurrent reads at most: GetParameters shares about 40 calls a second per account. */
export const READ_CONCURRENCY = 4

/**
 * Reads many parameters with GetParameters, 10 names a call, a few calls at once, each under the
 * retry policy, paced together when throttled. Names SSM does not hold are simply absent from the result.
 */
export async function readParameters(
  store: ParameterStore,
  names: readonly string[],
  { decrypt, retry = DEFAULT_RETRY_POLICY }: { decrypt: boolean; retry?: RetryPolicy }
): Promise<StoredParameter[]> {
  const reads = pLimit(READ_CONCURRENCY)
  const pacer = new Pacer(retry)
  const batches = await Promise.all(inBatches(names).map((batch) => reads(() => withRetry(() => store.getParameters(batch, decrypt), retry, pacer))))
  return batches.flatMap(({ found }) => found)
}
