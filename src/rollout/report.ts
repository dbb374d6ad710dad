import type { RolloutAction, RolloutOutcome, RolloutReport, RolloutResult } from './rollout.js'
import { formatSeconds } from '../time.js'

/** What the rollout phase tells the log, the warnings, the outputs and the job summary. Pure. */

const ACTION: Record<RolloutAction, string> = {
  restarted: 'restarted',
  reloader: 'left to Reloader',
  'not-restarted': 'not restarted',
  'would-restart': 'would restart',
  paused: 'paused',
  'not-patched': 'not restarted'
}

const RESULT: Record<RolloutResult, string> = {
  'rolled-out': 'rolled out',
  failed: 'failed',
  'timed-out': 'timed out',
  'not-awaited': 'not awaited'
}

/** `payments-prod/Deployment/payments-api` */
export function workloadName({ namespace, kind, name }: Pick<RolloutOutcome, 'namespace' | 'kind' | 'name'>): string {
  return `${namespace}/${kind}/${name}`
}

/** One line per workload, the notes on what could not be looked at, then the totals. */
export function rolloutLogLines(report: RolloutReport): string[] {
  const lines = sorted(report.outcomes).map(
    (outcome) =>
      `${describe(outcome).padEnd(28)} ${workloadName(outcome)} (reads ${outcome.secrets.join(', ')})${detail(outcome)}`
  )
  return [...lines, ...report.notes, totals(report)]
}

/** With `restart: none`, one warning per workload still running on the old values. */
export function rolloutWarnings(report: RolloutReport): string[] {
  const stale = sorted(report.outcomes)
    .filter(({ action }) => action === 'not-restarted')
    .map(
      (outcome) =>
        `${workloadName(outcome)} reads Secret ${outcome.secrets.join(', ')}: its pods started before the current data and run the old values until they restart (restart: changed restarts them and waits for the rollout)`
    )
  return stale
}

/** `restarted`: JSON array of `namespace/Kind/name` whose rollout this run confirmed. */
export function rolloutOutputs(report: Pick<RolloutReport, 'outcomes'>): Record<string, string> {
  return {
    restarted: JSON.stringify(sorted(report.outcomes.filter(({ result }) => result === 'rolled-out')).map(workloadName))
  }
}

/** Rows for the job summary table, header first. */
export function rolloutSummaryRows(report: RolloutReport): string[][] {
  const rows = sorted(report.outcomes).map((outcome) => [
    workloadName(outcome),
    outcome.secrets.join(', '),
    describe(outcome) + (outcome.reason ? `: ${outcome.reason}` : ''),
    seconds(outcome)
  ])
  return [['Workload', 'Secrets on old data', 'Result', 'Rollout time'], ...rows]
}

/** The step's failure message when a rollout failed, timed out, or could not start; undefined when none did. */
export function rolloutFailure(report: RolloutReport): string | undefined {
  const bad = sorted(report.outcomes.filter(({ result }) => result === 'failed' || result === 'timed-out'))
  if (!bad.length) return undefined
  const list = bad
    .map((outcome) => `  - ${workloadName(outcome)} (${describe(outcome)}): ${outcome.reason ?? 'no reason known'}`)
    .join('\n')
  return `${bad.length} of ${report.outcomes.length} workloads on old Secret data did not roll out; the Secrets themselves are synced. Fix the cause and re-run: a re-run restarts every workload still on old data, even with nothing new to write:\n${list}`
}

function describe({ action, result }: RolloutOutcome): string {
  return result ? `${ACTION[action]}, ${RESULT[result]}` : ACTION[action]
}

function detail(outcome: RolloutOutcome): string {
  if (outcome.result === 'rolled-out' && outcome.seconds !== undefined) return ` in ${formatSeconds(outcome.seconds)} s`
  return outcome.reason ? `: ${outcome.reason}` : ''
}

function seconds({ result, seconds }: RolloutOutcome): string {
  return result === 'rolled-out' && seconds !== undefined ? `${formatSeconds(seconds)} s` : ''
}

function totals({ restart, dryRun, outcomes }: RolloutReport): string {
  if (!outcomes.length) return 'Every workload reading a synced Secret runs its current data.'
  if (dryRun)
    return `Dry run, nothing restarted: ${outcomes.length} workloads run old Secret data or would after the run.`
  if (restart === 'none')
    return `${outcomes.length} workloads run old Secret data and were not restarted (restart: none).`
  const rolledOut = outcomes.filter(({ result }) => result === 'rolled-out').length
  return `${rolledOut} of ${outcomes.length} workloads on old Secret data rolled out to the current data.`
}

function sorted(outcomes: readonly RolloutOutcome[]): RolloutOutcome[] {
  return [...outcomes].sort((a, b) => workloadName(a).localeCompare(workloadName(b)))
}
