import { describe, expect, it } from '@jest/globals'
import { KubeError } from '../../src/k8s/errors.js'
import { MemoryKube } from '../../__fixtures__/memory-kube.js'
import { virtualClock } from '../../__fixtures__/virtual-clock.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import type { WatchEvent, WatchHandlers } from '../../src/k8s/types.js'
import { resumableWatch } from '../../src/k8s/watch.js'

const ref = { version: 'v1', namespace: 'apps', labelSelector: 'zerotouch.io/managed=true' }
const labels = { 'zerotouch.io/managed': 'true' }
/** Yields to the event loop, as a real timer would, without waiting. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const instant = { sleep: tick }
/** Far more turns of the event loop than any of these watches needs to get somewhere. */
const TURNS = 100

/** Lets the watch go on, turn by turn of the event loop (no wall-clock time), until `condition` holds. */
async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn === TURNS) throw new Error(`${what} did not happen within ${TURNS} turns of the event loop`)
    await tick()
  }
}

function collect(kube: MemoryKube, resourceVersion: string, extra: { onFatal?: (e: KubeError) => void } = {}) {
  const seen: string[] = []
  const relisted: string[][] = []
  const watch = resumableWatch<ExternalSecret>({
    resourceVersion,
    start: (rv, handlers) => kube.watchExternalSecrets(ref, rv, handlers),
    relist: () => kube.listExternalSecrets(ref),
    onEvent: ({ type, object }: WatchEvent<ExternalSecret>) =>
      seen.push(`${type} ${object.metadata.name} ${object.status?.syncedResourceVersion ?? '-'}`),
    onRelisted: (items) =>
      relisted.push(items.map((es) => `${es.metadata.name} ${es.status?.syncedResourceVersion ?? '-'}`)),
    onFatal: extra.onFatal ?? (() => undefined),
    ...instant
  })
  return { seen, relisted, watch }
}

describe('resumableWatch', () => {
  it('replays from the resourceVersion, then follows', async () => {
    const kube = new MemoryKube()
    kube.add({ metadata: { name: 'a', namespace: 'apps', labels } })
    const { resourceVersion } = await kube.listExternalSecrets(ref)
    kube.setStatus('apps', 'a', { syncedResourceVersion: 's1' })
    const { seen, watch } = collect(kube, resourceVersion)
    await until(() => seen.length === 1)
    kube.setStatus('apps', 'a', { syncedResourceVersion: 's2' })
    await until(() => seen.length === 2)
    expect(seen).toEqual(['MODIFIED a s1', 'MODIFIED a s2'])
    watch.stop()
    await watch.done
    expect(kube.openWatches()).toBe(0)
  })

  it('resumes a dropped watch from the last resourceVersion, missing nothing and repeating nothing', async () => {
    const kube = new MemoryKube()
    kube.add({ metadata: { name: 'a', namespace: 'apps', labels } })
    const { resourceVersion } = await kube.listExternalSecrets(ref)
    const { seen, watch } = collect(kube, resourceVersion)
    kube.setStatus('apps', 'a', { syncedResourceVersion: 's1' })
    await until(() => seen.length === 1)
    kube.dropWatches()
    kube.setStatus('apps', 'a', { syncedResourceVersion: 's2' }) // while no watch is open
    await until(() => seen.length === 2)
    kube.dropWatches()
    kube.dropWatches()
    kube.setStatus('apps', 'a', { syncedResourceVersion: 's3' })
    await until(() => seen.length === 3)
    expect(seen).toEqual(['MODIFIED a s1', 'MODIFIED a s2', 'MODIFIED a s3'])
    const resumedFrom = kube.calls.filter(({ verb }) => verb === 'watch').map(({ resourceVersion: rv }) => Number(rv))
    expect(resumedFrom[0]).toBe(Number(resourceVersion))
    expect(resumedFrom[1]).toBeGreaterThan(resumedFrom[0])
    watch.stop()
    await watch.done
  })

  it('lists again on 410 Gone, hands the items over, and watches on from the new list', async () => {
    const kube = new MemoryKube()
    kube.add({ metadata: { name: 'a', namespace: 'apps', labels } })
    const { resourceVersion } = await kube.listExternalSecrets(ref)
    kube.setStatus('apps', 'a', { syncedResourceVersion: 's1' })
    kube.compact()
    const { seen, relisted, watch } = collect(kube, resourceVersion)
    await until(() => relisted.length === 1, 'the re-list')
    expect(relisted[0]).toEqual(['a s1'])
    kube.setStatus('apps', 'a', { syncedResourceVersion: 's2' })
    await until(() => seen.length === 1)
    expect(seen).toEqual(['MODIFIED a s2'])
    // and a 410 while watching
    kube.compact({ endOpen: true })
    await until(() => relisted.length === 2, 'the second re-list')
    watch.stop()
    await watch.done
  })

  it('retries errors with backoff until the server answers again', async () => {
    const kube = new MemoryKube()
    kube.add({ metadata: { name: 'a', namespace: 'apps', labels } })
    const { resourceVersion } = await kube.listExternalSecrets(ref)
    kube.failNext('watch', new KubeError('unreachable', 'cannot reach the Kubernetes API server (ECONNREFUSED)'))
    kube.failNext('watch', new KubeError('server', 'the API server failed (503)', 503))
    const clock = virtualClock()
    const pauses: number[] = []
    const seen: string[] = []
    let sawOne!: () => void
    const first = new Promise<void>((resolve) => (sawOne = resolve))
    const watch = resumableWatch<ExternalSecret>({
      resourceVersion,
      start: (rv, handlers) => kube.watchExternalSecrets(ref, rv, handlers),
      relist: () => kube.listExternalSecrets(ref),
      onEvent: ({ object }) => {
        seen.push(object.status?.syncedResourceVersion ?? '-')
        sawOne()
      },
      onRelisted: () => undefined,
      onFatal: () => undefined,
      sleep: (ms, signal) => {
        pauses.push(ms)
        return clock.sleep(ms, signal)
      },
      backoff: { baseMs: 10, capMs: 15 }
    })
    kube.setStatus('apps', 'a', { syncedResourceVersion: 's1' })
    await clock.run(first)
    expect(seen).toEqual(['s1'])
    expect(pauses).toEqual([10, 15])
    expect(clock.now()).toBe(25)
    watch.stop()
    await watch.done
  })

  it('gives up on forbidden and says so', async () => {
    const kube = new MemoryKube()
    const forbidden = new KubeError('forbidden', 'forbidden: may not watch', 403)
    kube.failNext('watch', forbidden)
    let fatal: KubeError | undefined
    const { watch } = collect(kube, '1', { onFatal: (error) => (fatal = error) })
    await watch.done
    expect(fatal).toBe(forbidden)
  })

  it('stops promptly while backing off', async () => {
    const clock = virtualClock()
    let starts = 0
    let backingOff = false
    const watch = resumableWatch<ExternalSecret>({
      resourceVersion: '1',
      start: (_rv, handlers: WatchHandlers<ExternalSecret>) => {
        starts++
        queueMicrotask(() => handlers.onEnd(new KubeError('unreachable', 'down')))
        return Promise.resolve({ stop: () => undefined })
      },
      relist: () => Promise.resolve({ items: [], resourceVersion: '1' }),
      onEvent: () => undefined,
      onRelisted: () => undefined,
      onFatal: () => undefined,
      sleep: (ms, signal) => {
        backingOff = true
        return clock.sleep(ms, signal)
      },
      backoff: { baseMs: 100_000, capMs: 100_000 }
    })
    await until(() => backingOff, 'the backoff')
    watch.stop()
    await clock.run(watch.done)
    expect(starts).toBe(1)
    // not a simulated moment of the 100 s backoff passed
    expect(clock.now()).toBe(0)
  })

  it('does not spin when the server ends every watch at once', async () => {
    const pauses: number[] = []
    let starts = 0
    const watch = resumableWatch<ExternalSecret>({
      resourceVersion: '1',
      start: (_rv, handlers) => {
        starts++
        queueMicrotask(() => handlers.onEnd())
        return Promise.resolve({ stop: () => undefined })
      },
      relist: () => Promise.resolve({ items: [], resourceVersion: '1' }),
      onEvent: () => undefined,
      onRelisted: () => undefined,
      onFatal: () => undefined,
      sleep: async (ms) => {
        pauses.push(ms)
        await tick()
      },
      backoff: { baseMs: 1, capMs: 4 }
    })
    await until(() => starts >= 5)
    watch.stop()
    await watch.done
    expect(pauses.slice(0, 4)).toEqual([1, 2, 4, 4])
  })
})
