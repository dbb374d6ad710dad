import { describe, expect, it } from '@jest/globals'
import { clusterExternalSecretOf, type ExternalSecret } from '../../src/eso/model.js'
import { forceSyncRoutes } from '../../src/sync/route.js'

/**
 * Which selected ExternalSecrets are force-synced through the ClusterExternalSecret that controls them (its
 * controller resets their annotations and passes on only its own external-secrets.io/force-sync).
 */

type Owner = NonNullable<ExternalSecret['metadata']['ownerReferences']>[number]
const CES = (name: string, extra: Partial<Owner> = {}): Owner => ({
  apiVersion: 'external-secrets.io/v1',
  kind: 'ClusterExternalSecret',
  name,
  controller: true,
  ...extra
})
const es = (namespace: string, name: string, ownerReferences?: Owner[]): ExternalSecret => ({
  metadata: { namespace, name, ...(ownerReferences ? { ownerReferences } : {}) }
})

describe('clusterExternalSecretOf', () => {
  it.each<[string, Owner[] | undefined, string | undefined]>([
    ['no owner', undefined, undefined],
    ['a ClusterExternalSecret controller (v1)', [CES('shared')], 'shared'],
    [
      'a ClusterExternalSecret controller (v1beta1)',
      [CES('shared', { apiVersion: 'external-secrets.io/v1beta1' })],
      'shared'
    ],
    [
      'a ClusterExternalSecret that is an owner but not the controller',
      [CES('shared', { controller: false })],
      undefined
    ],
    ['a ClusterExternalSecret without controller', [CES('shared', { controller: undefined })], undefined],
    ['a kind of the same name in another group', [CES('shared', { apiVersion: 'example.com/v1' })], undefined],
    [
      'another controller (Argo CD, a Helm release)',
      [CES('app', { kind: 'Application', apiVersion: 'argoproj.io/v1alpha1' })],
      undefined
    ],
    ['another owner first, then the controller', [{ kind: 'ConfigMap', name: 'x' }, CES('shared')], 'shared'],
    ['a controller reference without a name', [CES('')], undefined]
  ])('%s → %s', (_case, owners, expected) => {
    expect(clusterExternalSecretOf(es('apps', 'api', owners))).toBe(expected)
  })
})

describe('forceSyncRoutes', () => {
  it('annotates the others directly and groups the controlled ones by their ClusterExternalSecret, once each', () => {
    const plain = es('apps', 'worker')
    const a = es('apps', 'api', [CES('shared')])
    const b = es('web', 'api', [CES('shared')])
    const c = es('web', 'billing', [CES('billing')])
    const routes = forceSyncRoutes([a, plain, c, b])
    expect(routes.direct).toEqual([plain])
    expect([...routes.throughClusterExternalSecrets]).toEqual([
      ['shared', [a, b]],
      ['billing', [c]]
    ])
  })

  it('routes every ExternalSecret exactly once', () => {
    const selected = [es('a', '1'), es('a', '2', [CES('x')]), es('b', '1', [CES('y')]), es('b', '2', [CES('x')])]
    const routes = forceSyncRoutes(selected)
    const routed = [...routes.direct, ...[...routes.throughClusterExternalSecrets.values()].flat()]
    expect(routed).toHaveLength(selected.length)
    expect(new Set(routed)).toEqual(new Set(selected))
  })
})
