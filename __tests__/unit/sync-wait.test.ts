import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import type { ExternalSecret } from '../../src/eso/model.js'
import type { Condition, KubeEvent } from '../../src/k8s/types.js'
import { isFailureOfThisRun, newestEvent, snapshotEvents } from '../../src/eso/events.js'
import { describeCondition, isFreshlySynced } from '../../src/sync/fresh.js'
import { FAILURE_CONFIRM_MS, SyncWaiter, type WaitTarget } from '../../src/sync/wait.js'

const KEY = 'force-sync'
const RUN = 'run-2'
const READY: Condition = { type: 'Ready', status: 'True', reason: 'SecretSynced', message: 'secret synced' }
const NOT_READY: Condition = {
  type: 'Ready',
  status: 'False',
  reason: 'SecretSyncedError',
  message: 'could not get secret data from provider'
}

function state({
  version,
  ready,
  annotation = RUN,
  name = 'api',
  uid = 'u1'
}: {
  version?: string
  ready?: Condition
  annotation?: string | null
  name?: string
  uid?: string
}): ExternalSecret {
  return {
    metadata: { name, namespace: 'apps', uid, annotations: annotation === null ? {} : { [KEY]: annotation } },
    status: { syncedResourceVersion: version, conditions: ready ? [ready] : [] }
  }
}

function event({
  name = 'api.1',
  rv = '10',
  reason = 'UpdateFailed',
  message = 'error processing spec.data[0] (key: /zerotouch/prod/api/X), err: Secret does not exist',
  subject = 'api',
  uid,
  kind = 'ExternalSecret',
  time
}: Partial<{
  name: string
  rv: string
  reason: string
  message: string
  subject: string
  uid: string
  kind: string
  time: string
}> = {}): KubeEvent {
  return {
    metadata: { name, namespace: 'apps', uid: `e-${name}`, resourceVersion: rv },
    involvedObject: { kind, name: subject, namespace: 'apps', uid },
    reason,
    message,
    lastTimestamp: time
  }
}

function waiter(target: Partial<WaitTarget> = {}, snapshot: KubeEvent[] = []): SyncWaiter {
  return new SyncWaiter(
    [
      {
        namespace: 'apps',
        name: 'api',
        uid: 'u1',
        recordedVersion: 'v1',
        readyAtAnnotation: READY,
        annotatedAt: 1_000,
        ...target
      }
    ],
    {
      snapshot: snapshotEvents(snapshot),
      annotationKey: KEY,
      annotationValue: RUN
    }
  )
}

describe('the fresh-sync rule', () => {
  it.each([
    ['v1', 'v2', READY, true],
    [undefined, 'v2', READY, true],
    ['v1', 'v1', READY, false],
    ['v1', 'v2', NOT_READY, false],
    ['v1', 'v2', undefined, false],
    ['v1', undefined, READY, false],
    ['v1', '', READY, false],
    ['v1', 'v2', { type: 'Ready', status: 'Unknown' }, false]
  ])('recorded %p, now %p with %p: %p', (recorded, version, ready, fresh) => {
    expect(isFreshlySynced(recorded, state({ version, ready }))).toBe(fresh)
  })

  it('describes conditions', () => {
    expect(describeCondition(NOT_READY)).toBe(
      'Ready=False (SecretSyncedError: could not get secret data from provider)'
    )
    expect(describeCondition({ type: 'Ready', status: 'True' })).toBe('Ready=True')
    expect(describeCondition(undefined)).toBe('no Ready condition yet')
  })
})

describe('judging Events by resourceVersion', () => {
  const before = [event({ name: 'api.1', rv: '10' })]
  const snapshot = snapshotEvents(before)
  it.each([
    ['an Event listed before the annotation', event({ name: 'api.1', rv: '10' }), false],
    ['the same Event counted again since', event({ name: 'api.1', rv: '17' }), true],
    ['a new Event', event({ name: 'api.2', rv: '12' }), true],
    ['another reason', event({ name: 'api.3', rv: '12', reason: 'Updated' }), false],
    ['about another kind', event({ name: 'api.4', rv: '12', kind: 'Pod' }), false],
    ['about an earlier object of that name', event({ name: 'api.5', rv: '12', uid: 'old' }), false]
  ])('%s: %p', (_, candidate, expected) =>
    expect(isFailureOfThisRun(candidate, snapshot, { uid: 'u1' })).toBe(expected)
  )

  it('picks the newest of several by lastTimestamp, else the last', () => {
    const a = event({ name: 'a', time: '2025-01-01T00:00:02Z' })
    const b = event({ name: 'b', time: '2025-01-01T00:00:01Z' })
    const c = event({ name: 'c' })
    expect(newestEvent([a, b])).toBe(a)
    expect(newestEvent([b, a])).toBe(a)
    expect(newestEvent([a, c])).toBe(c)
    expect(newestEvent([])).toBeUndefined()
  })
})

describe('SyncWaiter', () => {
  it('does not take a Ready state from before the annotation for a fresh sync (stale Ready)', () => {
    const w = waiter()
    // the watch replays a change made before the annotation: another syncedResourceVersion, Ready
    w.observe(state({ version: 'v0', ready: READY, annotation: 'run-1' }), 1_100)
    expect(w.settled()).toBe(false)
    w.observe(state({ version: 'v1', ready: READY }), 1_200) // our patch, operator not done yet
    expect(w.settled()).toBe(false)
    w.observe(state({ version: 'v2', ready: READY }), 3_500)
    expect(w.outcomes()).toEqual([
      { namespace: 'apps', name: 'api', result: 'synced', seconds: 2.5, reason: undefined }
    ])
  })

  it('judges states after the first one carrying the run annotation even when another value follows', () => {
    const w = waiter()
    w.observe(state({ version: 'v1', ready: READY }), 1_100)
    w.observe(state({ version: 'v3', ready: READY, annotation: 'someone-else' }), 1_200)
    expect(w.outcomes()[0].result).toBe('synced')
  })

  it('judges listed states (a re-list after 410) without the annotation check', () => {
    const w = waiter()
    w.observe(state({ version: 'v2', ready: READY, annotation: null }), 2_000, { listed: true })
    expect(w.outcomes()[0].result).toBe('synced')
  })

  it('lets a Ready=False from before the annotation be fixed', () => {
    const w = waiter({ readyAtAnnotation: NOT_READY }, [event({ name: 'api.1', rv: '10' })])
    w.observe(state({ version: 'v1', ready: NOT_READY }), 1_100)
    w.observeEvent(event({ name: 'api.1', rv: '10' }), 1_150) // the old Event, seen again
    expect(w.settled()).toBe(false)
    w.observe(state({ version: 'v2', ready: READY }), 2_000)
    expect(w.outcomes()[0]).toMatchObject({ result: 'synced', seconds: 1 })
  })

  it('fails on an UpdateFailed Event of this run that no fresh sync contradicts within FAILURE_CONFIRM_MS, with its message and time', () => {
    const w = waiter()
    w.observeEvent(event({ name: 'api.9', rv: '30' }), 1_400)
    expect(w.settled()).toBe(false)
    expect(w.nextConfirmation()).toBe(1_400 + FAILURE_CONFIRM_MS)
    w.confirmFailures(1_400 + FAILURE_CONFIRM_MS - 1)
    expect(w.settled()).toBe(false)
    w.confirmFailures(1_400 + FAILURE_CONFIRM_MS)
    expect(w.outcomes()[0]).toEqual({
      namespace: 'apps',
      name: 'api',
      result: 'failed',
      seconds: 0.4,
      reason: 'the sync failed: error processing spec.data[0] (key: /zerotouch/prod/api/X), err: Secret does not exist'
    })
    expect(w.nextConfirmation()).toBeUndefined()
    w.observe(state({ version: 'v2', ready: READY }), 9_000) // a success after the wait ended does not undo it
    expect(w.outcomes()[0].result).toBe('failed')
  })

  it('counts a fresh sync after a failure Event as synced: the Event came from a reconcile started before the push (its status write conflicted)', () => {
    const w = waiter()
    w.observeEvent(event({ name: 'api.9', rv: '30' }), 1_400)
    w.observe(state({ version: 'v2', ready: READY }), 1_700)
    expect(w.outcomes()[0]).toMatchObject({ result: 'synced', seconds: 0.7 })
    expect(w.nextConfirmation()).toBeUndefined()
  })

  it("keeps a pending Event's message when Ready turns False after it, and confirms it at the bound", () => {
    const w = waiter()
    w.observeEvent(event({ name: 'api.9', rv: '30' }), 1_400)
    w.observe(state({ version: 'v1', ready: NOT_READY }), 1_500)
    expect(w.settled()).toBe(false)
    expect(w.nextConfirmation()).toBe(1_400 + FAILURE_CONFIRM_MS)
    w.confirmFailures(1_400 + FAILURE_CONFIRM_MS)
    expect(w.outcomes()[0]).toMatchObject({
      result: 'failed',
      seconds: 0.4,
      reason: expect.stringMatching(/err: Secret does not exist$/)
    })
    expect(w.wantingEventReason()).toEqual([])
  })

  it('reports a failure Event still waiting for confirmation at the timeout as the failure, not a timeout', () => {
    const w = waiter()
    w.observeEvent(event({ name: 'api.9', rv: '30' }), 1_400)
    w.timeOut(2_000, 3_000)
    expect(w.outcomes()[0]).toMatchObject({
      result: 'failed',
      seconds: 0.4,
      reason: expect.stringMatching(/^the sync failed: error processing/)
    })
  })

  it('does not fail at once when Ready turns False after the annotation: a fresh sync within FAILURE_CONFIRM_MS (ESO retrying the provider error) is synced', () => {
    const w = waiter()
    w.observe(state({ version: 'v1', ready: NOT_READY }), 1_300)
    expect(w.settled()).toBe(false)
    expect(w.nextConfirmation()).toBe(1_300 + FAILURE_CONFIRM_MS)
    w.confirmFailures(6_000)
    w.observe(state({ version: 'v2', ready: READY }), 6_000) // before 1_300 + FAILURE_CONFIRM_MS
    expect(w.outcomes()[0]).toMatchObject({ result: 'synced', seconds: 5 })
    expect(w.nextConfirmation()).toBeUndefined()
  })

  it('fails when Ready turned False after the annotation and no fresh sync followed within FAILURE_CONFIRM_MS, with the condition, then takes the Event message when it comes', () => {
    const w = waiter()
    w.observe(state({ version: 'v1', ready: NOT_READY }), 1_300)
    w.confirmFailures(1_300 + FAILURE_CONFIRM_MS - 1)
    expect(w.settled()).toBe(false)
    w.confirmFailures(1_300 + FAILURE_CONFIRM_MS)
    expect(w.outcomes()[0]).toMatchObject({
      result: 'failed',
      seconds: 0.3,
      reason: 'the sync failed: Ready=False (SecretSyncedError: could not get secret data from provider)'
    })
    expect(w.wantingEventReason()).toEqual([{ namespace: 'apps', name: 'api' }])
    w.observeEvents(
      [
        event({ name: 'api.7', rv: '40', message: 'older', time: '2025-01-01T00:00:01Z' }),
        event({ name: 'api.8', rv: '41', message: 'newest', time: '2025-01-01T00:00:05Z' })
      ],
      9_000
    )
    expect(w.outcomes()[0]).toMatchObject({ result: 'failed', reason: 'the sync failed: newest', seconds: 0.3 })
    expect(w.wantingEventReason()).toEqual([])
  })

  it('takes the message of an UpdateFailed Event that comes while a Ready turned False waits for confirmation', () => {
    const w = waiter()
    w.observe(state({ version: 'v1', ready: NOT_READY }), 1_300)
    w.observeEvent(event({ name: 'api.9', rv: '30' }), 1_400)
    expect(w.settled()).toBe(false)
    w.confirmFailures(1_400 + FAILURE_CONFIRM_MS)
    expect(w.outcomes()[0]).toMatchObject({
      result: 'failed',
      reason: 'the sync failed: error processing spec.data[0] (key: /zerotouch/prod/api/X), err: Secret does not exist'
    })
    expect(w.wantingEventReason()).toEqual([])
  })

  it('reports a Ready turned False still waiting for confirmation at the timeout as the failure, not a timeout', () => {
    const w = waiter()
    w.observe(state({ version: 'v1', ready: NOT_READY }), 1_300)
    w.timeOut(2_000, 3_000)
    expect(w.outcomes()[0]).toMatchObject({
      result: 'failed',
      seconds: 0.3,
      reason: 'the sync failed: Ready=False (SecretSyncedError: could not get secret data from provider)'
    })
  })

  it('holds no failure for a Ready=False already there at the annotation', () => {
    const w = waiter({ readyAtAnnotation: NOT_READY })
    w.observe(state({ version: 'v1', ready: NOT_READY }), 1_100)
    expect(w.nextConfirmation()).toBeUndefined()
    w.confirmFailures(100_000)
    expect(w.settled()).toBe(false)
    w.timeOut(300_000, 301_000)
    expect(w.outcomes()[0].result).toBe('timed-out')
  })

  it('ignores a Ready=False of a state from before the annotation', () => {
    const w = waiter()
    w.observe(state({ version: 'v1', ready: NOT_READY, annotation: 'run-1' }), 1_100)
    expect(w.settled()).toBe(false)
  })

  it('ignores Events and states of other objects, and of an object recreated under the same name', () => {
    const w = waiter()
    w.observeEvent(event({ name: 'web.1', subject: 'web' }), 1_100)
    w.observeEvent(event({ name: 'api.2', uid: 'other-uid' }), 1_100)
    w.observe(state({ version: 'v9', ready: READY, name: 'web' }), 1_100)
    w.observe(state({ version: 'v9', ready: READY, uid: 'other-uid' }), 1_100)
    expect(w.settled()).toBe(false)
  })

  it('fails one deleted while waiting', () => {
    const w = waiter()
    w.observeDeleted(state({}), 1_100)
    expect(w.outcomes()[0]).toMatchObject({ result: 'failed', reason: 'it was deleted while waiting for its sync' })
  })

  it('at the timeout names each one still waiting with its last known condition', () => {
    const w = new SyncWaiter(
      [
        { namespace: 'apps', name: 'api', uid: 'u1', recordedVersion: 'v1', readyAtAnnotation: READY, annotatedAt: 0 },
        {
          namespace: 'apps',
          name: 'web',
          uid: 'u2',
          recordedVersion: 'w1',
          readyAtAnnotation: NOT_READY,
          annotatedAt: 0
        },
        { namespace: 'apps', name: 'db', uid: 'u3', recordedVersion: 'd1', annotatedAt: 0 }
      ],
      { snapshot: new Map(), annotationKey: KEY, annotationValue: RUN }
    )
    w.observe(state({ version: 'v1', ready: READY }), 10)
    w.observe(state({ version: 'w1', ready: NOT_READY, name: 'web', uid: 'u2' }), 10)
    w.observe(state({ version: 'd2', ready: READY, name: 'db', uid: 'u3' }), 10)
    w.timeOut(5_000, 5_000)
    const [api, web, db] = w.outcomes()
    expect(db.result).toBe('synced')
    expect(api).toMatchObject({
      result: 'timed-out',
      reason:
        'not freshly synced within 5.0 s: last known Ready=True (SecretSynced: secret synced), syncedResourceVersion unchanged since the annotation'
    })
    expect(web.reason).toMatch(/last known Ready=False \(SecretSyncedError: could not get secret data from provider\)/)
    expect(w.settled()).toBe(true)
  })

  it('says when the operator never acted on the annotation', () => {
    const w = waiter()
    w.timeOut(300_000, 301_000)
    expect(w.outcomes()[0].reason).toBe(
      'not freshly synced within 300 s: last known Ready=True (SecretSynced: secret synced), syncedResourceVersion unchanged since the annotation; the operator has not acted on the annotation'
    )
  })

  it('fails the waiting ones of one namespace when their watch is refused', () => {
    const w = new SyncWaiter(
      [
        { namespace: 'apps', name: 'api', annotatedAt: 0 },
        { namespace: 'web', name: 'api', annotatedAt: 0 }
      ],
      { snapshot: new Map(), annotationKey: KEY, annotationValue: RUN }
    )
    w.failWaiting('could not watch', 5, 'web')
    expect(w.settled()).toBe(false)
  })

  it('never reports synced without a judged state that is fresh, nor failed by an Event it had listed', () => {
    const versions = fc.constantFrom(undefined, 'v0', 'v1', 'v2')
    const ready = fc.constantFrom(undefined, READY, NOT_READY)
    const annotation = fc.constantFrom(RUN, 'run-1', null)
    const input = fc.oneof(
      fc.record({ kind: fc.constant('state' as const), version: versions, ready, annotation }),
      fc.record({ kind: fc.constant('event' as const), listed: fc.boolean() })
    )
    fc.assert(
      fc.property(fc.array(input, { maxLength: 12 }), ready, (inputs, atAnnotation) => {
        const old = event({ name: 'old', rv: '5' })
        const w = waiter({ readyAtAnnotation: atAnnotation }, [old])
        let judged = false
        let sawFresh = false
        let sawNewEvent = false
        let lastReady = atAnnotation?.status
        let sawTurnFalse = false
        inputs.forEach((step, index) => {
          if (w.settled()) return
          if (step.kind === 'event') {
            if (step.listed) w.observeEvent(old, index)
            else {
              sawNewEvent = true
              w.observeEvent(event({ name: `new${index}`, rv: String(100 + index) }), index)
            }
            return
          }
          const s = state(step)
          if (step.annotation === RUN) judged = true
          w.observe(s, index)
          if (judged) {
            if (isFreshlySynced('v1', s)) sawFresh = true
            else if (step.ready?.status === 'False' && lastReady !== 'False') sawTurnFalse = true
            lastReady = step.ready?.status
          }
        })
        w.confirmFailures(inputs.length + FAILURE_CONFIRM_MS)
        const [outcome] = w.outcomes()
        if (outcome.result === 'synced') expect(sawFresh).toBe(true)
        if (outcome.result === 'failed') expect(sawNewEvent || sawTurnFalse).toBe(true)
        if (!sawFresh && !sawNewEvent && !sawTurnFalse) expect(w.settled()).toBe(false)
      })
    )
  })
})
