/**
 * Optional authentication and RBAC. Without rules, every request is allowed (any token or none). With rules, a
 * request needs `Authorization: Bearer <token>` (else 401) and must be allowed by some rule (else the authorizer's
 * 403). Discovery and other non-resource paths are open to any authenticated user, as `system:discovery` is.
 */
import { forbidden, unauthorized, type RequestAttributes } from './errors.ts'

export interface RbacRule {
  /** get, list, watch, patch or '*'. */
  verbs: string[]
  /** e.g. 'externalsecrets', 'externalsecrets/status', 'events' or '*'. */
  resources: string[]
  /** Default: any group. */
  apiGroups?: string[]
  /** Like RoleBindings in these namespaces; absent means a ClusterRoleBinding (every namespace and cluster scope). */
  namespaces?: string[]
  /** Default: any name. */
  resourceNames?: string[]
}

export interface AuthOptions {
  token: string
  user: string
  rbac: RbacRule[] | undefined
}

const anyOf = (allowed: string[] | undefined, value: string) => allowed === undefined || allowed.includes('*') || allowed.includes(value)

export function authenticate(options: AuthOptions, authorization: string | undefined): void {
  if (options.rbac && authorization !== `Bearer ${options.token}`) throw unauthorized()
}

export function authorize(options: AuthOptions, request: RequestAttributes): void {
  if (!options.rbac) return
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource
  const allowed = options.rbac.some(
    (rule) =>
      anyOf(rule.verbs, request.verb) &&
      anyOf(rule.resources, resource) &&
      anyOf(rule.apiGroups, request.group) &&
      (rule.namespaces === undefined || (request.namespace !== undefined && anyOf(rule.namespaces, request.namespace))) &&
      (rule.resourceNames === undefined || (request.name !== undefined && rule.resourceNames.includes(request.name)))
  )
  if (!allowed) throw forbidden(request, options.user)
}
