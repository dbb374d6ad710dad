import { matchesLabelSelector, parseLabelSelector } from '../src/k8s/label-selector.js'
import { KubeError, type Permission } from '../src/k8s/errors.js'
import {
  clusterExternalSecretOf,
  findStore,
  FORCE_SYNC_ANNOTATION,
  type ClusterExternalSecret,
  type ExternalSecret,
  type SecretStore,
  type StoreRef
} from '../src/eso/model.js'
import type { ClusterApi } from '../src/cluster.js'
import type { ExternalSecretsRef } from '../src/eso/api.js'
import { APPS_KINDS, RESTARTED_AT, type Workload, type WorkloadKind } from '../src/workloads/model.js'
import type { Pod } from '../src/workloads/pods.js'
import type {
  Condition,
  ObjectMeta,
  KubeEvent,
  Listed,
  WatchEvent,
  WatchEventType,
  WatchHandle,
  WatchHandlers
} from '../src/k8s/types.js'

/**
 * An in-memory cluster API for unit tests: ExternalSecrets, Events, workloads and one
 * resourceVersion counter, watches that replay from a resourceVersion and then follow, and knobs
 * to drop watches, compact history (410 Gone), fail calls, and play the operator and the workload
 * controllers. No I/O.
 */

type Stream = 'es' | 'event' | WorkloadKind

/** The workload type of a kind. */
export type WorkloadOf<K extends WorkloadKind> = Extract<Workload, { readonly kind: K }>

function isKind<K extends WorkloadKind>(workload: Workload, kind: K): workload is WorkloadOf<K> {
  return workload.kind === kind
}
type Change = {
  readonly rv: number
  readonly kind: Stream
  readonly type: WatchEventType
  readonly object: ExternalSecret | KubeEvent | Workload
}

interface ActiveWatch {
  readonly kind: Stream
  readonly namespace: string
  readonly selector?: string
  readonly handlers: WatchHandlers<unknown>
  ended: boolean
}

export interface MemoryCall {
  readonly verb:
    | 'discover'
    | 'discover-workloads'
    | 'list'
    | 'patch'
    | 'patch-ces'
    | 'list-events'
    | 'watch'
    | 'watch-events'
    | 'get-namespace'
    | 'get-store'
    | 'access-review'
    | 'list-workloads'
    | 'watch-workloads'
    | 'restart'
    | 'list-pods'
    | 'get-secret'
  readonly kind?: WorkloadKind
  readonly namespace?: string
  readonly name?: string
  readonly resourceVersion?: string
}

export class MemoryKube implements ClusterApi {
  version: string | undefined = 'v1'
  /** Every call, in order. */
  readonly calls: MemoryCall[] = []
  /** Called after each successful patch, with the patched object: play the operator here. */
  onPatch: (es: ExternalSecret) => void = () => undefined
  /** Called after each restart patch, with the workload as patched: play its controller here. */
  onRestart: (workload: Workload) => void = () => undefined
  /** When true, list ignores the label selector (a misbehaving server). */
  ignoreSelector = false
  /** The namespaces that exist; undefined: every one asked about. */
  namespaces: Set<string> | undefined
  /** When true, the identity may not read namespaces: namespaceExists cannot tell. */
  namespacesUnreadable = false
  /** Permissions a SelfSubjectAccessReview denies. */
  denied: Permission[] = []
  /** The SecretStores and ClusterSecretStores of the cluster. */
  readonly stores: SecretStore[] = []
  /** Whether the cluster serves rollouts.argoproj.io (the Argo Rollouts CRD). */
  rollouts = false

  private rv = 100
  private readonly objects = new Map<string, ExternalSecret>()
  /** The annotations of each ClusterExternalSecret patched (those owning ExternalSecrets exist). */
  private readonly clusterExternalSecrets = new Map<string, Record<string, string>>()
  private readonly workloads = new Map<string, Workload>()
  private readonly events = new Map<string, KubeEvent>()
  private readonly secrets = new Map<string, ObjectMeta>()
  private pods: Pod[] = []
  private readonly history: Change[] = []
  private compactedThrough = 0
  private readonly watches = new Set<ActiveWatch>()
  private readonly failures = new Map<MemoryCall['verb'], Error[]>()
  private eventCounter = 0

  // ---- setup and operator play ----

  add(es: ExternalSecret): ExternalSecret {
    const namespace = es.metadata.namespace ?? 'default'
    const stored = this.store(
      { ...es, metadata: { uid: `uid-${namespace}-${es.metadata.name}`, ...es.metadata, namespace } },
      'ADDED'
    )
    return stored
  }

  /**
   * ESO writes the Secret's data at `at` (ms): its metadata then says so, as the API server records it (the
   * `external-secrets` entry of managedFields; created at `createdAt`, by default long before).
   */
  writeSecretData(namespace: string, name: string, at: number, createdAt = -3_600_000): void {
    const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
    this.secrets.set(`${namespace}/${name}`, {
      name,
      namespace,
      creationTimestamp: time(createdAt),
      managedFields: [{ manager: 'external-secrets', operation: 'Update', time: time(at) }]
    })
  }

  /** The pods labelled `app=<app>` in the namespace are replaced by `pods` (as a rollout replaces them). */
  setPods(namespace: string, app: string, pods: readonly Pod[]): void {
    this.pods = [
      ...this.pods.filter(({ metadata }) => !(metadata.namespace === namespace && metadata.labels?.app === app)),
      ...pods.map((pod) => ({ ...pod, metadata: { ...pod.metadata, namespace, labels: { app } } }))
    ]
  }

  /** Creates or replaces a workload (generation 1 unless given). */
  putWorkload(workload: Workload): Workload {
    const { metadata } = workload
    return this.storeWorkload(
      {
        ...workload,
        metadata: {
          generation: 1,
          uid: `uid-${workload.kind}-${metadata.name}`,
          ...metadata,
          namespace: metadata.namespace ?? 'default'
        }
      },
      'ADDED'
    )
  }

  getWorkload<K extends WorkloadKind>(kind: K, namespace: string, name: string): WorkloadOf<K> | undefined {
    const found = this.workloads.get(`${kind}/${namespace}/${name}`)
    return found && isKind(found, kind) ? found : undefined
  }

  /** Deletes a workload, as `kubectl delete` or Argo CD's prune does: a DELETED event to the watches open now. */
  deleteWorkload(kind: WorkloadKind, namespace: string, name: string): void {
    const workload = this.getWorkload(kind, namespace, name)
    if (!workload) throw new Error(`no ${kind} ${namespace}/${name}`)
    this.workloads.delete(`${kind}/${namespace}/${name}`)
    const rv = ++this.rv
    this.record({
      rv,
      kind,
      type: 'DELETED',
      object: { ...workload, metadata: { ...workload.metadata, resourceVersion: String(rv) } }
    })
  }

  /** The controller's word on a workload: its status replaced (and, e.g. for Reloader, its template). */
  updateWorkload<K extends WorkloadKind>(
    kind: K,
    namespace: string,
    name: string,
    change: (workload: WorkloadOf<K>) => Workload
  ): Workload {
    const workload = this.getWorkload(kind, namespace, name)
    if (!workload) throw new Error(`no ${kind} ${namespace}/${name}`)
    return this.storeWorkload(change(workload), 'MODIFIED')
  }

  get(namespace: string, name: string): ExternalSecret | undefined {
    return this.objects.get(`${namespace}/${name}`)
  }

  /** A successful sync: syncedResourceVersion from the annotations, Ready True. */
  syncOk(namespace: string, name: string): void {
    const es = this.require(namespace, name)
    const hash = JSON.stringify(es.metadata.annotations ?? {})
    this.setStatus(namespace, name, {
      syncedResourceVersion: `1-${Buffer.from(hash).toString('base64url')}`,
      conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced' }]
    })
  }

  /** A failed sync: Ready False, syncedResourceVersion unchanged, and an UpdateFailed Event (unless `event` is false). */
  syncFail(namespace: string, name: string, message: string, { event = true, eventFirst = true } = {}): void {
    const es = this.require(namespace, name)
    const status = () =>
      this.setStatus(namespace, name, {
        ...es.status,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'SecretSyncedError',
            message: 'could not get secret data from provider'
          }
        ]
      })
    if (!eventFirst) status()
    if (event) this.emitEvent(namespace, name, 'UpdateFailed', message)
    if (eventFirst) status()
  }

  setStatus(namespace: string, name: string, status: ExternalSecret['status']): void {
    const es = this.require(namespace, name)
    this.store({ ...es, status }, 'MODIFIED')
  }

  setReady(namespace: string, name: string, condition: Condition): void {
    const es = this.require(namespace, name)
    this.store({ ...es, status: { ...es.status, conditions: [condition] } }, 'MODIFIED')
  }

  delete(namespace: string, name: string): void {
    const es = this.require(namespace, name)
    this.objects.delete(`${namespace}/${name}`)
    const rv = ++this.rv
    this.record({
      rv,
      kind: 'es',
      type: 'DELETED',
      object: { ...es, metadata: { ...es.metadata, resourceVersion: String(rv) } }
    })
  }

  /** A new Event, or (same `eventName`) the same Event counted again. */
  emitEvent(namespace: string, name: string, reason: string, message: string, eventName?: string): KubeEvent {
    const es = this.objects.get(`${namespace}/${name}`)
    const key = eventName ?? `${name}.${++this.eventCounter}`
    const existing = this.events.get(`${namespace}/${key}`)
    const rv = ++this.rv
    const event: KubeEvent = {
      metadata: { name: key, namespace, uid: existing?.metadata.uid ?? `event-${key}`, resourceVersion: String(rv) },
      involvedObject: { kind: 'ExternalSecret', name, namespace, uid: es?.metadata.uid },
      reason,
      message,
      type: reason === 'UpdateFailed' ? 'Warning' : 'Normal',
      count: (existing?.count ?? 0) + 1,
      lastTimestamp: new Date(1_700_000_000_000 + rv * 1000).toISOString()
    }
    this.events.set(`${namespace}/${key}`, event)
    this.record({ rv, kind: 'event', type: existing ? 'MODIFIED' : 'ADDED', object: event })
    return event
  }

  /** Ends every open watch as a server closing it would. */
  dropWatches(): void {
    for (const watch of [...this.watches]) this.end(watch)
  }

  /** Forgets history: watches from older resourceVersions end with 410 Gone (at start or, with `endOpen`, now). */
  compact({ endOpen = false } = {}): void {
    this.compactedThrough = this.rv
    if (endOpen)
      for (const watch of [...this.watches])
        this.end(watch, new KubeError('gone', 'resourceVersion too old (410 Gone)', 410))
  }

  /** The next `verb` call throws `error` (queue several by calling again). */
  failNext(verb: MemoryCall['verb'], error: Error): void {
    this.failures.set(verb, [...(this.failures.get(verb) ?? []), error])
  }

  openWatches(): number {
    return this.watches.size
  }

  // ---- ExternalSecretsApi ----

  discoverVersion(): Promise<string> {
    return this.answer({ verb: 'discover' }, () => {
      if (!this.version) throw new KubeError('missing-crd', 'the cluster does not serve the external-secrets.io API')
      return this.version
    })
  }

  listExternalSecrets(ref: ExternalSecretsRef): Promise<Listed<ExternalSecret>> {
    return this.answer({ verb: 'list', namespace: ref.namespace }, () => {
      const items = [...this.objects.values()].filter(
        (es) =>
          es.metadata.namespace === ref.namespace &&
          (this.ignoreSelector ||
            ref.labelSelector === undefined ||
            matchesLabelSelector(parseLabelSelector('label-selector', ref.labelSelector), es.metadata.labels))
      )
      return { items: structuredClone(items), resourceVersion: String(this.rv) }
    })
  }

  getSecretStore(_version: string, ref: StoreRef): Promise<SecretStore | undefined> {
    return this.answer({ verb: 'get-store', name: ref.name }, () => structuredClone(findStore(ref, this.stores)))
  }

  patchAnnotation(ref: ExternalSecretsRef, name: string, key: string, value: string): Promise<ExternalSecret> {
    return this.answer({ verb: 'patch', namespace: ref.namespace, name }, () => {
      const es = this.objects.get(`${ref.namespace}/${name}`)
      if (!es) throw new KubeError('not-found', `externalsecrets "${name}" not found`, 404)
      const patched = this.store(
        { ...es, metadata: { ...es.metadata, annotations: { ...es.metadata.annotations, [key]: value } } },
        'MODIFIED'
      )
      const answer = structuredClone(patched)
      queueMicrotask(() => this.onPatch(patched))
      return answer
    })
  }

  /**
   * As the ClusterExternalSecret controller takes it: the CES annotated, and its force-sync annotation passed on to
   * every ExternalSecret it owns (clusterexternalsecret_controller.go createOrUpdateExternalSecret); `onPatch` then
   * plays the operator on each.
   */
  patchClusterExternalSecretAnnotation(
    _version: string,
    name: string,
    key: string,
    value: string
  ): Promise<ClusterExternalSecret> {
    return this.answer({ verb: 'patch-ces', name }, () => {
      const owned = [...this.objects.values()].filter((es) => clusterExternalSecretOf(es) === name)
      if (!owned.length) throw new KubeError('not-found', `clusterexternalsecrets "${name}" not found`, 404)
      const annotations = { ...this.clusterExternalSecrets.get(name), [key]: value }
      this.clusterExternalSecrets.set(name, annotations)
      for (const es of owned) {
        const passed = annotations[FORCE_SYNC_ANNOTATION]
        const rest = Object.fromEntries(
          Object.entries(es.metadata.annotations ?? {}).filter(([annotation]) => annotation !== FORCE_SYNC_ANNOTATION)
        )
        const patched = this.store(
          {
            ...es,
            metadata: {
              ...es.metadata,
              annotations: passed === undefined ? rest : { ...rest, [FORCE_SYNC_ANNOTATION]: passed }
            }
          },
          'MODIFIED'
        )
        queueMicrotask(() => this.onPatch(patched))
      }
      return {
        metadata: { name, annotations },
        status: { provisionedNamespaces: [...new Set(owned.map((es) => es.metadata.namespace ?? ''))].sort() }
      }
    })
  }

  listEvents(namespace: string): Promise<Listed<KubeEvent>> {
    return this.answer({ verb: 'list-events', namespace }, () => {
      const items = [...this.events.values()].filter((event) => event.metadata.namespace === namespace)
      return { items: structuredClone(items), resourceVersion: String(this.rv) }
    })
  }

  watchExternalSecrets(
    ref: ExternalSecretsRef,
    resourceVersion: string,
    handlers: WatchHandlers<ExternalSecret>
  ): Promise<WatchHandle> {
    return this.answer({ verb: 'watch', namespace: ref.namespace, resourceVersion }, () =>
      this.open(
        { kind: 'es', namespace: ref.namespace, selector: ref.labelSelector, handlers, ended: false },
        resourceVersion
      )
    )
  }

  watchEvents(namespace: string, resourceVersion: string, handlers: WatchHandlers<KubeEvent>): Promise<WatchHandle> {
    return this.answer({ verb: 'watch-events', namespace, resourceVersion }, () =>
      this.open({ kind: 'event', namespace, handlers, ended: false }, resourceVersion)
    )
  }

  namespaceExists(namespace: string): Promise<boolean | undefined> {
    return this.answer({ verb: 'get-namespace', namespace }, () =>
      this.namespacesUnreadable ? undefined : (this.namespaces?.has(namespace) ?? true)
    )
  }

  accessAllowed(permission: Permission): Promise<boolean> {
    return this.answer(
      { verb: 'access-review', namespace: permission.namespace, name: `${permission.verb} ${permission.resource}` },
      () =>
        !this.denied.some(
          (denied) =>
            denied.verb === permission.verb &&
            denied.resource === permission.resource &&
            denied.namespace === permission.namespace
        )
    )
  }

  servedWorkloadKinds(): Promise<WorkloadKind[]> {
    return this.answer({ verb: 'discover-workloads' }, () => [
      ...APPS_KINDS,
      ...(this.rollouts ? ['Rollout' as const] : [])
    ])
  }

  listWorkloads(kind: WorkloadKind, namespace: string): Promise<Listed<Workload>> {
    return this.answer({ verb: 'list-workloads', kind, namespace }, () => {
      const items = [...this.workloads.values()].filter(
        (workload) => workload.kind === kind && workload.metadata.namespace === namespace
      )
      return { items: structuredClone(items), resourceVersion: String(this.rv) }
    })
  }

  watchWorkloads(
    kind: WorkloadKind,
    namespace: string,
    resourceVersion: string,
    handlers: WatchHandlers<Workload>
  ): Promise<WatchHandle> {
    return this.answer({ verb: 'watch-workloads', kind, namespace, resourceVersion }, () =>
      this.open({ kind, namespace, handlers, ended: false }, resourceVersion)
    )
  }

  /**
   * As the API server takes kubectl's restart: the template annotation set (a Rollout: spec.restartAt), the generation
   * bumped; a patch that sets the value already there changes nothing (no new generation, no rollout).
   */
  restartWorkload(kind: WorkloadKind, namespace: string, name: string, restartedAt: string): Promise<Workload> {
    return this.answer({ verb: 'restart', kind, namespace, name }, () => {
      const workload = this.getWorkload(kind, namespace, name)
      if (!workload) throw new KubeError('not-found', `${kind.toLowerCase()}s.apps "${name}" not found`, 404)
      if (workload.kind === 'Rollout') {
        if (workload.spec.restartAt === restartedAt) return structuredClone(workload)
        const generation = (workload.metadata.generation ?? 0) + 1
        const restarted = this.storeWorkload(
          {
            ...workload,
            metadata: { ...workload.metadata, generation },
            spec: { ...workload.spec, restartAt: restartedAt }
          },
          'MODIFIED'
        )
        queueMicrotask(() => this.onRestart(restarted))
        return structuredClone(restarted)
      }
      const template = workload.spec?.template
      if (template?.metadata?.annotations?.[RESTARTED_AT] === restartedAt) return structuredClone(workload)
      const annotations = { ...template?.metadata?.annotations, [RESTARTED_AT]: restartedAt }
      const generation = (workload.metadata.generation ?? 0) + 1
      // The spec of the same kind, its template annotated: the union's members share these fields.
      const spec = { ...workload.spec, template: { ...template, metadata: { ...template?.metadata, annotations } } }
      const restarted = this.storeWorkload(
        { ...workload, metadata: { ...workload.metadata, generation }, spec },
        'MODIFIED'
      )
      queueMicrotask(() => this.onRestart(restarted))
      return structuredClone(restarted)
    })
  }

  listPods(namespace: string, labelSelector: string): Promise<Listed<Pod>> {
    return this.answer({ verb: 'list-pods', namespace, name: labelSelector }, () => {
      const selector = parseLabelSelector('selector', labelSelector)
      const items = this.pods.filter(
        ({ metadata }) => metadata.namespace === namespace && matchesLabelSelector(selector, metadata.labels)
      )
      return { items: structuredClone(items), resourceVersion: String(this.rv) }
    })
  }

  secretMetadata(namespace: string, name: string): Promise<ObjectMeta | undefined> {
    return this.answer({ verb: 'get-secret', namespace, name }, () =>
      structuredClone(this.secrets.get(`${namespace}/${name}`))
    )
  }

  // ---- internals ----

  /** Records the call, then answers as a server would: with the queued failure, or with what `result` gives (or throws). */
  private answer<T>(call: MemoryCall, result: () => T): Promise<T> {
    this.calls.push(call)
    const queued = this.failures.get(call.verb)
    const failure = queued?.shift()
    if (failure) return Promise.reject(failure)
    try {
      return Promise.resolve(result())
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
  }

  private open(watch: ActiveWatch, resourceVersion: string) {
    const from = Number(resourceVersion)
    const handle = { stop: () => this.end(watch, undefined, false) }
    if (from < this.compactedThrough) {
      queueMicrotask(() => this.end(watch, new KubeError('gone', 'resourceVersion too old (410 Gone)', 410)))
      return handle
    }
    this.watches.add(watch)
    const replay = this.history.filter((change) => change.rv > from)
    queueMicrotask(() => {
      for (const change of replay) this.deliver(watch, change)
    })
    return handle
  }

  private end(watch: ActiveWatch, error?: unknown, notify = true): void {
    if (watch.ended) return
    watch.ended = true
    this.watches.delete(watch)
    if (notify) watch.handlers.onEnd(error)
  }

  private deliver(watch: ActiveWatch, change: Change): void {
    if (watch.ended || change.kind !== watch.kind) return
    const object = change.object
    if (object.metadata.namespace !== watch.namespace) return
    if (
      watch.kind === 'es' &&
      watch.selector &&
      !matchesLabelSelector(parseLabelSelector('label-selector', watch.selector), object.metadata.labels)
    )
      return
    const event: WatchEvent<unknown> = { type: change.type, object: structuredClone(object) }
    watch.handlers.onEvent(event)
  }

  private record(change: Change): void {
    this.history.push(change)
    for (const watch of [...this.watches]) this.deliver(watch, change)
  }

  private store(es: ExternalSecret, type: WatchEventType): ExternalSecret {
    const rv = ++this.rv
    const stored: ExternalSecret = { ...es, metadata: { ...es.metadata, resourceVersion: String(rv) } }
    this.objects.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored)
    this.record({ rv, kind: 'es', type, object: stored })
    return stored
  }

  private storeWorkload(workload: Workload, type: WatchEventType): Workload {
    const rv = ++this.rv
    const stored: Workload = { ...workload, metadata: { ...workload.metadata, resourceVersion: String(rv) } }
    this.workloads.set(`${stored.kind}/${stored.metadata.namespace}/${stored.metadata.name}`, stored)
    this.record({ rv, kind: stored.kind, type, object: stored })
    return stored
  }

  private require(namespace: string, name: string): ExternalSecret {
    const es = this.objects.get(`${namespace}/${name}`)
    if (!es) throw new Error(`no ExternalSecret ${namespace}/${name}`)
    return es
  }
}
