import { ActionError } from '../errors.js'
import type { ExternalSecretsApi } from '../eso/api.js'
import type { Phase } from '../phase.js'
import type { RetryPolicy } from '../ssm/retry.js'
import type { ParameterStore } from '../ssm/store.js'
import { syncFailure, syncLogLines, syncOutputs, syncSummaryRows, syncWarnings } from './report.js'
import type { SyncConfig, SyncInput, SyncReport } from './sync.js'

export interface SyncPhaseInput extends SyncInput {
  readonly config: SyncConfig
  readonly kube: ExternalSecretsApi
  /** For verify-references; absent when no phase needs SSM. */
  readonly store?: ParameterStore
  readonly retry: RetryPolicy
}

/** Annotate the selected ExternalSecrets, then wait for each to sync freshly. */
export const syncPhase: Phase<SyncPhaseInput, SyncReport> = {
  name: 'Sync: force-sync the ExternalSecrets',
  skipped: 'No namespace given: the sync phase is skipped.',
  idleOutputs: syncOutputs({ outcomes: [] }),
  run: async ({ config, apiVersion, written, stores, kube, store, retry }, { clock, log, redact }) => {
    const { syncExternalSecrets } = await import('./sync.js')
    return syncExternalSecrets(config, { apiVersion, written, stores }, { kube, store, retry, redact, log, clock })
  },
  report: (report) => {
    const lines = syncLogLines(report)
    const failed = syncFailure(report)
    return {
      lines,
      warnings: syncWarnings(report),
      outputs: syncOutputs(report),
      summary: [
        {
          heading: `ExternalSecrets force-synced (external-secrets.io/${report.apiVersion})`,
          rows: syncSummaryRows(report),
          footer: lines.at(-1)
        }
      ],
      failure: failed
        ? new ActionError(
            'ZT150',
            `${failed}\nNo workload was restarted (with restart: changed, a re-run restarts every workload still on old Secret data).`
          )
        : undefined
    }
  }
}
