/** Fault injection: the next matching requests fail with a chosen status, before authorization and handling. */
import type { RequestAttributes } from './errors.ts'

export interface FaultSpec {
  /** HTTP status to answer, e.g. 403, 409, 429, 500, 503. */
  status: number
  /** HTTP method (GET, PATCH...). */
  method?: string
  /** API verb: get, list, watch, patch or create. */
  verb?: string
  /** `externalsecrets`, `externalsecrets/status`, `events`, `selfsubjectaccessreviews`... (a subresource must be named to match). */
  resource?: string
  namespace?: string
  name?: string
  /** Exact URL path, for discovery requests such as `/apis`. */
  path?: string
  /** How many matching requests fail (default 1; Infinity for all). */
  count?: number
  /** Status message; default: the real server's text for that status. */
  message?: string
}

export interface FaultRequest {
  method: string
  path: string
  attributes: RequestAttributes | undefined
}

export class Faults {
  readonly #pending: { spec: FaultSpec; remaining: number }[] = []

  failNext(spec: FaultSpec): void {
    this.#pending.push({ spec, remaining: spec.count ?? 1 })
  }

  clear(): void {
    this.#pending.length = 0
  }

  /** Faults not yet used up. */
  get pending(): number {
    return this.#pending.length
  }

  /** The first fault that matches, counted as used once. */
  take(request: FaultRequest): FaultSpec | undefined {
    const index = this.#pending.findIndex(({ spec }) => matches(spec, request))
    if (index < 0) return undefined
    const fault = this.#pending[index]
    if (--fault.remaining <= 0) this.#pending.splice(index, 1)
    return fault.spec
  }
}

function matches(spec: FaultSpec, { method, path, attributes }: FaultRequest): boolean {
  if (spec.method && spec.method.toUpperCase() !== method) return false
  if (spec.path && spec.path !== path) return false
  const resourceFields = [spec.verb, spec.resource, spec.namespace, spec.name]
  if (!attributes) return resourceFields.every((field) => field === undefined)
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource
  return (
    (spec.verb === undefined || spec.verb === attributes.verb) &&
    (spec.resource === undefined || spec.resource === resource) &&
    (spec.namespace === undefined || spec.namespace === attributes.namespace) &&
    (spec.name === undefined || spec.name === attributes.name)
  )
}
