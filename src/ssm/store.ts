import type { ParameterVersion, Tier } from './rules.js'

/** A parameter as Parameter Store holds it. */
export interface StoredParameter {
  readonly name: string
  readonly value: string
  readonly type: string
  readonly version: number
}

/** What DescribeParameters says of a parameter: its tier and latest version, and who wrote that version when; no value. */
export interface ParameterStatus {
  readonly name: string
  readonly tier: Tier
  readonly version: number
  /** The latest version's `Description` (SSM copies the previous one onto a version written without one). */
  readonly description?: string
  /** The latest version's `LastModifiedDate`, in ms since the epoch. */
  readonly modifiedAt?: number
  /** The latest version's `LastModifiedUser`: the ARN of the principal that wrote it. */
  readonly modifiedBy?: string
}

export interface ParameterWrite {
  readonly name: string
  readonly value: string
  /** false: create only (fails with ParameterAlreadyExists); true: create a new version. */
  readonly overwrite: boolean
  readonly tier: Tier
  readonly kmsKeyId?: string
  /** The version's description: which run wrote it (history/provenance.ts). */
  readonly description?: string
  /** Only with overwrite false: SSM refuses Tags together with Overwrite. */
  readonly tags?: Readonly<Record<string, string>>
}

/**
 * The calls the action makes on Parameter Store, one method a call, no retries: the retry
 * policy lives with the callers (see retry.ts). Batch limits are the service's: 10 names a call.
 */
export interface ParameterStore {
  /** GetParameters for at most 10 names; names that do not exist come back in `missing`. */
  getParameters(names: readonly string[], decrypt: boolean): Promise<{ found: StoredParameter[]; missing: string[] }>
  /**
   * DescribeParameters filtered by `Name` `Equals` these names (at most DESCRIBE_BATCH_SIZE), every page:
   * names that do not exist are simply absent.
   */
  describeParameters(names: readonly string[]): Promise<ParameterStatus[]>
  /** Names of the parameters directly under `path` (not recursive). */
  listNames(path: string): Promise<string[]>
  /**
   * One page of GetParameterHistory (at most 50 versions); without `decrypt`, each value is SSM's encrypted form (the
   * labels and tiers are what such a read is for).
   */
  getHistoryPage(
    name: string,
    decrypt: boolean,
    nextToken?: string
  ): Promise<{ versions: ParameterVersion[]; nextToken?: string }>
  getTags(name: string): Promise<Record<string, string>>
  /** Returns the version written. */
  putParameter(write: ParameterWrite): Promise<number>
  addTags(name: string, tags: Readonly<Record<string, string>>): Promise<void>
  /** DeleteParameters for at most 10 names. */
  deleteParameters(names: readonly string[]): Promise<{ deleted: string[]; missing: string[] }>
}

/** A region's Parameter Store: aws-region's, or a replica region's. */
export interface RegionStore {
  readonly region: string
  readonly store: ParameterStore
}

export const BATCH_SIZE = 10
/** A `ParameterStringFilter` takes at most 50 values, and DescribeParameters at most 50 results a page. */
export const DESCRIBE_BATCH_SIZE = 50

export function inBatches<T>(items: readonly T[], size = BATCH_SIZE): T[][] {
  const batches: T[][] = []
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size))
  return batches
}
