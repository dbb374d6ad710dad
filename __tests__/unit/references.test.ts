import { describe, expect, it } from '@jest/globals'
import { checkOverlay, definitionsIn, unknownStoreNotes } from '../../src/definitions/check.js'
import { guardrailProblems, ownedReferences, prunedReferenceProblems } from '../../src/eso/guardrails.js'
import {
  describeReference,
  missingStores,
  placementOf,
  reads,
  referencesOf,
  storeRefsOf,
  type ExternalSecret,
  type SecretStore
} from '../../src/eso/model.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import { changedSecrets } from '../../src/workloads/plan.js'
import { serviceTarget } from '../../src/ssm/rules.js'

/**
 * References as the External Secrets Operator resolves them through the store an ExternalSecret
 * names (external-secrets providers/v1/aws/parameterstore/parameterstore.go), and the prune guard
 * that rests on them.
 */

const scope = { pathPrefix: '/zerotouch', environment: 'prod' }

function es(spec: ExternalSecret['spec'], name = 'api', namespace = 'apps'): ExternalSecret {
  return { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name, namespace }, spec }
}

function store(
  kind: SecretStore['kind'],
  name: string,
  aws: { service?: string; prefix?: string } = { service: 'ParameterStore' },
  namespace = 'apps'
): SecretStore {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind,
    metadata: kind === 'SecretStore' ? { name, namespace } : { name },
    spec: { provider: { aws } }
  }
}

const tenant = store('SecretStore', 'tenant', { service: 'ParameterStore', prefix: '/zerotouch/prod/' })
const shared = store('ClusterSecretStore', 'shared')

describe('referencesOf, through the stores', () => {
  it("puts the store's prefix before data and extract keys, as the operator reads them (pm.prefix + ref.Key)", () => {
    const refs = referencesOf(
      es({
        secretStoreRef: { name: 'tenant' },
        data: [{ secretKey: 'URL', remoteRef: { key: 'api/url', version: '2' } }],
        dataFrom: [{ extract: { key: 'api/json' } }]
      }),
      [tenant]
    )
    const through = { store: { kind: 'SecretStore', namespace: 'apps', name: 'tenant' }, prefix: '/zerotouch/prod/' }
    expect(refs).toEqual([
      {
        kind: 'data',
        index: 0,
        key: '/zerotouch/prod/api/url',
        written: 'api/url',
        secretKey: 'URL',
        version: '2',
        through
      },
      { kind: 'extract', index: 0, key: '/zerotouch/prod/api/json', written: 'api/json', through }
    ])
    expect(describeReference(refs[0])).toBe(
      'spec.data[0].remoteRef.key "api/url" (read as "/zerotouch/prod/api/url": the prefix "/zerotouch/prod/" of SecretStore "apps/tenant")'
    )
  })

  it('lists a find from its path as written, without the prefix, and from / without a path (findByName)', () => {
    const [withPath, withoutPath, byTags] = referencesOf(
      es({
        secretStoreRef: { name: 'tenant' },
        dataFrom: [
          { find: { path: '/zerotouch/prod/api', name: { regexp: 'url$' } } },
          { find: { name: { regexp: '^/zerotouch/prod/api/' } } },
          { find: {} }
        ]
      }),
      [tenant]
    )
    expect(withPath).toMatchObject({
      kind: 'find',
      key: '/zerotouch/prod/api',
      written: '/zerotouch/prod/api',
      pattern: 'url$'
    })
    expect(withoutPath).toMatchObject({ kind: 'find', key: '/', pattern: '^/zerotouch/prod/api/' })
    expect(withoutPath.written).toBeUndefined()
    expect(describeReference(withoutPath)).toBe('spec.dataFrom[1].find (no path: searches from "/")')
    expect(byTags).not.toHaveProperty('pattern')
    expect(reads(withPath, '/zerotouch/prod/api/db/url')).toBe(true)
    expect(reads(withPath, '/zerotouch/prod/api/db/user')).toBe(false)
    expect(reads(withoutPath, '/zerotouch/prod/api/x')).toBe(true)
    expect(reads(withoutPath, '/zerotouch/stg/api/x')).toBe(false)
    expect(reads(byTags, '/anything/at/all')).toBe(true)
  })

  it('takes a pattern JavaScript cannot compile as matching every name, never fewer', () => {
    const [find] = referencesOf(es({ dataFrom: [{ find: { path: '/z', name: { regexp: '(?i)API' } } }] }), [])
    expect(reads(find, '/z/anything')).toBe(true)
  })

  it("reads an item's own sourceRef.storeRef before the ExternalSecret's store, and defaults the kind to SecretStore", () => {
    const refs = referencesOf(
      es({
        secretStoreRef: { name: 'tenant' },
        data: [
          { secretKey: 'A', remoteRef: { key: 'a' } },
          {
            secretKey: 'B',
            remoteRef: { key: '/shared/b' },
            sourceRef: { storeRef: { name: 'shared', kind: 'ClusterSecretStore' } }
          }
        ]
      }),
      [tenant, shared]
    )
    expect(refs.map(({ key }) => key)).toEqual(['/zerotouch/prod/a', '/shared/b'])
    expect(
      storeRefsOf(
        es({
          secretStoreRef: { name: 'tenant' },
          data: [{ remoteRef: { key: 'a' }, sourceRef: { storeRef: { name: 'tenant' } } }]
        })
      )
    ).toEqual([{ kind: 'SecretStore', namespace: 'apps', name: 'tenant' }])
  })

  it('finds a SecretStore in the namespace of the ExternalSecret only, a ClusterSecretStore anywhere', () => {
    const elsewhere = store('SecretStore', 'tenant', { service: 'ParameterStore', prefix: '/other/' }, 'web')
    const spec = { secretStoreRef: { name: 'tenant' }, data: [{ secretKey: 'A', remoteRef: { key: 'a' } }] }
    expect(referencesOf(es(spec), [elsewhere, tenant])[0].key).toBe('/zerotouch/prod/a')
    expect(missingStores(es(spec), [elsewhere])).toEqual([{ kind: 'SecretStore', namespace: 'apps', name: 'tenant' }])
    expect(missingStores(es({ secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' } }), [shared])).toEqual([])
  })

  it('leaves out what a store of another service or provider reads: it is no SSM parameter', () => {
    const secretsManager = store('ClusterSecretStore', 'sm', { service: 'SecretsManager', prefix: '/x/' })
    const spec = { secretStoreRef: { name: 'sm', kind: 'ClusterSecretStore' }, data: [{ remoteRef: { key: 'a' } }] }
    expect(referencesOf(es(spec), [secretsManager])).toEqual([])
  })

  it('takes the keys as written when the store is not known (the callers refuse a missing store first)', () => {
    const spec = {
      secretStoreRef: { name: 'unknown' },
      data: [{ secretKey: 'A', remoteRef: { key: '/zerotouch/prod/a' } }]
    }
    expect(referencesOf(es(spec), [])[0]).toEqual({
      kind: 'data',
      index: 0,
      key: '/zerotouch/prod/a',
      written: '/zerotouch/prod/a',
      secretKey: 'A'
    })
  })
})

describe('the guardrails, on resolved references', () => {
  it('place a prefixed key where the operator reads it: another environment through the prefix is refused', () => {
    const staging = store('SecretStore', 'tenant', { service: 'ParameterStore', prefix: '/zerotouch/stg/' })
    const problems = guardrailProblems(
      [es({ secretStoreRef: { name: 'tenant' }, data: [{ remoteRef: { key: 'api/url' } }] })],
      scope,
      [staging]
    )
    expect(problems).toEqual([
      'apps/api: spec.data[0].remoteRef.key "api/url" (read as "/zerotouch/stg/api/url": the prefix "/zerotouch/stg/" of SecretStore "apps/tenant") reads environment "stg", not "prod": a cross-environment reference; it must be under /zerotouch/prod/'
    ])
    expect(
      guardrailProblems(
        [es({ secretStoreRef: { name: 'tenant' }, data: [{ remoteRef: { key: 'api/url' } }] })],
        scope,
        [tenant]
      )
    ).toEqual([])
  })

  it('refuse a find without a path: it searches every environment from /', () => {
    expect(placementOf('/', scope)).toBe('other-environment')
    expect(placementOf('/zero', scope)).toBe('outside')
    expect(guardrailProblems([es({ dataFrom: [{ find: { name: { regexp: 'url' } } }] })], scope, [])).toEqual([
      'apps/api: spec.dataFrom[0].find (no path: searches from "/") reads all of /zerotouch/, not "prod": a cross-environment reference; it must be under /zerotouch/prod/'
    ])
  })
})

describe('prunedReferenceProblems', () => {
  const live = es(
    { secretStoreRef: { name: 'tenant' }, data: [{ secretKey: 'URL', remoteRef: { key: 'payments/url' } }] },
    'payments',
    'apps'
  )
  const readers = [
    ...ownedReferences(live, [tenant]),
    ...ownedReferences(
      es({ dataFrom: [{ find: { path: '/zerotouch/prod/payments/flags' } }] }, 'flags', 'apps'),
      [],
      'deploy/prod/flags.yaml'
    )
  ]

  it('names the parameter and each ExternalSecret that reads it, live or rendered', () => {
    expect(
      prunedReferenceProblems(
        ['/zerotouch/prod/payments/url', '/zerotouch/prod/payments/flags/beta', '/zerotouch/prod/payments/old'],
        readers
      )
    ).toEqual([
      '/zerotouch/prod/payments/url would be pruned, but ExternalSecret apps/payments reads it (spec.data[0].remoteRef.key "payments/url" (read as "/zerotouch/prod/payments/url": the prefix "/zerotouch/prod/" of SecretStore "apps/tenant")): it would fail its next sync. Give this run the secret for it, or remove the reference (and let Git apply that) before pruning',
      '/zerotouch/prod/payments/flags/beta would be pruned, but deploy/prod/flags.yaml: ExternalSecret apps/flags (definitions) reads it (spec.dataFrom[0].find.path "/zerotouch/prod/payments/flags"): its next sync would drop it from the Secret. Give this run the secret for it, or remove the reference (and let Git apply that) before pruning'
    ])
  })

  it('lets a prune of what nothing reads go ahead', () => {
    expect(prunedReferenceProblems(['/zerotouch/prod/payments/old'], readers)).toEqual([])
    expect(prunedReferenceProblems([], readers)).toEqual([])
  })
})

describe('the restart decision, on resolved references', () => {
  it('changes the Secret of an ExternalSecret whose prefixed key this run wrote, and of a find from /', () => {
    const externalSecrets = [
      es(
        { secretStoreRef: { name: 'tenant' }, target: { name: 'db' }, data: [{ remoteRef: { key: 'api/url' } }] },
        'db'
      ),
      es({ dataFrom: [{ find: { name: { regexp: '^/zerotouch/prod/api/' } } }] }, 'all'),
      es({ data: [{ remoteRef: { key: 'api/url' } }] }, 'unprefixed')
    ]
    const synced = ['db', 'all', 'unprefixed'].map((name) => ({ namespace: 'apps', name }))
    expect(changedSecrets(externalSecrets, [tenant], synced, new Set(['/zerotouch/prod/api/url']))).toEqual([
      { namespace: 'apps', name: 'db' },
      { namespace: 'apps', name: 'all' }
    ])
  })
})

describe('the definitions check, on resolved references', () => {
  const rendered = definitionsIn([
    {
      object: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: { name: 'api', namespace: 'payments-prod', labels: { 'zerotouch.io/managed': 'true' } },
        spec: { secretStoreRef: { name: 'tenant' }, data: [{ secretKey: 'URL', remoteRef: { key: 'payments/url' } }] }
      },
      origin: 'deploy/prod/api.yaml'
    }
  ])
  const context = {
    target: serviceTarget('/zerotouch', 'prod', 'payments'),
    selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true'),
    pushed: new Map([['/zerotouch/prod/payments/url', 'URL']]),
    existing: new Set<string>()
  }

  it('maps a prefixed key to the parameter the operator reads, and to the secret pushed there', () => {
    const rendersStore = store(
      'SecretStore',
      'tenant',
      { service: 'ParameterStore', prefix: '/zerotouch/prod/' },
      'payments-prod'
    )
    const check = checkOverlay(rendered, { ...context, stores: [rendersStore] })
    expect(check.problems).toEqual([])
    expect(check.warnings).toEqual([])
    expect(check.mapping).toEqual([
      {
        externalSecret: 'payments-prod/api',
        secretKey: 'URL',
        parameter: '/zerotouch/prod/payments/url',
        source: 'URL'
      }
    ])
  })

  it('without the store, sees the key as written and says so', () => {
    const check = checkOverlay(rendered, { ...context, stores: [] })
    expect(check.mapping).toEqual([])
    expect(check.warnings).toEqual([
      'secret URL is pushed to /zerotouch/prod/payments/url, but no ExternalSecret in the definitions reads it'
    ])
    expect(unknownStoreNotes(rendered, [])).toEqual([
      'deploy/prod/api.yaml: ExternalSecret payments-prod/api reads through SecretStore "payments-prod/tenant", which the definitions do not render and no cluster was given to read: its keys are checked as written (a prefix of that store is not known)'
    ])
  })
})
