import { describe, expect, it } from '@jest/globals'
import { isRetryable, KubeError, parseForbidden, toKubeError } from '../../src/k8s/errors.js'

const patch = {
  verb: 'patch',
  resource: 'externalsecrets.external-secrets.io',
  namespace: 'apps',
  server: 'https://k8s.example:6443'
}

function apiException(code: number, body: unknown) {
  return Object.assign(new Error(`HTTP-Code: ${code}`), {
    code,
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
}

describe('toKubeError', () => {
  it('names the verb, resource and namespace the identity lacks, from the 403 Status', () => {
    const status = {
      kind: 'Status',
      code: 403,
      reason: 'Forbidden',
      message:
        'externalsecrets.external-secrets.io "api" is forbidden: User "system:serviceaccount:ci:deployer" cannot patch resource "externalsecrets" in API group "external-secrets.io" in the namespace "apps"'
    }
    const error = toKubeError(apiException(403, status), patch)
    expect(error.kind).toBe('forbidden')
    expect(error.message).toBe(
      'forbidden: "system:serviceaccount:ci:deployer" may not patch externalsecrets.external-secrets.io in namespace "apps". Grant verb "patch" on resource "externalsecrets" (apiGroup "external-secrets.io") to it with a Role in namespace "apps" and a RoleBinding.'
    )
  })

  it('reads the verb from the message, not from what was attempted', () => {
    const message =
      'events is forbidden: User "u" cannot watch resource "events" in API group "" in the namespace "web"'
    const error = toKubeError(apiException(403, { message }), { verb: 'list', resource: 'events', namespace: 'web' })
    expect(error.message).toMatch(
      /^forbidden: "u" may not watch events in namespace "web"\. Grant verb "watch" on resource "events" \(apiGroup ""\)/
    )
  })

  it('handles a cluster-scope and a non-resource 403', () => {
    expect(
      toKubeError(
        apiException(403, {
          message: 'User "u" cannot list resource "namespaces" in API group "" at the cluster scope'
        }),
        patch
      ).message
    ).toMatch(/may not list namespaces at the cluster scope\. .* a ClusterRole and a ClusterRoleBinding/)
    expect(
      toKubeError(
        apiException(403, { message: 'forbidden: User "u" cannot get path "/apis/external-secrets.io"' }),
        patch
      ).message
    ).toBe(
      'forbidden: "u" may not get path "/apis/external-secrets.io". Grant verb "get" on nonResourceURLs "/apis/external-secrets.io" to it with a ClusterRole and a ClusterRoleBinding.'
    )
  })

  it('falls back to what was attempted when the 403 says nothing usable', () => {
    expect(toKubeError(apiException(403, ''), patch).message).toBe(
      'forbidden: the identity of the kubeconfig may not patch externalsecrets.external-secrets.io in namespace "apps". Grant verb "patch" on resource "externalsecrets" (apiGroup "external-secrets.io") to it with a Role in namespace "apps" and a RoleBinding.'
    )
  })

  it.each([
    [401, undefined, 'unauthorized', /rejected the credentials \(401 Unauthorized\)/],
    [
      404,
      { message: 'the server could not find the requested resource' },
      'not-found',
      /not found \(404\): the server could not find/
    ],
    [409, { message: 'the object has been modified' }, 'conflict', /conflict \(409\)/],
    [410, { message: 'too old resource version' }, 'gone', /410 Gone/],
    [429, undefined, 'throttled', /throttling/],
    [503, 'upstream connect error', 'server', /failed \(503\): upstream connect error/],
    [422, { message: 'invalid' }, 'other', /failed \(422\): invalid/]
  ])('maps HTTP %p', (code, body, kind, message) => {
    const error = toKubeError(apiException(code, body), patch)
    expect(error.kind).toBe(kind)
    expect(error.message).toMatch(message)
    expect(error.status).toBe(code)
  })

  it('maps watch errors (statusCode) too', () =>
    expect(toKubeError(Object.assign(new Error('Gone'), { statusCode: 410 }), patch).kind).toBe('gone'))

  it('explains an unreachable API server with its address, from the cause of a fetch failure', () => {
    const error = toKubeError(
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })
      }),
      patch
    )
    expect(error.kind).toBe('unreachable')
    expect(error.message).toBe(
      "cannot reach the Kubernetes API server at https://k8s.example:6443 (ECONNREFUSED): check the server address of the kubeconfig's cluster and that the runner can reach it (private endpoint, firewall, VPN)"
    )
  })

  it('takes a timeout (a DOMException with its numeric legacy code) for an unreachable server, not an HTTP status', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    expect(timeout.code).toBe(23)
    expect(toKubeError(timeout, patch)).toMatchObject({ kind: 'unreachable', status: undefined })
    expect(toKubeError(Object.assign(new TypeError('fetch failed'), { cause: timeout }), patch).kind).toBe(
      'unreachable'
    )
  })

  it('explains a refused certificate', () => {
    const error = toKubeError(
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } }),
      patch
    )
    expect(error.message).toMatch(
      /TLS certificate was refused \(DEPTH_ZERO_SELF_SIGNED_CERT\); check certificate-authority-data/
    )
  })

  it('keeps other errors with what was attempted', () => {
    expect(toKubeError(new Error('boom'), patch).message).toBe(
      'patch externalsecrets.external-secrets.io in namespace "apps" failed: boom'
    )
  })

  it('passes KubeErrors through and says which are worth retrying', () => {
    const conflict = new KubeError('conflict', 'c', 409)
    expect(toKubeError(conflict, patch)).toBe(conflict)
    expect(isRetryable(conflict)).toBe(true)
    expect(isRetryable(new KubeError('unreachable', 'u'))).toBe(true)
    expect(isRetryable(new KubeError('forbidden', 'f', 403))).toBe(false)
    expect(isRetryable(new Error('x'))).toBe(false)
  })
})

describe('parseForbidden', () => {
  it('takes the message apart', () =>
    expect(
      parseForbidden(
        'User "a" cannot patch resource "externalsecrets" in API group "external-secrets.io" in the namespace "apps"'
      )
    ).toEqual({
      user: 'a',
      verb: 'patch',
      resource: 'externalsecrets',
      group: 'external-secrets.io',
      namespace: 'apps'
    }))
  it('is undefined for other text', () => expect(parseForbidden('nope')).toBeUndefined())
})
