/**
 * History selection: which version of each parameter a restore brings back. Pure: the histories
 * are read before (GetParameterHistory keeps the last 100 versions of a parameter).
 */
import type { Secret } from '../secrets/keys.js'
import type { ParameterHistory, ParameterVersion } from '../ssm/rules.js'
import { runIdOf, type RestoredVersion } from './provenance.js'

/** The moment to restore: a time, or right after a workflow run's last write. */
export type RestorePoint =
  { readonly kind: 'time'; readonly at: number } | { readonly kind: 'run'; readonly runId: string }

/** A value to write back: the push phase writes it as it writes a secret, with the restore in its description. */
export interface RestoredSecret extends Secret {
  readonly restoredFrom: RestoredVersion
}

export interface RestorePlan {
  readonly point: RestorePoint
  /** The time the point stands for, in ms since the epoch (for a run: its last write). */
  readonly at: number
  /** Every parameter the action owns that existed at the point, with the value it held then. */
  readonly secrets: RestoredSecret[]
  /** The action's parameters created after the point: deleted with prune, else kept. */
  readonly createdAfter: string[]
  /** Parameters under the path that the action does not own: never read further, never touched. */
  readonly notOwned: string[]
}

/** What a restore does with one parameter. */
export type RestoreChoice =
  /** The version current at the point; the restore writes its value when it differs from the latest. */
  | { readonly kind: 'restore'; readonly from: ParameterVersion; readonly latest: ParameterVersion }
  /** Every version is newer than the point and version 1 is among them: the parameter did not exist then. */
  | { readonly kind: 'created-after'; readonly first: ParameterVersion }
  /** Every retained version is newer than the point, but older ones were dropped: what it held then is lost. */
  | { readonly kind: 'beyond-history'; readonly oldest: ParameterVersion }

/**
 * The time right after a run's writes: its last write, the newest version it wrote (by the run id
 * its description records). Undefined when no version records the run.
 */
export function lastWriteOf(runId: string, histories: readonly ParameterHistory[]): number | undefined {
  const written = histories.flatMap((history) =>
    writtenVersions(history).filter(({ description }) => runIdOf(description) === runId)
  )
  return written.length ? Math.max(...written.map(({ modifiedAt }) => modifiedAt)) : undefined
}

/**
 * The versions whose description was written with them. SSM gives a version put without a
 * description the one before it, so a console edit after a run would carry that run's record: a
 * description equal to the previous version's is inherited. (The action writes a parameter once a
 * run attempt, and a restore's description differs, so its own versions never repeat one.)
 */
function writtenVersions({ versions }: ParameterHistory): ParameterVersion[] {
  const byVersion = oldestFirst(versions)
  return byVersion.filter((version, index) => index === 0 || version.description !== byVersion[index - 1].description)
}

function oldestFirst(versions: readonly ParameterVersion[]): ParameterVersion[] {
  return [...versions].sort((a, b) => a.version - b.version)
}

/** The newest version at or before `at`, or why there is none. The history must not be empty. */
export function chooseVersion(history: ParameterHistory, at: number): RestoreChoice {
  const byVersion = oldestFirst(history.versions)
  const latest = byVersion[byVersion.length - 1]
  const from = byVersion.filter(({ modifiedAt }) => modifiedAt <= at).pop()
  if (from) return { kind: 'restore', from, latest }
  const oldest = byVersion[0]
  return oldest.version === 1 ? { kind: 'created-after', first: oldest } : { kind: 'beyond-history', oldest }
}
