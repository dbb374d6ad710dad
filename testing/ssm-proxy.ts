import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'

/** What the proxy does with one call instead of forwarding it. */
export type Fault =
  { kind: 'throttle' } | { kind: 'status'; status: number; type?: string; message?: string } | { kind: 'reset' }

export interface RecordedCall {
  /** The SSM operation, from X-Amz-Target: `PutParameter`, `GetParameters`, ... */
  readonly operation: string
  /**
   * The region the call is signed for, from the SigV4 credential scope of its Authorization header
   * (`Credential=AKID/20261207/us-west-2/ssm/aws4_request`), as moto tells regions apart; '' for an unsigned call.
   */
  readonly region: string
  readonly body: Record<string, unknown>
  /** The SDK's `x-amz-user-agent` header. */
  readonly userAgent: string
  readonly faulted?: Fault['kind']
  /** The error type of a call the proxy refused as SSM does where moto would accept it (see `refusal`). */
  readonly refused?: string
}

export interface SsmProxy {
  readonly endpoint: string
  readonly calls: RecordedCall[]
  /** Decides per call whether to inject a fault; undefined forwards it. */
  fault?: (call: RecordedCall) => Fault | undefined
  /** Added before each forwarded call, in milliseconds. */
  latencyMs: number
  /** Holds a call until the promise it returns settles, e.g. to line up two runs. */
  hold?: (call: RecordedCall) => Promise<void> | undefined
  /** Answer TooManyUpdates to a PutParameter for a name another PutParameter is still writing, as SSM does. */
  conflictOnConcurrentUpdates: boolean
  count(operation: string): number
  close(): Promise<void>
}

const WRITES = new Set([
  'PutParameter',
  'AddTagsToResource',
  'DeleteParameter',
  'DeleteParameters',
  'RemoveTagsFromResource',
  'LabelParameterVersion'
])

export function writeCalls(calls: readonly RecordedCall[]): RecordedCall[] {
  return calls.filter((call) => WRITES.has(call.operation))
}

/** A loopback proxy in front of moto that logs every SSM call and can throttle, fail or drop it. */
export async function startSsmProxy(target: string): Promise<SsmProxy> {
  const upstream = new URL(target)
  const inFlight = new Set<string>()
  const proxy: SsmProxy = {
    endpoint: '',
    calls: [],
    latencyMs: 0,
    conflictOnConcurrentUpdates: false,
    count: (operation) => proxy.calls.filter((call) => call.operation === operation && !call.faulted).length,
    // Ends every connection too, a held or in-flight call's included: close() alone waits for them, and a call that
    // never ends (a hold that never settles, a run still going after its test failed) would keep the server, and the
    // afterAll that stops moto after it, from ever finishing.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req)
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSSM\./, '')
    const call: RecordedCall = {
      operation,
      region: signedRegion(req.headers.authorization),
      body: safeJson(raw),
      userAgent: String(req.headers['x-amz-user-agent'] ?? '')
    }
    await proxy.hold?.(call)
    const name = operation === 'PutParameter' ? String(call.body.Name) : undefined
    const conflict = proxy.conflictOnConcurrentUpdates && name !== undefined && inFlight.has(name)
    const fault = conflict
      ? ({
          kind: 'status',
          status: 400,
          type: 'TooManyUpdates',
          message: 'There are concurrent updates for the resource'
        } as const)
      : proxy.fault?.(call)
    // In flight from the moment it is let through, before the downgrade check's own request: a second write of the
    // name checked meanwhile is a concurrent update.
    const writing = !fault && name !== undefined
    if (writing) inFlight.add(name)
    const refused = fault ? undefined : await refusal(call, req, upstream)
    proxy.calls.push(fault ? { ...call, faulted: fault.kind } : refused ? { ...call, refused: refused.type } : call)
    if (fault) return answerFault(fault, req, res)
    if (refused) {
      if (writing) inFlight.delete(name)
      return answerFault({ kind: 'status', status: 400, ...refused }, req, res)
    }
    if (proxy.latencyMs) await delay(proxy.latencyMs)
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
        answer.on('end', () => name !== undefined && inFlight.delete(name))
      }
    )
    forwarded.on('error', () => {
      if (name !== undefined) inFlight.delete(name)
      res.destroy()
    })
    forwarded.end(raw)
  }
  const server = createServer((req, res) => void answer(req, res))
  server.keepAliveTimeout = 1_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  Object.assign(proxy, { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  return proxy
}

/** SSM's answer to a PutParameter that would move an Advanced parameter back to Standard. */
export const DOWNGRADE_REFUSAL = {
  type: 'ValidationException',
  message: "You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier."
} as const

/**
 * What SSM refuses and moto 5.2.1 accepts: a PutParameter with `Tier: Standard` over an Advanced parameter.
 * SSM never moves an Advanced parameter back to Standard and answers HTTP 400 `ValidationException` (SSM API
 * reference, PutParameter, `Tier`: "you can't revert an advanced parameter to a standard parameter"); moto's
 * `put_parameter` (moto/ssm/models.py) writes the new tier. The current tier is asked of moto with the caller's
 * own credential scope (moto keeps each region apart by it).
 */
async function refusal(
  call: RecordedCall,
  req: IncomingMessage,
  upstream: URL
): Promise<{ type: string; message: string } | undefined> {
  if (call.operation !== 'PutParameter' || call.body.Overwrite !== true || call.body.Tier !== 'Standard')
    return undefined
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'AmazonSSM.DescribeParameters'
  }
  for (const header of ['authorization', 'x-amz-date', 'x-amz-security-token']) {
    const value = req.headers[header]
    if (typeof value === 'string') headers[header] = value
  }
  const answer = await fetch(new URL('/', upstream), {
    method: 'POST',
    headers,
    body: JSON.stringify({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [call.body.Name] }] })
  })
  const { Parameters = [] } = (await answer.json()) as { Parameters?: Array<{ Tier?: string }> }
  return Parameters[0]?.Tier === 'Advanced' ? DOWNGRADE_REFUSAL : undefined
}

/** The region of a SigV4 Authorization header's credential scope: `Credential=<key>/<date>/<region>/<service>/aws4_request`. */
export function signedRegion(authorization: string | undefined): string {
  return /Credential=[^/,]+\/\d{8}\/([^/,]+)\//.exec(authorization ?? '')?.[1] ?? ''
}

function answerFault(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
  if (fault.kind === 'reset') {
    req.socket.destroy()
    return
  }
  const [status, type, message] =
    fault.kind === 'throttle'
      ? [400, 'ThrottlingException', 'Rate exceeded']
      : [fault.status, fault.type ?? 'InternalServerError', fault.message ?? 'Internal error']
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type })
  res.end(JSON.stringify({ __type: type, message }))
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function safeJson(raw: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(raw.toString('utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** A token bucket: `take()` is true while calls stay within `ratePerSecond` (bursts up to `burst`), on the clock `clock`. */
export function tokenBucket(
  ratePerSecond: number,
  burst = ratePerSecond,
  clock: () => number = () => performance.now()
): { take(): boolean } {
  let tokens = burst
  let last = clock()
  return {
    take() {
      const now = clock()
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * ratePerSecond)
      last = now
      if (tokens < 1) return false
      tokens -= 1
      return true
    }
  }
}
