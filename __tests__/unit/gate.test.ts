import { beforeEach, describe, expect, it } from '@jest/globals'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import { actionErrorOf } from '../../__fixtures__/problems.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import { waitForDefinitions, type GateConfig, type GateReport } from '../../src/gate/gate.js'
import { KubeError } from '../../src/k8s/errors.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import { createRedactor } from '../../src/secrets/redact.js'
import { cancellable } from '../../src/time.js'

/**
 * The GitOps gate against the in-memory cluster, on simulated time: Argo CD applying the
 * definitions is a change to the cluster some virtual seconds after the gate starts, and the
 * seconds the gate reports are exact.
 */

const LABELS = { 'zerotouch.io/managed': 'true' }
const KEY = (name: string) => `/zerotouch/prod/payments-api/${name}`
const TIMEOUT_MS = 300_000

/** An ExternalSecret as the definitions render it; without `namespace` it goes to the first namespace input. */
function definition(name: string, keys: readonly string[], namespace?: string): ExternalSecret {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name, namespace, labels: LABELS },
    spec: { refreshInterval: '1h', data: keys.map((key) => ({ secretKey: key, remoteRef: { key: KEY(key) } })) }
  }
}

/** The definition as the cluster holds it once applied: the server's and the operator's defaults and a status added. */
function applied(es: ExternalSecret, fallback = 'apps') {
  const defaults = { conversionStrategy: 'Default', decodingStrategy: 'None', metadataPolicy: 'None' }
  const namespace = es.metadata.namespace ?? fallback
  return {
    ...es,
    metadata: {
      ...es.metadata,
      namespace,
      annotations: {
        ...es.metadata.annotations,
        'argocd.argoproj.io/tracking-id': `payments:external-secrets.io/ExternalSecret:${namespace}/${es.metadata.name}`
      }
    },
    spec: {
      ...es.spec,
      target: { creationPolicy: 'Owner', deletionPolicy: 'Retain' },
      data: es.spec?.data?.map((item) => ({ ...item, remoteRef: { ...defaults, ...item.remoteRef } }))
    },
    status: { conditions: [{ type: 'Ready', status: 'True', reason: 'SecretSynced' }] }
  }
}

const STRIPE = definition('payments-api-stripe', ['stripe_api_key', 'stripe_webhook_secret'])
const STRIPE_BEFORE = definition('payments-api-stripe', ['stripe_api_key'])
const API = definition('payments-api', ['database_url'])
/** The definition as `kubectl apply` (client-side) leaves it: the object as applied in the annotation. */
function clientSideApplied(es: ExternalSecret): ExternalSecret {
  const annotations = {
    ...es.metadata.annotations,
    'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(es)
  }
  return { ...es, metadata: { ...es.metadata, annotations } }
}

/** STRIPE as the commit before had it: the webhook secret read as one property of a JSON parameter. */
const STRIPE_WITH_PROPERTY: ExternalSecret = {
  ...STRIPE,
  spec: {
    ...STRIPE.spec,
    data: STRIPE.spec?.data?.map((item, index) =>
      index === 1 ? { ...item, remoteRef: { ...item.remoteRef, property: 'signing' } } : item
    )
  }
}
const NOT_READ = `the cluster does not yet read ${KEY('stripe_webhook_secret')}`

let kube: MemoryKube
let clock: ReturnType<typeof virtualClock>
let logged: string[]
beforeEach(() => {
  kube = new MemoryKube()
  clock = virtualClock()
  logged = []
})

function gate(rendered: readonly ExternalSecret[], overrides: Partial<GateConfig> = {}): Promise<GateReport> {
  const config: GateConfig = {
    rendered,
    cluster: { namespaces: ['apps'] },
    version: 'v1',
    selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true'),
    timeoutMs: TIMEOUT_MS,
    wait: true,
    ...overrides
  }
  return clock.run(
    waitForDefinitions(config, { kube, clock, log: (line) => logged.push(line), redact: createRedactor([]) })
  )
}

const calls = (verb: 'list' | 'watch') =>
  kube.calls.filter((call) => call.verb === verb).map(({ namespace }) => namespace)
const waited = (report: GateReport) =>
  Object.fromEntries(report.outcomes.map((outcome) => [`${outcome.namespace}/${outcome.name}`, outcome.waitedMs]))

describe('waitForDefinitions', () => {
  it.each([
    { title: 'as rendered', live: [STRIPE], namespaces: ['apps'], lists: ['apps'] },
    {
      title: 'with the defaults the API server and the operator add',
      live: [applied(STRIPE)],
      namespaces: ['apps'],
      lists: ['apps']
    },
    {
      title: 'in the rendered namespace, else the first namespace input, listing each once',
      live: [applied(STRIPE, 'apps'), applied(definition('payments-api', ['database_url'], 'batch'))],
      rendered: [STRIPE, definition('payments-api', ['database_url'], 'batch')],
      namespaces: ['apps', 'jobs'],
      lists: ['apps', 'jobs', 'batch']
    }
  ])(
    'returns at once, watching nothing, when the cluster holds every definition $title',
    async ({ live, rendered = [STRIPE], namespaces, lists }) => {
      for (const es of live)
        kube.add({ ...es, metadata: { ...es.metadata, namespace: es.metadata.namespace ?? 'apps' } })
      const report = await gate(rendered, { cluster: { namespaces } })
      expect(report.outcomes.map(({ result, waitedMs }) => [result, waitedMs])).toEqual(
        rendered.map(() => ['matched', 0])
      )
      expect(report.warnings).toEqual([])
      expect(calls('list')).toEqual(lists)
      expect(calls('watch')).toEqual([])
      expect(clock.now()).toBe(0)
      expect(logged).toEqual([])
    }
  )

  it.each([
    {
      title: 'Argo CD applies the new one 3 s later, through operator noise',
      before: [STRIPE_BEFORE],
      changes: [
        [1_000, () => kube.setStatus('apps', 'payments-api-stripe', { refreshTime: '2025-06-01T10:00:01Z' })],
        [3_000, () => kube.add(applied(STRIPE))]
      ] as const,
      waited: 3_000,
      lists: 1,
      progress: [NOT_READ, 'as in the definitions after 3.0 s']
    },
    {
      title: 'one missing until Argo CD creates it',
      before: [],
      changes: [[2_000, () => kube.add(applied(STRIPE))]] as const,
      waited: 2_000,
      lists: 1,
      progress: ['it is not in the cluster yet', 'as in the definitions after 2.0 s']
    },
    {
      title: 'two commits applied one after the other, logging the difference again as it changes',
      before: [definition('payments-api-stripe', [])],
      changes: [
        [1_000, () => kube.add(applied(STRIPE_BEFORE))],
        [2_000, () => kube.add(applied(STRIPE))]
      ] as const,
      waited: 2_000,
      lists: 1,
      progress: [
        `the cluster does not yet read ${KEY('stripe_api_key')}`,
        NOT_READ,
        'as in the definitions after 2.0 s'
      ]
    },
    {
      title: 'a remoteRef.property removed in Git, until the cluster drops it',
      before: [STRIPE_WITH_PROPERTY],
      changes: [[2_000, () => kube.add(applied(STRIPE))]] as const,
      waited: 2_000,
      lists: 1,
      progress: [
        'in the cluster but not in Git, and not a default of the ExternalSecret CRD: spec.data[1].remoteRef.property',
        'as in the definitions after 2.0 s'
      ]
    },
    {
      title: 'a data entry removed in Git, until the cluster drops it',
      before: [definition('payments-api-stripe', ['stripe_api_key', 'stripe_webhook_secret', 'legacy'])],
      changes: [[1_500, () => kube.add(applied(STRIPE))]] as const,
      waited: 1_500,
      lists: 1,
      progress: [
        `removed in Git but still in the cluster: spec.data[2] (reads ${KEY('legacy')})`,
        'as in the definitions after 1.5 s'
      ]
    },
    {
      title: 'a label removed in Git, told by the last-applied configuration, until Argo CD applies the commit',
      before: [
        clientSideApplied({ ...STRIPE, metadata: { ...STRIPE.metadata, labels: { ...LABELS, team: 'payments' } } })
      ],
      changes: [[2_500, () => kube.add(applied(clientSideApplied(STRIPE)))]] as const,
      waited: 2_500,
      lists: 1,
      progress: ['removed in Git but still in the cluster: metadata.labels.team', 'as in the definitions after 2.5 s']
    },
    {
      title: 'through a dropped watch and a 410 Gone',
      before: [STRIPE_BEFORE],
      changes: [
        [1_000, () => kube.dropWatches()],
        [2_000, () => kube.compact({ endOpen: true })],
        [3_000, () => kube.add(applied(STRIPE))]
      ] as const,
      waited: 3_000,
      lists: 2,
      progress: [NOT_READ, 'as in the definitions after 3.0 s']
    },
    {
      title: 'a change made while the watch was down, seen by the list after a 410 Gone',
      before: [STRIPE_BEFORE],
      changes: [
        [500, () => kube.setStatus('apps', 'payments-api-stripe', { refreshTime: '2025-06-01T10:00:01Z' })],
        [
          1_000,
          () => {
            kube.dropWatches()
            kube.add(applied(STRIPE))
            kube.compact()
          }
        ]
      ] as const,
      waited: 1_000,
      lists: 2,
      progress: [NOT_READ, 'as in the definitions after 1.0 s']
    }
  ])('waits for the definitions: $title', async ({ before, changes, waited: expected, lists, progress }) => {
    kube.add(applied(API))
    for (const es of before) kube.add(applied(es))
    for (const [ms, change] of changes) clock.after(ms, change)
    const report = await gate([API, STRIPE])
    expect(waited(report)).toEqual({ 'apps/payments-api': 0, 'apps/payments-api-stripe': expected })
    expect(report.outcomes.every(({ result }) => result === 'matched')).toBe(true)
    expect(clock.now()).toBe(expected)
    expect(logged).toEqual([
      'Waiting up to 300 s for the cluster to apply the definitions:',
      ...progress.map((line) => `  apps/payments-api-stripe: ${line}`)
    ])
    expect(calls('list')).toHaveLength(lists)
    expect(kube.openWatches()).toBe(0)
  })

  it('fails at the timeout naming each ExternalSecret not applied and its first difference, saying the values are written', async () => {
    kube.add(applied(API))
    kube.add(applied(STRIPE_BEFORE))
    const error = await actionErrorOf(
      gate([API, STRIPE, definition('payments-api-paypal', ['paypal_secret'])], { timeoutMs: 60_000 })
    )
    expect(error.code).toBe('ZT145')
    expect(error.message.split('\n')[0]).toBe(
      'The SSM values are already written, but the cluster has not applied the definitions within 60 s (GitOps sync pending or failed: check the Argo CD application). Nothing was annotated. [ZT145]'
    )
    expect(error.problems).toEqual([
      `apps/payments-api-stripe: ${NOT_READ}`,
      'apps/payments-api-paypal: it is not in the cluster yet'
    ])
    expect(clock.now()).toBe(60_000)
    expect(kube.openWatches()).toBe(0)
  })

  it('with wait-for-definitions false, warns about each difference and returns at once', async () => {
    kube.add(applied(API))
    kube.add(applied(STRIPE_BEFORE))
    const report = await gate([API, STRIPE], { wait: false })
    expect(report.outcomes).toEqual([
      { namespace: 'apps', name: 'payments-api', waitedMs: 0, result: 'matched' },
      { namespace: 'apps', name: 'payments-api-stripe', waitedMs: 0, result: 'differs', difference: NOT_READ }
    ])
    expect(report.warnings).toEqual([
      `apps/payments-api-stripe is not yet as in the definitions: ${NOT_READ} (not waited for: wait-for-definitions is false)`
    ])
    expect(calls('watch')).toEqual([])
    expect(clock.now()).toBe(0)
  })

  it('warns about each selected ExternalSecret of the namespace inputs that is not in the definitions', async () => {
    kube.ignoreSelector = true // the gate filters the list again
    kube.add(applied(STRIPE))
    kube.add(applied(definition('legacy', ['old'])))
    kube.add(applied(definition('worker', ['queue_url']), 'jobs'))
    kube.add({
      ...applied(definition('unmanaged', ['x'])),
      metadata: { name: 'unmanaged', namespace: 'apps', labels: { app: 'x' } }
    })
    kube.add(applied(definition('elsewhere', ['x']), 'other'))
    const report = await gate([STRIPE], { cluster: { namespaces: ['apps', 'jobs'] } })
    expect(report.warnings).toEqual([
      'apps/legacy matches the label selector but is not in the definitions (not in Git)',
      'jobs/worker matches the label selector but is not in the definitions (not in Git)'
    ])
  })

  it.each([
    {
      title: 'a forbidden list',
      verb: 'list',
      error: new KubeError(
        'forbidden',
        'forbidden: "ci" may not list externalsecrets.external-secrets.io in namespace "apps"',
        403
      ),
      code: 'ZT142'
    },
    {
      title: 'an unreachable API server',
      verb: 'list',
      error: new KubeError('unreachable', 'the API server at https://10.0.0.1 cannot be reached (ECONNREFUSED)'),
      code: 'ZT140'
    },
    {
      title: 'a forbidden watch while waiting',
      verb: 'watch',
      error: new KubeError(
        'forbidden',
        'forbidden: "ci" may not watch externalsecrets.external-secrets.io in namespace "apps"',
        403
      ),
      code: 'ZT142'
    }
  ] as const)(
    'stops on $title with its catalogue code, saying nothing was annotated',
    async ({ verb, error, code }) => {
      kube.add(applied(STRIPE_BEFORE))
      kube.failNext(verb, error)
      const failure = await actionErrorOf(gate([STRIPE]))
      expect(failure.code).toBe(code)
      expect(failure.message.split('\n')[0]).toBe(
        `The SSM values are written; nothing was annotated: ${error.message} [${code}]`
      )
      expect(kube.openWatches()).toBe(0)
    }
  )
})

describe('waitForDefinitions, when the run is cancelled', () => {
  it('stops waiting at once with ZT190, not at the timeout, and leaves no watch open', async () => {
    kube.add(applied(API))
    kube.add(applied(STRIPE_BEFORE))
    const cancel = new AbortController()
    clock.after(5_000, () => cancel.abort('SIGINT'))
    const config: GateConfig = {
      rendered: [API, STRIPE],
      cluster: { namespaces: ['apps'] },
      version: 'v1',
      selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true'),
      timeoutMs: 60_000,
      wait: true
    }
    const error = await actionErrorOf(
      clock.run(
        waitForDefinitions(config, {
          kube,
          clock: cancellable(clock, cancel.signal),
          log: (line) => logged.push(line),
          redact: createRedactor([])
        })
      )
    )
    expect(error.code).toBe('ZT190')
    expect(error.message).toMatch(/^The run was cancelled \(SIGINT\) while waiting for the definitions/)
    expect(clock.now()).toBe(5_000)
    expect(kube.openWatches()).toBe(0)
  })
})
