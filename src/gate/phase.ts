import type { ExternalSecretsApi } from '../eso/api.js'
import type { ExternalSecret } from '../eso/model.js'
import type { ClusterSettings } from '../k8s/api.js'
import type { LabelSelector } from '../k8s/label-selector.js'
import type { Phase } from '../phase.js'
import type { GateReport } from './gate.js'
import { gateLogLines, gateSummaryRows } from './report.js'

export interface GateInput {
  readonly config: {
    readonly cluster: Pick<ClusterSettings, 'namespaces'>
    readonly selector: LabelSelector
    readonly sync: { readonly timeoutMs: number }
    readonly dryRun: boolean
  }
  readonly kube: ExternalSecretsApi
  /** The external-secrets.io version the pre-flight found. */
  readonly apiVersion: string
  /** The overlay's ExternalSecrets as rendered, and wait-for-definitions. */
  readonly definitions: { readonly externalSecrets: readonly ExternalSecret[]; readonly waitUntilApplied: boolean }
}

/** After the push, before annotating: the cluster must run the definitions that were checked (the GitOps race). */
export const gatePhase: Phase<GateInput, GateReport> = {
  name: 'GitOps gate: the definitions in the cluster',
  run: async ({ config, kube, apiVersion, definitions }, { clock, log, redact }) => {
    const { waitForDefinitions } = await import('./gate.js')
    const { cluster, selector, sync, dryRun } = config
    // A dry run writes nothing, so there is nothing for the cluster to catch up with: the gate reports the differences.
    const wait = definitions.waitUntilApplied && !dryRun
    return waitForDefinitions(
      {
        rendered: definitions.externalSecrets,
        cluster,
        version: apiVersion,
        selector,
        timeoutMs: sync.timeoutMs,
        wait
      },
      { kube, clock, log, redact }
    )
  },
  report: (report) => {
    const lines = gateLogLines(report)
    return {
      lines,
      warnings: report.warnings,
      summary: [
        {
          heading: 'Definitions in the cluster (GitOps gate)',
          rows: gateSummaryRows(report),
          footer: lines.at(-1)
        }
      ]
    }
  }
}
