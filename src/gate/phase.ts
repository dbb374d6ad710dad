import type { ExternalSecretsApi } from '../eso/api.js'
import type { Phase } from '../phase.js'
import type { GateConfig, GateReport } from './gate.js'
import { gateLogLines, gateSummaryRows } from './report.js'

export interface GateInput {
  readonly config: GateConfig
  readonly kube: ExternalSecretsApi
}

/** After the push, before annotating: the cluster must run the definitions that were checked (the GitOps race). */
export const gatePhase: Phase<GateInput, GateReport> = {
  name: 'GitOps gate: the definitions in the cluster',
  run: async ({ config, kube }, { clock, log, redact }) => {
    const { waitForDefinitions } = await import('./gate.js')
    return waitForDefinitions(config, { kube, clock, log, redact })
  },
  report: (report) => {
    const lines = gateLogLines(report)
    return { lines, warnings: report.warnings, summary: { heading: 'Definitions in the cluster (GitOps gate)', rows: gateSummaryRows(report), footer: lines.at(-1) } }
  }
}
