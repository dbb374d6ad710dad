/**
 * Kubeconfigs for the test API server: its cluster (over TLS, the server's CA inline, a CA file or another CA's
 * PEM; over plain HTTP, insecure-skip-tls-verify as before), one context with a namespace, and one user whose
 * credential is the bearer token, a client certificate, an exec credential plugin that prints the token (as
 * `aws eks get-token` does), or nothing.
 */
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import type { CertificateAuthority } from './tls.ts'

export interface KubeconfigOptions {
  /** The context's name (default `zerotouch-test`); the cluster has the same name, the user `<context>-user`. */
  context?: string
  /** The context's namespace (default `default`). */
  namespace?: string
  /** The user's credential (default `token`); `client-cert` over TLS only, `none` makes kubectl prompt for a username. */
  auth?: 'token' | 'client-cert' | 'exec' | 'none'
  /** The token that `token` and `exec` give (default the server's), e.g. a wrong one. */
  token?: string
  /** `client-cert`: the certificate's user (CN; default the server's user) and groups (O). */
  user?: string
  groups?: string[]
  /** `client-cert`: the CA that signs the certificate (default the server's), e.g. one the server does not trust. */
  issuer?: CertificateAuthority
  /** `certificate-authority`: the path of a CA file to trust instead of the server's CA inline (TLS only). */
  caFile?: string
  /** `certificate-authority-data`: this CA (PEM) to trust instead of the server's (TLS only), e.g. an unrelated CA. */
  caData?: string
}

/** What a kubeconfig needs to know of the server. */
export interface KubeconfigTarget {
  url: string
  token: string
  user: string
  /** Absent without TLS. */
  ca: CertificateAuthority | undefined
}

const EXEC_PLUGIN = fileURLToPath(new URL('exec-credential.mjs', import.meta.url))

const base64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64')

export function kubeconfigFor(target: KubeconfigTarget, options: KubeconfigOptions): string {
  const { context = 'zerotouch-test', namespace = 'default', caFile, caData } = options
  const { ca } = target
  if (!ca && (caFile !== undefined || caData !== undefined || options.auth === 'client-cert')) {
    throw new Error('CA files, CA data and client certificates need a server started with tls')
  }
  const trust = !ca
    ? { 'insecure-skip-tls-verify': true }
    : caFile !== undefined
      ? { 'certificate-authority': caFile }
      : { 'certificate-authority-data': base64(caData ?? ca.cert) }
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: context, cluster: { server: target.url, ...trust } }],
    users: [{ name: `${context}-user`, user: credential(target, options) }],
    contexts: [{ name: context, context: { cluster: context, user: `${context}-user`, namespace } }],
    'current-context': context
  })
}

function credential(
  target: KubeconfigTarget,
  { auth = 'token', token = target.token, user = target.user, groups, issuer }: KubeconfigOptions
): Record<string, unknown> {
  switch (auth) {
    case 'token':
      return { token }
    case 'exec':
      return {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: 'node',
          args: [EXEC_PLUGIN, token],
          interactiveMode: 'Never'
        }
      }
    case 'client-cert': {
      const { cert, key } = (issuer ?? target.ca!).clientCertificate(user, groups)
      return { 'client-certificate-data': base64(cert), 'client-key-data': base64(key) }
    }
    case 'none':
      return {}
  }
}
