/**
 * A simulation of the External Secrets Operator's ClusterExternalSecret controller (external-secrets
 * pkg/controllers/clusterexternalsecret/clusterexternalsecret_controller.go), working on the store directly:
 *
 * - Queue: a ClusterExternalSecret is reconciled `delayMs` after it changes, after any change of an ExternalSecret it
 *   controls (`Owns`: status writes included), and after a change of a Namespace (`Watches` Namespaces).
 * - Reconcile: the target namespaces are `spec.namespaces` and those `spec.namespaceSelectors` (or the older
 *   `spec.namespaceSelector`) match (esutils.GetTargetNamespaces). In each, the ExternalSecret
 *   `spec.externalSecretName` (else the CES's name) is created or updated (createOrUpdateExternalSecret): its labels
 *   and annotations SET to `spec.externalSecretMetadata`'s, with the CES's own `external-secrets.io/force-sync`
 *   annotation passed on (and removed when the CES has none), its spec to `spec.externalSecretSpec`, and the CES as
 *   its controller. An ExternalSecret of that name the CES does not own is a failed namespace. The status says
 *   externalSecretName, provisionedNamespaces (sorted), failedNamespaces and a Ready condition.
 *
 * So an annotation written directly on an owned ExternalSecret is reset at the next reconcile, which that very change
 * causes; the operator (operator.ts) then reads the annotations it last synced and skips the refresh.
 */
import { applyDefaults } from './externalsecret.ts'
import { clone, sameJson, type KubeObject, type OwnerReference } from './json.ts'
import { apiVersionOf, CLUSTER_EXTERNAL_SECRETS, EXTERNAL_SECRETS, NAMESPACES } from './resources.ts'
import type { Change, Store } from './store.ts'
import { selectorMatches, type LabelSelector } from './workloads.ts'

/** esv1.AnnotationForceSync (apis/externalsecrets/v1/externalsecret_types.go). */
export const FORCE_SYNC = 'external-secrets.io/force-sync'

interface ClusterExternalSecretSpec {
  externalSecretSpec?: Record<string, unknown>
  externalSecretName?: string
  externalSecretMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }
  namespaceSelector?: LabelSelector
  namespaceSelectors?: LabelSelector[]
  namespaces?: string[]
}

export interface ClusterExternalSecretControllerOptions {
  store: Store
  /** The external-secrets.io version the controller writes ExternalSecrets in (the ownerReference's). */
  version: string
  delayMs: number
}

export class ClusterExternalSecretController {
  /** How long after a change the reconcile runs. */
  delayMs: number
  /** The number of reconciles so far. */
  reconciles = 0

  readonly #store: Store
  readonly #version: string
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #idle: (() => void)[] = []
  readonly #unsubscribe: (() => void)[]

  constructor(options: ClusterExternalSecretControllerOptions) {
    this.#store = options.store
    this.#version = options.version
    this.delayMs = options.delayMs
    this.#unsubscribe = [
      this.#store.subscribe(CLUSTER_EXTERNAL_SECRETS, ({ object }) => this.#add(object.metadata.name)),
      this.#store.subscribe(EXTERNAL_SECRETS, (change) => this.#onExternalSecret(change)),
      this.#store.subscribe(NAMESPACES, () => {
        for (const ces of this.#store.list(CLUSTER_EXTERNAL_SECRETS)) this.#add(ces.metadata.name)
      })
    ]
  }

  /** Resolves once no reconcile is pending. */
  idle(): Promise<void> {
    if (this.#timers.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
    for (const resolve of this.#idle.splice(0)) resolve()
  }

  #onExternalSecret({ object, previous }: Change): void {
    for (const es of [object, previous]) {
      const owner = es?.metadata.ownerReferences?.find(
        (reference) => reference.controller && reference.kind === CLUSTER_EXTERNAL_SECRETS.kind
      )
      if (owner) this.#add(owner.name)
    }
  }

  #add(name: string): void {
    if (this.#timers.has(name)) return
    const timer = setTimeout(() => {
      this.#timers.delete(name)
      this.#reconcile(name)
      if (this.#timers.size === 0) for (const resolve of this.#idle.splice(0)) resolve()
    }, this.delayMs)
    timer.unref()
    this.#timers.set(name, timer)
  }

  #reconcile(name: string): void {
    const ces = this.#store.get(CLUSTER_EXTERNAL_SECRETS, undefined, name)
    if (!ces) return
    this.reconciles++
    const spec = (ces.spec ?? {}) as ClusterExternalSecretSpec
    const esName = spec.externalSecretName || name
    const selectors = [...(spec.namespaceSelector ? [spec.namespaceSelector] : []), ...(spec.namespaceSelectors ?? [])]
    const targets = this.#store
      .list(NAMESPACES)
      .filter(
        (namespace) =>
          (spec.namespaces ?? []).includes(namespace.metadata.name) ||
          selectors.some((selector) => selectorMatches(selector, namespace.metadata.labels ?? {}))
      )
      .map((namespace) => namespace.metadata.name)
    const owner: OwnerReference = {
      apiVersion: ces.apiVersion ?? apiVersionOf(CLUSTER_EXTERNAL_SECRETS, this.#version),
      kind: CLUSTER_EXTERNAL_SECRETS.kind,
      name,
      uid: ces.metadata.uid ?? '',
      controller: true,
      blockOwnerDeletion: true
    }
    const provisioned: string[] = []
    const failed: { namespace: string; reason: string }[] = []
    for (const namespace of targets) {
      const existing = this.#store.get(EXTERNAL_SECRETS, namespace, esName)
      if (existing && !existing.metadata.ownerReferences?.some((reference) => reference.uid === owner.uid)) {
        failed.push({ namespace, reason: 'external secret already exists in namespace' })
        continue
      }
      const annotations = { ...spec.externalSecretMetadata?.annotations }
      const forceSync = ces.metadata.annotations?.[FORCE_SYNC]
      if (forceSync === undefined) delete annotations[FORCE_SYNC]
      else annotations[FORCE_SYNC] = forceSync
      const labels = { ...spec.externalSecretMetadata?.labels }
      const next: KubeObject = {
        ...(existing ?? {}),
        apiVersion: apiVersionOf(EXTERNAL_SECRETS, this.#version),
        kind: EXTERNAL_SECRETS.kind,
        metadata: {
          ...(existing?.metadata ?? { name: esName, namespace }),
          ...(Object.keys(labels).length ? { labels } : { labels: undefined }),
          ...(Object.keys(annotations).length ? { annotations } : { annotations: undefined }),
          ownerReferences: [owner]
        },
        spec: clone(spec.externalSecretSpec ?? {})
      }
      for (const field of ['labels', 'annotations'] as const)
        if (next.metadata[field] === undefined) delete next.metadata[field]
      applyDefaults(next)
      if (!existing || !sameJson({ ...existing, status: undefined }, { ...next, status: undefined }))
        this.#store.write(EXTERNAL_SECRETS, next)
      provisioned.push(namespace)
    }
    const status = {
      externalSecretName: esName,
      ...(failed.length ? { failedNamespaces: failed } : {}),
      ...(provisioned.length ? { provisionedNamespaces: provisioned.sort() } : {}),
      conditions: [
        failed.length
          ? { type: 'Ready', status: 'False', message: 'one or more namespaces failed' }
          : { type: 'Ready', status: 'True' }
      ]
    }
    if (!sameJson(ces.status ?? null, status)) this.#store.write(CLUSTER_EXTERNAL_SECRETS, { ...ces, status })
  }
}
