/**
 * Workloads on the test API server: apps/v1 Deployments, StatefulSets, DaemonSets (and the Deployments'
 * ReplicaSets), core/v1 pods, the simulated controllers and kubelet. First against the real kubectl 1.32 (`rollout
 * restart`, `rollout status`, `get`), then through the API (defaults, strategic merge patch, the rollout rules,
 * what pods read from Secrets) and @kubernetes/client-node.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node'
import { request, watch } from '../../testing/kube/client.ts'
import {
  SECRET_DATA_ANNOTATION,
  secretValueHash,
  startKubeApiServer,
  type Deployment,
  type KubeApiServer,
  type KubeApiServerOptions,
  type KubeObject,
  type Pod,
  type StatefulSet,
  type WorkloadKind
} from '../../testing/kube/index.ts'
import { HAS_KUBECTL } from '../../__fixtures__/tools.ts'

if (!HAS_KUBECTL)
  console.warn(
    'kubectl is not installed: the kubectl rollout tests of the test API server are SKIPPED (install kubectl 1.32 to run them)'
  )
const itWithKubectl = HAS_KUBECTL ? it : it.skip

const run = promisify(execFile)
const servers: KubeApiServer[] = []

afterAll(async () => {
  for (const kube of servers) await kube.close()
})

/** A server for these tests: fast pods; `secondMs` 50 makes a progressDeadlineSeconds of 4 last 200 ms. */
async function start(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const kube = await startKubeApiServer({ podStartMs: 20, secondMs: 50, ...options })
  servers.push(kube)
  return kube
}

type Kind = 'Deployment' | 'StatefulSet' | 'DaemonSet'

/** A workload whose one container reads the Secret `app` (envFrom), labelled app=<name>. */
function workload(kind: Kind, name: string, spec: Record<string, unknown> = {}, namespace = 'shop'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'nginx:1.27', envFrom: [{ secretRef: { name: 'app' } }] }] }
      },
      ...spec
    }
  }
}

function secret(name: string, data: Record<string, string>, namespace = 'shop'): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: data }
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
const condition = (object: KubeObject | undefined, type: string) =>
  (object?.status as { conditions?: Record<string, string>[] } | undefined)?.conditions?.find((c) => c.type === type)

/** The value of `app/<key>` each pod of the workload read when it started. */
function valuesRead(
  kube: KubeApiServer,
  kind: WorkloadKind,
  name: string,
  key = 'DATABASE_URL',
  namespace = 'shop'
): (string | undefined)[] {
  return kube.controllers
    .podsOf(kind, namespace, name)
    .map((pod) => kube.podSecretData(namespace, pod.metadata.name)?.secrets[`app/${key}`])
}

interface KubectlResult {
  code: number
  stdout: string
  stderr: string
}

const kubeconfigDirs: string[] = []
afterAll(() => {
  for (const dir of kubeconfigDirs) rmSync(dir, { recursive: true, force: true })
})

/** The real kubectl with the kubeconfig in `dir`: its exit code and output; never throws for a non-zero exit. */
async function kubectlIn(dir: string, ...args: string[]): Promise<KubectlResult> {
  try {
    const { stdout, stderr } = await run(
      'kubectl',
      ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), ...args],
      { timeout: 30_000 }
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const { code, stdout, stderr } = error as KubectlResult
    return { code, stdout, stderr }
  }
}

/** A server with the workloads of the kubectl cases, settled, and a folder with its kubeconfig. */
async function kubectlCluster(): Promise<{ kube: KubeApiServer; dir: string }> {
  const kube = await start()
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-workloads-'))
  kubeconfigDirs.push(dir)
  writeFileSync(join(dir, 'kubeconfig'), kube.kubeconfig('zerotouch-test', 'shop'))
  kube.apply([
    secret('app', { DATABASE_URL: 'postgres://v1' }),
    workload('Deployment', 'api', { replicas: 3 }),
    workload('Deployment', 'frozen', { paused: true }),
    workload('Deployment', 'broken', { progressDeadlineSeconds: 4 }),
    workload('StatefulSet', 'db', { replicas: 2, serviceName: 'db' }),
    workload('StatefulSet', 'ledger', { replicas: 2, updateStrategy: { type: 'RollingUpdate' } }),
    workload('StatefulSet', 'cache', { replicas: 2, updateStrategy: { type: 'OnDelete' } }),
    workload('DaemonSet', 'agent'),
    workload('DaemonSet', 'collector', { updateStrategy: { type: 'OnDelete' } })
  ])
  await kube.controllers.idle()
  return { kube, dir }
}

describe('kubectl 1.32: rollout restart, rollout status, get', () => {
  // Each case changes a workload of its own (the Secret it sets first); the listing reads a cluster of its own that
  // no case changes, so that the cases pass in any order.
  let kube: KubeApiServer
  let dir: string
  let untouched: { kube: KubeApiServer; dir: string }

  beforeAll(async () => {
    if (!HAS_KUBECTL) return
    ;({ kube, dir } = await kubectlCluster())
    untouched = await kubectlCluster()
  })

  const kubectl = (...args: string[]) => kubectlIn(dir, ...args)

  /** `kubectl rollout status` started while the controllers are paused, so that it must follow the rollout on its watch. */
  async function rolloutStatus(target: string): Promise<KubectlResult> {
    const [resource, name] = target.split('/')
    const watches = () =>
      kube.requests.filter(
        (r) =>
          r.query.watch === 'true' &&
          r.path.endsWith(`/${resource}s`) &&
          r.query.fieldSelector === `metadata.name=${name}`
      ).length
    const before = watches()
    const status = kubectl('rollout', 'status', target, '--timeout=30s')
    await until(() => watches() > before)
    kube.controllers.resume()
    return status
  }

  itWithKubectl(
    'lists deployments, statefulsets, daemonsets and pods as tables, and as the `all` category',
    async () => {
      const { kube } = untouched
      const kubectl = (...args: string[]) => kubectlIn(untouched.dir, ...args)
      const { stdout } = await kubectl('get', 'deploy,sts,ds,pods')
      const tables = stdout.trim().split('\n\n')
      const header = (table: string) =>
        table
          .split('\n')[0]
          .trim()
          .split(/\s{2,}/)
      const rows = (table: string) => table.split('\n').slice(1)
      expect(tables.map(header)).toEqual([
        ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
        ['NAME', 'READY', 'AGE'],
        ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
        ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']
      ])
      expect(rows(tables[0]).map((row) => row.split(/\s+/).slice(0, 4))).toEqual([
        ['deployment.apps/api', '3/3', '3', '3'],
        ['deployment.apps/broken', '1/1', '1', '1'],
        ['deployment.apps/frozen', '0/1', '0', '0']
      ])
      expect(rows(tables[1]).map((row) => row.split(/\s+/).slice(0, 2))).toEqual([
        ['statefulset.apps/cache', '2/2'],
        ['statefulset.apps/db', '2/2'],
        ['statefulset.apps/ledger', '2/2']
      ])
      expect(rows(tables[2]).map((row) => row.split(/\s+/).slice(0, 7))).toEqual([
        ['daemonset.apps/agent', '2', '2', '2', '2', '2', '<none>'],
        ['daemonset.apps/collector', '2', '2', '2', '2', '2', '<none>']
      ])
      const pods = rows(tables[3]).map((row) => row.split(/\s+/))
      expect(pods).toHaveLength(3 + 1 + 2 + 2 + 2 + 2 + 2)
      expect(pods.filter(([name]) => /^pod\/(db|ledger|cache)-\d$/.test(name)).map(([name]) => name)).toEqual([
        'pod/cache-0',
        'pod/cache-1',
        'pod/db-0',
        'pod/db-1',
        'pod/ledger-0',
        'pod/ledger-1'
      ])
      expect(pods.filter(([name]) => name.startsWith('pod/api-')).map(([name]) => name)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^pod\/api-[b-z2-9]{6,10}-[b-z2-9]{5}$/)])
      )
      expect(new Set(pods.map(([, ready, status, restarts]) => `${ready} ${status} ${restarts}`))).toEqual(
        new Set(['1/1 Running 0'])
      )

      const wide = (await kubectl('get', 'deploy', 'api', '-o', 'wide')).stdout.trim().split('\n')
      expect(wide[0].split(/\s{2,}/)).toEqual([
        'NAME',
        'READY',
        'UP-TO-DATE',
        'AVAILABLE',
        'AGE',
        'CONTAINERS',
        'IMAGES',
        'SELECTOR'
      ])
      expect(wide[1].split(/\s+/)).toEqual(['api', '3/3', '3', '3', expect.any(String), 'app', 'nginx:1.27', 'app=api'])

      const all = (await kubectl('get', 'all', '-o', 'name')).stdout.trim().split('\n')
      expect(all).toEqual(
        expect.arrayContaining([
          'deployment.apps/api',
          'replicaset.apps/' + kube.list('rs', 'shop')[0].metadata.name,
          'statefulset.apps/db',
          'daemonset.apps/agent',
          'pod/db-0'
        ])
      )
    }
  )

  // Each case: the Secret changes, kubectl restarts the workload and follows its rollout to the end; then every pod
  // of the workload is ready and started with the new value.
  const restarts: { target: string; kind: Kind; name: string; pods: number; done: RegExp }[] = [
    {
      target: 'deployment/api',
      kind: 'Deployment',
      name: 'api',
      pods: 3,
      done: /^deployment "api" successfully rolled out$/
    },
    // The API server defaults `rollingUpdate.partition: 0` when it defaults the strategy type: kubectl reports a partitioned roll out.
    {
      target: 'statefulset/db',
      kind: 'StatefulSet',
      name: 'db',
      pods: 2,
      done: /^partitioned roll out complete: 2 new pods have been updated\.\.\.$/
    },
    // `type: RollingUpdate` without rollingUpdate keeps it absent: kubectl compares the revisions.
    {
      target: 'statefulset/ledger',
      kind: 'StatefulSet',
      name: 'ledger',
      pods: 2,
      done: /^statefulset rolling update complete 2 pods at revision ledger-[b-z2-9]+\.\.\.$/
    },
    {
      target: 'daemonset/agent',
      kind: 'DaemonSet',
      name: 'agent',
      pods: 2,
      done: /^daemon set "agent" successfully rolled out$/
    }
  ]
  itWithKubectl.each(restarts)(
    'restarts $target with a strategic merge patch and waits for its rollout',
    async ({ target, kind, name, pods, done }) => {
      const value = `postgres://${name}-v2`
      kube.apply(secret('app', { DATABASE_URL: value }))
      const before = kube.get(kind, 'shop', name)!
      expect(valuesRead(kube, kind, name)).not.toContain(value)
      kube.controllers.pause()
      kube.clearRequests()

      const restart = await kubectl('rollout', 'restart', target)
      expect(restart).toMatchObject({ code: 0, stdout: `${kind.toLowerCase()}.apps/${name} restarted\n` })
      const patch = kube.requests.find((r) => r.method === 'PATCH')!
      expect(patch).toMatchObject({
        path: `/apis/apps/v1/namespaces/shop/${kind.toLowerCase()}s/${name}`,
        contentType: 'application/strategic-merge-patch+json',
        query: { fieldManager: 'kubectl-rollout' },
        status: 200
      })
      const restartedAt = (
        JSON.parse(patch.body!) as { spec: { template: { metadata: { annotations: Record<string, string> } } } }
      ).spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']
      expect(restartedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/)
      const patched = kube.get(kind, 'shop', name)!
      expect(patched.metadata.generation).toBe(before.metadata.generation! + 1)
      expect((patched.spec as Deployment['spec']).template.metadata?.annotations).toEqual({
        'kubectl.kubernetes.io/restartedAt': restartedAt
      })

      const status = await rolloutStatus(target)
      const lines = status.stdout.trim().split('\n')
      expect(status.code).toBe(0)
      expect(lines[0]).toMatch(/^Waiting for/)
      expect(lines[lines.length - 1]).toMatch(done)

      await kube.controllers.idle()
      const running = kube.controllers.podsOf(kind, 'shop', name)
      expect(running).toHaveLength(pods)
      expect(running.every(isReady)).toBe(true)
      expect(
        running.every((pod) => pod.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] === restartedAt)
      ).toBe(true)
      expect(valuesRead(kube, kind, name)).toEqual(Array<string>(pods).fill(value))
      expect(running.map((pod) => JSON.parse(pod.metadata.annotations![SECRET_DATA_ANNOTATION]) as unknown)).toEqual(
        Array<unknown>(pods).fill({ 'app/DATABASE_URL': secretValueHash(value) })
      )
      expect(kube.get(kind, 'shop', name)!.status).toMatchObject({ observedGeneration: patched.metadata.generation })
    }
  )

  itWithKubectl('refuses to restart a paused Deployment, and patches nothing', async () => {
    kube.clearRequests()
    const restart = await kubectl('rollout', 'restart', 'deployment/frozen')
    expect(restart.code).toBe(1)
    expect(restart.stderr).toBe(
      'error: deployments.apps "frozen" can\'t restart paused deployment (run rollout resume first)\n'
    )
    expect(kube.requests.filter((r) => r.method === 'PATCH')).toEqual([])
    expect(condition(kube.get('deploy', 'shop', 'frozen'), 'Progressing')).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentPaused',
      message: 'Deployment is paused'
    })
  })

  itWithKubectl(
    'fails `rollout status` once the progress deadline passes, and succeeds once the pods can start',
    async () => {
      kube.controllers.failPods('shop', 'broken')
      expect((await kubectl('rollout', 'restart', 'deployment/broken')).code).toBe(0)
      const status = await kubectl('rollout', 'status', 'deployment/broken', '--timeout=30s')
      expect(status.code).toBe(1)
      expect(status.stderr).toBe('error: deployment "broken" exceeded its progress deadline\n')

      const newRS = kube
        .list('rs', 'shop')
        .find(
          (rs) =>
            rs.metadata.name.startsWith('broken-') &&
            rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '2'
        )!
      expect(condition(kube.get('deploy', 'shop', 'broken'), 'Progressing')).toMatchObject({
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: `ReplicaSet "${newRS.metadata.name}" has timed out progressing.`
      })
      expect(condition(kube.get('deploy', 'shop', 'broken'), 'Available')).toMatchObject({
        status: 'True',
        reason: 'MinimumReplicasAvailable'
      })
      const pods = (await kubectl('get', 'pods', '-l', 'app=broken', '--no-headers')).stdout
        .trim()
        .split('\n')
        .map((row) => row.split(/\s+/).slice(0, 3))
      expect(pods).toEqual(
        expect.arrayContaining([
          [expect.stringMatching(/^broken-/), '1/1', 'Running'],
          [expect.stringMatching(`^${newRS.metadata.name}-`), '0/1', 'CrashLoopBackOff']
        ])
      )

      // Cleared, the crashing pod restarts and becomes ready: the rollout goes on to its end.
      kube.controllers.clearFailure('shop', 'broken')
      await kube.controllers.idle()
      const recovered = await kubectl('rollout', 'status', 'deployment/broken', '--timeout=30s')
      expect(recovered).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/deployment "broken" successfully rolled out\n$/) as unknown
      })
      expect(condition(kube.get('deploy', 'shop', 'broken'), 'Progressing')).toMatchObject({
        status: 'True',
        reason: 'NewReplicaSetAvailable'
      })
    }
  )

  const onDelete: { target: string; kind: Kind; name: string }[] = [
    { target: 'statefulset/cache', kind: 'StatefulSet', name: 'cache' },
    { target: 'daemonset/collector', kind: 'DaemonSet', name: 'collector' }
  ]
  itWithKubectl.each(onDelete)(
    'restarts $target (OnDelete) without replacing a pod; `rollout status` does not support the strategy',
    async ({ target, kind, name }) => {
      kube.apply(secret('app', { DATABASE_URL: `postgres://${name}-v2` }))
      const before = kube.controllers.podsOf(kind, 'shop', name).map((pod) => pod.metadata.uid)
      expect((await kubectl('rollout', 'restart', target)).code).toBe(0)
      const status = await kubectl('rollout', 'status', target, '--timeout=30s')
      expect(status).toMatchObject({
        code: 1,
        stderr: 'error: rollout status is only available for RollingUpdate strategy type\n'
      })
      await kube.controllers.idle()
      expect(kube.controllers.podsOf(kind, 'shop', name).map((pod) => pod.metadata.uid)).toEqual(before)
      expect(valuesRead(kube, kind, name)).not.toContain(`postgres://${name}-v2`)

      // A pod deleted by hand comes back from the new template, with the new value.
      const [first] = kube.controllers.podsOf(kind, 'shop', name)
      kube.delete('pod', 'shop', first.metadata.name)
      await until(() => kube.controllers.podsOf(kind, 'shop', name).filter(isReady).length === before.length)
      const replaced = kube.controllers.podsOf(kind, 'shop', name).filter((pod) => !before.includes(pod.metadata.uid))
      expect(replaced).toHaveLength(1)
      expect(kube.podSecretData('shop', replaced[0].metadata.name)?.secrets).toEqual({
        'app/DATABASE_URL': `postgres://${name}-v2`
      })
      expect(replaced[0].metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeDefined()
    }
  )
})

describe('workloads through the API', () => {
  it('fills in the API server defaults; only spec changes count in metadata.generation', async () => {
    const kube = await start({ controllers: false })
    kube.apply([workload('Deployment', 'api'), workload('StatefulSet', 'db'), workload('DaemonSet', 'agent')])
    const get = async (resource: string, name: string) =>
      (await request<KubeObject>(kube.url, `/apis/apps/v1/namespaces/shop/${resource}/${name}`)).body
    const deployment = await get('deployments', 'api')
    expect(deployment).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { generation: 1 },
      spec: {
        replicas: 1,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        progressDeadlineSeconds: 600,
        revisionHistoryLimit: 10
      }
    })
    expect((deployment.spec as Deployment['spec']).template.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
      containers: [
        {
          name: 'app',
          imagePullPolicy: 'IfNotPresent',
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File'
        }
      ]
    })
    expect((await get('statefulsets', 'db')).spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } }
    })
    expect((await get('daemonsets', 'agent')).spec).toMatchObject({
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }
    })

    const patch = (body: unknown, contentType = 'application/merge-patch+json') =>
      request<KubeObject>(kube.url, '/apis/apps/v1/namespaces/shop/deployments/api', {
        method: 'PATCH',
        body,
        contentType
      })
    expect((await patch({ metadata: { labels: { team: 'shop' } } })).body.metadata.generation).toBe(1)
    expect((await patch({ spec: { replicas: 2 } })).body.metadata.generation).toBe(2)
    // A patch that drops a defaulted field gets it back, and that is no spec change.
    expect((await patch({ spec: { strategy: null } })).body).toMatchObject({
      metadata: { generation: 2 },
      spec: { strategy: { type: 'RollingUpdate' } }
    })
    const invalid = await patch({ spec: { template: { metadata: { labels: { app: 'other' } } } } })
    expect(invalid.body).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: expect.stringContaining('Deployment.apps "api" is invalid: spec.template.metadata.labels') as unknown
    })
    expect(() =>
      kube.apply({ ...workload('Deployment', 'x'), spec: { template: { spec: { containers: [{ name: 'c' }] } } } })
    ).toThrow('Deployment.apps "x" is invalid: spec.selector: Required value')

    // Built-in lists carry no apiVersion and kind on their items, as the real server's.
    const list = (
      await request<{ apiVersion: string; kind: string; items: KubeObject[] }>(
        kube.url,
        '/apis/apps/v1/namespaces/shop/deployments'
      )
    ).body
    expect(list).toMatchObject({ apiVersion: 'apps/v1', kind: 'DeploymentList' })
    expect(list.items[0]).not.toHaveProperty('kind')
    expect(list.items[0]).not.toHaveProperty('apiVersion')
  })

  it('applies strategic merge patches: lists merged on their keys, directives, and only for built-in types', async () => {
    const kube = await start({ controllers: false })
    kube.apply({
      ...workload('Deployment', 'api'),
      spec: {
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'app:1',
                env: [
                  { name: 'A', value: '1' },
                  { name: 'B', value: '2' }
                ],
                ports: [{ containerPort: 80 }]
              },
              { name: 'proxy', image: 'proxy:1', args: ['--a', '--b'] }
            ],
            volumes: [{ name: 'data', emptyDir: {} }]
          }
        }
      }
    })
    const path = '/apis/apps/v1/namespaces/shop/deployments/api'
    const patch = (body: unknown) =>
      request<Deployment>(kube.url, path, {
        method: 'PATCH',
        body,
        contentType: 'application/strategic-merge-patch+json'
      })
    const result = await patch({
      spec: {
        template: {
          metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-01-01T00:00:00Z' } },
          spec: {
            '$setElementOrder/containers': [{ name: 'proxy' }, { name: 'app' }],
            containers: [
              {
                name: 'app',
                image: 'app:2',
                env: [
                  { name: 'A', $patch: 'delete' },
                  { name: 'C', value: '3' }
                ]
              },
              { name: 'proxy', args: ['--c'] }
            ],
            volumes: [{ name: 'secrets', secret: { secretName: 'app' } }]
          }
        }
      }
    })
    expect(result.status).toBe(200)
    const { template } = result.body.spec
    expect(template.metadata?.annotations).toEqual({ 'kubectl.kubernetes.io/restartedAt': '2025-01-01T00:00:00Z' })
    expect(template.spec.containers.map((c) => c.name)).toEqual(['proxy', 'app'])
    const [proxy, app] = template.spec.containers
    expect(app).toMatchObject({
      image: 'app:2',
      env: [
        { name: 'B', value: '2' },
        { name: 'C', value: '3' }
      ],
      ports: [{ containerPort: 80, protocol: 'TCP' }]
    })
    expect(proxy).toMatchObject({ image: 'proxy:1', args: ['--c'] })
    expect(template.spec.volumes?.map((v) => v.name)).toEqual(['data', 'secrets'])
    expect(result.body.metadata.generation).toBe(2)

    const replaced = await patch({
      spec: { template: { spec: { volumes: [{ $patch: 'replace' }, { name: 'only', emptyDir: {} }] } } }
    })
    expect(replaced.body.spec.template.spec.volumes).toEqual([{ name: 'only', emptyDir: {} }])
    // What `kubectl apply` sends to change the strategy type: $retainKeys drops rollingUpdate.
    const recreate = await patch({ spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } })
    expect(recreate.body.spec.strategy).toEqual({ type: 'Recreate' })
    await patch({ metadata: { finalizers: ['a', 'b'] } })
    const finalizers = await patch({ metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] } })
    expect((finalizers.body.metadata as { finalizers?: string[] }).finalizers).toEqual(['b', 'c'])
    const paused = await patch({ spec: { paused: true } })
    expect(paused.body.spec.paused).toBe(true)
    expect((await patch({ spec: { paused: null } })).body.spec).not.toHaveProperty('paused')

    kube.apply({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'es', namespace: 'shop' },
      spec: {}
    })
    const crd = await request<{ code: number; message: string }>(
      kube.url,
      '/apis/external-secrets.io/v1/namespaces/shop/externalsecrets/es',
      {
        method: 'PATCH',
        body: { metadata: { labels: { a: 'b' } } },
        contentType: 'application/strategic-merge-patch+json'
      }
    )
    expect(crd.body).toMatchObject({
      code: 415,
      message: expect.stringContaining(
        'application/json-patch+json, application/merge-patch+json (got "application/strategic-merge-patch+json")'
      ) as unknown
    })
  })

  it('rolls a Deployment out within maxSurge and maxUnavailable, and reports it as the controller does', async () => {
    const kube = await start({ podStartMs: 15 })
    kube.apply([secret('app', { DATABASE_URL: 'v1' }), workload('Deployment', 'api', { replicas: 4 })])
    await kube.controllers.idle()
    const stream = await watch<Deployment>(
      kube.url,
      `/apis/apps/v1/namespaces/shop/deployments?watch=true&resourceVersion=${kube.resourceVersion}`
    )
    const pods = await watch<Pod>(
      kube.url,
      `/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${kube.resourceVersion}`
    )
    kube.apply(secret('app', { DATABASE_URL: 'v2' }))
    await request(kube.url, '/apis/apps/v1/namespaces/shop/deployments/api', {
      method: 'PATCH',
      contentType: 'application/strategic-merge-patch+json',
      body: {
        spec: {
          template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } }
        }
      }
    })
    await kube.controllers.idle()
    const complete = (d: Deployment) =>
      d.status?.observedGeneration === 2 && d.status.conditions?.some((c) => c.reason === 'NewReplicaSetAvailable')
    await until(() => stream.events.some((event) => complete(event.object)))
    stream.close()
    pods.close()

    const statuses = stream.events.map((event) => event.object.status!)
    // 25 % of 4: one pod over and one pod under the desired count at most.
    expect(Math.max(...statuses.map((s) => s.replicas ?? 0))).toBe(5)
    expect(Math.min(...statuses.map((s) => s.availableReplicas ?? 0))).toBe(3)
    const reasons = statuses.map((s) => s.conditions?.find((c) => c.type === 'Progressing')?.reason)
    expect(reasons).toContain('ReplicaSetUpdated')
    expect(reasons[reasons.length - 1]).toBe('NewReplicaSetAvailable')
    expect(statuses[statuses.length - 1]).toEqual({
      observedGeneration: 2,
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
      conditions: [
        expect.objectContaining({
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.'
        }),
        expect.objectContaining({
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: expect.stringMatching(/^ReplicaSet "api-[b-z2-9]+" has successfully progressed\.$/) as unknown
        })
      ]
    })
    // At least two waves of pods starting (two at a time: one surge, one unavailable): a new pod is created only
    // after one of the first new pods is ready.
    const created = pods.events.filter((event) => event.type === 'ADDED').map((event) => event.object.metadata.name)
    const firstReady = pods.events.findIndex(
      (event) => event.type === 'MODIFIED' && created.includes(event.object.metadata.name) && isReady(event.object)
    )
    expect(created).toHaveLength(4)
    expect(firstReady).toBeGreaterThan(0)
    expect(pods.events.findLastIndex((event) => event.type === 'ADDED')).toBeGreaterThan(firstReady)
    expect(kube.controllers.rollouts.filter((r) => r.name === 'api').map((r) => r.outcome)).toEqual([
      'complete',
      'complete'
    ])
    expect(valuesRead(kube, 'Deployment', 'api')).toEqual(['v2', 'v2', 'v2', 'v2'])

    const replicaSets = kube
      .list('rs', 'shop')
      .map((rs) => [
        rs.metadata.annotations?.['deployment.kubernetes.io/revision'],
        (rs.spec as { replicas: number }).replicas
      ])
    expect(replicaSets.sort()).toEqual([
      ['1', 0],
      ['2', 4]
    ])
    expect(kube.get('deploy', 'shop', 'api')?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2')
  })

  it('holds a paused Deployment, rolls it out once resumed; Recreate stops the old pods first; deleting a workload deletes its pods', async () => {
    const kube = await start()
    kube.apply([
      secret('app', { DATABASE_URL: 'v1' }),
      workload('Deployment', 'api', { replicas: 2 }),
      workload('Deployment', 'batch', { replicas: 2, strategy: { type: 'Recreate' } })
    ])
    await kube.controllers.idle()
    const patch = (name: string, body: unknown) =>
      request<Deployment>(kube.url, `/apis/apps/v1/namespaces/shop/deployments/${name}`, {
        method: 'PATCH',
        contentType: 'application/strategic-merge-patch+json',
        body
      })
    const restart = (name: string) =>
      patch(name, {
        spec: {
          template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } }
        }
      })

    await patch('api', { spec: { paused: true } })
    await restart('api')
    await kube.controllers.idle()
    expect(kube.list('rs', 'shop').filter((rs) => rs.metadata.name.startsWith('api-'))).toHaveLength(1)
    // observedGeneration follows the spec while paused; no replica is updated (a zero count is omitted, as omitempty does).
    expect(kube.get('deploy', 'shop', 'api')?.status).toMatchObject({ observedGeneration: 3, replicas: 2 })
    expect(kube.get('deploy', 'shop', 'api')?.status).not.toHaveProperty('updatedReplicas')
    await patch('api', { spec: { paused: null } })
    await kube.controllers.idle()
    expect(condition(kube.get('deploy', 'shop', 'api'), 'Progressing')).toMatchObject({
      reason: 'NewReplicaSetAvailable'
    })
    expect(
      kube.controllers.podsOf('Deployment', 'shop', 'api').map((pod) => pod.metadata.labels?.['pod-template-hash'])
    ).toEqual(
      Array<unknown>(2).fill(
        kube
          .list('rs', 'shop')
          .find(
            (rs) =>
              rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '2' &&
              rs.metadata.name.startsWith('api-')
          )?.metadata.labels?.['pod-template-hash']
      )
    )

    const oldPods = kube.controllers.podsOf('Deployment', 'shop', 'batch').map((pod) => pod.metadata.name)
    const events = await watch<Pod>(
      kube.url,
      `/api/v1/namespaces/shop/pods?watch=true&labelSelector=app%3Dbatch&resourceVersion=${kube.resourceVersion}`
    )
    await restart('batch')
    await kube.controllers.idle()
    await until(() => events.events.filter((event) => event.type === 'MODIFIED' && isReady(event.object)).length >= 2)
    events.close()
    const firstNew = events.events.findIndex((event) => event.type === 'ADDED')
    const lastOldGone = events.events.findLastIndex(
      (event) => event.type === 'DELETED' && oldPods.includes(event.object.metadata.name)
    )
    expect(lastOldGone).toBeGreaterThanOrEqual(0)
    expect(firstNew).toBeGreaterThan(lastOldGone)

    kube.delete('deploy', 'shop', 'batch')
    await kube.controllers.idle()
    expect(kube.list('pod', 'shop').filter((pod) => pod.metadata.labels?.app === 'batch')).toEqual([])
    expect(kube.list('rs', 'shop').filter((rs) => rs.metadata.name.startsWith('batch-'))).toEqual([])
  })

  it('updates a StatefulSet from the highest ordinal down to its partition, and tells current from update revision', async () => {
    const kube = await start({ podStopMs: 15 })
    kube.apply([
      secret('app', { DATABASE_URL: 'v1' }),
      workload('StatefulSet', 'db', { replicas: 3, updateStrategy: { rollingUpdate: { partition: 1 } } })
    ])
    await kube.controllers.idle()
    const created = kube.get('sts', 'shop', 'db') as StatefulSet
    expect(created.status).toEqual({
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: created.status?.updateRevision,
      updateRevision: expect.stringMatching(/^db-[b-z2-9]+$/) as unknown,
      collisionCount: 0,
      availableReplicas: 3
    })
    kube.apply(secret('app', { DATABASE_URL: 'v2' }))
    const order: string[] = []
    const stream = await watch<Pod>(
      kube.url,
      `/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${kube.resourceVersion}`
    )
    await request(kube.url, '/apis/apps/v1/namespaces/shop/statefulsets/db', {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { spec: { template: { metadata: { annotations: { restart: '1' } } } } }
    })
    await kube.controllers.idle()
    await until(() => stream.events.filter((event) => event.type === 'DELETED').length >= 2)
    stream.close()
    for (const event of stream.events) if (event.type === 'DELETED') order.push(event.object.metadata.name)
    expect(order).toEqual(['db-2', 'db-1'])
    // With podStopMs, each pod is Terminating (deletionTimestamp set) before it is gone, and comes back only then.
    const terminating = stream.events
      .filter((event) => event.type === 'MODIFIED' && event.object.metadata.deletionTimestamp)
      .map((event) => event.object.metadata.name)
    expect(terminating).toEqual(['db-2', 'db-1'])
    const [deleted, added] = ['DELETED', 'ADDED'].map((type) =>
      stream.events.findIndex((event) => event.type === type && event.object.metadata.name === 'db-2')
    )
    expect(added).toBeGreaterThan(deleted)

    const updated = kube.get('sts', 'shop', 'db') as StatefulSet
    expect(updated.status).toMatchObject({
      observedGeneration: 2,
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 1,
      updatedReplicas: 2,
      currentRevision: created.status?.currentRevision
    })
    expect(updated.status?.updateRevision).not.toBe(created.status?.updateRevision)
    const revisions = kube.controllers
      .podsOf('StatefulSet', 'shop', 'db')
      .map((pod) => [
        pod.metadata.name,
        pod.metadata.labels?.['controller-revision-hash'],
        kube.podSecretData('shop', pod.metadata.name)?.secrets['app/DATABASE_URL']
      ])
    expect(revisions).toEqual([
      ['db-0', created.status?.updateRevision, 'v1'],
      ['db-1', updated.status?.updateRevision, 'v2'],
      ['db-2', updated.status?.updateRevision, 'v2']
    ])

    // The partition down to 0: the last pod is updated and the update revision becomes the current one.
    await request(kube.url, '/apis/apps/v1/namespaces/shop/statefulsets/db', {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } }
    })
    await kube.controllers.idle()
    expect(kube.get('sts', 'shop', 'db')?.status).toMatchObject({
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: updated.status?.updateRevision
    })
    expect(valuesRead(kube, 'StatefulSet', 'db')).toEqual(['v2', 'v2', 'v2'])
  })

  it('runs a DaemonSet pod on each node, as many nodes as configured', async () => {
    const kube = await start({ nodes: 3 })
    kube.apply([secret('app', { DATABASE_URL: 'v1' }), workload('DaemonSet', 'agent')])
    await kube.controllers.idle()
    expect(kube.get('ds', 'shop', 'agent')?.status).toEqual({
      currentNumberScheduled: 3,
      numberMisscheduled: 0,
      desiredNumberScheduled: 3,
      numberReady: 3,
      observedGeneration: 1,
      updatedNumberScheduled: 3,
      numberAvailable: 3
    })
    expect(
      kube.controllers
        .podsOf('DaemonSet', 'shop', 'agent')
        .map((pod) => pod.spec.nodeName)
        .sort()
    ).toEqual(['node-1', 'node-2', 'node-3'])
    const onNode2 = await request<{ items: KubeObject[] }>(
      kube.url,
      '/api/v1/namespaces/shop/pods?fieldSelector=spec.nodeName%3Dnode-2&labelSelector=app%3Dagent'
    )
    expect(onNode2.body.items).toHaveLength(1)

    kube.controllers.nodes = 1
    await kube.controllers.idle()
    expect(kube.get('ds', 'shop', 'agent')?.status).toMatchObject({
      desiredNumberScheduled: 1,
      currentNumberScheduled: 1,
      numberReady: 1
    })
  })

  it('records what each pod read from Secrets when it started: env, envFrom with a prefix, volumes, projected volumes, init containers', async () => {
    const kube = await start()
    kube.apply([
      secret('db', { URL: 'postgres://db', PASSWORD: 'hunter2' }),
      secret('tls', { 'tls.crt': 'CERT', 'tls.key': 'KEY' }),
      secret('token', { token: 't0k3n' })
    ])
    kube.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: 'shop' },
      spec: {
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: {
            initContainers: [
              {
                name: 'migrate',
                image: 'migrate:1',
                env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'PASSWORD' } } }]
              }
            ],
            containers: [
              {
                name: 'app',
                image: 'app:1',
                envFrom: [
                  { secretRef: { name: 'db' }, prefix: 'DB_' },
                  { secretRef: { name: 'absent', optional: true } }
                ],
                env: [
                  { name: 'DB_URL', value: 'overridden' },
                  { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'token', key: 'token' } } },
                  { name: 'NOPE', valueFrom: { secretKeyRef: { name: 'token', key: 'missing', optional: true } } }
                ]
              }
            ],
            volumes: [
              { name: 'tls', secret: { secretName: 'tls', items: [{ key: 'tls.crt', path: 'cert.pem' }] } },
              {
                name: 'bundle',
                projected: {
                  sources: [
                    { secret: { name: 'token' } },
                    { secret: { name: 'tls', items: [{ key: 'tls.key', path: 'key.pem' }] } }
                  ]
                }
              }
            ]
          }
        }
      }
    })
    await kube.controllers.idle()
    const [pod] = kube.controllers.podsOf('Deployment', 'shop', 'api')
    const data = kube.podSecretData('shop', pod.metadata.name)!
    expect(data.secrets).toEqual({
      'db/PASSWORD': 'hunter2',
      'db/URL': 'postgres://db',
      'token/token': 't0k3n',
      'tls/tls.crt': 'CERT',
      'tls/tls.key': 'KEY'
    })
    expect(data.env).toEqual({ migrate: { DB_PASSWORD: 'hunter2' }, app: { DB_PASSWORD: 'hunter2', TOKEN: 't0k3n' } })
    expect(data.files).toEqual({ tls: { 'cert.pem': 'CERT' }, bundle: { token: 't0k3n', 'key.pem': 'KEY' } })
    expect(Object.keys(data.resourceVersions).sort()).toEqual(['db', 'tls', 'token'])
    expect(JSON.parse(pod.metadata.annotations![SECRET_DATA_ANNOTATION])).toEqual(
      Object.fromEntries(Object.entries(data.secrets).map(([key, value]) => [key, secretValueHash(value)]))
    )
    expect(pod.status).toMatchObject({
      phase: 'Running',
      initContainerStatuses: [{ name: 'migrate', state: { terminated: { reason: 'Completed' } } }],
      containerStatuses: [{ name: 'app', ready: true }]
    })
  })

  it('keeps a pod whose Secret is missing from starting until the Secret appears', async () => {
    const kube = await start()
    kube.apply([
      // A pod of its own (no controller): the kubelet starts it all the same.
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'solo', namespace: 'shop' },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'app:1',
              env: [{ name: 'URL', valueFrom: { secretKeyRef: { name: 'app', key: 'DATABASE_URL' } } }]
            }
          ]
        }
      },
      workload('Deployment', 'env'),
      workload('Deployment', 'vol', {
        template: {
          metadata: { labels: { app: 'vol' } },
          spec: {
            containers: [{ name: 'app', image: 'app:1' }],
            volumes: [{ name: 's', secret: { secretName: 'app' } }]
          }
        }
      })
    ])
    await kube.controllers.idle()
    const [envPod] = kube.controllers.podsOf('Deployment', 'shop', 'env')
    const [volPod] = kube.controllers.podsOf('Deployment', 'shop', 'vol')
    expect(envPod.status).toMatchObject({
      phase: 'Pending',
      containerStatuses: [
        {
          ready: false,
          state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "app" not found' } }
        }
      ]
    })
    expect(volPod.status).toMatchObject({
      phase: 'Pending',
      containerStatuses: [{ ready: false, state: { waiting: { reason: 'ContainerCreating' } } }]
    })
    expect(kube.podSecretData('shop', envPod.metadata.name)).toBeUndefined()
    expect(kube.get('deploy', 'shop', 'env')?.status).toMatchObject({
      replicas: 1,
      updatedReplicas: 1,
      unavailableReplicas: 1
    })

    kube.apply(secret('app', { DATABASE_URL: 'late' }))
    await until(() =>
      ['env', 'vol'].every((name) => kube.controllers.podsOf('Deployment', 'shop', name).every(isReady))
    )
    expect(valuesRead(kube, 'Deployment', 'env')).toEqual(['late'])
    expect(kube.podSecretData('shop', volPod.metadata.name)?.files).toEqual({ s: { DATABASE_URL: 'late' } })
    await until(() => isReady(kube.get('pod', 'shop', 'solo') as Pod))
    expect(kube.podSecretData('shop', 'solo')?.env).toEqual({ app: { URL: 'late' } })
  })

  it('serves @kubernetes/client-node: typed lists, a strategic merge patch, a watch, pods by label', async () => {
    const kube = await start()
    kube.apply([
      secret('app', { DATABASE_URL: 'v1' }),
      workload('Deployment', 'api', { replicas: 2 }),
      workload('Deployment', 'web')
    ])
    await kube.controllers.idle()
    const kc = new KubeConfig()
    kc.loadFromString(kube.kubeconfig('zerotouch-test', 'shop'))
    const apps = kc.makeApiClient(AppsV1Api)
    const core = kc.makeApiClient(CoreV1Api)

    const list = await apps.listNamespacedDeployment({ namespace: 'shop' })
    expect(list.items.map((d) => [d.metadata?.name, d.spec?.replicas, d.status?.availableReplicas])).toEqual([
      ['api', 2, 2],
      ['web', 1, 1]
    ])
    const seen: string[] = []
    const watching = await new Watch(kc).watch(
      '/apis/apps/v1/namespaces/shop/deployments',
      { resourceVersion: list.metadata?.resourceVersion },
      (type, object: Deployment) => {
        const done =
          object.status?.conditions?.find((c) => c.type === 'Progressing')?.reason === 'NewReplicaSetAvailable' &&
          object.status.observedGeneration === object.metadata.generation
        seen.push(`${type} ${object.metadata.name} ${done ? 'done' : 'rolling'}`)
      },
      () => undefined
    )
    kube.apply(secret('app', { DATABASE_URL: 'v2' }))
    const patched = await apps.patchNamespacedDeployment(
      {
        namespace: 'shop',
        name: 'api',
        body: {
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-06-01T00:00:00Z' } } }
          }
        }
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)
    )
    expect(patched.metadata?.generation).toBe(2)
    await until(() => seen.includes('MODIFIED api done'))
    watching.abort()
    expect(seen[0]).toBe('MODIFIED api rolling')

    const pods = await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=api' })
    expect(pods.items).toHaveLength(2)
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe('Running')
      expect(pod.metadata?.annotations?.[SECRET_DATA_ANNOTATION]).toBe(
        JSON.stringify({ 'app/DATABASE_URL': secretValueHash('v2') })
      )
    }
  })
})
