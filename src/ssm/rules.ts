/** Parameter Store's rules that the action plans around, and the names it writes. Pure. */

/** The most levels a parameter name may have. */
export const MAX_LEVELS = 15

/** SSM counts 1,011 characters with the ARN prefix; this is the longest one, in GovCloud. */
export const MAX_NAME_LENGTH = 1011 - 'arn:aws-us-gov:ssm:ap-southeast-1:123456789012:parameter'.length

export const TIERS = ['Standard', 'Advanced', 'Intelligent-Tiering'] as const
export type Tier = (typeof TIERS)[number]

const STANDARD_LIMIT = 4096
export const ADVANCED_LIMIT = 8192

/** The largest value, in bytes of UTF-8, that a tier stores. */
export function tierLimit(tier: Tier): number {
  return tier === 'Standard' ? STANDARD_LIMIT : ADVANCED_LIMIT
}

/**
 * The tier a write of an existing parameter sends. SSM never moves an Advanced parameter back to
 * Standard: PutParameter answers a `ValidationException` ("You can't downgrade a parameter from the
 * advanced-parameter tier to the standard-parameter tier"; SSM API reference, PutParameter, `Tier`),
 * so an Advanced parameter is written as Advanced whatever `tier` says; any other takes `wanted`.
 */
export function writeTier(wanted: Tier, current: Tier | undefined): Tier {
  return current === 'Advanced' ? 'Advanced' : wanted
}

/** The tag that marks the action's own parameters: prune and overwrite touch no others. */
export const MANAGED_BY_TAG = 'managed-by'
export const MANAGED_BY_VALUE = 'zerotouch-secrets'
export function isManaged(tags: Readonly<Record<string, string>>): boolean {
  return tags[MANAGED_BY_TAG] === MANAGED_BY_VALUE
}

/** AWS allows 50 tags a parameter; the action adds managed-by. */
export const MAX_USER_TAGS = 49

/** Where one service's parameters live: `/<prefix>/<environment>/<service>/<key>`. */
export interface ServiceTarget {
  /** `/zerotouch`, no trailing slash */
  readonly pathPrefix: string
  readonly environment: string
  readonly service: string
  /** `/<prefix>/<environment>/<service>`: the only place the action writes or deletes. */
  readonly path: string
}

export function serviceTarget(pathPrefix: string, environment: string, service: string): ServiceTarget {
  return { pathPrefix, environment, service, path: `${pathPrefix}/${environment}/${service}` }
}

export function parameterName(servicePath: string, key: string): string {
  return `${servicePath}/${key}`
}

/** The key of a parameter: the last segment of its name. */
export function keyOf(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1)
}

/** One version of a parameter, as GetParameterHistory returns it. */
export interface ParameterVersion {
  readonly version: number
  readonly value: string
  /** LastModifiedDate, in ms since the epoch. */
  readonly modifiedAt: number
  readonly description?: string
  /** The labels on this version (LabelParameterVersion); none when absent. */
  readonly labels?: readonly string[]
  /** The tier of the parameter when this version was written. */
  readonly tier?: Tier
}

/**
 * SSM keeps the last 100 versions of a parameter: a new version drops the oldest, and is refused
 * (`ParameterMaxVersionLimitExceeded`) when that oldest version carries a label (Parameter Store user
 * guide, "Working with parameter versions"; SSM API reference, PutParameter, Errors).
 */
export const KEPT_VERSIONS = 100

/** Whether a parameter at this version holds the 100 versions SSM keeps, so that a new one drops its oldest. */
export function holdsAllKeptVersions(version: number): boolean {
  return version >= KEPT_VERSIONS
}

/**
 * The version a new write would drop and its labels, when SSM would refuse that write for them: the
 * history holds the 100 versions SSM keeps and the oldest carries a label. Undefined when a new
 * version can be written.
 */
export function labelledOldest(history: ParameterHistory): ParameterVersion | undefined {
  if (history.versions.length < KEPT_VERSIONS) return undefined
  const oldest = history.versions.reduce((a, b) => (b.version < a.version ? b : a))
  return oldest.labels?.length ? oldest : undefined
}

/** A parameter's retained versions, in any order. */
export interface ParameterHistory {
  readonly name: string
  readonly versions: readonly ParameterVersion[]
}
