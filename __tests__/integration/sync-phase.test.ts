/**
 * The sync phase against the project's Kubernetes API server (testing/kube: real API semantics and an
 * operator simulation reading moto), through @kubernetes/client-node with a kubeconfig, as the action runs it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { actionErrorOf } from '../../__fixtures__/problems.js'
import { until } from '../../__fixtures__/until.js'
import type { ClusterSettings } from '../../src/k8s/api.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import { syncFailure, syncOutputs } from '../../src/sync/report.js'
import { createRedactor } from '../../src/secrets/redact.js'
import { createAwsStore } from '../../src/ssm/aws-store.js'
import type { ParameterStore } from '../../src/ssm/store.js'
import { connectCluster } from '../../src/k8s/connect.js'
import { clusterApi } from '../../src/cluster.js'
import { checkCluster } from '../../src/preflight/preflight.js'
import { syncExternalSecrets, type SyncConfig, type SyncReport, type SyncSettings } from '../../src/sync/sync.js'
import {
  parameterStore,
  startKubeApiServer,
  type KubeApiServer,
  type KubeApiServerOptions,
  type RequestRecord
} from '../../testing/kube/index.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const LABELS = { 'zerotouch.io/managed': 'true' }

let moto: MotoServer
let store: ParameterStore
const cluster = useTestCluster()

beforeAll(async () => {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' })
  moto = await startMoto()
  store = createAwsStore({ region: 'us-east-1', endpoint: moto.endpoint })
})
afterAll(async () => moto?.stop())
beforeEach(async () => moto.reset())

async function put(name: string, value = 'v1'): Promise<void> {
  await store.putParameter({ name, value, overwrite: true, tier: 'Standard' })
}

async function server(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const kube = cluster.track(
    await startKubeApiServer({
      ssmEndpoint: moto.endpoint,
      region: 'us-east-1',
      reconcileDelayMs: 10,
      retryBaseMs: 60_000,
      ...options
    })
  )
  const [version] = options.versions ?? ['v1']
  if (version) kube.apply(parameterStore({ name: 'aws', version }))
  return kube
}

function externalSecret(
  name: string,
  {
    namespace = 'apps',
    labels = LABELS,
    keys = [`/zerotouch/prod/${name}/URL`],
    spec = {},
    version = 'v1'
  }: {
    namespace?: string
    labels?: Record<string, string>
    keys?: string[]
    spec?: Record<string, unknown>
    version?: string
  } = {}
) {
  return {
    apiVersion: `external-secrets.io/${version}`,
    kind: 'ExternalSecret',
    metadata: { name, namespace, labels },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: 'aws', kind: 'ClusterSecretStore' },
      target: { name },
      data: keys.map((key, index) => ({ secretKey: `K${index}`, remoteRef: { key } })),
      ...spec
    }
  }
}

interface PhaseInputs {
  readonly config: SyncConfig & { readonly cluster: ClusterSettings }
  readonly written: ReadonlySet<string>
}

function inputs({
  dryRun = false,
  written = [],
  ...settings
}: Partial<SyncSettings & ClusterSettings> & { dryRun?: boolean; written?: string[] } = {}): PhaseInputs {
  const { namespaces = ['apps'], kubeconfig = cluster.current.kubeconfig(), kubeContext = '', ...sync } = settings
  return {
    config: {
      cluster: { namespaces, kubeconfig, kubeContext },
      selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true'),
      sync: { annotationKey: 'force-sync', wait: true, timeoutMs: 10_000, verifyReferences: true, ...sync },
      target: { pathPrefix: '/zerotouch', environment: 'prod' },
      dryRun
    },
    written: new Set(written)
  }
}

/** The cluster's part of the run, as the main runs it: connect, the pre-flight, then the sync phase. */
async function run({ config, written }: PhaseInputs = inputs(), masked: string[] = []): Promise<SyncReport> {
  const credentials: string[] = []
  const kube = connectCluster(config.cluster, {
    mask: (value) => masked.push(value),
    credential: (value) => credentials.push(value),
    env: {},
    calls: clusterApi
  })
  const redact = createRedactor(credentials)
  const { apiVersion, stores } = await checkCluster(
    { ...config, mode: 'release', rollout: { restart: 'none' }, write: { prune: false } },
    { externalSecrets: [], stores: [] },
    { kube, redact }
  )
  return syncExternalSecrets(config, { apiVersion, written, stores }, { kube, store, redact })
}

type EsObject = {
  metadata: { annotations?: Record<string, string> }
  status?: { syncedResourceVersion?: string; conditions?: Array<{ type: string; status: string }> }
}
const es = (name: string, namespace = 'apps') =>
  cluster.current.get('ExternalSecret', namespace, name) as unknown as EsObject | undefined
const results = (report: SyncReport) =>
  Object.fromEntries(report.outcomes.map((o) => [`${o.namespace}/${o.name}`, o.result]))
const patches = (): RequestRecord[] => cluster.current.requests.filter(({ method }) => method === 'PATCH')
const esRequests = (): RequestRecord[] =>
  cluster.current.requests.filter(({ path }) => path.includes('/externalsecrets'))
/** Watches on ExternalSecrets the API server has accepted so far. */
const openedWatches = (): number =>
  esRequests().filter(({ query, status }) => query.watch === 'true' && status === 200).length

/** Applies the ExternalSecrets and waits until the operator has synced them once. */
async function synced(...objects: ReturnType<typeof externalSecret>[]): Promise<void> {
  cluster.current.apply(objects)
  await cluster.current.operator.idle()
}

/** A server whose one ExternalSecret, apps/api, has synced its parameter once. */
async function serverWithSyncedApi(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const kube = await server(options)
  await put('/zerotouch/prod/api/URL')
  await synced(externalSecret('api'))
  return kube
}

/** Resolves once `count` PATCH requests have been answered. */
const patched = (count = 1): Promise<void> =>
  until(() => patches().filter(({ status }) => status === 200).length >= count)

describe('force-sync against the test API server', () => {
  it('does not take the Ready from before the annotation: waits for the fresh sync of a slow operator', async () => {
    const kube = await serverWithSyncedApi()
    const before = es('api')!.status!.syncedResourceVersion
    expect(es('api')!.status!.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'True' })])
    kube.operator.reconcileDelayMs = 300
    const reconciles = kube.operator.reconciles.length
    const report = await run()
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
    // The operator's fresh sync had finished when the phase returned.
    expect(kube.operator.reconciles.slice(reconciles).map(({ outcome }) => outcome)).toContain('synced')
    expect(es('api')!.status!.syncedResourceVersion).not.toBe(before)
    expect(syncOutputs(report)).toEqual({ synced: '["apps/api"]' })
    expect(report.outcomes[0].seconds).toBeGreaterThan(0)
  })

  it('annotates with a JSON merge patch carrying a value unique to the run', async () => {
    await serverWithSyncedApi()
    const first = await run()
    const second = await run()
    expect(second.annotation.value).not.toBe(first.annotation.value)
    expect(results(second)).toEqual({ 'apps/api': 'synced' })
    const [patch] = patches()
    expect(patch.contentType).toBe('application/merge-patch+json')
    expect(JSON.parse(patch.body!)).toEqual({ metadata: { annotations: { 'force-sync': first.annotation.value } } })
    expect(es('api')!.metadata.annotations!['force-sync']).toBe(second.annotation.value)
  })

  it("fails the one ExternalSecret whose sync fails, with the operator's Event message, and syncs the others", async () => {
    const kube = await server()
    await put('/zerotouch/prod/api/URL')
    await put('/zerotouch/prod/web/URL')
    await synced(externalSecret('api'), externalSecret('web'))
    kube.operator.failWith('apps', 'web', 'AccessDeniedException: not authorized to perform ssm:GetParameter')
    const report = await run()
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'failed' })
    expect(report.outcomes.find(({ name }) => name === 'web')!.reason).toBe(
      'the sync failed: AccessDeniedException: not authorized to perform ssm:GetParameter'
    )
    expect(syncFailure(report)).toMatch(
      /^1 of 2 ExternalSecrets did not freshly sync:\n {2}- apps\/web \(failed\): the sync failed: AccessDeniedException/
    )
    expect(syncOutputs(report)).toEqual({ synced: '["apps/api"]' })
  })

  it('succeeds for an ExternalSecret that failed before the run once its parameter exists', async () => {
    const kube = await server()
    await synced(externalSecret('api')) // the parameter does not exist yet: Ready False, an UpdateFailed Event
    expect(es('api')!.status!.conditions).toEqual([expect.objectContaining({ type: 'Ready', status: 'False' })])
    expect(
      kube.list('Event', 'apps').some((event) => (event as unknown as { reason: string }).reason === 'UpdateFailed')
    ).toBe(true)
    await put('/zerotouch/prod/api/URL') // what the push phase does
    const report = await run()
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
  })

  it('touches nothing outside the namespace and selector', async () => {
    const kube = await server()
    for (const name of ['api', 'web', 'other', 'plain']) await put(`/zerotouch/prod/${name}/URL`)
    await synced(
      externalSecret('api'),
      externalSecret('web'),
      externalSecret('plain', { labels: { app: 'plain' } }),
      externalSecret('other', { namespace: 'other' })
    )
    const plainBefore = es('plain')
    const otherBefore = es('other', 'other')
    kube.clearRequests()
    const report = await run()
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'synced' })
    expect(
      patches()
        .map(({ path }) => path)
        .sort()
    ).toEqual([
      '/apis/external-secrets.io/v1/namespaces/apps/externalsecrets/api',
      '/apis/external-secrets.io/v1/namespaces/apps/externalsecrets/web'
    ])
    for (const request of esRequests()) {
      expect(request.path.startsWith('/apis/external-secrets.io/v1/namespaces/apps/externalsecrets')).toBe(true)
    }
    // The sync phase lists and watches the selected ones; the pre-flight lists the namespace once, whole (it
    // reads what every ExternalSecret there reads, for the prune guard), and changes nothing.
    const unselected = esRequests().filter(({ method, query }) => method === 'GET' && query.labelSelector === undefined)
    expect(unselected.map(({ query }) => query.watch)).toEqual([undefined])
    for (const request of esRequests().filter((request) => !unselected.includes(request)))
      if (request.method === 'GET') expect(request.query.labelSelector).toBe('zerotouch.io/managed=true')
    expect(kube.requests.some(({ path }) => path.includes('/namespaces/other/'))).toBe(false)
    expect(es('plain')).toEqual(plainBefore)
    expect(es('other', 'other')).toEqual(otherBefore)
  })

  it('uses v1beta1 on a cluster that serves only v1beta1', async () => {
    await server({ versions: ['v1beta1'] })
    await put('/zerotouch/prod/api/URL')
    await synced(externalSecret('api', { version: 'v1beta1' }))
    const report = await run()
    expect(report.apiVersion).toBe('v1beta1')
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
    expect(esRequests().length).toBeGreaterThan(0)
    expect(esRequests().every(({ path }) => path.startsWith('/apis/external-secrets.io/v1beta1/'))).toBe(true)
  })

  it('resumes a watch dropped mid-wait', async () => {
    const kube = await serverWithSyncedApi()
    // The operator holds the sync until the watch has been dropped and resumed.
    kube.operator.pause()
    const phase = run()
    await patched()
    await until(() => openedWatches() >= 1)
    expect(kube.dropWatches()).toBeGreaterThan(0)
    await until(() => openedWatches() >= 2)
    kube.operator.resume()
    const report = await phase
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
    const watches = esRequests().filter(({ query }) => query.watch === 'true')
    expect(watches.length).toBeGreaterThan(1)
    // resumed from where it was, not from scratch
    expect(Number(watches.at(-1)!.query.resourceVersion)).toBeGreaterThan(Number(watches[0].query.resourceVersion))
  })

  it('keeps resuming a watch dropped again and again', async () => {
    const kube = await serverWithSyncedApi()
    kube.operator.pause()
    const phase = run()
    await patched()
    for (let drop = 1; drop <= 4; drop++) {
      await until(() => openedWatches() >= drop)
      expect(kube.dropWatches()).toBeGreaterThan(0)
    }
    await until(() => openedWatches() >= 5)
    kube.operator.resume()
    const report = await phase
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
    expect(esRequests().filter(({ query }) => query.watch === 'true').length).toBeGreaterThanOrEqual(5)
  })

  it.each([
    [500, 'Internal Server Error'],
    [409, 'Conflict']
  ])('retries a patch answered with %i (%s)', async (status) => {
    const kube = await serverWithSyncedApi()
    kube.faults.failNext({ status, verb: 'patch', resource: 'externalsecrets', count: 2 })
    const report = await run()
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
    expect(patches().map(({ status }) => status)).toEqual([status, status, 200])
  })

  it('keeps waiting through an API server restart', async () => {
    const kube = await serverWithSyncedApi()
    kube.operator.pause()
    const phase = run()
    await patched()
    await kube.restart(100)
    kube.operator.resume()
    const report = await phase
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
  })

  it('lists again when its resourceVersion is too old (410 Gone), and still sees the sync', async () => {
    const kube = await server({ historyLimit: 2 })
    for (const name of ['a', 'b', 'c', 'd']) await put(`/zerotouch/prod/${name}/URL`)
    await synced(...['a', 'b', 'c', 'd'].map((name) => externalSecret(name)))
    kube.operator.reconcileDelayMs = 30
    const report = await run()
    expect(results(report)).toEqual({ 'apps/a': 'synced', 'apps/b': 'synced', 'apps/c': 'synced', 'apps/d': 'synced' })
    // four patches overflow a history of two: the watch from the list got 410 and listed again
    const lists = esRequests().filter(({ method, query }) => method === 'GET' && query.watch !== 'true')
    expect(lists.length).toBeGreaterThan(1)
  })

  it('times out naming the ExternalSecret not synced and its last condition', async () => {
    const kube = await serverWithSyncedApi()
    kube.operator.pause()
    const report = await run(inputs({ timeoutMs: 400 }))
    expect(report.outcomes).toEqual([
      expect.objectContaining({
        namespace: 'apps',
        name: 'api',
        result: 'timed-out',
        reason:
          'not freshly synced within 0.4 s: last known Ready=True (SecretSynced: secret synced), syncedResourceVersion unchanged since the annotation'
      })
    ])
    expect(syncFailure(report)).toMatch(/apps\/api \(timed out\): not freshly synced within 0\.4 s/)
  })

  it('names the verb, resource and namespace when the patch is forbidden, before anything is annotated', async () => {
    await serverWithSyncedApi({ rbac: [{ verbs: ['get', 'list', 'watch'], resources: ['*'] }] })
    const error = await actionErrorOf(run())
    expect(error).toMatchObject({
      code: 'ZT142',
      problems: [
        'forbidden: the identity of the kubeconfig may not patch externalsecrets.external-secrets.io in namespace "apps". Grant verb "patch" on resource "externalsecrets" (apiGroup "external-secrets.io") to it with a Role in namespace "apps" and a RoleBinding.'
      ]
    })
    expect(patches()).toEqual([])
  })

  it('names the user the API server gives when a patch is refused all the same', async () => {
    const kube = await serverWithSyncedApi()
    kube.faults.failNext({ status: 403, verb: 'patch', resource: 'externalsecrets' })
    const report = await run()
    expect(report.outcomes).toEqual([
      expect.objectContaining({
        result: 'failed',
        reason: expect.stringMatching(
          /^not annotated: forbidden: .* may not patch externalsecrets\.external-secrets\.io in namespace "apps"/
        )
      })
    ])
  })

  it('masks the kubeconfig and its token before using them', async () => {
    const kube = await serverWithSyncedApi()
    const masked: string[] = []
    await run(inputs(), masked)
    expect(masked).toEqual(expect.arrayContaining([kube.kubeconfig(), kube.token]))
  })

  it('dry run: checks, annotates nothing', async () => {
    const kube = await serverWithSyncedApi()
    kube.clearRequests()
    const report = await run(inputs({ dryRun: true }))
    expect(results(report)).toEqual({ 'apps/api': 'would-annotate' })
    expect(report.checkedParameters).toEqual(['/zerotouch/prod/api/URL'])
    expect(patches()).toEqual([])
    expect(es('api')!.metadata.annotations?.['force-sync']).toBeUndefined()
  })
})

describe('guardrails against the test API server', () => {
  it('refuses placeholders, cross-environment references, missing parameters and refresh policies that ignore annotations, annotating nothing', async () => {
    const kube = await server()
    await put('/zerotouch/prod/api/URL')
    kube.apply([
      externalSecret('api', { keys: ['/zerotouch/prod/api/URL', '/zerotouch/prod/api/MISSING'] }),
      externalSecret('placeholder', { keys: ['/zerotouch/_ENV_/web/URL'] }),
      externalSecret('cross', { keys: ['/zerotouch/stg/web/URL'] }),
      externalSecret('once', { keys: ['/zerotouch/prod/api/URL'], spec: { refreshPolicy: 'CreatedOnce' } }),
      externalSecret('never', { keys: ['/zerotouch/prod/api/URL'], spec: { refreshInterval: '0' } })
    ])
    await kube.operator.idle()
    kube.clearRequests()
    const error = await actionErrorOf(run())
    expect(error.message).toMatch(/^Nothing was annotated: 5 problems with the selected ExternalSecrets/)
    expect(error.problems).toEqual([
      expect.stringMatching(
        /^apps\/cross: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/stg\/web\/URL" reads environment "stg", not "prod"/
      ),
      expect.stringMatching(/^apps\/never: refreshInterval "0" with refreshPolicy unset \(Periodic\)/),
      expect.stringMatching(/^apps\/once: refreshPolicy CreatedOnce never refreshes/),
      expect.stringMatching(
        /^apps\/placeholder: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/_ENV_\/web\/URL" still contains the _ENV_ placeholder/
      ),
      'apps/api: spec.data[1].remoteRef.key "/zerotouch/prod/api/MISSING" does not exist in SSM Parameter Store (nothing was pushed under that name)'
    ])
    expect(patches()).toEqual([])
  })

  it('checks a pinned version as the operator reads it, and refuses a pin on a parameter the run wrote', async () => {
    const kube = await server()
    await put('/zerotouch/prod/api/URL', 'v1')
    await put('/zerotouch/prod/api/URL', 'v2')
    const pinned = (name: string, version: string) => ({
      ...externalSecret(name),
      spec: {
        ...externalSecret(name).spec,
        data: [{ secretKey: 'K0', remoteRef: { key: '/zerotouch/prod/api/URL', version } }]
      }
    })
    kube.apply([pinned('old', '1'), pinned('future', '7')])
    await kube.operator.idle()
    kube.clearRequests()
    const missingVersion = await actionErrorOf(run())
    expect(missingVersion.problems).toEqual([
      'apps/future: spec.data[0].remoteRef.key "/zerotouch/prod/api/URL" pins version 7, which does not exist in SSM Parameter Store'
    ])
    kube.apply([pinned('future', '2')])
    const written = await actionErrorOf(run(inputs({ written: ['/zerotouch/prod/api/URL'] })))
    expect(written.problems).toEqual([
      expect.stringMatching(
        /^apps\/future: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/prod\/api\/URL" is pinned to version 2, so the value this action writes there/
      ),
      expect.stringMatching(/^apps\/old: .* is pinned to version 1/)
    ])
    expect(patches()).toEqual([])
    expect(results(await run())).toEqual({ 'apps/future': 'synced', 'apps/old': 'synced' })
  })

  it('fails naming the namespace and selector when nothing matches', async () => {
    const kube = await server()
    kube.apply([externalSecret('plain', { labels: {} })])
    const error = await actionErrorOf(run())
    expect(error).toMatchObject({
      code: 'ZT143',
      problems: [
        expect.stringMatching(
          /^no ExternalSecret matches label selector "zerotouch.io\/managed=true" in namespace "apps":/
        )
      ]
    })
  })
})

describe('cluster problems a person can act on', () => {
  it('missing CRD', async () => {
    await server({ versions: [] })
    const error = await actionErrorOf(run())
    expect(error.message).toBe(
      'Nothing was written: the cluster does not serve the external-secrets.io API: the External Secrets Operator CRDs are not installed (or the kubeconfig points at the wrong cluster). Install the operator, or check kube-context. [ZT141]'
    )
  })

  it('unknown context, listing the contexts there are', async () => {
    await server()
    const error = await actionErrorOf(run(inputs({ kubeContext: 'prod-cluster' })))
    expect(error).toMatchObject({
      code: 'ZT100',
      problems: ['kube-context: the kubeconfig has no context "prod-cluster"; available contexts: "zerotouch-test"']
    })
  })

  it('unreachable API server', async () => {
    const kube = await server()
    const kubeconfig = kube.kubeconfig()
    const { url } = kube
    await cluster.close()
    const error = await actionErrorOf(run(inputs({ kubeconfig })))
    expect(error.message).toBe(
      `Nothing was written: cannot reach the Kubernetes API server at ${url} (ECONNREFUSED): check the server address of the kubeconfig's cluster and that the runner can reach it (private endpoint, firewall, VPN) [ZT140]`
    )
  })

  it('a wrong token', async () => {
    const kube = await server({ rbac: [{ verbs: ['*'], resources: ['*'] }], token: 'right' })
    const error = await actionErrorOf(
      run(inputs({ kubeconfig: kube.kubeconfig().replace('token: right', 'token: wrong') }))
    )
    expect(error.message).toMatch(
      /^Nothing was written: the Kubernetes API server rejected the credentials \(401 Unauthorized\)/
    )
  })
})
