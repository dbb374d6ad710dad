import pLimit from 'p-limit'
import type { ParameterHistory, ParameterVersion } from './rules.js'
import { Pacer } from './pacer.js'
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.js'
import { isManaged } from './rules.js'
import {
  DESCRIBE_BATCH_SIZE,
  inBatches,
  type ParameterStatus,
  type ParameterStore,
  type StoredParameter
} from './store.js'

/** Concurrent reads at most: GetParameters shares about 40 calls a second per account. */
export const READ_CONCURRENCY = 4

interface ReadOptions {
  readonly decrypt: boolean
  readonly retry?: RetryPolicy
}

/**
 * GetParameters over many names, 10 names a call, a few calls at once, each under the retry
 * policy, paced together when throttled.
 */
async function getInBatches(
  store: ParameterStore,
  names: readonly string[],
  { decrypt, retry = DEFAULT_RETRY_POLICY }: ReadOptions
) {
  const reads = pLimit(READ_CONCURRENCY)
  const pacer = new Pacer(retry.clock)
  return Promise.all(
    inBatches(names).map((batch) => reads(() => withRetry(() => store.getParameters(batch, decrypt), retry, pacer)))
  )
}

/** The parameters among `names` that SSM holds; names it does not hold are simply absent. */
export async function readParameters(
  store: ParameterStore,
  names: readonly string[],
  options: ReadOptions
): Promise<StoredParameter[]> {
  return (await getInBatches(store, names, options)).flatMap(({ found }) => found)
}

/**
 * The names SSM reports it does not hold, without decryption. A name may carry a version
 * selector (`/a/b:3`), as the External Secrets Operator reads a pinned `remoteRef.version`.
 */
export async function missingParameters(
  store: ParameterStore,
  names: readonly string[],
  retry?: RetryPolicy
): Promise<Set<string>> {
  return new Set((await getInBatches(store, names, { decrypt: false, retry })).flatMap(({ missing }) => missing))
}

/**
 * The tier and latest version of each parameter among `names` that SSM holds (DescribeParameters, 50
 * names a call, a few calls at once, each under the retry policy, paced together when throttled).
 */
export async function describeParameters(
  store: ParameterStore,
  names: readonly string[],
  retry: RetryPolicy = DEFAULT_RETRY_POLICY
): Promise<Map<string, ParameterStatus>> {
  const reads = pLimit(READ_CONCURRENCY)
  const pacer = new Pacer(retry.clock)
  const pages = await Promise.all(
    inBatches(names, DESCRIBE_BATCH_SIZE).map((batch) =>
      reads(() => withRetry(() => store.describeParameters(batch), retry, pacer))
    )
  )
  return new Map(pages.flat().map((status) => [status.name, status]))
}

/**
 * A parameter's whole retained history (at most 100 versions), page by page, each page under the retry policy;
 * decrypted only when the values are needed (an old version may be encrypted with a key the role cannot use).
 */
export async function readHistory(
  store: ParameterStore,
  name: string,
  { retry, pacer, decrypt }: { retry: RetryPolicy; pacer: Pacer; decrypt: boolean }
): Promise<ParameterHistory> {
  const versions: ParameterVersion[] = []
  let nextToken: string | undefined
  do {
    const page = await withRetry(() => store.getHistoryPage(name, decrypt, nextToken), retry, pacer)
    versions.push(...page.versions)
    nextToken = page.nextToken
  } while (nextToken)
  return { name, versions }
}

/**
 * The retained histories of these parameters, a few at once, each page under the retry policy, paced together when
 * throttled (with the caller's other reads when it hands its `pacer`); decrypted only when the values are needed.
 */
export function readHistories(
  store: ParameterStore,
  names: readonly string[],
  {
    retry = DEFAULT_RETRY_POLICY,
    decrypt,
    pacer = new Pacer(retry.clock)
  }: { retry?: RetryPolicy; decrypt: boolean; pacer?: Pacer }
): Promise<ParameterHistory[]> {
  const reads = pLimit(READ_CONCURRENCY)
  return Promise.all(names.map((name) => reads(() => readHistory(store, name, { retry, pacer, decrypt }))))
}

/** The tags of each name, a few reads at once, each under the retry policy. */
export async function readTags(
  store: ParameterStore,
  names: readonly string[],
  retry: RetryPolicy = DEFAULT_RETRY_POLICY,
  pacer?: Pacer
): Promise<Map<string, Record<string, string>>> {
  const reads = pLimit(READ_CONCURRENCY)
  const tags = await Promise.all(names.map((name) => reads(() => withRetry(() => store.getTags(name), retry, pacer))))
  return new Map(names.map((name, index) => [name, tags[index]]))
}

/** The names tagged as the action's own (prune and restore touch only those), and the others. */
export async function splitByOwner(
  store: ParameterStore,
  names: readonly string[],
  retry?: RetryPolicy,
  pacer?: Pacer
): Promise<{ managed: string[]; notOwned: string[] }> {
  const tags = await readTags(store, names, retry, pacer)
  const { managed = [], notOwned = [] } = Object.groupBy(names, (name) =>
    isManaged(tags.get(name) ?? {}) ? 'managed' : 'notOwned'
  )
  return { managed, notOwned }
}
