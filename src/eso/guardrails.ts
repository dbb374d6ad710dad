import {
  describeReference,
  PLACEHOLDER,
  pinnedVersion,
  placementOf,
  readName,
  reads,
  referencesOf,
  type ExternalSecret,
  type Reference,
  type Scope,
  type SecretStore
} from './model.js'
import { qualifiedName } from '../k8s/types.js'
import { parseGoDuration } from './duration.js'

/**
 * The checks that run before any annotation: that the references of each selected
 * ExternalSecret point at this environment's parameters, and that its refresh policy lets an
 * annotation trigger a refresh. Pure: the SSM existence check takes the names found missing.
 */

/** A reference of one ExternalSecret, with that ExternalSecret's name for messages. */
export interface OwnedReference {
  /** `namespace/name` */
  readonly externalSecret: string
  /** The definitions file it was rendered from, for a rendered one. */
  readonly origin?: string
  readonly reference: Reference
}

/** Its references resolved through the stores it names (see referencesOf). */
export function ownedReferences(es: ExternalSecret, stores: readonly SecretStore[], origin?: string): OwnedReference[] {
  const externalSecret = qualifiedName(es)
  return referencesOf(es, stores).map((reference) => ({ externalSecret, reference, ...(origin && { origin }) }))
}

function where({ externalSecret, reference }: OwnedReference): string {
  return `${externalSecret}: ${describeReference(reference)}`
}

export function referenceProblem(owned: OwnedReference, scope: Scope): string | undefined {
  const { reference } = owned
  switch (placementOf(reference.key, scope)) {
    case 'placeholder':
      return `${where(owned)} still contains the ${PLACEHOLDER} placeholder: the environment overlay did not replace it (check the kustomize overlay or Helm values that render this ExternalSecret for ${scope.environment})`
    case 'other-environment': {
      const rest = reference.key.slice(scope.pathPrefix.length + 1)
      const other = rest.split('/')[0]
      const what = other ? `environment "${other}"` : `all of ${scope.pathPrefix}/`
      return `${where(owned)} reads ${what}, not "${scope.environment}": a cross-environment reference; it must be under ${scope.pathPrefix}/${scope.environment}/`
    }
    default:
      return undefined
  }
}

/** The SSM names to check for existence: single-parameter references under this environment. */
export function namesToVerify(references: readonly OwnedReference[], scope: Scope): string[] {
  const names = references
    .filter(({ reference }) => reference.kind === 'data' && placementOf(reference.key, scope) === 'this-environment')
    .map(({ reference }) => readName(reference))
  return [...new Set(names)].sort()
}

export function missingProblems(references: readonly OwnedReference[], missing: ReadonlySet<string>): string[] {
  return references
    .filter(({ reference }) => reference.kind === 'data' && missing.has(readName(reference)))
    .map((owned) => {
      const version = pinnedVersion(owned.reference)
      return version === undefined
        ? `${where(owned)} does not exist in SSM Parameter Store (nothing was pushed under that name)`
        : `${where(owned)} pins version ${version}, which does not exist in SSM Parameter Store`
    })
}

/**
 * References pinned to a version of a parameter in `names`: a value written there is a new version,
 * which a pinned reference never reads, however often it syncs.
 */
export function pinnedVersionProblems(references: readonly OwnedReference[], names: ReadonlySet<string>): string[] {
  return references.flatMap((owned) => {
    const version = pinnedVersion(owned.reference)
    if (version === undefined || !names.has(owned.reference.key)) return []
    return [
      `${where(owned)} is pinned to version ${version}, so the value this action writes there (a new version) will never reach it: remove the version from the reference`
    ]
  })
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
export function guardrailProblems(
  externalSecrets: readonly ExternalSecret[],
  scope: Scope,
  stores: readonly SecretStore[]
): string[] {
  return externalSecrets.flatMap((es) => {
    const problems = ownedReferences(es, stores).flatMap((owned) => referenceProblem(owned, scope) ?? [])
    const policy = refreshPolicyProblem(es)
    return policy ? [...problems, policy] : problems
  })
}

/**
 * A prune never deletes a parameter that an ExternalSecret still reads (a live one of the namespaces,
 * or one the definitions render): a run often holds only part of the secrets (Dependabot's runs get
 * Dependabot's secrets only; a reusable workflow, those passed to it): the operator's next sync
 * would fail (a key read by name), or drop the value from the Secret (a `find`), under pods that
 * read it. One problem per parameter and reader, naming both.
 */
export function prunedReferenceProblems(doomed: readonly string[], readers: readonly OwnedReference[]): string[] {
  return doomed.flatMap((name) =>
    readers
      .filter(({ reference }) => reads(reference, name))
      .map(({ externalSecret, origin, reference }) => {
        const reader = origin
          ? `${origin}: ExternalSecret ${externalSecret} (definitions)`
          : `ExternalSecret ${externalSecret}`
        const harm =
          reference.kind === 'find' ? 'its next sync would drop it from the Secret' : 'it would fail its next sync'
        return `${name} would be pruned, but ${reader} reads it (${describeReference(reference)}): ${harm}. Give this run the secret for it, or remove the reference (and let Git apply that) before pruning`
      })
  )
}
