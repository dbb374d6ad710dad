import { beforeEach, describe, expect, it } from '@jest/globals'
import { actionErrorOf } from '../../__fixtures__/problems.js'
import { KubeError } from '../../src/k8s/errors.js'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import type { ExternalSecret } from '../../src/k8s/types.js'
import { createRedactor } from '../../src/secrets/redact.js'
import type { ParameterStore } from '../../src/ssm/store.js'
import { syncExternalSecrets, type SyncDependencies, type SyncOptions, type SyncReport } from '../../src/sync/sync.js'

const LABELS = { 'zerotouch.io/managed': 'true' }
const READY = { type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced' }

const options: SyncOptions = {
  namespaces: ['apps'],
  labelSelector: 'zerotouch.io/managed=true',
  annotationKey: 'force-sync',
  wait: true,
  timeoutMs: 2_000,
  verifyReferences: true,
  pathPrefix: '/zerotouch',
  environment: 'prod',
  dryRun: false
}

/** A Parameter Store holding `names`, recording each GetParameters call. */
function fakeStore(names: string[]): ParameterStore & { calls: Array<{ names: string[]; decrypt: boolean }> } {
  const calls: Array<{ names: string[]; decrypt: boolean }> = []
  const fail = async (): Promise<never> => {
    throw new Error('not used by the sync phase')
  }
  return {
    calls,
    async getParameters(batch, decrypt) {
      calls.push({ names: [...batch], decrypt })
      if (batch.length > 10) throw new Error('more than 10 names')
      return {
        found: batch.filter((name) => names.includes(name)).map((name) => ({ name, value: 'secret', type: 'SecureString', version: 1 })),
        missing: batch.filter((name) => !names.includes(name))
      }
    },
    listNames: fail,
    getTags: fail,
    putParameter: fail,
    addTags: fail,
    deleteParameters: fail
  }
}

function externalSecret(name: string, { namespace = 'apps', labels = LABELS, keys = [`/zerotouch/prod/${name}/URL`], spec = {}, status }: { namespace?: string; labels?: Record<string, string>; keys?: string[]; spec?: Partial<NonNullable<ExternalSecret['spec']>>; status?: ExternalSecret['status'] } = {}): ExternalSecret {
  return {
    metadata: { name, namespace, labels },
    spec: { refreshInterval: '1h', data: keys.map((key, index) => ({ secretKey: `K${index}`, remoteRef: { key } })), ...spec },
    status: status ?? { syncedResourceVersion: `1-old-${name}`, conditions: [READY] }
  }
}

let kube: MemoryKube
let store: ReturnType<typeof fakeStore>
beforeEach(() => {
  kube = new MemoryKube()
  store = fakeStore(['/zerotouch/prod/api/URL', '/zerotouch/prod/web/URL', '/zerotouch/prod/worker/URL'])
})

function deps(extra: Partial<SyncDependencies> = {}): SyncDependencies {
  return { kube, store, redact: createRedactor([]), clock: { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) }, ...extra }
}

/** The operator: syncs (or fails) each patched ExternalSecret after `delayMs`. */
function operator(behaviour: (es: ExternalSecret) => 'ok' | { fail: string; event?: boolean; eventFirst?: boolean } | 'ignore' = () => 'ok', delayMs = 5): { synced: string[] } {
  const synced: string[] = []
  const cluster = kube // this test's, even if a timer fires after it ended
  cluster.onPatch = (es) => {
    const what = behaviour(es)
    if (what === 'ignore') return
    setTimeout(() => {
      const { namespace = '', name } = es.metadata
      if (!cluster.get(namespace, name)) return
      if (what === 'ok') {
        cluster.syncOk(namespace, name)
        synced.push(`${namespace}/${name}`)
      } else cluster.syncFail(namespace, name, what.fail, { event: what.event ?? true, eventFirst: what.eventFirst ?? true })
    }, delayMs)
  }
  return { synced }
}

const results = (report: SyncReport) => Object.fromEntries(report.outcomes.map((o) => [`${o.namespace}/${o.name}`, o.result]))
const patchedNames = () => kube.calls.filter(({ verb }) => verb === 'patch').map(({ namespace, name }) => `${namespace}/${name}`)

describe('syncExternalSecrets', () => {
  it('annotates only the selected ExternalSecrets with one value unique to the run, and waits for their fresh syncs', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    kube.add(externalSecret('unlabeled', { labels: { app: 'x' } }))
    kube.add(externalSecret('api', { namespace: 'other' }))
    const { synced } = operator()
    const report = await syncExternalSecrets(options, deps())
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'synced' })
    expect(synced.sort()).toEqual(['apps/api', 'apps/web'])
    expect(patchedNames().sort()).toEqual(['apps/api', 'apps/web'])
    expect(kube.calls.some(({ namespace }) => namespace === 'other')).toBe(false)
    expect(kube.get('apps', 'unlabeled')?.metadata.annotations).toBeUndefined()
    const value = report.annotation.value
    expect(kube.get('apps', 'api')?.metadata.annotations?.['force-sync']).toBe(value)
    expect(kube.get('apps', 'web')?.metadata.annotations?.['force-sync']).toBe(value)
    expect(report).toMatchObject({ apiVersion: 'v1', dryRun: false, waited: true, checkedReferences: 2, checkedParameters: ['/zerotouch/prod/api/URL', '/zerotouch/prod/web/URL'] })
    expect(report.outcomes.every(({ seconds }) => typeof seconds === 'number' && seconds >= 0)).toBe(true)
    expect(kube.openWatches()).toBe(0)
  })

  it('lists the Events before annotating and watches from that list', async () => {
    kube.add(externalSecret('api'))
    operator()
    await syncExternalSecrets(options, deps())
    const verbs = kube.calls.map(({ verb }) => verb)
    expect(verbs.indexOf('list-events')).toBeLessThan(verbs.indexOf('patch'))
    expect(verbs.slice(0, 2)).toEqual(['discover', 'list'])
  })

  it('does not return on a Ready left from before the annotation: only the fresh sync counts', async () => {
    kube.add(externalSecret('api'))
    const { synced } = operator(() => 'ok', 150)
    const report = await syncExternalSecrets(options, deps())
    expect(synced).toEqual(['apps/api'])
    expect(report.outcomes[0]).toMatchObject({ result: 'synced' })
  })

  it('a second run with the same operator triggers again (the value differs per run)', async () => {
    kube.add(externalSecret('api'))
    operator()
    const first = await syncExternalSecrets(options, deps())
    const second = await syncExternalSecrets(options, deps())
    expect(second.annotation.value).not.toBe(first.annotation.value)
    expect(second.outcomes[0].result).toBe('synced')
  })

  it('fails one ExternalSecret at once with the Event message, and still waits for the others', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    operator((es) => (es.metadata.name === 'web' ? { fail: 'error processing spec.data[0] (key: /zerotouch/prod/web/URL), err: Secret does not exist' } : 'ok'))
    const report = await syncExternalSecrets(options, deps())
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'failed' })
    expect(report.outcomes.find(({ name }) => name === 'web')?.reason).toBe(
      'the sync failed: error processing spec.data[0] (key: /zerotouch/prod/web/URL), err: Secret does not exist'
    )
  })

  it('takes the Event message even when the status turns False before the Event is written', async () => {
    kube.add(externalSecret('api'))
    operator(() => ({ fail: 'err: AccessDeniedException', eventFirst: false }))
    const report = await syncExternalSecrets(options, deps())
    expect(report.outcomes[0]).toMatchObject({ result: 'failed', reason: 'the sync failed: err: AccessDeniedException' })
  })

  it('succeeds for one that failed before the run when the pushed value fixes it', async () => {
    kube.add(externalSecret('api', { status: { syncedResourceVersion: '1-old', conditions: [{ type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: 'could not get secret data from provider' }] } }))
    kube.emitEvent('apps', 'api', 'UpdateFailed', 'err: Secret does not exist')
    operator()
    const report = await syncExternalSecrets(options, deps())
    expect(report.outcomes[0]).toMatchObject({ result: 'synced' })
  })

  it('does not take an old failure Event for this run when a 410 makes it list the Events again', async () => {
    kube.add(externalSecret('api', { status: { syncedResourceVersion: '1-old', conditions: [{ type: 'Ready', status: 'False', reason: 'SecretSyncedError', message: 'could not get secret data from provider' }] } }))
    kube.emitEvent('apps', 'api', 'UpdateFailed', 'err: Secret does not exist')
    kube.onPatch = () => {
      setTimeout(() => kube.compact({ endOpen: true }), 5)
      setTimeout(() => kube.syncOk('apps', 'api'), 30)
    }
    const report = await syncExternalSecrets(options, deps())
    expect(report.outcomes[0]).toMatchObject({ result: 'synced' })
    expect(kube.calls.filter(({ verb }) => verb === 'list-events').length).toBeGreaterThan(1)
  })

  it('counts a failure Event from before the run counted again during the wait as this run failing', async () => {
    kube.add(externalSecret('api'))
    kube.emitEvent('apps', 'api', 'UpdateFailed', 'old failure', 'api.same')
    kube.onPatch = () => setTimeout(() => kube.emitEvent('apps', 'api', 'UpdateFailed', 'failed again', 'api.same'), 5)
    const report = await syncExternalSecrets(options, deps())
    expect(report.outcomes[0]).toMatchObject({ result: 'failed', reason: 'the sync failed: failed again' })
  })

  it('on timeout names each one not synced with its last known condition', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    operator((es) => (es.metadata.name === 'api' ? 'ok' : 'ignore'))
    const report = await syncExternalSecrets({ ...options, timeoutMs: 150 }, deps())
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'timed-out' })
    expect(report.outcomes.find(({ name }) => name === 'web')?.reason).toBe(
      'not freshly synced within 0.1 s: last known Ready=True (SecretSynced: secret synced), syncedResourceVersion unchanged since the annotation'
    )
    expect(kube.openWatches()).toBe(0)
  })

  it('keeps waiting through dropped watches and 410 Gone', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    kube.onPatch = (es) => {
      setTimeout(() => {
        kube.dropWatches()
        if (es.metadata.name === 'api') kube.syncOk('apps', 'api')
        setTimeout(() => {
          kube.compact({ endOpen: true })
          if (es.metadata.name === 'web') kube.syncOk('apps', 'web')
        }, 10)
      }, 10)
    }
    const report = await syncExternalSecrets(options, deps())
    expect(results(report)).toEqual({ 'apps/api': 'synced', 'apps/web': 'synced' })
    expect(kube.calls.filter(({ verb }) => verb === 'watch').length).toBeGreaterThan(1)
  })

  it('keeps waiting while the API server cannot be reached', async () => {
    kube.add(externalSecret('api'))
    kube.failNext('watch', new KubeError('unreachable', 'cannot reach (ECONNREFUSED)'))
    kube.failNext('watch', new KubeError('unreachable', 'cannot reach (ECONNREFUSED)'))
    operator(() => 'ok', 20)
    const report = await syncExternalSecrets(options, deps())
    expect(report.outcomes[0].result).toBe('synced')
  })

  it('fails the waiting ones when the watch is forbidden', async () => {
    kube.add(externalSecret('api'))
    kube.failNext('watch', new KubeError('forbidden', 'forbidden: "ci" may not watch externalsecrets.external-secrets.io in namespace "apps"', 403))
    operator(() => 'ignore')
    const report = await syncExternalSecrets(options, deps())
    expect(report.outcomes[0]).toMatchObject({ result: 'failed', reason: 'could not watch for its sync: forbidden: "ci" may not watch externalsecrets.external-secrets.io in namespace "apps"' })
  })

  it('fails one deleted while waiting', async () => {
    kube.add(externalSecret('api'))
    kube.onPatch = () => setTimeout(() => kube.delete('apps', 'api'), 5)
    const report = await syncExternalSecrets(options, deps())
    expect(report.outcomes[0]).toMatchObject({ result: 'failed', reason: 'it was deleted while waiting for its sync' })
  })

  it('retries a patch refused with 409 Conflict', async () => {
    kube.add(externalSecret('api'))
    kube.failNext('patch', new KubeError('conflict', 'conflict (409)', 409))
    kube.failNext('patch', new KubeError('conflict', 'conflict (409)', 409))
    operator()
    const report = await syncExternalSecrets(options, deps())
    expect(report.outcomes[0].result).toBe('synced')
    expect(patchedNames()).toEqual(['apps/api', 'apps/api', 'apps/api'])
  })

  it('reports a forbidden patch as that ExternalSecret failing, and waits for the rest', async () => {
    kube.add(externalSecret('api'))
    kube.add(externalSecret('web'))
    kube.failNext('patch', new KubeError('forbidden', 'forbidden: "ci" may not patch externalsecrets.external-secrets.io in namespace "apps"', 403))
    operator()
    const report = await syncExternalSecrets(options, deps())
    const failed = report.outcomes.filter(({ result }) => result === 'failed')
    expect(failed).toHaveLength(1)
    expect(failed[0].reason).toBe('not annotated: forbidden: "ci" may not patch externalsecrets.external-secrets.io in namespace "apps"')
    expect(report.outcomes.filter(({ result }) => result === 'synced')).toHaveLength(1)
  })

  it('annotates without waiting when wait is false', async () => {
    kube.add(externalSecret('api'))
    const report = await syncExternalSecrets({ ...options, wait: false }, deps())
    expect(report).toMatchObject({ waited: false, outcomes: [{ namespace: 'apps', name: 'api', result: 'annotated' }] })
    expect(kube.calls.map(({ verb }) => verb)).toEqual(['discover', 'list', 'patch'])
  })

  it('in a dry run checks everything and annotates nothing', async () => {
    kube.add(externalSecret('api'))
    const report = await syncExternalSecrets({ ...options, dryRun: true }, deps())
    expect(report).toMatchObject({ dryRun: true, waited: false, outcomes: [{ namespace: 'apps', name: 'api', result: 'would-annotate' }] })
    expect(patchedNames()).toEqual([])
    expect(store.calls).toEqual([{ names: ['/zerotouch/prod/api/URL'], decrypt: false }])
    expect(kube.get('apps', 'api')?.metadata.annotations).toBeUndefined()
  })

  it('a dry run still fails on a guardrail', async () => {
    kube.add(externalSecret('api', { keys: ['/zerotouch/_ENV_/api/URL'] }))
    await expect(syncExternalSecrets({ ...options, dryRun: true }, deps())).rejects.toThrow(/_ENV_ placeholder/)
  })
})

describe('guardrails before any annotation', () => {
  it('lists every problem at once and annotates nothing', async () => {
    const many = Array.from({ length: 12 }, (_, index) => `/zerotouch/prod/api/MISSING_${String(index).padStart(2, '0')}`)
    kube.add(externalSecret('api', { keys: ['/zerotouch/prod/api/URL', ...many] }))
    kube.add(externalSecret('placeholder', { keys: ['/zerotouch/_ENV_/web/URL'] }))
    kube.add(externalSecret('cross', { keys: ['/zerotouch/stg/web/URL'] }))
    kube.add(externalSecret('once', { spec: { refreshPolicy: 'CreatedOnce' }, keys: [] }))
    kube.add(externalSecret('never', { spec: { refreshInterval: '0s' }, keys: [] }))
    const error = await actionErrorOf(syncExternalSecrets(options, deps()))
    expect(error.message).toMatch(/^Nothing was annotated: 16 problems with the selected ExternalSecrets/)
    const problems = error.problems.join('\n')
    for (const name of many) expect(problems).toContain(`"${name}" does not exist in SSM`)
    expect(problems).toContain('apps/placeholder: spec.data[0].remoteRef.key "/zerotouch/_ENV_/web/URL" still contains the _ENV_ placeholder')
    expect(problems).toContain('apps/cross: spec.data[0].remoteRef.key "/zerotouch/stg/web/URL" reads environment "stg", not "prod"')
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
    const report = await syncExternalSecrets({ ...options, verifyReferences: false }, deps({ store: undefined }))
    expect(report.outcomes[0].result).toBe('synced')
    expect(report.verified).toBe(false)
  })

  it('say so when SSM cannot be read', async () => {
    kube.add(externalSecret('api'))
    store.getParameters = async () => {
      throw Object.assign(new Error('User: arn:aws:sts::1:assumed-role/ci is not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:x'), { name: 'AccessDeniedException' })
    }
    const error = await actionErrorOf(syncExternalSecrets(options, deps()))
    expect(error.message).toMatch(/^Nothing was annotated: checking the referenced parameters in SSM failed\. AWS denied ssm:GetParameters/)
    expect(patchedNames()).toEqual([])
  })
})

describe('selection and cluster errors', () => {
  it('fails naming the namespace and selector when nothing matches', async () => {
    kube.add(externalSecret('api', { labels: {} }))
    const error = await actionErrorOf(syncExternalSecrets(options, deps()))
    expect(error.message).toBe(
      'Nothing was annotated: no ExternalSecret matches label selector "zerotouch.io/managed=true" in namespace "apps". Check the namespace and label-selector inputs, and that the ExternalSecrets carry the label. [ZT143]'
    )
  })

  it('fails when one of several namespaces has none, before annotating any', async () => {
    kube.add(externalSecret('api'))
    const error = await actionErrorOf(syncExternalSecrets({ ...options, namespaces: ['apps', 'web'] }, deps()))
    expect(error.message).toMatch(/in namespace "web"\./)
    expect(patchedNames()).toEqual([])
  })

  it('keeps the blast radius even when the server ignores the selector', async () => {
    kube.ignoreSelector = true
    kube.add(externalSecret('api'))
    kube.add(externalSecret('unlabeled', { labels: {} }))
    operator()
    const report = await syncExternalSecrets(options, deps())
    expect(results(report)).toEqual({ 'apps/api': 'synced' })
    expect(patchedNames()).toEqual(['apps/api'])
  })

  it('uses the discovered version in every call', async () => {
    kube.version = 'v1beta1'
    kube.add(externalSecret('api'))
    operator()
    const report = await syncExternalSecrets(options, deps())
    expect(report.apiVersion).toBe('v1beta1')
  })

  it('fails clearly when the CRDs are missing', async () => {
    kube.version = undefined
    const error = await actionErrorOf(syncExternalSecrets(options, deps()))
    expect(error.message).toBe('Nothing was annotated: the cluster does not serve the external-secrets.io API [ZT141]')
  })

  it('turns a 404 on the list into a missing-CRD error', async () => {
    kube.failNext('list', new KubeError('not-found', 'not found', 404))
    const error = await actionErrorOf(syncExternalSecrets(options, deps()))
    expect(error.message).toMatch(/^Nothing was annotated: the cluster does not serve ExternalSecrets at external-secrets\.io\/v1 .*CRDs are not installed/)
  })

  it('redacts what it reports', async () => {
    kube.failNext('list', new KubeError('unreachable', 'cannot reach https://token-abc@k8s (ECONNREFUSED)'))
    const error = await actionErrorOf(syncExternalSecrets(options, deps({ redact: createRedactor(['token-abc']) })))
    expect(error.message).toBe('Nothing was annotated: cannot reach https://***@k8s (ECONNREFUSED) [ZT140]')
  })
})

describe('runSyncPhase', () => {
  const phaseInputs = {
    sync: { namespaces: ['apps'], labelSelector: 'zerotouch.io/managed=true', kubeconfig: 'token: s3cr3t-token', kubeContext: '', annotationKey: 'force-sync', wait: true, timeoutMs: 2_000, verifyReferences: false },
    pathPrefix: '/zerotouch',
    environment: 'prod',
    dryRun: false
  }

  it('masks what the client reports as credentials and redacts them from its errors', async () => {
    const { runSyncPhase } = await import('../../src/sync/phase.js')
    const masked: string[] = []
    kube.failNext('discover', new KubeError('unauthorized', 'rejected token s3cr3t-token'))
    const error = await actionErrorOf(
      runSyncPhase(phaseInputs, {
        mask: (value) => masked.push(value),
        redact: createRedactor([]),
        createKube: ({ kubeconfig, mask }) => {
          mask(kubeconfig)
          mask('s3cr3t-token')
          return kube
        }
      })
    )
    expect(masked).toEqual(['token: s3cr3t-token', 's3cr3t-token'])
    expect(error.message).toBe('Nothing was annotated: rejected token *** [ZT140]')
  })

  it('fails before annotating when the kubeconfig cannot be used', async () => {
    const { runSyncPhase } = await import('../../src/sync/phase.js')
    const error = await actionErrorOf(
      runSyncPhase(phaseInputs, {
        mask: () => undefined,
        redact: createRedactor([]),
        createKube: ({ mask }) => {
          mask('s3cr3t-token')
          throw new KubeError('config', 'kube-context: no context "x" (token s3cr3t-token)')
        }
      })
    )
    expect(error.message).toBe('Nothing was annotated: kube-context: no context "x" (token ***) [ZT140]')
  })

  it('hands the inputs over to the phase', async () => {
    const { runSyncPhase } = await import('../../src/sync/phase.js')
    kube.add(externalSecret('api'))
    operator()
    const report = await runSyncPhase(phaseInputs, { mask: () => undefined, redact: createRedactor([]), createKube: () => kube })
    expect(report).toMatchObject({ verified: false, selector: 'zerotouch.io/managed=true', namespaces: ['apps'], annotation: { key: 'force-sync' }, outcomes: [{ result: 'synced' }] })
  })
})
