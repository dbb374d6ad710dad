/**
 * Server-side apply (`PATCH` with `application/apply-patch+yaml`) of a custom resource, as the API server does it with
 * kubernetes-sigs/structured-merge-diff and k8s.io/apimachinery `pkg/util/managedfields`:
 * - the applied object's fields (`typed/tofieldset.go`): every scalar, every list whole (a CRD's list without
 *   `x-kubernetes-list-type` is atomic: k8s.io/apiextensions-apiserver `pkg/apis/apiextensions/v1/types_jsonschema.go`,
 *   "Defaults to atomic for arrays"; the ExternalSecret CRD gives none), every empty object, each key of a map; minus
 *   what `internal/stripmeta.go` strips (apiVersion, kind, metadata.name, namespace, uid, ...) and status, which the
 *   main resource of a CRD with a status subresource resets;
 * - a field another manager owns with another value is a conflict (409, `internal/conflict.go`), unless `force=true`,
 *   which takes it from that manager;
 * - the applied fields are merged into the live object, and the fields this manager applied last time and applies no
 *   more are removed unless another manager owns them (`merge/update.go`, prune);
 * - the manager's entry `{manager, operation: Apply, apiVersion, time, fieldsType: FieldsV1, fieldsV1}` replaces its
 *   previous Apply entry (`internal/managedfieldsupdater.go`); other managers' entries stay, less what force took;
 * - with the field manager `kubectl`, an existing last-applied annotation becomes the applied object
 *   (`internal/lastappliedupdater.go`); any other manager leaves it as it was.
 * Not simulated: list-map and set keys (`k:{...}`, `v:...`), which only built-in types and CRDs that declare a
 * list-type have.
 */
import { parse } from 'yaml'
import { ApiError, badRequest, patchOptionsInvalid } from './errors.ts'
import {
  pathsOf,
  samePath,
  serialize,
  STRIPPED,
  valueAt,
  type FieldPath,
  type ManagedFieldsEntry
} from './managed-fields.ts'
import { canonical, clone, isObject, rfc3339, sameJson, type Json, type JsonObject, type KubeObject } from './json.ts'

export const APPLY_PATCH = 'application/apply-patch+yaml'

export interface ApplyRequest {
  /** The object now, or undefined when the apply creates it. */
  readonly live: KubeObject | undefined
  readonly body: string
  readonly fieldManager: string | null
  readonly force: boolean
  /** The apiVersion of the request's URL: the entry records it. */
  readonly apiVersion: string
  readonly now?: Date
}

/** What the main resource of a CRD with a status subresource resets (apiextensions-apiserver `pkg/registry/customresource/strategy.go`, GetResetFields), and managedFields, which apply never sets. */
const RESET: readonly FieldPath[] = [['status'], ['metadata', 'managedFields']]

/** The object after the apply, its managedFields set; the caller fills in the defaults and writes it. */
export function serverSideApply({
  live,
  body,
  fieldManager,
  force,
  apiVersion,
  now = new Date()
}: ApplyRequest): KubeObject {
  if (!fieldManager) throw patchOptionsInvalid('fieldManager', 'Required', 'is required for apply patch')
  const applied = parseApplied(body)
  // internal/structuredmerge.go: the patch's version is the URL's; the patch sets no managedFields.
  if (applied.apiVersion !== apiVersion)
    throw badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${applied.apiVersion}, expected: ${apiVersion}`
    )
  if (applied.metadata.managedFields !== undefined) throw badRequest('metadata.managedFields must be nil')
  const fields = fieldsOf(applied)
  const entries: ManagedFieldsEntry[] = clone(
    (live?.metadata as { managedFields?: ManagedFieldsEntry[] })?.managedFields ?? []
  )
  const mine = (entry: ManagedFieldsEntry) => entry.manager === fieldManager && entry.operation === 'Apply'
  const previous = entries.find(mine)
  const others = entries.filter((entry) => !mine(entry))
  const current: JsonObject = live ? (clone(live) as unknown as JsonObject) : {}

  // The applied value against the live one, before defaulting (internal/structuredmerge.go defaults the merged
  // object after the apply): a list the server filled with defaults differs from the one applied again.
  const conflicts = others
    .flatMap((entry) =>
      fields
        .filter((path) => owns(entry, path) && !sameJson(valueAt(current, path), valueAt(applied, path)))
        .map((path) => ({ entry, path }))
    )
    .sort((a, b) => pathText(a.path).localeCompare(pathText(b.path)))
  if (conflicts.length && !force) throw conflictError(conflicts)
  for (const { entry, path } of conflicts)
    entry.fieldsV1 = serialize(pathsOf(entry.fieldsV1 ?? {}).filter((owned) => !samePath(owned, path)))

  const result = current
  for (const path of fields) setAt(result, path, clone(valueAt(applied, path)) ?? null)
  const released = previous
    ? pathsOf(previous.fieldsV1 ?? {}).filter((path) => !fields.some((field) => samePath(field, path)))
    : []
  for (const path of released) if (!others.some((entry) => owns(entry, path))) removeAt(result, path)

  const entry: ManagedFieldsEntry = {
    manager: fieldManager,
    operation: 'Apply',
    apiVersion,
    time: rfc3339(now),
    fieldsType: 'FieldsV1',
    fieldsV1: serialize(fields)
  }
  // An entry left owning nothing goes, as on the real server; an Update entry without fieldsV1 (the store records
  // none: managed-fields.ts) is kept.
  const managedFields = sortManagedFields([
    ...others.filter((other) => other.fieldsV1 === undefined || Object.keys(other.fieldsV1).length > 0),
    entry
  ])
  const object = result as unknown as KubeObject
  object.apiVersion = applied.apiVersion
  object.kind = applied.kind
  const { name, namespace } = applied.metadata
  object.metadata = { ...object.metadata, name, namespace, managedFields } as KubeObject['metadata']
  const annotations = object.metadata.annotations
  if (fieldManager === 'kubectl' && annotations?.[LAST_APPLIED]) annotations[LAST_APPLIED] = lastApplied(applied)
  return object
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

/** The order the API server encodes entries in (`internal/managedfields.go`, sortEncodedManagedFields). */
function sortManagedFields(entries: readonly ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  const seconds = ({ time }: ManagedFieldsEntry) => Math.floor(Date.parse(time) / 1000) || 0
  const keys = (entry: ManagedFieldsEntry) => [entry.manager, entry.apiVersion, entry.subresource ?? '']
  return [...entries].sort(
    (p, q) =>
      compare(p.operation, q.operation) ||
      seconds(p) - seconds(q) ||
      keys(p).reduce((order, key, index) => order || compare(key, keys(q)[index]), 0)
  )
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** `buildLastApplied`: the applied object without the annotation, as JSON (Go's encoder sorts map keys). */
function lastApplied(applied: AppliedObject): string {
  const metadata = clone(applied.metadata)
  if (isObject(metadata.annotations)) delete metadata.annotations[LAST_APPLIED]
  return canonical({ ...applied, metadata })
}

/** The applied object: a kind, an apiVersion, metadata. */
type AppliedObject = JsonObject & { apiVersion: string; kind: string; metadata: JsonObject }

function parseApplied(body: string): AppliedObject {
  let applied: unknown
  try {
    applied = parse(body)
  } catch (error) {
    throw badRequest(`error decoding YAML: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (!isObject(applied) || typeof applied.apiVersion !== 'string' || typeof applied.kind !== 'string')
    throw badRequest("Object 'Kind' is missing in the applied object")
  if (!isObject(applied.metadata)) throw badRequest('the applied object has no metadata')
  return applied as AppliedObject
}

/** The applied object's fields (`typed/tofieldset.go`), less the stripped and reset ones, in document order. */
function fieldsOf(value: Json, path: FieldPath = []): FieldPath[] {
  if (RESET.some((reset) => samePath(reset, path))) return []
  if (isObject(value) && Object.keys(value).length > 0)
    return Object.entries(value).flatMap(([key, item]) => fieldsOf(item, [...path, key]))
  return path.length && !STRIPPED.some((stripped) => samePath(stripped, path)) ? [path] : []
}

function owns(entry: ManagedFieldsEntry, path: FieldPath): boolean {
  let node: Json | undefined = entry.fieldsV1
  for (const field of path) {
    node = isObject(node) ? node[`f:${field}`] : undefined
    if (node === undefined) return false
  }
  return true
}

/** `.spec.refreshInterval`, as fieldpath.Path prints a path. */
function pathText(path: FieldPath): string {
  return path.map((field) => `.${field}`).join('')
}

function setAt(object: JsonObject, path: FieldPath, value: Json): void {
  let node = object
  for (const field of path.slice(0, -1)) {
    if (!isObject(node[field])) node[field] = {}
    node = node[field]
  }
  node[path[path.length - 1]] = value
}

/** Removes the field and the objects it leaves empty (the server drops the null left in their place). */
function removeAt(object: JsonObject, path: FieldPath): void {
  const parents: JsonObject[] = [object]
  for (const field of path.slice(0, -1)) {
    const next = parents[parents.length - 1][field]
    if (!isObject(next)) return
    parents.push(next)
  }
  delete parents[parents.length - 1][path[path.length - 1]]
  for (let depth = parents.length - 1; depth > 0 && Object.keys(parents[depth]).length === 0; depth--)
    delete parents[depth - 1][path[depth - 1]]
}

/** `internal/conflict.go`: "Apply failed with 1 conflict: conflict with "kubectl-edit" using v1 at <time>: .spec.x". */
function conflictError(conflicts: ReadonlyArray<{ entry: ManagedFieldsEntry; path: FieldPath }>): ApiError {
  const manager = ({ manager, operation, apiVersion: version, time }: ManagedFieldsEntry) =>
    operation === 'Update' ? `"${manager}" using ${version} at ${time}` : `"${manager}"`
  const text = pathText
  const causes = conflicts.map(({ entry, path }) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${manager(entry)}`,
    field: text(path)
  }))
  const message =
    conflicts.length === 1
      ? `Apply failed with 1 conflict: conflict with ${manager(conflicts[0].entry)}: ${text(conflicts[0].path)}`
      : `Apply failed with ${conflicts.length} conflicts: ${[...new Set(conflicts.map(({ entry }) => manager(entry)))]
          .sort()
          .flatMap((name) => [
            `conflicts with ${name}:`,
            ...conflicts.filter(({ entry }) => manager(entry) === name).map(({ path }) => `- ${text(path)}`)
          ])
          .join('\n')}`
  return new ApiError(409, message, 'Conflict', { causes })
}
