/** The network failures both clients (AWS SDK, Kubernetes) can hit, by Node's error codes. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED'
])

interface ErrorLike {
  name?: string
  code?: unknown
  message?: string
  cause?: unknown
}

/**
 * The code of the network failure behind an error, looking through its causes (the SDKs wrap
 * them), or undefined when it is no network failure. `extra` admits more codes, e.g. TLS ones.
 */
export function networkErrorCode(
  error: unknown,
  extra: ReadonlySet<string> = new Set(),
  depth = 0
): string | undefined {
  if (!error || typeof error !== 'object' || depth > 5) return undefined
  const e = error as ErrorLike
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || extra.has(e.code))) return e.code
  if (e.name === 'TimeoutError' || e.name === 'ConnectTimeoutError' || e.name === 'RequestTimeout') return 'ETIMEDOUT'
  if (e.name === 'SocketError' || /other side closed|socket hang up/i.test(e.message ?? '')) return 'ECONNRESET'
  const match = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|EAI_AGAIN)\b/.exec(e.message ?? '')
  if (match) return match[1]
  return networkErrorCode(e.cause, extra, depth + 1)
}
