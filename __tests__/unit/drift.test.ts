import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { firstDifference, liveDifference } from '../../src/eso/drift.js'
import { isRecord } from '../../src/json.js'

/** Whether the cluster holds an ExternalSecret as Git renders it, and the first difference in words. */

const KEY = (name: string) => `/zerotouch/prod/payments-api/${name}`
const LABELS = { 'zerotouch.io/managed': 'true', team: 'payments' }
const ANNOTATIONS = { 'argocd.argoproj.io/sync-wave': '1' }
const TEMPLATE = { type: 'Opaque', data: { 'config.json': '{"key": "{{ .api_key }}"}' } }

type Entry = { secretKey: string; remoteRef: Record<string, unknown> }
type DataFrom = Partial<Record<'extract' | 'find', Record<string, unknown>>>

interface Parts {
  labels?: Record<string, string>
  annotations?: Record<string, string>
  refreshInterval?: string | null
  template?: Record<string, unknown> | null
  data?: Entry[]
  dataFrom?: DataFrom[]
}

const entry = (secretKey: string, remoteRef: Record<string, unknown> = { key: KEY(secretKey) }): Entry => ({
  secretKey,
  remoteRef
})
const DATA = [entry('stripe_api_key'), entry('stripe_webhook_secret')]
const DATA_FROM: DataFrom[] = [{ extract: { key: KEY('shared') } }, { find: { path: KEY('extra') } }]

/** An ExternalSecret as kustomize renders it. */
function rendered({
  labels = LABELS,
  annotations = ANNOTATIONS,
  refreshInterval = '1h',
  template = TEMPLATE,
  data = DATA,
  dataFrom = DATA_FROM
}: Parts = {}) {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'payments-api-stripe', namespace: 'payments', labels, annotations },
    spec: {
      refreshInterval,
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'aws-ssm' },
      target: { name: 'payments-api-stripe', template },
      data,
      dataFrom
    }
  }
}

/** As the API server and the operator hand it back: defaults filled in, Argo CD's marks, metadata and status added. */
function served(parts: Parts = {}) {
  const es = rendered(parts)
  const defaults = { conversionStrategy: 'Default', decodingStrategy: 'None', metadataPolicy: 'None' }
  return {
    ...es,
    metadata: {
      ...es.metadata,
      uid: 'a1b2',
      resourceVersion: '4242',
      labels: { ...es.metadata.labels, 'app.kubernetes.io/instance': 'payments' },
      annotations: {
        ...es.metadata.annotations,
        'argocd.argoproj.io/tracking-id': 'payments:external-secrets.io/ExternalSecret:payments/payments-api-stripe'
      }
    },
    spec: {
      ...es.spec,
      target: { creationPolicy: 'Owner', deletionPolicy: 'Retain', ...es.spec.target },
      data: es.spec.data.map((item) => ({ ...item, remoteRef: { ...defaults, ...item.remoteRef } })),
      dataFrom: es.spec.dataFrom.map((item) =>
        Object.fromEntries(Object.entries(item).map(([kind, ref]) => [kind, { ...defaults, ...ref }]))
      )
    },
    status: { refreshTime: '2025-06-01T10:00:00Z', conditions: [{ type: 'Ready', status: 'True' }] }
  }
}

const LONG = `{{ .stripe_api_key }}-${'x'.repeat(120)}`
/** A value's JSON cut to 80 characters, as a difference shows it. */
const cut = (value: unknown) => `${JSON.stringify(value).slice(0, 79)}…`

describe('firstDifference', () => {
  it.each<[string, unknown, unknown]>([
    ['the same object', rendered(), rendered()],
    ['defaults, labels, annotations, metadata and status the server and the operator add', rendered(), served()],
    [
      'a rendered null: the cluster holds nothing there',
      rendered({ template: null }),
      { ...served(), spec: { ...served().spec, target: { name: 'payments-api-stripe' } } }
    ],
    ['a rendered null: the server filled in a default', rendered({ refreshInterval: null }), served()],
    ['no labels nor annotations rendered', { ...rendered(), metadata: { name: 'payments-api-stripe' } }, served()],
    ['an empty list against an empty list', rendered({ data: [] }), served({ data: [] })],
    [
      'a refreshInterval ESO wrote back in Go form',
      rendered({ refreshInterval: '1h' }),
      served({ refreshInterval: '1h0m0s' })
    ],
    [
      'a refreshInterval of the same value',
      rendered({ refreshInterval: '90m' }),
      served({ refreshInterval: '1h30m0s' })
    ]
  ])('matches: %s', (_, git, live) => {
    expect(firstDifference(git, live)).toBeUndefined()
  })

  it.each<[string, unknown, unknown, string]>([
    [
      'a data entry added in Git',
      rendered(),
      served({ data: DATA.slice(0, 1) }),
      `the cluster does not yet read ${KEY('stripe_webhook_secret')}`
    ],
    [
      'a data entry inserted in the middle: the first key missing, not the first index that differs',
      rendered({ data: [DATA[0], entry('new_key'), DATA[1]] }),
      served(),
      `the cluster does not yet read ${KEY('new_key')}`
    ],
    [
      'a key Git changed',
      rendered(),
      served({ data: [DATA[0], entry('stripe_webhook_secret', { key: KEY('old') })] }),
      `the cluster does not yet read ${KEY('stripe_webhook_secret')}`
    ],
    [
      'a whole data list the cluster lacks',
      rendered(),
      { ...served(), spec: { ...served().spec, data: undefined } },
      `the cluster does not yet read ${KEY('stripe_api_key')}`
    ],
    [
      'an extract key Git changed',
      rendered(),
      served({ dataFrom: [{ extract: { key: KEY('old') } }, DATA_FROM[1]] }),
      `the cluster does not yet read ${KEY('shared')}`
    ],
    [
      'a find path Git added',
      rendered(),
      served({ dataFrom: DATA_FROM.slice(0, 1) }),
      `the cluster does not yet read ${KEY('extra')}`
    ],
    [
      'the same key read by extract in Git and by find in the cluster',
      rendered({ dataFrom: [{ extract: { key: KEY('shared') } }] }),
      served({ dataFrom: [{ find: { path: KEY('shared') } }] }),
      `the cluster does not yet read ${KEY('shared')}`
    ],
    [
      'reordered data entries',
      rendered(),
      served({ data: [DATA[1], DATA[0]] }),
      'spec.data[0].secretKey: the cluster has "stripe_webhook_secret", Git has "stripe_api_key"'
    ],
    [
      'an extra entry in the cluster',
      rendered(),
      served({ data: [...DATA, entry('legacy')] }),
      `spec.data[2]: the cluster has ${cut(served({ data: [entry('legacy')] }).spec.data[0])}, Git has nothing`
    ],
    [
      'a version Git pins',
      rendered({
        data: [DATA[0], entry('stripe_webhook_secret', { key: KEY('stripe_webhook_secret'), version: '3' })]
      }),
      served(),
      'spec.data[1].remoteRef.version: the cluster has nothing, Git has "3"'
    ],
    [
      'a label the cluster lacks',
      rendered(),
      served({ labels: { 'zerotouch.io/managed': 'true' } }),
      'metadata.labels.team: the cluster has nothing, Git has "payments"'
    ],
    [
      'a label with another value',
      rendered(),
      served({ labels: { ...LABELS, team: 'billing' } }),
      'metadata.labels.team: the cluster has "billing", Git has "payments"'
    ],
    [
      'an annotation key with dots and a slash',
      rendered(),
      served({ annotations: { 'argocd.argoproj.io/sync-wave': '0' } }),
      'metadata.annotations["argocd.argoproj.io/sync-wave"]: the cluster has "0", Git has "1"'
    ],
    [
      'labels before spec, in document order',
      rendered(),
      served({ labels: {}, data: [] }),
      'metadata.labels["zerotouch.io/managed"]: the cluster has nothing, Git has "true"'
    ],
    [
      'a nested template field',
      rendered(),
      served({ template: { ...TEMPLATE, data: { 'config.json': '{}' } } }),
      'spec.target.template.data["config.json"]: the cluster has "{}", Git has "{\\"key\\": \\"{{ .api_key }}\\"}"'
    ],
    [
      'a template the cluster lacks, by its first field',
      rendered(),
      served({ template: null }),
      'spec.target.template.type: the cluster has nothing, Git has "Opaque"'
    ],
    [
      'a value the cluster holds as null',
      rendered(),
      served({ refreshInterval: null }),
      'spec.refreshInterval: the cluster has nothing, Git has "1h"'
    ],
    [
      'a refreshInterval of another value',
      rendered({ refreshInterval: '1h' }),
      served({ refreshInterval: '30m0s' }),
      'spec.refreshInterval: the cluster has "30m0s", Git has "1h"'
    ],
    [
      'a string against a number',
      rendered({ refreshInterval: '1' }),
      { ...served(), spec: { ...served().spec, refreshInterval: 1 } },
      'spec.refreshInterval: the cluster has 1, Git has "1"'
    ],
    [
      'an object against a string',
      rendered(),
      { ...served(), spec: { ...served().spec, target: 'payments-api-stripe' } },
      `spec.target: the cluster has "payments-api-stripe", Git has ${cut(rendered().spec.target)}`
    ],
    [
      'a long value, cut short',
      rendered({ template: { data: { long: LONG } } }),
      served(),
      `spec.target.template.data.long: the cluster has nothing, Git has ${cut(LONG)}`
    ]
  ])('differs: %s', (_, git, live, expected) => {
    expect(firstDifference(git, live)).toBe(expected)
  })

  it('says an ExternalSecret the cluster lacks is not in the cluster yet', () => {
    expect(liveDifference(rendered(), undefined)).toBe('it is not in the cluster yet')
    expect(liveDifference(rendered(), served())).toBeUndefined()
    expect(liveDifference(rendered(), served({ data: [] }))).toBe(
      `the cluster does not yet read ${KEY('stripe_api_key')}`
    )
  })
})

const key = fc.stringMatching(/^[a-z]{1,5}$/)
const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.string({ maxLength: 8 }),
    fc.array(tie('json'), { maxLength: 3 }),
    fc.dictionary(key, tie('json'), { maxKeys: 4 })
  )
}))
const externalSecret = fc.record({
  metadata: fc.record({
    name: key,
    labels: fc.dictionary(key, fc.string({ maxLength: 8 })),
    annotations: fc.dictionary(key, fc.string({ maxLength: 8 }))
  }),
  spec: fc.dictionary(key, json, { maxKeys: 5 })
})

/** The value with `extra` added under a key no generated object has, in every object it holds. */
function withExtra(value: unknown, extra: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => withExtra(item, extra))
  if (!isRecord(value)) return value
  return {
    ...Object.fromEntries(Object.entries(value).map(([name, item]) => [name, withExtra(item, extra)])),
    EXTRA: extra
  }
}

/** Every object key of the value, as paths. */
function keyPaths(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return value.flatMap((item, index) => keyPaths(item, [...path, index]))
  if (!isRecord(value)) return []
  return Object.entries(value).flatMap(([name, item]) => [[...path, name], ...keyPaths(item, [...path, name])])
}

function without(value: unknown, [head, ...rest]: Array<string | number>): unknown {
  if (Array.isArray(value)) return value.map((item: unknown, index) => (index === head ? without(item, rest) : item))
  if (!isRecord(value)) return value
  if (!rest.length) return Object.fromEntries(Object.entries(value).filter(([name]) => name !== head))
  return { ...value, [head]: without(value[head], rest) }
}

describe('firstDifference, properties', () => {
  it('finds any object as rendered in itself with extra keys added anywhere', () => {
    fc.assert(
      fc.property(externalSecret, json, (git, extra) => {
        expect(firstDifference(git, git)).toBeUndefined()
        expect(firstDifference(git, withExtra(git, extra))).toBeUndefined()
      })
    )
  })

  it('never turns a match into a difference when a rendered key is removed', () => {
    fc.assert(
      fc.property(externalSecret, json, fc.nat(), (git, extra, pick) => {
        const live = withExtra(git, extra)
        const paths = keyPaths(git) // never empty: metadata is one
        expect(firstDifference(without(git, paths[pick % paths.length]), live)).toBeUndefined()
      })
    )
  })

  it('tells any difference in one line', () => {
    fc.assert(
      fc.property(externalSecret, externalSecret, (git, live) => {
        const difference = firstDifference(git, live)
        if (difference !== undefined) expect(difference).not.toMatch(/\n/)
      })
    )
  })
})
