import { ActionError } from '../errors.js'
import type { RestorePlan } from '../history/select.js'
import type { Phase, SummaryTable } from '../phase.js'
import type { RetryPolicy } from '../ssm/retry.js'
import type { OwnedReference } from '../eso/guardrails.js'
import type { RegionStore } from '../ssm/store.js'
import { pushSecrets, type PushConfig, type PushReport } from './push.js'
import {
  keptAdvancedNotices,
  pushFailure,
  pushLogLines,
  pushOutputs,
  pushSummaryRows,
  regionLabel,
  regionViews,
  restoreLogLines,
  restoreSummaryRows
} from './report.js'
import { writerOf } from './writer.js'

export interface PushInput {
  readonly config: PushConfig
  /** With restore-to: the versions to write back, instead of the secrets given. */
  readonly restore?: RestorePlan
  /** aws-region's name and store. */
  readonly primary: RegionStore
  /** replica-regions' stores, in their order: each gets the same writes as the primary. */
  readonly replicas: readonly RegionStore[]
  readonly retry: RetryPolicy
  /** Where the workflow run that writes is read from. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** What the ExternalSecrets the run can see read: a prune never deletes one of those parameters. */
  readonly readers: readonly OwnedReference[]
}

/**
 * Writes the secrets given, or the versions a restore brings back, with the same diff, pacing, ownership and prune, in
 * the primary region and in every replica region.
 */
/** Why the sync phase does not follow a push that failed somewhere. */
function syncNotRun({ outcomes }: PushReport): string {
  return outcomes.some(({ result }) => result === 'failed')
    ? 'The sync phase did not run: the cluster would read incomplete values.'
    : 'The sync phase did not run: the primary region holds every value, but the run failed; a re-run writes what is missing in the replica regions, then syncs.'
}

export const pushPhase: Phase<PushInput, PushReport> = {
  name: 'Push to SSM Parameter Store',
  skipped: 'No secrets given: the push phase is skipped.',
  idleOutputs: pushOutputs([], undefined),
  run: ({ config, restore, primary, replicas, retry, env, readers }, { redact, log }) => {
    const secrets = restore?.secrets ?? config.secrets
    const where = replicas.length ? ` in ${[primary, ...replicas].map(({ region }) => region).join(', ')}` : ''
    if (!restore)
      log(`${config.dryRun ? 'Planning' : 'Pushing'} ${secrets.length} secrets to ${config.target.path}/${where}`)
    return pushSecrets(
      { ...config, secrets, readers },
      {
        store: primary.store,
        replicas: replicas.length ? { primary: primary.region, stores: replicas } : undefined,
        redact,
        retry,
        writer: () => writerOf(env)
      }
    )
  },
  report: (report, { config: { target, dryRun, write }, restore, primary }) => {
    const views = regionViews(report, primary.region)
    const lines = [...(restore ? restoreLogLines(restore, write.prune) : []), ...views.flatMap(pushLogLines)]
    const failed = pushFailure(views)
    return {
      lines,
      notices: views.flatMap((view) => keptAdvancedNotices(view, write.tier)),
      outputs: pushOutputs(views, primary.region),
      summary: views.map((view): SummaryTable => {
        const where = view.region ? ` in ${regionLabel(view.region)}` : ''
        const footer = pushLogLines(view).at(-1)
        return restore
          ? {
              heading: `Secrets restored under ${target.path}${where}${dryRun ? ' (dry run)' : ''}`,
              rows: restoreSummaryRows(view.region?.primary === false ? undefined : restore, view, write.prune),
              footer
            }
          : {
              heading: dryRun
                ? `Secrets plan for ${target.path}${where} (dry run)`
                : `Secrets pushed to ${target.path}${where}`,
              rows: pushSummaryRows(view),
              footer
            }
      }),
      failure: failed ? new ActionError('ZT130', `${failed}\n${syncNotRun(report)}`) : undefined
    }
  }
}
