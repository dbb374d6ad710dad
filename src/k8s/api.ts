import type { ExternalSecret } from '../eso/model.js'
import type { Workload, WorkloadKind } from '../workloads/model.js'
import type { Permission } from './errors.js'
import type { KubeEvent, Listed, WatchHandle, WatchHandlers } from './types.js'

export interface ExternalSecretsRef {
  /** external-secrets.io version, from discoverVersion(). */
  readonly version: string
  readonly namespace: string
  readonly labelSelector: string
}

/**
 * The Kubernetes calls of the run (pre-flight, gate, sync). Errors are KubeErrors (see errors.ts). One watch is
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
  /** Whether the namespace exists; undefined when the identity may not read namespaces (tenant Roles seldom grant it). */
  namespaceExists(namespace: string): Promise<boolean | undefined>
  /** A SelfSubjectAccessReview: whether the identity holds the permission. */
  accessAllowed(permission: Permission): Promise<boolean>
}

/** The calls of the rollout: the workloads of a namespace, watched, and restarted as `kubectl rollout restart` does. */
export interface WorkloadsApi {
  listWorkloads(kind: WorkloadKind, namespace: string): Promise<Listed<Workload>>
  watchWorkloads(kind: WorkloadKind, namespace: string, resourceVersion: string, handlers: WatchHandlers<Workload>): Promise<WatchHandle>
  /** A strategic merge patch of the pod template's `kubectl.kubernetes.io/restartedAt` annotation; returns the workload as patched. */
  restartWorkload(kind: WorkloadKind, namespace: string, name: string, restartedAt: string): Promise<Workload>
}

/** Everything the run asks of the cluster. */
export type ClusterApi = ExternalSecretsApi & WorkloadsApi

/** Which cluster and namespaces the sync phase works in. */
export interface ClusterSettings {
  /** Never empty: without a namespace the sync phase is skipped. */
  readonly namespaces: readonly string[]
  /** Kubeconfig file content; empty: KUBECONFIG, ~/.kube/config, then in-cluster. */
  readonly kubeconfig: string
  /** Context to use; empty: the kubeconfig's current-context. */
  readonly kubeContext: string
}
