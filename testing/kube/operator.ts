/**
 * A simulation of the External Secrets Operator's ExternalSecret controller (external-secrets v2, Parameter Store
 * provider). It works on the store directly, as the real one works through its informer cache:
 *
 * - Queue: an ExternalSecret is queued when created or deleted, when its generation, labels or annotations change,
 *   and when its managed target Secret changes. A queued key is not queued twice; one changed while it is being
 *   reconciled runs again afterwards. One reconcile at a time (`--concurrent 1`), each after `reconcileDelayMs`.
 * - Requeue: a failure retries after `retryBaseMs` × 2^(failures-1) (at most 7 minutes, as the operator's rate
 *   limiter); a success with refreshPolicy Periodic (or unset) and an interval > 0 comes back after the interval.
 * - Reconcile: skip unless `shouldRefresh` or the target Secret is missing/invalid; read the provider; write the
 *   Secret; set Ready and, on success, refreshTime and syncedResourceVersion. The status is written only when it
 *   changed, against the resourceVersion read at the start: a change in between is a conflict and a requeue.
 */
import {
  ANNOTATION_DATA_HASH,
  LABEL_MANAGED,
  LABEL_OWNER,
  isSecretValid,
  objectHash,
  requeueAfter,
  resourceVersionOf,
  setCondition,
  shouldRefresh,
  type ExternalSecret,
  type ExternalSecretStatus,
  type StoreRef
} from './externalsecret.ts'
import { ApiError } from './errors.ts'
import { clone, objectKey, rfc3339, sameJson, type KubeObject, type ObjectMeta } from './json.ts'
import { ESO_MANAGER } from './managed-fields.ts'
import { fetchSecretData, type ParameterSource } from './provider.ts'
import type { Recorder } from './recorder.ts'
import { CLUSTER_SECRET_STORES, ES_GROUP, EXTERNAL_SECRETS, SECRET_STORES, SECRETS } from './resources.ts'
import type { Change, Store } from './store.ts'

export type Outcome = 'synced' | 'skipped' | 'failed' | 'conflict' | 'requeued' | 'gone'

export interface ReconcileRecord {
  readonly namespace: string
  readonly name: string
  readonly outcome: Outcome
  readonly startedAt: number
  readonly finishedAt: number
}

export interface OperatorOptions {
  store: Store
  source: ParameterSource
  recorder: Recorder
  reconcileDelayMs: number
  retryBaseMs: number
}

/** What a reconcile asks of the queue: nothing, a retry with backoff, or a visit after some time. */
type Result = { retry: true } | { after?: number }

/** A SecretStore's or ClusterSecretStore's spec, as far as the Parameter Store provider reads it. */
interface StoreSpec {
  provider?: { aws?: { service?: string; prefix?: string } }
}

const MAX_RETRY_MS = 7 * 60_000
const WATCHED_METADATA: readonly (keyof ObjectMeta)[] = ['generation', 'labels', 'annotations', 'deletionTimestamp']

export class Operator {
  /** Time each reconcile waits before it reads the ExternalSecret. */
  reconcileDelayMs: number
  /** First retry delay after a failure; doubles with each further failure. */
  retryBaseMs: number
  /** Every reconcile so far, in order. */
  readonly reconciles: ReconcileRecord[] = []

  readonly #store: Store
  readonly #source: ParameterSource
  readonly #recorder: Recorder
  readonly #queue: string[] = []
  readonly #dirty = new Set<string>()
  readonly #failures = new Map<string, number>()
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>()
  readonly #forced = new Map<string, string>()
  /** Data keys each ExternalSecret wrote into its target Secret (what the real one reads from managedFields). */
  readonly #managedKeys = new Map<string, string[]>()
  readonly #unsubscribe: (() => void)[]
  readonly #idle: (() => void)[] = []
  readonly #loop: Promise<void>
  #processing: string | undefined
  #paused = false
  #stopped = false
  #wake: (() => void) | undefined

  constructor(options: OperatorOptions) {
    this.#store = options.store
    this.#source = options.source
    this.#recorder = options.recorder
    this.reconcileDelayMs = options.reconcileDelayMs
    this.retryBaseMs = options.retryBaseMs
    this.#unsubscribe = [
      this.#store.subscribe(EXTERNAL_SECRETS, (change) => this.#onExternalSecret(change)),
      this.#store.subscribe(SECRETS, (change) => this.#onSecret(change))
    ]
    this.#loop = this.#run()
  }

  /** Stops taking keys off the queue (a reconcile in progress finishes). Changes are still queued. */
  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    this.#wake?.()
  }

  /** Makes every reconcile of this ExternalSecret fail as a provider error with `message`, until clearFailure. */
  failWith(namespace: string, name: string, message = 'injected provider failure'): void {
    this.#forced.set(objectKey(namespace, name), message)
  }

  clearFailure(namespace: string, name: string): void {
    this.#forced.delete(objectKey(namespace, name))
  }

  /** Resolves once nothing is queued or running (timed requeues do not count). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    for (const { timer } of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
    this.#wake?.()
    await this.#loop
    for (const resolve of this.#idle.splice(0)) resolve()
  }

  /** The controller's predicates: creations, deletions, and changes of generation, labels, annotations or deletion. */
  #onExternalSecret({ type, object, previous }: Change): void {
    const changed = (field: keyof ObjectMeta) =>
      !sameJson(object.metadata[field] ?? null, previous?.metadata[field] ?? null)
    if (type !== 'MODIFIED' || WATCHED_METADATA.some(changed))
      this.#add(objectKey(object.metadata.namespace, object.metadata.name))
  }

  /** Changes of Secrets with the managed label queue the ExternalSecrets that target them. */
  #onSecret({ object, previous }: Change): void {
    if (object.metadata.labels?.[LABEL_MANAGED] !== 'true' && previous?.metadata.labels?.[LABEL_MANAGED] !== 'true')
      return
    const { namespace, name } = object.metadata
    for (const es of this.#store.list(EXTERNAL_SECRETS, namespace) as ExternalSecret[]) {
      if ((es.spec.target?.name || es.metadata.name) === name) this.#add(objectKey(namespace, es.metadata.name))
    }
  }

  #add(key: string): void {
    if (this.#stopped) return
    if (key === this.#processing) this.#dirty.add(key)
    else if (!this.#queue.includes(key)) {
      this.#queue.push(key)
      this.#wake?.()
    }
  }

  #addAfter(key: string, delayMs: number): void {
    const at = Date.now() + delayMs
    const waiting = this.#timers.get(key)
    if (waiting && waiting.at <= at) return
    if (waiting) clearTimeout(waiting.timer)
    const timer = setTimeout(() => {
      this.#timers.delete(key)
      this.#add(key)
    }, delayMs)
    timer.unref()
    this.#timers.set(key, { at, timer })
  }

  #isIdle(): boolean {
    return this.#processing === undefined && this.#queue.length === 0
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const key = this.#paused ? undefined : this.#queue.shift()
      if (key === undefined) {
        if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
        await new Promise<void>((resolve) => (this.#wake = resolve))
        continue
      }
      this.#processing = key
      await this.#sleep(this.reconcileDelayMs)
      const result = this.#stopped
        ? {}
        : await this.#reconcile(key).catch((error: unknown): Result => {
            console.error(`test operator: reconcile of ${key} failed unexpectedly`, error)
            return { retry: true }
          })
      this.#processing = undefined
      if ('retry' in result) {
        const failures = (this.#failures.get(key) ?? 0) + 1
        this.#failures.set(key, failures)
        this.#addAfter(key, Math.min(this.retryBaseMs * 2 ** (failures - 1), MAX_RETRY_MS))
      } else {
        this.#failures.delete(key)
        if (result.after !== undefined) this.#addAfter(key, result.after)
      }
      if (this.#dirty.delete(key)) this.#add(key)
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.#wake = () => {
        if (!this.#stopped) return
        clearTimeout(timer)
        resolve()
      }
    })
  }

  async #reconcile(key: string): Promise<Result> {
    const startedAt = Date.now()
    const [namespace, name] = key.split('/')
    const record = (outcome: Outcome) =>
      this.reconciles.push({ namespace, name, outcome, startedAt, finishedAt: Date.now() })
    const es = this.#store.get(EXTERNAL_SECRETS, namespace, name) as ExternalSecret | undefined
    if (!es || es.metadata.deletionTimestamp) {
      record('gone')
      return {}
    }
    const secretName = es.spec.target?.name || name
    const existing = this.#store.get(SECRETS, namespace, secretName)
    if (existing && existing.metadata.labels?.[LABEL_MANAGED] !== 'true') {
      // The real controller first labels a pre-existing Secret so that its cache sees it, then comes back.
      this.#store.write(
        SECRETS,
        {
          ...existing,
          metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, [LABEL_MANAGED]: 'true' } }
        },
        undefined,
        ESO_MANAGER
      )
      record('requeued')
      return { retry: true }
    }
    if (!shouldRefresh(es, startedAt) && isSecretValid(existing)) {
      record('skipped')
      return { after: requeueAfter(es, startedAt) }
    }
    const before = clone(es.status ?? {})
    es.status = clone(before)
    const result = await this.#sync(es, existing, secretName, rfc3339(new Date(startedAt)))
    const failed = es.status.conditions?.find((condition) => condition.type === 'Ready')?.status === 'False'
    if (!sameJson(before, es.status)) {
      try {
        this.#store.write(EXTERNAL_SECRETS, { ...es, status: ordered(es.status) }, es.metadata.resourceVersion)
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 409)) throw error
        record('conflict')
        return { retry: true }
      }
    }
    record(failed ? 'failed' : 'synced')
    return result
  }

  /**
   * The `spec.provider.aws.prefix` of the store an item reads through: a ClusterSecretStore by name, else a
   * SecretStore of the ExternalSecret's namespace; one that cannot be got fails the read with the client manager's
   * error (external-secrets pkg/controllers/secretstore/client_manager.go getStore, errGetSecretStore).
   */
  #prefixOf(es: ExternalSecret, ref: StoreRef | undefined): string {
    const name = ref?.name ?? ''
    const cluster = ref?.kind === 'ClusterSecretStore'
    const type = cluster ? CLUSTER_SECRET_STORES : SECRET_STORES
    const store = this.#store.get(type, cluster ? undefined : es.metadata.namespace, name)
    if (!store)
      throw new Error(`could not get ${type.kind} "${name}", ${type.resource}.${ES_GROUP} "${name}" not found`)
    const aws = (store.spec as StoreSpec | undefined)?.provider?.aws
    if (aws?.service !== 'ParameterStore')
      throw new Error(`${type.kind} "${name}": only the AWS ParameterStore provider is simulated`)
    return aws.prefix ?? ''
  }

  /** Reads the provider and writes the target Secret, setting `es.status` as the controller does. */
  async #sync(
    es: ExternalSecret,
    existing: KubeObject | undefined,
    secretName: string,
    start: string
  ): Promise<Result> {
    const key = objectKey(es.metadata.namespace, es.metadata.name)
    const status = es.status as ExternalSecretStatus
    const { creationPolicy = 'Owner', deletionPolicy = 'Retain' } = es.spec.target ?? {}
    const requeue = (): Result => ({ after: requeueAfter(es, Date.now()) })
    let data: Record<string, string>
    try {
      const forced = this.#forced.get(key)
      if (forced !== undefined) throw new Error(forced)
      data = await fetchSecretData(
        es.spec,
        this.#source,
        (message) => this.#recorder.event(es, 'Normal', 'MissingProviderSecret', message),
        (sourceRef) => this.#prefixOf(es, sourceRef?.storeRef ?? es.spec.secretStoreRef)
      )
    } catch (error) {
      this.#markAsFailed(es, 'could not get secret data from provider', error)
      return { retry: true }
    }
    if (Object.keys(data).length === 0 && deletionPolicy === 'Retain') {
      this.#markAsDone(es, start, 'SecretSynced', 'secret retained due to DeletionPolicy=Retain')
      return requeue()
    }
    if (Object.keys(data).length === 0 && deletionPolicy === 'Delete') {
      if (creationPolicy !== 'Owner') {
        this.#markAsFailed(
          es,
          'could not delete secret',
          new Error(`unable to delete secret ${secretName}: creationPolicy=${creationPolicy} is not Owner`)
        )
        return {}
      }
      if (existing && this.#store.delete(SECRETS, es.metadata.namespace, secretName)) {
        this.#recorder.event(es, 'Normal', 'Deleted', 'secret deleted due to DeletionPolicy=Delete')
      }
      this.#markAsDone(es, start, 'SecretDeleted', 'secret deleted due to DeletionPolicy=Delete')
      return requeue()
    }
    if (creationPolicy === 'Merge' && !existing) {
      this.#markAsDone(es, start, 'SecretMissing', 'secret will not be created due to CreationPolicy=Merge')
      return requeue()
    }
    if (creationPolicy !== 'None') {
      if (creationPolicy === 'Owner') this.#deleteOrphans(es, secretName)
      const base: KubeObject = existing ?? {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, namespace: es.metadata.namespace },
        type: 'Opaque'
      }
      let desired: KubeObject
      try {
        desired = this.#desiredSecret(base, es, data)
      } catch (error) {
        this.#markAsFailed(es, 'target is owned by another ExternalSecret', error)
        return {}
      }
      status.binding = { name: secretName }
      if (!existing) {
        this.#store.write(SECRETS, desired, undefined, ESO_MANAGER)
        this.#recorder.event(es, 'Normal', 'Created', 'secret created')
      } else if (!sameJson(existing, desired)) {
        this.#store.write(SECRETS, desired, undefined, ESO_MANAGER)
        this.#recorder.event(es, 'Normal', 'Updated', 'secret updated')
      }
    }
    this.#markAsDone(es, start, 'SecretSynced', 'secret synced')
    return requeue()
  }

  /** The controller's mutation function: ownership, managed label, owner label, data and data-hash. */
  #desiredSecret(base: KubeObject, es: ExternalSecret, data: Record<string, string>): KubeObject {
    const secret = clone(base)
    const { namespace, name, uid } = es.metadata
    const creationPolicy = es.spec.target?.creationPolicy ?? 'Owner'
    const owners = secret.metadata.ownerReferences ?? []
    const controller = owners.find((owner) => owner.controller)
    const ownedByES =
      controller !== undefined &&
      controller.kind === 'ExternalSecret' &&
      controller.apiVersion.startsWith(`${ES_GROUP}/`)
    if (ownedByES && controller.name !== name)
      throw new Error(`secret is owned by another ExternalSecret: ${controller.name}`)
    const others = owners.filter((owner) => owner !== controller)
    const mine = {
      apiVersion: es.apiVersion,
      kind: 'ExternalSecret',
      name,
      uid: uid ?? '',
      controller: true,
      blockOwnerDeletion: true
    }
    const ownerReferences = creationPolicy === 'Owner' ? [...others, mine] : ownedByES ? others : owners
    if (ownerReferences.length > 0) secret.metadata.ownerReferences = ownerReferences
    else delete secret.metadata.ownerReferences

    const managedKey = objectKey(namespace, `${secret.metadata.name}/${name}`)
    const kept = Object.entries((secret.data ?? {}) as Record<string, string>).filter(
      ([key]) => !(this.#managedKeys.get(managedKey) ?? []).includes(key)
    )
    const encoded = Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')])
    secret.data = Object.fromEntries([...kept, ...encoded])
    this.#managedKeys.set(managedKey, Object.keys(data))

    const labels: Record<string, string> = { ...secret.metadata.labels, [LABEL_MANAGED]: 'true' }
    if (creationPolicy === 'Owner') labels[LABEL_OWNER] = objectHash(`${namespace}/${name}`)
    else delete labels[LABEL_OWNER]
    secret.metadata.labels = labels
    secret.metadata.annotations = { ...secret.metadata.annotations, [ANNOTATION_DATA_HASH]: objectHash(secret.data) }
    return secret
  }

  /** Secrets this ExternalSecret created under another name (its target was renamed) are deleted. */
  #deleteOrphans(es: ExternalSecret, secretName: string): void {
    const owner = objectHash(`${es.metadata.namespace}/${es.metadata.name}`)
    for (const secret of this.#store.list(SECRETS, es.metadata.namespace)) {
      if (secret.metadata.labels?.[LABEL_OWNER] !== owner || secret.metadata.name === secretName) continue
      this.#store.delete(SECRETS, es.metadata.namespace, secret.metadata.name)
      this.#recorder.event(es, 'Normal', 'Deleted', 'secret deleted because it was orphaned')
    }
  }

  #markAsDone(es: ExternalSecret, start: string, reason: string, message: string): void {
    const status = es.status as ExternalSecretStatus
    setCondition(status, { type: 'Ready', status: 'True', reason, message, lastTransitionTime: rfc3339() })
    status.refreshTime = start
    status.syncedResourceVersion = resourceVersionOf(es)
  }

  /** A Warning Event `UpdateFailed` with the real error; the condition only says `message`. */
  #markAsFailed(es: ExternalSecret, message: string, error: unknown): void {
    this.#recorder.event(es, 'Warning', 'UpdateFailed', error instanceof Error ? error.message : String(error))
    setCondition(es.status as ExternalSecretStatus, {
      type: 'Ready',
      status: 'False',
      reason: 'SecretSyncedError',
      message,
      lastTransitionTime: rfc3339()
    })
  }
}

/** Status fields in the order the Go struct serialises them. */
function ordered({
  refreshTime,
  syncedResourceVersion,
  conditions,
  binding
}: ExternalSecretStatus): ExternalSecretStatus {
  return JSON.parse(JSON.stringify({ refreshTime, syncedResourceVersion, conditions, binding })) as ExternalSecretStatus
}
