import type { GateOutcome, GateReport } from './gate.js'
import { formatSeconds } from '../time.js'

/** What the GitOps gate tells the log and the job summary. Pure; the warnings are the caller's to emit. */

const LABEL: Record<GateOutcome['result'], string> = {
  matched: 'as in Git',
  differs: 'differs'
}

/** One line per rendered ExternalSecret, then the totals. */
export function gateLogLines(report: GateReport): string[] {
  const lines = sorted(report.outcomes).map(
    (outcome) => `${LABEL[outcome.result].padEnd(9)} ${name(outcome)}${detail(outcome)}`
  )
  return [...lines, totals(report)]
}

/** Rows for the job summary table, header first. */
export function gateSummaryRows(report: GateReport): string[][] {
  const rows = sorted(report.outcomes).map((outcome) => [
    name(outcome),
    outcome.result === 'differs' ? `${LABEL.differs}: ${outcome.difference}` : LABEL.matched,
    seconds(outcome.waitedMs)
  ])
  return [['ExternalSecret', 'Result', 'Waited'], ...rows]
}

function detail(outcome: GateOutcome): string {
  if (outcome.result === 'differs') return `: ${outcome.difference} (not waited for)`
  return outcome.waitedMs ? ` after ${seconds(outcome.waitedMs)}` : ''
}

function totals({ outcomes }: GateReport): string {
  const matched = outcomes.filter(({ result }) => result === 'matched').length
  const differ = outcomes.length - matched
  const waited = Math.max(0, ...outcomes.map(({ waitedMs }) => waitedMs))
  const differing = differ ? `, ${differ} differ (wait-for-definitions: false)` : ''
  return `${matched} of ${outcomes.length} ExternalSecrets in the cluster as in the definitions${differing}; waited ${seconds(waited)}.`
}

function seconds(ms: number): string {
  return `${formatSeconds(ms / 1000)} s`
}

function name(outcome: GateOutcome): string {
  return `${outcome.namespace}/${outcome.name}`
}

function sorted(outcomes: readonly GateOutcome[]): GateOutcome[] {
  return [...outcomes].sort((a, b) => name(a).localeCompare(name(b)))
}
