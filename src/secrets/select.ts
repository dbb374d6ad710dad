import picomatch from 'picomatch'
import type { SecretInput } from './document.js'

export interface SelectionRules {
  readonly include: readonly string[]
  readonly exclude: readonly string[]
  readonly stripPrefix: string
}

/** A secret chosen for pushing, with its name once `strip-prefix` is removed. */
export interface SelectedSecret {
  readonly source: string
  readonly name: string
  readonly value: string
}

/** GitHub adds the job's token to `toJSON(secrets)`; it is never a service secret. */
const ALWAYS_EXCLUDED = ['github_token']

/** Applies `include`, `exclude` (globs over the original names, any case) and `strip-prefix`. */
export function selectSecrets(secrets: readonly SecretInput[], rules: SelectionRules): SelectedSecret[] {
  const included = matcher(rules.include.length ? rules.include : ['*'])
  const excluded = matcher([...ALWAYS_EXCLUDED, ...rules.exclude])
  const prefix = rules.stripPrefix.toLowerCase()
  return secrets
    .filter(({ name }) => included(name) && !excluded(name))
    .filter(({ name }) => name.toLowerCase().startsWith(prefix))
    .map(({ name, value }) => ({ source: name, name: name.slice(prefix.length), value }))
}

/** True when the input holds nothing but what is always excluded (an empty `toJSON(secrets)`). */
export function onlyAlwaysExcluded(names: readonly string[]): boolean {
  return names.every((name) => ALWAYS_EXCLUDED.includes(name.toLowerCase()))
}

/** Secret names are flat: a "/" in one is an ordinary character, not a path separator, to the globs. */
function matcher(patterns: readonly string[]): (name: string) => boolean {
  const flat = (text: string) => text.replaceAll('/', '\u2215')
  const matches = picomatch(patterns.map(flat), { nocase: true, dot: true })
  return (name) => matches(flat(name))
}
