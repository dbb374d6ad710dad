/** Go's time.ParseDuration, as ESO reads `spec.refreshInterval`: `1h`, `15m30s`, `0`, `1.5h`, `300ms`. Pure. */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000
}

/** Milliseconds, or undefined when the text is not a Go duration. */
export function parseGoDuration(text: string): number | undefined {
  const value = text.trim()
  const sign = value.startsWith('-') ? -1 : 1
  const body = value.replace(/^[-+]/, '')
  if (body === '0') return 0
  if (!body) return undefined
  const part = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y
  let total = 0
  let index = 0
  while (index < body.length) {
    part.lastIndex = index
    const match = part.exec(body)
    if (!match) return undefined
    total += Number(match[1]) * UNIT_MS[match[2]]
    index = part.lastIndex
  }
  return sign * total
}
