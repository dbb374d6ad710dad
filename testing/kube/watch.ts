/**
 * Watch streams: `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}` lines on a chunked 200 response.
 *
 * - No resourceVersion (or "0"): synthetic ADDED events for what exists now, then live changes.
 * - resourceVersion N: every change newer than N from the type's bounded history, then live changes; when the
 *   history no longer reaches back to N, a single ERROR event carrying a 410 Expired Status, and the end.
 * - With a selector, an object that starts matching arrives as ADDED and one that stops matching as DELETED.
 * - allowWatchBookmarks: periodic BOOKMARKs; with sendInitialEvents=true, one marked `k8s.io/initial-events-end`.
 */
import type { ServerResponse } from 'node:http'
import { badRequest, expired } from './errors.ts'
import type { KubeObject } from './json.ts'
import type { ResourceType } from './resources.ts'
import type { Matcher } from './selectors.ts'
import type { Change, Store } from './store.ts'

export interface WatchRequest {
  type: ResourceType
  /** The object as the client's API version shows it. */
  present: (object: KubeObject) => KubeObject
  apiVersion: string
  namespace: string | undefined
  matches: Matcher
  resourceVersion: string | null
  allowBookmarks: boolean
  sendInitialEvents: boolean
  timeoutSeconds: number | undefined
}

export class Watches {
  readonly #store: Store
  readonly #bookmarkIntervalMs: number
  readonly #open = new Set<ServerResponse>()

  constructor(store: Store, bookmarkIntervalMs: number) {
    this.#store = store
    this.#bookmarkIntervalMs = bookmarkIntervalMs
  }

  /** Throws (before anything is written) when the resourceVersion is not a number. */
  serve(res: ServerResponse, request: WatchRequest): void {
    const { type, present, namespace, matches } = request
    const since =
      request.resourceVersion && request.resourceVersion !== '0' ? Number(request.resourceVersion) : undefined
    if (since !== undefined && !Number.isInteger(since))
      throw badRequest(`resourceVersion: Invalid value: "${request.resourceVersion}": must be a non-negative integer`)
    const backlog = since === undefined ? [] : this.#store.changesSince(type, since)

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' })
    res.flushHeaders()
    const send = (eventType: string, object: unknown) => res.write(`${JSON.stringify({ type: eventType, object })}\n`)
    if (backlog === undefined) {
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: expired(String(since), this.#store.compactedBefore(type)).toStatus() })}\n`
      )
      return
    }

    const inScope = (object: KubeObject | undefined) =>
      object !== undefined && (namespace === undefined || object.metadata.namespace === namespace) && matches(object)
    const deliver = ({ type: change, object, previous }: Change) => {
      const now = change !== 'DELETED' && inScope(object)
      const before = change === 'DELETED' ? inScope(object) : inScope(previous)
      if (now) send(before ? 'MODIFIED' : 'ADDED', present(object))
      else if (before) send('DELETED', present(object))
    }
    const bookmark = (annotations?: Record<string, string>) =>
      send('BOOKMARK', {
        kind: type.kind,
        apiVersion: request.apiVersion,
        metadata: { resourceVersion: String(this.#store.resourceVersion), ...(annotations ? { annotations } : {}) }
      })

    if (since === undefined || request.sendInitialEvents) {
      for (const object of this.#store.list(type, namespace).filter(inScope)) send('ADDED', present(object))
    }
    for (const change of backlog) deliver(change)
    if (request.sendInitialEvents && request.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' })

    const unsubscribe = this.#store.subscribe(type, deliver)
    const timers = [
      request.allowBookmarks ? setInterval(() => bookmark(), this.#bookmarkIntervalMs) : undefined,
      request.timeoutSeconds ? setTimeout(() => res.end(), request.timeoutSeconds * 1000) : undefined
    ]
    this.#open.add(res)
    res.on('close', () => {
      unsubscribe()
      for (const timer of timers) clearTimeout(timer)
      this.#open.delete(res)
    })
  }

  /** Ends every open watch stream cleanly; returns how many there were. */
  dropAll(): number {
    const count = this.#open.size
    for (const res of this.#open) res.end()
    return count
  }
}
