import { parseGoDuration } from './duration.js'
import { qualifiedName, type ExternalSecret } from '../k8s/types.js'

/**
 * The checks that run before any annotation: that the references of each selected
 * ExternalSecret point at this environment's parameters, and that its refresh policy lets an
 * annotation trigger a refresh. Pure: the SSM existence check takes the names found missing.
 */

export const PLACEHOLDER = '_ENV_'

export interface Reference {
  /** `namespace/name` of the ExternalSecret */
  readonly externalSecret: string
  /** Where in the spec: `spec.data[0].remoteRef.key` */
  readonly field: string
  readonly key: string
  /** A single parameter read by name (remoteRef.key), whose existence can be checked. */
  readonly single: boolean
  /** remoteRef.version / extract.version: the operator then reads `key:version`, that version only. */
  readonly version?: string
}

export interface Scope {
  /** `/zerotouch`, no trailing slash */
  readonly pathPrefix: string
  readonly environment: string
}

export function referencesOf(es: ExternalSecret): Reference[] {
  const externalSecret = qualifiedName(es)
  const references: Reference[] = []
  ;(es.spec?.data ?? []).forEach((item, index) => {
    const key = item?.remoteRef?.key
    if (typeof key === 'string') references.push({ externalSecret, field: `spec.data[${index}].remoteRef.key`, key, single: true, ...pinned(item?.remoteRef?.version) })
  })
  ;(es.spec?.dataFrom ?? []).forEach((item, index) => {
    const extract = item?.extract?.key
    if (typeof extract === 'string') references.push({ externalSecret, field: `spec.dataFrom[${index}].extract.key`, key: extract, single: false, ...pinned(item?.extract?.version) })
    const path = item?.find?.path
    if (typeof path === 'string') references.push({ externalSecret, field: `spec.dataFrom[${index}].find.path`, key: path, single: false })
  })
  return references
}

function pinned(version: unknown): { version?: string } {
  return version === undefined || version === null || version === '' ? {} : { version: String(version) }
}

export type Placement = 'placeholder' | 'other-environment' | 'this-environment' | 'outside'

/** Where a key points relative to `<prefix>/<environment>/`. */
export function placementOf(key: string, { pathPrefix, environment }: Scope): Placement {
  if (key.includes(PLACEHOLDER)) return 'placeholder'
  const path = key.replace(/\/+$/, '')
  const environmentPath = `${pathPrefix}/${environment}`
  if (path === environmentPath || path.startsWith(`${environmentPath}/`)) return 'this-environment'
  if (path === pathPrefix || path.startsWith(`${pathPrefix}/`)) return 'other-environment'
  return 'outside'
}

export function referenceProblem(reference: Reference, scope: Scope): string | undefined {
  const where = `${reference.externalSecret}: ${reference.field} "${reference.key}"`
  switch (placementOf(reference.key, scope)) {
    case 'placeholder':
      return `${where} still contains the ${PLACEHOLDER} placeholder: the environment overlay did not replace it (check the kustomize overlay or Helm values that render this ExternalSecret for ${scope.environment})`
    case 'other-environment': {
      const rest = reference.key.slice(scope.pathPrefix.length + 1)
      const other = rest.split('/')[0]
      const what = other ? `environment "${other}"` : `all of ${scope.pathPrefix}/`
      return `${where} reads ${what}, not "${scope.environment}": a cross-environment reference; it must be under ${scope.pathPrefix}/${scope.environment}/`
    }
    default:
      return undefined
  }
}

/** What the operator asks SSM for: the key, with `:<version>` when the reference pins one. */
function readName({ key, version }: Reference): string {
  return version === undefined ? key : `${key}:${version}`
}

/** The SSM names to check for existence: single-parameter references under this environment. */
export function namesToVerify(references: readonly Reference[], scope: Scope): string[] {
  const names = references.filter((reference) => reference.single && placementOf(reference.key, scope) === 'this-environment').map(readName)
  return [...new Set(names)].sort()
}

export function missingProblems(references: readonly Reference[], missing: ReadonlySet<string>): string[] {
  return references
    .filter((reference) => reference.single && missing.has(readName(reference)))
    .map(({ externalSecret, field, key, version }) =>
      version === undefined
        ? `${externalSecret}: ${field} "${key}" does not exist in SSM Parameter Store (nothing was pushed under that name)`
        : `${externalSecret}: ${field} "${key}" pins version ${version}, which does not exist in SSM Parameter Store`
    )
}

/**
 * References pinned to a version of a parameter in `names`: a value written there is a new version,
 * which a pinned reference never reads, however often it syncs.
 */
export function pinnedVersionProblems(references: readonly Reference[], names: ReadonlySet<string>): string[] {
  return references
    .filter((reference) => reference.version !== undefined && names.has(reference.key))
    .map(
      ({ externalSecret, field, key, version }) =>
        `${externalSecret}: ${field} "${key}" is pinned to version ${version}, so the value this action writes there (a new version) will never reach it: remove the version from the reference`
    )
}

/**
 * Refresh policies under which a changed annotation triggers nothing (ESO: CreatedOnce; Periodic
 * or unset with refreshInterval 0 once synced), so force-sync would wait for its timeout.
 */
export function refreshPolicyProblem(es: ExternalSecret): string | undefined {
  const name = qualifiedName(es)
  const policy = es.spec?.refreshPolicy ?? ''
  if (policy === 'CreatedOnce') {
    return `${name}: refreshPolicy CreatedOnce never refreshes on an annotation change, so force-sync cannot work: set refreshPolicy: OnChange, or Periodic with a refreshInterval above 0 (e.g. 1h)`
  }
  if (policy && policy !== 'Periodic') return undefined
  const interval = es.spec?.refreshInterval
  if (interval === undefined || interval === null) return undefined // ESO's default is 1h
  const millis = parseGoDuration(String(interval))
  if (millis === undefined || millis > 0) return undefined
  return `${name}: refreshInterval "${interval}" with refreshPolicy ${policy || 'unset (Periodic)'} means the operator never refreshes it after the first sync, not even on an annotation change, so force-sync cannot work: set refreshInterval above 0 (e.g. 1h), or refreshPolicy: OnChange`
}

/** Every problem of the selected ExternalSecrets but the SSM existence check, in order. */
export function guardrailProblems(externalSecrets: readonly ExternalSecret[], scope: Scope): string[] {
  return externalSecrets.flatMap((es) => {
    const problems = referencesOf(es).flatMap((reference) => referenceProblem(reference, scope) ?? [])
    const policy = refreshPolicyProblem(es)
    return policy ? [...problems, policy] : problems
  })
}
