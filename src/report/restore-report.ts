import type { KeyOutcome, PushReport } from '../push/push.js'
import type { RestorePlan } from '../restore/restore.js'
import { keyOf, MANAGED_BY_TAG, MANAGED_BY_VALUE } from '../ssm/rules.js'

/** What a restore adds to the push's report: the point, and the parameters it leaves alone. Names and versions, never values. */

export function restoreHeadline(plan: RestorePlan, path: string, dryRun: boolean): string {
  const at = new Date(plan.at).toISOString()
  const point = plan.point.kind === 'run' ? `right after run ${plan.point.runId} (its last write here: ${at})` : at
  return `${dryRun ? 'Planning the restore of' : 'Restoring'} ${plan.secrets.length + plan.createdAfter.length} parameters under ${path}/ to ${point}`
}

interface LeftAlone {
  readonly name: string
  readonly verb: string
  readonly why: string
}

/** The parameters the push does not report: created after the point and kept (without prune), and those the action does not own. */
export function restoreLogLines(plan: RestorePlan, prune: boolean): string[] {
  return leftAlone(plan, prune).map(({ name, verb, why }) => `${verb.padEnd(12)} ${name} (${why})`)
}

function leftAlone(plan: RestorePlan, prune: boolean): LeftAlone[] {
  if (prune) return [] // the push deletes what was created after the point, and reports what it does not own
  return [...plan.createdAfter.map((name) => ({ name, verb: 'kept', why: 'created after the point; prune: true deletes it' })), ...plan.notOwned.map(notOwned)]
}

function notOwned(name: string): LeftAlone {
  return { name, verb: 'not touched', why: `not tagged ${MANAGED_BY_TAG}=${MANAGED_BY_VALUE}` }
}

/** The job summary's rows, header first: per key, the version restored and the version written, or why nothing was. */
export function restoreSummaryRows(plan: RestorePlan, push: PushReport, prune: boolean): string[][] {
  const rows = [
    ...push.outcomes.map((outcome) => ({ name: outcome.name, text: result(outcome, push.dryRun) })),
    ...[...push.notOwned.map(notOwned), ...leftAlone(plan, prune)].map(({ name, verb, why }) => ({ name, text: `${verb}: ${why}` }))
  ]
  return [['Key', 'Parameter', 'Result'], ...rows.sort((a, b) => a.name.localeCompare(b.name)).map(({ name, text }) => [keyOf(name), name, text])]
}

function result({ result, version, restoredFrom, reason }: KeyOutcome, dryRun: boolean): string {
  const from = restoredFrom ? `version ${restoredFrom.version}` : 'no version'
  switch (result) {
    case 'updated':
      return dryRun ? `would restore ${from} (now version ${version ?? '?'})` : `restored from ${from} to new version ${version ?? '?'}`
    case 'unchanged':
      return `unchanged: version ${version ?? '?'} holds the value of ${from}`
    case 'created':
      return dryRun ? `would create it again from ${from}` : `created again from ${from} as version ${version ?? '?'}`
    case 'deleted':
      return `${dryRun ? 'would delete' : 'deleted'}: created after the point`
    case 'failed':
      return `failed: ${reason ?? ''}`
  }
}
