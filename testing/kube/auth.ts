/**
 * Authentication and optional RBAC. A request is from the user of a client certificate the server's CA signed (CN
 * the name, O the groups) or, with `Authorization: Bearer <token>`, from the token's user. When authentication is
 * required (by default, with RBAC rules), a request with neither, a wrong token or a certificate of another CA is a
 * 401; otherwise it counts as the token's user. Without rules every request is allowed; with rules, a request must be
 * allowed by one of them (else the authorizer's 403); the rules bind every authenticated user. Discovery and other
 * non-resource paths are open to any authenticated user, as `system:discovery` is, and so are the self reviews, as
 * `system:basic-user` allows.
 */
import type { X509Certificate } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { forbidden, unauthorized, type RequestAttributes } from './errors.ts'

export interface RbacRule {
  /** get, list, watch, patch, create or '*'. */
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
  /** Whether a request without valid credentials is a 401. */
  required: boolean
  /** With TLS, the CA whose client certificates are accepted. */
  clientCa: X509Certificate | undefined
}

/** The user as the API server's authenticators report it (`kubectl auth whoami`). */
export interface UserInfo {
  username: string
  groups: string[]
}

/** The system:basic-user ClusterRole, bound to system:authenticated in every cluster. */
const BASIC_USER: RbacRule[] = [
  { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'] },
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] }
]

const anyOf = (allowed: string[] | undefined, value: string) =>
  allowed === undefined || allowed.includes('*') || allowed.includes(value)

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

export function authenticate(options: AuthOptions, req: IncomingMessage): UserInfo {
  const socket = req.socket as Partial<TLSSocket>
  const certificate = socket.getPeerX509Certificate?.()
  if (certificate && options.clientCa && verified(certificate, options.clientCa)) {
    const { CN, O } = socket.getPeerCertificate!().subject
    return { username: [CN].flat()[0] ?? '', groups: [...[O ?? []].flat(), 'system:authenticated'] }
  }
  if (options.required && req.headers.authorization !== `Bearer ${options.token}`) throw unauthorized()
  return tokenUser(options.user)
}

/**
 * Verified here, not by the TLS server: a server that trusts the CA also sends it with its own certificate, which
 * a real API server does not (a client that trusts another CA then sees a leaf it cannot verify, not a self-signed CA).
 */
function verified(certificate: X509Certificate, ca: X509Certificate): boolean {
  const now = Date.now()
  return (
    certificate.checkIssued(ca) &&
    certificate.verify(ca.publicKey) &&
    Date.parse(certificate.validFrom) <= now &&
    now <= Date.parse(certificate.validTo) &&
    (certificate.keyUsage?.includes(CLIENT_AUTH) ?? true)
  )
}

/** A service account's token carries its groups; any other token, just system:authenticated. */
function tokenUser(username: string): UserInfo {
  const serviceAccount = /^system:serviceaccount:([^:]+):[^:]+$/.exec(username)
  const groups = serviceAccount ? ['system:serviceaccounts', `system:serviceaccounts:${serviceAccount[1]}`] : []
  return { username, groups: [...groups, 'system:authenticated'] }
}

/** What RBAC decides (with no rules, everything is allowed). */
export function allows(options: AuthOptions, request: RequestAttributes): boolean {
  if (!options.rbac) return true
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource
  return [...options.rbac, ...BASIC_USER].some(
    (rule) =>
      anyOf(rule.verbs, request.verb) &&
      anyOf(rule.resources, resource) &&
      anyOf(rule.apiGroups, request.group) &&
      (rule.namespaces === undefined ||
        (request.namespace !== undefined && anyOf(rule.namespaces, request.namespace))) &&
      (rule.resourceNames === undefined || (request.name !== undefined && rule.resourceNames.includes(request.name)))
  )
}

export function authorize(options: AuthOptions, user: UserInfo, request: RequestAttributes): void {
  if (!allows(options, request)) throw forbidden(request, user.username)
}
