import { InputProblem } from '../errors.js'

/** One requirement of a Kubernetes label selector. */
export type Requirement =
  | { readonly key: string; readonly operator: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly operator: 'exists' | 'absent' }

/** A parsed selector with the text it was parsed from (what the API server is sent). */
export interface LabelSelector {
  readonly text: string
  readonly requirements: readonly Requirement[]
}

const NAME_PART = '[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?'
const DNS_PREFIX = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*'
/** A Kubernetes qualified name, as label and annotation keys are: `[prefix/]name`. */
export const QUALIFIED_NAME = new RegExp(`^(${DNS_PREFIX}/)?${NAME_PART}$`)
const LABEL_VALUE = new RegExp(`^(${NAME_PART})?$`)

/**
 * Parses a label selector as the API server does (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x)`, `a`, `!a`, comma separated), so that a typo fails before anything is written.
 */
export function parseLabelSelector(input: string, raw: string): LabelSelector {
  const value = raw.trim()
  const refuse = (why: string): never => {
    throw new InputProblem(input, `"${value}" is not a valid label selector: ${why}`)
  }
  const parts = value.match(/[^,(]+(\([^)]*\))?/g) ?? []
  if (!value || parts.join(',') !== value) refuse('expected requirements such as app=web,tier!=db separated by commas')
  const requirements = parts.map((part) => {
    const requirement = readRequirement(part.trim()) ?? refuse(`cannot read "${part.trim()}"`)
    if (!QUALIFIED_NAME.test(requirement.key)) refuse(`"${requirement.key}" is not a valid label key`)
    const bad = 'values' in requirement ? requirement.values.find((v) => !LABEL_VALUE.test(v)) : undefined
    if (bad !== undefined) refuse(`"${bad}" is not a valid label value`)
    return requirement
  })
  return { text: value, requirements }
}

function readRequirement(text: string): Requirement | undefined {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text)
  if (set)
    return { key: set[1], operator: set[2] === 'in' ? 'in' : 'notin', values: set[3].split(',').map((v) => v.trim()) }
  const equality = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text)
  if (equality) return { key: equality[1], operator: equality[2] === '!=' ? 'notin' : 'in', values: [equality[3]] }
  const exists = /^(!?)([^=!\s]+)$/.exec(text)
  if (exists) return { key: exists[2], operator: exists[1] ? 'absent' : 'exists' }
  return undefined
}

export function matchesLabelSelector(selector: LabelSelector, labels: Readonly<Record<string, string>> = {}): boolean {
  return selector.requirements.every((requirement) => {
    const has = Object.hasOwn(labels, requirement.key)
    switch (requirement.operator) {
      case 'exists':
        return has
      case 'absent':
        return !has
      case 'in':
        return has && requirement.values.includes(labels[requirement.key])
      case 'notin':
        return !has || !requirement.values.includes(labels[requirement.key])
    }
  })
}

/** A `metav1.LabelSelector` as objects carry it (a workload's `spec.selector`). */
export interface LabelSelectorSpec {
  readonly matchLabels?: Readonly<Record<string, string>>
  readonly matchExpressions?: ReadonlyArray<{
    readonly key: string
    readonly operator: string
    readonly values?: readonly string[]
  }>
}

/**
 * The selector as the `labelSelector` query parameter says it, as kubectl turns a workload's selector into one
 * (k8s.io/apimachinery pkg/apis/meta/v1/helpers.go LabelSelectorAsSelector, then String()): `k=v` for each label,
 * `k in (a,b)`, `k notin (a)`, `k`, `!k` for each expression. Undefined for an operator it does not know (nothing
 * could be selected safely).
 */
export function selectorText(spec: LabelSelectorSpec): string | undefined {
  const labels = Object.entries(spec.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`)
  const expressions = (spec.matchExpressions ?? []).map(({ key, operator, values = [] }) => {
    const list = [...values].sort().join(',')
    switch (operator) {
      case 'In':
        return `${key} in (${list})`
      case 'NotIn':
        return `${key} notin (${list})`
      case 'Exists':
        return key
      case 'DoesNotExist':
        return `!${key}`
      default:
        return undefined
    }
  })
  if (expressions.includes(undefined)) return undefined
  return [...labels, ...expressions].join(',')
}
