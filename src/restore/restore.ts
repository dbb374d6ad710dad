import { ActionError, invalidInputs } from '../errors.js'
import {
  chooseVersion,
  lastWriteOf,
  type RestoreChoice,
  type RestorePlan,
  type RestorePoint,
  type RestoredSecret
} from '../history/select.js'
import type { Redactor } from '../secrets/redact.js'
import { stopOnSsmError } from '../ssm/explain.js'
import { Pacer } from '../ssm/pacer.js'
import { readHistories, splitByOwner } from '../ssm/read.js'
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from '../ssm/retry.js'
import { keyOf, tierLimit, writeTier, type ServiceTarget, type Tier } from '../ssm/rules.js'
import type { ParameterStore } from '../ssm/store.js'
import type { Clock } from '../time.js'

/** The restore phase's slice of the configuration. */
export interface RestoreConfig {
  readonly target: ServiceTarget
  readonly restore: RestorePoint
  readonly write: { readonly tier: Tier }
}

export interface RestoreDependencies {
  readonly store: ParameterStore
  readonly redact: Redactor
  /** Registers a value read from the history, with its parameter's name, with the run's masking, before anything can be logged. */
  readonly mask: (value: string, name: string) => void
  /** The time a restore-to time is checked against. */
  readonly clock: Clock
  readonly retry?: RetryPolicy
}

/**
 * Plans a restore: lists the service's parameters, keeps the action's own, reads each one's history
 * and chooses the version current at the point. All or nothing: a point in the future, a run that
 * wrote nothing there, or a parameter whose history no longer reaches the point stops the run
 * before anything is written. The push phase then writes the plan (diff, pacing, ownership, prune).
 */
export async function planRestore(
  { target, restore, write }: RestoreConfig,
  deps: RestoreDependencies
): Promise<RestorePlan> {
  if (restore.kind === 'time' && restore.at > deps.clock.now()) {
    throw invalidInputs([
      `restore-to: ${new Date(restore.at).toISOString()} is in the future (now ${new Date(deps.clock.now()).toISOString()})`
    ])
  }
  const { managed, notOwned, histories } = await readOwnHistories(target, deps)
  const at =
    restore.kind === 'time'
      ? restore.at
      : (lastWriteOf(restore.runId, histories) ?? unknownRun(restore.runId, managed.length, target))
  const choices = histories.map((history) => ({ name: history.name, choice: chooseVersion(history, at) }))
  // The values the run handles: what each parameter holds now and what it held at the point. The other versions stay in
  // memory only.
  for (const { name, choice } of choices)
    if (choice.kind === 'restore')
      new Set([choice.from.value, choice.latest.value]).forEach((value) => deps.mask(value, name))
  const problems = choices.flatMap(({ name, choice }) => restoreProblem(name, choice, at, write.tier) ?? [])
  if (problems.length)
    throw new ActionError(
      'ZT122',
      `Nothing was written: not every parameter can be restored to ${new Date(at).toISOString()}.`,
      problems
    )
  return {
    point: restore,
    at,
    secrets: choices.flatMap(({ name, choice }) =>
      choice.kind === 'restore' ? [restoredSecret(name, choice, at)] : []
    ),
    createdAfter: choices.filter(({ choice }) => choice.kind === 'created-after').map(({ name }) => name),
    notOwned
  }
}

function unknownRun(runId: string, owned: number, target: ServiceTarget): never {
  throw new ActionError(
    'ZT122',
    `Nothing was written: no version of the ${owned} parameters the action owns under ${target.path}/ was written by run ${runId}.`,
    [
      'the run wrote nothing there, it is not a zerotouch-secrets run of this repository, or its versions are older than the 100 SSM keeps'
    ]
  )
}

function restoredSecret(
  name: string,
  { from }: Extract<RestoreChoice, { kind: 'restore' }>,
  at: number
): RestoredSecret {
  return {
    key: keyOf(name),
    source: `version ${from.version}`,
    value: from.value,
    restoredFrom: { version: from.version, asOf: at }
  }
}

function restoreProblem(name: string, choice: RestoreChoice, at: number, tier: Tier): string | undefined {
  if (choice.kind === 'beyond-history') {
    const { oldest } = choice
    return `${name}: the oldest version SSM still keeps is version ${oldest.version}, written ${new Date(oldest.modifiedAt).toISOString()}, after ${new Date(at).toISOString()}: what it held then is no longer stored`
  }
  // The write keeps an Advanced parameter Advanced (writeTier), so its limit is the tier it will be written in.
  const written = choice.kind === 'restore' ? writeTier(tier, choice.latest.tier) : tier
  if (choice.kind === 'restore' && Buffer.byteLength(choice.from.value, 'utf8') > tierLimit(written)) {
    return `${name}: version ${choice.from.version} holds more than the ${tierLimit(written)} bytes of the ${written} tier: set tier: Advanced`
  }
  return undefined
}

/** Lists the service's parameters, splits off those the action does not own, and reads the history of the rest. */
async function readOwnHistories(
  target: ServiceTarget,
  { store, redact, retry = DEFAULT_RETRY_POLICY }: RestoreDependencies
) {
  const pacer = new Pacer(retry.clock)
  return stopOnSsmError(
    async () => {
      const listed = await withRetry(() => store.listNames(target.path), retry, pacer)
      const { managed, notOwned } = await splitByOwner(store, listed, retry, pacer)
      const histories = await readHistories(store, managed, { retry, pacer, decrypt: true })
      return { managed, notOwned, histories: histories.filter(({ versions }) => versions.length > 0) }
    },
    'Nothing was written: reading SSM failed.',
    redact
  )
}
