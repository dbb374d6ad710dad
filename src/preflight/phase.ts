import type { ExternalSecret, SecretStore } from '../eso/model.js'
import { inNamespace } from '../k8s/types.js'
import type { Phase } from '../phase.js'
import type { ClusterCheck, PreflightConfig, PreflightDependencies, RenderedObjects } from './preflight.js'

export interface PreflightInput {
  readonly config: PreflightConfig
  readonly kube: PreflightDependencies['kube']
  /**
   * The overlay's ExternalSecrets and stores, when definitions are given: a namespace they will fill is
   * not empty, and a store they bring need not be in the cluster yet.
   */
  readonly rendered: RenderedObjects
}

/** Before the definitions' SSM reads and any write: everything about the cluster that can be known. */
export const preflightPhase: Phase<PreflightInput, ClusterCheck> = {
  name: 'Pre-flight: the cluster',
  run: async ({ config, kube, rendered }, { redact, log }) => {
    const { checkCluster } = await import('./preflight.js')
    const namespace = config.cluster.namespaces[0]
    const inTheCluster = <T extends ExternalSecret | SecretStore>(object: T): T =>
      object.kind === 'ClusterSecretStore' ? object : inNamespace(object, namespace)
    return checkCluster(
      config,
      { externalSecrets: rendered.externalSecrets.map(inTheCluster), stores: rendered.stores.map(inTheCluster) },
      { kube, redact, log }
    )
  },
  report: () => ({})
}
