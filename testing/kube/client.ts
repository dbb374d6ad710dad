/** A minimal client for tests: JSON requests and watch streams against a Kubernetes API server. */

export interface Reply {
  status: number
  headers: Headers
  /** Parsed JSON (tests read arbitrary fields of it), or the text. */
  body: any
}

export interface RequestOptions {
  method?: string
  body?: unknown
  contentType?: string
  accept?: string
  token?: string
}

export async function request(baseUrl: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' }
  if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/merge-patch+json'
  if (options.token) headers.Authorization = `Bearer ${options.token}`
  const response = await fetch(`${baseUrl}${path}`, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text }
}

export interface WatchEvent {
  type: string
  object: any
}

/** An open watch: events arrive in `events`; `ended` resolves when the server ends the stream. */
export interface WatchStream {
  readonly status: number
  readonly events: WatchEvent[]
  readonly ended: Promise<void>
  /** Resolves once at least `count` events have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<WatchEvent[]>
  close(): void
}

export async function watch(baseUrl: string, path: string, token?: string): Promise<WatchStream> {
  const abort = new AbortController()
  const response = await fetch(`${baseUrl}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal: abort.signal })
  const events: WatchEvent[] = []
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
        for (const line of lines.filter((item) => item.trim() !== '')) events.push(JSON.parse(line) as WatchEvent)
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
          else if (finished) done(() => reject(new Error(`watch ended after ${events.length} of ${count} events: ${JSON.stringify(events)}`)))
        }
        const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${events.length} of ${count} events: ${JSON.stringify(events)}`))), timeoutMs)
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
