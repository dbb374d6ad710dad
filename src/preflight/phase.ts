import type { ExternalSecret } from '../eso/model.js'
import { inNamespace, refOf } from '../k8s/types.js'
import type { Phase } from '../phase.js'
import type { ClusterCheck, PreflightConfig, PreflightDependencies } from './preflight.js'

export interface PreflightInput {
  readonly config: PreflightConfig
  readonly kube: PreflightDependencies['kube']
  /** The overlay's ExternalSecrets, when definitions are given: a namespace they will fill is not empty. */
  readonly rendered: readonly ExternalSecret[]
}

/** Before the definitions' SSM reads and any write: everything about the cluster that can be known. */
export const preflightPhase: Phase<PreflightInput, ClusterCheck> = {
  name: 'Pre-flight: the cluster',
  run: async ({ config, kube, rendered }, { redact, log }) => {
    const { checkCluster } = await import('./preflight.js')
    const expected = rendered.map((externalSecret) => refOf(inNamespace(externalSecret, config.cluster.namespaces[0])))
    return checkCluster(config, expected, { kube, redact, log })
  },
  report: () => ({})
}
