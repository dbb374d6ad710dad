import ms from 'ms'
import { InputProblem } from '../errors.js'
import type { RestorePoint } from '../history/select.js'
import { QUALIFIED_NAME } from '../k8s/label-selector.js'
import { MANAGED_BY_TAG, MAX_LEVELS, MAX_USER_TAGS, TIERS, type Tier } from '../ssm/rules.js'
import { RUN_MODES, type RunMode } from '../phase.js'
import { RESTART_POLICIES, type RestartPolicy } from '../workloads/model.js'

/** Pure parsers, one per kind of input. Each throws an InputProblem naming the input. */

export function parseBoolean(input: string, raw: string): boolean {
  const value = raw.trim().toLowerCase()
  if (value === 'true') return true
  if (value === 'false') return false
  throw new InputProblem(input, `expected true or false, got "${raw.trim()}"`)
}

/** Items separated by commas or new lines, trimmed, empty ones dropped. */
export function parseList(raw: string): string[] {
  return raw
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
}

const PATH_SEGMENT = /^[a-z0-9_-]+$/

/** One path segment such as `environment` or `service`: lower-case letters, digits, `-`, `_`. */
export function parsePathSegment(input: string, raw: string): string {
  const value = raw.trim()
  if (!value) throw new InputProblem(input, 'is required')
  if (!PATH_SEGMENT.test(value)) {
    throw new InputProblem(input, `"${value}" may contain only lower-case letters, digits, "-" and "_"`)
  }
  return value
}

const PREFIX_SEGMENT = /^[a-zA-Z0-9_.-]+$/

/** The root of every parameter name, returned without a trailing slash: `/zerotouch`. */
export function parsePathPrefix(input: string, raw: string): string {
  const value = raw.trim().replace(/\/+$/, '')
  if (!value.startsWith('/')) throw new InputProblem(input, `"${raw.trim()}" must start with "/"`)
  const segments = value.slice(1).split('/')
  if (segments.some((segment) => !PREFIX_SEGMENT.test(segment))) {
    throw new InputProblem(
      input,
      `"${raw.trim()}" must be "/" followed by one or more segments of letters, digits, "_", "." and "-", separated by single "/"`
    )
  }
  if (/^\/(aws|ssm)/i.test(value)) {
    throw new InputProblem(input, `"${value}" may not begin with "/aws" or "/ssm" (reserved by AWS, any case)`)
  }
  if (segments.length + 3 > MAX_LEVELS) {
    throw new InputProblem(
      input,
      `"${value}" has ${segments.length} levels: with environment, service and key a name would have ${segments.length + 3}, and SSM allows ${MAX_LEVELS}`
    )
  }
  return value
}

export function parseRestartPolicy(input: string, raw: string): RestartPolicy {
  const value = raw.trim()
  const policy = RESTART_POLICIES.find((candidate) => candidate === value.toLowerCase())
  if (!policy) throw new InputProblem(input, `"${value}" is not one of ${RESTART_POLICIES.join(', ')}`)
  return policy
}

/** `release` or `check`, in any case. */
export function parseMode(input: string, raw: string): RunMode {
  const value = raw.trim()
  const mode = RUN_MODES.find((candidate) => candidate === value.toLowerCase())
  if (!mode) throw new InputProblem(input, `"${value}" is not one of ${RUN_MODES.join(', ')}`)
  return mode
}

export function parseTier(input: string, raw: string): Tier {
  const value = raw.trim()
  const tier = TIERS.find((candidate) => candidate.toLowerCase() === value.toLowerCase())
  if (!tier) throw new InputProblem(input, `"${value}" is not one of ${TIERS.join(', ')}`)
  return tier
}

const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u

/** `key=value` lines. The `managed-by` tag is the action's own and cannot be set here. */
export function parseTags(input: string, raw: string): Record<string, string> {
  const tags: Record<string, string> = {}
  const lines = raw
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  for (const line of lines) {
    const separator = line.indexOf('=')
    if (separator <= 0) throw new InputProblem(input, `"${line}" is not a key=value line`)
    const key = line.slice(0, separator).trim()
    const value = line.slice(separator + 1).trim()
    if (key.toLowerCase() === MANAGED_BY_TAG) {
      throw new InputProblem(input, `"${MANAGED_BY_TAG}" is set by the action itself and cannot be overridden`)
    }
    if (key.length > 128 || !TAG_TEXT.test(key) || /^aws:/i.test(key)) {
      throw new InputProblem(
        input,
        `tag key "${key}" is not a valid AWS tag key (at most 128 characters of letters, digits, spaces and _ . : / = + - @, not starting with "aws:")`
      )
    }
    if (value.length > 256 || !TAG_TEXT.test(value)) {
      throw new InputProblem(
        input,
        `the value of tag "${key}" is not a valid AWS tag value (at most 256 characters of letters, digits, spaces and _ . : / = + - @)`
      )
    }
    if (key in tags) throw new InputProblem(input, `tag "${key}" is given twice`)
    tags[key] = value
  }
  if (Object.keys(tags).length > MAX_USER_TAGS) {
    throw new InputProblem(
      input,
      `at most ${MAX_USER_TAGS} tags (AWS allows 50 a parameter and the action adds ${MANAGED_BY_TAG})`
    )
  }
  return tags
}

/** An http(s) URL, for a local emulator such as moto or LocalStack. */
export function parseEndpoint(input: string, raw: string): string | undefined {
  const value = raw.trim()
  if (!value) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InputProblem(input, `"${value}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InputProblem(input, `"${value}" must be an http:// or https:// URL`)
  }
  return value
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/

export function parseRegion(input: string, raw: string): string {
  const value = raw.trim()
  if (!value) {
    throw new InputProblem(
      input,
      'no AWS region: set the aws-region input, or AWS_REGION / AWS_DEFAULT_REGION (aws-actions/configure-aws-credentials sets them)'
    )
  }
  if (!REGION.test(value)) throw new InputProblem(input, `"${value}" is not an AWS region name such as eu-west-1`)
  return value
}

/**
 * The replica regions: region names separated by commas, spaces or newlines, each once, none the primary's (`primary`,
 * undefined when aws-region is itself invalid or not needed).
 */
export function parseReplicaRegions(input: string, raw: string, primary: string | undefined): string[] {
  const regions = raw.split(/[\s,]+/).filter((region) => region.length > 0)
  const problems = regions.flatMap((region, index) => {
    if (!REGION.test(region)) return [`"${region}" is not an AWS region name such as us-west-2`]
    if (region === primary) return [`"${region}" is aws-region, the primary: list only the other regions`]
    return regions.indexOf(region) < index ? [`"${region}" is given twice`] : []
  })
  if (problems.length) throw new InputProblem(input, problems.join('; '))
  return regions
}

/** The longest wait a Node.js timer can hold (about 24.8 days); a longer one would fire at once. */
const MAX_DURATION_MS = 2 ** 31 - 1

/** A duration: `90s`, `5m`, `1h`, or plain seconds. Returned in milliseconds. */
export function parseDuration(input: string, raw: string): number {
  const value = raw.trim()
  const millis = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : value ? ms(value as ms.StringValue) : undefined
  if (typeof millis !== 'number' || !Number.isFinite(millis) || millis <= 0) {
    throw new InputProblem(input, `"${value}" is not a duration such as 90s, 5m or a number of seconds`)
  }
  if (millis > MAX_DURATION_MS)
    throw new InputProblem(input, `"${value}" is longer than the action can wait (24 days at most)`)
  return millis
}

/** A Kubernetes qualified name, as label and annotation keys are: `[prefix/]name`. */
export function parseQualifiedName(input: string, raw: string): string {
  const value = raw.trim()
  const prefix = value.includes('/') ? value.slice(0, value.indexOf('/')) : ''
  if (!QUALIFIED_NAME.test(value) || prefix.length > 253) {
    throw new InputProblem(
      input,
      `"${value}" is not a valid Kubernetes key: [prefix/]name, the name at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit`
    )
  }
  return value
}

const NAMESPACE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

export function parseNamespace(input: string, raw: string): string {
  if (!NAMESPACE.test(raw))
    throw new InputProblem(
      input,
      `"${raw}" is not a valid namespace name (lower-case letters, digits and "-", at most 63)`
    )
  return raw
}

/**
 * `2026-11-30T12:00:00Z` (or `+00:00`), seconds and fractions optional: UTC only, so that a point means the same
 * everywhere.
 */
const UTC_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?(\.\d{1,9})?(?:Z|\+00:00)$/
const RUN_POINT = /^run:0*(\d{1,20})$/

/** A restore point: an ISO-8601 UTC time, or `run:<run id>`. */
export function parseRestorePoint(input: string, raw: string): RestorePoint {
  const value = raw.trim()
  const run = RUN_POINT.exec(value)
  if (run) return { kind: 'run', runId: run[1] }
  const time = UTC_TIME.exec(value)
  if (!time)
    throw new InputProblem(input, `"${value}" is neither an ISO-8601 UTC time (2026-11-30T12:00:00Z) nor run:<run id>`)
  const at = Date.parse(value)
  // Date.parse rolls 2026-02-30 over into March; a time that does not exist is a typo.
  if (Number.isNaN(at) || new Date(at).toISOString().slice(0, 19) !== `${time[1]}${time[2] ?? ':00'}`)
    throw new InputProblem(input, `"${value}" is not a time that exists`)
  return { kind: 'time', at }
}
