import { InputProblem } from '../errors.js'
import { ADVANCED_LIMIT, MAX_LEVELS, MAX_NAME_LENGTH, parameterName, tierLimit, type Tier } from '../ssm/rules.js'
import type { SelectedSecret } from './select.js'

/** A secret ready to push: the original name, the normalized key and the value. */
export interface Secret {
  readonly source: string
  readonly key: string
  readonly value: string
}

const KEY = /^[a-z0-9_]+$/

/** The platform's normalization: `DATABASE_URL` -> `database_url`. */
export function normalizeKey(name: string): string {
  return name.toLowerCase()
}

/**
 * Normalizes every selected secret and checks names, duplicates, empty values and sizes.
 * Every problem is reported in one InputProblem; the messages name secrets, never values.
 */
export function normalizeSecrets(
  selected: readonly SelectedSecret[],
  { tier, path }: { tier: Tier; path?: string }
): Secret[] {
  const problems = [
    ...selected.flatMap((secret) => {
      const invalidName = nameProblems(secret)
      const invalidPath =
        path && !invalidName.length ? parameterNameProblems(secret, parameterName(path, normalizeKey(secret.name))) : []
      return [...invalidName, ...invalidPath, ...valueProblems(secret, tier)]
    }),
    ...duplicateProblems(selected)
  ]
  if (problems.length) throw new InputProblem('secrets', problems.join('; '))
  return selected.map(({ source, name, value }) => ({ source, key: normalizeKey(name), value }))
}

function nameProblems({ source, name }: SelectedSecret): string[] {
  if (!name) return [`"${source}" is nothing once strip-prefix is removed`]
  if (name.includes('-')) return [`"${source}" contains a hyphen; secret names may use letters, digits and "_" only`]
  if (!KEY.test(normalizeKey(name))) {
    return [`"${source}" may contain only ASCII letters, digits and "_"`]
  }
  return []
}

function parameterNameProblems({ source }: SelectedSecret, name: string): string[] {
  const levels = name.split('/').length - 1
  if (levels > MAX_LEVELS)
    return [`"${source}" would be stored as ${name}, ${levels} levels deep; SSM allows ${MAX_LEVELS}`]
  if (name.length > MAX_NAME_LENGTH)
    return [`"${source}" would be stored under a name of ${name.length} characters; SSM allows ${MAX_NAME_LENGTH} here`]
  return []
}

function valueProblems({ source, value }: SelectedSecret, tier: Tier): string[] {
  if (!value.trim()) return [`"${source}" has an empty value (SSM refuses empty values)`]
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes <= tierLimit(tier)) return []
  if (bytes > ADVANCED_LIMIT) {
    return [`"${source}" is ${bytes} bytes, more than any SSM tier stores (${ADVANCED_LIMIT} bytes at most)`]
  }
  return [
    `"${source}" is ${bytes} bytes, more than the ${tier} tier's ${tierLimit(tier)}; set tier: Advanced or Intelligent-Tiering`
  ]
}

function duplicateProblems(selected: readonly SelectedSecret[]): string[] {
  const byKey = Map.groupBy(selected, ({ name }) => normalizeKey(name))
  return [...byKey]
    .filter(([key, group]) => key && group.length > 1)
    .map(([key, group]) => `${group.map(({ source }) => `"${source}"`).join(' and ')} both become the key "${key}"`)
}
