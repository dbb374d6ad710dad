/** The shapes the action reads from the Kubernetes API, as plain JSON: only the fields it uses. */

export interface ObjectMeta {
  readonly name: string
  readonly namespace?: string
  readonly uid?: string
  readonly resourceVersion?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
  readonly ownerReferences?: ReadonlyArray<{
    readonly apiVersion?: string
    readonly kind?: string
    readonly name?: string
    readonly controller?: boolean
  }>
  /** RFC 3339, whole seconds. */
  readonly creationTimestamp?: string
  /** Set when the object is being deleted (a terminating pod). */
  readonly deletionTimestamp?: string
  /** Who wrote the object, how and when: one entry per manager and operation. */
  readonly managedFields?: readonly ManagedFieldsEntry[]
}

/**
 * An entry of `metadata.managedFields`: the API server records, per field manager and operation, the time of the
 * last write of that manager that changed the object (k8s.io/apimachinery pkg/util/managedfields/internal/
 * managedfieldsupdater.go). RFC 3339, whole seconds.
 */
export interface ManagedFieldsEntry {
  readonly manager?: string
  readonly operation?: string
  readonly time?: string
}

export interface Condition {
  readonly type: string
  readonly status: string
  readonly reason?: string
  readonly message?: string
  readonly lastTransitionTime?: string
}

/** A core/v1 Event, reduced. */
export interface KubeEvent {
  readonly metadata: ObjectMeta
  readonly involvedObject: {
    readonly kind?: string
    readonly name?: string
    readonly namespace?: string
    readonly uid?: string
  }
  readonly reason?: string
  readonly message?: string
  readonly type?: string
  readonly count?: number
  /** RFC 3339, as the API server wrote it; only used to order Events among themselves. */
  readonly lastTimestamp?: string
}

export interface Listed<T> {
  readonly items: T[]
  /** The list's resourceVersion: a watch from it sees every change after the list. */
  readonly resourceVersion: string
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'

export interface WatchEvent<T> {
  readonly type: WatchEventType
  /** For BOOKMARK only metadata.resourceVersion is meaningful. */
  readonly object: T
}

export interface WatchHandlers<T> {
  onEvent(event: WatchEvent<T>): void
  /**
   * Called once when the watch ends: without error when the server closed it (a timeout, a
   * restart: resume from the last resourceVersion), with a KubeError otherwise (`gone`: the
   * resourceVersion is too old, list again).
   */
  onEnd(error?: unknown): void
}

export interface WatchHandle {
  stop(): void
}

/** A namespaced object's identity. */
export interface ObjectRef {
  readonly namespace: string
  readonly name: string
}

/** The identity of a namespaced object (its namespace filled in). */
export function refOf({ metadata }: { readonly metadata: ObjectMeta }): ObjectRef {
  return { namespace: metadata.namespace ?? '', name: metadata.name }
}

/** `namespace/name`, for messages. */
export function qualifiedName(object: { metadata: ObjectMeta }, namespace?: string): string {
  return `${object.metadata.namespace ?? namespace ?? ''}/${object.metadata.name}`
}

/** The object with its namespace filled in: namespaced lists and watches may leave it out. */
export function inNamespace<T extends { readonly metadata: ObjectMeta }>(object: T, namespace: string): T {
  return { ...object, metadata: { ...object.metadata, namespace: object.metadata.namespace ?? namespace } }
}
