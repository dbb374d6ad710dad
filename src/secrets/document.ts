import { parseDocument, isMap, isScalar } from 'yaml'
import { InputProblem } from '../errors.js'
import type { NamedValue } from './redact.js'

/** One secret as the pipeline handed it over: its original name and its value. */
export interface SecretInput {
  readonly name: string
  readonly value: string
}

const INPUT = 'secrets'

export type SecretEntries = ReadonlyArray<readonly [string, unknown]>

/**
 * Reads the `secrets` input: a JSON object (`toJSON(secrets)`) or a YAML mapping.
 * Error messages give positions only: the parsers' own messages quote the text, which holds the
 * values, so they are never passed on.
 */
export function readSecretEntries(raw: string): SecretEntries {
  const text = raw.trim()
  if (!text) return []
  return text.startsWith('{') ? parseJson(text) : parseYaml(text)
}

/** Every string in the entries, nested or not, with the name of its secret, so that all of them can be masked first. */
export function valuesToMask(entries: SecretEntries): NamedValue[] {
  return entries.flatMap(([name, value]) => stringsIn(value).map((text) => ({ name, value: text })))
}

/** Keeps the entries whose value is a string; anything else is an error naming the secret. */
export function toSecretInputs(entries: SecretEntries): SecretInput[] {
  const invalid = entries.filter(([, value]) => typeof value !== 'string')
  if (invalid.length) {
    const problems = invalid.map(([name, value]) => `"${name}" must be a string value, not ${describe(value)}`)
    throw new InputProblem(INPUT, problems.join('; '))
  }
  return entries.map(([name, value]) => ({ name, value: value as string }))
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)]
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn)
  return []
}

function parseJson(text: string): Array<[string, unknown]> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    const position = /position (\d+)/.exec(String(error))?.[1]
    throw new InputProblem(INPUT, `is not valid JSON${position ? ` (error at character ${position})` : ''}`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InputProblem(INPUT, 'must be a JSON object of NAME: value')
  }
  const repeated = namesGivenTwice(topLevelJsonNames(text))
  if (repeated.length) {
    throw new InputProblem(
      INPUT,
      `${repeated.map((name) => `"${name}"`).join(', ')} ${repeated.length > 1 ? 'are' : 'is'} given twice; JSON would silently keep only the last value`
    )
  }
  return Object.entries(parsed)
}

function namesGivenTwice(names: readonly string[]): string[] {
  const seen = new Set<string>()
  return [...new Set(names.filter((name) => seen.has(name) || !seen.add(name)))]
}

/**
 * The names of a JSON object's own members, in order and decoded, so that `"A"` and `"\u0041"` are
 * the same name. Only called on text that JSON.parse accepted, so strings and brackets are balanced.
 */
function topLevelJsonNames(text: string): string[] {
  const names: string[] = []
  let depth = 0
  let nameNext = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === '"') {
      const end = endOfJsonString(text, i)
      if (depth === 1 && nameNext) names.push(JSON.parse(text.slice(i, end + 1)) as string)
      nameNext = false
      i = end
    } else if (char === '{' || char === '[') {
      depth += 1
      nameNext = depth === 1
    } else if (char === '}' || char === ']') {
      depth -= 1
    } else if (char === ',') {
      nameNext = depth === 1
    }
  }
  return names
}

function endOfJsonString(text: string, start: number): number {
  let i = start + 1
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1
  return i
}

function parseYaml(text: string): Array<[string, unknown]> {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true })
  if (document.errors.length) {
    const where = document.errors.map((error) => describeYamlError(error.code, error.linePos?.[0]))
    throw new InputProblem(INPUT, `is not a valid YAML mapping: ${where.join('; ')}`)
  }
  if (!isMap(document.contents)) {
    throw new InputProblem(INPUT, 'must be a JSON object or a YAML mapping of NAME: value')
  }
  return document.contents.items.map((pair) => {
    const key = isScalar(pair.key) ? pair.key.value : undefined
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw new InputProblem(INPUT, 'every key must be a plain secret name')
    }
    return [String(key), pair.value === null ? null : (pair.value as { toJSON(): unknown }).toJSON()]
  })
}

function describeYamlError(code: string, position?: { line: number; col: number }): string {
  const readable = code === 'DUPLICATE_KEY' ? 'a name is given twice' : code.toLowerCase().replace(/_/g, ' ')
  return position ? `${readable} at line ${position.line}, column ${position.col}` : readable
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a nested object'
  return `a ${typeof value}`
}
