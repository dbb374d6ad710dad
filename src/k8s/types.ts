/**
 * The shapes the sync phase reads from the Kubernetes API, as plain JSON: only the fields it uses.
 * Both external-secrets.io versions (v1, v1beta1) share them.
 */

export const ESO_GROUP = 'external-secrets.io'
export const ESO_PLURAL = 'externalsecrets'
/** The versions whose ExternalSecret fields the phase knows, most preferred first. */
export const KNOWN_VERSIONS = ['v1', 'v1beta1'] as const

export interface ObjectMeta {
  readonly name: string
  readonly namespace?: string
  readonly uid?: string
  readonly resourceVersion?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
}

export interface Condition {
  readonly type: string
  readonly status: string
  readonly reason?: string
  readonly message?: string
  readonly lastTransitionTime?: string
}

export interface ExternalSecret {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata: ObjectMeta
  readonly spec?: {
    readonly refreshPolicy?: string
    readonly refreshInterval?: string
    readonly data?: ReadonlyArray<{ readonly secretKey?: string; readonly remoteRef?: { readonly key?: string; readonly version?: string } }>
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

export interface ExternalSecretsRef {
  /** external-secrets.io version, from discoverVersion(). */
  readonly version: string
  readonly namespace: string
  readonly labelSelector: string
}

/**
 * The Kubernetes calls of the sync phase. Errors are KubeErrors (see errors.ts). One watch is
 * one HTTP request: it ends, and the caller resumes it (see sync/watch.ts).
 */
export interface ExternalSecretsApi {
  /** The version of external-secrets.io the cluster prefers; a KubeError `missing-crd` when none is served. */
  discoverVersion(): Promise<string>
  listExternalSecrets(ref: ExternalSecretsRef): Promise<Listed<ExternalSecret>>
  /** A JSON merge patch setting one annotation; returns the object as patched (status included). */
  patchAnnotation(ref: ExternalSecretsRef, name: string, key: string, value: string): Promise<ExternalSecret>
  /** Events in the namespace about ExternalSecrets. */
  listEvents(namespace: string): Promise<Listed<KubeEvent>>
  watchExternalSecrets(ref: ExternalSecretsRef, resourceVersion: string, handlers: WatchHandlers<ExternalSecret>): Promise<WatchHandle>
  watchEvents(namespace: string, resourceVersion: string, handlers: WatchHandlers<KubeEvent>): Promise<WatchHandle>
}

export function qualifiedName(object: { metadata: ObjectMeta }, namespace?: string): string {
  return `${object.metadata.namespace ?? namespace ?? ''}/${object.metadata.name}`
}

export function readyCondition(es: ExternalSecret): Condition | undefined {
  return es.status?.conditions?.find((condition) => condition.type === 'Ready')
}
