/**
 * `metadata.managedFields` as the real API server records it on writes: one entry per (manager, operation,
 * subresource) with `manager`, `operation` (`Update`, or `Apply` for server-side apply), `apiVersion`, `time` (RFC
 * 3339, whole seconds) and `fieldsType: FieldsV1`. A write that changes the object moves its manager's entry to the
 * time of the write (k8s.io/apimachinery pkg/util/managedfields/internal/managedfieldsupdater.go: "If the current
 * operation took any fields from anything, it means the object changed, so update the timestamp"); a write that
 * changes nothing changes no entry, and other managers' entries are kept as they are. The request's manager is its
 * `fieldManager` query parameter, or else its user agent's program name, before the first '/'
 * (k8s.io/apiserver pkg/endpoints/handlers/rest.go, managerOrUserAgent and prefixFromUserAgent).
 * Not simulated: the `fieldsV1` sets of Update entries (which fields each manager owns).
 */
import { rfc3339, type KubeObject } from './json.ts'

export interface ManagedFieldsEntry {
  manager: string
  operation: 'Update' | 'Apply'
  apiVersion: string
  time: string
  fieldsType: 'FieldsV1'
  fieldsV1?: Record<string, unknown>
  subresource?: string
}

/** Who writes: the entry a write records. */
export interface FieldManager {
  readonly manager: string
  readonly operation: 'Update' | 'Apply'
  readonly subresource?: string
  /** The fields an Apply owns (server-side apply lists them). */
  readonly fieldsV1?: Record<string, unknown>
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

/**
 * The entries of `next` after a write by `writer` that changed the object: its own entry (same manager, operation
 * and subresource) replaced with one at the time of the write; every other entry kept, in order.
 */
export function recordWrite(next: KubeObject, writer: FieldManager, now: Date = new Date()): void {
  const entries = (next.metadata.managedFields ?? []).filter(
    (entry) =>
      entry.manager !== writer.manager ||
      entry.operation !== writer.operation ||
      entry.subresource !== writer.subresource
  )
  const entry: ManagedFieldsEntry = {
    manager: writer.manager,
    operation: writer.operation,
    apiVersion: next.apiVersion,
    time: rfc3339(now),
    fieldsType: 'FieldsV1',
    ...(writer.fieldsV1 ? { fieldsV1: writer.fieldsV1 } : {}),
    ...(writer.subresource ? { subresource: writer.subresource } : {})
  }
  next.metadata.managedFields = [...entries, entry]
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
