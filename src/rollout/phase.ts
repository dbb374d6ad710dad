import { ActionError } from '../errors.js'
import type { WorkloadsApi } from '../workloads/api.js'
import type { Phase } from '../phase.js'
import { rolloutFailure, rolloutLogLines, rolloutOutputs, rolloutSummaryRows, rolloutWarnings } from './report.js'
import type { FreshSecrets, RolloutConfig, RolloutReport } from './rollout.js'

export interface RolloutInput extends FreshSecrets {
  readonly config: RolloutConfig
  readonly kube: WorkloadsApi
}

/**
 * After a fresh sync: restart the workloads whose pods do not run their Secrets' current data and wait until they
 * do (or warn, with restart: none).
 */
export const rolloutPhase: Phase<RolloutInput, RolloutReport> = {
  name: 'Rollout: restart the workloads',
  idleOutputs: rolloutOutputs({ outcomes: [] }),
  run: async ({ config, kube, ...fresh }, { clock, redact, log }) => {
    const { rollOut } = await import('./rollout.js')
    return rollOut(config, fresh, { kube, clock, redact, log })
  },
  report: (report) => {
    const lines = rolloutLogLines(report)
    const failed = rolloutFailure(report)
    return {
      lines,
      warnings: rolloutWarnings(report),
      outputs: rolloutOutputs(report),
      summary: report.outcomes.length
        ? [{ heading: 'Workloads on old Secret data', rows: rolloutSummaryRows(report), footer: lines.at(-1) }]
        : undefined,
      failure: failed ? new ActionError('ZT160', failed) : undefined
    }
  }
}
