/** Narrowing of parsed JSON and YAML, which arrives as `unknown`. */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The value as an object, or undefined when it is none (a list, a scalar, null). */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined
}

/** The value as a list, or an empty one when it is none. */
export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}
