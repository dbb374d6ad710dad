import { ActionError } from '../errors.js'
import type { ExternalSecret, SecretStore } from '../eso/model.js'
import type { WorkloadsApi } from '../workloads/api.js'
import type { WorkloadKind } from '../workloads/model.js'
import type { ObjectRef } from '../k8s/types.js'
import type { Phase } from '../phase.js'
import { rolloutFailure, rolloutLogLines, rolloutOutputs, rolloutSummaryRows, rolloutWarnings } from './report.js'
import type { RolloutConfig, RolloutReport, WorkloadSnapshot } from './rollout.js'

export interface SnapshotInput {
  readonly config: RolloutConfig
  readonly kube: WorkloadsApi
  /** The kinds the cluster serves, from the pre-flight. */
  readonly workloadKinds: readonly WorkloadKind[]
}

/** The workloads before the annotation, so that a rollout Reloader starts afterwards can be told apart. */
export const snapshotPhase: Phase<SnapshotInput, WorkloadSnapshot> = {
  name: 'Rollout: the workloads before the sync',
  run: async ({ config, kube, workloadKinds }, { clock, redact }) => {
    const { snapshotWorkloads } = await import('./rollout.js')
    return snapshotWorkloads(config, workloadKinds, { kube, clock, redact })
  },
  report: () => ({})
}

export interface RolloutInput extends SnapshotInput {
  readonly snapshot: WorkloadSnapshot
  /** The selected ExternalSecrets as the sync phase listed them, and those it confirmed freshly synced. */
  readonly externalSecrets: readonly ExternalSecret[]
  /** The stores they read through. */
  readonly stores: readonly SecretStore[]
  readonly synced: readonly ObjectRef[]
  /** The parameters the push wrote (or would write, in a dry run). */
  readonly written: ReadonlySet<string>
}

/**
 * After a fresh sync: restart the workloads that read a changed Secret and wait for their rollouts (or warn, with
 * restart: none).
 */
export const rolloutPhase: Phase<RolloutInput, RolloutReport> = {
  name: 'Rollout: restart the workloads',
  idleOutputs: rolloutOutputs({ outcomes: [] }),
  run: async ({ config, kube, snapshot, externalSecrets, stores, synced, written }, { clock, redact, log }) => {
    const [{ rollOut }, { changedSecrets }] = await Promise.all([import('./rollout.js'), import('./plan.js')])
    const changed = changedSecrets(externalSecrets, stores, synced, written)
    return rollOut(config, snapshot, changed, { kube, clock, redact, log })
  },
  report: (report) => {
    const lines = rolloutLogLines(report)
    const failed = rolloutFailure(report)
    return {
      lines,
      warnings: rolloutWarnings(report),
      outputs: rolloutOutputs(report),
      summary: report.outcomes.length
        ? { heading: 'Workloads reading a changed Secret', rows: rolloutSummaryRows(report), footer: lines.at(-1) }
        : undefined,
      failure: failed ? new ActionError('ZT160', failed) : undefined
    }
  }
}
