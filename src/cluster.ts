import { externalSecretsApi, type ExternalSecretsApi } from './eso/api.js'
import type { KubeClient } from './k8s/api.js'
import { workloadsApi, type WorkloadsApi } from './workloads/api.js'

/** Everything the run asks of the cluster: the ExternalSecret calls and the workload calls. */
export type ClusterApi = ExternalSecretsApi & WorkloadsApi

/** Both, on the run's one connection. */
export function clusterApi(client: KubeClient): ClusterApi {
  return { ...externalSecretsApi(client), ...workloadsApi(client) }
}
