import { beforeEach, describe, expect, it } from '@jest/globals'
import { actionErrorOf } from '../../__fixtures__/problems.js'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import { KubeError } from '../../src/k8s/errors.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import { createRedactor } from '../../src/secrets/redact.js'
import type { ParameterStore } from '../../src/ssm/store.js'
import {
  syncExternalSecrets,
  type SyncConfig,
  type SyncDependencies,
  type SyncReport,
  type SyncSettings
} from '../../src/sync/sync.js'
import { FAILURE_CONFIRM_MS } from '../../src/sync/wait.js'

/**
 * The sync phase against the in-memory cluster, entirely on simulated time: the phase (its patch
 * retries, its watches' backoff, its timeout) and the operator all sleep on one virtual clock,
 * and `clock.run` plays each run out, jumping from one wake-up to the next. Nothing waits in real
 * time, so timeouts and operator delays are realistic and the seconds reported are exact.
 */

const LABELS = { 'zerotouch.io/managed': 'true' }
const READY = { type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced' }
const SELECTOR = parseLabelSelector('label-selector', 'zerotouch.io/managed=true')
/** As the inputs' defaults: timeout 300s. */
const SETTINGS: SyncSettings = { annotationKey: 'force-sync', wait: true, timeoutMs: 300_000, verifyReferences: true }
/** How long the operator takes to act on an annotation, unless a test says otherwise. */
const SYNC_MS = 1_500

type Overrides = Partial<SyncSettings> & { namespaces?: string[]; dryRun?: boolean }

function config({ namespaces = ['apps'], dryRun = false, ...sync }: Overrides = {}): SyncConfig {
  return {
    cluster: { namespaces },
    selector: SELECTOR,
    sync: { ...SETTINGS, ...sync },
    target: { pathPrefix: '/zerotouch', environment: 'prod' },
    dryRun
  }
}

/** A Parameter Store holding `names`, recording each GetParameters call. */
function fakeStore(names: string[]): ParameterStore & { calls: Array<{ names: string[]; decrypt: boolean }> } {
  const calls: Array<{ names: string[]; decrypt: boolean }> = []
  const fail = (): Promise<never> => Promise.reject(new Error('not used by the sync phase'))
  return {
    calls,
    getParameters(batch, decrypt) {
      calls.push({ names: [...batch], decrypt })
      if (batch.length > 10) return Promise.reject(new Error('more than 10 names'))
      return Promise.resolve({
        found: batch
          .filter((name) => names.includes(name))
          .map((name) => ({ name, value: 'secret', type: 'SecureString', version: 1 })),
        missing: batch.filter((name) => !names.includes(name))
      })
    },
    describeParameters: fail,
    listNames: fail,
    getHistoryPage: fail,
    getTags: fail,
    putParameter: fail,
    addTags: fail,
    deleteParameters: fail
  }
}

function externalSecret(
  name: string,
  {
    namespace = 'apps',
    labels = LABELS,
    keys = [`/zerotouch/prod/${name}/URL`],
    spec = {},
    status
  }: {
    namespace?: string
    labels?: Record<string, string>
    keys?: string[]
    spec?: Partial<NonNullable<ExternalSecret['spec']>>
    status?: ExternalSecret['status']
  } = {}
): ExternalSecret {
  return {
    metadata: { name, namespace, labels },
    spec: {
      refreshInterval: '1h',
      data: keys.map((key, index) => ({ secretKey: `K${index}`, remoteRef: { key } })),
      ...spec
    },
    status: status ?? { syncedResourceVersion: `1-old-${name}`, conditions: [READY] }
  }
}

let kube: MemoryKube
let store: ReturnType<typeof fakeStore>
let clock: ReturnType<typeof virtualClock>
beforeEach(() => {
  kube = new MemoryKube()
  store = fakeStore(['/zerotouch/prod/api/URL', '/zerotouch/prod/web/URL', '/zerotouch/prod/worker/URL'])
  clock = virtualClock()
})

function deps(extra: Partial<SyncDependencies> = {}): SyncDependencies {
  return { kube, store, redact: createRedactor([]), clock, ...extra }
}

/** The phase with `overrides` of the default settings, played out on the virtual clock. */
function sync(overrides: Overrides = {}, extra: Partial<SyncDependencies> = {}): Promise<SyncReport> {
  return clock.run(
    syncExternalSecrets(
      config(overrides),
      { apiVersion: kube.version ?? 'v1', written: new Set(), stores: [] },
      deps(extra)
    )
  )
}

/** The operator: syncs (or fails) each patched ExternalSecret `delayMs` after its patch. */
function operator(
  behaviour: (es: ExternalSecret) => 'ok' | { fail: string; event?: boolean; eventFirst?: boolean } | 'ignore' = () =>
    'ok',
  delayMs = SYNC_MS
): { synced: string[] } {
  const synced: string[] = []
  kube.onPatch = (es) => {
    const what = behaviour(es)
    if (what === 'ignore') return
    clock.after(delayMs, () => {
      const { namespace = '', name } = es.metadata
      if (!kube.get(namespace, name)) return
      if (what === 'ok') {
        kube.syncOk(namespace, name)
        synced.push(`${namespace}/${name}`)
      } else
        kube.syncFail(namespace, name, what.fail, { event: what.event ?? true, eventFirst: what.eventFirst ?? true })
    })
  }
  return { synced }
}

const results = (report: SyncReport) =>
  Object.fromEntries(report.outcomes.map((o) => [`${o.namespace}/${o.name}`, o.result]))
const seconds = (report: SyncReport) =>
  Object.fromEntries(report.outcomes.map((o) => [`${o.namespace}/${o.name}`, o.seconds]))
const patchedNames = () =>
  kube.calls.filter(({ verb }) => verb === 'patch').map(({ namespace, name }) => `${namespace}/${name}`)

/** The status of an ExternalSecret whose provider read failed before the run (and is retried). */
const FAILING_BEFORE_THE_RUN = {
  syncedResourceVersion: '1-old',
  conditions: [
    { type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: 'could not get secret data from provider' }
  ]
}

describe('syncExternalSecrets', () => {
  it('annotates only the selected ExternalSecrets with one value unique to the run, and waits for their fresh syncs', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    kube.add(externalSecret('unlabeled', { labels: { app: 'x' } }))
    kube.add(externalSecret('api', { namespace: 'other' }))
    const { synced } = operator()
    const report = await sync()
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'synced' })
    expect(synced.sort()).toEqual(['apps/api', 'apps/web'])
    expect(patchedNames().sort()).toEqual(['apps/api', 'apps/web'])
    expect(kube.calls.some(({ namespace }) => namespace === 'other')).toBe(false)
    expect(kube.get('apps', 'unlabeled')?.metadata.annotations).toBeUndefined()
    const value = report.annotation.value
    expect(kube.get('apps', 'api')?.metadata.annotations?.['force-sync']).toBe(value)
    expect(kube.get('apps', 'web')?.metadata.annotations?.['force-sync']).toBe(value)
    expect(report).toMatchObject({
      apiVersion: 'v1',
      dryRun: false,
      waited: true,
      checkedReferences: 2,
      checkedParameters: ['/zerotouch/prod/api/URL', '/zerotouch/prod/web/URL']
    })
    // from each annotation to its fresh sync; the phase returns as soon as the last one synced
    expect(seconds(report)).toEqual({ 'apps/api': 1.5, 'apps/web': 1.5 })
    expect(clock.now()).toBe(SYNC_MS)
    expect(kube.openWatches()).toBe(0)
  })

  it('force-syncs the ExternalSecrets a ClusterExternalSecret controls through it: one patch of its force-sync annotation, each awaited', async () => {
    const owned = (es: ExternalSecret): ExternalSecret => ({
      ...es,
      metadata: {
        ...es.metadata,
        ownerReferences: [
          { apiVersion: 'external-secrets.io/v1', kind: 'ClusterExternalSecret', name: 'shared', controller: true }
        ]
      }
    })
    kube.add(owned(externalSecret('api')))
    kube.add(owned(externalSecret('api', { namespace: 'web' })))
    kube.add(externalSecret('worker'))
    const { synced } = operator()
    const report = await sync({ namespaces: ['apps', 'web'] })
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'web/api': 'synced', 'apps/worker': 'synced' })
    expect(synced.sort()).toEqual(['apps/api', 'apps/worker', 'web/api'])
    expect(patchedNames()).toEqual(['apps/worker'])
    expect(kube.calls.filter(({ verb }) => verb === 'patch-ces').map(({ name }) => name)).toEqual(['shared'])
    const value = report.annotation.value
    expect(kube.get('web', 'api')?.metadata.annotations).toEqual({ 'external-secrets.io/force-sync': value })
    expect(report.clusterExternalSecrets).toEqual([
      {
        name: 'shared',
        selected: [
          { namespace: 'apps', name: 'api' },
          { namespace: 'web', name: 'api' }
        ],
        outside: []
      }
    ])
    expect(seconds(report)).toEqual({ 'apps/api': 1.5, 'web/api': 1.5, 'apps/worker': 1.5 })
  })

  it('fails the ExternalSecrets of a ClusterExternalSecret it may not patch, naming it, and syncs the others', async () => {
    kube.add({
      ...externalSecret('api'),
      metadata: {
        ...externalSecret('api').metadata,
        ownerReferences: [
          { apiVersion: 'external-secrets.io/v1', kind: 'ClusterExternalSecret', name: 'shared', controller: true }
        ]
      }
    })
    kube.add(externalSecret('web'))
    kube.failNext(
      'patch-ces',
      new KubeError('forbidden', 'forbidden: may not patch clusterexternalsecrets.external-secrets.io', 403)
    )
    operator()
    const report = await sync({}, { patchAttempts: 1 })
    expect(results(report)).toEqual({ 'apps/api': 'failed', 'apps/web': 'synced' })
    expect(report.outcomes.find(({ name }) => name === 'api')?.reason).toBe(
      'not annotated: through ClusterExternalSecret "shared": forbidden: may not patch clusterexternalsecrets.external-secrets.io'
    )
  })

  it('lists the Events before annotating and watches from that list', async () => {
    kube.add(externalSecret('api'))
    operator()
    await sync()
    const verbs = kube.calls.map(({ verb }) => verb)
    expect(verbs.indexOf('list-events')).toBeLessThan(verbs.indexOf('patch'))
    expect(verbs[0]).toBe('list')
  })

  it('does not return on a Ready left from before the annotation: only the fresh sync counts', async () => {
    kube.add(externalSecret('api'))
    const { synced } = operator(() => 'ok', 45_000)
    const report = await sync()
    expect(synced).toEqual(['apps/api'])
    expect(report.outcomes[0]).toMatchObject({ result: 'synced', seconds: 45 })
    expect(clock.now()).toBe(45_000)
  })

  it('a second run with the same operator triggers again (the value differs per run)', async () => {
    kube.add(externalSecret('api'))
    operator()
    const first = await sync()
    const second = await sync()
    expect(second.annotation.value).not.toBe(first.annotation.value)
    expect(second.outcomes[0]).toMatchObject({ result: 'synced', seconds: 1.5 })
  })

  it('fails one ExternalSecret whose Ready turns False when no fresh sync follows within FAILURE_CONFIRM_MS, with the Event message, and still waits for the others', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    operator((es) =>
      es.metadata.name === 'web'
        ? { fail: 'error processing spec.data[0] (key: /zerotouch/prod/web/URL), err: Secret does not exist' }
        : 'ok'
    )
    const report = await sync()
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'failed' })
    expect(report.outcomes.find(({ name }) => name === 'web')?.reason).toBe(
      'the sync failed: error processing spec.data[0] (key: /zerotouch/prod/web/URL), err: Secret does not exist'
    )
    expect(seconds(report)).toEqual({ 'apps/api': 1.5, 'apps/web': 1.5 })
    expect(clock.now()).toBe(SYNC_MS + FAILURE_CONFIRM_MS)
  })

  it("syncs one whose Ready turned False on a provider error when the operator's retry syncs within FAILURE_CONFIRM_MS", async () => {
    kube.add(externalSecret('api'))
    kube.onPatch = () => {
      // ESO's workqueue retries a provider error with backoff: Ready False (no Event yet), then the retry syncs.
      clock.after(SYNC_MS, () => kube.syncFail('apps', 'api', 'ThrottlingException: Rate exceeded', { event: false }))
      clock.after(SYNC_MS + 1_000, () => kube.syncOk('apps', 'api'))
    }
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({ result: 'synced', seconds: 2.5 })
    expect(clock.now()).toBe(SYNC_MS + 1_000)
  })

  it('fails one whose Ready turned False, with no Event, FAILURE_CONFIRM_MS later with the condition', async () => {
    kube.add(externalSecret('api'))
    operator(() => ({ fail: 'unused', event: false }))
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({
      result: 'failed',
      seconds: 1.5,
      reason: 'the sync failed: Ready=False (SecretSyncedError: could not get secret data from provider)'
    })
    expect(clock.now()).toBe(SYNC_MS + FAILURE_CONFIRM_MS)
  })

  it('syncs one whose failure Event came from a reconcile started before the push, when the reconcile the annotation asked for succeeds', async () => {
    kube.add(externalSecret('api'))
    kube.onPatch = () => {
      // A retry that read SSM before the push wrote ends after the annotation: its Event is new, its status write conflicted.
      clock.after(200, () =>
        kube.emitEvent(
          'apps',
          'api',
          'UpdateFailed',
          'error processing spec.data[0] (key: /zerotouch/prod/api/URL), err: Secret does not exist'
        )
      )
      clock.after(SYNC_MS, () => kube.syncOk('apps', 'api'))
    }
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({ result: 'synced', seconds: 1.5 })
    expect(clock.now()).toBe(SYNC_MS)
  })

  it('takes the Event message even when the status turns False before the Event is written', async () => {
    kube.add(externalSecret('api'))
    operator(() => ({ fail: 'err: AccessDeniedException', eventFirst: false }))
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({
      result: 'failed',
      reason: 'the sync failed: err: AccessDeniedException',
      seconds: 1.5
    })
  })

  it('succeeds for one that failed before the run when the pushed value fixes it', async () => {
    kube.add(externalSecret('api', { status: FAILING_BEFORE_THE_RUN }))
    kube.emitEvent('apps', 'api', 'UpdateFailed', 'err: Secret does not exist')
    operator()
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({ result: 'synced', seconds: 1.5 })
  })

  it('does not take an old failure Event for this run when a 410 makes it list the Events again', async () => {
    kube.add(externalSecret('api', { status: FAILING_BEFORE_THE_RUN }))
    kube.emitEvent('apps', 'api', 'UpdateFailed', 'err: Secret does not exist')
    kube.onPatch = () => {
      clock.after(500, () => kube.compact({ endOpen: true }))
      clock.after(SYNC_MS, () => kube.syncOk('apps', 'api'))
    }
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({ result: 'synced', seconds: 1.5 })
    expect(kube.calls.filter(({ verb }) => verb === 'list-events').length).toBeGreaterThan(1)
  })

  it('counts a failure Event from before the run counted again during the wait as this run failing', async () => {
    kube.add(externalSecret('api'))
    kube.emitEvent('apps', 'api', 'UpdateFailed', 'old failure', 'api.same')
    kube.onPatch = () =>
      clock.after(SYNC_MS, () => kube.emitEvent('apps', 'api', 'UpdateFailed', 'failed again', 'api.same'))
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({
      result: 'failed',
      reason: 'the sync failed: failed again',
      seconds: 1.5
    })
    // Only an Event says so (the status did not change): it waited FAILURE_CONFIRM_MS for a fresh sync that would contradict it.
    expect(clock.now()).toBe(SYNC_MS + FAILURE_CONFIRM_MS)
  })

  it('on timeout names each one not synced with its last known condition', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    operator((es) => (es.metadata.name === 'api' ? 'ok' : 'ignore'))
    const report = await sync({ timeoutMs: 90_000 })
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'timed-out' })
    expect(report.outcomes.find(({ name }) => name === 'web')?.reason).toBe(
      'not freshly synced within 90 s: last known Ready=True (SecretSynced: secret synced), syncedResourceVersion unchanged since the annotation'
    )
    expect(seconds(report)).toEqual({ 'apps/api': 1.5, 'apps/web': 90 })
    // at the timeout, not a moment later: the stopped watches settle at once
    expect(clock.now()).toBe(90_000)
    expect(kube.openWatches()).toBe(0)
  })

  it('returns a grace second after the timeout when a re-list hangs on a dead server', async () => {
    kube.add(externalSecret('api'))
    const list = kube.listExternalSecrets.bind(kube)
    let dead = false
    kube.listExternalSecrets = (ref) => (dead ? new Promise(() => undefined) : list(ref))
    kube.onPatch = () =>
      clock.after(10_000, () => {
        dead = true
        kube.compact({ endOpen: true }) // the watch ends with 410 and lists again, for ever
      })
    const report = await sync({ timeoutMs: 60_000 })
    expect(report.outcomes[0]).toMatchObject({ result: 'timed-out', seconds: 60 })
    expect(clock.now()).toBe(61_000)
  })

  it('keeps waiting through dropped watches and 410 Gone', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    kube.onPatch = (es) => {
      clock.after(1_000, () => {
        kube.dropWatches()
        if (es.metadata.name === 'api') kube.syncOk('apps', 'api')
        clock.after(1_000, () => {
          kube.compact({ endOpen: true })
          if (es.metadata.name === 'web') kube.syncOk('apps', 'web')
        })
      })
    }
    const report = await sync()
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'synced' })
    expect(seconds(report)).toEqual({ 'apps/api': 1, 'apps/web': 2 })
    expect(kube.calls.filter(({ verb }) => verb === 'watch').length).toBeGreaterThan(1)
  })

  it('keeps waiting while the API server cannot be reached', async () => {
    kube.add(externalSecret('api'))
    kube.failNext('watch', new KubeError('unreachable', 'cannot reach (ECONNREFUSED)'))
    kube.failNext('watch', new KubeError('unreachable', 'cannot reach (ECONNREFUSED)'))
    operator(() => 'ok', 20)
    const report = await sync()
    // synced at 20 ms, seen when the watch came back after its backoff of 100 ms, then 200 ms
    expect(report.outcomes[0]).toMatchObject({ result: 'synced', seconds: 0.3 })
  })

  it('fails the waiting ones when the watch is forbidden', async () => {
    kube.add(externalSecret('api'))
    kube.failNext(
      'watch',
      new KubeError(
        'forbidden',
        'forbidden: "ci" may not watch externalsecrets.external-secrets.io in namespace "apps"',
        403
      )
    )
    operator(() => 'ignore')
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({
      result: 'failed',
      reason:
        'could not watch for its sync: forbidden: "ci" may not watch externalsecrets.external-secrets.io in namespace "apps"',
      seconds: 0
    })
    expect(clock.now()).toBe(0)
  })

  it('fails one deleted while waiting', async () => {
    kube.add(externalSecret('api'))
    kube.onPatch = () => clock.after(SYNC_MS, () => kube.delete('apps', 'api'))
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({
      result: 'failed',
      reason: 'it was deleted while waiting for its sync',
      seconds: 1.5
    })
  })

  it('retries a patch refused with 409 Conflict', async () => {
    kube.add(externalSecret('api'))
    kube.failNext('patch', new KubeError('conflict', 'conflict (409)', 409))
    kube.failNext('patch', new KubeError('conflict', 'conflict (409)', 409))
    operator()
    const report = await sync()
    expect(report.outcomes[0]).toMatchObject({ result: 'synced', seconds: 1.5 })
    expect(patchedNames()).toEqual(['apps/api', 'apps/api', 'apps/api'])
    // backoff of 100 ms, then 200 ms, before the patch that took; then the operator's 1.5 s
    expect(clock.now()).toBe(300 + SYNC_MS)
  })

  it('reports a forbidden patch as that ExternalSecret failing, and waits for the rest', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    kube.failNext(
      'patch',
      new KubeError(
        'forbidden',
        'forbidden: "ci" may not patch externalsecrets.external-secrets.io in namespace "apps"',
        403
      )
    )
    operator()
    const report = await sync()
    const failed = report.outcomes.filter(({ result }) => result === 'failed')
    expect(failed).toHaveLength(1)
    expect(failed[0].reason).toBe(
      'not annotated: forbidden: "ci" may not patch externalsecrets.external-secrets.io in namespace "apps"'
    )
    expect(report.outcomes.filter(({ result }) => result === 'synced')).toHaveLength(1)
  })

  it('annotates without waiting when wait is false', async () => {
    kube.add(externalSecret('api'))
    const report = await sync({ wait: false })
    expect(report).toMatchObject({ waited: false, outcomes: [{ namespace: 'apps', name: 'api', result: 'annotated' }] })
    expect(kube.calls.map(({ verb }) => verb)).toEqual(['list', 'patch'])
    expect(clock.now()).toBe(0)
  })

  it('in a dry run checks everything and annotates nothing', async () => {
    kube.add(externalSecret('api'))
    const report = await sync({ dryRun: true })
    expect(report).toMatchObject({
      dryRun: true,
      waited: false,
      outcomes: [{ namespace: 'apps', name: 'api', result: 'would-annotate' }]
    })
    expect(patchedNames()).toEqual([])
    expect(store.calls).toEqual([{ names: ['/zerotouch/prod/api/URL'], decrypt: false }])
    expect(kube.get('apps', 'api')?.metadata.annotations).toBeUndefined()
  })

  it('a dry run still fails on a guardrail', async () => {
    kube.add(externalSecret('api', { keys: ['/zerotouch/_ENV_/api/URL'] }))
    await expect(sync({ dryRun: true })).rejects.toThrow(/_ENV_ placeholder/)
  })
})

describe('guardrails before any annotation', () => {
  it('lists every problem at once and annotates nothing', async () => {
    const many = Array.from(
      { length: 12 },
      (_, index) => `/zerotouch/prod/api/MISSING_${String(index).padStart(2, '0')}`
    )
    kube.add(externalSecret('api', { keys: ['/zerotouch/prod/api/URL', ...many] }))
    kube.add(externalSecret('placeholder', { keys: ['/zerotouch/_ENV_/web/URL'] }))
    kube.add(externalSecret('cross', { keys: ['/zerotouch/stg/web/URL'] }))
    kube.add(externalSecret('once', { spec: { refreshPolicy: 'CreatedOnce' }, keys: [] }))
    kube.add(externalSecret('never', { spec: { refreshInterval: '0s' }, keys: [] }))
    const error = await actionErrorOf(sync())
    expect(error.message).toMatch(/^Nothing was annotated: 16 problems with the selected ExternalSecrets/)
    const problems = error.problems.join('\n')
    for (const name of many) expect(problems).toContain(`"${name}" does not exist in SSM`)
    expect(problems).toContain(
      'apps/placeholder: spec.data[0].remoteRef.key "/zerotouch/_ENV_/web/URL" still contains the _ENV_ placeholder'
    )
    expect(problems).toContain(
      'apps/cross: spec.data[0].remoteRef.key "/zerotouch/stg/web/URL" reads environment "stg", not "prod"'
    )
    expect(problems).toContain('apps/once: refreshPolicy CreatedOnce never refreshes on an annotation change')
    expect(problems).toContain('apps/never: refreshInterval "0s"')
    expect(patchedNames()).toEqual([])
    // GetParameters in batches of at most 10, without decryption
    expect(store.calls.map(({ names }) => names.length).sort((a, b) => a - b)).toEqual([3, 10])
    expect(store.calls.every(({ decrypt }) => decrypt === false)).toBe(true)
  })

  it('are skipped with verify-references false', async () => {
    kube.add(externalSecret('api', { keys: ['/zerotouch/_ENV_/api/URL'] }))
    operator()
    const report = await sync({ verifyReferences: false }, { store: undefined })
    expect(report.outcomes[0].result).toBe('synced')
    expect(report.verified).toBe(false)
  })

  it('does not look up what this run wrote, or in a dry run would write: a first dry run finds no parameter yet', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('new', { keys: ['/zerotouch/prod/new/URL'] }))
    const written = new Set(['/zerotouch/prod/new/URL'])
    const report = await clock.run(
      syncExternalSecrets(config({ dryRun: true }), { apiVersion: 'v1', written, stores: [] }, deps())
    )
    expect(report.outcomes.map(({ result }) => result)).toEqual(['would-annotate', 'would-annotate'])
    expect(store.calls.flatMap(({ names }) => names)).toEqual(['/zerotouch/prod/api/URL'])
    expect(report.checkedParameters).toEqual(['/zerotouch/prod/api/URL', '/zerotouch/prod/new/URL'])
  })

  it('say so when SSM cannot be read', async () => {
    kube.add(externalSecret('api'))
    store.getParameters = () =>
      Promise.reject(
        Object.assign(
          new Error(
            'User: arn:aws:sts::1:assumed-role/ci is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:x'
          ),
          { name: 'AccessDeniedException' }
        )
      )
    const error = await actionErrorOf(sync())
    expect(error.message).toMatch(
      /^Nothing was annotated: checking the referenced parameters in SSM failed\. AWS denied ssm:GetParameters/
    )
    expect(patchedNames()).toEqual([])
  })
})

describe('selection and cluster errors', () => {
  it('fails naming the namespace and selector when nothing matches', async () => {
    kube.add(externalSecret('api', { labels: {} }))
    const error = await actionErrorOf(sync())
    expect(error.message).toBe(
      'Nothing was annotated: no ExternalSecret matches label selector "zerotouch.io/managed=true" in namespace "apps". Check the namespace and label-selector inputs, and that the ExternalSecrets carry the label. [ZT143]'
    )
  })

  it('fails when one of several namespaces has none, before annotating any', async () => {
    kube.add(externalSecret('api'))
    const error = await actionErrorOf(sync({ namespaces: ['apps', 'web'] }))
    expect(error.message).toMatch(/in namespace "web"\./)
    expect(patchedNames()).toEqual([])
  })

  it('keeps the blast radius even when the server ignores the selector', async () => {
    kube.ignoreSelector = true
    kube.add(externalSecret('api'))
    kube.add(externalSecret('unlabeled', { labels: {} }))
    operator()
    const report = await sync()
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
    expect(patchedNames()).toEqual(['apps/api'])
  })

  it('uses the version the pre-flight found', async () => {
    kube.version = 'v1beta1'
    kube.add(externalSecret('api'))
    operator()
    const report = await sync()
    expect(report.apiVersion).toBe('v1beta1')
  })

  it('turns a 404 on the list into a missing-CRD error', async () => {
    kube.failNext('list', new KubeError('not-found', 'not found', 404))
    const error = await actionErrorOf(sync())
    expect(error.message).toMatch(
      /^Nothing was annotated: the cluster does not serve ExternalSecrets at external-secrets\.io\/v1 .*CRDs are not installed/
    )
  })

  it('redacts what it reports', async () => {
    kube.failNext('list', new KubeError('unreachable', 'cannot reach https://token-abc@k8s (ECONNREFUSED)'))
    const error = await actionErrorOf(sync({}, { redact: createRedactor(['token-abc']) }))
    expect(error.message).toBe('Nothing was annotated: cannot reach https://***@k8s (ECONNREFUSED) [ZT140]')
  })
})
