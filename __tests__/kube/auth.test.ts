/**
 * The test API server's authentication and authorization as real clients see them: HTTPS with a CA made at start,
 * bearer tokens, client certificates (CN the user, O the groups), exec credential plugins, kubeconfigs split over
 * two files, refused CAs and credentials, namespaces that do not exist, and the self reviews (SelfSubjectReview,
 * SelfSubjectAccessReview) decided by the same RBAC rules as every request. Proven with plain HTTP requests, with
 * @kubernetes/client-node and with the real kubectl.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { AuthenticationV1Api, AuthorizationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { parse, stringify } from 'yaml'
import { request } from '../../testing/kube/client.ts'
import {
  createCertificateAuthority,
  startKubeApiServer,
  type CertificateAuthority,
  type KubeApiServer,
  type KubeconfigOptions,
  type RbacRule
} from '../../testing/kube/index.ts'
import { HAS_KUBECTL } from '../../__fixtures__/tools.ts'

if (!HAS_KUBECTL)
  console.warn(
    'kubectl is not installed: the kubectl authentication tests of the test API server are SKIPPED (install kubectl 1.32 to run them)'
  )
const itWithKubectl = HAS_KUBECTL ? it : it.skip

/** A Role in `apps` for ExternalSecrets, and reading two namespaces (a RoleBinding in a namespace covers reading it). */
const RULES: RbacRule[] = [
  {
    verbs: ['get', 'list', 'watch', 'patch'],
    apiGroups: ['external-secrets.io'],
    resources: ['externalsecrets'],
    namespaces: ['apps']
  },
  { verbs: ['get'], apiGroups: [''], resources: ['namespaces'], namespaces: ['apps', 'missing'] }
]
const SSAR_PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'
const DEPLOYER = {
  username: 'system:serviceaccount:ci:deployer',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated']
}

const ssar = (resourceAttributes: Record<string, string>) => ({
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SelfSubjectAccessReview',
  spec: { resourceAttributes }
})

let kube: KubeApiServer
let other: CertificateAuthority
let dir: string
let caFile: string

beforeAll(async () => {
  kube = await startKubeApiServer({ tls: true, rbac: RULES })
  kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } })
  other = createCertificateAuthority('unrelated-ca')
  dir = mkdtempSync(join(tmpdir(), 'kube-auth-test-'))
  caFile = file('ca.crt', kube.ca!)
})

afterAll(async () => {
  await kube?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

/** The kubeconfig as two files, as `KUBECONFIG=cluster:user` names them: the cluster and context, then the user. */
function splitKubeconfig(kubeconfig: string, name: string): string[] {
  const { users, ...rest } = parse(kubeconfig) as Record<string, unknown>
  return [
    file(`${name}.cluster`, stringify({ ...rest, users: [] })),
    file(`${name}.user`, stringify({ apiVersion: 'v1', kind: 'Config', users }))
  ]
}

/** The kubeconfig variants that work, and who the server takes the client for. */
const ACCEPTED: [string, () => string[], typeof DEPLOYER][] = [
  ['certificate-authority-data and a token (the default)', () => [file('default', kube.kubeconfig())], DEPLOYER],
  ['a certificate-authority file', () => [file('ca-file', kube.kubeconfig({ caFile }))], DEPLOYER],
  [
    'a client certificate (CN the user, O the groups)',
    () => [file('client-cert', kube.kubeconfig({ auth: 'client-cert', user: 'alice', groups: ['devs', 'ops'] }))],
    { username: 'alice', groups: ['devs', 'ops', 'system:authenticated'] }
  ],
  ['an exec credential plugin', () => [file('exec', kube.kubeconfig({ auth: 'exec' }))], DEPLOYER],
  [
    'two files, the second holding the user',
    () => splitKubeconfig(kube.kubeconfig({ auth: 'exec' }), 'split'),
    DEPLOYER
  ]
]

/** The kubeconfig variants refused, with what client-node throws and what kubectl says. */
const REFUSED: [string, () => KubeconfigOptions, { code: number } | { cause: { code: string } }, string][] = [
  [
    'a CA that did not sign the server certificate',
    () => ({ caData: other.cert }),
    { cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } },
    'Unable to connect to the server: tls: failed to verify certificate: x509: certificate signed by unknown authority'
  ],
  [
    'a wrong token',
    () => ({ token: 'wrong' }),
    { code: 401 },
    'error: You must be logged in to the server (Unauthorized)'
  ],
  [
    'an exec plugin printing a wrong token',
    () => ({ auth: 'exec', token: 'wrong' }),
    { code: 401 },
    'error: You must be logged in to the server (Unauthorized)'
  ],
  [
    'a client certificate of another CA',
    () => ({ auth: 'client-cert', user: 'mallory', issuer: other }),
    { code: 401 },
    'error: You must be logged in to the server (Unauthorized)'
  ]
]

describe('the self reviews and authentication over plain HTTP', () => {
  let rbac: KubeApiServer
  let authenticated: KubeApiServer
  let open: KubeApiServer
  beforeAll(async () => {
    ;[rbac, authenticated, open] = await Promise.all([
      startKubeApiServer({ rbac: RULES }),
      startKubeApiServer({ authenticate: true }),
      startKubeApiServer()
    ])
  })
  afterAll(async () => {
    await Promise.all([rbac, authenticated, open].map((server) => server?.close()))
  })

  it('discovers authentication.k8s.io and authorization.k8s.io as the real server shows them', async () => {
    expect((await request(rbac.url, '/apis/authorization.k8s.io/v1', { token: rbac.token })).body).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'authorization.k8s.io/v1',
      resources: [
        {
          name: 'selfsubjectaccessreviews',
          singularName: 'selfsubjectaccessreview',
          namespaced: false,
          kind: 'SelfSubjectAccessReview',
          verbs: ['create']
        }
      ]
    })
    expect((await request(rbac.url, '/apis/authentication.k8s.io', { token: rbac.token })).body).toEqual({
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: 'authentication.k8s.io',
      versions: [{ groupVersion: 'authentication.k8s.io/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'authentication.k8s.io/v1', version: 'v1' }
    })
    const aggregated = await request(rbac.url, '/apis', {
      token: rbac.token,
      accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
    })
    expect(aggregated.body).toMatchObject({
      items: [
        { metadata: { name: 'apps' } },
        { metadata: { name: 'authentication.k8s.io' } },
        {},
        { metadata: { name: 'external-secrets.io' } }
      ]
    })
    expect((aggregated.body as { items: unknown[] }).items[2]).toEqual({
      metadata: { name: 'authorization.k8s.io', creationTimestamp: null },
      versions: [
        {
          version: 'v1',
          freshness: 'Current',
          resources: [
            {
              resource: 'selfsubjectaccessreviews',
              responseKind: { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview' },
              scope: 'Cluster',
              singularResource: 'selfsubjectaccessreview',
              verbs: ['create']
            }
          ]
        }
      ]
    })
  })

  it('answers a SelfSubjectAccessReview with 201, the spec and status.allowed, to any authenticated user', async () => {
    const body = ssar({ namespace: 'apps', verb: 'patch', group: 'external-secrets.io', resource: 'externalsecrets' })
    const reply = await request(rbac.url, SSAR_PATH, {
      method: 'POST',
      contentType: 'application/json',
      body,
      token: rbac.token
    })
    expect(reply.status).toBe(201)
    expect(reply.body).toEqual({ ...body, metadata: { creationTimestamp: null }, status: { allowed: true } })
    expect(
      (await request(rbac.url, SSAR_PATH, { method: 'POST', contentType: 'application/json', body })).body
    ).toMatchObject({ code: 401, reason: 'Unauthorized' })
    expect((await request(rbac.url, SSAR_PATH, { token: rbac.token })).body).toMatchObject({
      code: 405,
      reason: 'MethodNotAllowed'
    })
  })

  it.each([
    [
      'allowed by the Role in its namespace',
      { namespace: 'apps', verb: 'patch', group: 'external-secrets.io', resource: 'externalsecrets', name: 'api' },
      true
    ],
    [
      'in another namespace',
      { namespace: 'billing', verb: 'patch', group: 'external-secrets.io', resource: 'externalsecrets' },
      false
    ],
    [
      'at the cluster scope (no namespace)',
      { verb: 'list', group: 'external-secrets.io', resource: 'externalsecrets' },
      false
    ],
    [
      'a verb no rule has',
      { namespace: 'apps', verb: 'delete', group: 'external-secrets.io', resource: 'externalsecrets' },
      false
    ],
    [
      'a subresource no rule names',
      {
        namespace: 'apps',
        verb: 'patch',
        group: 'external-secrets.io',
        resource: 'externalsecrets',
        subresource: 'status'
      },
      false
    ],
    [
      'another group',
      { namespace: 'apps', verb: 'get', group: 'external-secrets.io.evil', resource: 'externalsecrets' },
      false
    ],
    [
      'reading a namespace, in that namespace',
      { namespace: 'apps', verb: 'get', group: '', resource: 'namespaces', name: 'apps' },
      true
    ],
    [
      'reading a namespace, at the cluster scope',
      { verb: 'get', group: '', resource: 'namespaces', name: 'apps' },
      false
    ],
    [
      'creating reviews (system:basic-user)',
      { verb: 'create', group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' },
      true
    ]
  ])('decides %s by the RBAC rules', async (_case, attributes, allowed) => {
    const reply = await request(rbac.url, SSAR_PATH, {
      method: 'POST',
      contentType: 'application/json',
      body: ssar(attributes),
      token: rbac.token
    })
    expect(reply.body).toEqual(expect.objectContaining({ status: { allowed } }))
  })

  it('decides non-resource paths, and refuses a review with neither kind of attributes (422) or another API version (400)', async () => {
    const review = (spec: unknown, apiVersion = 'authorization.k8s.io/v1') =>
      request(rbac.url, SSAR_PATH, {
        method: 'POST',
        contentType: 'application/json',
        body: { apiVersion, kind: 'SelfSubjectAccessReview', spec },
        token: rbac.token
      })
    expect((await review({ nonResourceAttributes: { path: '/apis', verb: 'get' } })).body).toEqual(
      expect.objectContaining({ status: { allowed: true } })
    )
    expect((await review({ nonResourceAttributes: { path: '/apis', verb: 'post' } })).body).toEqual(
      expect.objectContaining({ status: { allowed: false } })
    )
    expect((await review({})).body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
      reason: 'Invalid',
      details: {
        group: 'authorization.k8s.io',
        kind: 'SelfSubjectAccessReview',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message:
              'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
            field: 'spec.resourceAttributes'
          }
        ]
      },
      code: 422
    })
    expect((await review({ resourceAttributes: { verb: 'get' } }, 'authorization.k8s.io/v1beta1')).body).toMatchObject({
      code: 400,
      message:
        'the API version in the data (authorization.k8s.io/v1beta1) does not match the expected API version (authorization.k8s.io/v1)'
    })
  })

  it('fails a review on demand, like any request', async () => {
    rbac.faults.failNext({ status: 500, verb: 'create', resource: 'selfsubjectaccessreviews' })
    const failed = await request(rbac.url, SSAR_PATH, {
      method: 'POST',
      contentType: 'application/json',
      body: ssar({ verb: 'get', resource: 'secrets' }),
      token: rbac.token
    })
    expect(failed.body).toMatchObject({ code: 500, message: 'Internal error occurred: injected fault' })
  })

  it('requires the token with authenticate but no rules, then allows everything; without either, anything goes', async () => {
    const attempt = (server: KubeApiServer, token?: string) =>
      request(server.url, SSAR_PATH, {
        method: 'POST',
        contentType: 'application/json',
        body: ssar({ namespace: 'x', verb: 'delete', resource: 'secrets' }),
        token
      })
    expect((await attempt(authenticated)).status).toBe(401)
    expect((await attempt(authenticated, 'wrong')).status).toBe(401)
    expect((await attempt(authenticated, authenticated.token)).body).toEqual(
      expect.objectContaining({ status: { allowed: true } })
    )
    expect((await attempt(open, 'wrong')).body).toEqual(expect.objectContaining({ status: { allowed: true } }))
    expect((await request(authenticated.url, '/api/v1/namespaces/default')).status).toBe(401)
  })

  it('answers 404 NotFound for a namespace that does not exist, and creates the namespaces of applied objects', async () => {
    const missing = await request(open.url, '/api/v1/namespaces/missing')
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'namespaces "missing" not found',
      reason: 'NotFound',
      details: { name: 'missing', kind: 'namespaces' },
      code: 404
    })
    open.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'later' } })
    expect((await request(open.url, '/api/v1/namespaces/later')).body).toMatchObject({ status: { phase: 'Active' } })
    expect((await request(open.url, '/api/v1/namespaces')).body).toMatchObject({
      items: ['default', 'kube-system', 'later'].map((name) => ({ metadata: { name } }))
    })
  })
})

describe('@kubernetes/client-node over TLS', () => {
  const clientFor = (files: string[]): KubeConfig => {
    const previous = process.env.KUBECONFIG
    process.env.KUBECONFIG = files.join(delimiter)
    try {
      const kc = new KubeConfig()
      kc.loadFromDefault()
      return kc
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG
      else process.env.KUBECONFIG = previous
    }
  }
  const canPatch = (kc: KubeConfig, namespace: string) =>
    kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: ssar({ namespace, verb: 'patch', group: 'external-secrets.io', resource: 'externalsecrets' })
    })

  it.each(ACCEPTED)(
    'with %s: reads a namespace, reviews access, and is who the server says',
    async (_case, files, user) => {
      const kc = clientFor(files())
      expect((await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'apps' })).metadata?.name).toBe('apps')
      const [allowed, denied] = await Promise.all([canPatch(kc, 'apps'), canPatch(kc, 'billing')])
      expect([allowed.status, denied.status]).toEqual([{ allowed: true }, { allowed: false }])
      const whoami = await kc
        .makeApiClient(AuthenticationV1Api)
        .createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } })
      expect(whoami.status?.userInfo).toEqual(user)
    }
  )

  it('gets 404 NotFound with the Status for a namespace that does not exist', async () => {
    const kc = new KubeConfig()
    kc.loadFromString(kube.kubeconfig())
    const error = (await kc
      .makeApiClient(CoreV1Api)
      .readNamespace({ name: 'missing' })
      .catch((caught: unknown) => caught)) as { code: number; body: string }
    expect(error.code).toBe(404)
    expect(JSON.parse(error.body)).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'namespaces "missing" not found',
      code: 404
    })
  })

  it.each(REFUSED)('is refused with %s', async (_case, options, expected) => {
    const kc = new KubeConfig()
    kc.loadFromString(kube.kubeconfig(options()))
    await expect(canPatch(kc, 'apps')).rejects.toMatchObject(expected)
  })

  it('is refused without credentials (401), even for a review', async () => {
    const kc = new KubeConfig()
    kc.loadFromString(kube.kubeconfig({ auth: 'none' }))
    await expect(canPatch(kc, 'apps')).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('Unauthorized')
    })
  })
})

describe('kubectl 1.32 over TLS', () => {
  /** Runs the real kubectl with KUBECONFIG naming the files; never throws, for the failures are the point. */
  async function kubectl(
    files: string[],
    ...args: string[]
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, KUBECONFIG: files.join(delimiter) }
    try {
      const { stdout, stderr } = await promisify(execFile)('kubectl', ['--cache-dir', join(dir, 'cache'), ...args], {
        timeout: 30_000,
        env
      })
      return { code: 0, stdout, stderr }
    } catch (error) {
      const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string }
      return { code, stdout, stderr }
    }
  }

  /** kubectl creates reviews in protobuf, as client-go does for built-in types; the server decodes it. */
  const lastPost = () => kube.requests.findLast((r) => r.method === 'POST')

  itWithKubectl.each(ACCEPTED)('with %s: `auth whoami` names the user', async (_case, files, user) => {
    const { code, stdout, stderr } = await kubectl(files(), 'auth', 'whoami', '-o', 'json')
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(JSON.parse(stdout)).toEqual({
      kind: 'SelfSubjectReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      status: { userInfo: user }
    })
    expect(lastPost()).toMatchObject({
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      contentType: 'application/vnd.kubernetes.protobuf',
      status: 201
    })
  })

  // `get --raw` skips discovery: with discovery, kubectl first logs each failed attempt (memcache.go) and says a 401
  // is "the server has asked for the client to provide credentials".
  itWithKubectl.each(REFUSED)('is refused with %s', async (_case, options, _clientNode, message) => {
    const { code, stderr } = await kubectl(
      [file('refused', kube.kubeconfig(options()))],
      'get',
      '--raw',
      '/api/v1/namespaces/apps'
    )
    expect({ code, stderr: stderr.trim() }).toEqual({ code: 1, stderr: message })
  })

  itWithKubectl.each([
    [['patch', 'externalsecrets.external-secrets.io', '-n', 'apps'], 'yes', 0],
    [['patch', 'externalsecrets.external-secrets.io', '-n', 'billing'], 'no', 1],
    [['patch', 'externalsecrets.external-secrets.io', '--subresource', 'status', '-n', 'apps'], 'no', 1],
    [['list', 'externalsecrets.external-secrets.io', '--all-namespaces'], 'no', 1],
    [['get', 'namespaces/apps', '-n', 'apps'], 'yes', 0],
    [['create', 'selfsubjectaccessreviews.authorization.k8s.io'], 'yes', 0]
  ])('`auth can-i %j` says %s (exit %d)', async (args, answer, exitCode) => {
    const { code, stdout } = await kubectl(
      [file('can-i', kube.kubeconfig({ auth: 'client-cert', user: 'alice' }))],
      'auth',
      'can-i',
      ...args
    )
    expect({ code, stdout: stdout.trim() }).toEqual({ code: exitCode, stdout: answer })
    expect(lastPost()).toMatchObject({
      path: SSAR_PATH,
      contentType: 'application/vnd.kubernetes.protobuf',
      status: 201
    })
  })

  itWithKubectl.each([
    ['apps', 0, 'namespace/apps', ''],
    ['missing', 1, '', 'Error from server (NotFound): namespaces "missing" not found'],
    [
      'billing',
      1,
      '',
      'Error from server (Forbidden): namespaces "billing" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource "namespaces" in API group "" in the namespace "billing"'
    ]
  ])('`get namespace %s` exits %d', async (name, exitCode, stdout, stderr) => {
    const result = await kubectl([file('namespaces', kube.kubeconfig())], 'get', 'namespace', name, '-o', 'name')
    expect({ ...result, stdout: result.stdout.trim(), stderr: result.stderr.trim() }).toEqual({
      code: exitCode,
      stdout,
      stderr
    })
  })
})
