import type { KubeEvent } from '../k8s/types.js'

/**
 * Whether an Event reports a failure of this run. "Newer than the annotation" is judged by the
 * API server's resourceVersions, never by clocks: the Events listed before annotating are the
 * snapshot; an UpdateFailed Event is this run's when the snapshot does not hold it, or held it at
 * another resourceVersion (the operator counted it again). Equality only: resourceVersions are opaque.
 * Pure.
 */

export const UPDATE_FAILED = 'UpdateFailed'

/** Event identity to its resourceVersion when listed before annotating. */
export type EventSnapshot = ReadonlyMap<string, string | undefined>

export function eventIdentity(event: KubeEvent): string {
  return (
    event.metadata.uid || `${event.metadata.namespace ?? event.involvedObject.namespace ?? ''}/${event.metadata.name}`
  )
}

export function snapshotEvents(events: Iterable<KubeEvent>): Map<string, string | undefined> {
  const snapshot = new Map<string, string | undefined>()
  for (const event of events) snapshot.set(eventIdentity(event), event.metadata.resourceVersion)
  return snapshot
}

/** `namespace/name` of the ExternalSecret an Event is about, if it is about one. */
export function eventSubject(event: KubeEvent): string | undefined {
  const { kind, name } = event.involvedObject
  if (kind !== 'ExternalSecret' || !name) return undefined
  return `${event.involvedObject.namespace ?? event.metadata.namespace ?? ''}/${name}`
}

export function isFailureOfThisRun(event: KubeEvent, snapshot: EventSnapshot, target?: { uid?: string }): boolean {
  if (event.reason !== UPDATE_FAILED || !eventSubject(event)) return false
  if (target?.uid && event.involvedObject.uid && target.uid !== event.involvedObject.uid) return false // an earlier object of that name
  const identity = eventIdentity(event)
  return !snapshot.has(identity) || snapshot.get(identity) !== event.metadata.resourceVersion
}

/** Of several failure Events, the newest: the last by lastTimestamp, else the last given. */
export function newestEvent(events: readonly KubeEvent[]): KubeEvent | undefined {
  let newest: KubeEvent | undefined
  for (const event of events) {
    if (!newest || !newest.lastTimestamp || !event.lastTimestamp || event.lastTimestamp >= newest.lastTimestamp)
      newest = event
  }
  return newest
}
