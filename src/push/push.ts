import pLimit from 'p-limit'
import { ActionError, isCancellation } from '../errors.js'
import { describeVersion, type RestoredVersion, type Writer } from '../history/provenance.js'
import { prunedReferenceProblems, type OwnedReference } from '../eso/guardrails.js'
import type { Redactor } from '../secrets/redact.js'
import { explainSsmError } from '../ssm/explain.js'
import { Pacer } from '../ssm/pacer.js'
import {
  describeParameters,
  READ_CONCURRENCY,
  readHistories,
  readParameters,
  readTags,
  splitByOwner
} from '../ssm/read.js'
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from '../ssm/retry.js'
import { keyOf, parameterName, writeTier, type ParameterHistory, type ServiceTarget, type Tier } from '../ssm/rules.js'
import {
  inBatches,
  type ParameterStatus,
  type ParameterStore,
  type RegionStore,
  type StoredParameter
} from '../ssm/store.js'
import {
  atVersionLimit,
  desiredTags,
  diffSecrets,
  missingTags,
  ownershipProblem,
  planWrites,
  pruneCandidates,
  type DesiredSecret,
  type KeyPlan
} from './plan.js'

/** How the push writes: the tier and key of new versions, the user's tags, and whether it prunes. */
export interface WriteSettings {
  readonly tier: Tier
  readonly kmsKeyId?: string
  readonly tags: Readonly<Record<string, string>>
  readonly prune: boolean
}

/** The push phase's slice of the configuration. */
export interface PushConfig {
  readonly target: ServiceTarget
  /** The secrets to push (or the versions a restore writes back); empty when the push phase is skipped. */
  readonly secrets: readonly DesiredSecret[]
  readonly write: WriteSettings
  readonly dryRun: boolean
}

/** What the push does: the configuration's, and what the ExternalSecrets it can see read. */
export interface PushRequest extends PushConfig {
  /**
   * The references of the ExternalSecrets the run can see (live in the namespaces, rendered in the
   * definitions); none without a cluster or definitions. A prune that would delete a parameter one
   * of them reads is refused.
   */
  readonly readers?: readonly OwnedReference[]
}

export interface PushDependencies {
  /** The primary region's store (aws-region). */
  readonly store: ParameterStore
  /**
   * With replica-regions: the primary's name, and each replica's store. Every region is read and planned as the
   * primary is before anything is written anywhere, then the regions are written at once, each at its own pace.
   */
  readonly replicas?: { readonly primary: string; readonly stores: readonly RegionStore[] }
  readonly redact: Redactor
  /** Who is writing, for each new version's description; asked once, and only when something is written. */
  readonly writer: () => Promise<Writer>
  readonly retry?: RetryPolicy
}

/** `cancelled`: not written (or not deleted), because the run was cancelled before its write started. */
export type KeyResult = 'created' | 'updated' | 'unchanged' | 'deleted' | 'failed' | 'cancelled'

export interface KeyOutcome {
  readonly key: string
  readonly name: string
  readonly result: KeyResult
  /** The secret it came from; absent for pruned parameters. */
  readonly source?: string
  readonly version?: number
  /** Why it failed, for `failed`. */
  readonly reason?: string
  /** For a restore: the version whose value the key holds again (or would, in a dry run). */
  readonly restoredFrom?: RestoredVersion
}

/** What the push did (or, in a dry run, would do) in one region. */
export interface RegionResults {
  readonly outcomes: KeyOutcome[]
  /** Parameters under the service's path that prune leaves because the action does not own them. */
  readonly notOwned: string[]
  /** Parameters written (or, in a dry run, to be written) as Advanced although `tier` asks for another tier. */
  readonly keptAdvanced: readonly string[]
}

export interface ReplicaResults extends RegionResults {
  readonly region: string
}

/** The primary region's results, and each replica's. */
export interface PushReport extends RegionResults {
  readonly dryRun: boolean
  /** In the order of replica-regions; empty without it. */
  readonly replicas: readonly ReplicaResults[]
}

/** Concurrent writes at most; PutParameter allows about 3 a second per account. */
const WRITE_CONCURRENCY = 4

interface PushPlan {
  readonly plans: KeyPlan[]
  readonly keptAdvanced: string[]
  readonly tagsByName: Map<string, Record<string, string>>
  readonly doomed: string[]
  readonly notOwned: string[]
  /** What SSM would refuse, or the action will not do: the run stops before the first write. */
  readonly problems: string[]
}

/** One region's SSM calls, and its name when the run writes several. */
interface Region {
  readonly name?: string
  readonly calls: SsmCalls
}

interface PlannedRegion {
  readonly region: Region
  readonly plan: PushPlan
}

/**
 * The push phase: read what SSM holds in every region, plan each, stop on any problem before the
 * first write anywhere, then write only what changed in each region (the regions at once, each at
 * its own pace), tag it, and prune if asked. Dry-run stops after the plans.
 */
export async function pushSecrets(config: PushRequest, deps: PushDependencies): Promise<PushReport> {
  const planned = await planEveryRegion(config, regionsOf(deps, config.write))
  const changes = planned.some(({ plan }) => plan.plans.some(({ action }) => action !== 'unchanged'))
  const writer = !config.dryRun && changes ? await deps.writer() : undefined
  const [results, ...replicaResults] = await Promise.all(
    planned.map(({ region, plan }) =>
      config.dryRun ? Promise.resolve(plannedResults(plan)) : writePlan(region.calls, plan, config.write, writer)
    )
  )
  const replicas = planned
    .slice(1)
    .map(({ region }, index) => ({ region: region.name ?? '', ...replicaResults[index] }))
  return { dryRun: config.dryRun, ...results, replicas }
}

function regionsOf(deps: PushDependencies, settings: WriteSettings): Region[] {
  const primary: Region = { name: deps.replicas?.primary, calls: new SsmCalls(deps, settings) }
  const replicas = (deps.replicas?.stores ?? []).map(({ region, store }): Region => ({
    name: region,
    calls: new SsmCalls({ ...deps, store }, settings)
  }))
  return [primary, ...replicas]
}

/**
 * Plans every region at once, all or nothing: a region that cannot be read (ZT120) or whose plan has problems (ZT121,
 * each problem naming its region) stops the run before anything is written in any region.
 */
async function planEveryRegion(config: PushRequest, regions: readonly Region[]): Promise<PlannedRegion[]> {
  const several = regions.length > 1
  const settled = await Promise.allSettled(regions.map(({ calls }) => planPush(config, calls)))
  const unread = settled.flatMap((result, index) =>
    result.status === 'rejected' ? [{ region: regions[index], error: result.reason as unknown }] : []
  )
  const passOn = unread.find(({ error }) => error instanceof ActionError)
  if (passOn) throw passOn.error
  const headline = `Nothing was written${several ? ' in any region' : ''}`
  if (unread.length) {
    const [{ region, error }] = unread
    if (!several) throw new ActionError('ZT120', `${headline}: reading SSM failed. ${region.calls.explain(error)}`)
    throw new ActionError(
      'ZT120',
      `${headline}: reading SSM failed in ${unread.map(({ region }) => region.name).join(', ')}.`,
      unread.map(({ region, error }) => `${region.name}: ${region.calls.explain(error)}`)
    )
  }
  const planned = settled.flatMap((result, index) =>
    result.status === 'fulfilled' ? [{ region: regions[index], plan: result.value }] : []
  )
  const problems = planned.flatMap(({ region, plan }) =>
    plan.problems.map((problem) => (several ? `${region.name}: ${problem}` : problem))
  )
  if (problems.length) throw new ActionError('ZT121', `${headline}: the plan has problems.`, problems)
  return planned
}

function plannedResults({ plans, doomed, notOwned, keptAdvanced }: PushPlan): RegionResults {
  return { outcomes: [...plans.map(plannedOutcome), ...doomed.map(deletedOutcome)], notOwned, keptAdvanced }
}

/** Writes one region's plan: the changed keys a few at once, then the prune. */
async function writePlan(
  calls: SsmCalls,
  { plans, keptAdvanced, tagsByName, doomed, notOwned }: PushPlan,
  settings: WriteSettings,
  writer: Writer | undefined
): Promise<RegionResults> {
  const tags = desiredTags(settings.tags)
  const writes = pLimit(WRITE_CONCURRENCY)
  const outcomes = await Promise.all(
    plans.map((plan) =>
      writer && plan.action !== 'unchanged'
        ? writes(() =>
            calls.write(
              { ...plan, description: describeVersion(writer, plan.restoredFrom) },
              tags,
              tagsByName.get(plan.name)
            )
          )
        : Promise.resolve(plannedOutcome(plan))
    )
  )
  outcomes.push(...(await calls.delete(doomed)))
  return { outcomes, notOwned, keptAdvanced }
}

/**
 * Reads what the plan needs, then plans: the values (to diff), then for the keys to update their tags
 * (ownership), their tier and version (DescribeParameters), and the history of those at the 100-version
 * limit; and with prune, the service's path. A failed read rejects; the problems that stop the run are
 * returned with the plan.
 */
async function planPush({ target, secrets, write, readers = [] }: PushRequest, calls: SsmCalls): Promise<PushPlan> {
  const current = await calls.read(secrets.map(({ key }) => parameterName(target.path, key)))
  const diff = diffSecrets(secrets, target.path, current)
  const updates = diff.diffs.filter((candidate) => candidate.action === 'update').map(({ name }) => name)
  const [tagsByName, statuses] = await Promise.all([calls.tags(updates), calls.describe(updates)])
  const histories = await calls.histories(atVersionLimit(diff.diffs, statuses))
  const writes = planWrites(diff.diffs, statuses, histories, write.tier)
  const keep = new Set(diff.diffs.map(({ name }) => name))
  const prune = write.prune ? await calls.planPrune(target.path, keep) : { doomed: [], notOwned: [] }
  const problems = [
    ...diff.problems,
    ...updates.flatMap((name) => ownershipProblem(name, tagsByName.get(name) ?? {}) ?? []),
    ...writes.problems,
    ...prunedReferenceProblems(prune.doomed, readers)
  ]
  return { plans: writes.plans, keptAdvanced: writes.keptAdvanced, tagsByName, ...prune, problems }
}

function plannedOutcome(plan: KeyPlan): KeyOutcome {
  const result = ({ create: 'created', update: 'updated', unchanged: 'unchanged' } as const)[plan.action]
  return { ...identity(plan), result, version: plan.currentVersion }
}

/** A planned write with the description its new version carries. */
interface WritePlan extends KeyPlan {
  readonly description: string
}

/** What names a key in an outcome. */
function identity({
  key,
  name,
  source,
  restoredFrom
}: KeyPlan): Pick<KeyOutcome, 'key' | 'name' | 'source' | 'restoredFrom'> {
  return { key, name, source, restoredFrom }
}

function deletedOutcome(name: string): KeyOutcome {
  return { key: keyOf(name), name, result: 'deleted' }
}

/** The SSM calls of the push phase, each under the retry policy, with errors explained. */
class SsmCalls {
  /** Delete batches, a few at once (writes have their own limit; tag reads, readTags's). */
  private readonly concurrent = pLimit(READ_CONCURRENCY)
  private readonly store: ParameterStore
  private readonly policy: RetryPolicy
  /** PutParameter's quota (about 3 a second per account) is shared by every writer of the run. */
  private readonly puts: Pacer
  private readonly redact: Redactor
  private readonly settings: WriteSettings

  constructor({ store, redact, retry }: PushDependencies, settings: WriteSettings) {
    this.store = store
    this.redact = redact
    this.settings = settings
    this.policy = retry ?? DEFAULT_RETRY_POLICY
    this.puts = new Pacer(this.policy.clock)
  }

  read(names: readonly string[]): Promise<StoredParameter[]> {
    return readParameters(this.store, names, { decrypt: true, retry: this.policy })
  }

  tags(names: readonly string[]): Promise<Map<string, Record<string, string>>> {
    return readTags(this.store, names, this.policy)
  }

  describe(names: readonly string[]): Promise<Map<string, ParameterStatus>> {
    return describeParameters(this.store, names, this.policy)
  }

  /**
   * The retained histories of these parameters, without their values (the labels are what the plan needs), a few at
   * once, paced together when throttled.
   */
  histories(names: readonly string[]): Promise<ParameterHistory[]> {
    return readHistories(this.store, names, { retry: this.policy, decrypt: false })
  }

  async planPrune(path: string, keep: ReadonlySet<string>): Promise<{ doomed: string[]; notOwned: string[] }> {
    const listed = await withRetry(() => this.store.listNames(path), this.policy)
    const candidates = pruneCandidates(listed, keep)
    const { managed: doomed, notOwned } = await splitByOwner(this.store, candidates, this.policy)
    return { doomed, notOwned }
  }

  /** Writes one key; a failure becomes a `failed` outcome naming the reason, never an exception. */
  async write(
    plan: WritePlan,
    tags: Record<string, string>,
    currentTags?: Record<string, string>
  ): Promise<KeyOutcome> {
    try {
      if (plan.action === 'create') {
        const created = await this.putUnlessAlreadyThere(plan, { overwrite: false, tags })
        if (created !== 'exists') return { ...identity(plan), result: 'created', version: created }
        return await this.writeOverExisting(plan, tags)
      }
      return await this.overwrite(plan, tags, currentTags ?? {})
    } catch (error) {
      if (isCancellation(error)) return { ...identity(plan), result: 'cancelled' }
      return { ...identity(plan), result: 'failed', reason: this.explain(error) }
    }
  }

  /** Writes a new version, then adds whatever tags it lacks (adopting an untagged parameter). */
  private async overwrite(
    plan: WritePlan,
    tags: Record<string, string>,
    currentTags: Record<string, string>
  ): Promise<KeyOutcome> {
    const version = await this.putUnlessAlreadyThere(plan, { overwrite: true })
    try {
      await this.tagIfNeeded(plan.name, tags, currentTags)
    } catch (error) {
      return {
        ...identity(plan),
        result: 'failed',
        version,
        reason: `the value was written as version ${version}, but tagging it failed: ${this.explain(error)}`
      }
    }
    return { ...identity(plan), result: 'updated', version }
  }

  /**
   * A parameter appeared between the plan and the create: another run of the action, most likely.
   * Plan that one key again: equal is done, another owner is refused, else overwrite it.
   */
  private async writeOverExisting(plan: WritePlan, tags: Record<string, string>): Promise<KeyOutcome> {
    const [current] = await this.read([plan.name])
    if (current?.value === plan.value) return { ...identity(plan), result: 'unchanged', version: current.version }
    const currentTags = (await this.tags([plan.name])).get(plan.name) ?? {}
    const refused = ownershipProblem(plan.name, currentTags)
    if (refused) return { ...identity(plan), result: 'failed', reason: refused }
    const status = (await this.describe([plan.name])).get(plan.name)
    return this.overwrite({ ...plan, tier: writeTier(plan.tier, status?.tier) }, tags, currentTags)
  }

  /**
   * PutParameter under the retry policy. After an ambiguous failure (5xx, connection reset) the
   * write may have landed: read first, so a retry never stacks a duplicate version.
   */
  private async putUnlessAlreadyThere(plan: WritePlan, mode: { overwrite: true }): Promise<number>
  private async putUnlessAlreadyThere(
    plan: WritePlan,
    mode: { overwrite: false; tags: Record<string, string> }
  ): Promise<number | 'exists'>
  private async putUnlessAlreadyThere(
    plan: WritePlan,
    mode: { overwrite: boolean; tags?: Record<string, string> }
  ): Promise<number | 'exists'> {
    try {
      return await withRetry(
        async (attempt) => {
          if (attempt.previousFailure === 'ambiguous') {
            const { found } = await this.store.getParameters([plan.name], true)
            if (found[0]?.value === plan.value) return found[0].version
          }
          return this.store.putParameter({
            name: plan.name,
            value: plan.value,
            tier: plan.tier,
            kmsKeyId: this.settings.kmsKeyId,
            description: plan.description,
            ...mode
          })
        },
        this.policy,
        this.puts
      )
    } catch (error) {
      if ((error as Error).name === 'ParameterAlreadyExists' && !mode.overwrite) return 'exists'
      throw error
    }
  }

  private async tagIfNeeded(
    name: string,
    desired: Record<string, string>,
    current: Record<string, string>
  ): Promise<void> {
    const missing = missingTags(desired, current)
    if (!missing) return
    const tag = () => this.store.addTags(name, missing)
    // The tags finish the write in flight: once the run is cancelled, they still go, once, without retries.
    await (this.policy.clock.cancelled?.aborted ? tag() : withRetry(tag, this.policy))
  }

  async delete(names: readonly string[]): Promise<KeyOutcome[]> {
    const batches = await Promise.all(
      inBatches(names).map((batch) =>
        this.concurrent(async (): Promise<KeyOutcome[]> => {
          try {
            const { deleted, missing } = await withRetry(() => this.store.deleteParameters(batch), this.policy)
            return [...deleted, ...missing].map(deletedOutcome)
          } catch (error) {
            if (isCancellation(error)) return batch.map((name) => ({ ...deletedOutcome(name), result: 'cancelled' }))
            return batch.map((name) => ({ ...deletedOutcome(name), result: 'failed', reason: this.explain(error) }))
          }
        })
      )
    )
    return batches.flat()
  }

  explain(error: unknown): string {
    return explainSsmError(error, this.redact)
  }
}
