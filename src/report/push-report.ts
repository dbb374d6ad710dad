import type { KeyOutcome, KeyResult, PushReport } from '../push/push.js'
import { MANAGED_BY_TAG, MANAGED_BY_VALUE } from '../ssm/rules.js'

/** What the push phase tells the log, the outputs and the job summary: names, never values. */

const WOULD: Record<KeyResult, string> = {
  created: 'would create',
  updated: 'would update',
  unchanged: 'unchanged',
  deleted: 'would delete',
  failed: 'failed'
}

export function pushLogLines(report: PushReport): string[] {
  const lines = sorted(report.outcomes).map((outcome) => {
    const verb = report.dryRun ? WOULD[outcome.result] : outcome.result
    const version = outcome.version === undefined ? '' : ` (version ${outcome.version})`
    const source = outcome.source ? ` from ${outcome.source}` : ''
    const reason = outcome.reason ? `: ${outcome.reason}` : ''
    return `${verb.padEnd(12)} ${outcome.name}${version}${source}${reason}`
  })
  const kept = report.notOwned.map((name) => `${'kept'.padEnd(12)} ${name} (not tagged ${MANAGED_BY_TAG}=${MANAGED_BY_VALUE}, so prune leaves it)`)
  return [...lines, ...kept, totals(report)]
}

function totals(report: PushReport): string {
  const counts = (['created', 'updated', 'unchanged', 'deleted', 'failed'] as const).map((result) => `${keysWith(report, result).length} ${result}`).join(', ')
  return report.dryRun ? `Dry run, nothing written. A real run: ${counts}.` : `${counts}.`
}

export function keysWith(report: PushReport, result: KeyResult): string[] {
  return sorted(report.outcomes.filter((outcome) => outcome.result === result)).map(({ key }) => key)
}

export function pushOutputs(report: PushReport): Record<string, string> {
  const [created, updated, unchanged, deleted] = (['created', 'updated', 'unchanged', 'deleted'] as const).map((result) => keysWith(report, result))
  return {
    created: JSON.stringify(created),
    updated: JSON.stringify(updated),
    unchanged: JSON.stringify(unchanged),
    deleted: JSON.stringify(deleted),
    changed: String(created.length + updated.length + deleted.length > 0),
    versions: JSON.stringify(versionsAfter(report))
  }
}

/** Each key the run holds and its version after the run (in a dry run: the current one), known from the reads and writes made. */
function versionsAfter(report: PushReport): Record<string, number> {
  const held = sorted(report.outcomes).filter(({ result }) => result === 'created' || result === 'updated' || result === 'unchanged')
  return Object.fromEntries(held.flatMap(({ key, version }) => (version === undefined ? [] : [[key, version]])))
}

/** Rows for the job summary table, header first. */
export function pushSummaryRows(report: PushReport): string[][] {
  const header = ['Key', 'Parameter', 'Result', 'Version', 'Source secret']
  const rows = sorted(report.outcomes).map((outcome) => [
    outcome.key,
    outcome.name,
    report.dryRun ? WOULD[outcome.result] : outcome.reason ? `failed: ${outcome.reason}` : outcome.result,
    outcome.version === undefined ? '' : String(outcome.version),
    outcome.source ?? ''
  ])
  return [header, ...rows]
}

/** The step's failure message when some keys were not written, naming each; undefined when all were. */
export function pushFailure(report: PushReport): string | undefined {
  const failed = sorted(report.outcomes.filter((outcome) => outcome.result === 'failed'))
  if (!failed.length) return undefined
  const list = failed.map((outcome) => `  - ${outcome.name}: ${outcome.reason}`).join('\n')
  return `${failed.length} of ${report.outcomes.length} parameters were not written or deleted; a re-run retries only those:\n${list}`
}

function sorted(outcomes: readonly KeyOutcome[]): KeyOutcome[] {
  return [...outcomes].sort((a, b) => a.name.localeCompare(b.name))
}
