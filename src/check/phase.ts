import { ActionError } from '../errors.js'
import type { Phase } from '../phase.js'
import type { CheckReport, CheckRequest } from './check.js'
import { checkLogLines, checkOutputs, checkSummary, driftHeadline, findingText } from './report.js'

export interface CheckInput extends CheckRequest {
  /** fail-on-drift: findings fail the step (ZT170); false: each is a warning and the step passes. */
  readonly failOnDrift: boolean
}

/** Check mode, after the read-only pre-flight: reads SSM and the cluster, reports the drift, writes nothing. */
export const checkPhase: Phase<CheckInput, CheckReport> = {
  name: 'Check: drift from the release (read-only)',
  idleOutputs: checkOutputs({ findings: [] }),
  run: async (input, { redact, log }) => {
    const { checkDrift } = await import('./check.js')
    log(`Checking ${input.config.target.path}/ and the cluster against the release; nothing is written.`)
    return checkDrift(input, redact)
  },
  report: (report, { failOnDrift, config }) => {
    const problems = report.findings.map(findingText)
    return {
      lines: checkLogLines(report),
      warnings: failOnDrift ? [] : problems,
      outputs: checkOutputs(report),
      summary: [checkSummary(report, config.target.path)],
      failure: failOnDrift && problems.length ? new ActionError('ZT170', driftHeadline(report), problems) : undefined
    }
  }
}
