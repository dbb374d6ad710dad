/**
 * The object store: every object of every type, one global resourceVersion counter (as etcd has), a bounded
 * history of changes per type for watches, and listeners that hear each change as it happens.
 */
import { randomUUID } from 'node:crypto'
import { conflict } from './errors.ts'
import { clone, objectKey, rfc3339, sameJson, type KubeObject } from './json.ts'
import { recordWrite, type FieldManager } from './managed-fields.ts'
import type { ResourceType } from './resources.ts'

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface Change {
  readonly type: ChangeType
  readonly resourceVersion: number
  /** The object after the change (for DELETED: as it was, with the deletion's resourceVersion). */
  readonly object: KubeObject
  /** The object before the change; absent for ADDED. */
  readonly previous?: KubeObject
}

export type Listener = (change: Change) => void

export class Store {
  readonly #historyLimit: number
  #resourceVersion = 0
  readonly #objects = new Map<ResourceType, Map<string, KubeObject>>()
  readonly #history = new Map<ResourceType, Change[]>()
  /** Per type, the newest resourceVersion whose change has been dropped from the history. */
  readonly #compacted = new Map<ResourceType, number>()
  readonly #listeners = new Map<ResourceType, Set<Listener>>()

  constructor(historyLimit: number) {
    this.#historyLimit = historyLimit
  }

  get resourceVersion(): number {
    return this.#resourceVersion
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.#table(type).get(objectKey(namespace, name))
    return found && clone(found)
  }

  /** Objects in etcd key order: by namespace, then name. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    return [...this.#table(type).entries()]
      .filter(([, object]) => namespace === undefined || object.metadata.namespace === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, object]) => clone(object))
  }

  /**
   * Creates or replaces an object. The server owns uid, creationTimestamp, resourceVersion and generation; the
   * generation counts changes outside metadata and status. A write that changes nothing is no change: no new
   * resourceVersion, no event. With `expectedResourceVersion`, a stale write is a 409 Conflict. A `writer`'s write
   * that changes the object is recorded in its managedFields (managed-fields.ts).
   */
  write(type: ResourceType, object: KubeObject, expectedResourceVersion?: string, writer?: FieldManager): KubeObject {
    const { name, namespace } = object.metadata
    const key = objectKey(namespace, name)
    const existing = this.#table(type).get(key)
    if (expectedResourceVersion !== undefined && existing?.metadata.resourceVersion !== expectedResourceVersion) {
      throw conflict({ group: type.group, resource: type.resource, name })
    }
    const next = clone(object)
    const { uid, resourceVersion: _rv, generation: _generation, creationTimestamp, ...rest } = next.metadata
    const generation = type.generation ? generationOf(existing, next) : undefined
    next.metadata = {
      name,
      ...(namespace ? { namespace } : {}),
      uid: existing?.metadata.uid ?? uid ?? randomUUID(),
      resourceVersion: existing?.metadata.resourceVersion ?? '',
      ...(generation === undefined ? {} : { generation }),
      creationTimestamp: existing?.metadata.creationTimestamp ?? creationTimestamp ?? rfc3339(),
      ...withoutKeys(rest, ['name', 'namespace'])
    }
    // An object written without managedFields keeps the ones recorded, as on the real server.
    if (existing?.metadata.managedFields && !next.metadata.managedFields)
      next.metadata.managedFields = existing.metadata.managedFields
    if (existing && sameJson(existing, next)) return clone(existing)
    if (writer) recordWrite(next, writer, existing)
    next.metadata.resourceVersion = String(++this.#resourceVersion)
    this.#table(type).set(key, next)
    this.#record(type, {
      type: existing ? 'MODIFIED' : 'ADDED',
      resourceVersion: this.#resourceVersion,
      object: clone(next),
      previous: existing
    })
    return clone(next)
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = objectKey(namespace, name)
    const existing = this.#table(type).get(key)
    if (!existing) return undefined
    this.#table(type).delete(key)
    const gone = clone(existing)
    gone.metadata.resourceVersion = String(++this.#resourceVersion)
    this.#record(type, { type: 'DELETED', resourceVersion: this.#resourceVersion, object: gone, previous: existing })
    return clone(gone)
  }

  /** Changes newer than `resourceVersion`, or undefined when the history no longer reaches back that far. */
  changesSince(type: ResourceType, resourceVersion: number): Change[] | undefined {
    if (resourceVersion < this.compactedBefore(type)) return undefined
    return (this.#history.get(type) ?? []).filter((change) => change.resourceVersion > resourceVersion)
  }

  /** The newest resourceVersion of this type's changes that the history has dropped (0 when none). */
  compactedBefore(type: ResourceType): number {
    return this.#compacted.get(type) ?? 0
  }

  subscribe(type: ResourceType, listener: Listener): () => void {
    const listeners = this.#listeners.get(type) ?? new Set()
    this.#listeners.set(type, listeners)
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  #table(type: ResourceType): Map<string, KubeObject> {
    let table = this.#objects.get(type)
    if (!table) this.#objects.set(type, (table = new Map<string, KubeObject>()))
    return table
  }

  #record(type: ResourceType, change: Change): void {
    const history = this.#history.get(type) ?? []
    this.#history.set(type, history)
    history.push(change)
    while (history.length > this.#historyLimit) this.#compacted.set(type, history.shift()!.resourceVersion)
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(change)
  }
}

function generationOf(existing: KubeObject | undefined, next: KubeObject): number {
  if (!existing) return 1
  const generation = existing.metadata.generation ?? 1
  return sameJson(specOf(existing), specOf(next)) ? generation : generation + 1
}

/** Everything but apiVersion, kind, metadata and status: what a CRD's generation counts. */
function specOf(object: KubeObject): Record<string, unknown> {
  return withoutKeys(object, ['apiVersion', 'kind', 'metadata', 'status'])
}

function withoutKeys<T extends object>(value: T, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)))
}
