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

/**
 * The ClusterExternalSecret (pkg/controllers/clusterexternalsecret/clusterexternalsecret_controller.go): cluster-scoped,
 * it owns the ExternalSecrets it creates in the namespaces it selects, and on every reconcile sets each one's
 * annotations to its `spec.externalSecretMetadata.annotations`, passing on only its own FORCE_SYNC annotation.
 */
export const CES_KIND = 'ClusterExternalSecret'
export const CES_PLURAL = 'clusterexternalsecrets'
/** esv1.AnnotationForceSync (apis/externalsecrets/v1/externalsecret_types.go): the one annotation a CES passes on. */
export const FORCE_SYNC_ANNOTATION = 'external-secrets.io/force-sync'

export interface ClusterExternalSecret {
  readonly metadata: ObjectMeta
  readonly status?: { readonly provisionedNamespaces?: readonly string[] }
}

export function isClusterExternalSecret(object: unknown): object is ClusterExternalSecret {
  return (
    isRecord(object) &&
    object.kind === CES_KIND &&
    isRecord(object.metadata) &&
    typeof object.metadata.name === 'string'
  )
}

/**
 * The ClusterExternalSecret that controls an ExternalSecret: its controller ownerReference of that kind in
 * external-secrets.io (SetControllerReference in createOrUpdateExternalSecret), or undefined.
 */
export function clusterExternalSecretOf(es: ExternalSecret): string | undefined {
  const owner = es.metadata.ownerReferences?.find(
    (reference) =>
      reference.controller === true &&
      reference.kind === CES_KIND &&
      (reference.apiVersion ?? '').startsWith(`${ESO_GROUP}/`)
  )
  return owner?.name || undefined
}

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
    readonly secretStoreRef?: WrittenStoreRef
    readonly data?: ReadonlyArray<{
      readonly secretKey?: string
      readonly remoteRef?: { readonly key?: string; readonly version?: string }
      readonly sourceRef?: { readonly storeRef?: WrittenStoreRef }
    }>
    readonly dataFrom?: ReadonlyArray<{
      readonly extract?: { readonly key?: string; readonly version?: string }
      readonly find?: { readonly path?: string; readonly name?: { readonly regexp?: string } }
      readonly sourceRef?: { readonly storeRef?: WrittenStoreRef }
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

/** `spec.secretStoreRef` (or an item's `sourceRef.storeRef`) as written. */
export interface WrittenStoreRef {
  readonly name?: string
  readonly kind?: string
}

export const SECRET_STORE_KINDS = ['SecretStore', 'ClusterSecretStore'] as const
export type SecretStoreKind = (typeof SECRET_STORE_KINDS)[number]
export const SECRET_STORE_PLURALS: Readonly<Record<SecretStoreKind, string>> = {
  SecretStore: 'secretstores',
  ClusterSecretStore: 'clustersecretstores'
}

/**
 * The store an ExternalSecret reads through: a SecretStore of its own namespace, or a
 * ClusterSecretStore (cluster-scoped, no namespace). The kind defaults to SecretStore
 * (external-secrets `apis/externalsecrets/v1/externalsecret_types.go`, SecretStoreRef; the operator
 * gets it as `pkg/controllers/secretstore/client_manager.go` getStore does).
 */
export type StoreRef =
  | { readonly kind: 'SecretStore'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'ClusterSecretStore'; readonly name: string }

/** A SecretStore or ClusterSecretStore, as the action reads it: its AWS provider's service and prefix. */
export interface SecretStore {
  readonly apiVersion?: string
  readonly kind: SecretStoreKind
  readonly metadata: ObjectMeta
  readonly spec?: {
    readonly provider?: { readonly aws?: { readonly service?: string; readonly prefix?: string } }
  }
}

export function isSecretStore(object: unknown): object is SecretStore {
  if (!isRecord(object) || !(SECRET_STORE_KINDS as readonly unknown[]).includes(object.kind)) return false
  return (
    typeof object.apiVersion === 'string' &&
    object.apiVersion.startsWith(`${ESO_GROUP}/`) &&
    isRecord(object.metadata) &&
    typeof object.metadata.name === 'string'
  )
}

/** `SecretStore "apps/ssm"`, `ClusterSecretStore "ssm"`, for messages. */
export function describeStore(ref: StoreRef): string {
  return ref.kind === 'SecretStore' ? `SecretStore "${ref.namespace}/${ref.name}"` : `ClusterSecretStore "${ref.name}"`
}

function storeRef(written: WrittenStoreRef | undefined, namespace: string): StoreRef | undefined {
  const name = written?.name
  if (typeof name !== 'string' || name === '') return undefined
  return written?.kind === 'ClusterSecretStore'
    ? { kind: 'ClusterSecretStore', name }
    : { kind: 'SecretStore', namespace, name }
}

/**
 * Whether two references name the same store. An empty namespace (a rendered object that leaves it to
 * the namespace it is applied in) matches any.
 */
export function sameStore(a: StoreRef, b: StoreRef): boolean {
  if (a.kind !== b.kind || a.name !== b.name) return false
  if (a.kind === 'ClusterSecretStore' || b.kind === 'ClusterSecretStore') return true
  return a.namespace === b.namespace || a.namespace === '' || b.namespace === ''
}

/** The identity of a store, as an ExternalSecret's reference names it. */
export function storeRefOf(store: SecretStore): StoreRef {
  const { name, namespace = '' } = store.metadata
  return store.kind === 'ClusterSecretStore'
    ? { kind: 'ClusterSecretStore', name }
    : { kind: 'SecretStore', namespace, name }
}

/**
 * Every store the ExternalSecret reads through, once each: `spec.secretStoreRef`, and an item's
 * `sourceRef.storeRef`, which overrides it for that item (client_manager.go Get).
 */
export function storeRefsOf(es: ExternalSecret): StoreRef[] {
  const namespace = es.metadata.namespace ?? ''
  const written = [
    es.spec?.secretStoreRef,
    ...(es.spec?.data ?? []).map((item) => item?.sourceRef?.storeRef),
    ...(es.spec?.dataFrom ?? []).map((item) => item?.sourceRef?.storeRef)
  ]
  const refs = written.flatMap((ref) => storeRef(ref, namespace) ?? [])
  return refs.filter((ref, index) => refs.findIndex((other) => sameStore(ref, other)) === index)
}

/** The store `ref` names among `stores` (those the run read, or rendered ones). */
export function findStore(ref: StoreRef, stores: readonly SecretStore[]): SecretStore | undefined {
  return stores.find((store) => sameStore(storeRefOf(store), ref))
}

/** The stores the ExternalSecret names that are not among `stores`: the operator cannot sync it. */
export function missingStores(es: ExternalSecret, stores: readonly SecretStore[]): StoreRef[] {
  return storeRefsOf(es).filter((ref) => !findStore(ref, stores))
}

/** The store a reference reads through, and the prefix that store puts before every key. */
export interface ReadThrough {
  readonly store: StoreRef
  readonly prefix: string
}

/**
 * Where an ExternalSecret reads SSM, as the operator resolves it: `spec.data[i].remoteRef.key` (one
 * parameter, into one Secret key), `spec.dataFrom[i].extract.key` (one parameter, its JSON keys) or
 * `spec.dataFrom[i].find` (every parameter under `path` whose full name matches `name.regexp`).
 * `key` is the SSM name read: the store's prefix, then the key as `written`.
 */
export type Reference = (
  | {
      readonly kind: 'data'
      readonly index: number
      readonly key: string
      readonly secretKey: string
      readonly version?: string
    }
  | { readonly kind: 'extract'; readonly index: number; readonly key: string; readonly version?: string }
  | {
      readonly kind: 'find'
      readonly index: number
      /** The path searched: `find.path`, else `/`. */
      readonly key: string
      /** `find.name.regexp`, unanchored, over full names; absent: every name (a `find.tags`). */
      readonly pattern?: string
    }
) & {
  /** The key or path as written in the spec; undefined for a `find` without `path`. */
  readonly written?: string
  /** The store the ExternalSecret names for it, when the run knows it. */
  readonly through?: ReadThrough
}

/** The AWS Parameter Store service, as a store's `spec.provider.aws.service` names it. */
const PARAMETER_STORE = 'ParameterStore'

/**
 * The SSM references of an ExternalSecret, resolved as the External Secrets Operator resolves them
 * through the stores it names (external-secrets `providers/v1/aws/parameterstore/parameterstore.go`):
 * a `data` or `extract` key is read as `pm.prefix + ref.Key` (parameterNameWithVersion); a `find`
 * lists `ref.Path`, without the prefix, and `/` when no path is given (findByName), keeping the
 * names its `name.regexp` matches. A reference through a known store of another provider or
 * service reads no SSM parameter and is left out; one through a store not among `stores` is taken
 * as written (the callers refuse a store that does not exist before: see missingStores). Pure.
 */
export function referencesOf(es: ExternalSecret, stores: readonly SecretStore[]): Reference[] {
  const route = (override: WrittenStoreRef | undefined) => routeOf(es, override, stores)
  const references: Reference[] = []
  ;(es.spec?.data ?? []).forEach((item, index) => {
    const key = item?.remoteRef?.key
    const to = route(item?.sourceRef?.storeRef)
    if (typeof key === 'string' && to.ssm)
      references.push({
        kind: 'data',
        index,
        key: `${to.through?.prefix ?? ''}${key}`,
        written: key,
        secretKey: item.secretKey ?? '',
        ...pinned(item.remoteRef?.version),
        ...(to.through && { through: to.through })
      })
  })
  ;(es.spec?.dataFrom ?? []).forEach((item, index) => {
    const to = route(item?.sourceRef?.storeRef)
    if (!to.ssm) return
    const extract = item?.extract?.key
    if (typeof extract === 'string')
      references.push({
        kind: 'extract',
        index,
        key: `${to.through?.prefix ?? ''}${extract}`,
        written: extract,
        ...pinned(item.extract?.version),
        ...(to.through && { through: to.through })
      })
    const find = item?.find
    if (isRecord(find)) {
      const path = typeof find.path === 'string' && find.path !== '' ? find.path : undefined
      const pattern = find.name?.regexp
      references.push({
        kind: 'find',
        index,
        key: path ?? '/',
        ...(path !== undefined && { written: path }),
        ...(typeof pattern === 'string' && { pattern }),
        ...(to.through && { through: to.through })
      })
    }
  })
  return references
}

/**
 * Where an item's keys go: to SSM through a known Parameter Store store (`through`: its prefix), to
 * SSM as written (no store named, or one not among `stores`), or elsewhere (a known store of
 * another provider or service).
 */
function routeOf(
  es: ExternalSecret,
  override: WrittenStoreRef | undefined,
  stores: readonly SecretStore[]
): { readonly ssm: false } | { readonly ssm: true; readonly through?: ReadThrough } {
  const ref = storeRef(override?.name ? override : es.spec?.secretStoreRef, es.metadata.namespace ?? '')
  const store = ref && findStore(ref, stores)
  if (!ref || !store) return { ssm: true }
  const prefix = parameterStorePrefix(store)
  return prefix === undefined ? { ssm: false } : { ssm: true, through: { store: ref, prefix } }
}

/** The prefix a store of the AWS Parameter Store provider puts before every key ('' for none); undefined for another. */
export function parameterStorePrefix(store: SecretStore): string | undefined {
  const aws = store.spec?.provider?.aws
  if (aws?.service !== PARAMETER_STORE) return undefined
  return typeof aws.prefix === 'string' ? aws.prefix : ''
}

/** `SecretStore "apps/tenant" (prefix "/zerotouch/prod/")`, for the log. */
export function describeStoreRead(store: SecretStore): string {
  const prefix = parameterStorePrefix(store)
  const what = prefix === undefined ? 'not Parameter Store' : prefix ? `prefix "${prefix}"` : 'no prefix'
  return `${describeStore(storeRefOf(store))} (${what})`
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
      return reference.written === undefined
        ? `spec.dataFrom[${reference.index}].find`
        : `spec.dataFrom[${reference.index}].find.path`
  }
}

/**
 * The reference for messages: where it is written, what it says, and what the operator reads:
 * `spec.data[0].remoteRef.key "api/url" (read as "/zerotouch/prod/api/url": the prefix "/zerotouch/prod/" of ClusterSecretStore "ssm")`.
 */
export function describeReference(reference: Reference): string {
  if (reference.written === undefined) return `${fieldOf(reference)} (no path: searches from "/")`
  const prefix = reference.through?.prefix
  const read = prefix
    ? ` (read as "${reference.key}": the prefix "${prefix}" of ${describeStore(reference.through.store)})`
    : ''
  return `${fieldOf(reference)} "${reference.written}"${read}`
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

/**
 * Whether the reference reads the parameter `name`: its key; for `find`, a name under its path
 * (GetParametersByPath, recursive) that its `name.regexp` matches (Go's regexp.MatchString,
 * unanchored). A pattern JavaScript cannot compile is taken to match every name, never fewer.
 */
export function reads(reference: Reference, name: string): boolean {
  if (reference.kind !== 'find') return reference.key === name
  const under = name.startsWith(reference.key.endsWith('/') ? reference.key : `${reference.key}/`)
  return under && matchesPattern(reference.pattern, name)
}

function matchesPattern(pattern: string | undefined, name: string): boolean {
  if (pattern === undefined) return true
  try {
    return new RegExp(pattern).test(name)
  } catch {
    return true
  }
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
  // A path above the prefix (`/` for a find without a path) reads every environment under it.
  if (path === pathPrefix || path.startsWith(`${pathPrefix}/`) || `${pathPrefix}/`.startsWith(`${path}/`))
    return 'other-environment'
  return 'outside'
}
