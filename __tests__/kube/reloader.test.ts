/**
 * The stakater/Reloader simulation of the test API server (testing/kube/reloader.ts): its env var and SHA1 as
 * Reloader computes them, which workloads it restarts for a Secret (checked case by case against the action's own
 * prediction, `reloaderRestartsFor`), on which container, and the rollout that follows.
 */
import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { reloaderRestartsFor } from '../../src/workloads/readers.js'
import type { Workload } from '../../src/workloads/model.js'
import {
  reloaderEnvVarName,
  reloaderSecretSha,
  startKubeApiServer,
  type KubeApiServer,
  type KubeObject,
  type WorkloadKind
} from '../../testing/kube/index.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const NS = 'shop'
const cluster = useTestCluster()

async function start(options: { reloaderDelayMs?: number } = {}): Promise<KubeApiServer> {
  const kube = cluster.track(
    await startKubeApiServer({ podStartMs: 10, reloader: true, reloaderDelayMs: 20, ...options })
  )
  return kube
}

function secret(name: string, data: Record<string, string>, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
    stringData: data
  }
}

interface Shape {
  annotations?: Record<string, string>
  templateAnnotations?: Record<string, string>
  containers?: Record<string, unknown>[]
  initContainers?: Record<string, unknown>[]
  volumes?: Record<string, unknown>[]
}

const envFrom = (name: string, secretName: string) => ({
  name,
  image: 'app:1',
  envFrom: [{ secretRef: { name: secretName } }]
})

function workload(
  kind: WorkloadKind,
  name: string,
  { annotations, templateAnnotations, containers = [envFrom('app', 'app')], initContainers, volumes }: Shape = {}
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
    spec: {
      replicas: kind === 'DaemonSet' ? undefined : 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...(templateAnnotations ? { annotations: templateAnnotations } : {}) },
        spec: { containers, ...(initContainers ? { initContainers } : {}), ...(volumes ? { volumes } : {}) }
      }
    }
  }
}

const AUTO = { 'reloader.stakater.com/auto': 'true' }

/** Rotates the Secret `app` and waits for Reloader and the rollouts it started. */
async function rotate(data: Record<string, string> = { KEY: 'v2' }): Promise<void> {
  cluster.current.apply(secret('app', data))
  await cluster.current.reloader.idle()
  await cluster.current.controllers.idle()
}

const envOf = (kind: string, name: string): Record<string, string | undefined> => {
  const containers = (
    cluster.current.get(kind, NS, name)!.spec as {
      template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } }
    }
  ).template.spec.containers
  return Object.fromEntries(
    containers.map((container) => [
      container.name,
      container.env?.find((variable) => variable.name === 'STAKATER_APP_SECRET')?.value
    ])
  )
}

describe("Reloader's names and hashes", () => {
  it('names the env var as util.ConvertToEnvVarName does: upper case, each run of other characters one `_`, none leading', () => {
    expect(reloaderEnvVarName('payments-provider')).toBe('STAKATER_PAYMENTS_PROVIDER_SECRET')
    expect(reloaderEnvVarName('db.creds--v2')).toBe('STAKATER_DB_CREDS_V2_SECRET')
    expect(reloaderEnvVarName('-x-')).toBe('STAKATER_X__SECRET')
  })

  it('hashes the decoded data as util.GetSHAfromSecret does: SHA1 of the sorted key=value pairs joined with `;`', () => {
    const data = { b: Buffer.from('2').toString('base64'), a: Buffer.from('x;y=z').toString('base64') }
    expect(reloaderSecretSha(data)).toBe(createHash('sha1').update('a=x;y=z;b=2').digest('hex'))
    expect(reloaderSecretSha({})).toBe(createHash('sha1').update('').digest('hex'))
  })
})

describe('which workloads Reloader restarts for a Secret, and on which container', () => {
  const mounted = (volume: Record<string, unknown>, mountBy = 'app') => ({
    volumes: [{ name: 'creds', ...volume }],
    containers: [{ name: mountBy, image: 'app:1', volumeMounts: [{ name: 'creds', mountPath: '/creds' }] }]
  })
  /** name → shape, and the container Reloader sets the env var on (undefined: no restart). */
  const cases: Record<string, [Shape, string | undefined]> = {
    plain: [{}, undefined],
    auto: [{ annotations: AUTO }, 'app'],
    'auto-go-true': [{ annotations: { 'reloader.stakater.com/auto': 'T' } }, 'app'],
    'auto-yes': [{ annotations: { 'reloader.stakater.com/auto': 'yes' } }, undefined],
    'secret-auto': [
      {
        annotations: { 'secret.reloader.stakater.com/auto': 'true' },
        containers: [
          {
            name: 'web',
            image: 'app:1',
            env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'app', key: 'KEY' } } }]
          }
        ]
      },
      'web'
    ],
    'auto-unused': [{ annotations: AUTO, containers: [envFrom('app', 'other')] }, undefined],
    'template-auto': [{ templateAnnotations: AUTO }, 'app'],
    'masked-template': [
      { annotations: { 'reloader.stakater.com/auto': 'false' }, templateAnnotations: AUTO },
      undefined
    ],
    'reload-list': [{ annotations: { 'secret.reloader.stakater.com/reload': 'db, app' } }, 'app'],
    'reload-regex': [{ annotations: { 'secret.reloader.stakater.com/reload': 'ap.*' } }, 'app'],
    'reload-anchored': [{ annotations: { 'secret.reloader.stakater.com/reload': 'pp' } }, undefined],
    'reload-alternation': [{ annotations: { 'secret.reloader.stakater.com/reload': 'a|x' } }, 'app'],
    'reload-bad-entry': [{ annotations: { 'secret.reloader.stakater.com/reload': '(,app' } }, 'app'],
    'reload-unused': [
      {
        annotations: { 'secret.reloader.stakater.com/reload': 'app' },
        containers: [envFrom('first', 'other'), envFrom('second', 'other')]
      },
      'first'
    ],
    excluded: [{ annotations: { ...AUTO, 'secrets.exclude.reloader.stakater.com/reload': 'db, app' } }, undefined],
    'exclude-on-template': [
      { annotations: AUTO, templateAnnotations: { 'secrets.exclude.reloader.stakater.com/reload': 'app' } },
      'app'
    ],
    'volume-unmounted': [
      {
        annotations: AUTO,
        volumes: [{ name: 'creds', secret: { secretName: 'app' } }],
        containers: [{ name: 'app', image: 'app:1' }]
      },
      undefined
    ],
    'volume-mounted': [{ annotations: AUTO, ...mounted({ secret: { secretName: 'app' } }, 'reader') }, 'reader'],
    projected: [
      { annotations: AUTO, ...mounted({ projected: { sources: [{ secret: { name: 'app' } }] } }, 'reader') },
      'reader'
    ],
    'empty-opt-in': [
      { annotations: { 'secret.reloader.stakater.com/reload': '' }, templateAnnotations: AUTO },
      undefined
    ],
    'init-mounted': [
      {
        annotations: AUTO,
        volumes: [{ name: 'creds', secret: { secretName: 'app' } }],
        initContainers: [{ name: 'migrate', image: 'app:1', volumeMounts: [{ name: 'creds', mountPath: '/creds' }] }],
        containers: [envFrom('sidecar', 'other')]
      },
      'sidecar'
    ],
    'init-only': [
      {
        annotations: AUTO,
        initContainers: [envFrom('migrate', 'app')],
        containers: [envFrom('sidecar', 'other'), envFrom('main', 'other')]
      },
      'sidecar'
    ],
    'second-container': [
      { annotations: AUTO, containers: [envFrom('sidecar', 'other'), envFrom('main', 'app')] },
      'main'
    ]
  }

  it('decides as Reloader does, and as the action predicts with reloaderRestartsFor', async () => {
    const kube = await start()
    kube.apply([
      secret('app', { KEY: 'v1' }),
      secret('other', { KEY: 'o1' }),
      ...Object.entries(cases).map(([name, [shape]]) => workload('Deployment', name, shape))
    ])
    await kube.controllers.idle()
    const before = Object.fromEntries(Object.keys(cases).map((name) => [name, kube.get('Deployment', NS, name)!]))
    await rotate()
    const sha = reloaderSecretSha(kube.get('Secret', NS, 'app')!.data)
    const reloaded = Object.fromEntries(kube.reloader.reloads.map((record) => [record.name, record.container]))
    for (const [name, [, container]] of Object.entries(cases)) {
      expect([name, reloaded[name]]).toEqual([name, container])
      expect([name, reloaderRestartsFor(before[name] as unknown as Workload, 'app')]).toEqual([
        name,
        container !== undefined
      ])
      const env = envOf('Deployment', name)
      // The env var is on that one container only; nothing else changed (no generation bump without it).
      expect([name, env]).toEqual([
        name,
        Object.fromEntries(Object.keys(env).map((each) => [each, each === container ? sha : undefined]))
      ])
      expect([name, kube.get('Deployment', NS, name)!.metadata.generation]).toEqual([name, container ? 2 : 1])
    }
  })

  it('ignores a Secret annotated reloader.stakater.com/ignore, and restarts search-mode workloads for one annotated reloader.stakater.com/match', async () => {
    const kube = await start()
    kube.apply([
      secret('app', { KEY: 'v1' }),
      workload('Deployment', 'auto', { annotations: AUTO }),
      workload('Deployment', 'search', { annotations: { 'reloader.stakater.com/search': 'true' } })
    ])
    await kube.controllers.idle()
    kube.apply(secret('app', { KEY: 'v2' }, { 'reloader.stakater.com/ignore': 'true' }))
    await kube.reloader.idle()
    expect(kube.reloader.reloads).toEqual([])
    kube.apply(secret('app', { KEY: 'v3' }, { 'reloader.stakater.com/match': 'true' }))
    await kube.reloader.idle()
    expect(kube.reloader.reloads.map(({ name }) => name)).toEqual(['auto', 'search'])
  })
})

describe('what Reloader does on a change', () => {
  it('rolls each annotated kind out (Deployments, then DaemonSets, then StatefulSets): its running pods read the new value and carry the env var', async () => {
    const kube = await start()
    kube.apply([
      secret('app', { KEY: 'v1' }),
      workload('StatefulSet', 'db', { annotations: AUTO }),
      workload('DaemonSet', 'agent', { annotations: AUTO }),
      workload('Deployment', 'api', { annotations: AUTO })
    ])
    await kube.controllers.idle()
    await rotate()
    const sha = reloaderSecretSha(kube.get('Secret', NS, 'app')!.data)
    expect(
      kube.reloader.reloads.map(({ kind, name, envVar, sha: value, generation }) => ({
        kind,
        name,
        envVar,
        value,
        generation
      }))
    ).toEqual([
      { kind: 'Deployment', name: 'api', envVar: 'STAKATER_APP_SECRET', value: sha, generation: 2 },
      { kind: 'DaemonSet', name: 'agent', envVar: 'STAKATER_APP_SECRET', value: sha, generation: 2 },
      { kind: 'StatefulSet', name: 'db', envVar: 'STAKATER_APP_SECRET', value: sha, generation: 2 }
    ])
    for (const [kind, name] of [
      ['Deployment', 'api'],
      ['DaemonSet', 'agent'],
      ['StatefulSet', 'db']
    ] as const) {
      const pods = kube.controllers.podsOf(kind, NS, name).filter((pod) => !pod.metadata.deletionTimestamp)
      expect(pods.length).toBeGreaterThan(0)
      for (const pod of pods) {
        expect(kube.podSecretData(NS, pod.metadata.name)?.secrets['app/KEY']).toBe('v2')
        expect(pod.spec.containers[0].env).toContainEqual({ name: 'STAKATER_APP_SECRET', value: sha })
      }
    }
    const events = kube.list('Event', NS).filter((event) => event.reason === 'Reloaded')
    expect(
      events.map((event) => [
        (event.involvedObject as { name: string }).name,
        (event.source as { component: string }).component,
        event.message
      ])
    ).toContainEqual([
      'api',
      'reloader-secrets',
      "Changes detected in 'app' of type 'SECRET' in namespace 'shop', Updated 'api' of type 'Deployment' in namespace 'shop'"
    ])
    // Reloader's writes are not HTTP requests.
    expect(kube.requests.filter(({ method }) => method === 'PATCH')).toEqual([])
  })

  it('updates the env var on the next change (never a second one) and does nothing when the data did not change', async () => {
    const kube = await start()
    kube.apply([secret('app', { KEY: 'v1' }), workload('Deployment', 'api', { annotations: AUTO })])
    await kube.controllers.idle()
    await rotate({ KEY: 'v2' })
    await rotate({ KEY: 'v3' })
    const env = (
      kube.get('Deployment', NS, 'api')!.spec as {
        template: { spec: { containers: { env?: { name: string; value: string }[] }[] } }
      }
    ).template.spec.containers[0].env
    expect(env).toEqual([
      { name: 'STAKATER_APP_SECRET', value: reloaderSecretSha(kube.get('Secret', NS, 'app')!.data) }
    ])
    expect(kube.get('Deployment', NS, 'api')!.metadata.generation).toBe(3)
    // The same data again, and a change of labels only: the SHA1 is the same, nothing is queued.
    kube.apply({
      ...secret('app', { KEY: 'v3' }),
      metadata: { name: 'app', namespace: NS, labels: { team: 'shop' } }
    })
    await kube.reloader.idle()
    expect(kube.reloader.reloads).toHaveLength(2)
  })

  it('does nothing when a Secret is created (reload-on-create is off by default)', async () => {
    const kube = await start()
    kube.apply(workload('Deployment', 'api', { annotations: AUTO }))
    kube.apply(secret('app', { KEY: 'v1' }))
    await kube.reloader.idle()
    await kube.controllers.idle()
    expect(kube.reloader.reloads).toEqual([])
    expect(kube.get('Deployment', NS, 'api')!.metadata.generation).toBe(1)
  })

  it('queues changes while paused, acts on them once resumed, each after reloaderDelayMs', async () => {
    const kube = await start({ reloaderDelayMs: 200 })
    kube.apply([secret('app', { KEY: 'v1' }), workload('Deployment', 'api', { annotations: AUTO })])
    await kube.controllers.idle()
    kube.reloader.pause()
    kube.apply(secret('app', { KEY: 'v2' }))
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(kube.reloader.reloads).toEqual([])
    kube.reloader.resume()
    // Not at once: a turn of the event loop later it has still not acted (it acts on its timer of reloaderDelayMs).
    await new Promise((resolve) => setImmediate(resolve))
    expect(kube.reloader.reloads).toEqual([])
    await kube.reloader.idle()
    expect(kube.reloader.reloads).toHaveLength(1)
  })

  it('is not there unless asked for', async () => {
    const kube = cluster.track(await startKubeApiServer())
    expect(() => kube.reloader).toThrow('the Reloader simulation runs only with `reloader: true`')
  })
})
