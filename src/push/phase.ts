import { ActionError } from '../errors.js'
import type { RestorePlan } from '../history/select.js'
import type { Phase } from '../phase.js'
import type { RetryPolicy } from '../ssm/retry.js'
import type { ParameterStore } from '../ssm/store.js'
import type { OwnedReference } from '../eso/guardrails.js'
import { pushSecrets, type PushConfig, type PushReport } from './push.js'
import {
  keptAdvancedNotices,
  pushFailure,
  pushLogLines,
  pushOutputs,
  pushSummaryRows,
  restoreLogLines,
  restoreSummaryRows
} from './report.js'
import { writerOf } from './writer.js'

export interface PushInput {
  readonly config: PushConfig
  /** With restore-to: the versions to write back, instead of the secrets given. */
  readonly restore?: RestorePlan
  readonly store: ParameterStore
  readonly retry: RetryPolicy
  /** Where the workflow run that writes is read from. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** What the ExternalSecrets the run can see read: a prune never deletes one of those parameters. */
  readonly readers: readonly OwnedReference[]
}

/** Writes the secrets given, or the versions a restore brings back, with the same diff, pacing, ownership and prune. */
export const pushPhase: Phase<PushInput, PushReport> = {
  name: 'Push to SSM Parameter Store',
  skipped: 'No secrets given: the push phase is skipped.',
  idleOutputs: pushOutputs({ dryRun: false, outcomes: [], notOwned: [], keptAdvanced: [] }),
  run: ({ config, restore, store, retry, env, readers }, { redact, log }) => {
    const secrets = restore?.secrets ?? config.secrets
    if (!restore) log(`${config.dryRun ? 'Planning' : 'Pushing'} ${secrets.length} secrets to ${config.target.path}/`)
    return pushSecrets({ ...config, secrets, readers }, { store, redact, retry, writer: () => writerOf(env) })
  },
  report: (report, { config: { target, dryRun, write }, restore }) => {
    const lines = [...(restore ? restoreLogLines(restore, write.prune) : []), ...pushLogLines(report)]
    const failed = pushFailure(report)
    return {
      lines,
      notices: keptAdvancedNotices(report, write.tier),
      outputs: pushOutputs(report),
      summary: restore
        ? {
            heading: `Secrets restored under ${target.path}${dryRun ? ' (dry run)' : ''}`,
            rows: restoreSummaryRows(restore, report, write.prune),
            footer: lines.at(-1)
          }
        : {
            heading: dryRun ? `Secrets plan for ${target.path} (dry run)` : `Secrets pushed to ${target.path}`,
            rows: pushSummaryRows(report),
            footer: lines.at(-1)
          },
      failure: failed
        ? new ActionError('ZT130', `${failed}\nThe sync phase did not run: the cluster would read incomplete values.`)
        : undefined
    }
  }
}
