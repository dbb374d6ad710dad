import { ActionError, InputProblem, invalidInputs } from '../errors.js'
import type { ClusterSettings, KubeClient } from './api.js'
import { createKubeClient, type KubeApiOptions } from './client.js'

/**
 * The run's one connection to the cluster: the kubeconfig read, masked and checked once. It loads
 * @kubernetes/client-node, so the main imports this module only when a namespace is given:
 * `const { connectCluster } = await import('./k8s/connect.js')`.
 */

export interface ConnectDependencies<Api> {
  /** Registers a value with the runner's log masking (core.setSecret): the kubeconfig and each credential in it. */
  readonly mask: (value: string) => void
  /** Called with each single-line credential, for the run's redactor. */
  readonly credential: (value: string) => void
  /** Where KUBECONFIG and the in-cluster variables are read. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** The calls the run makes, built on the generic client. */
  readonly calls: (client: KubeClient) => Api
  /** Instead of the client-node connection and `calls` (tests: an in-memory cluster). */
  readonly createKube?: (options: KubeApiOptions) => Api
}

export function connectCluster<Api>(cluster: ClusterSettings, deps: ConnectDependencies<Api>): Api {
  const mask = (value: string): void => {
    deps.mask(value)
    // The lines of a kubeconfig (`kind: Config`) are no secrets; its credentials are single-line.
    if (!/[\r\n]/.test(value.trim())) deps.credential(value)
  }
  const create = deps.createKube ?? ((options: KubeApiOptions) => deps.calls(createKubeClient(options)))
  try {
    return create({ kubeconfig: cluster.kubeconfig, context: cluster.kubeContext, mask, env: deps.env })
  } catch (error) {
    if (error instanceof InputProblem) throw invalidInputs([error.message])
    throw new ActionError(
      'ZT140',
      `Nothing was written: the cluster cannot be used: ${error instanceof Error ? error.message : String(error)}`
    )
  }
}
