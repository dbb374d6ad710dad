import { isRecord } from '../json.js'
import type { Condition, ObjectMeta } from '../k8s/types.js'

/**
 * The External Secrets Operator's ExternalSecret, as the action reads it (only the fields it
 * uses; both external-secrets.io versions, v1 and v1beta1, share them), and the SSM references
 * in its spec. Pure.
 */

export const ESO_GROUP = 'external-secrets.io'
export const ESO_PLURAL = 'externalsecrets'
/**
 * The field manager of ESO's writes to a target Secret in `metadata.managedFields`: the API server names a manager
 * by its user agent's program name when the client gives none (k8s.io/apiserver pkg/endpoints/handlers/rest.go,
 * managerOrUserAgent), and ESO's controller-runtime client runs as the `external-secrets` binary.
 */
export const ESO_FIELD_MANAGER = 'external-secrets'
/** The versions whose ExternalSecret fields the action knows, most preferred first. */
export const KNOWN_VERSIONS = ['v1', 'v1beta1'] as const

/** `external-secrets.io/v1` */
export function esoApiVersion(version: string): string {
  return `${ESO_GROUP}/${version}`
}

export interface ExternalSecret {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata: ObjectMeta
  readonly spec?: {
    readonly refreshPolicy?: string
    readonly refreshInterval?: string
    readonly target?: { readonly name?: string; readonly creationPolicy?: string; readonly deletionPolicy?: string }
    readonly data?: ReadonlyArray<{
      readonly secretKey?: string
      readonly remoteRef?: { readonly key?: string; readonly version?: string }
    }>
    readonly dataFrom?: ReadonlyArray<{
      readonly extract?: { readonly key?: string; readonly version?: string }
      readonly find?: { readonly path?: string }
    }>
  }
  readonly status?: {
    readonly syncedResourceVersion?: string
    readonly refreshTime?: string
    readonly conditions?: readonly Condition[]
  }
}

/**
 * Whether a rendered or listed object is an ExternalSecret of any external-secrets.io version.
 * Its spec is read defensively field by field (see referencesOf).
 */
export function isExternalSecret(object: unknown): object is ExternalSecret {
  if (!isRecord(object) || object.kind !== 'ExternalSecret') return false
  return (
    typeof object.apiVersion === 'string' &&
    object.apiVersion.startsWith(`${ESO_GROUP}/`) &&
    isRecord(object.metadata) &&
    typeof object.metadata.name === 'string'
  )
}

/** The Secret the operator writes: `spec.target.name`, else the ExternalSecret's own name. */
export function targetSecretName(es: ExternalSecret): string {
  const name = es.spec?.target?.name
  return typeof name === 'string' && name !== '' ? name : es.metadata.name
}

export function readyCondition(es: ExternalSecret): Condition | undefined {
  return es.status?.conditions?.find((condition) => condition.type === 'Ready')
}

/** The placeholder a base definition writes for the environment; each overlay replaces it. */
export const PLACEHOLDER = '_ENV_'

/**
 * Where an ExternalSecret reads SSM: `spec.data[i].remoteRef.key` (one parameter, into one
 * Secret key), `spec.dataFrom[i].extract.key` (one parameter, its JSON keys) or
 * `spec.dataFrom[i].find.path` (every parameter under a path).
 */
export type Reference =
  | {
      readonly kind: 'data'
      readonly index: number
      readonly key: string
      readonly secretKey: string
      readonly version?: string
    }
  | { readonly kind: 'extract'; readonly index: number; readonly key: string; readonly version?: string }
  | { readonly kind: 'find'; readonly index: number; readonly key: string }

export function referencesOf(es: ExternalSecret): Reference[] {
  const references: Reference[] = []
  ;(es.spec?.data ?? []).forEach((item, index) => {
    const key = item?.remoteRef?.key
    if (typeof key === 'string')
      references.push({ kind: 'data', index, key, secretKey: item.secretKey ?? '', ...pinned(item.remoteRef?.version) })
  })
  ;(es.spec?.dataFrom ?? []).forEach((item, index) => {
    const extract = item?.extract?.key
    if (typeof extract === 'string')
      references.push({ kind: 'extract', index, key: extract, ...pinned(item.extract?.version) })
    const path = item?.find?.path
    if (typeof path === 'string') references.push({ kind: 'find', index, key: path })
  })
  return references
}

/** A pinned version as written: YAML may read `version: 3` as a number. */
function pinned(version: unknown): { version?: string } {
  if (typeof version === 'number') return { version: String(version) }
  return typeof version === 'string' && version !== '' ? { version } : {}
}

/** Where in the spec the reference is written: `spec.data[0].remoteRef.key`. */
export function fieldOf(reference: Reference): string {
  switch (reference.kind) {
    case 'data':
      return `spec.data[${reference.index}].remoteRef.key`
    case 'extract':
      return `spec.dataFrom[${reference.index}].extract.key`
    case 'find':
      return `spec.dataFrom[${reference.index}].find.path`
  }
}

/** The version a reference is pinned to: the operator then reads `key:version`, that version only. */
export function pinnedVersion(reference: Reference): string | undefined {
  return reference.kind === 'find' ? undefined : reference.version
}

/** What the operator asks SSM for: the key, with `:<version>` when the reference pins one. */
export function readName(reference: Reference): string {
  const version = pinnedVersion(reference)
  return version === undefined ? reference.key : `${reference.key}:${version}`
}

/** Whether the reference reads the parameter `name`: its key, or a path above it for `find`. */
export function reads(reference: Reference, name: string): boolean {
  if (reference.kind !== 'find') return reference.key === name
  return name.startsWith(reference.key.endsWith('/') ? reference.key : `${reference.key}/`)
}

/** The environment the references of a run must stay in. */
export interface Scope {
  /** `/zerotouch`, no trailing slash */
  readonly pathPrefix: string
  readonly environment: string
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
