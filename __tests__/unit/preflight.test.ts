import { beforeEach, describe, expect, it } from '@jest/globals'
import { actionErrorOf } from '../../__fixtures__/problems.js'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import type { ExternalSecret, SecretStore } from '../../src/eso/model.js'
import { forbiddenMessage, KubeError } from '../../src/k8s/errors.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import type { ObjectRef } from '../../src/k8s/types.js'
import { checkCluster, permissionsNeeded, type PreflightConfig } from '../../src/preflight/preflight.js'
import type { RunMode } from '../../src/phase.js'
import { createRedactor } from '../../src/secrets/redact.js'
import { APPS_KINDS, WORKLOAD_KINDS, type RestartPolicy } from '../../src/workloads/model.js'

const LABELS = { 'zerotouch.io/managed': 'true' }

function externalSecret(name: string, namespace = 'apps', labels: Record<string, string> = LABELS): ExternalSecret {
  return {
    metadata: { name, namespace, labels },
    spec: { data: [{ secretKey: 'URL', remoteRef: { key: `/zerotouch/prod/${name}/url` } }] }
  }
}

/** The ExternalSecret `name` as a ClusterExternalSecret of the same name creates it: controlled by it. */
function controlledByClusterExternalSecret(name: string): ExternalSecret {
  const owned = externalSecret(name)
  return {
    ...owned,
    metadata: {
      ...owned.metadata,
      ownerReferences: [{ apiVersion: 'external-secrets.io/v1', kind: 'ClusterExternalSecret', name, controller: true }]
    }
  }
}

let kube: MemoryKube
let log: string[]
beforeEach(() => {
  kube = new MemoryKube()
  kube.add(externalSecret('api'))
  kube.add(externalSecret('web', 'web'))
  log = []
})

interface Check {
  readonly namespaces?: string[]
  readonly wait?: boolean
  readonly selector?: string
  readonly restart?: RestartPolicy
  readonly mode?: RunMode
}

function check(
  {
    namespaces = ['apps'],
    wait = true,
    selector = 'zerotouch.io/managed=true',
    restart = 'none',
    mode = 'release'
  }: Check = {},
  expected: ObjectRef[] = [],
  redact = createRedactor([])
) {
  const config: PreflightConfig = {
    mode,
    cluster: { namespaces },
    selector: parseLabelSelector('label-selector', selector),
    sync: { wait },
    rollout: { restart },
    write: { prune: false }
  }
  const externalSecrets = expected.map(({ namespace, name }) => ({
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { namespace, name }
  }))
  return checkCluster(config, { externalSecrets, stores: [] }, { kube, redact, log: (line) => log.push(line) })
}

const verbs = () => kube.calls.map(({ verb }) => verb)

describe('the pre-flight', () => {
  it('discovers the version first, then checks namespaces, permissions and the selection, and says so', async () => {
    kube.version = 'v1beta1'
    expect(await check({ namespaces: ['apps', 'web'] })).toMatchObject({
      apiVersion: 'v1beta1',
      workloadKinds: APPS_KINDS
    })
    expect(verbs()[0]).toBe('discover')
    expect(kube.calls.filter(({ verb }) => verb === 'get-namespace').map(({ namespace }) => namespace)).toEqual([
      'apps',
      'web'
    ])
    expect(kube.calls.filter(({ verb }) => verb === 'access-review')).toHaveLength(10)
    expect(kube.calls.filter(({ verb }) => verb === 'list').map(({ namespace }) => namespace)).toEqual(['apps', 'web'])
    expect(verbs()).not.toContain('patch')
    expect(log).toEqual([
      'Cluster checked: external-secrets.io/v1beta1; namespaces apps, web exist; every permission the run needs is granted.'
    ])
  })

  it('asks for list, watch and patch on ExternalSecrets, list and watch on Events when it waits, and on the workloads, list on pods and get on secrets (metadata only) when it restarts them', () => {
    const asked = (wait: boolean, restart: RestartPolicy, kinds = APPS_KINDS) =>
      permissionsNeeded('apps', { mode: 'release', sync: { wait }, rollout: { restart } }, kinds).map(
        ({ verb, group, resource }) => `${verb} ${resource}.${group}`
      )
    const externalSecrets = [
      'list externalsecrets.external-secrets.io',
      'watch externalsecrets.external-secrets.io',
      'patch externalsecrets.external-secrets.io'
    ]
    expect(asked(true, 'none')).toEqual([...externalSecrets, 'list events.', 'watch events.'])
    expect(asked(false, 'none')).toEqual(externalSecrets)
    expect(asked(false, 'changed')).toEqual([
      ...externalSecrets,
      ...['deployments', 'statefulsets', 'daemonsets'].flatMap((resource) =>
        ['list', 'watch', 'patch'].map((verb) => `${verb} ${resource}.apps`)
      ),
      'list pods.',
      'get secrets.'
    ])
    // rollouts.argoproj.io only where the cluster serves the Argo Rollouts CRD.
    expect(asked(false, 'changed', WORKLOAD_KINDS).slice(-5)).toEqual([
      'list rollouts.argoproj.io',
      'watch rollouts.argoproj.io',
      'patch rollouts.argoproj.io',
      'list pods.',
      'get secrets.'
    ])
    expect(asked(false, 'none', WORKLOAD_KINDS)).toEqual(externalSecrets)
    expect(
      permissionsNeeded(
        'web',
        { mode: 'release', sync: { wait: true }, rollout: { restart: 'changed' } },
        WORKLOAD_KINDS
      ).every(({ namespace }) => namespace === 'web')
    ).toBe(true)
  })

  it('in check mode asks for read verbs only: list on ExternalSecrets, Events, each workload kind served and pods, get on secrets (metadata)', () => {
    const asked = (kinds = APPS_KINDS, wait = true, restart: RestartPolicy = 'changed') =>
      permissionsNeeded('apps', { mode: 'check', sync: { wait }, rollout: { restart } }, kinds).map(
        ({ verb, group, resource, namespace }) => `${verb} ${resource}.${group} in ${namespace}`
      )
    const expected = (kinds: readonly string[]) => [
      'list externalsecrets.external-secrets.io in apps',
      'list events. in apps',
      ...kinds.map((resource) => `list ${resource} in apps`),
      'list pods. in apps',
      'get secrets. in apps'
    ]
    expect(asked()).toEqual(expected(['deployments.apps', 'statefulsets.apps', 'daemonsets.apps']))
    // Whatever wait and restart say: a check restarts nothing and waits for nothing.
    expect(asked(APPS_KINDS, false, 'none')).toEqual(asked())
    expect(asked(WORKLOAD_KINDS)).toEqual(
      expected(['deployments.apps', 'statefulsets.apps', 'daemonsets.apps', 'rollouts.argoproj.io'])
    )
    expect(asked(WORKLOAD_KINDS).filter((permission) => !/^(list|get) /.test(permission))).toEqual([])
  })

  it('in check mode never asks for patch on a ClusterExternalSecret, and patches nothing', async () => {
    kube.denied = [{ verb: 'patch', group: 'external-secrets.io', resource: 'clusterexternalsecrets' }]
    kube.add(controlledByClusterExternalSecret('shared-db'))
    await expect(check({ mode: 'check' })).resolves.toMatchObject({ apiVersion: 'v1' })
    expect(kube.calls.filter(({ verb }) => verb === 'access-review').map(({ name }) => name)).not.toContain(
      'patch clusterexternalsecrets'
    )
    expect(verbs()).not.toContain('patch')
    expect(await actionErrorOf(check())).toMatchObject({ code: 'ZT142' })
  })

  it('asks for patch on clusterexternalsecrets at the cluster scope only when a selected ExternalSecret is controlled by one', async () => {
    kube.denied = [{ verb: 'patch', group: 'external-secrets.io', resource: 'clusterexternalsecrets' }]
    await check()
    expect(kube.calls.some(({ name }) => name === 'patch clusterexternalsecrets')).toBe(false)
    kube.add(controlledByClusterExternalSecret('shared-db'))
    const error = await actionErrorOf(check())
    expect(error).toMatchObject({
      code: 'ZT142',
      problems: [
        'forbidden: the identity of the kubeconfig may not patch clusterexternalsecrets.external-secrets.io at the cluster scope. Grant verb "patch" on resource "clusterexternalsecrets" (apiGroup "external-secrets.io") to it with a ClusterRole and a ClusterRoleBinding. The selected ExternalSecrets it controls are force-synced through ClusterExternalSecret "shared-db".'
      ]
    })
    kube.denied = []
    await expect(check()).resolves.toMatchObject({ apiVersion: 'v1' })
  })

  it('with restart: changed and the Argo Rollouts CRD served, names a missing permission on rollouts', async () => {
    kube.denied = [{ verb: 'patch', group: 'argoproj.io', resource: 'rollouts', namespace: 'apps' }]
    await expect(check({ restart: 'changed' })).resolves.toMatchObject({ workloadKinds: APPS_KINDS })
    kube.rollouts = true
    const error = await actionErrorOf(check({ restart: 'changed' }))
    expect(error).toMatchObject({
      code: 'ZT142',
      problems: [
        'forbidden: the identity of the kubeconfig may not patch rollouts.argoproj.io in namespace "apps". Grant verb "patch" on resource "rollouts" (apiGroup "argoproj.io") to it with a Role in namespace "apps" and a RoleBinding.'
      ]
    })
    kube.denied = []
    await expect(check({ restart: 'changed' })).resolves.toMatchObject({
      apiVersion: 'v1',
      workloadKinds: WORKLOAD_KINDS
    })
    expect(log.at(-1)).toMatch(/; Argo Rollouts is installed; every permission the run needs is granted\.$/)
  })

  it('with restart: changed, names a missing permission on the workloads before anything is written', async () => {
    kube.denied = [{ verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'apps' }]
    await expect(check({ restart: 'none' })).resolves.toMatchObject({ apiVersion: 'v1', workloadKinds: APPS_KINDS })
    const error = await actionErrorOf(check({ restart: 'changed' }))
    expect(error).toMatchObject({
      code: 'ZT142',
      problems: [
        expect.stringMatching(
          /^forbidden: the identity of the kubeconfig may not patch deployments\.apps in namespace "apps"/
        )
      ]
    })
  })

  it.each([
    [
      'the CRDs are missing',
      () => (kube.version = undefined),
      'ZT141',
      'Nothing was written: the cluster does not serve the external-secrets.io API [ZT141]'
    ],
    [
      'the credentials are rejected',
      () =>
        kube.failNext(
          'discover',
          new KubeError('unauthorized', 'the API server rejected the credentials (401 Unauthorized)', 401)
        ),
      'ZT140',
      'Nothing was written: the API server rejected the credentials (401 Unauthorized) [ZT140]'
    ],
    [
      'the server is unreachable',
      () =>
        kube.failNext(
          'discover',
          new KubeError('unreachable', 'cannot reach the Kubernetes API server at https://10.0.0.1 (ECONNREFUSED)')
        ),
      'ZT140',
      'Nothing was written: cannot reach the Kubernetes API server at https://10.0.0.1 (ECONNREFUSED) [ZT140]'
    ]
  ])('stops at once when %s, before any other call', async (_what, arrange, code, message) => {
    arrange()
    const error = await actionErrorOf(check())
    expect(error).toMatchObject({ code, message })
    expect(verbs()).toEqual(['discover'])
  })

  it('reports every problem at once: a missing namespace, each missing permission, a namespace that selects nothing', async () => {
    kube.namespaces = new Set(['apps', 'web', 'empty'])
    kube.denied = [
      { verb: 'patch', group: 'external-secrets.io', resource: 'externalsecrets', namespace: 'apps' },
      { verb: 'watch', group: '', resource: 'events', namespace: 'web' }
    ]
    const error = await actionErrorOf(check({ namespaces: ['apps', 'gone', 'web', 'empty'] }))
    expect(error.code).toBe('ZT143')
    expect(error.message).toMatch(/^Nothing was written: the cluster check found 4 problems:/)
    expect(error.problems).toEqual([
      'namespace "gone" does not exist in the cluster: check the namespace and kube-context inputs',
      'forbidden: the identity of the kubeconfig may not patch externalsecrets.external-secrets.io in namespace "apps". Grant verb "patch" on resource "externalsecrets" (apiGroup "external-secrets.io") to it with a Role in namespace "apps" and a RoleBinding.',
      'forbidden: the identity of the kubeconfig may not watch events in namespace "web". Grant verb "watch" on resource "events" (apiGroup "") to it with a Role in namespace "web" and a RoleBinding.',
      'no ExternalSecret matches label selector "zerotouch.io/managed=true" in namespace "empty": check the namespace and label-selector inputs, and that the ExternalSecrets carry the label'
    ])
    expect(kube.calls.filter(({ verb }) => verb === 'list').map(({ namespace }) => namespace)).toEqual([
      'apps',
      'web',
      'empty'
    ])
  })

  it('still lists the ExternalSecrets of a namespace where only another list is refused (events)', async () => {
    kube.denied = [{ verb: 'list', group: '', resource: 'events', namespace: 'apps' }]
    const error = await actionErrorOf(check())
    expect(error.problems).toEqual([expect.stringMatching(/may not list events in namespace "apps"/)])
    expect(kube.calls.filter(({ verb }) => verb === 'list').map(({ namespace }) => namespace)).toEqual(['apps'])
  })

  it('names the permission with its own code when that is the only kind of problem', async () => {
    kube.denied = [{ verb: 'list', group: 'external-secrets.io', resource: 'externalsecrets', namespace: 'apps' }]
    const error = await actionErrorOf(check())
    expect(error.code).toBe('ZT142')
    expect(error.problems).toEqual([
      expect.stringMatching(
        /^forbidden: the identity of the kubeconfig may not list externalsecrets\.external-secrets\.io in namespace "apps"/
      )
    ])
    expect(verbs()).not.toContain('list')
  })

  it('does not need a selected ExternalSecret where the definitions will bring one', async () => {
    kube.namespaces = new Set(['apps', 'fresh'])
    await expect(
      check({ namespaces: ['apps', 'fresh'] }, [{ namespace: 'fresh', name: 'api' }])
    ).resolves.toMatchObject({
      apiVersion: 'v1',
      workloadKinds: APPS_KINDS
    })
    const error = await actionErrorOf(check({ namespaces: ['apps', 'fresh'] }, [{ namespace: 'apps', name: 'api' }]))
    expect(error.problems).toEqual([
      expect.stringMatching(/^no ExternalSecret matches label selector .* in namespace "fresh"/)
    ])
  })

  it('goes on when the identity may not read namespaces or review its own access, as tenant Roles often are', async () => {
    kube.namespacesUnreadable = true
    kube.failNext('access-review', new KubeError('forbidden', 'selfsubjectaccessreviews is forbidden', 403))
    await expect(check()).resolves.toMatchObject({ apiVersion: 'v1', workloadKinds: APPS_KINDS })
    expect(log[0]).toMatch(/namespaces apps exist \(or may not be read\)/)
  })

  it('fails on a selector that matches nothing, however the server filters', async () => {
    const error = await actionErrorOf(check({ selector: 'team=payments' }))
    expect(error).toMatchObject({
      code: 'ZT143',
      problems: [expect.stringContaining('label selector "team=payments" in namespace "apps"')]
    })
  })

  it('redacts what the cluster says', async () => {
    kube.failNext('discover', new KubeError('unauthorized', 'token tok-123456 rejected', 401))
    expect((await actionErrorOf(check({}, [], createRedactor(['tok-123456'])))).message).toBe(
      'Nothing was written: token *** rejected [ZT140]'
    )
  })
})

describe('the pre-flight, on the stores the ExternalSecrets read through', () => {
  const store = (kind: SecretStore['kind'], name: string, prefix = ''): SecretStore => ({
    apiVersion: 'external-secrets.io/v1',
    kind,
    metadata: kind === 'SecretStore' ? { name, namespace: 'apps' } : { name },
    spec: { provider: { aws: { service: 'ParameterStore', prefix } } }
  })
  const through = (es: ExternalSecret, name: string, kind?: string): ExternalSecret => ({
    ...es,
    spec: { ...es.spec, secretStoreRef: { name, ...(kind && { kind }) } }
  })
  const config = (prune: boolean): PreflightConfig => ({
    mode: 'release',
    cluster: { namespaces: ['apps'] },
    selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true'),
    sync: { wait: true },
    rollout: { restart: 'none' },
    write: { prune }
  })
  const run = (
    prune = false,
    rendered: { externalSecrets: ExternalSecret[]; stores: SecretStore[] } = { externalSecrets: [], stores: [] }
  ) => checkCluster(config(prune), rendered, { kube, redact: createRedactor([]), log: (line) => log.push(line) })
  const storesAsked = () => kube.calls.filter(({ verb }) => verb === 'get-store').map(({ name }) => name)

  beforeEach(() => {
    kube = new MemoryKube()
    kube.add(through(externalSecret('api'), 'tenant'))
    kube.add(through(externalSecret('legacy', 'apps', {}), 'legacy-store', 'ClusterSecretStore'))
    kube.stores.push(store('SecretStore', 'tenant', '/zerotouch/prod/'), store('ClusterSecretStore', 'legacy-store'))
  })

  it('gets each store a selected ExternalSecret names, once, and returns them with every ExternalSecret of the namespaces', async () => {
    kube.add(through(externalSecret('web'), 'tenant'))
    const check = await run()
    expect(storesAsked()).toEqual(['tenant'])
    expect(check.stores.map(({ metadata }) => metadata.name)).toEqual(['tenant'])
    expect(log[1]).toBe('Keys resolve through SecretStore "apps/tenant" (prefix "/zerotouch/prod/").')
    expect(check.externalSecrets.map(({ metadata }) => metadata.name).sort()).toEqual(['api', 'legacy', 'web'])
    expect(kube.calls.filter(({ verb }) => verb === 'list')).toHaveLength(1)
  })

  it('with prune, gets the stores of the ExternalSecrets the selector leaves out too: they guard what they read', async () => {
    const check = await run(true)
    expect(storesAsked().sort()).toEqual(['legacy-store', 'tenant'])
    expect(check.stores).toHaveLength(2)
  })

  it('refuses an ExternalSecret whose store does not exist, naming both, before anything is written (ZT144)', async () => {
    kube.stores.splice(0)
    const error = await actionErrorOf(run())
    expect(error).toMatchObject({
      code: 'ZT144',
      problems: [
        'ExternalSecret apps/api reads through SecretStore "apps/tenant", which does not exist in the cluster: the operator cannot sync it, and the action cannot tell which parameters it reads; create the store or fix spec.secretStoreRef'
      ]
    })
  })

  it('lists an identity that may not get the store among the other problems, naming the permission (ZT142)', async () => {
    kube.denied = [{ verb: 'watch', group: '', resource: 'events', namespace: 'apps' }]
    kube.failNext(
      'get-store',
      new KubeError(
        'forbidden',
        forbiddenMessage({ verb: 'get', group: 'external-secrets.io', resource: 'secretstores', namespace: 'apps' }),
        403
      )
    )
    const error = await actionErrorOf(run())
    expect(error.code).toBe('ZT142')
    expect(error.problems).toEqual([
      expect.stringMatching(/may not watch events in namespace "apps"/),
      expect.stringMatching(/may not get secretstores\.external-secrets\.io in namespace "apps"/)
    ])
  })

  it('takes a store the definitions render as it is rendered, without asking the cluster', async () => {
    kube.stores.splice(0)
    const rendered = {
      externalSecrets: [through(externalSecret('api'), 'tenant')],
      stores: [store('SecretStore', 'tenant', '/zerotouch/prod/')]
    }
    const check = await run(false, rendered)
    expect(storesAsked()).toEqual([])
    expect(check.stores).toEqual([])
  })
})
