import type { RestoredVersion } from '../history/provenance.js'
import type { Secret } from '../secrets/keys.js'
import {
  holdsAllKeptVersions,
  KEPT_VERSIONS,
  labelledOldest,
  MANAGED_BY_TAG,
  MANAGED_BY_VALUE,
  parameterName,
  writeTier,
  type ParameterHistory,
  type Tier
} from '../ssm/rules.js'
import type { ParameterStatus, StoredParameter } from '../ssm/store.js'

export type KeyAction = 'create' | 'update' | 'unchanged'

/** A value to hold: a secret from the inputs, or a version a restore writes back. */
export interface DesiredSecret extends Secret {
  readonly restoredFrom?: RestoredVersion
}

/** What the diff says of one secret. */
export interface KeyDiff extends DesiredSecret {
  readonly name: string
  readonly action: KeyAction
  /** The version in SSM now, when the parameter exists. */
  readonly currentVersion?: number
}

/** What the push will do with one secret: the diff, and the tier its write sends. */
export interface KeyPlan extends KeyDiff {
  readonly tier: Tier
}

/** Compares the secrets with what SSM holds. Pure: the reads happen before. */
export function diffSecrets(
  secrets: readonly DesiredSecret[],
  path: string,
  current: readonly StoredParameter[]
): { diffs: KeyDiff[]; problems: string[] } {
  const byName = new Map(current.map((parameter) => [parameter.name, parameter]))
  const problems: string[] = []
  const diffs = secrets.map((secret): KeyDiff => {
    const name = parameterName(path, secret.key)
    const existing = byName.get(name)
    if (existing && existing.type !== 'SecureString') {
      problems.push(
        `${name} exists as a ${existing.type} parameter; the action writes SecureString and SSM cannot change a parameter's type: delete it or move it first`
      )
    }
    return { ...secret, name, action: keyAction(secret.value, existing), currentVersion: existing?.version }
  })
  return { diffs, problems }
}

/** The parameters to update that hold the 100 versions SSM keeps: their history tells whether SSM takes a new one. */
export function atVersionLimit(diffs: readonly KeyDiff[], statuses: ReadonlyMap<string, ParameterStatus>): string[] {
  return diffs
    .filter(({ action, name }) => action === 'update' && holdsAllKeptVersions(statuses.get(name)?.version ?? 0))
    .map(({ name }) => name)
}

/** The writes of a push, and what the run must say or refuse before the first of them. */
export interface WritePlans {
  readonly plans: KeyPlan[]
  /** Parameters written as Advanced although `tier` asks for another tier: they are Advanced in SSM already. */
  readonly keptAdvanced: string[]
  /** Why SSM would refuse a write (a labelled oldest version): the run stops before writing anything. */
  readonly problems: string[]
}

/**
 * Plans each write from what SSM says of the parameters to update (DescribeParameters: `statuses`) and
 * the histories of those at the version limit. Pure.
 * - The tier: `tier`, except that an Advanced parameter is written as Advanced (writeTier): SSM refuses
 *   a downgrade, so sending Standard would fail that key in the middle of the run.
 * - A parameter whose oldest kept version carries a label cannot take a new version (labelledOldest):
 *   refused before anything is written, naming the parameter, the version and its labels.
 */
export function planWrites(
  diffs: readonly KeyDiff[],
  statuses: ReadonlyMap<string, ParameterStatus>,
  histories: readonly ParameterHistory[],
  wanted: Tier
): WritePlans {
  const plans = diffs.map((diff): KeyPlan => ({ ...diff, tier: writeTier(wanted, statuses.get(diff.name)?.tier) }))
  const problems = histories.flatMap((history) => {
    const oldest = labelledOldest(history)
    if (!oldest) return []
    const labels = oldest.labels ?? []
    return [
      `${history.name}: version ${oldest.version}, the oldest of the ${KEPT_VERSIONS} versions SSM keeps, carries the label${labels.length > 1 ? 's' : ''} ${labels.join(', ')}, so SSM refuses a new version (ParameterMaxVersionLimitExceeded): move the label to a newer version or remove it (aws ssm unlabel-parameter-version --name ${history.name} --parameter-version ${oldest.version} --labels ${labels.join(' ')})`
    ]
  })
  const keptAdvanced = plans
    .filter(({ action, tier }) => action !== 'unchanged' && tier !== wanted)
    .map(({ name }) => name)
  return { plans, keptAdvanced, problems }
}

function keyAction(value: string, existing: StoredParameter | undefined): KeyAction {
  if (!existing) return 'create'
  return existing.value === value ? 'unchanged' : 'update'
}

/** The tags every parameter the action writes carries. */
export function desiredTags(userTags: Readonly<Record<string, string>>): Record<string, string> {
  return { ...userTags, [MANAGED_BY_TAG]: MANAGED_BY_VALUE }
}

/** Another owner's parameter (e.g. PushSecret's `managed-by=external-secrets`) is never touched. */
export function foreignOwner(tags: Readonly<Record<string, string>>): string | undefined {
  const owner = tags[MANAGED_BY_TAG]
  return owner !== undefined && owner !== MANAGED_BY_VALUE ? owner : undefined
}

export function ownershipProblem(name: string, tags: Readonly<Record<string, string>>): string | undefined {
  const owner = foreignOwner(tags)
  return owner === undefined
    ? undefined
    : `${name} is tagged ${MANAGED_BY_TAG}=${owner}: it belongs to another tool and the action will not overwrite or delete it`
}

/** The tags still to add to a parameter, or undefined when it already carries all of them. */
export function missingTags(
  desired: Readonly<Record<string, string>>,
  current: Readonly<Record<string, string>>
): Record<string, string> | undefined {
  const missing = Object.entries(desired).filter(([key, value]) => current[key] !== value)
  return missing.length ? Object.fromEntries(missing) : undefined
}

/**
 * The parameters listed under the service's path that this run's secrets no longer name. Only
 * those of them tagged as the action's own (isManaged) are deleted; the caller checks the tags.
 */
export function pruneCandidates(listed: readonly string[], keep: ReadonlySet<string>): string[] {
  return listed.filter((name) => !keep.has(name))
}
