import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from '@jest/globals'
import { stringify } from 'yaml'
import { clusterApi } from '../../src/cluster.js'
import { createKubeClient, type KubeApiOptions } from '../../src/k8s/client.js'
import { KubeError } from '../../src/k8s/errors.js'

/** The client-node connection and the run's calls on it, against a bare loopback server: what goes over the wire, and what comes back. */

const createKubeApi = (options: KubeApiOptions) => clusterApi(createKubeClient(options))

let server: Server | undefined
const seen: Array<{ method: string; url: string; contentType?: string; authorization?: string; body: string }> = []

afterEach(async () => {
  seen.length = 0
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body
      })
      handler(req, res, body)
    })
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'test',
    clusters: [{ name: 'test', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'test', user: { token: 'the-token' } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }]
  })
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(body))
}

const ref = { version: 'v1', namespace: 'apps', labelSelector: 'zerotouch.io/managed=true' }

describe('createKubeApi', () => {
  it('discovers the preferred version of external-secrets.io with the bearer token', async () => {
    const kubeconfig = await serve((_req, res) =>
      json(res, 200, {
        kind: 'APIGroup',
        name: 'external-secrets.io',
        versions: [{ version: 'v1' }, { version: 'v1beta1' }],
        preferredVersion: { version: 'v1' }
      })
    )
    const api = createKubeApi({ kubeconfig, context: '', mask: () => undefined })
    expect(await api.discoverVersion()).toBe('v1')
    expect(seen[0]).toMatchObject({
      method: 'GET',
      url: '/apis/external-secrets.io',
      authorization: 'Bearer the-token'
    })
  })

  it('says the CRDs are missing when the group is not served', async () => {
    const kubeconfig = await serve((_req, res) =>
      json(res, 404, { kind: 'Status', code: 404, message: 'the server could not find the requested resource' })
    )
    const error = await createKubeApi({ kubeconfig, context: '', mask: () => undefined })
      .discoverVersion()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(KubeError)
    expect((error as KubeError).kind).toBe('missing-crd')
  })

  it('patches with a JSON merge patch of the one annotation', async () => {
    const kubeconfig = await serve((_req, res) =>
      json(res, 200, {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'api', namespace: 'apps' },
        status: { syncedResourceVersion: '1-a' }
      })
    )
    const patched = await createKubeApi({ kubeconfig, context: '', mask: () => undefined }).patchAnnotation(
      ref,
      'api',
      'force-sync',
      'run-1'
    )
    expect(patched.status?.syncedResourceVersion).toBe('1-a')
    expect(seen[0]).toMatchObject({
      method: 'PATCH',
      url: '/apis/external-secrets.io/v1/namespaces/apps/externalsecrets/api',
      contentType: 'application/merge-patch+json'
    })
    expect(JSON.parse(seen[0].body)).toEqual({ metadata: { annotations: { 'force-sync': 'run-1' } } })
  })

  it('gets a SecretStore in its namespace and a ClusterSecretStore at the cluster scope; a 404 is no store, a 403 names the permission', async () => {
    const kubeconfig = await serve((req, res) => {
      if (req.url?.endsWith('/gone')) return json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound' })
      if (req.url?.endsWith('/secret'))
        return json(res, 403, {
          kind: 'Status',
          code: 403,
          reason: 'Forbidden',
          message:
            'clustersecretstores.external-secrets.io "secret" is forbidden: User "ci" cannot get resource "clustersecretstores" in API group "external-secrets.io" at the cluster scope'
        })
      const name = req.url?.slice(req.url.lastIndexOf('/') + 1)
      json(res, 200, { metadata: { name }, spec: { provider: { aws: { service: 'ParameterStore', prefix: '/p/' } } } })
    })
    const kube = createKubeApi({ kubeconfig, context: '', mask: () => undefined })
    await expect(
      kube.getSecretStore('v1', { kind: 'SecretStore', namespace: 'apps', name: 'tenant' })
    ).resolves.toEqual({
      apiVersion: 'external-secrets.io/v1',
      kind: 'SecretStore',
      metadata: { name: 'tenant' },
      spec: { provider: { aws: { service: 'ParameterStore', prefix: '/p/' } } }
    })
    await expect(kube.getSecretStore('v1', { kind: 'ClusterSecretStore', name: 'shared' })).resolves.toMatchObject({
      kind: 'ClusterSecretStore',
      metadata: { name: 'shared' }
    })
    await expect(kube.getSecretStore('v1', { kind: 'ClusterSecretStore', name: 'gone' })).resolves.toBeUndefined()
    const denied = kube.getSecretStore('v1', { kind: 'ClusterSecretStore', name: 'secret' })
    await expect(denied).rejects.toMatchObject({ kind: 'forbidden' })
    await expect(denied).rejects.toThrow(/may not get clustersecretstores\.external-secrets\.io at the cluster scope/)
    expect(seen.map(({ method, url }) => `${method} ${url}`)).toEqual([
      'GET /apis/external-secrets.io/v1/namespaces/apps/secretstores/tenant',
      'GET /apis/external-secrets.io/v1/clustersecretstores/shared',
      'GET /apis/external-secrets.io/v1/clustersecretstores/gone',
      'GET /apis/external-secrets.io/v1/clustersecretstores/secret'
    ])
  })

  it('patches a ClusterExternalSecret at the cluster scope, and a Rollout with a merge patch of spec.restartAt', async () => {
    const kubeconfig = await serve((req, res) =>
      json(
        res,
        200,
        req.url?.includes('clusterexternalsecrets')
          ? { apiVersion: 'external-secrets.io/v1', kind: 'ClusterExternalSecret', metadata: { name: 'shared' } }
          : {
              apiVersion: 'argoproj.io/v1alpha1',
              kind: 'Rollout',
              metadata: { name: 'worker', namespace: 'apps', generation: 2 },
              spec: { restartAt: '2026-12-07T14:03:25Z', template: {} }
            }
      )
    )
    const api = createKubeApi({ kubeconfig, context: '', mask: () => undefined })
    const ces = await api.patchClusterExternalSecretAnnotation(
      'v1',
      'shared',
      'external-secrets.io/force-sync',
      'run-1'
    )
    expect(ces.metadata.name).toBe('shared')
    const rollout = await api.restartWorkload('Rollout', 'apps', 'worker', '2026-12-07T14:03:25Z')
    expect(rollout.metadata.generation).toBe(2)
    expect(seen.map(({ method, url, contentType }) => [method, url, contentType])).toEqual([
      ['PATCH', '/apis/external-secrets.io/v1/clusterexternalsecrets/shared', 'application/merge-patch+json'],
      ['PATCH', '/apis/argoproj.io/v1alpha1/namespaces/apps/rollouts/worker', 'application/merge-patch+json']
    ])
    expect(JSON.parse(seen[1].body)).toEqual({ spec: { restartAt: '2026-12-07T14:03:25Z' } })
  })

  it('serves Rollout among the workload kinds only where argoproj.io/v1alpha1 lists rollouts', async () => {
    const resources: Record<string, unknown> = {
      '/apis/argoproj.io/v1alpha1': {
        kind: 'APIResourceList',
        resources: [{ name: 'applications' }, { name: 'rollouts' }, { name: 'rollouts/status' }]
      }
    }
    const kubeconfig = await serve((req, res) =>
      req.url && resources[req.url]
        ? json(res, 200, resources[req.url])
        : json(res, 404, { kind: 'Status', code: 404, message: 'the server could not find the requested resource' })
    )
    const api = createKubeApi({ kubeconfig, context: '', mask: () => undefined })
    expect(await api.servedWorkloadKinds()).toEqual(['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'])
    // Argo CD alone serves argoproj.io/v1alpha1 too, without rollouts.
    resources['/apis/argoproj.io/v1alpha1'] = { kind: 'APIResourceList', resources: [{ name: 'applications' }] }
    expect(await api.servedWorkloadKinds()).toEqual(['Deployment', 'StatefulSet', 'DaemonSet'])
    delete resources['/apis/argoproj.io/v1alpha1']
    expect(await api.servedWorkloadKinds()).toEqual(['Deployment', 'StatefulSet', 'DaemonSet'])
  })

  it("lists every page with the selector, keeping the first page's resourceVersion", async () => {
    const kubeconfig = await serve((req, res) => {
      const url = new URL(req.url ?? '', 'http://x')
      const second = url.searchParams.get('continue') === 'next'
      json(res, 200, {
        metadata: { resourceVersion: second ? '99' : '42', continue: second ? undefined : 'next' },
        items: [{ metadata: { name: second ? 'b' : 'a', namespace: 'apps' } }]
      })
    })
    const listed = await createKubeApi({ kubeconfig, context: '', mask: () => undefined }).listExternalSecrets(ref)
    // Items of a list may come without apiVersion and kind (the API server leaves them off for built-in types): they are filled in.
    const typed = { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret' }
    expect(listed).toEqual({
      resourceVersion: '42',
      items: [
        { ...typed, metadata: { name: 'a', namespace: 'apps' } },
        { ...typed, metadata: { name: 'b', namespace: 'apps' } }
      ]
    })
    expect(new URL(seen[0].url, 'http://x').searchParams.get('labelSelector')).toBe('zerotouch.io/managed=true')
  })

  it("reads a Secret's metadata only, as PartialObjectMetadata; a missing one is undefined, a forbidden one a KubeError", async () => {
    const accepts: Array<string | undefined> = []
    const kubeconfig = await serve((req, res) => {
      accepts.push(req.headers.accept)
      if (req.url?.endsWith('/missing')) return json(res, 404, { kind: 'Status', code: 404, message: 'not found' })
      if (req.url?.endsWith('/hidden'))
        return json(res, 403, {
          kind: 'Status',
          code: 403,
          message:
            'secrets "hidden" is forbidden: User "ci" cannot get resource "secrets" in API group "" in the namespace "apps"'
        })
      json(res, 200, {
        apiVersion: 'meta.k8s.io/v1',
        kind: 'PartialObjectMetadata',
        metadata: {
          name: 'payments-db',
          namespace: 'apps',
          managedFields: [{ manager: 'external-secrets', operation: 'Update', time: '2026-12-07T10:00:05Z' }]
        }
      })
    })
    const api = createKubeApi({ kubeconfig, context: '', mask: () => undefined })
    expect(await api.secretMetadata('apps', 'payments-db')).toEqual({
      name: 'payments-db',
      namespace: 'apps',
      managedFields: [{ manager: 'external-secrets', operation: 'Update', time: '2026-12-07T10:00:05Z' }]
    })
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/api/v1/namespaces/apps/secrets/payments-db' })
    expect(accepts[0]).toBe('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1')
    expect(await api.secretMetadata('apps', 'missing')).toBeUndefined()
    const error = await api.secretMetadata('apps', 'hidden').catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(KubeError)
    expect(error).toMatchObject({ kind: 'forbidden' })
  })

  it('lists pods by label selector at /api/v1, every page, as plain JSON', async () => {
    const kubeconfig = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const page = url.searchParams.get('continue')
      json(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: page ? '99' : '42', ...(page ? {} : { continue: 'next' }) },
        items: [{ metadata: { name: page ? 'api-2' : 'api-1' }, status: { startTime: '2026-12-07T10:00:06Z' } }]
      })
    })
    const api = createKubeApi({ kubeconfig, context: '', mask: () => undefined })
    const listed = await api.listPods('apps', 'app=api,track in (canary,stable)')
    expect(listed.resourceVersion).toBe('42')
    expect(listed.items.map(({ metadata, status }) => [metadata.name, status?.startTime])).toEqual([
      ['api-1', '2026-12-07T10:00:06Z'],
      ['api-2', '2026-12-07T10:00:06Z']
    ])
    const first = new URL(seen[0].url, 'http://localhost')
    expect(first.pathname).toBe('/api/v1/namespaces/apps/pods')
    expect(first.searchParams.get('labelSelector')).toBe('app=api,track in (canary,stable)')
    expect(first.searchParams.get('limit')).toBe('500')
    expect(new URL(seen[1].url, 'http://localhost').searchParams.get('continue')).toBe('next')
  })

  it('gives up on a request the server never answers, as unreachable', async () => {
    const kubeconfig = await serve(() => undefined)
    const api = createKubeApi({ kubeconfig, context: '', mask: () => undefined, requestTimeoutMs: 100 })
    for (const call of [
      () => api.discoverVersion(),
      () => api.listExternalSecrets(ref),
      () => api.listEvents('apps'),
      () => api.patchAnnotation(ref, 'a', 'k', 'v')
    ]) {
      const error = await call().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(KubeError)
      expect((error as KubeError).kind).toBe('unreachable')
      expect((error as KubeError).message).toMatch(
        /cannot reach the Kubernetes API server at http:\/\/127\.0\.0\.1:\d+ \(ETIMEDOUT\)/
      )
    }
  })

  it('turns a watch ERROR event into its KubeError, ending the watch', async () => {
    const kubeconfig = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } })}\n`)
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' } })}\n`
      )
    })
    const events: string[] = []
    const ended = await new Promise<unknown>((resolve) => {
      void createKubeApi({ kubeconfig, context: '', mask: () => undefined }).watchExternalSecrets(ref, '1', {
        onEvent: (event) => events.push(`${event.type} ${event.object.metadata.resourceVersion}`),
        onEnd: resolve
      })
    })
    expect(events).toEqual(['BOOKMARK 7'])
    expect((ended as KubeError).kind).toBe('gone')
    const query = new URL(seen[0].url, 'http://x').searchParams
    expect(Object.fromEntries(query)).toMatchObject({
      watch: 'true',
      resourceVersion: '1',
      labelSelector: 'zerotouch.io/managed=true',
      allowWatchBookmarks: 'true'
    })
  })

  it('ends a watch cleanly when the server closes it, and not at all after stop()', async () => {
    const kubeconfig = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '8' } } })}\n`)
    })
    const api = createKubeApi({ kubeconfig, context: '', mask: () => undefined })
    const ended = await new Promise<unknown>(
      (resolve) =>
        void api.watchEvents('apps', '1', { onEvent: () => undefined, onEnd: (error) => resolve(error ?? 'clean') })
    )
    expect(ended).toBe('clean')
    expect(new URL(seen[0].url, 'http://x').searchParams.get('fieldSelector')).toBe(
      'involvedObject.kind=ExternalSecret'
    )
  })
})
