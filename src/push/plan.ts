import type { RestoredVersion } from '../history/provenance.js'
import type { Secret } from '../secrets/keys.js'
import { MANAGED_BY_TAG, MANAGED_BY_VALUE, parameterName, tierLimit, type Tier } from '../ssm/rules.js'
import type { StoredParameter } from '../ssm/store.js'

export type KeyAction = 'create' | 'update' | 'unchanged'

/** A value to hold: a secret from the inputs, or a version a restore writes back. */
export interface DesiredSecret extends Secret {
  readonly restoredFrom?: RestoredVersion
}

/** What the push will do with one secret. */
export interface KeyPlan extends DesiredSecret {
  readonly name: string
  readonly action: KeyAction
  /** The version in SSM now, when the parameter exists. */
  readonly currentVersion?: number
}

/** Compares the secrets with what SSM holds. Pure: the reads happen before. */
export function diffSecrets(
  secrets: readonly DesiredSecret[],
  path: string,
  current: readonly StoredParameter[],
  tier: Tier
): { plans: KeyPlan[]; problems: string[] } {
  const byName = new Map(current.map((parameter) => [parameter.name, parameter]))
  const problems: string[] = []
  const plans = secrets.map((secret): KeyPlan => {
    const name = parameterName(path, secret.key)
    const existing = byName.get(name)
    const action = keyAction(secret.value, existing)
    if (existing && existing.type !== 'SecureString') {
      problems.push(
        `${name} exists as a ${existing.type} parameter; the action writes SecureString and SSM cannot change a parameter's type: delete it or move it first`
      )
    }
    if (
      existing &&
      action === 'update' &&
      tier === 'Standard' &&
      Buffer.byteLength(existing.value, 'utf8') > tierLimit('Standard')
    ) {
      problems.push(
        `${name} holds more than ${tierLimit('Standard')} bytes, so it is an Advanced parameter, and SSM cannot move it back to Standard: set tier: Advanced or Intelligent-Tiering`
      )
    }
    return { ...secret, name, action, currentVersion: existing?.version }
  })
  return { plans, problems }
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
