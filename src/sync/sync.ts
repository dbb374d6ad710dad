import { randomBytes } from 'node:crypto'
import pLimit from 'p-limit'
import { ActionError } from '../errors.js'
import {
  guardrailProblems,
  missingProblems,
  namesToVerify,
  ownedReferences,
  pinnedVersionProblems
} from '../eso/guardrails.js'
import {
  describeStore,
  esoApiVersion,
  FORCE_SYNC_ANNOTATION,
  missingStores,
  readyCondition,
  storeRefsOf,
  type ClusterExternalSecret,
  type ExternalSecret,
  type Scope,
  type SecretStore
} from '../eso/model.js'
import type { ClusterSettings } from '../k8s/api.js'
import { readStores, watchExternalSecrets, type ExternalSecretsApi, type ExternalSecretsRef } from '../eso/api.js'
import { KubeError, stopOnKubeError } from '../k8s/errors.js'
import { withKubeRetry } from '../k8s/retry.js'
import { matchesLabelSelector, type LabelSelector } from '../k8s/label-selector.js'
import { inNamespace, qualifiedName, refOf, type KubeEvent, type Listed, type ObjectRef } from '../k8s/types.js'
import type { Redactor } from '../secrets/redact.js'
import { stopOnSsmError } from '../ssm/explain.js'
import { missingParameters } from '../ssm/read.js'
import type { RetryPolicy } from '../ssm/retry.js'
import type { ParameterStore } from '../ssm/store.js'
import { formatSeconds, systemClock, type Clock } from '../time.js'
import { snapshotEvents } from '../eso/events.js'
import { forceSyncRoutes } from './route.js'
import { SyncWaiter, type WaitTarget } from './wait.js'
import { resumableWatch, watchUntilSettled, type ResumableWatch } from '../k8s/watch.js'

/** How the sync phase annotates and waits. */
export interface SyncSettings {
  readonly annotationKey: string
  readonly wait: boolean
  readonly timeoutMs: number
  readonly verifyReferences: boolean
}

/** The sync phase's slice of the configuration. */
export interface SyncConfig {
  /** Each namespace must hold at least one selected ExternalSecret. */
  readonly cluster: Pick<ClusterSettings, 'namespaces'>
  readonly selector: LabelSelector
  readonly sync: SyncSettings
  /** The environment every reference must stay in. */
  readonly target: Scope
  readonly dryRun: boolean
}

export interface SyncDependencies {
  readonly kube: ExternalSecretsApi
  /** Needed when verifyReferences is on and some remoteRef.key is under `<prefix>/<environment>/`. */
  readonly store?: ParameterStore
  readonly redact: Redactor
  readonly clock?: Clock
  /** SSM retry policy (the push phase's by default). */
  readonly retry?: RetryPolicy
  /** Progress lines while the phase runs (the report has the results). */
  readonly log?: (line: string) => void
  /** The annotation value; unique per run by default. */
  readonly annotationValue?: string
  /** Retries of a patch refused with 409, 429, 5xx or a network error. */
  readonly patchAttempts?: number
}

export type SyncResult = 'synced' | 'failed' | 'timed-out' | 'annotated' | 'would-annotate'

export interface SyncOutcome {
  readonly namespace: string
  readonly name: string
  readonly result: SyncResult
  /** Seconds from the annotation to the fresh sync (or to the failure). */
  readonly seconds?: number
  readonly reason?: string
}

export interface SyncReport {
  readonly dryRun: boolean
  /** Whether the phase waited for the syncs (wait input, and not a dry run). */
  readonly waited: boolean
  readonly apiVersion: string
  readonly annotation: { readonly key: string; readonly value: string }
  readonly selector: string
  readonly namespaces: readonly string[]
  /** Whether the references were checked (verify-references). */
  readonly verified: boolean
  /** SSM parameter names confirmed to exist. */
  readonly checkedParameters: readonly string[]
  /** Number of references (remoteRef.key, extract.key, find.path) checked. */
  readonly checkedReferences: number
  readonly timeoutMs: number
  readonly outcomes: SyncOutcome[]
  /** The selected ExternalSecrets as listed before annotating: what each reads, for the rollout. */
  readonly externalSecrets: readonly ExternalSecret[]
  /** The stores they read through: what their keys resolve to. */
  readonly stores: readonly SecretStore[]
  /** The ClusterExternalSecrets annotated in their stead (see route.ts). */
  readonly clusterExternalSecrets: readonly ThroughClusterExternalSecret[]
}

/** A ClusterExternalSecret this run annotated, so that its force-sync reached the selected ExternalSecrets it owns. */
export interface ThroughClusterExternalSecret {
  readonly name: string
  /** The selected ExternalSecrets it owns. */
  readonly selected: readonly ObjectRef[]
  /** The namespaces it provisions (status.provisionedNamespaces) outside the selection: refreshed too. */
  readonly outside: readonly string[]
}

const NOTHING_ANNOTATED = 'Nothing was annotated'
const PATCH_CONCURRENCY = 4

interface Selected {
  readonly ref: ExternalSecretsRef
  readonly items: ExternalSecret[]
  readonly resourceVersion: string
}

/** What the earlier phases hand the sync phase. */
export interface SyncInput {
  /** The external-secrets.io version the pre-flight found. */
  readonly apiVersion: string
  /**
   * The parameters this run wrote (or would write, in a dry run): a reference pinned to a version of one is refused.
   */
  readonly written: ReadonlySet<string>
  /** The stores the pre-flight read; one an ExternalSecret names that is not among them is read here. */
  readonly stores: readonly SecretStore[]
}

/**
 * The sync phase: list the selected ExternalSecrets, check them (nothing is annotated if any check
 * fails), annotate each with a value unique to this run, then watch until each has freshly synced,
 * failed, or the timeout passed.
 */
export async function syncExternalSecrets(
  config: SyncConfig,
  { apiVersion, written, stores: known }: SyncInput,
  deps: SyncDependencies
): Promise<SyncReport> {
  const { sync: settings, cluster, selector } = config
  const clock = deps.clock ?? systemClock
  const log = deps.log ?? (() => undefined)
  const redact = deps.redact
  const annotationValue = deps.annotationValue ?? uniqueValue(clock.now())

  const selected = await stopOnKubeError(
    () => listSelected(deps.kube, apiVersion, cluster.namespaces, selector),
    NOTHING_ANNOTATED,
    redact
  )
  const all = selected.flatMap(({ items }) => items)
  const stores = await stopOnKubeError(
    () => readStores(deps.kube, apiVersion, all.flatMap(storeRefsOf), known),
    NOTHING_ANNOTATED,
    redact
  )
  log(
    `Selected ${all.length} ExternalSecrets (${esoApiVersion(apiVersion)}) matching "${selector.text}" in ${cluster.namespaces.join(', ')}.`
  )

  const checked = settings.verifyReferences
    ? await verify(all, stores, config.target, written, deps)
    : { parameters: [], references: 0 }

  const base = {
    apiVersion,
    annotation: { key: settings.annotationKey, value: annotationValue },
    selector: selector.text,
    namespaces: cluster.namespaces,
    verified: settings.verifyReferences,
    checkedParameters: checked.parameters,
    checkedReferences: checked.references,
    timeoutMs: settings.timeoutMs,
    externalSecrets: all,
    stores
  }
  const outcome = (es: ExternalSecret, result: SyncResult, extra: Partial<SyncOutcome> = {}): SyncOutcome => ({
    ...refOf(es),
    result,
    ...extra
  })
  if (config.dryRun) {
    return {
      ...base,
      dryRun: true,
      waited: false,
      // Which namespaces each provisions is known only from the patch's answer.
      clusterExternalSecrets: [...forceSyncRoutes(all).throughClusterExternalSecrets].map(([name, owned]) => ({
        name,
        selected: owned.map(refOf),
        outside: []
      })),
      outcomes: all.map((es) => outcome(es, 'would-annotate'))
    }
  }

  // Events listed before annotating: a failure Event this run causes is one this list does not hold.
  const events = settings.wait
    ? await stopOnKubeError(() => listEvents(deps.kube, cluster.namespaces), NOTHING_ANNOTATED, redact)
    : new Map<string, Listed<KubeEvent>>()

  const patched = await annotate(selected, apiVersion, settings.annotationKey, annotationValue, deps, clock)
  const annotated = patched.flatMap((entry) => ('after' in entry ? [entry] : []))
  const clusterExternalSecrets = throughClusterExternalSecrets(patched, cluster.namespaces)
  const patchOutcomes = patched.flatMap((entry) =>
    'error' in entry ? [outcome(entry.es, 'failed', { reason: `not annotated: ${redact(entry.error)}` })] : []
  )
  log(`Annotated ${annotated.length} ExternalSecrets with ${settings.annotationKey}=${annotationValue}.`)
  if (!settings.wait || !annotated.length) {
    return {
      ...base,
      dryRun: false,
      waited: settings.wait,
      clusterExternalSecrets,
      outcomes: [...annotated.map((entry) => outcome(entry.es, 'annotated')), ...patchOutcomes]
    }
  }

  const targets: WaitTarget[] = annotated.map(({ es, at, after, through }) => ({
    ...refOf(es),
    uid: es.metadata.uid,
    recordedVersion: after.status?.syncedResourceVersion,
    readyAtAnnotation: readyCondition(after),
    annotatedAt: at,
    ...(through ? { annotationKey: FORCE_SYNC_ANNOTATION } : {})
  }))
  const snapshot = snapshotEvents([...events.values()].flatMap(({ items }) => items))
  const waiter = new SyncWaiter(targets, { snapshot, annotationKey: settings.annotationKey, annotationValue })
  log(`Waiting up to ${formatSeconds(settings.timeoutMs / 1000)} s for ${targets.length} fresh syncs.`)
  await waitForSyncs(
    waiter,
    selected.filter(({ ref }) => targets.some((target) => target.namespace === ref.namespace)),
    events,
    settings.timeoutMs,
    deps.kube,
    clock
  )
  await explainFailures(waiter, deps.kube, clock)

  const waited = waiter
    .outcomes()
    .map((entry): SyncOutcome => ({ ...entry, reason: entry.reason && redact(entry.reason) }))
  return { ...base, dryRun: false, waited: true, clusterExternalSecrets, outcomes: [...waited, ...patchOutcomes] }
}

async function listSelected(
  kube: ExternalSecretsApi,
  version: string,
  namespaces: readonly string[],
  selector: LabelSelector
): Promise<Selected[]> {
  const selected = await Promise.all(
    namespaces.map(async (namespace): Promise<Selected> => {
      const ref = { version, namespace, labelSelector: selector.text }
      let listed
      try {
        listed = await kube.listExternalSecrets(ref)
      } catch (error) {
        if (error instanceof KubeError && error.kind === 'not-found') {
          throw new KubeError(
            'missing-crd',
            `the cluster does not serve ExternalSecrets at ${esoApiVersion(version)} (listing them in namespace "${namespace}" answered 404): the External Secrets Operator CRDs are not installed`
          )
        }
        throw error
      }
      // The server filtered by namespace and selector; filter again so that nothing else is ever touched.
      const items = listed.items.filter(
        (es) => (es.metadata.namespace ?? namespace) === namespace && matchesLabelSelector(selector, es.metadata.labels)
      )
      return { ref, items: items.map((es) => inNamespace(es, namespace)), resourceVersion: listed.resourceVersion }
    })
  )
  const empty = selected.filter(({ items }) => !items.length).map(({ ref }) => `"${ref.namespace}"`)
  if (empty.length) {
    throw new ActionError(
      'ZT143',
      `Nothing was annotated: no ExternalSecret matches label selector "${selector.text}" in namespace ${empty.join(', ')}. Check the namespace and label-selector inputs, and that the ExternalSecrets carry the label.`
    )
  }
  return selected
}

/** The guardrails; throws an ActionError listing every problem at once, before any annotation. */
async function verify(
  all: readonly ExternalSecret[],
  stores: readonly SecretStore[],
  scope: Scope,
  written: ReadonlySet<string>,
  deps: SyncDependencies
): Promise<{ parameters: string[]; references: number }> {
  const problems = all.flatMap((es) =>
    missingStores(es, stores).map(
      (ref) =>
        `${qualifiedName(es)} reads through ${describeStore(ref)}, which does not exist: the operator cannot sync it; create the store or fix spec.secretStoreRef`
    )
  )
  problems.push(...guardrailProblems(all, scope, stores))
  const references = all.flatMap((es) => ownedReferences(es, stores))
  problems.push(...pinnedVersionProblems(references, written))
  const names = namesToVerify(references, scope)
  // What this run wrote is there (or, in a dry run, would be): only the others are looked up.
  const toLookUp = names.filter((name) => !written.has(name))
  let missing = new Set<string>()
  if (toLookUp.length) {
    if (!deps.store)
      throw new ActionError(
        'ZT120',
        'Nothing was annotated: verify-references needs SSM access to check that the referenced parameters exist, and no SSM client was given.'
      )
    const store = deps.store
    missing = await stopOnSsmError(
      () => missingParameters(store, toLookUp, deps.retry),
      'Nothing was annotated: checking the referenced parameters in SSM failed.',
      deps.redact
    )
    problems.push(...missingProblems(references, missing))
  }
  if (problems.length) {
    throw new ActionError(
      'ZT144',
      `Nothing was annotated: ${problems.length} problem${problems.length === 1 ? '' : 's'} with the selected ExternalSecrets:`,
      problems.map(deps.redact)
    )
  }
  return { parameters: names.filter((name) => !missing.has(name)), references: references.length }
}

async function listEvents(
  kube: ExternalSecretsApi,
  namespaces: readonly string[]
): Promise<Map<string, Listed<KubeEvent>>> {
  const lists = await Promise.all(namespaces.map((namespace) => kube.listEvents(namespace)))
  return new Map(namespaces.map((namespace, index) => [namespace, lists[index]]))
}

/**
 * An annotated ExternalSecret with the object as patched (status as it was at the annotation), or why the patch failed.
 * `through`: the ClusterExternalSecret patched in its stead, as patched (the ExternalSecret is as listed).
 */
type Patched =
  | {
      readonly es: ExternalSecret
      readonly after: ExternalSecret
      readonly at: number
      readonly through?: ClusterExternalSecret
    }
  | { readonly es: ExternalSecret; readonly error: string }

/**
 * Each selected ExternalSecret annotated directly, or through the ClusterExternalSecret that controls it (one patch
 * each, with the key its controller passes on: see route.ts).
 */
async function annotate(
  selected: readonly Selected[],
  version: string,
  key: string,
  value: string,
  deps: SyncDependencies,
  clock: Clock
): Promise<Patched[]> {
  const limit = pLimit(PATCH_CONCURRENCY)
  const routes = forceSyncRoutes(selected.flatMap(({ items }) => items))
  const throughOwners = [...routes.throughClusterExternalSecrets].map(([name, owned]) =>
    limit(async (): Promise<Patched[]> => {
      try {
        const through = await withKubeRetry(
          () => deps.kube.patchClusterExternalSecretAnnotation(version, name, FORCE_SYNC_ANNOTATION, value),
          clock,
          deps.patchAttempts
        )
        const at = clock.now()
        return owned.map((es) => ({ es, after: es, at, through }))
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        return owned.map((es) => ({ es, error: `through ClusterExternalSecret "${name}": ${message}` }))
      }
    })
  )
  const jobs = selected.flatMap(({ ref, items }) =>
    items
      .filter((es) => routes.direct.includes(es))
      .map((es) =>
        limit(async (): Promise<Patched> => {
          try {
            const after = await withKubeRetry(
              () => deps.kube.patchAnnotation(ref, es.metadata.name, key, value),
              clock,
              deps.patchAttempts
            )
            // The patch's answer holds the status at the annotation; fall back to the list.
            return { es, after: after?.metadata ? after : es, at: clock.now() }
          } catch (error) {
            return { es, error: error instanceof Error ? error.message : String(error) }
          }
        })
      )
  )
  return [...(await Promise.all(jobs)), ...(await Promise.all(throughOwners)).flat()]
}

/** Each ClusterExternalSecret patched, with the selected ExternalSecrets it owns and the namespaces outside. */
function throughClusterExternalSecrets(
  patched: readonly Patched[],
  namespaces: readonly string[]
): ThroughClusterExternalSecret[] {
  const byName = new Map<string, ThroughClusterExternalSecret>()
  for (const entry of patched) {
    if (!('after' in entry) || !entry.through) continue
    const { name } = entry.through.metadata
    const known = byName.get(name)
    const provisioned = entry.through.status?.provisionedNamespaces ?? []
    byName.set(name, {
      name,
      selected: [...(known?.selected ?? []), refOf(entry.es)],
      outside: provisioned.filter((namespace) => !namespaces.includes(namespace))
    })
  }
  return [...byName.values()]
}

/** Why an ExternalSecret still waiting when the run is cancelled has no result. */
const NOT_AWAITED = 'not awaited: the run was cancelled'

/** Watches each namespace's ExternalSecrets and Events, feeding the waiter until all settle or the timeout. */
function waitForSyncs(
  waiter: SyncWaiter,
  selected: readonly Selected[],
  events: ReadonlyMap<string, Listed<KubeEvent>>,
  timeoutMs: number,
  kube: ExternalSecretsApi,
  clock: Clock
): Promise<void> {
  return watchUntilSettled({
    clock,
    timeoutMs,
    settled: () => waiter.settled(),
    onTimeout: () => waiter.timeOut(timeoutMs, clock.now()),
    onCancel: () => waiter.failWaiting(NOT_AWAITED, clock.now()),
    start: (loop) => {
      let confirmingAt: number | undefined
      const check = (): void => {
        loop.check()
        if (waiter.settled()) return
        // A failure (an Event, Ready turning False) waits a little for a fresh sync that would contradict it (see
        // wait.ts).
        const at = waiter.nextConfirmation()
        if (at === undefined || at === confirmingAt) return
        confirmingAt = at
        void clock.sleep(at - clock.now(), loop.signal).then(() => {
          if (loop.signal.aborted) return
          confirmingAt = undefined
          waiter.confirmFailures(clock.now())
          check()
        })
      }
      const fatal =
        (namespace: string) =>
        (error: KubeError): void => {
          waiter.failWaiting(`could not watch for its sync: ${error.message}`, clock.now(), namespace)
          check()
        }
      const watches: ResumableWatch[] = []
      for (const listed of selected) {
        const { ref } = listed
        watches.push(
          watchExternalSecrets(kube, listed, loop.sleep, {
            onEvent: ({ type, object }) => {
              const es = inNamespace(object, ref.namespace)
              if (type === 'DELETED') waiter.observeDeleted(es, clock.now())
              else waiter.observe(es, clock.now())
              check()
            },
            onRelisted: (items) => {
              for (const es of items) waiter.observe(inNamespace(es, ref.namespace), clock.now(), { listed: true })
              check()
            },
            onFatal: fatal(ref.namespace)
          })
        )
        const listedEvents = events.get(ref.namespace)
        if (listedEvents) {
          watches.push(
            resumableWatch<KubeEvent>({
              resourceVersion: listedEvents.resourceVersion,
              start: (rv, handlers) => kube.watchEvents(ref.namespace, rv, handlers),
              relist: () => kube.listEvents(ref.namespace),
              onEvent: ({ type, object }) => {
                if (type !== 'DELETED') waiter.observeEvent(object, clock.now())
                check()
              },
              onRelisted: (items) => {
                waiter.observeEvents(items, clock.now())
                check()
              },
              onFatal: fatal(ref.namespace),
              sleep: loop.sleep
            })
          )
        }
      }
      // The waiter may hold a failure to confirm already.
      check()
      return watches
    }
  })
}

/**
 * A failure seen only as Ready turning False carries the operator's generic message; the
 * UpdateFailed Event has the real one. One more look at the Events, best effort.
 */
async function explainFailures(waiter: SyncWaiter, kube: ExternalSecretsApi, clock: Clock): Promise<void> {
  const namespaces = [...new Set(waiter.wantingEventReason().map(({ namespace }) => namespace))]
  if (!namespaces.length) return
  await Promise.all(
    namespaces.map(async (namespace) => {
      try {
        const { items } = await kube.listEvents(namespace)
        waiter.observeEvents(items, clock.now())
      } catch {
        // The generic reason stands.
      }
    })
  )
}

/** Unique per run: a millisecond timestamp and random bits (a timestamp in seconds can repeat). */
export function uniqueValue(now: number): string {
  return `${new Date(now).toISOString()}-${randomBytes(4).toString('hex')}`
}
