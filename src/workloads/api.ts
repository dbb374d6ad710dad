import type { ApiResource, KubeClient } from '../k8s/api.js'
import type { Listed, ObjectMeta, WatchHandle, WatchHandlers } from '../k8s/types.js'
import {
  isWorkload,
  RESTARTED_AT,
  WORKLOAD_GROUP,
  WORKLOAD_PLURALS,
  type Workload,
  type WorkloadKind
} from './model.js'
import { isPod, POD_RESOURCE, type Pod } from './pods.js'

/**
 * The calls of the rollout: the workloads of a namespace, watched, and restarted as `kubectl rollout restart` does;
 * their pods; and the metadata of the Secrets they read (never their data).
 */
export interface WorkloadsApi {
  listWorkloads(kind: WorkloadKind, namespace: string): Promise<Listed<Workload>>
  watchWorkloads(
    kind: WorkloadKind,
    namespace: string,
    resourceVersion: string,
    handlers: WatchHandlers<Workload>
  ): Promise<WatchHandle>
  /**
   * A strategic merge patch of the pod template's `kubectl.kubernetes.io/restartedAt` annotation; returns the workload
   * as patched.
   */
  restartWorkload(kind: WorkloadKind, namespace: string, name: string, restartedAt: string): Promise<Workload>
  /** The pods a label selector selects, as `kubectl get pods -l` lists them. */
  listPods(namespace: string, labelSelector: string): Promise<Listed<Pod>>
  /** A Secret's metadata only (PartialObjectMetadata: no data); undefined when it does not exist. */
  secretMetadata(namespace: string, name: string): Promise<ObjectMeta | undefined>
}

const SECRETS: ApiResource = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', name: 'secrets' }

function workloads(kind: WorkloadKind): ApiResource {
  return {
    group: WORKLOAD_GROUP,
    version: 'v1',
    kind,
    plural: WORKLOAD_PLURALS[kind],
    name: `${WORKLOAD_PLURALS[kind]}.${WORKLOAD_GROUP}`
  }
}

/** The rollout's calls, built on the generic client (k8s/api.ts). */
export function workloadsApi(kube: KubeClient): WorkloadsApi {
  return {
    listWorkloads: (kind, namespace) => kube.list(workloads(kind), namespace, isWorkload),
    watchWorkloads: (kind, namespace, resourceVersion, handlers) =>
      kube.watch(workloads(kind), namespace, { resourceVersion }, handlers),
    // What `kubectl rollout restart` sends: a strategic merge patch of the pod template's annotation.
    restartWorkload: (kind, namespace, name, restartedAt) =>
      kube.patch(
        workloads(kind),
        namespace,
        name,
        { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: restartedAt } } } } },
        'strategic-merge',
        isWorkload
      ),
    listPods: (namespace, labelSelector) => kube.list(POD_RESOURCE, namespace, isPod, labelSelector),
    secretMetadata: (namespace, name) => kube.metadata(SECRETS, namespace, name)
  }
}
