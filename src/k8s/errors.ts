/**
 * Kubernetes API failures, turned into sentences a pipeline owner can act on. Pure: works on the
 * shapes @kubernetes/client-node throws (ApiException: code + body; watch errors: statusCode;
 * undici network errors: cause.code) without importing it.
 */

import { ActionError, type ErrorCode } from '../errors.js'
import { networkErrorCode } from '../network.js'
import type { Redactor } from '../secrets/redact.js'

export type KubeErrorKind =
  | 'forbidden'
  | 'unauthorized'
  | 'not-found'
  | 'missing-crd'
  | 'conflict'
  | 'gone'
  | 'throttled'
  | 'server'
  | 'unreachable'
  | 'other'

export class KubeError extends Error {
  readonly kind: KubeErrorKind
  readonly status?: number

  constructor(kind: KubeErrorKind, message: string, status?: number) {
    super(message)
    this.name = 'KubeError'
    this.kind = kind
    this.status = status
  }
}

/** What the action was doing, to name it when the server's answer does not. */
export interface KubeCall {
  readonly verb: string
  /** e.g. `externalsecrets.external-secrets.io`, `events` */
  readonly resource: string
  readonly namespace?: string
  /** The API server's URL, for network errors. */
  readonly server?: string
}

/** A Status object as the API server returns it with an error. */
export interface KubeStatus {
  readonly kind?: string
  readonly code?: number
  readonly reason?: string
  readonly message?: string
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_SSL_WRONG_VERSION_NUMBER'
])

interface ErrorLike {
  name?: string
  code?: unknown
  statusCode?: unknown
  body?: unknown
  message?: string
  cause?: unknown
}

/** Parses a Status from an ApiException body (JSON text or object). */
export function statusOf(body: unknown): KubeStatus | undefined {
  let value = body
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body)
    } catch {
      return body.trim() ? { message: body.trim() } : undefined
    }
  }
  if (value && typeof value === 'object') return value
  return undefined
}

/** The HTTP status of a client-node error, if it has one. */
export function httpStatusOf(error: unknown): number | undefined {
  const e = (error ?? {}) as ErrorLike
  if (error instanceof KubeError) return error.status
  // A DOMException (TimeoutError, AbortError) has a numeric legacy `code` too: not an HTTP status.
  const http = (value: unknown): value is number => typeof value === 'number' && value >= 100 && value <= 599
  if (http(e.code) && e.name !== 'TimeoutError' && e.name !== 'AbortError') return e.code
  if (http(e.statusCode)) return e.statusCode
  return undefined
}

function networkCode(error: unknown): string | undefined {
  return networkErrorCode(error, TLS_CODES)
}

/**
 * `User "x" cannot patch resource "externalsecrets" in API group "external-secrets.io" in the
 * namespace "apps"`: the API server's 403 message, taken apart.
 */
export function parseForbidden(message: string): Permission | undefined {
  const match =
    /(?:User "([^"]*)" )?cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)?/.exec(
      message
    )
  if (!match) return undefined
  return { user: match[1], verb: match[2], resource: match[3], group: match[4], namespace: match[5] }
}

/** Turns whatever a Kubernetes call threw into a KubeError with an actionable message. */
export function toKubeError(error: unknown, call: KubeCall): KubeError {
  if (error instanceof KubeError) return error
  const status = httpStatusOf(error)
  const where = call.namespace ? ` in namespace "${call.namespace}"` : ''
  if (status === undefined) {
    const code = networkCode(error)
    if (code) return unreachable(code, call)
    const message = (error as ErrorLike)?.message ?? String(error)
    return new KubeError('other', `${call.verb} ${call.resource}${where} failed: ${message}`)
  }
  const body = statusOf((error as ErrorLike).body)
  const serverMessage = body?.message ?? ''
  switch (status) {
    case 401:
      return new KubeError(
        'unauthorized',
        `the Kubernetes API server rejected the credentials (401 Unauthorized) when trying to ${call.verb} ${call.resource}${where}: the token or client certificate of the kubeconfig is invalid or has expired`,
        status
      )
    case 403:
      return forbidden(serverMessage, call, status)
    case 404:
      return new KubeError(
        'not-found',
        `${call.verb} ${call.resource}${where}: not found (404)${serverMessage ? `: ${serverMessage}` : ''}`,
        status
      )
    case 409:
      return new KubeError(
        'conflict',
        `${call.verb} ${call.resource}${where}: conflict (409)${serverMessage ? `: ${serverMessage}` : ''}`,
        status
      )
    case 410:
      return new KubeError('gone', `${call.verb} ${call.resource}${where}: resourceVersion too old (410 Gone)`, status)
    case 429:
      return new KubeError(
        'throttled',
        `${call.verb} ${call.resource}${where}: the API server is throttling requests (429)`,
        status
      )
  }
  if (status >= 500) {
    return new KubeError(
      'server',
      `${call.verb} ${call.resource}${where}: the API server failed (${status})${serverMessage ? `: ${serverMessage}` : ''}`,
      status
    )
  }
  return new KubeError(
    'other',
    `${call.verb} ${call.resource}${where} failed (${status})${serverMessage ? `: ${serverMessage}` : ''}`,
    status
  )
}

function forbidden(serverMessage: string, call: KubeCall, status: number): KubeError {
  const path = /(?:User "([^"]*)" )?cannot (\S+) path "([^"]+)"/.exec(serverMessage)
  if (path) {
    const who = path[1] ? `"${path[1]}"` : 'the identity of the kubeconfig'
    return new KubeError(
      'forbidden',
      `forbidden: ${who} may not ${path[2]} path "${path[3]}". Grant verb "${path[2]}" on nonResourceURLs "${path[3]}" to it with a ClusterRole and a ClusterRoleBinding.`,
      status
    )
  }
  const parsed = parseForbidden(serverMessage)
  const denied: Permission = parsed ?? {
    verb: call.verb,
    group: call.resource.includes('.') ? call.resource.slice(call.resource.indexOf('.') + 1) : '',
    resource: call.resource.split('.')[0],
    namespace: call.namespace
  }
  return new KubeError('forbidden', forbiddenMessage(denied), status)
}

/** One permission of RBAC: a verb on a resource of an API group, in a namespace or cluster-wide. */
export interface Permission {
  readonly verb: string
  /** '' for the core group. */
  readonly group: string
  readonly resource: string
  readonly namespace?: string
  /** Who was refused, when the server said. */
  readonly user?: string
}

/** `forbidden: "x" may not patch externalsecrets.external-secrets.io in namespace "apps". Grant ...` */
export function forbiddenMessage({ verb, group, resource, namespace, user }: Permission): string {
  const who = user ? `"${user}"` : 'the identity of the kubeconfig'
  const qualified = group ? `${resource}.${group}` : resource
  const scope = namespace ? `in namespace "${namespace}"` : 'at the cluster scope'
  const binding = namespace
    ? `a Role in namespace "${namespace}" and a RoleBinding`
    : 'a ClusterRole and a ClusterRoleBinding'
  return `forbidden: ${who} may not ${verb} ${qualified} ${scope}. Grant verb "${verb}" on resource "${resource}" (apiGroup "${group}") to it with ${binding}.`
}

function unreachable(code: string, call: KubeCall): KubeError {
  const server = call.server ? ` at ${call.server}` : ''
  if (TLS_CODES.has(code)) {
    return new KubeError(
      'unreachable',
      `cannot connect to the Kubernetes API server${server}: its TLS certificate was refused (${code}); check certificate-authority-data of the kubeconfig's cluster`
    )
  }
  return new KubeError(
    'unreachable',
    `cannot reach the Kubernetes API server${server} (${code}): check the server address of the kubeconfig's cluster and that the runner can reach it (private endpoint, firewall, VPN)`
  )
}

/** Failures a repeat of the same idempotent call may cure. */
export function isRetryable(error: unknown): boolean {
  return (
    error instanceof KubeError &&
    (error.kind === 'conflict' || error.kind === 'throttled' || error.kind === 'server' || error.kind === 'unreachable')
  )
}

/** The catalogue code of a Kubernetes failure. */
export function kubeErrorCode(error: unknown): ErrorCode {
  if (!(error instanceof KubeError)) return 'ZT199'
  if (error.kind === 'missing-crd') return 'ZT141'
  if (error.kind === 'forbidden') return 'ZT142'
  return 'ZT140'
}

/**
 * Runs calls to the cluster; a failure stops the run with its catalogue code, the headline saying
 * what has not happened yet (`Nothing was written`, `Nothing was annotated`).
 */
export async function stopOnKubeError<T>(operation: () => Promise<T>, notYet: string, redact: Redactor): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (error instanceof ActionError) throw error
    throw new ActionError(
      kubeErrorCode(error),
      `${notYet}: ${redact(error instanceof Error ? error.message : String(error))}`
    )
  }
}
