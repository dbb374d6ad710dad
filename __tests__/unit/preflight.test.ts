import { beforeEach, describe, expect, it } from '@jest/globals'
import { actionErrorOf } from '../../__fixtures__/problems.js'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import { KubeError } from '../../src/k8s/errors.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import type { ObjectRef } from '../../src/k8s/types.js'
import { checkCluster, permissionsNeeded, type PreflightConfig } from '../../src/preflight/preflight.js'
import { createRedactor } from '../../src/secrets/redact.js'
import type { RestartPolicy } from '../../src/workloads/model.js'

const LABELS = { 'zerotouch.io/managed': 'true' }

function externalSecret(name: string, namespace = 'apps', labels: Record<string, string> = LABELS): ExternalSecret {
  return {
    metadata: { name, namespace, labels },
    spec: { data: [{ secretKey: 'URL', remoteRef: { key: `/zerotouch/prod/${name}/url` } }] }
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
}

function check(
  { namespaces = ['apps'], wait = true, selector = 'zerotouch.io/managed=true', restart = 'none' }: Check = {},
  expected: ObjectRef[] = [],
  redact = createRedactor([])
) {
  const config: PreflightConfig = {
    cluster: { namespaces },
    selector: parseLabelSelector('label-selector', selector),
    sync: { wait },
    rollout: { restart }
  }
  return checkCluster(config, expected, { kube, redact, log: (line) => log.push(line) })
}

const verbs = () => kube.calls.map(({ verb }) => verb)

describe('the pre-flight', () => {
  it('discovers the version first, then checks namespaces, permissions and the selection, and says so', async () => {
    kube.version = 'v1beta1'
    expect(await check({ namespaces: ['apps', 'web'] })).toEqual({ apiVersion: 'v1beta1' })
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
    const asked = (wait: boolean, restart: RestartPolicy) =>
      permissionsNeeded('apps', { sync: { wait }, rollout: { restart } }).map(
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
    expect(
      permissionsNeeded('web', { sync: { wait: true }, rollout: { restart: 'changed' } }).every(
        ({ namespace }) => namespace === 'web'
      )
    ).toBe(true)
  })

  it('with restart: changed, names a missing permission on the workloads before anything is written', async () => {
    kube.denied = [{ verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'apps' }]
    await expect(check({ restart: 'none' })).resolves.toEqual({ apiVersion: 'v1' })
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
    await expect(check({ namespaces: ['apps', 'fresh'] }, [{ namespace: 'fresh', name: 'api' }])).resolves.toEqual({
      apiVersion: 'v1'
    })
    const error = await actionErrorOf(check({ namespaces: ['apps', 'fresh'] }, [{ namespace: 'apps', name: 'api' }]))
    expect(error.problems).toEqual([
      expect.stringMatching(/^no ExternalSecret matches label selector .* in namespace "fresh"/)
    ])
  })

  it('goes on when the identity may not read namespaces or review its own access, as tenant Roles often are', async () => {
    kube.namespacesUnreadable = true
    kube.failNext('access-review', new KubeError('forbidden', 'selfsubjectaccessreviews is forbidden', 403))
    await expect(check()).resolves.toEqual({ apiVersion: 'v1' })
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
