import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { chooseVersion } from '../../src/eso/api.js'
import { loadKubeConfig } from '../../src/k8s/client.js'
import { InputProblem } from '../../src/errors.js'
import { kubeconfigCredentials, kubeconfigSource } from '../../src/k8s/kubeconfig.js'

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: ci
clusters:
  - name: prod
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: Q0EgREFUQQ==
contexts:
  - name: ci
    context: { cluster: prod, user: deployer }
  - name: admin
    context: { cluster: prod, user: admin }
users:
  - name: deployer
    user:
      token: eyJhbGciOiJSUzI1NiJ9.secret-token
  - name: admin
    user:
      client-certificate-data: Q0VSVCBEQVRB
      client-key-data: S0VZIERBVEE=
      username: admin
      password: hunter2-password
  - name: oidc
    user:
      auth-provider:
        name: oidc
        config:
          client-id: my-client
          client-secret: oidc-client-secret
          id-token: oidc-id-token
          refresh-token: oidc-refresh-token
          idp-issuer-url: https://issuer.example
  - name: exec
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: get-token
        args: ["--cluster", "prod", "--token=exec-arg-token", "--client-secret", "exec-arg-secret"]
        env:
          - name: AWS_SECRET_ACCESS_KEY
            value: exec-env-secret
`

const dir = mkdtempSync(join(tmpdir(), 'k8s-kubeconfig-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('kubeconfigCredentials', () => {
  it('finds every credential field, and nothing that is not one', () => {
    expect(kubeconfigCredentials(KUBECONFIG).sort()).toEqual(
      [
        'eyJhbGciOiJSUzI1NiJ9.secret-token',
        'Q0VSVCBEQVRB',
        'S0VZIERBVEE=',
        'hunter2-password',
        'oidc-client-secret',
        'oidc-id-token',
        'oidc-refresh-token',
        'exec-arg-token',
        'exec-arg-secret',
        'exec-env-secret'
      ].sort()
    )
  })
  it('is empty for text that is not YAML or has no users', () => {
    expect(kubeconfigCredentials('{{{')).toEqual([])
    expect(kubeconfigCredentials('kind: Config')).toEqual([])
  })
})

describe('kubeconfigSource', () => {
  const exists = (files: string[]) => (path: string) => files.includes(path)
  it('prefers the content, then KUBECONFIG, then ~/.kube/config, then in-cluster', () => {
    expect(kubeconfigSource('x: y', { KUBECONFIG: '/a' }, '/home/u', exists(['/a']))).toEqual({
      kind: 'content',
      content: 'x: y'
    })
    expect(
      kubeconfigSource('  ', { KUBECONFIG: '/a:/missing:/b' }, '/home/u', exists(['/a', '/b', '/home/u/.kube/config']))
    ).toEqual({ kind: 'files', files: ['/a', '/b'] })
    expect(kubeconfigSource('', {}, '/home/u', exists(['/home/u/.kube/config']))).toEqual({
      kind: 'files',
      files: ['/home/u/.kube/config']
    })
    expect(
      kubeconfigSource(
        '',
        { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
        '/home/u',
        exists([])
      )
    ).toEqual({ kind: 'in-cluster' })
    expect(kubeconfigSource('', {}, undefined, exists([]))).toEqual({ kind: 'none' })
  })
})

describe('loadKubeConfig', () => {
  it('masks the content and every credential before it is parsed, then uses the current context', () => {
    const masked: string[] = []
    const kc = loadKubeConfig({ kubeconfig: KUBECONFIG, context: '', mask: (value) => masked.push(value), env: {} })
    expect(masked[0]).toBe(KUBECONFIG)
    expect(masked).toEqual(
      expect.arrayContaining([
        'eyJhbGciOiJSUzI1NiJ9.secret-token',
        'hunter2-password',
        'S0VZIERBVEE=',
        'oidc-refresh-token',
        'exec-env-secret'
      ])
    )
    expect(kc.getCurrentContext()).toBe('ci')
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443')
  })

  it('switches to kube-context', () => {
    const kc = loadKubeConfig({ kubeconfig: KUBECONFIG, context: 'admin', mask: () => undefined, env: {} })
    expect(kc.getCurrentUser()?.name).toBe('admin')
  })

  it('names the contexts available when kube-context is unknown', () => {
    expect(() =>
      loadKubeConfig({ kubeconfig: KUBECONFIG, context: 'staging', mask: () => undefined, env: {} })
    ).toThrow(
      new InputProblem('kube-context', 'the kubeconfig has no context "staging"; available contexts: "ci", "admin"')
    )
  })

  it('asks for kube-context when there is no current-context', () => {
    const content = KUBECONFIG.replace('current-context: ci\n', '')
    expect(() => loadKubeConfig({ kubeconfig: content, context: '', mask: () => undefined, env: {} })).toThrow(
      /^kube-context: the kubeconfig has no current-context: set kube-context to one of: "ci", "admin"/
    )
  })

  it('reads KUBECONFIG files, masking them too, and says when there is no kubeconfig at all', () => {
    const file = join(dir, 'config')
    writeFileSync(file, KUBECONFIG)
    const masked: string[] = []
    const kc = loadKubeConfig({
      kubeconfig: '',
      context: '',
      mask: (value) => masked.push(value),
      env: { KUBECONFIG: file },
      home: join(dir, 'nohome')
    })
    expect(kc.getCurrentContext()).toBe('ci')
    expect(masked).toContain('eyJhbGciOiJSUzI1NiJ9.secret-token')

    mkdirSync(join(dir, 'home', '.kube'), { recursive: true })
    writeFileSync(
      join(dir, 'home', '.kube', 'config'),
      KUBECONFIG.replace('current-context: ci', 'current-context: admin')
    )
    expect(
      loadKubeConfig({
        kubeconfig: '',
        context: '',
        mask: () => undefined,
        env: {},
        home: join(dir, 'home')
      }).getCurrentContext()
    ).toBe('admin')

    expect(() =>
      loadKubeConfig({ kubeconfig: '', context: '', mask: () => undefined, env: {}, home: join(dir, 'nohome') })
    ).toThrow(/^kubeconfig: no kubeconfig: set the kubeconfig input/)
  })

  it('says when the kubeconfig is not YAML, without quoting it', () => {
    expect(() =>
      loadKubeConfig({ kubeconfig: 'users: [ { token: s3cr3t', context: '', mask: () => undefined, env: {} })
    ).toThrow(new InputProblem('kubeconfig', 'the input is not valid YAML'))
  })

  it('merges KUBECONFIG files as kubectl does: the first to name a thing or set current-context wins', () => {
    const clusters = join(dir, 'clusters.yaml')
    const users = join(dir, 'users.yaml')
    writeFileSync(
      clusters,
      'apiVersion: v1\nkind: Config\nclusters: [{ name: ci, cluster: { server: "https://first:6443", certificate-authority: ca.pem } }]\ncontexts: [{ name: ci, context: { cluster: ci, user: ci } }]\n'
    )
    writeFileSync(
      users,
      'apiVersion: v1\nkind: Config\ncurrent-context: ci\nclusters: [{ name: ci, cluster: { server: "https://second:6443" } }]\nusers: [{ name: ci, user: { token: from-second-file } }]\n'
    )
    const masked: string[] = []
    const kc = loadKubeConfig({
      kubeconfig: '',
      context: '',
      mask: (value) => masked.push(value),
      env: { KUBECONFIG: `${clusters}:${users}` }
    })
    expect(kc.getCurrentContext()).toBe('ci')
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://first:6443', caFile: join(dir, 'ca.pem') })
    expect(kc.getCurrentUser()?.token).toBe('from-second-file')
    expect(masked).toContain('from-second-file')
  })

  it('refuses kube-context without a kubeconfig, in a cluster', () => {
    expect(() =>
      loadKubeConfig({
        kubeconfig: '',
        context: 'prod',
        mask: () => undefined,
        env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
        home: join(dir, 'nohome')
      })
    ).toThrow(
      new InputProblem(
        'kube-context',
        '"prod" cannot be used: there is no kubeconfig, only the in-cluster service account'
      )
    )
  })
})

describe('chooseVersion', () => {
  it.each([
    [{ versions: [{ version: 'v1' }, { version: 'v1beta1' }], preferredVersion: { version: 'v1' } }, 'v1'],
    [{ versions: [{ version: 'v1beta1' }], preferredVersion: { version: 'v1beta1' } }, 'v1beta1'],
    [
      { versions: [{ version: 'v1alpha1' }, { version: 'v1beta1' }], preferredVersion: { version: 'v1alpha1' } },
      'v1beta1'
    ]
  ])('picks %p', (group, version) => expect(chooseVersion(group)).toBe(version))

  it('refuses a group without ExternalSecret versions', () => {
    expect(() =>
      chooseVersion({ versions: [{ version: 'v1alpha1' }], preferredVersion: { version: 'v1alpha1' } })
    ).toThrow(/serves only external-secrets\.io\/v1alpha1, without ExternalSecret v1 or v1beta1/)
  })
})
