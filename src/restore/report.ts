import type { RestorePlan } from '../history/select.js'

/** What the restore phase tells the log: the point, and how many parameters it covers. Never values. */

export function restoreHeadline(plan: RestorePlan, path: string, dryRun: boolean): string {
  const at = new Date(plan.at).toISOString()
  const point = plan.point.kind === 'run' ? `right after run ${plan.point.runId} (its last write here: ${at})` : at
  return `${dryRun ? 'Planning the restore of' : 'Restoring'} ${plan.secrets.length + plan.createdAfter.length} parameters under ${path}/ to ${point}`
}
