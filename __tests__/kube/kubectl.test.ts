/**
 * The test API server against the real kubectl: discovery, listing with short names and label selectors,
 * `annotate -l` (which objects it patches, and how), `wait --for=condition=Ready` on the simulated operator, and the
 * `metadata.managedFields` writes leave (what the rollout reads of a Secret: when ESO last wrote its data).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { startKubeApiServer, type KubeApiServer } from '../../testing/kube/index.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'

const KUBECTL_PRESENT = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0
if (!KUBECTL_PRESENT)
  console.warn(
    'kubectl is not installed: the kubectl conformance tests of the test API server are SKIPPED (install kubectl 1.32 to run them)'
  )
const itWithKubectl = KUBECTL_PRESENT ? it : it.skip

const run = promisify(execFile)
let moto: MotoServer
let ssm: SSMClient
let kube: KubeApiServer
let dir: string

beforeAll(async () => {
  if (!KUBECTL_PRESENT) return
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
        spec: { data: [{ secretKey: 'TOKEN', remoteRef: { key: '/zerotouch/prod/fresh/token' } }] }
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
          fieldsType: 'FieldsV1'
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
