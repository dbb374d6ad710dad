import { ActionError } from '../errors.js'
import type { SyncInputs } from '../inputs/read.js'
import { createKubeApi, type KubeApiOptions } from '../k8s/client.js'
import type { ExternalSecretsApi } from '../k8s/types.js'
import { createRedactor, type Redactor } from '../secrets/redact.js'
import type { ParameterStore } from '../ssm/store.js'
import { syncExternalSecrets, type Clock, type SyncReport } from './sync.js'

/**
 * The sync phase's entry for the main. It loads @kubernetes/client-node, so the main imports it
 * only when the phase runs: `const { runSyncPhase } = await import('./sync/phase.js')`.
 */

export interface SyncPhaseInputs {
  readonly sync: SyncInputs
  readonly pathPrefix: string
  readonly environment: string
  readonly dryRun: boolean
  /** Parameters the push phase wrote (or would write, in a dry run). */
  readonly written?: readonly string[]
}

export interface SyncPhaseDependencies {
  /** Registers a value with the runner's log masking (core.setSecret): the kubeconfig and each credential in it. */
  readonly mask: (value: string) => void
  readonly redact: Redactor
  /** For verify-references: GetParameters without decryption. */
  readonly store?: ParameterStore
  readonly log?: (line: string) => void
  /** Where KUBECONFIG and the in-cluster variables are read; process.env by default. */
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly createKube?: (options: KubeApiOptions) => ExternalSecretsApi
  readonly clock?: Clock
}

export async function runSyncPhase(inputs: SyncPhaseInputs, deps: SyncPhaseDependencies): Promise<SyncReport> {
  const credentials: string[] = []
  const mask = (value: string): void => {
    deps.mask(value)
    // Single-line values only: the redactor masks each line of a value, and the lines of a
    // kubeconfig (`kind: Config`) are no secrets; its credentials are single-line.
    if (!/[\r\n]/.test(value.trim())) credentials.push(value)
  }
  let kube: ExternalSecretsApi
  try {
    kube = (deps.createKube ?? createKubeApi)({ kubeconfig: inputs.sync.kubeconfig, context: inputs.sync.kubeContext, mask, env: deps.env })
  } catch (error) {
    const own = createRedactor(credentials)
    throw new ActionError('ZT140', `Nothing was annotated: ${own(deps.redact(error instanceof Error ? error.message : String(error)))}`)
  }
  const own = createRedactor(credentials)
  const redact: Redactor = (text) => own(deps.redact(text))
  return syncExternalSecrets(
    {
      namespaces: inputs.sync.namespaces,
      labelSelector: inputs.sync.labelSelector,
      annotationKey: inputs.sync.annotationKey,
      wait: inputs.sync.wait,
      timeoutMs: inputs.sync.timeoutMs,
      verifyReferences: inputs.sync.verifyReferences,
      pathPrefix: inputs.pathPrefix,
      environment: inputs.environment,
      dryRun: inputs.dryRun,
      written: inputs.written
    },
    { kube, store: deps.store, redact, log: deps.log, clock: deps.clock }
  )
}

export { createKubeApi } from '../k8s/client.js'
export { syncExternalSecrets } from './sync.js'
export type { SyncOptions, SyncDependencies, SyncReport, SyncOutcome, SyncResult } from './sync.js'
