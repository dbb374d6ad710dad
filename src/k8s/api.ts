import type { Permission } from './errors.js'
import type { KubeEvent, Listed, ObjectMeta, WatchHandle, WatchHandlers } from './types.js'

/** A resource of an API group (`''`: the core group, /api/v1), as the generic calls address it. */
export interface ApiResource {
  readonly group: string
  readonly version: string
  readonly kind: string
  readonly plural: string
  /** `externalsecrets.external-secrets.io`, for messages */
  readonly name: string
}

/** What GET /apis/<group> answers. */
export interface ApiGroup {
  readonly versions?: ReadonlyArray<{ readonly version?: string }>
  readonly preferredVersion?: { readonly version?: string }
}

/** A JSON merge patch, or a strategic merge patch (built-in types only). */
export type PatchKind = 'merge' | 'strategic-merge'

/**
 * The generic Kubernetes calls of the run, through its one connection (client.ts). Errors are
 * KubeErrors (see errors.ts). One watch is one HTTP request: it ends, and the caller resumes it (see
 * watch.ts). What is ESO's is built on these in eso/api.ts, what is a workload's in workloads/api.ts.
 */
export interface KubeClient {
  /** The group's served and preferred versions; undefined when the cluster does not serve it. */
  apiGroup(group: string): Promise<ApiGroup | undefined>
  /**
   * The resources a group version serves (GET /apis/<group>/<version>: their plurals, subresources left out);
   * undefined when the cluster does not serve it.
   */
  apiResources(group: string, version: string): Promise<string[] | undefined>
  /** Every page of a namespaced list, as plain JSON; what `is` refuses is left out. */
  list<T>(
    resource: ApiResource,
    namespace: string,
    is: (object: unknown) => object is T,
    labelSelector?: string
  ): Promise<Listed<T>>
  /**
   * One object of a namespaced resource (`namespace` given) or a cluster-scoped one; undefined when
   * the API server answers 404.
   */
  get<T>(
    resource: ApiResource,
    namespace: string | undefined,
    name: string,
    is: (object: unknown) => object is T
  ): Promise<T | undefined>
  /**
   * The object's metadata only (PartialObjectMetadata: no spec, no data, so never a Secret's value); undefined when
   * it does not exist.
   */
  metadata(resource: ApiResource, namespace: string, name: string): Promise<ObjectMeta | undefined>
  /** Returns the object as patched (status included). `namespace` undefined: a cluster-scoped resource. */
  patch<T>(
    resource: ApiResource,
    namespace: string | undefined,
    name: string,
    body: object,
    kind: PatchKind,
    is: (object: unknown) => object is T
  ): Promise<T>
  watch<T>(
    resource: ApiResource,
    namespace: string,
    query: { readonly resourceVersion: string; readonly labelSelector?: string },
    handlers: WatchHandlers<T>
  ): Promise<WatchHandle>
  listEvents(namespace: string, fieldSelector: string): Promise<Listed<KubeEvent>>
  watchEvents(
    namespace: string,
    fieldSelector: string,
    resourceVersion: string,
    handlers: WatchHandlers<KubeEvent>
  ): Promise<WatchHandle>
  /**
   * Whether the namespace exists; undefined when the identity may not read namespaces (tenant Roles seldom grant it).
   */
  namespaceExists(namespace: string): Promise<boolean | undefined>
  /** A SelfSubjectAccessReview: whether the identity holds the permission. */
  accessAllowed(permission: Permission): Promise<boolean>
}

/** Which cluster and namespaces the sync phase works in. */
export interface ClusterSettings {
  /** Never empty: without a namespace the sync phase is skipped. */
  readonly namespaces: readonly string[]
  /** Kubeconfig file content; empty: KUBECONFIG, ~/.kube/config, then in-cluster. */
  readonly kubeconfig: string
  /** Context to use; empty: the kubeconfig's current-context. */
  readonly kubeContext: string
}
