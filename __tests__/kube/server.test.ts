import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { request, watch } from '../../testing/kube/client.ts'
import {
  parameterStore,
  startKubeApiServer,
  type KubeApiServer,
  type KubeApiServerOptions,
  type KubeObject
} from '../../testing/kube/index.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'

let moto: MotoServer
let ssm: SSMClient
const servers: KubeApiServer[] = []

beforeAll(async () => {
  moto = await startMoto()
  ssm = new SSMClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' }
  })
})

afterAll(async () => {
  for (const kube of servers) await kube.close()
  ssm?.destroy()
  await moto?.stop()
})

/** A server without the operator unless `withOperator`; fast operator timings for tests. */
async function start(options: KubeApiServerOptions = {}, withOperator = false): Promise<KubeApiServer> {
  const kube = await startKubeApiServer({
    ssmEndpoint: withOperator ? moto.endpoint : undefined,
    reconcileDelayMs: 10,
    retryBaseMs: 200,
    ...options
  })
  servers.push(kube)
  const [version] = options.versions ?? ['v1']
  if (withOperator && version) kube.apply(parameterStore({ name: 'aws', version }))
  return kube
}

const put = (name: string, value: string) =>
  ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true }))

const esPath = (namespace?: string, name?: string, version = 'v1') =>
  `/apis/external-secrets.io/${version}${namespace ? `/namespaces/${namespace}` : ''}/externalsecrets${name ? `/${name}` : ''}`

function externalSecret(
  name: string,
  namespace: string,
  key: string,
  extra: { labels?: Record<string, string>; spec?: Record<string, unknown> } = {}
): KubeObject {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      secretStoreRef: { name: 'aws', kind: 'ClusterSecretStore' },
      data: [{ secretKey: 'value', remoteRef: { key } }],
      ...extra.spec
    }
  }
}

/** The bodies these tests read, as the server sends them: `request<T>` and `watch<T>` read the JSON as one of these. */
interface GroupVersion {
  groupVersion: string
  version: string
}
interface ApiGroup {
  name: string
  versions: GroupVersion[]
  preferredVersion: GroupVersion
}
interface ApiGroupList {
  groups: ApiGroup[]
}
interface ApiResourceList {
  groupVersion: string
  resources: { name: string }[]
}
/** Aggregated discovery (apidiscovery.k8s.io/v2 APIGroupDiscoveryList). */
interface GroupDiscoveryList {
  items: { metadata: { name: string } }[]
}
interface KubeList {
  items: KubeObject[]
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }
}
interface Status {
  kind: 'Status'
  status: string
  reason: string
  message: string
  code: number
}
interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
  lastTransitionTime?: string
}
interface ExternalSecretStatus {
  conditions?: Condition[]
  syncedResourceVersion?: string
  refreshTime?: string
}
/** An ExternalSecret once the operator or a status patch has written its status. */
type ExternalSecret = KubeObject & { status: ExternalSecretStatus }

const annotate = (kube: KubeApiServer, namespace: string, name: string, value: string) =>
  request<KubeObject>(kube.url, esPath(namespace, name), {
    method: 'PATCH',
    body: { metadata: { annotations: { 'force-sync': value } } }
  })

const ready = (object: Record<string, unknown>) =>
  ((object.status as ExternalSecretStatus | undefined)?.conditions ?? []).find(
    (condition) => condition.type === 'Ready'
  )
const decode = (value: string) => Buffer.from(value, 'base64').toString('utf8')
const names = (list: { items: KubeObject[] }) => list.items.map((item) => item.metadata.name)

async function until<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (accept(value)) return value
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('discovery', () => {
  it('serves the core group and external-secrets.io v1 by default', async () => {
    const kube = await start()
    const groups = await request<ApiGroupList>(kube.url, '/apis')
    expect(groups.body).toMatchObject({ kind: 'APIGroupList', apiVersion: 'v1' })
    expect(groups.body.groups.map((group) => group.name)).toEqual([
      'apps',
      'authentication.k8s.io',
      'authorization.k8s.io',
      'external-secrets.io'
    ])
    expect(groups.body.groups[3]).toEqual({
      name: 'external-secrets.io',
      versions: [{ groupVersion: 'external-secrets.io/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'external-secrets.io/v1', version: 'v1' }
    })
    const resources = (await request<ApiResourceList>(kube.url, '/apis/external-secrets.io/v1')).body
    expect(resources.groupVersion).toBe('external-secrets.io/v1')
    expect(resources.resources).toEqual([
      expect.objectContaining({
        name: 'clusterexternalsecrets',
        namespaced: false,
        kind: 'ClusterExternalSecret',
        shortNames: ['ces'],
        verbs: ['get', 'list', 'watch', 'patch']
      }),
      expect.objectContaining({ name: 'clusterexternalsecrets/status', kind: 'ClusterExternalSecret' }),
      expect.objectContaining({
        name: 'externalsecrets',
        namespaced: true,
        kind: 'ExternalSecret',
        shortNames: ['es'],
        verbs: ['get', 'list', 'watch', 'patch']
      }),
      expect.objectContaining({ name: 'externalsecrets/status', kind: 'ExternalSecret', verbs: ['get', 'patch'] }),
      expect.objectContaining({ name: 'secretstores', namespaced: true, kind: 'SecretStore', shortNames: ['ss'] }),
      expect.objectContaining({ name: 'secretstores/status', kind: 'SecretStore' }),
      expect.objectContaining({
        name: 'clustersecretstores',
        namespaced: false,
        kind: 'ClusterSecretStore',
        shortNames: ['css']
      }),
      expect.objectContaining({ name: 'clustersecretstores/status', kind: 'ClusterSecretStore' })
    ])
    expect((await request(kube.url, '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] })
    const core = (await request<ApiResourceList>(kube.url, '/api/v1')).body
    expect(core.resources.map((r) => r.name)).toEqual(['namespaces', 'pods', 'secrets', 'events'])
    expect((await request(kube.url, '/version')).body).toMatchObject({ major: '1', minor: '32' })
  })

  it('answers aggregated discovery when the client asks for it', async () => {
    const kube = await start()
    const reply = await request<GroupDiscoveryList>(kube.url, '/apis', {
      accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'
    })
    expect(reply.headers.get('content-type')).toBe(
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
    )
    expect(reply.body.items.map((item) => item.metadata.name)).toEqual([
      'apps',
      'authentication.k8s.io',
      'authorization.k8s.io',
      'external-secrets.io'
    ])
    expect(reply.body.items[3]).toMatchObject({
      metadata: { name: 'external-secrets.io' },
      versions: [
        {
          version: 'v1',
          resources: [
            expect.objectContaining({ resource: 'clusterexternalsecrets', scope: 'Cluster', shortNames: ['ces'] }),
            expect.objectContaining({ resource: 'externalsecrets', scope: 'Namespaced', shortNames: ['es'] }),
            expect.objectContaining({ resource: 'secretstores', scope: 'Namespaced', shortNames: ['ss'] }),
            expect.objectContaining({ resource: 'clustersecretstores', scope: 'Cluster', shortNames: ['css'] })
          ]
        }
      ]
    })
  })

  it('serves only v1beta1 on an older operator, and objects at that version', async () => {
    const kube = await start({ versions: ['v1beta1'] })
    expect((await request<ApiGroup>(kube.url, '/apis/external-secrets.io')).body.preferredVersion).toEqual({
      groupVersion: 'external-secrets.io/v1beta1',
      version: 'v1beta1'
    })
    const missing = await request(kube.url, '/apis/external-secrets.io/v1')
    expect(missing.status).toBe(404)
    expect(missing.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 })
    expect(() => kube.apply(externalSecret('a', 'ns', '/k'))).toThrow(
      'no matches for kind "ExternalSecret" in version "external-secrets.io/v1"'
    )
    kube.apply({ ...externalSecret('a', 'ns', '/k'), apiVersion: 'external-secrets.io/v1beta1' })
    expect((await request<KubeObject>(kube.url, esPath('ns', 'a', 'v1beta1'))).body.apiVersion).toBe(
      'external-secrets.io/v1beta1'
    )
    expect((await request(kube.url, esPath('ns', 'a', 'v1'))).status).toBe(404)
  })

  it('serves one object at every configured version, the first preferred', async () => {
    const kube = await start({ versions: ['v1', 'v1beta1'] })
    const listed = (await request<ApiGroupList>(kube.url, '/apis')).body.groups.find(
      (group) => group.name === 'external-secrets.io'
    )
    expect(listed!.versions.map((version) => version.version)).toEqual(['v1', 'v1beta1'])
    expect(listed!.preferredVersion.version).toBe('v1')
    kube.apply(externalSecret('a', 'ns', '/k'))
    const v1 = (await request<KubeObject>(kube.url, esPath('ns', 'a', 'v1'))).body
    const v1beta1 = (await request<KubeObject>(kube.url, esPath('ns', 'a', 'v1beta1'))).body
    expect([v1.apiVersion, v1beta1.apiVersion]).toEqual(['external-secrets.io/v1', 'external-secrets.io/v1beta1'])
    expect(v1beta1.metadata).toEqual(v1.metadata)
  })

  it('has no external-secrets.io group without the CRD', async () => {
    const kube = await start({ versions: [] })
    expect((await request<ApiGroupList>(kube.url, '/apis')).body.groups.map((group) => group.name)).toEqual([
      'apps',
      'authentication.k8s.io',
      'authorization.k8s.io'
    ])
    const group = await request(kube.url, '/apis/external-secrets.io')
    expect(group.status).toBe(404)
    expect(group.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'the server could not find the requested resource'
    })
    expect((await request(kube.url, esPath('ns'))).status).toBe(404)
    expect(() => kube.apply(externalSecret('a', 'ns', '/k'))).toThrow('resource type "ExternalSecret"')
  })
})

describe('objects', () => {
  it('keeps one global resourceVersion, a uid, and a generation that counts spec changes only', async () => {
    const kube = await start()
    const [a] = kube.apply(externalSecret('a', 'ns', '/k'))
    const [secret] = kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'ns' },
      stringData: { x: 'y' }
    })
    expect(Number(secret.metadata.resourceVersion)).toBe(Number(a.metadata.resourceVersion) + 1)
    expect(secret.data).toEqual({ x: 'eQ==' })
    expect(a.metadata).toMatchObject({
      generation: 1,
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      creationTimestamp: expect.stringMatching(/Z$/)
    })

    const annotated = await annotate(kube, 'ns', 'a', '1')
    expect(annotated.body.metadata).toMatchObject({
      generation: 1,
      uid: a.metadata.uid,
      resourceVersion: String(kube.resourceVersion)
    })
    expect(Number(annotated.body.metadata.resourceVersion)).toBeGreaterThan(Number(secret.metadata.resourceVersion))
    const again = await annotate(kube, 'ns', 'a', '1')
    expect(again.body.metadata.resourceVersion).toBe(annotated.body.metadata.resourceVersion)
    const respec = await request<KubeObject>(kube.url, esPath('ns', 'a'), {
      method: 'PATCH',
      body: { spec: { refreshInterval: '5m' } }
    })
    expect(respec.body.metadata.generation).toBe(2)
  })

  it('answers 404 and 409 with Status objects', async () => {
    const kube = await start()
    kube.apply(externalSecret('a', 'ns', '/k'))
    const missing = await request(kube.url, esPath('ns', 'nope'))
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'externalsecrets.external-secrets.io "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'external-secrets.io', kind: 'externalsecrets' },
      code: 404
    })
    const stale = await request<Status>(kube.url, esPath('ns', 'a'), {
      method: 'PATCH',
      body: { metadata: { resourceVersion: '1', annotations: { x: 'y' } } }
    })
    expect(stale.status).toBe(409)
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on externalsecrets.external-secrets.io "a": the object has been modified; please apply your changes to the latest version and try again'
    )
    expect(kube.get('es', 'ns', 'a')?.metadata.annotations).toBeUndefined()
  })

  it('applies merge patches and JSON patches, and refuses other patch types', async () => {
    const kube = await start()
    kube.apply(externalSecret('a', 'ns', '/k'))
    const added = await request<KubeObject>(kube.url, esPath('ns', 'a'), {
      method: 'PATCH',
      contentType: 'application/json-patch+json',
      body: [
        { op: 'add', path: '/metadata/annotations', value: {} },
        { op: 'add', path: '/metadata/annotations/zerotouch.io~1force-sync', value: '42' }
      ]
    })
    expect(added.body.metadata.annotations).toEqual({ 'zerotouch.io/force-sync': '42' })
    const failedTest = await request(kube.url, esPath('ns', 'a'), {
      method: 'PATCH',
      contentType: 'application/json-patch+json',
      body: [{ op: 'test', path: '/metadata/annotations/zerotouch.io~1force-sync', value: '41' }]
    })
    expect(failedTest.status).toBe(422)
    const removed = await request<KubeObject>(kube.url, esPath('ns', 'a'), {
      method: 'PATCH',
      body: { metadata: { annotations: { 'zerotouch.io/force-sync': null } } }
    })
    expect(removed.body.metadata.annotations).toEqual({})
    const strategic = await request(kube.url, esPath('ns', 'a'), {
      method: 'PATCH',
      contentType: 'application/strategic-merge-patch+json',
      body: {}
    })
    expect(strategic.status).toBe(415)
    const notString = await request(kube.url, esPath('ns', 'a'), {
      method: 'PATCH',
      body: { metadata: { annotations: { n: 5 } } }
    })
    expect(notString.status).toBe(400)
  })

  it('changes status only through the status subresource', async () => {
    const kube = await start()
    kube.apply(externalSecret('a', 'ns', '/k'))
    const ignored = await request<KubeObject>(kube.url, esPath('ns', 'a'), {
      method: 'PATCH',
      body: { status: { refreshTime: '2020-01-01T00:00:00Z' } }
    })
    expect(ignored.body.status).toBeUndefined()
    const viaStatus = await request<KubeObject>(kube.url, `${esPath('ns', 'a')}/status`, {
      method: 'PATCH',
      body: {
        metadata: { labels: { ignored: 'yes' } },
        spec: { refreshInterval: '9h' },
        status: { refreshTime: '2020-01-01T00:00:00Z' }
      }
    })
    expect(viaStatus.body).toMatchObject({
      status: { refreshTime: '2020-01-01T00:00:00Z' },
      spec: { refreshInterval: '1h' },
      metadata: { generation: 1 }
    })
    expect(viaStatus.body.metadata.labels).toBeUndefined()
    expect((await request<ExternalSecret>(kube.url, `${esPath('ns', 'a')}/status`)).body.status.refreshTime).toBe(
      '2020-01-01T00:00:00Z'
    )
  })

  it('pages lists with limit and continue', async () => {
    const kube = await start()
    kube.apply(['a', 'b', 'c'].map((name) => externalSecret(name, 'ns', '/k')))
    const first = (await request<KubeList>(kube.url, `${esPath('ns')}?limit=2`)).body
    expect(names(first)).toEqual(['a', 'b'])
    expect(first.metadata.remainingItemCount).toBe(1)
    const second = (
      await request<KubeList>(
        kube.url,
        `${esPath('ns')}?limit=2&continue=${encodeURIComponent(first.metadata.continue!)}`
      )
    ).body
    expect(names(second)).toEqual(['c'])
    expect(second.metadata.continue).toBeUndefined()
  })
})

describe('managedFields and PartialObjectMetadata', () => {
  const PARTIAL = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1'
  interface Entry {
    manager: string
    operation: string
    time: string
  }
  const patchAs = (kube: KubeApiServer, query: string, userAgent: string, value: string, annotation = 'note') =>
    fetch(`${kube.url}${esPath('ns', 'a')}${query}`, {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/merge-patch+json',
        Accept: 'application/json',
        'User-Agent': userAgent
      },
      body: JSON.stringify({ metadata: { annotations: { [annotation]: value } } })
    }).then(async (response) => (await response.json()) as KubeObject & { metadata: { managedFields?: Entry[] } })

  it('names the manager of a write by fieldManager, else by the user agent, one entry each; a write that changes nothing changes no entry', async () => {
    const kube = await start()
    kube.apply(externalSecret('a', 'ns', '/k'))
    const first = await patchAs(kube, '?fieldManager=zerotouch', 'zerotouch-secrets/1.4.0 (linux)', '1')
    expect(first.metadata.managedFields).toEqual([
      {
        manager: 'zerotouch',
        operation: 'Update',
        apiVersion: 'external-secrets.io/v1',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        fieldsType: 'FieldsV1',
        // What the write changed is what its manager owns.
        fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:note': {} } } }
      }
    ])
    const second = await patchAs(kube, '', 'argocd-application-controller/v2.13.1 (linux/amd64)', '2', 'tracked')
    expect(second.metadata.managedFields?.map(({ manager }) => manager)).toEqual([
      'zerotouch',
      'argocd-application-controller'
    ])
    expect(second.metadata.managedFields?.[0]).toEqual(first.metadata.managedFields?.[0])
    // The same manager again: its one entry is replaced, not added to.
    const third = await patchAs(kube, '?fieldManager=zerotouch', 'x', '3')
    expect(third.metadata.managedFields?.map(({ manager }) => manager)).toEqual([
      'argocd-application-controller',
      'zerotouch'
    ])
    const unchanged = await patchAs(kube, '?fieldManager=someone-else', 'x', '3')
    expect(unchanged.metadata).toEqual(third.metadata)
    // An Update takes the fields it changes from their owners; an entry left owning nothing goes.
    const taken = await patchAs(kube, '?fieldManager=someone-else', 'x', '4')
    expect(taken.metadata.managedFields?.map(({ manager }) => manager)).toEqual([
      'argocd-application-controller',
      'someone-else'
    ])
  })

  it("serves an object's metadata only for the PartialObjectMetadata Accept header: a Secret without its data", async () => {
    const kube = await start()
    kube.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, data: { x: 'eQ==' } })
    const partial = await request<KubeObject>(kube.url, '/api/v1/namespaces/ns/secrets/s', { accept: PARTIAL })
    expect(partial.status).toBe(200)
    expect(partial.body).toEqual({
      apiVersion: 'meta.k8s.io/v1',
      kind: 'PartialObjectMetadata',
      metadata: kube.get('Secret', 'ns', 's')?.metadata
    })
    expect(JSON.stringify(partial.body)).not.toContain('eQ==')
    expect((await request(kube.url, '/api/v1/namespaces/ns/secrets/gone', { accept: PARTIAL })).status).toBe(404)
  })
})

describe('selectors', () => {
  it('supports every label selector form', async () => {
    const kube = await start()
    kube.apply([
      externalSecret('a', 'ns', '/k', { labels: { app: 'web', tier: 'front', 'zerotouch.io/managed': 'true' } }),
      externalSecret('b', 'ns', '/k', { labels: { app: 'api', tier: 'back' } }),
      externalSecret('c', 'ns', '/k', { labels: { app: 'db' } }),
      externalSecret('d', 'ns', '/k'),
      externalSecret('e', 'other', '/k', { labels: { app: 'web' } })
    ])
    const select = async (selector: string, path = esPath('ns')) =>
      names((await request<KubeList>(kube.url, `${path}?labelSelector=${encodeURIComponent(selector)}`)).body)
    expect(await select('app=web')).toEqual(['a'])
    expect(await select('app==api')).toEqual(['b'])
    expect(await select('app!=web')).toEqual(['b', 'c', 'd'])
    expect(await select('app in (web, api)')).toEqual(['a', 'b'])
    expect(await select('app notin (web,api)')).toEqual(['c', 'd'])
    expect(await select('tier')).toEqual(['a', 'b'])
    expect(await select('!tier')).toEqual(['c', 'd'])
    expect(await select('app in (web,api),tier=back')).toEqual(['b'])
    expect(await select('zerotouch.io/managed=true')).toEqual(['a'])
    expect(await select('app=web', esPath())).toEqual(['a', 'e'])
    const invalid = await request<Status>(kube.url, `${esPath('ns')}?labelSelector=${encodeURIComponent('app in web')}`)
    expect(invalid.status).toBe(400)
    expect(invalid.body.reason).toBe('BadRequest')
  })

  it('selects events by involvedObject fields, reason and type', async () => {
    const kube = await start()
    const event = (name: string, object: string, uid: string, reason: string, type: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: 'ns' },
      involvedObject: { kind: 'ExternalSecret', name: object, namespace: 'ns', uid },
      reason,
      type,
      message: reason
    })
    kube.apply([
      event('e1', 'api', 'u1', 'UpdateFailed', 'Warning'),
      event('e2', 'api', 'u1', 'Created', 'Normal'),
      event('e3', 'worker', 'u2', 'UpdateFailed', 'Warning'),
      {
        ...event('e4', 'api', 'u3', 'Scheduled', 'Normal'),
        involvedObject: { kind: 'Pod', name: 'api', namespace: 'ns', uid: 'u3' }
      }
    ])
    const select = async (selector: string) =>
      names(
        (
          await request<KubeList>(
            kube.url,
            `/api/v1/namespaces/ns/events?fieldSelector=${encodeURIComponent(selector)}`
          )
        ).body
      )
    expect(await select('involvedObject.name=api')).toEqual(['e1', 'e2', 'e4'])
    expect(await select('involvedObject.name=api,involvedObject.kind=ExternalSecret')).toEqual(['e1', 'e2'])
    expect(await select('involvedObject.uid=u2')).toEqual(['e3'])
    expect(await select('reason=UpdateFailed,type=Warning')).toEqual(['e1', 'e3'])
    expect(await select('type!=Warning')).toEqual(['e2', 'e4'])
    const unsupported = await request<Status>(kube.url, `/api/v1/namespaces/ns/events?fieldSelector=message%3Dx`)
    expect(unsupported.status).toBe(400)
    expect(unsupported.body.message).toBe('field label not supported: message')
  })
})

describe('watches', () => {
  it('sends only changes newer than the resourceVersion, or everything as ADDED without one', async () => {
    const kube = await start()
    kube.apply([externalSecret('a', 'ns', '/k'), externalSecret('b', 'ns', '/k')])
    const from = kube.resourceVersion
    await annotate(kube, 'ns', 'a', '1')
    kube.apply(externalSecret('c', 'ns', '/k'))
    kube.delete('es', 'ns', 'b')

    const resumed = await watch(kube.url, `${esPath('ns')}?watch=1&resourceVersion=${from}`)
    const events = await resumed.waitFor(3)
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['MODIFIED', 'a'],
      ['ADDED', 'c'],
      ['DELETED', 'b']
    ])
    expect(events.map((e) => Number(e.object.metadata.resourceVersion))).toEqual([from + 1, from + 2, from + 3])
    const fresh = await watch(kube.url, `${esPath('ns')}?watch=true`)
    expect((await fresh.waitFor(2)).map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['ADDED', 'a'],
      ['ADDED', 'c']
    ])
    await annotate(kube, 'ns', 'c', '1')
    expect((await fresh.waitFor(3))[2]).toMatchObject({
      type: 'MODIFIED',
      object: { metadata: { name: 'c', annotations: { 'force-sync': '1' } } }
    })
    expect((await resumed.waitFor(4))[3]).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'c' } } })
    resumed.close()
    fresh.close()
  })

  it('turns label changes into ADDED and DELETED for a selecting watch', async () => {
    const kube = await start()
    kube.apply(externalSecret('a', 'ns', '/k'))
    const stream = await watch(
      kube.url,
      `${esPath('ns')}?watch=1&resourceVersion=${kube.resourceVersion}&labelSelector=managed%3Dtrue`
    )
    await request(kube.url, esPath('ns', 'a'), { method: 'PATCH', body: { metadata: { labels: { managed: 'true' } } } })
    await request(kube.url, esPath('ns', 'a'), { method: 'PATCH', body: { metadata: { labels: { managed: null } } } })
    expect((await stream.waitFor(2)).map((e) => e.type)).toEqual(['ADDED', 'DELETED'])
    stream.close()
  })

  it('sends bookmarks when allowed, marks the end of initial events, and ends at timeoutSeconds', async () => {
    const kube = await start({ bookmarkIntervalMs: 100 })
    kube.apply(externalSecret('a', 'ns', '/k'))
    const stream = await watch(
      kube.url,
      `${esPath('ns')}?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1`
    )
    const [added, initialEnd] = await stream.waitFor(2)
    expect(added).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'a' } } })
    expect(initialEnd).toEqual({
      type: 'BOOKMARK',
      object: {
        kind: 'ExternalSecret',
        apiVersion: 'external-secrets.io/v1',
        metadata: {
          resourceVersion: String(kube.resourceVersion),
          annotations: { 'k8s.io/initial-events-end': 'true' }
        }
      }
    })
    expect((await stream.waitFor(3))[2]).toMatchObject({
      type: 'BOOKMARK',
      object: { metadata: { resourceVersion: String(kube.resourceVersion) } }
    })
    await stream.ended
  })

  it('answers a too old resourceVersion with a 410 ERROR event and ends the stream', async () => {
    const kube = await start({ historyLimit: 3 })
    const first = kube.apply(externalSecret('a', 'ns', '/k'))[0]
    for (const value of ['1', '2', '3', '4']) await annotate(kube, 'ns', 'a', value)
    const stream = await watch(kube.url, `${esPath('ns')}?watch=1&resourceVersion=${first.metadata.resourceVersion}`)
    await stream.ended
    expect(stream.status).toBe(200)
    expect(stream.events).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({
          kind: 'Status',
          status: 'Failure',
          reason: 'Expired',
          code: 410,
          message: expect.stringMatching(/^too old resource version: /)
        })
      }
    ])
    const recent = await watch(kube.url, `${esPath('ns')}?watch=1&resourceVersion=${kube.resourceVersion - 3}`)
    expect((await recent.waitFor(3)).map((e) => e.object.metadata.annotations!['force-sync'])).toEqual(['2', '3', '4'])
    recent.close()
  })

  it('ends every open watch on dropWatches, and a client resumes from its last resourceVersion', async () => {
    const kube = await start()
    kube.apply(externalSecret('a', 'ns', '/k'))
    const streams = await Promise.all([
      watch(kube.url, `${esPath('ns')}?watch=1`),
      watch(kube.url, '/api/v1/namespaces/ns/events?watch=1')
    ])
    await streams[0].waitFor(1)
    expect(kube.dropWatches()).toBe(2)
    await Promise.all(streams.map((stream) => stream.ended))
    const last = streams[0].events.at(-1)!.object.metadata.resourceVersion
    await annotate(kube, 'ns', 'a', 'after-drop')
    const resumed = await watch(kube.url, `${esPath('ns')}?watch=1&resourceVersion=${last}`)
    expect((await resumed.waitFor(1))[0].object.metadata.annotations).toEqual({ 'force-sync': 'after-drop' })
    resumed.close()
  })

  it('keeps state and the resourceVersion counter across a restart, which ends watches', async () => {
    const kube = await start()
    const [before] = kube.apply(externalSecret('a', 'ns', '/k'))
    const stream = await watch(kube.url, `${esPath('ns')}?watch=1&resourceVersion=${before.metadata.resourceVersion}`)
    const counter = kube.resourceVersion
    await kube.restart(50)
    await stream.ended
    const after = await request<KubeObject>(kube.url, esPath('ns', 'a'))
    expect(after.body.metadata).toEqual(before.metadata)
    expect((await annotate(kube, 'ns', 'a', 'x')).body.metadata.resourceVersion).toBe(String(counter + 1))
  })
})

describe('fault injection', () => {
  it('fails the next matching requests with real Status errors, then recovers', async () => {
    const kube = await start()
    kube.apply([externalSecret('a', 'payments', '/k'), externalSecret('b', 'payments', '/k')])
    kube.faults.failNext({ method: 'PATCH', resource: 'externalsecrets', name: 'a', status: 500 })
    kube.faults.failNext({ verb: 'list', resource: 'externalsecrets', namespace: 'payments', status: 403, count: 2 })
    kube.faults.failNext({ path: '/apis', status: 503 })
    kube.faults.failNext({ verb: 'patch', name: 'b', status: 429 })

    expect((await annotate(kube, 'payments', 'b', '1')).headers.get('retry-after')).toBe('1')
    const failed = await annotate(kube, 'payments', 'a', '1')
    expect(failed.body).toMatchObject({ kind: 'Status', code: 500, reason: 'InternalError' })
    expect((await annotate(kube, 'payments', 'a', '1')).status).toBe(200)
    for (let i = 0; i < 2; i++) {
      const denied = await request<Status>(kube.url, esPath('payments'))
      expect(denied.body.message).toBe(
        'externalsecrets.external-secrets.io is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "externalsecrets" in API group "external-secrets.io" in the namespace "payments"'
      )
    }
    expect((await request(kube.url, esPath('payments'))).status).toBe(200)
    expect((await request(kube.url, '/apis')).body).toMatchObject({ code: 503, reason: 'ServiceUnavailable' })
    expect((await request(kube.url, '/apis')).status).toBe(200)
    expect(kube.faults.pending).toBe(0)
    expect(kube.requests.filter((r) => r.method === 'PATCH').map((r) => [r.path, r.status, r.contentType])).toEqual([
      [esPath('payments', 'b'), 429, 'application/merge-patch+json'],
      [esPath('payments', 'a'), 500, 'application/merge-patch+json'],
      [esPath('payments', 'a'), 200, 'application/merge-patch+json']
    ])
  })
})

describe('RBAC', () => {
  it('requires the bearer token and refuses what no rule allows, in the real message format', async () => {
    const kube = await start({
      rbac: [
        { verbs: ['get', 'list', 'watch'], resources: ['externalsecrets'], namespaces: ['payments'] },
        { verbs: ['list'], resources: ['events'] }
      ]
    })
    kube.apply(externalSecret('x', 'payments', '/k'))
    const { token } = kube
    expect((await request(kube.url, esPath('payments'))).body).toMatchObject({ code: 401, reason: 'Unauthorized' })
    expect((await request(kube.url, esPath('payments'), { token })).status).toBe(200)
    expect((await request(kube.url, '/apis', { token })).status).toBe(200)
    expect((await request(kube.url, '/api/v1/events', { token })).status).toBe(200)
    const patch = await request(kube.url, esPath('payments', 'x'), {
      token,
      method: 'PATCH',
      body: { metadata: { annotations: { a: 'b' } } }
    })
    expect(patch.status).toBe(403)
    expect(patch.body).toMatchObject({
      reason: 'Forbidden',
      details: { name: 'x', group: 'external-secrets.io', kind: 'externalsecrets' },
      message:
        'externalsecrets.external-secrets.io "x" is forbidden: User "system:serviceaccount:ci:deployer" cannot patch resource "externalsecrets" in API group "external-secrets.io" in the namespace "payments"'
    })
    const messages = await Promise.all(
      [esPath(), `${esPath('payments', 'x')}/status`, '/api/v1/namespaces/payments/secrets/s'].map(
        async (path) => (await request<Status>(kube.url, path, { token })).body.message
      )
    )
    expect(messages).toEqual([
      'externalsecrets.external-secrets.io is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "externalsecrets" in API group "external-secrets.io" at the cluster scope',
      'externalsecrets.external-secrets.io "x" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource "externalsecrets/status" in API group "external-secrets.io" in the namespace "payments"',
      'secrets "s" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource "secrets" in API group "" in the namespace "payments"'
    ])
  })
})

describe('operator simulation', () => {
  it('stays Ready on the old sync after an annotation until its fresh sync changes syncedResourceVersion', async () => {
    const kube = await start({}, true)
    await put('/t/stale/value', 'one')
    kube.apply(externalSecret('app', 'stale', '/t/stale/value'))
    await kube.operator.idle()
    const synced = kube.get('es', 'stale', 'app')!
    expect(ready(synced)).toMatchObject({ status: 'True', reason: 'SecretSynced', message: 'secret synced' })
    expect(synced.status).toMatchObject({
      syncedResourceVersion: expect.stringMatching(/^1-[0-9a-f]{32}$/),
      refreshTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    })
    expect(decode((kube.get('secret', 'stale', 'app')!.data as Record<string, string>).value)).toBe('one')

    await put('/t/stale/value', 'two')
    kube.operator.pause()
    const patched = await annotate(kube, 'stale', 'app', 'run-1')
    const stream = await watch<ExternalSecret>(
      kube.url,
      `${esPath('stale')}?watch=1&resourceVersion=${patched.body.metadata.resourceVersion}`
    )
    await new Promise((resolve) => setTimeout(resolve, 100))
    const during = (await request<ExternalSecret>(kube.url, esPath('stale', 'app'))).body
    expect(ready(during)).toEqual(ready(synced))
    expect(during.status.syncedResourceVersion).toBe(
      (synced.status as { syncedResourceVersion: string }).syncedResourceVersion
    )
    expect(stream.events).toEqual([])

    kube.operator.resume()
    const [update] = await stream.waitFor(1)
    expect(update.type).toBe('MODIFIED')
    expect(update.object.status.syncedResourceVersion).toMatch(/^1-/)
    expect(update.object.status.syncedResourceVersion).not.toBe(during.status.syncedResourceVersion)
    expect(ready(update.object)!.lastTransitionTime).toBe(ready(synced)!.lastTransitionTime)
    expect(decode((kube.get('secret', 'stale', 'app')!.data as Record<string, string>).value)).toBe('two')
    stream.close()
  })

  it('reports a missing parameter as SecretSyncedError and an UpdateFailed Warning Event, keeping syncedResourceVersion', async () => {
    const kube = await start({}, true)
    const key = '/zerotouch/prod/api/database_url'
    await put(key, 'postgres://db')
    kube.apply(externalSecret('api', 'missing', key))
    await kube.operator.idle()
    const synced = kube.get('es', 'missing', 'api')!
    await ssm.send(new DeleteParameterCommand({ Name: key }))

    kube.operator.retryBaseMs = 60_000
    const patched = await annotate(kube, 'missing', 'api', 'run-1')
    await kube.operator.idle()
    const failed = kube.get('es', 'missing', 'api')!
    expect(failed.status).toMatchObject({
      syncedResourceVersion: (synced.status as { syncedResourceVersion: string }).syncedResourceVersion
    })
    expect(ready(failed)).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'SecretSyncedError',
      message: 'could not get secret data from provider',
      lastTransitionTime: expect.any(String)
    })
    const events = (
      await request<KubeList>(
        kube.url,
        '/api/v1/namespaces/missing/events?fieldSelector=involvedObject.name%3Dapi,reason%3DUpdateFailed'
      )
    ).body.items
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      type: 'Warning',
      reason: 'UpdateFailed',
      message: 'error processing spec.data[0] (key: /zerotouch/prod/api/database_url), err: Secret does not exist',
      involvedObject: {
        kind: 'ExternalSecret',
        name: 'api',
        namespace: 'missing',
        uid: synced.metadata.uid,
        apiVersion: 'external-secrets.io/v1'
      },
      source: { component: 'external-secrets' },
      count: 1,
      firstTimestamp: expect.any(String),
      lastTimestamp: expect.any(String),
      metadata: { resourceVersion: expect.any(String) }
    })
    expect(Number(events[0].metadata.resourceVersion)).toBeGreaterThan(Number(patched.body.metadata.resourceVersion))

    // The same failure again: the Event's count goes up, the False condition is not rewritten.
    const selector = encodeURIComponent(`involvedObject.uid=${synced.metadata.uid},reason=UpdateFailed`)
    const eventWatch = await watch(
      kube.url,
      `/api/v1/namespaces/missing/events?watch=1&fieldSelector=${selector}&resourceVersion=${kube.resourceVersion}`
    )
    await annotate(kube, 'missing', 'api', 'run-2')
    const [again] = await eventWatch.waitFor(1)
    expect(again).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: events[0].metadata.name }, count: 2 } })
    await kube.operator.idle()
    expect(ready(kube.get('es', 'missing', 'api')!)).toEqual(ready(failed))
    eventWatch.close()
  })

  it('ignores annotation changes for CreatedOnce and refreshInterval 0 once synced, but not for OnChange', async () => {
    const kube = await start({}, true)
    await put('/t/policy/value', 'v')
    kube.apply([
      externalSecret('once', 'policy', '/t/policy/value', { spec: { refreshPolicy: 'CreatedOnce' } }),
      externalSecret('zero', 'policy', '/t/policy/value', { spec: { refreshInterval: '0s' } }),
      externalSecret('onchange', 'policy', '/t/policy/value', { spec: { refreshPolicy: 'OnChange' } })
    ])
    await kube.operator.idle()
    const before = Object.fromEntries(
      ['once', 'zero', 'onchange'].map((name) => [name, kube.get('es', 'policy', name)!.status])
    )
    expect(Object.values(before).map((status) => ready({ status })!.status)).toEqual(['True', 'True', 'True'])
    const since = kube.operator.reconciles.length
    for (const name of ['once', 'zero', 'onchange']) await annotate(kube, 'policy', name, 'run-1')
    await kube.operator.idle()
    expect(kube.get('es', 'policy', 'once')!.status).toEqual(before.once)
    expect(kube.get('es', 'policy', 'zero')!.status).toEqual(before.zero)
    expect(kube.get('es', 'policy', 'onchange')!.status).not.toEqual(before.onchange)
    const outcomes = kube.operator.reconciles.slice(since).map(({ name, outcome }) => `${name}:${outcome}`)
    expect(outcomes).toEqual(expect.arrayContaining(['once:skipped', 'zero:skipped', 'onchange:synced']))
    expect(outcomes).not.toContain('once:synced')
    expect(outcomes).not.toContain('zero:synced')

    // CreatedOnce still refreshes when its target Secret is missing.
    kube.delete('secret', 'policy', 'once')
    await until(
      () => kube.get('secret', 'policy', 'once'),
      (secret) => secret !== undefined
    )
    expect(kube.get('es', 'policy', 'once')!.status).not.toEqual(before.once)
  })

  it('reconciles one ExternalSecret at a time, in the order they were queued', async () => {
    const kube = await start({ reconcileDelayMs: 20 }, true)
    await put('/t/serial/value', 'v')
    const all = ['a', 'b', 'c', 'd']
    kube.apply(all.map((name) => externalSecret(name, 'serial', '/t/serial/value')))
    await kube.operator.idle()
    const since = kube.operator.reconciles.length
    for (const name of all) await annotate(kube, 'serial', name, 'run-1')
    await kube.operator.idle()
    const runs = kube.operator.reconciles.slice(since)
    expect(runs.filter((run) => run.outcome === 'synced').map((run) => run.name)).toEqual(all)
    for (let i = 1; i < runs.length; i++) expect(runs[i].startedAt).toBeGreaterThanOrEqual(runs[i - 1].finishedAt)
  })

  it('fails an ExternalSecret on demand, and recovers when the fault is cleared', async () => {
    const kube = await start({}, true)
    await put('/t/forced/value', 'v')
    kube.operator.failWith('forced', 'app', 'AccessDeniedException: not authorized to perform ssm:GetParameter')
    kube.apply(externalSecret('app', 'forced', '/t/forced/value'))
    await until(
      () => kube.list('event', 'forced'),
      (events) => events.some((event) => event.reason === 'UpdateFailed')
    )
    expect(kube.list('event', 'forced').map((event) => event.message)).toEqual([
      'AccessDeniedException: not authorized to perform ssm:GetParameter'
    ])
    expect(ready(kube.get('es', 'forced', 'app')!)).toMatchObject({ status: 'False', reason: 'SecretSyncedError' })
    kube.operator.clearFailure('forced', 'app')
    await until(
      () => kube.get('es', 'forced', 'app'),
      (es) => ready(es!)?.status === 'True'
    )
    expect(kube.list('event', 'forced').map((event) => `${String(event.type)}/${String(event.reason)}`)).toEqual([
      'Warning/UpdateFailed',
      'Normal/Created'
    ])
  })

  it("reads each key through its store as external-secrets' Parameter Store provider does: the prefix before data and extract keys, a find's path as written or /", async () => {
    const kube = await start({}, true)
    await put('/t/prefixed/app/url', 'U')
    await put('/t/prefixed/app/json', JSON.stringify({ a: 'A' }))
    await put('/t/prefixed/app/found', 'F')
    await put('/t/plain', 'P')
    kube.apply(parameterStore({ kind: 'SecretStore', name: 'tenant', namespace: 'prefixed', prefix: '/t/prefixed/' }))
    kube.apply({
      ...externalSecret('app', 'prefixed', 'app/url'),
      spec: {
        secretStoreRef: { name: 'tenant' },
        data: [
          { secretKey: 'url', remoteRef: { key: 'app/url' } },
          // An item's own store overrides the ExternalSecret's (client_manager.go Get).
          {
            secretKey: 'plain',
            remoteRef: { key: '/t/plain' },
            sourceRef: { storeRef: { name: 'aws', kind: 'ClusterSecretStore' } }
          }
        ],
        dataFrom: [
          { extract: { key: 'app/json' } },
          // No path: GetParametersByPath from "/", the prefix not applied; the regexp picks the names.
          {
            find: { name: { regexp: '^/t/prefixed/app/fo' } },
            rewrite: [{ regexp: { source: '^/t/prefixed/app/', target: '' } }]
          }
        ]
      }
    })
    await kube.operator.idle()
    const data = kube.get('secret', 'prefixed', 'app')!.data as Record<string, string>
    expect(Object.fromEntries(Object.entries(data).map(([key, value]) => [key, decode(value)]))).toEqual({
      url: 'U',
      plain: 'P',
      a: 'A',
      found: 'F'
    })
  })

  it("fails an ExternalSecret whose store does not exist, with the client manager's error", async () => {
    const kube = await start({}, true)
    kube.apply({
      ...externalSecret('app', 'nostore', '/t/x'),
      spec: { secretStoreRef: { name: 'gone' }, data: [{ secretKey: 'x', remoteRef: { key: '/t/x' } }] }
    })
    await kube.operator.idle()
    expect(kube.list('event', 'nostore').map((event) => event.message)).toEqual([
      'error processing spec.data[0] (key: /t/x), err: could not get SecretStore "gone", secretstores.external-secrets.io "gone" not found'
    ])
  })

  it('expands dataFrom extract and find into Secret keys', async () => {
    const kube = await start({}, true)
    await put('/t/from/json', JSON.stringify({ user: 'admin', port: 5432 }))
    await put('/t/from/tree/a', 'A')
    await put('/t/from/tree/b', 'B')
    kube.apply({
      ...externalSecret('app', 'from', '/t/from/tree/a'),
      spec: {
        secretStoreRef: { name: 'aws', kind: 'ClusterSecretStore' },
        dataFrom: [
          { extract: { key: '/t/from/json' } },
          {
            find: { path: '/t/from/tree', name: { regexp: '.*' } },
            rewrite: [{ regexp: { source: '/t/from/tree/(.*)', target: 'tree_$1' } }]
          }
        ]
      }
    })
    await kube.operator.idle()
    const data = kube.get('secret', 'from', 'app')!.data as Record<string, string>
    expect(Object.fromEntries(Object.entries(data).map(([key, value]) => [key, decode(value)]))).toEqual({
      user: 'admin',
      port: '5432',
      tree_a: 'A',
      tree_b: 'B'
    })
  })
})
