import type { RestorePlan, RestorePoint } from '../history/select.js'
import type { Phase } from '../phase.js'
import type { RetryPolicy } from '../ssm/retry.js'
import type { ParameterStore } from '../ssm/store.js'
import { restoreHeadline } from './report.js'
import type { RestoreConfig } from './restore.js'

export interface RestoreInput {
  readonly config: Omit<RestoreConfig, 'restore'> & { readonly dryRun: boolean }
  /** restore-to */
  readonly point: RestorePoint
  readonly store: ParameterStore
  readonly retry: RetryPolicy
  /** Registers a value read from the history, with its parameter's name, with the run's masking, before anything can be logged. */
  readonly mask: (value: string, name: string) => void
}

/**
 * The versions a restore writes back, read from the parameters' history before anything is written; the push writes
 * them.
 */
export const restorePhase: Phase<RestoreInput, RestorePlan> = {
  name: 'Restore: plan',
  run: async ({ config, point, store, retry, mask }, { clock, redact }) => {
    const { planRestore } = await import('./restore.js')
    return planRestore({ ...config, restore: point }, { store, redact, retry, mask, clock })
  },
  report: (plan, { config }) => ({ lines: [restoreHeadline(plan, config.target.path, config.dryRun)] })
}
