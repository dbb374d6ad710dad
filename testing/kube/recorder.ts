/**
 * client-go's legacy event recorder, as the operator uses it: core/v1 Events named `<object>.<hex time>`, and the
 * correlator's deduplication: the same event again (same object, type, reason and message) is not a new Event but
 * the old one with `count` + 1 and a new `lastTimestamp`.
 */
import { EVENTS } from './resources.ts'
import { rfc3339, type KubeObject } from './json.ts'
import type { Store } from './store.ts'

export type EventType = 'Normal' | 'Warning'

export interface Recorder {
  event(object: KubeObject, type: EventType, reason: string, message: string): void
}

export function createRecorder(store: Store, component: string): Recorder {
  const seen = new Map<string, string>()
  let sequence = 0n
  return {
    event(object, type, reason, message) {
      const { kind, apiVersion, metadata } = object
      const involvedObject = {
        kind,
        namespace: metadata.namespace,
        name: metadata.name,
        uid: metadata.uid,
        apiVersion,
        resourceVersion: metadata.resourceVersion
      }
      const key = JSON.stringify([
        metadata.uid,
        kind,
        metadata.namespace,
        metadata.name,
        apiVersion,
        type,
        reason,
        message
      ])
      const now = rfc3339()
      const earlier = seen.get(key)
      const existing = earlier === undefined ? undefined : store.get(EVENTS, metadata.namespace, earlier)
      if (existing) {
        store.write(EVENTS, { ...existing, count: Number(existing.count ?? 1) + 1, lastTimestamp: now })
        return
      }
      const name = `${metadata.name}.${(BigInt(Date.now()) * 1_000_000n + sequence++).toString(16)}`
      seen.set(key, name)
      store.write(EVENTS, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: metadata.namespace },
        involvedObject,
        reason,
        message,
        source: { component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        eventTime: null,
        reportingComponent: component,
        reportingInstance: ''
      })
    }
  }
}
