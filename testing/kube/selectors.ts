/** `labelSelector` and `fieldSelector` query parameters, with the API server's grammar and semantics. */
import { badRequest } from './errors.ts'
import type { KubeObject } from './json.ts'
import type { ResourceType } from './resources.ts'

export type Matcher = (object: KubeObject) => boolean

const KEY = String.raw`[A-Za-z0-9][A-Za-z0-9._/-]*`
const VALUE = String.raw`[A-Za-z0-9._-]*`
const EXISTS = new RegExp(String.raw`^(!?)\s*(${KEY})$`)
const EQUALITY = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*(${VALUE})$`)
const SET = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\(([^()]*)\)$`)

/**
 * Parses a label selector: `k=v`, `k==v`, `k!=v` (also true when k is absent), `k in (a,b)`, `k notin (a,b)` (also
 * true when k is absent), `k` (exists), `!k` (absent); commas join requirements with AND.
 */
export function labelSelector(text: string | null): Matcher {
  const requirements = splitOutsideParentheses(text ?? '').map(parseRequirement)
  return (object) => requirements.every((requirement) => requirement(object.metadata.labels ?? {}))
}

function parseRequirement(text: string): (labels: Record<string, string>) => boolean {
  const exists = EXISTS.exec(text)
  if (exists) {
    const [, negated, key] = exists
    return (labels) => key in labels !== (negated === '!')
  }
  const equality = EQUALITY.exec(text)
  if (equality) {
    const [, key, operator, value] = equality
    return operator === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value
  }
  const set = SET.exec(text)
  if (set) {
    const [, key, operator, list] = set
    const values = list.split(',').map((value) => value.trim())
    if (values.some((value) => !new RegExp(`^${VALUE}$`).test(value)))
      throw badRequest(`unable to parse requirement: invalid values in "${text}"`)
    return operator === 'in'
      ? (labels) => key in labels && values.includes(labels[key])
      : (labels) => !(key in labels) || !values.includes(labels[key])
  }
  throw badRequest(
    `unable to parse requirement: found "${text}", expected: key, !key, key=value, key!=value, key in (...) or key notin (...)`
  )
}

function splitOutsideParentheses(text: string): string[] {
  const parts: string[] = []
  let depth = 0
  let current = ''
  for (const char of text) {
    if (char === '(') depth++
    if (char === ')') depth--
    if (char === ',' && depth === 0) {
      parts.push(current)
      current = ''
    } else current += char
  }
  parts.push(current)
  return parts.map((part) => part.trim()).filter((part) => part !== '')
}

/**
 * Parses a field selector (`f=v`, `f==v`, `f!=v`, comma = AND) over the fields this type supports: always
 * `metadata.name` and `metadata.namespace`, plus the type's own (events: involvedObject.*, reason, type...).
 * An unsupported field is a 400, as on the real server.
 */
export function fieldSelector(text: string | null, type: ResourceType): Matcher {
  const fields: Record<string, (object: KubeObject) => unknown> = {
    'metadata.name': (o) => o.metadata.name,
    'metadata.namespace': (o) => o.metadata.namespace,
    ...type.fields
  }
  const requirements = (text ?? '')
    .split(',')
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const match = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part)
      if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`)
      const [, field, operator, value] = match
      const read = fields[field]
      if (!read) throw badRequest(`field label not supported: ${field}`)
      return (object: KubeObject) => (fieldText(read(object)) === value) === (operator !== '!=')
    })
  return (object) => requirements.every((requirement) => requirement(object))
}

/** A field's value as a selector compares it: a string as is, a number or boolean as text, '' when absent. */
function fieldText(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}
