import type { ApiResource, KubeClient } from '../k8s/api.js'
import type { Listed, ObjectMeta, WatchHandle, WatchHandlers } from '../k8s/types.js'
import { APPS_KINDS, isWorkload, RESTARTED_AT, WORKLOAD_RESOURCES, type Workload, type WorkloadKind } from './model.js'
import { isPod, POD_RESOURCE, type Pod } from './pods.js'

/**
 * The calls of the rollout: which workload kinds the cluster serves, the workloads of a namespace, watched, and
 * restarted as `kubectl rollout restart` (or `kubectl argo rollouts restart`) does; their pods; and the metadata of
 * the Secrets they read (never their data).
 */
export interface WorkloadsApi {
  /** The apps kinds, and Rollout when the cluster serves rollouts.argoproj.io (the Argo Rollouts CRD). */
  servedWorkloadKinds(): Promise<WorkloadKind[]>
  listWorkloads(kind: WorkloadKind, namespace: string): Promise<Listed<Workload>>
  watchWorkloads(
    kind: WorkloadKind,
    namespace: string,
    resourceVersion: string,
    handlers: WatchHandlers<Workload>
  ): Promise<WatchHandle>
  /**
   * The restart patch of the kind (see restartStamp for the time it carries); returns the workload as patched.
   */
  restartWorkload(kind: WorkloadKind, namespace: string, name: string, restartedAt: string): Promise<Workload>
  /** The pods a label selector selects, as `kubectl get pods -l` lists them. */
  listPods(namespace: string, labelSelector: string): Promise<Listed<Pod>>
  /** A Secret's metadata only (PartialObjectMetadata: no data); undefined when it does not exist. */
  secretMetadata(namespace: string, name: string): Promise<ObjectMeta | undefined>
}

const SECRETS: ApiResource = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', name: 'secrets' }

function workloadResource(kind: WorkloadKind): ApiResource {
  const { group, version, plural } = WORKLOAD_RESOURCES[kind]
  return { group, version, kind, plural, name: `${plural}.${group}` }
}

/** The rollout's calls, built on the generic client (k8s/api.ts). */
export function workloadsApi(kube: KubeClient): WorkloadsApi {
  const rollouts = WORKLOAD_RESOURCES.Rollout
  return {
    servedWorkloadKinds: async () => {
      const served = await kube.apiResources(rollouts.group, rollouts.version)
      return served?.includes(rollouts.plural) ? [...APPS_KINDS, 'Rollout'] : [...APPS_KINDS]
    },
    listWorkloads: (kind, namespace) => kube.list(workloadResource(kind), namespace, isWorkload),
    watchWorkloads: (kind, namespace, resourceVersion, handlers) =>
      kube.watch(workloadResource(kind), namespace, { resourceVersion }, handlers),
    restartWorkload: (kind, namespace, name, restartedAt) =>
      kind === 'Rollout'
        ? // What `kubectl argo rollouts restart` sends (pkg/kubectl-argo-rollouts/cmd/restart/restart.go): a JSON
          // merge patch of spec.restartAt (a CRD takes no strategic merge patch).
          kube.patch(workloadResource(kind), namespace, name, { spec: { restartAt: restartedAt } }, 'merge', isWorkload)
        : // What `kubectl rollout restart` sends: a strategic merge patch of the pod template's annotation.
          kube.patch(
            workloadResource(kind),
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
