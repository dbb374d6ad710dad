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
}

/** A parameter's retained versions, in any order. */
export interface ParameterHistory {
  readonly name: string
  readonly versions: readonly ParameterVersion[]
}
