/**
 * `metadata.managedFields` as the real API server records it on writes: one entry per (manager, operation,
 * subresource) with `manager`, `operation` (`Update`, or `Apply` for server-side apply), `apiVersion`, `time` (RFC
 * 3339, whole seconds) and `fieldsType: FieldsV1`. A write that changes the object moves its manager's entry to the
 * time of the write (k8s.io/apimachinery pkg/util/managedfields/internal/managedfieldsupdater.go: "If the current
 * operation took any fields from anything, it means the object changed, so update the timestamp"); a write that
 * changes nothing changes no entry, and other managers' entries are kept as they are. The request's manager is its
 * `fieldManager` query parameter, or else its user agent's program name, before the first '/'
 * (k8s.io/apiserver pkg/endpoints/handlers/rest.go, managerOrUserAgent and prefixFromUserAgent).
 * An Update entry's `fieldsV1` lists the fields its manager owns: those its writes changed, the way the real server
 * gives an Update ownership of what it changed and takes it from the other managers (k8s.io/apimachinery
 * pkg/util/managedfields/internal/structuredmerge.go, Update); lists are owned whole (no `k:`/`v:` members), as for
 * an atomic list. An entry left owning nothing goes. The real kubectl reads these sets (`kubectl apply --server-side`
 * after a client-side apply: k8s.io/client-go util/csaupgrade) and fails on an entry without one.
 */
import { isObject, rfc3339, sameJson, type Json, type JsonObject, type KubeObject } from './json.ts'

export interface ManagedFieldsEntry {
  manager: string
  operation: 'Update' | 'Apply'
  apiVersion: string
  time: string
  fieldsType: 'FieldsV1'
  fieldsV1?: JsonObject
  subresource?: string
}

/** Who writes: the entry a write records. */
export interface FieldManager {
  readonly manager: string
  readonly operation: 'Update' | 'Apply'
  readonly subresource?: string
  /** The fields an Apply owns (server-side apply lists them). */
  readonly fieldsV1?: JsonObject
}

/** The simulated External Secrets operator's writes to its target Secrets (its binary, `external-secrets`). */
export const ESO_MANAGER: FieldManager = { manager: 'external-secrets', operation: 'Update' }

/** The real server cuts a manager taken from the user agent at 128 characters. */
const MAX_USER_AGENT_MANAGER = 128

/** The manager of an HTTP write: `?fieldManager=`, else the user agent's program name (kubectl: `kubectl`). */
export function requestManager(query: URLSearchParams, userAgent: string | undefined): string {
  const named = query.get('fieldManager')
  if (named) return named
  return (userAgent ?? '').split('/')[0].slice(0, MAX_USER_AGENT_MANAGER)
}

/** A field, as fieldpath.Path: the names from the object's root. */
export type FieldPath = readonly string[]

/** What `internal/stripmeta.go` never records. */
export const STRIPPED: readonly FieldPath[] = [
  ['apiVersion'],
  ['kind'],
  ['metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation'].map((field) => [
    'metadata',
    field
  ]),
  ['metadata', 'resourceVersion']
]

/**
 * The entries of `next` after a write by `writer` that changed `previous` (absent: a create): its own entry (same
 * manager, operation and subresource) replaced with one at the time of the write, owning what it owned and what this
 * write changed; for an Update, the fields it changed taken from every other entry, and an entry left owning
 * nothing dropped. An Apply brings its own fields (apply.ts).
 */
export function recordWrite(
  next: KubeObject,
  writer: FieldManager,
  previous: KubeObject | undefined,
  now: Date = new Date()
): void {
  const own = (entry: ManagedFieldsEntry) =>
    entry.manager === writer.manager && entry.operation === writer.operation && entry.subresource === writer.subresource
  const entries = next.metadata.managedFields ?? []
  const changed = writer.operation === 'Update' ? changedFields(previous, next, writer.subresource) : []
  const kept = (paths: readonly FieldPath[]) => paths.filter((path) => !changed.some((field) => samePath(field, path)))
  const others = entries
    .filter((entry) => !own(entry))
    .map((entry) => ({ ...entry, fieldsV1: serialize(kept(pathsOf(entry.fieldsV1 ?? {}))) }))
    .filter((entry) => Object.keys(entry.fieldsV1).length > 0)
  const owned = writer.fieldsV1 ?? ownedAfter(entries.find(own), changed, next)
  const entry: ManagedFieldsEntry = {
    manager: writer.manager,
    operation: writer.operation,
    apiVersion: next.apiVersion,
    time: rfc3339(now),
    fieldsType: 'FieldsV1',
    fieldsV1: owned,
    ...(writer.subresource ? { subresource: writer.subresource } : {})
  }
  next.metadata.managedFields = [...others, entry]
}

/** What the writer owned that is still there, and what it changed. */
function ownedAfter(
  entry: ManagedFieldsEntry | undefined,
  changed: readonly FieldPath[],
  next: KubeObject
): JsonObject {
  const before = pathsOf(entry?.fieldsV1 ?? {}).filter((path) => valueAt(next, path) !== undefined)
  const added = changed.filter((path) => valueAt(next, path) !== undefined)
  return serialize([...before, ...added.filter((path) => !before.some((owned) => samePath(owned, path)))])
}

/**
 * The leaf fields whose value a write changed (added, changed or removed): of `status` only for the status
 * subresource, never for the main resource; never the fields the server sets itself (STRIPPED, managedFields).
 */
function changedFields(previous: KubeObject | undefined, next: KubeObject, subresource?: string): FieldPath[] {
  const diff = (before: Json | undefined, after: Json | undefined, path: FieldPath): FieldPath[] => {
    if (isObject(after) && Object.keys(after).length > 0) {
      const keys = new Set([...Object.keys(after), ...(isObject(before) ? Object.keys(before) : [])])
      return [...keys].flatMap((key) => diff(isObject(before) ? before[key] : undefined, after[key], [...path, key]))
    }
    if (isObject(before) && after === undefined)
      return Object.keys(before).flatMap((key) => diff(before[key], undefined, [...path, key]))
    return sameJson(before, after) ? [] : [path]
  }
  const inScope = (path: FieldPath) =>
    !STRIPPED.some((stripped) => samePath(stripped, path)) &&
    !samePath(path.slice(0, 2), ['metadata', 'managedFields']) &&
    (subresource === 'status') === (path[0] === 'status')
  return diff(previous as unknown as Json, next as unknown as Json, []).filter(inScope)
}

/** The value at a field; undefined where there is none. */
export function valueAt(object: Json | KubeObject, path: FieldPath): Json | undefined {
  let node: Json | undefined = object as Json
  for (const field of path) node = isObject(node) ? node[field] : undefined
  return node
}

/** The leaf paths of a fieldsV1 tree (its `f:` members; `.` marks a member that has children). */
export function pathsOf(fieldsV1: JsonObject, path: FieldPath = []): FieldPath[] {
  const children = Object.entries(fieldsV1).filter(([key]) => key.startsWith('f:'))
  if (!children.length) return path.length ? [path] : []
  return [
    ...('.' in fieldsV1 ? [path] : []),
    ...children.flatMap(([key, child]) => pathsOf(isObject(child) ? child : {}, [...path, key.slice(2)]))
  ]
}

/** fieldsV1 as the API server serializes a set (`fieldpath/serialize.go`): `f:<name>` members, sorted. */
export function serialize(paths: readonly FieldPath[]): JsonObject {
  const tree: JsonObject = {}
  for (const path of paths) {
    let node = tree
    for (const field of path) node = (node[`f:${field}`] ??= {}) as JsonObject
  }
  const sorted = (node: JsonObject): JsonObject =>
    Object.fromEntries(
      Object.keys(node)
        .sort()
        .map((key) => [key, sorted(node[key] as JsonObject)])
    )
  return sorted(tree)
}

export function samePath(a: FieldPath, b: FieldPath): boolean {
  return a.length === b.length && a.every((field, index) => field === b[index])
}

/**
 * Whether the client asks for the metadata only (`application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`):
 * the real server then answers a GET with a PartialObjectMetadata, no spec, no data (k8s.io/apiserver
 * pkg/endpoints/handlers/response.go, transformObject / asPartialObjectMetadata).
 */
export function wantsPartialMetadata(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((type) => {
    const params = type.split(';').map((part) => part.trim())
    return params.includes('as=PartialObjectMetadata') && params.includes('g=meta.k8s.io')
  })
}

/** The object as a PartialObjectMetadata. */
export function partialMetadata(object: KubeObject): KubeObject {
  return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: object.metadata }
}
