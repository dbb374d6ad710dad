/**
 * The test API server against the real kubectl: discovery, listing with short names and label selectors,
 * `annotate -l` (which objects it patches, and how), `wait --for=condition=Ready` on the simulated operator,
 * `apply` as Argo CD runs it: server-side (the managedFields entry, removal of what a manager stops applying,
 * conflicts) and client-side (the last-applied configuration), and the `metadata.managedFields` writes leave (what
 * the rollout reads of a Secret: when ESO last wrote its data).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { parameterStore, startKubeApiServer, type KubeApiServer } from '../../testing/kube/index.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'
import { HAS_KUBECTL } from '../../__fixtures__/tools.ts'

if (!HAS_KUBECTL)
  console.warn(
    'kubectl is not installed: the kubectl conformance tests of the test API server are SKIPPED (install kubectl 1.32 to run them)'
  )
const itWithKubectl = HAS_KUBECTL ? it : it.skip

const run = promisify(execFile)
let moto: MotoServer
let ssm: SSMClient
let kube: KubeApiServer
let dir: string

beforeAll(async () => {
  if (!HAS_KUBECTL) return
  process.env.AWS_ACCESS_KEY_ID = 'test'
  process.env.AWS_SECRET_ACCESS_KEY = 'test'
  moto = await startMoto()
  ssm = new SSMClient({ endpoint: moto.endpoint, region: 'us-east-1' })
  await put('/zerotouch/prod/api/database_url', 'postgres://prod-db')
  await put('/zerotouch/prod/worker/queue_url', 'sqs://queue')
  kube = await startKubeApiServer({
    ssmEndpoint: moto.endpoint,
    region: 'us-east-1',
    versions: ['v1'],
    reconcileDelayMs: 50,
    retryBaseMs: 200
  })
  dir = mkdtempSync(join(tmpdir(), 'kubectl-test-'))
  writeFileSync(join(dir, 'kubeconfig'), kube.kubeconfig('zerotouch-test', 'payments'))
  kube.apply(parameterStore({ name: 'aws-parameter-store' }))
  kube.apply(`
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: api, namespace: payments, labels: { zerotouch.io/managed: "true" } }
spec:
  secretStoreRef: { name: aws-parameter-store, kind: ClusterSecretStore }
  data: [{ secretKey: DATABASE_URL, remoteRef: { key: /zerotouch/prod/api/database_url } }]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: worker, namespace: payments, labels: { zerotouch.io/managed: "true" } }
spec:
  secretStoreRef: { name: aws-parameter-store, kind: ClusterSecretStore }
  data: [{ secretKey: QUEUE_URL, remoteRef: { key: /zerotouch/prod/worker/queue_url } }]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: legacy, namespace: payments }
spec:
  secretStoreRef: { name: aws-parameter-store, kind: ClusterSecretStore }
  data: [{ secretKey: DATABASE_URL, remoteRef: { key: /zerotouch/prod/api/database_url } }]
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: api, namespace: billing, labels: { zerotouch.io/managed: "true" } }
spec:
  secretStoreRef: { name: aws-parameter-store, kind: ClusterSecretStore }
  data: [{ secretKey: DATABASE_URL, remoteRef: { key: /zerotouch/prod/api/database_url } }]
`)
  await kube.operator.idle()
})

afterAll(async () => {
  await kube?.close()
  ssm?.destroy()
  await moto?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function put(name: string, value: string) {
  return ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true }))
}

/** Runs the real kubectl against the test server (asynchronously: the server lives in this process). */
async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(
    'kubectl',
    ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args],
    { timeout: 30_000 }
  )
  return stdout
}

/** `kubectl get externalsecrets -o json`: a List, with the fields these tests read of each item. */
interface ExternalSecretList {
  kind: string
  items: { metadata: { name: string }; status: { conditions: unknown[] } }[]
}

/** Runs kubectl with `-o json` output and reads it as `T`, the shape the test describes. */
async function kubectlJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl(...args)) as T
}

function syncedResourceVersion(namespace: string, name: string): string | undefined {
  return (kube.get('ExternalSecret', namespace, name)?.status as { syncedResourceVersion?: string } | undefined)
    ?.syncedResourceVersion
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('kubectl 1.32 against the test API server', () => {
  itWithKubectl('gets ExternalSecrets as JSON, by short name, as a table, and by label across namespaces', async () => {
    const list = await kubectlJson<ExternalSecretList>('get', 'externalsecrets', '-n', 'payments', '-o', 'json')
    expect(list.kind).toBe('List')
    expect(list.items.map((item) => item.metadata.name)).toEqual(['api', 'legacy', 'worker'])
    for (const item of list.items) {
      expect(item).toMatchObject({
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        spec: { refreshInterval: '1h' }
      })
      expect(item.status.conditions).toEqual([
        expect.objectContaining({ type: 'Ready', status: 'True', reason: 'SecretSynced' })
      ])
    }

    const table = (await kubectl('get', 'es')).trim().split('\n')
    expect(table[0].split(/\s{2,}/)).toEqual(['NAME', 'STORETYPE', 'STORE', 'REFRESH INTERVAL', 'STATUS', 'READY'])
    expect(table.slice(1).map((row) => row.split(/\s+/))).toEqual([
      ['api', 'ClusterSecretStore', 'aws-parameter-store', '1h', 'SecretSynced', 'True'],
      ['legacy', 'ClusterSecretStore', 'aws-parameter-store', '1h', 'SecretSynced', 'True'],
      ['worker', 'ClusterSecretStore', 'aws-parameter-store', '1h', 'SecretSynced', 'True']
    ])

    const labelled = await kubectl('get', 'es', '-A', '-l', 'zerotouch.io/managed=true', '-o', 'name')
    expect(labelled.trim().split('\n')).toEqual([
      'externalsecret.external-secrets.io/api',
      'externalsecret.external-secrets.io/api',
      'externalsecret.external-secrets.io/worker'
    ])
    expect(
      kube.requests.find((r) => r.path === '/apis/external-secrets.io/v1/externalsecrets')?.query.labelSelector
    ).toBe('zerotouch.io/managed=true')
  })

  itWithKubectl(
    'gets SecretStores and ClusterSecretStores by name and short name, as the action reads them',
    async () => {
      kube.apply(
        parameterStore({ kind: 'SecretStore', name: 'tenant-ssm', namespace: 'payments', prefix: '/zerotouch/prod/' })
      )
      const store = await kubectlJson<{ kind: string; metadata: { namespace?: string }; spec: unknown }>(
        'get',
        'secretstore',
        'tenant-ssm',
        '-n',
        'payments',
        '-o',
        'json'
      )
      expect(store).toMatchObject({
        kind: 'SecretStore',
        metadata: { namespace: 'payments' },
        spec: { provider: { aws: { service: 'ParameterStore', prefix: '/zerotouch/prod/' } } }
      })
      const cluster = await kubectlJson<{ kind: string; metadata: { namespace?: string } }>(
        'get',
        'css',
        'aws-parameter-store',
        '-o',
        'json'
      )
      expect(cluster.kind).toBe('ClusterSecretStore')
      expect(cluster.metadata.namespace).toBeUndefined()
      const table = (await kubectl('get', 'ss', '-n', 'payments')).trim().split('\n')
      expect(table[0].split(/\s{2,}/)).toEqual(['NAME', 'AGE', 'STATUS', 'CAPABILITIES', 'READY'])
      expect(table[1].split(/\s+/)[0]).toBe('tenant-ssm')
      expect(await kubectl('get', 'clustersecretstores', '-o', 'name')).toBe(
        'clustersecretstore.external-secrets.io/aws-parameter-store\n'
      )
    }
  )

  itWithKubectl('annotates only the labelled ExternalSecrets of the namespace, with merge patches', async () => {
    kube.clearRequests()
    const out = await kubectl(
      'annotate',
      'externalsecret',
      '-n',
      'payments',
      '-l',
      'zerotouch.io/managed=true',
      'force-sync=123',
      '--overwrite'
    )
    expect(out.trim().split('\n')).toEqual([
      'externalsecret.external-secrets.io/api annotated',
      'externalsecret.external-secrets.io/worker annotated'
    ])

    const annotation = (namespace: string, name: string) =>
      kube.get('es', namespace, name)?.metadata.annotations?.['force-sync']
    expect([
      annotation('payments', 'api'),
      annotation('payments', 'worker'),
      annotation('payments', 'legacy'),
      annotation('billing', 'api')
    ]).toEqual(['123', '123', undefined, undefined])
    const listing = kube.requests.find(
      (r) => r.method === 'GET' && r.path === '/apis/external-secrets.io/v1/namespaces/payments/externalsecrets'
    )
    expect(listing?.query.labelSelector).toBe('zerotouch.io/managed=true')
    const patches = kube.requests.filter((r) => r.method === 'PATCH')
    expect(
      patches.map(({ path, contentType, body, status }) => ({
        path,
        contentType,
        body: JSON.parse(body ?? '{}') as unknown,
        status
      }))
    ).toEqual(
      ['api', 'worker'].map((name) => ({
        path: `/apis/external-secrets.io/v1/namespaces/payments/externalsecrets/${name}`,
        contentType: 'application/merge-patch+json',
        body: { metadata: { annotations: { 'force-sync': '123' } } },
        status: 200
      }))
    )
  })

  itWithKubectl(
    'waits for Ready: at once on a stale Ready, and until the operator syncs a new ExternalSecret',
    async () => {
      // Ready before the annotation stays Ready: kubectl wait cannot tell the fresh sync from the old one.
      await kube.operator.idle()
      kube.operator.pause()
      const before = syncedResourceVersion('payments', 'api')
      await kubectl('annotate', 'es', 'api', '-n', 'payments', 'force-sync=456', '--overwrite')
      expect(
        await kubectl('wait', '--for=condition=Ready', 'externalsecret/api', '-n', 'payments', '--timeout=20s')
      ).toContain('externalsecret.external-secrets.io/api condition met')
      expect(syncedResourceVersion('payments', 'api')).toBe(before)
      kube.operator.resume()
      await until(() => syncedResourceVersion('payments', 'api') !== before)

      // A new ExternalSecret whose parameter appears later: wait returns once the operator's retry succeeds. In a
      // namespace of its own, so that the listings of the other cases do not depend on whether this one ran first.
      kube.apply({
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'fresh', namespace: 'onboarding' },
        spec: {
          secretStoreRef: { name: 'aws-parameter-store', kind: 'ClusterSecretStore' },
          data: [{ secretKey: 'TOKEN', remoteRef: { key: '/zerotouch/prod/fresh/token' } }]
        }
      })
      const waiting = kubectl(
        'wait',
        '--for=condition=Ready',
        'externalsecret/fresh',
        '-n',
        'onboarding',
        '--timeout=20s'
      )
      await until(() => kube.list('event', 'onboarding').some((event) => event.reason === 'UpdateFailed'))
      await put('/zerotouch/prod/fresh/token', 's3cr3t')
      expect(await waiting).toContain('externalsecret.external-secrets.io/fresh condition met')
      const watchRequest = kube.requests.find(
        (r) => r.query.watch === 'true' && r.query.fieldSelector === 'metadata.name=fresh'
      )
      expect(watchRequest?.status).toBe(200)

      const token = await kubectl('get', 'secret', 'fresh', '-n', 'onboarding', '-o', 'jsonpath={.data.TOKEN}')
      expect(Buffer.from(token, 'base64').toString('utf8')).toBe('s3cr3t')
      const url = await kubectl('get', 'secret', 'api', '-o', 'jsonpath={.data.DATABASE_URL}')
      expect(Buffer.from(url, 'base64').toString('utf8')).toBe('postgres://prod-db')
    }
  )

  itWithKubectl(
    "records each write's manager and time in managedFields: ESO's for the Secret, kubectl's per command, the others kept; a write that changes nothing moves nothing",
    async () => {
      await kube.operator.idle()
      interface Entry {
        manager: string
        operation: string
        apiVersion: string
        time: string
        fieldsType: string
        fieldsV1?: unknown
      }
      const entries = async (): Promise<{ resourceVersion: string; managedFields: Entry[] }> =>
        (
          await kubectlJson<{ metadata: { resourceVersion: string; managedFields: Entry[] } }>(
            'get',
            'secret',
            'api',
            '-n',
            'payments',
            '-o',
            'json',
            '--show-managed-fields'
          )
        ).metadata
      expect(
        await kubectl('get', 'secret', 'api', '-n', 'payments', '-o', 'jsonpath={.metadata.managedFields[*].manager}')
      ).toBe('external-secrets')
      const written = await entries()
      expect(written.managedFields).toEqual([
        {
          manager: 'external-secrets',
          operation: 'Update',
          apiVersion: 'v1',
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          fieldsType: 'FieldsV1',
          // The fields ESO's write set, which it owns.
          fieldsV1: {
            'f:data': { 'f:DATABASE_URL': {} },
            'f:metadata': {
              'f:annotations': { 'f:reconcile.external-secrets.io/data-hash': {} },
              'f:labels': {
                'f:reconcile.external-secrets.io/created-by': {},
                'f:reconcile.external-secrets.io/managed': {}
              },
              'f:ownerReferences': {}
            },
            'f:type': {}
          }
        }
      ])
      // kubectl hides them unless asked.
      expect(await kubectl('get', 'secret', 'api', '-n', 'payments', '-o', 'yaml')).not.toContain('managedFields')

      // A fresh sync of unchanged data: ESO does not write the Secret, its entry keeps its time.
      const before = syncedResourceVersion('payments', 'api')
      await kubectl('annotate', 'es', 'api', '-n', 'payments', 'force-sync=789', '--overwrite')
      await until(() => syncedResourceVersion('payments', 'api') !== before)
      expect(await entries()).toEqual(written)

      // kubectl label is manager kubectl-label (its --field-manager); the same label again changes nothing.
      const esEntries = async () =>
        (
          await kubectlJson<{ metadata: { resourceVersion: string; managedFields?: Entry[] } }>(
            'get',
            'es',
            'api',
            '-n',
            'billing',
            '-o',
            'json',
            '--show-managed-fields'
          )
        ).metadata
      await kubectl('label', 'es', 'api', '-n', 'billing', 'team=billing')
      // A label change makes the operator reconcile (and write the status): let it finish first.
      await kube.operator.idle()
      const labelled = await esEntries()
      expect(labelled.managedFields?.map(({ manager, operation }) => `${manager}/${operation}`)).toEqual([
        'kubectl-label/Update'
      ])
      await kubectl('label', 'es', 'api', '-n', 'billing', 'team=billing', '--overwrite')
      await kube.operator.idle()
      expect(await esEntries()).toEqual(labelled)
      await kubectl('annotate', 'es', 'api', '-n', 'billing', 'owner=payments')
      const annotated = await esEntries()
      expect(annotated.managedFields?.map(({ manager }) => manager)).toEqual(['kubectl-label', 'kubectl-annotate'])
      expect(annotated.managedFields?.[0]).toEqual(labelled.managedFields?.[0])
    }
  )
})

/** A managedFields entry, as kubectl shows it with --show-managed-fields. */
interface ManagedFieldsEntry {
  manager: string
  operation: string
  apiVersion: string
  time: string
  fieldsType: string
  fieldsV1: unknown
}

interface Applied {
  metadata: {
    labels?: Record<string, string>
    annotations?: Record<string, string>
    managedFields?: ManagedFieldsEntry[]
  }
  spec: { refreshInterval?: string; data: { secretKey: string; remoteRef: Record<string, string> }[] }
}

describe('kubectl 1.32 applying ExternalSecrets as Argo CD does', () => {
  /** A manifest as Git has it: the webhook secret read as a property of a JSON parameter, a team label. */
  const manifest = ({ name = 'provider', property = true, team = true, refreshInterval = '1h' } = {}) => `
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: ${name}
  namespace: gitops
  labels: { app.kubernetes.io/instance: payments${team ? ', team: payments' : ''} }
spec:
  refreshInterval: ${refreshInterval}
  secretStoreRef: { name: aws-parameter-store, kind: ClusterSecretStore }
  data:
  - secretKey: WEBHOOK_SECRET
    remoteRef: { key: /zerotouch/prod/api/database_url${property ? ', property: signing' : ''} }
`
  let file: string
  const write = (text: string) => writeFileSync(file, text)
  const get = (name = 'provider') =>
    kubectlJson<Applied>('get', 'es', name, '-n', 'gitops', '--show-managed-fields', '-o', 'json')
  /** The file applied server-side by `manager`, forced, as Argo CD applies. */
  const applyForced = (manager: string) =>
    kubectl('apply', '--server-side', '--force-conflicts', `--field-manager=${manager}`, '--validate=false', '-f', file)

  beforeAll(() => {
    if (!HAS_KUBECTL) return
    file = join(dir, 'provider.yaml')
    kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gitops' } })
  })

  itWithKubectl(
    'server-side apply: creates, records the Apply entry with the fields applied (lists whole), and removes what the manager no longer applies',
    async () => {
      kube.clearRequests()
      write(manifest())
      const ssa = ['apply', '--server-side', '--field-manager=argocd-controller', '--validate=false', '-f', file]
      expect(await kubectl(...ssa)).toContain('externalsecret.external-secrets.io/provider serverside-applied')
      const request = kube.requests.find(({ method }) => method === 'PATCH')
      expect(request).toMatchObject({
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'argocd-controller', force: 'false' },
        status: 201
      })
      const created = await get()
      expect(created.metadata.managedFields).toEqual([
        {
          apiVersion: 'external-secrets.io/v1',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/instance': {}, 'f:team': {} } },
            'f:spec': {
              'f:data': {},
              'f:refreshInterval': {},
              'f:secretStoreRef': { 'f:kind': {}, 'f:name': {} }
            }
          },
          manager: 'argocd-controller',
          operation: 'Apply',
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
        }
      ])
      expect(created.spec.data[0].remoteRef).toMatchObject({ property: 'signing', conversionStrategy: 'Default' })

      write(manifest({ property: false, team: false }))
      await kubectl(...ssa)
      const applied = await get()
      expect(applied.metadata.labels).toEqual({ 'app.kubernetes.io/instance': 'payments' })
      expect(applied.spec.data[0].remoteRef).not.toHaveProperty('property')
      expect(applied.metadata.managedFields?.map(({ fieldsV1 }) => fieldsV1)).toEqual([
        {
          'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/instance': {} } },
          'f:spec': { 'f:data': {}, 'f:refreshInterval': {}, 'f:secretStoreRef': { 'f:kind': {}, 'f:name': {} } }
        }
      ])
    }
  )

  itWithKubectl(
    "server-side apply: another manager's change to an owned field conflicts until forced, which takes the field",
    async () => {
      write(manifest({ name: 'contested', property: false, team: false }))
      await kubectl('apply', '--server-side', '--field-manager=argocd-controller', '--validate=false', '-f', file)
      write(manifest({ name: 'contested', property: false, team: false, refreshInterval: '5m' }))
      const other = ['apply', '--server-side', '--validate=false', '-f', file]
      // The list too: the live one holds the CRD's defaults, the applied one not (the server defaults after merging).
      await expect(kubectl(...other)).rejects.toThrow(
        'Apply failed with 2 conflicts: conflicts with "argocd-controller":\n- .spec.data\n- .spec.refreshInterval'
      )
      await kubectl(...other, '--force-conflicts')
      const forced = await get('contested')
      expect(forced.spec.refreshInterval).toBe('5m')
      const owners = Object.fromEntries(
        (forced.metadata.managedFields ?? []).map(({ manager, operation, fieldsV1 }) => [
          `${manager}/${operation}`,
          Object.keys((fieldsV1 as { 'f:spec': Record<string, unknown> })['f:spec'])
        ])
      )
      // kubectl's default manager for --server-side is "kubectl".
      expect(owners).toEqual({
        'argocd-controller/Apply': ['f:secretStoreRef'],
        'kubectl/Apply': ['f:data', 'f:refreshInterval', 'f:secretStoreRef']
      })
    }
  )

  itWithKubectl(
    "server-side apply: a field two managers apply stays until neither does; each manager's entry is its own",
    async () => {
      const apply = (manager: string, team: boolean) => {
        write(manifest({ name: 'shared', property: false, team }))
        // Forced, as Argo CD applies: the list the server defaulted conflicts otherwise.
        return applyForced(manager)
      }
      await apply('argocd-controller', true)
      await apply('team-bot', true)
      await apply('argocd-controller', false)
      const kept = await get('shared')
      expect(kept.metadata.labels?.team).toBe('payments')
      expect(kept.metadata.managedFields?.map(({ manager, operation }) => `${manager}/${operation}`).sort()).toEqual([
        'argocd-controller/Apply',
        'team-bot/Apply'
      ])
      await apply('team-bot', false)
      expect((await get('shared')).metadata.labels).toEqual({ 'app.kubernetes.io/instance': 'payments' })
    }
  )

  itWithKubectl(
    "server-side apply after client-side apply: kubectl moves the client-side fields to the applier and drops the annotation (csaupgrade); an annotation kept is kept current for kubectl's own manager only",
    async () => {
      const name = 'migrated'
      const live = () => get(name)
      const lastApplied = async () => {
        const annotation = (await live()).metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']
        return annotation === undefined ? undefined : (JSON.parse(annotation) as Applied).spec.refreshInterval
      }
      kube.apply({
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name, namespace: 'gitops' },
        spec: { data: [] }
      })
      write(manifest({ name, property: false }))
      await kubectl('apply', '--validate=false', '-f', file)
      expect(await lastApplied()).toBe('1h')
      expect(
        (await live()).metadata.managedFields?.map(({ manager, operation }) => `${manager}/${operation}`)
      ).toContain('kubectl-client-side-apply/Update')
      // k8s.io/client-go util/csaupgrade UpgradeManagedFields, which kubectl apply --server-side runs first.
      write(manifest({ name, property: false, refreshInterval: '2h' }))
      await applyForced('argocd-controller')
      expect(await lastApplied()).toBeUndefined()
      const migrated = (await live()).metadata.managedFields ?? []
      expect(migrated.map(({ manager, operation }) => `${manager}/${operation}`)).not.toContain(
        'kubectl-client-side-apply/Update'
      )
      expect(migrated.find(({ manager }) => manager === 'argocd-controller')).toMatchObject({
        operation: 'Apply',
        fieldsV1: { 'f:spec': { 'f:refreshInterval': {} } }
      })
      expect((await live()).spec.refreshInterval).toBe('2h')

      // An annotation written some other way (no client-side entry to migrate): server-side apply keeps it current
      // for kubectl's own manager only (k8s.io/apimachinery pkg/util/managedfields/internal/lastappliedupdater.go).
      const current = kube.get('ExternalSecret', 'gitops', name)!
      kube.apply({
        ...current,
        metadata: {
          ...current.metadata,
          annotations: {
            ...current.metadata.annotations,
            'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ spec: { refreshInterval: '1h' } })
          }
        }
      })
      write(manifest({ name, property: false, refreshInterval: '3h' }))
      await applyForced('argocd-controller')
      expect(await lastApplied()).toBe('1h')
      write(manifest({ name, property: false, refreshInterval: '4h' }))
      await applyForced('kubectl')
      expect(await lastApplied()).toBe('4h')
    }
  )

  itWithKubectl('server-side apply needs a field manager, as the real API server', async () => {
    const response = await fetch(`${kube.url}/apis/external-secrets.io/v1/namespaces/gitops/externalsecrets/provider`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${kube.token}`, 'Content-Type': 'application/apply-patch+yaml' },
      body: manifest()
    })
    expect(response.status).toBe(422)
    expect(((await response.json()) as { message: string }).message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )
  })

  itWithKubectl(
    'client-side apply: kubectl records the object as applied in last-applied-configuration and removes what it no longer applies',
    async () => {
      kube.apply({
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'client-side', namespace: 'gitops' },
        spec: { data: [] }
      })
      const csa = (text: string) => {
        write(text)
        return kubectl('apply', '--validate=false', '-f', file)
      }
      await csa(manifest({ name: 'client-side' }))
      const first = await get('client-side')
      const lastApplied = JSON.parse(
        first.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}'
      ) as Applied
      expect(lastApplied.spec.data[0].remoteRef).toEqual({
        key: '/zerotouch/prod/api/database_url',
        property: 'signing'
      })
      expect(lastApplied.metadata.labels).toEqual({ 'app.kubernetes.io/instance': 'payments', team: 'payments' })

      await csa(manifest({ name: 'client-side', property: false, team: false }))
      const second = await get('client-side')
      expect(second.spec.data[0].remoteRef).not.toHaveProperty('property')
      expect(second.metadata.labels).toEqual({ 'app.kubernetes.io/instance': 'payments' })
      expect(
        (
          JSON.parse(
            second.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}'
          ) as Applied
        ).spec.data[0].remoteRef
      ).toEqual({ key: '/zerotouch/prod/api/database_url' })
    }
  )
})

/**
 * The ClusterExternalSecret controller (external-secrets pkg/controllers/clusterexternalsecret/
 * clusterexternalsecret_controller.go) as kubectl sees it: it creates and controls an ExternalSecret in each selected
 * namespace, resets the annotations of each on every reconcile (a direct annotation is reverted and the operator
 * never refreshes for it), and passes on its own external-secrets.io/force-sync, which the operator then syncs.
 */
describe('kubectl 1.32: ClusterExternalSecrets', () => {
  const annotationsOf = (namespace: string) =>
    kube.get('ExternalSecret', namespace, 'shared-db')?.metadata.annotations ?? {}

  beforeAll(async () => {
    if (!HAS_KUBECTL) return
    kube.apply(`
apiVersion: v1
kind: Namespace
metadata: { name: tenant-a, labels: { tenancy: shared } }
---
apiVersion: v1
kind: Namespace
metadata: { name: tenant-b, labels: { tenancy: shared } }
---
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: { name: shared-db }
spec:
  namespaceSelectors: [{ matchLabels: { tenancy: shared } }]
  externalSecretMetadata: { labels: { team: shared }, annotations: { owner: platform } }
  externalSecretSpec:
    secretStoreRef: { name: aws-parameter-store, kind: ClusterSecretStore }
    data: [{ secretKey: DATABASE_URL, remoteRef: { key: /zerotouch/prod/api/database_url } }]
`)
    await until(() => ['tenant-a', 'tenant-b'].every((namespace) => syncedResourceVersion(namespace, 'shared-db')))
  })

  itWithKubectl('creates a controlled ExternalSecret in each selected namespace, listed as ces', async () => {
    const table = await kubectl('get', 'ces')
    expect(table.split('\n')[0].split(/\s{2,}/)).toEqual(['NAME', 'STORE', 'REFRESH INTERVAL', 'READY'])
    expect(table).toMatch(/^shared-db\s+aws-parameter-store\s+True$/m)
    expect(await kubectl('get', 'ces', 'shared-db', '-o', 'jsonpath={.status.provisionedNamespaces}')).toBe(
      '["tenant-a","tenant-b"]'
    )
    const owner = await kubectl(
      'get',
      'es',
      'shared-db',
      '-n',
      'tenant-a',
      '-o',
      'jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].controller}'
    )
    expect(owner).toBe('ClusterExternalSecret/true')
    expect(annotationsOf('tenant-a').owner).toBe('platform')
  })

  itWithKubectl(
    'reverts an annotation written on an owned ExternalSecret before the operator refreshes it',
    async () => {
      // What the ClusterExternalSecret sets (its force-sync too, when another case annotated it first).
      const annotations = annotationsOf('tenant-a')
      const before = syncedResourceVersion('tenant-a', 'shared-db')
      const reconciles = kube.operator.reconciles.length
      await kubectl('annotate', 'es', 'shared-db', '-n', 'tenant-a', 'force-sync=direct', '--overwrite')
      await until(() => annotationsOf('tenant-a')['force-sync'] === undefined)
      await kube.operator.idle()
      expect(annotationsOf('tenant-a')).toEqual(annotations)
      expect(syncedResourceVersion('tenant-a', 'shared-db')).toBe(before)
      expect(
        kube.operator.reconciles
          .slice(reconciles)
          .filter(({ namespace, outcome }) => namespace === 'tenant-a' && outcome === 'synced')
      ).toEqual([])
    }
  )

  itWithKubectl(
    'passes its own external-secrets.io/force-sync on to every ExternalSecret it owns, which then syncs',
    async () => {
      const before = ['tenant-a', 'tenant-b'].map((namespace) => syncedResourceVersion(namespace, 'shared-db'))
      await kubectl('annotate', 'ces', 'shared-db', 'external-secrets.io/force-sync=run-1', '--overwrite')
      for (const namespace of ['tenant-a', 'tenant-b'])
        await kubectl(
          'wait',
          '--for=jsonpath={.metadata.annotations.external-secrets\\.io/force-sync}=run-1',
          'es/shared-db',
          '-n',
          namespace,
          '--timeout=20s'
        )
      await until(() =>
        ['tenant-a', 'tenant-b'].every(
          (namespace, index) => syncedResourceVersion(namespace, 'shared-db') !== before[index]
        )
      )
      expect(annotationsOf('tenant-b')).toEqual({ owner: 'platform', 'external-secrets.io/force-sync': 'run-1' })
    }
  )
})

/**
 * Argo Rollouts' Rollout CRD and controller (argoproj/argo-rollouts rollout/restart.go, utils/rollout/rolloututil.go)
 * as kubectl reads them: the printer columns, `kubectl patch --type merge` of spec.restartAt as `kubectl argo rollouts
 * restart` sends it, and `kubectl wait --for=jsonpath` on the status the controller writes.
 */
describe('kubectl 1.32: Argo Rollouts', () => {
  let rollouts: KubeApiServer
  let rolloutsDir: string
  const rolloutKubectl = (...args: string[]) =>
    run(
      'kubectl',
      ['--kubeconfig', join(rolloutsDir, 'kubeconfig'), '--cache-dir', join(rolloutsDir, 'cache'), ...args],
      { timeout: 30_000 }
    ).then(({ stdout }) => stdout)
  const rollout = (name: string, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      strategy: { canary: {} },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27', envFrom: [{ secretRef: { name: 'app' } }] }] }
      },
      ...spec
    }
  })
  const setSecret = (value: string) =>
    rollouts.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app', namespace: 'shop' },
      stringData: { DATABASE_URL: value }
    })
  const valuesRead = (name: string) =>
    rollouts.controllers
      .podsOf('Rollout', 'shop', name)
      .map((pod) => rollouts.podSecretData('shop', pod.metadata.name)?.secrets['app/DATABASE_URL'])
  /** What `kubectl argo rollouts restart` patches: the next whole second, so that it has passed within a second. */
  const restart = async (name: string): Promise<string> => {
    const restartAt = new Date(Math.ceil(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z')
    await rolloutKubectl('patch', 'rollout', name, '--type', 'merge', '-p', JSON.stringify({ spec: { restartAt } }))
    return restartAt
  }

  beforeAll(async () => {
    if (!HAS_KUBECTL) return
    rollouts = await startKubeApiServer({ argoRollouts: true, podStartMs: 20, secondMs: 50 })
    rolloutsDir = mkdtempSync(join(tmpdir(), 'kubectl-rollouts-'))
    writeFileSync(join(rolloutsDir, 'kubeconfig'), rollouts.kubeconfig('zerotouch-test', 'shop'))
    setSecret('postgres://v1')
    rollouts.apply([
      rollout('api'),
      rollout('listed'),
      rollout('held', { paused: true }),
      rollout('broken', { progressDeadlineSeconds: 4 })
    ])
    await until(() => ['api', 'listed', 'broken'].every((name) => phaseOf(name) === 'Healthy'))
  })

  afterAll(async () => {
    await rollouts?.close()
    if (rolloutsDir) rmSync(rolloutsDir, { recursive: true, force: true })
  })

  const statusOf = (name: string) =>
    (rollouts.get('Rollout', 'shop', name)?.status ?? {}) as { phase?: string; message?: string; restartedAt?: string }
  const phaseOf = (name: string) => statusOf(name).phase

  itWithKubectl('lists Rollouts with the CRD’s printer columns, by resource.group and short name', async () => {
    const table = await rolloutKubectl('get', 'rollouts.argoproj.io')
    expect(table.split('\n')[0].split(/\s+/)).toEqual(['NAME', 'DESIRED', 'CURRENT', 'UP-TO-DATE', 'AVAILABLE', 'AGE'])
    expect(table).toMatch(/^listed\s+2\s+2\s+2\s+2\s+\S+$/m)
    expect(
      await rolloutKubectl('get', 'ro', 'listed', '-o', 'jsonpath={.status.phase} {.status.observedGeneration}')
    ).toBe('Healthy 1')
  })

  itWithKubectl(
    'restarts on a merge patch of spec.restartAt: a new generation, the old pods replaced, restartedAt set, Healthy',
    async () => {
      const before = rollouts.controllers.podsOf('Rollout', 'shop', 'api').map((pod) => pod.metadata.name)
      setSecret('postgres://v2')
      const restartAt = await restart('api')
      // A spec change: the API server raises the generation, though the pod template is the same.
      expect(await rolloutKubectl('get', 'rollout', 'api', '-o', 'jsonpath={.metadata.generation}')).toBe('2')
      await rolloutKubectl('wait', `--for=jsonpath={.status.restartedAt}=${restartAt}`, 'rollout/api', '--timeout=20s')
      await rolloutKubectl('wait', '--for=jsonpath={.status.phase}=Healthy', 'rollout/api', '--timeout=20s')
      expect(await rolloutKubectl('get', 'rollout', 'api', '-o', 'jsonpath={.status.observedGeneration}')).toBe('2')
      const after = rollouts.controllers.podsOf('Rollout', 'shop', 'api')
      expect(after.map((pod) => pod.metadata.name).some((name) => before.includes(name))).toBe(false)
      expect(after.every((pod) => Date.parse(pod.metadata.creationTimestamp ?? '') >= Date.parse(restartAt))).toBe(true)
      expect(valuesRead('api')).toEqual(['postgres://v2', 'postgres://v2'])
      // No new revision: the same ReplicaSet runs the new pods.
      expect(rollouts.list('ReplicaSet', 'shop').filter((rs) => rs.metadata.name.startsWith('api-'))).toHaveLength(1)
    }
  )

  itWithKubectl('replaces the pods of a paused Rollout too, whose phase stays Paused (manually paused)', async () => {
    expect(statusOf('held')).toMatchObject({ phase: 'Paused', message: 'manually paused' })
    const restartAt = await restart('held')
    await rolloutKubectl('wait', `--for=jsonpath={.status.restartedAt}=${restartAt}`, 'rollout/held', '--timeout=20s')
    expect(statusOf('held')).toMatchObject({ phase: 'Paused', message: 'manually paused' })
  })

  itWithKubectl('turns Degraded with the progress deadline when the restarted pods never become ready', async () => {
    rollouts.controllers.failPods('shop', 'broken')
    await restart('broken')
    await rolloutKubectl('wait', '--for=jsonpath={.status.phase}=Degraded', 'rollout/broken', '--timeout=20s')
    expect(await rolloutKubectl('get', 'rollout', 'broken', '-o', 'jsonpath={.status.message}')).toMatch(
      /^ProgressDeadlineExceeded: ReplicaSet "broken-\w+" has timed out progressing\.$/
    )
  })

  itWithKubectl('has no rollouts resource where the CRD is not installed', async () => {
    await expect(kubectl('get', 'rollouts.argoproj.io')).rejects.toThrow(
      /the server doesn't have a resource type "rollouts"/
    )
  })
})
