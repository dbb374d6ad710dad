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

/** A find has no metadataPolicy in the CRD. */
const FIND_DEFAULTS = { conversionStrategy: 'Default', decodingStrategy: 'None' }

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
        Object.fromEntries(
          Object.entries(item).map(([kind, ref]) => [kind, { ...(kind === 'find' ? FIND_DEFAULTS : defaults), ...ref }])
        )
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
      'an entry removed in Git, by the key it reads',
      rendered(),
      served({ data: [...DATA, entry('legacy')] }),
      `removed in Git but still in the cluster: spec.data[2] (reads ${KEY('legacy')})`
    ],
    [
      'a dataFrom find removed in Git, by the path it reads',
      rendered({ dataFrom: DATA_FROM.slice(0, 1) }),
      served(),
      `removed in Git but still in the cluster: spec.dataFrom[1] (reads ${KEY('extra')})`
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

/** A value that is no CRD default anywhere. */
const notDefault = fc.oneof(
  fc.integer(),
  fc.string({ minLength: 1, maxLength: 8 }).map((text) => `x${text}`)
)

describe('firstDifference, properties', () => {
  it('finds any object as rendered in itself', () => {
    fc.assert(
      fc.property(externalSecret, (git) => {
        expect(firstDifference(git, git)).toBeUndefined()
      })
    )
  })

  it('finds a field the cluster holds and Git lacks, anywhere in the spec, without a record of the apply', () => {
    fc.assert(
      fc.property(externalSecret, notDefault, (git, extra) => {
        const live = { ...git, spec: withExtra(git.spec, extra) }
        expect(firstDifference(git, live)).toMatch(
          /^in the cluster but not in Git, and not a default of the ExternalSecret CRD: spec(\.|\[|$)|removed in Git/
        )
      })
    )
  })

  it('accepts labels and annotations the tools add, without a record of the apply', () => {
    fc.assert(
      fc.property(externalSecret, fc.string({ maxLength: 8 }), (git, extra) => {
        const metadata = {
          ...git.metadata,
          labels: { ...git.metadata.labels, EXTRA: extra },
          annotations: { ...git.metadata.annotations, EXTRA: extra }
        }
        expect(firstDifference(git, { ...git, metadata })).toBeUndefined()
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

/** What Git removed: told by the applier's record where the object has one, by the CRD's defaults where not. */
describe('firstDifference, exact', () => {
  const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'
  const WITH_PROPERTY = [DATA[0], entry('stripe_webhook_secret', { key: KEY('stripe_webhook_secret'), property: 'v' })]
  const GIT = rendered()

  /** The object with the applier's record: the last-applied annotation and managedFields entries. */
  function recorded(
    live: ReturnType<typeof served>,
    { lastApplied, entries = [] }: { lastApplied?: unknown; entries?: unknown[] }
  ) {
    const annotations = lastApplied
      ? { ...live.metadata.annotations, [LAST_APPLIED]: JSON.stringify(lastApplied) }
      : live.metadata.annotations
    return { ...live, metadata: { ...live.metadata, annotations, managedFields: entries } }
  }

  /** A managedFields entry as the API server writes it. */
  const entryOf = (manager: string, operation: 'Apply' | 'Update', time: string, fieldsV1: unknown = {}) => ({
    manager,
    operation,
    apiVersion: 'external-secrets.io/v1',
    time,
    fieldsType: 'FieldsV1',
    fieldsV1
  })

  /** The fields server-side apply of `rendered()` owns: lists whole (atomic), maps key by key. */
  const APPLIED_FIELDS = {
    'f:metadata': {
      'f:labels': { 'f:zerotouch.io/managed': {}, 'f:team': {}, 'f:app.kubernetes.io/instance': {} },
      'f:annotations': { 'f:argocd.argoproj.io/sync-wave': {}, 'f:argocd.argoproj.io/tracking-id': {} }
    },
    'f:spec': {
      'f:refreshInterval': {},
      'f:secretStoreRef': { 'f:kind': {}, 'f:name': {} },
      'f:target': { 'f:name': {}, 'f:template': { 'f:type': {}, 'f:data': { 'f:config.json': {} } } },
      'f:data': {},
      'f:dataFrom': {}
    }
  }
  const T1 = '2026-12-07T10:00:00Z'
  const T2 = '2026-12-07T10:05:00Z'
  const withoutTemplate = (object: ReturnType<typeof rendered>) => ({
    ...object,
    spec: { ...object.spec, target: { name: object.spec.target.name } }
  })
  const withoutTeam = (object: ReturnType<typeof rendered>) => ({
    ...object,
    metadata: { ...object.metadata, labels: { 'zerotouch.io/managed': 'true' } }
  })
  const fieldsWithoutTemplate = {
    ...APPLIED_FIELDS,
    'f:spec': { ...APPLIED_FIELDS['f:spec'], 'f:target': { 'f:name': {} } }
  }

  it.each<[string, unknown, unknown]>([
    [
      "Argo CD's label tracking: the instance label holds the Application's name, not Git's value",
      rendered({ labels: { ...LABELS, 'app.kubernetes.io/instance': 'payments-api' } }),
      served({ labels: { ...LABELS, 'app.kubernetes.io/instance': 'prod-payments' } })
    ],
    [
      "the tools' own annotations, whatever Git renders for them",
      rendered({ annotations: { ...ANNOTATIONS, 'argocd.argoproj.io/tracking-id': 'copied:from/the:cluster' } }),
      served()
    ],
    [
      'a whole target the API server defaulted',
      { ...GIT, spec: { ...GIT.spec, target: undefined } },
      { ...served(), spec: { ...served().spec, target: { creationPolicy: 'Owner', deletionPolicy: 'Retain' } } }
    ],
    [
      "a template's defaults and a refreshInterval Git leaves out, in Go form",
      rendered({ refreshInterval: null }),
      {
        ...served({ refreshInterval: '1h0m0s' }),
        spec: {
          ...served({ refreshInterval: '1h0m0s' }).spec,
          target: {
            ...served().spec.target,
            template: { ...TEMPLATE, engineVersion: 'v2', mergePolicy: 'Replace' }
          }
        }
      }
    ],
    [
      'client-side apply of this render: a field another writer added is not Git’s',
      GIT,
      recorded(served({ data: WITH_PROPERTY.slice(0, 1).concat(DATA[1]) }), {
        lastApplied: { ...GIT, metadata: { ...GIT.metadata, labels: { ...LABELS, 'app.kubernetes.io/instance': 'x' } } }
      })
    ],
    [
      "client-side apply of a render without annotations: kubectl's empty map, and the action's own annotation",
      { ...GIT, metadata: { ...GIT.metadata, annotations: undefined } },
      recorded(served({ annotations: { 'force-sync': '1733580000' } }), {
        lastApplied: { ...GIT, metadata: { ...GIT.metadata, annotations: {} } }
      })
    ],
    [
      'server-side apply of this render, with a label another manager keeps',
      withoutTeam(GIT),
      recorded(served(), {
        entries: [
          entryOf('argocd-controller', 'Apply', T1, {
            ...APPLIED_FIELDS,
            'f:metadata': { 'f:labels': { 'f:zerotouch.io/managed': {} } }
          }),
          entryOf('kubectl-label', 'Update', T2, { 'f:metadata': { 'f:labels': { 'f:team': {} } } })
        ]
      })
    ],
    [
      'a newer server-side apply wins over a stale last-applied annotation (Argo CD moved to server-side apply)',
      withoutTemplate(GIT),
      recorded(served({ template: null }), {
        lastApplied: GIT,
        entries: [
          entryOf('argocd-controller', 'Update', T1),
          entryOf('argocd-controller', 'Apply', T2, fieldsWithoutTemplate)
        ]
      })
    ],
    [
      'a server-side apply wins over a last-applied annotation whose write has no entry',
      withoutTeam(GIT),
      recorded(served(), {
        lastApplied: GIT,
        entries: [entryOf('kubectl', 'Apply', T1, { 'f:spec': APPLIED_FIELDS['f:spec'] })]
      })
    ],
    [
      "every default of the CRD's served versions, at any depth of its lists",
      {
        spec: {
          target: { template: { templateFrom: [{ configMap: { name: 'c', items: [{ key: 'k' }] } }] } },
          data: [{ secretKey: 'a', sourceRef: { generatorRef: { kind: 'Password', name: 'p' } } }],
          dataFrom: [{ find: { path: '/p' }, rewrite: [{ merge: {} }, { regexp: { source: 'a', target: 'b' } }] }]
        }
      },
      {
        spec: {
          refreshInterval: '1h0m0s',
          target: {
            creationPolicy: 'Owner',
            deletionPolicy: 'Retain',
            template: {
              engineVersion: 'v2',
              mergePolicy: 'Replace',
              templateFrom: [
                {
                  target: 'Data',
                  valuesDecodingStrategy: 'None',
                  configMap: { name: 'c', items: [{ key: 'k', templateAs: 'Values' }] }
                }
              ]
            }
          },
          data: [
            {
              secretKey: 'a',
              sourceRef: {
                generatorRef: { apiVersion: 'generators.external-secrets.io/v1alpha1', kind: 'Password', name: 'p' }
              }
            }
          ],
          dataFrom: [
            {
              find: { path: '/p', conversionStrategy: 'Default', decodingStrategy: 'None', nullBytePolicy: 'Ignore' },
              rewrite: [
                { merge: { conflictPolicy: 'Error', into: '', priorityPolicy: 'Strict', strategy: 'Extract' } },
                { regexp: { source: 'a', target: 'b' } }
              ]
            }
          ]
        }
      }
    ]
  ])('matches: %s', (_, git, live) => {
    expect(firstDifference(git, live)).toBeUndefined()
  })

  it.each<[string, unknown, unknown, string]>([
    [
      'no record: a remoteRef.property removed in Git',
      GIT,
      served({ data: WITH_PROPERTY }),
      'in the cluster but not in Git, and not a default of the ExternalSecret CRD: spec.data[1].remoteRef.property'
    ],
    [
      'no record: a template removed in Git',
      rendered({ template: null }),
      served(),
      'in the cluster but not in Git, and not a default of the ExternalSecret CRD: spec.target.template'
    ],
    [
      'no record: a policy Git set back to its default is not its default in the cluster yet',
      GIT,
      { ...served(), spec: { ...served().spec, target: { ...served().spec.target, creationPolicy: 'Merge' } } },
      'in the cluster but not in Git, and not a default of the ExternalSecret CRD: spec.target.creationPolicy'
    ],
    [
      'client-side apply of the previous commit: a remoteRef.property removed in Git',
      GIT,
      recorded(served({ data: WITH_PROPERTY }), { lastApplied: rendered({ data: WITH_PROPERTY }) }),
      'removed in Git but still in the cluster: spec.data[1].remoteRef.property'
    ],
    [
      'client-side apply of the previous commit: a template removed in Git',
      withoutTemplate(GIT),
      recorded(served(), { lastApplied: GIT }),
      'removed in Git but still in the cluster: spec.target.template'
    ],
    [
      'client-side apply of the previous commit: a label removed in Git',
      withoutTeam(GIT),
      recorded(served(), { lastApplied: GIT }),
      'removed in Git but still in the cluster: metadata.labels.team'
    ],
    [
      'server-side apply of the previous commit: a template removed in Git',
      withoutTemplate(GIT),
      recorded(served(), { entries: [entryOf('argocd-controller', 'Apply', T1, APPLIED_FIELDS)] }),
      'removed in Git but still in the cluster: spec.target.template'
    ],
    [
      'server-side apply of the previous commit: a remoteRef.property inside the list it owns whole',
      GIT,
      recorded(served({ data: WITH_PROPERTY }), { entries: [entryOf('kubectl', 'Apply', T1, APPLIED_FIELDS)] }),
      'removed in Git but still in the cluster: spec.data[1].remoteRef.property'
    ],
    [
      'a client-side apply after a server-side one: the annotation is the newer record',
      withoutTeam(GIT),
      recorded(served(), {
        lastApplied: GIT,
        entries: [
          entryOf('argocd-controller', 'Apply', T1, fieldsWithoutTemplate),
          entryOf('kubectl-client-side-apply', 'Update', T2)
        ]
      }),
      'removed in Git but still in the cluster: metadata.labels.team'
    ],
    [
      "the newest server-side applier's entry, not an older one's",
      withoutTemplate(GIT),
      recorded(served(), {
        entries: [
          entryOf('kubectl', 'Apply', T1, fieldsWithoutTemplate),
          entryOf('argocd-controller', 'Apply', T2, APPLIED_FIELDS)
        ]
      }),
      'removed in Git but still in the cluster: spec.target.template'
    ],
    [
      'an Apply entry of a manager that does not apply Git is no record',
      withoutTemplate(GIT),
      recorded(served(), { entries: [entryOf('external-secrets', 'Apply', T2, fieldsWithoutTemplate)] }),
      'in the cluster but not in Git, and not a default of the ExternalSecret CRD: spec.target.template'
    ]
  ])('differs: %s', (_, git, live, expected) => {
    expect(firstDifference(git, live)).toBe(expected)
  })
})
