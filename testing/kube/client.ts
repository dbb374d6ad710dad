/** A minimal client for tests: JSON requests and watch streams against a Kubernetes API server. */
import type { KubeObject } from './json.ts'

/** A reply; `T` is the shape the caller expects of the body (unknown unless it says). */
export interface Reply<T = unknown> {
  status: number
  headers: Headers
  /** The parsed JSON, read as `T`, or the text when the reply is not JSON. */
  body: T
}

export interface RequestOptions {
  method?: string
  body?: unknown
  contentType?: string
  accept?: string
  token?: string
}

/** One request; the JSON body is read as `T`, the shape the caller describes (the only place that types it). */
export async function request<T = unknown>(
  baseUrl: string,
  path: string,
  options: RequestOptions = {}
): Promise<Reply<T>> {
  const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' }
  if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/merge-patch+json'
  if (options.token) headers.Authorization = `Bearer ${options.token}`
  const response = await fetch(`${baseUrl}${path}`, {
    method: options.method ?? 'GET',
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body)
  })
  const text = await response.text()
  const body: unknown = text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text
  return { status: response.status, headers: response.headers, body: body as T }
}

/** A watch event; `T` is the shape of the objects the caller watches (an ERROR event carries a Status). */
export interface WatchEvent<T = KubeObject> {
  type: string
  object: T
}

/** An open watch: events arrive in `events`; `ended` resolves when the server ends the stream. */
export interface WatchStream<T = KubeObject> {
  readonly status: number
  readonly events: WatchEvent<T>[]
  readonly ended: Promise<void>
  /** Resolves once at least `count` events have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<WatchEvent<T>[]>
  close(): void
}

export async function watch<T = KubeObject>(baseUrl: string, path: string, token?: string): Promise<WatchStream<T>> {
  const abort = new AbortController()
  const response = await fetch(`${baseUrl}${path}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal: abort.signal
  })
  const events: WatchEvent<T>[] = []
  const listeners = new Set<() => void>()
  let finished = false
  const ended = (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        const lines = buffer.split('\n')
        buffer = lines.pop() ?? ''
        for (const line of lines.filter((item) => item.trim() !== '')) events.push(JSON.parse(line) as WatchEvent<T>)
        for (const listener of listeners) listener()
      }
    } catch {
      // A closed or reset connection ends the stream like a clean end does.
    }
    finished = true
    for (const listener of listeners) listener()
  })()
  return {
    status: response.status,
    events,
    ended,
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (events.length >= count) done(() => resolve(events.slice()))
          else if (finished)
            done(() =>
              reject(new Error(`watch ended after ${events.length} of ${count} events: ${JSON.stringify(events)}`))
            )
        }
        const timer = setTimeout(
          () =>
            done(() =>
              reject(new Error(`timed out after ${events.length} of ${count} events: ${JSON.stringify(events)}`))
            ),
          timeoutMs
        )
        const done = (settle: () => void) => {
          clearTimeout(timer)
          listeners.delete(check)
          settle()
        }
        listeners.add(check)
        check()
      })
    },
    close: () => abort.abort()
  }
}
