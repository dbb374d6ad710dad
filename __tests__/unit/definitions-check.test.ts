import { describe, expect, it } from '@jest/globals'
import {
  checkBase,
  checkOverlay,
  definitionsIn,
  parametersToLookUp,
  type OverlayContext
} from '../../src/definitions/check.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import { serviceTarget } from '../../src/ssm/rules.js'

const PATH = '/zerotouch/prod/payments'

function es(
  name: string,
  spec: Record<string, unknown>,
  {
    version = 'v1',
    labels = { 'zerotouch.io/managed': 'true' }
  }: { version?: string; labels?: Record<string, string> } = {}
) {
  return {
    object: {
      apiVersion: `external-secrets.io/${version}`,
      kind: 'ExternalSecret',
      metadata: { name, namespace: 'payments-prod', labels },
      spec
    }
  }
}

function context(pushed: Record<string, string>, existing: string[] = []): OverlayContext {
  return {
    target: serviceTarget('/zerotouch', 'prod', 'payments'),
    selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true'),
    pushed: new Map(Object.entries(pushed).map(([key, source]) => [`${PATH}/${key}`, source])),
    existing: new Set(existing),
    stores: []
  }
}

describe('definitionsIn', () => {
  it('keeps ExternalSecrets of any external-secrets.io version and nothing else', () => {
    const objects = [
      es('a', {}),
      es('b', {}, { version: 'v1beta1' }),
      { object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'c' } } },
      { object: { apiVersion: 'example.com/v1', kind: 'ExternalSecret', metadata: { name: 'd' } } },
      { object: { apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name: 'e' } } }
    ]
    expect(definitionsIn(objects).map(({ externalSecret }) => externalSecret.metadata.name)).toEqual(['a', 'b'])
  })
})

describe('checkOverlay', () => {
  it('needs a value for extract keys too, and looks up only what is not pushed', () => {
    const definitions = definitionsIn([
      es('a', {
        dataFrom: [{ extract: { key: `${PATH}/bundle` } }],
        data: [{ secretKey: 'X', remoteRef: { key: `${PATH}/x` } }]
      })
    ])
    expect(parametersToLookUp(definitions, [], PATH, context({ x: 'X' }).pushed)).toEqual([`${PATH}/bundle`])
    expect(checkOverlay(definitions, context({ x: 'X' })).problems).toEqual([
      expect.stringMatching(/needs \/zerotouch\/prod\/payments\/bundle, which no secret provides/)
    ])
    expect(checkOverlay(definitions, context({ x: 'X' }, [`${PATH}/bundle`])).problems).toEqual([])
  })

  it('counts values under a find.path as read, and keys outside the service path as not its business', () => {
    const definitions = definitionsIn([
      es('a', {
        dataFrom: [{ find: { path: `${PATH}/feature_` } }, { find: { path: PATH } }],
        data: [{ secretKey: 'S', remoteRef: { key: '/shared/datadog_key' } }]
      })
    ])
    const check = checkOverlay(definitions, context({ feature_a: 'FEATURE_A', other: 'OTHER' }))
    expect(check.problems).toEqual([])
    expect(check.warnings).toEqual([])
  })

  it('warns, naming the file, about a reference pinned to a version of a parameter being pushed', () => {
    const definitions = [
      {
        ...definitionsIn([es('a', { data: [{ secretKey: 'X', remoteRef: { key: `${PATH}/x`, version: '2' } }] })])[0],
        origin: 'overlays/prod/patch.yaml'
      }
    ]
    const check = checkOverlay(definitions, context({ x: 'X' }))
    expect(check.problems).toEqual([])
    expect(check.warnings).toEqual([
      expect.stringMatching(
        /^overlays\/prod\/patch\.yaml: ExternalSecret payments-prod\/a: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/prod\/payments\/x" is pinned to version 2/
      )
    ])
    expect(checkOverlay(definitions, context({}, [`${PATH}/x`])).warnings).toEqual([])
  })

  it('refuses an overlay without any ExternalSecret', () => {
    expect(checkOverlay([], context({})).problems).toEqual([
      expect.stringMatching(/^definitions: the overlay renders no ExternalSecret/)
    ])
  })
})

describe('checkBase', () => {
  it('accepts placeholder keys and keys outside the prefix, refuses hard-coded environments', () => {
    const definitions = definitionsIn([
      es('a', { data: [{ remoteRef: { key: '/zerotouch/_ENV_/payments/x' } }, { remoteRef: { key: '/shared/y' } }] }),
      es('b', { dataFrom: [{ find: { path: '/zerotouch/stg/payments' } }] })
    ])
    expect(checkBase(definitions, '/zerotouch', [])).toEqual([
      expect.stringMatching(
        /^base ExternalSecret b: spec\.dataFrom\[0\]\.find\.path "\/zerotouch\/stg\/payments" hard-codes an environment/
      )
    ])
    expect(checkBase([], '/zerotouch', [])).toEqual([
      expect.stringMatching(/^definitions-base: the base renders no ExternalSecret/)
    ])
  })
})
