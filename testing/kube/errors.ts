/** API errors as the real API server reports them: a `Status` object with code, reason and message. */

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  causes?: { reason: string; message: string; field: string }[]
  retryAfterSeconds?: number
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout'
}

function reasonFor(code: number): string {
  return REASONS[code] ?? 'Unknown'
}

export class ApiError extends Error {
  readonly code: number
  readonly reason: string
  readonly details: StatusDetails | undefined

  constructor(code: number, message: string, reason: string = reasonFor(code), details?: StatusDetails) {
    super(message)
    this.code = code
    this.reason = reason
    this.details = details
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code
    }
  }
}

/** What a request is about, in the words of the API server's authorizer. */
export interface Target {
  group: string
  resource: string
  name?: string
}

export interface RequestAttributes extends Target {
  verb: string
  subresource?: string
  namespace?: string
}

/** `externalsecrets.external-secrets.io` or, for the core group, just `secrets`. */
function qualifiedResource({ group, resource }: Target): string {
  return group ? `${resource}.${group}` : resource
}

function detailsOf(target: Target): StatusDetails {
  return {
    ...(target.name ? { name: target.name } : {}),
    ...(target.group ? { group: target.group } : {}),
    kind: target.resource
  }
}

function subject(target: Target): string {
  return target.name ? `${qualifiedResource(target)} "${target.name}"` : qualifiedResource(target)
}

export function notFound(target: Target): ApiError {
  return new ApiError(404, `${subject(target)} not found`, 'NotFound', detailsOf(target))
}

export function unknownResource(): ApiError {
  return new ApiError(404, 'the server could not find the requested resource', 'NotFound', {})
}

export function conflict(target: Target): ApiError {
  return new ApiError(
    409,
    `Operation cannot be fulfilled on ${subject(target)}: the object has been modified; please apply your changes to the latest version and try again`,
    'Conflict',
    detailsOf(target)
  )
}

/**
 * The authorizer's refusal, word for word, e.g. `externalsecrets.external-secrets.io "x" is forbidden: User
 * "system:serviceaccount:ci:deployer" cannot patch resource "externalsecrets" in API group "external-secrets.io" in the
 * namespace "payments"`.
 */
export function forbidden(request: RequestAttributes, user: string): ApiError {
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource
  const scope = request.namespace ? `in the namespace "${request.namespace}"` : 'at the cluster scope'
  const message = `${subject(request)} is forbidden: User "${user}" cannot ${request.verb} resource "${resource}" in API group "${request.group}" ${scope}`
  return new ApiError(403, message, 'Forbidden', detailsOf(request))
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized')
}

/** Validation's 422 for a field left out (null) that must be set, e.g. `SelfSubjectAccessReview.authorization.k8s.io "" is invalid: ...`. */
export function invalid(kind: { group: string; kind: string }, field: string, message: string): ApiError {
  const cause = `Invalid value: "null": ${message}`
  return new ApiError(422, `${kind.kind}.${kind.group} "" is invalid: ${field}: ${cause}`, 'Invalid', {
    group: kind.group,
    kind: kind.kind,
    causes: [{ reason: 'FieldValueInvalid', message: cause, field }]
  })
}

/** ValidatePatchOptions' 422 (k8s.io/apimachinery `pkg/apis/meta/v1/validation/validation.go`). */
export function patchOptionsInvalid(field: string, reason: 'Forbidden' | 'Required', message: string): ApiError {
  const cause = `${reason === 'Required' ? 'Required value' : 'Forbidden'}: ${message}`
  return new ApiError(422, `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${cause}`, 'Invalid', {
    group: 'meta.k8s.io',
    kind: 'PatchOptions',
    causes: [{ reason: `FieldValue${reason}`, message: cause, field }]
  })
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, message, 'BadRequest')
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'the server does not allow this method on the requested resource', 'MethodNotAllowed', {})
}

export function unsupportedPatch(
  contentType: string,
  accepted: readonly string[] = ['application/json-patch+json', 'application/merge-patch+json']
): ApiError {
  return new ApiError(
    415,
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')} (got "${contentType}")`,
    'UnsupportedMediaType'
  )
}

export function expired(resourceVersion: string, oldest: number): ApiError {
  return new ApiError(410, `too old resource version: ${resourceVersion} (${oldest})`, 'Expired')
}

const INJECTED_MESSAGES: Record<number, string> = {
  403: 'forbidden',
  409: 'the object has been modified; please apply your changes to the latest version and try again',
  429: 'Too many requests, please try again later.',
  500: 'Internal error occurred: injected fault',
  503: 'the server is currently unable to handle the request',
  504: 'the server was unable to return a response in the time allotted, but may still be processing the request'
}

/** A fault injected by a test. Without a message, it says what the real server says for that code. */
export function injected(
  code: number,
  request: RequestAttributes | undefined,
  user: string,
  message?: string
): ApiError {
  if (message === undefined && request) {
    if (code === 403) return forbidden(request, user)
    if (code === 404) return notFound(request)
    if (code === 409) return conflict(request)
  }
  if (message === undefined && code === 404) return unknownResource()
  const details = code === 429 ? { retryAfterSeconds: 1 } : undefined
  return new ApiError(code, message ?? INJECTED_MESSAGES[code] ?? `injected fault ${code}`, reasonFor(code), details)
}
