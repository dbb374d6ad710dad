import { FORCE_SYNC_ANNOTATION, type ExternalSecret, type SecretStore } from '../eso/model.js'
import type { ObjectRef } from '../k8s/types.js'
import type { SyncOutcome, SyncReport, SyncResult } from './sync.js'
import { formatSeconds } from '../time.js'

/** What the sync phase tells the log, the outputs and the job summary. Pure; imports no Kubernetes client. */

const LABEL: Record<SyncResult, string> = {
  synced: 'synced',
  failed: 'failed',
  'timed-out': 'timed out',
  annotated: 'annotated',
  'would-annotate': 'would annotate'
}

export function syncLogLines(report: SyncReport): string[] {
  const lines = sorted(report.outcomes).map((outcome) => {
    const time =
      outcome.result === 'synced' && outcome.seconds !== undefined ? ` in ${formatSeconds(outcome.seconds)} s` : ''
    const note = outcome.result === 'annotated' ? ' (not waited for: wait is false)' : ''
    const reason = outcome.reason ? `: ${outcome.reason}` : ''
    return `${LABEL[outcome.result].padEnd(14)} ${name(outcome)}${time}${note}${reason}`
  })
  const through = report.clusterExternalSecrets.map(
    ({ name: clusterExternalSecret, selected }) =>
      `${report.dryRun ? 'Would force-sync' : 'Force-synced'} ${selected.map(name).join(', ')} through ClusterExternalSecret "${clusterExternalSecret}" (${FORCE_SYNC_ANNOTATION}), which controls them and resets their annotations`
  )
  return [...lines, ...through, totals(report)]
}

/**
 * A ClusterExternalSecret passes its force-sync on to every ExternalSecret it owns: those of namespaces outside the
 * selection refresh too (one more read of SSM each; their Secrets change only where SSM did).
 */
export function syncWarnings(report: SyncReport): string[] {
  return report.clusterExternalSecrets
    .filter(({ outside }) => outside.length > 0)
    .map(
      ({ name, outside }) =>
        `ClusterExternalSecret "${name}" was annotated to force-sync the selected ExternalSecrets it controls; it also provisions namespace${outside.length === 1 ? '' : 's'} ${outside.join(', ')}, outside the selection, whose ExternalSecrets refreshed too`
    )
}

function totals(report: SyncReport): string {
  const checks = report.verified
    ? `Checked ${report.checkedReferences} references (${report.checkedParameters.length} parameters found in SSM).`
    : 'References not checked (verify-references: false).'
  const annotation = `${report.annotation.key}=${report.annotation.value}`
  if (report.dryRun) {
    return `Dry run, nothing annotated. ${checks} A real run would annotate ${report.outcomes.length} ExternalSecrets (${report.apiVersion}) with ${report.annotation.key}.`
  }
  const counts = (['synced', 'failed', 'timed-out', 'annotated'] as const)
    .map((result) => [result, report.outcomes.filter((outcome) => outcome.result === result).length] as const)
    .filter(([result, count]) => count > 0 || result === 'synced' || result === 'failed')
    .map(([result, count]) => `${count} ${LABEL[result]}`)
    .join(', ')
  return `${counts}. ${checks} Annotation ${annotation}.`
}

/** `synced`: JSON array of `namespace/name` confirmed freshly synced. */
export function syncOutputs(report: Pick<SyncReport, 'outcomes'>): Record<string, string> {
  return { synced: JSON.stringify(sorted(report.outcomes.filter(({ result }) => result === 'synced')).map(name)) }
}

/**
 * What the rollout needs of the sync: the selected ExternalSecrets as listed, the stores they read
 * through, and those confirmed freshly synced (in a dry run: those it would annotate).
 */
export function freshlySynced(report: SyncReport): {
  externalSecrets: readonly ExternalSecret[]
  stores: readonly SecretStore[]
  synced: SyncOutcome[]
} {
  return {
    externalSecrets: report.externalSecrets,
    stores: report.stores,
    synced: report.outcomes.filter(({ result }) => result === 'synced' || result === 'would-annotate')
  }
}

/** Rows for the job summary table, header first. */
export function syncSummaryRows(report: SyncReport): string[][] {
  const header = ['ExternalSecret', 'Result', 'Time to sync']
  const rows = sorted(report.outcomes).map((outcome) => [
    name(outcome),
    outcome.reason ? `${LABEL[outcome.result]}: ${outcome.reason}` : LABEL[outcome.result],
    outcome.result === 'synced' && outcome.seconds !== undefined ? `${formatSeconds(outcome.seconds)} s` : ''
  ])
  return [header, ...rows]
}

/**
 * The step's failure message when some ExternalSecret did not freshly sync, naming each and why; undefined when none.
 */
export function syncFailure(report: SyncReport): string | undefined {
  const bad = sorted(report.outcomes.filter(({ result }) => result === 'failed' || result === 'timed-out'))
  if (!bad.length) return undefined
  const list = bad
    .map((outcome) => `  - ${name(outcome)} (${LABEL[outcome.result]}): ${outcome.reason ?? 'no reason known'}`)
    .join('\n')
  return `${bad.length} of ${report.outcomes.length} ExternalSecrets did not freshly sync:\n${list}`
}

function name(outcome: ObjectRef): string {
  return `${outcome.namespace}/${outcome.name}`
}

function sorted(outcomes: readonly SyncOutcome[]): SyncOutcome[] {
  return [...outcomes].sort((a, b) => name(a).localeCompare(name(b)))
}
