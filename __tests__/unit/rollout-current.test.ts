import { describe, expect, it } from '@jest/globals'
import { freshnessOf, podFreshness, secretData } from '../../src/workloads/current.js'
import { selectorText } from '../../src/k8s/label-selector.js'
import type { Pod } from '../../src/workloads/pods.js'

/** The rule "a pod is stale when it started before its Secret's current data", on whole seconds. */

const DATA = Date.parse('2026-12-07T10:00:05Z')

function pod(
  startTime: string | undefined,
  extra: { restartedAt?: string; phase?: string; deleting?: boolean } = {}
): Pod {
  return {
    metadata: {
      name: 'api-1',
      ...(extra.restartedAt ? { annotations: { 'kubectl.kubernetes.io/restartedAt': extra.restartedAt } } : {}),
      ...(extra.deleting ? { deletionTimestamp: '2026-12-07T10:00:09Z' } : {})
    },
    status: { phase: extra.phase ?? 'Running', ...(startTime ? { startTime } : {}) }
  }
}

describe('a pod against the second of its data', () => {
  it.each([
    ['a later second', pod('2026-12-07T10:00:06Z'), 'current'],
    ['an earlier second', pod('2026-12-07T10:00:04Z'), 'stale'],
    ['the same second, no restart', pod('2026-12-07T10:00:05Z'), 'same-second'],
    [
      'the same second, restarted by the action within it (ms)',
      pod('2026-12-07T10:00:05Z', { restartedAt: '2026-12-07T10:00:05.400Z' }),
      'current'
    ],
    [
      'the same second, restarted by kubectl at its start (whole seconds)',
      pod('2026-12-07T10:00:05Z', { restartedAt: '2026-12-07T10:00:05Z' }),
      'current'
    ],
    [
      'the same second, kubectl restart in another time zone (same instant)',
      pod('2026-12-07T10:00:05Z', { restartedAt: '2026-12-07T12:00:05+02:00' }),
      'current'
    ],
    [
      'the same second, restarted before that second',
      pod('2026-12-07T10:00:05Z', { restartedAt: '2026-12-07T10:00:04.999Z' }),
      'same-second'
    ],
    ['the same second, an unreadable restartedAt', pod('2026-12-07T10:00:05Z', { restartedAt: 'soon' }), 'same-second'],
    [
      'an earlier second, even restarted since',
      pod('2026-12-07T10:00:04Z', { restartedAt: '2026-12-07T10:00:09Z' }),
      'stale'
    ],
    ['not started yet (no startTime)', pod(undefined, { phase: 'Pending' }), 'current'],
    ['being deleted', pod('2026-12-07T09:00:00Z', { deleting: true }), 'current'],
    ['finished (Succeeded)', pod('2026-12-07T09:00:00Z', { phase: 'Succeeded' }), 'current'],
    ['failed for good (Failed)', pod('2026-12-07T09:00:00Z', { phase: 'Failed' }), 'current']
  ])('started in %s: %s', (_, subject, expected) => {
    expect(podFreshness(subject, DATA)).toBe(expected)
  })

  it("for data this run changed, counts only this run's restart as after the data in its second", () => {
    const since = Date.parse('2026-12-07T10:00:05.500Z')
    // An earlier run restarted at .200; this run's data came later in the same second.
    expect(podFreshness(pod('2026-12-07T10:00:05Z', { restartedAt: '2026-12-07T10:00:05.200Z' }), DATA, since)).toBe(
      'same-second'
    )
    // This run's own restart, after its sync confirmed the data.
    expect(podFreshness(pod('2026-12-07T10:00:05Z', { restartedAt: '2026-12-07T10:00:05.700Z' }), DATA, since)).toBe(
      'current'
    )
    // A later second is current, an earlier one stale, whatever the restart.
    expect(podFreshness(pod('2026-12-07T10:00:06Z'), DATA, since)).toBe('current')
    expect(podFreshness(pod('2026-12-07T10:00:04Z', { restartedAt: '2026-12-07T10:00:09Z' }), DATA, since)).toBe(
      'stale'
    )
    const changed = { namespace: 'ns', name: 'a', second: DATA, first: false, changedBefore: since }
    expect(freshnessOf([pod('2026-12-07T10:00:05Z', { restartedAt: '2026-12-07T10:00:05.200Z' })], [changed])).toBe(
      'same-second'
    )
  })

  it('takes the worst over every pod and every Secret the workload reads', () => {
    const newer = { namespace: 'ns', name: 'a', second: DATA, first: false }
    const older = { namespace: 'ns', name: 'b', second: DATA - 60_000, first: false }
    const current = pod('2026-12-07T10:00:06Z')
    expect(freshnessOf([current], [newer, older])).toBe('current')
    expect(freshnessOf([current, pod('2026-12-07T10:00:05Z')], [newer])).toBe('same-second')
    expect(freshnessOf([current, pod('2026-12-07T10:00:05Z'), pod('2026-12-07T10:00:01Z')], [older, newer])).toBe(
      'stale'
    )
    expect(freshnessOf([], [newer])).toBe('current')
  })
})

describe("the second of a Secret's current data, from its metadata", () => {
  const meta = (
    managedFields: Array<{ manager: string; time?: string }>,
    creationTimestamp = '2026-12-01T08:00:00Z'
  ) => ({
    name: 'payments-db',
    namespace: 'payments-prod',
    creationTimestamp,
    managedFields: managedFields.map((entry) => ({ operation: 'Update', ...entry }))
  })

  it("is the time of ESO's entry, to the start of its second", () => {
    expect(
      secretData(
        meta([
          { manager: 'kubectl-label', time: '2026-12-07T11:00:00Z' },
          { manager: 'external-secrets', time: '2026-12-07T10:00:05Z' }
        ])
      )
    ).toEqual({ namespace: 'payments-prod', name: 'payments-db', second: DATA, first: false, annotations: {} })
  })

  it('is the first data when ESO wrote it in the second the Secret was created', () => {
    expect(
      secretData(meta([{ manager: 'external-secrets', time: '2026-12-07T10:00:05Z' }], '2026-12-07T10:00:05Z'))
    ).toMatchObject({ second: DATA, first: true })
  })

  it('without an entry of ESO, is the newest write of any manager, then the creation (never too early)', () => {
    expect(
      secretData(
        meta([
          { manager: 'helm', time: '2026-12-07T09:00:00Z' },
          { manager: 'kubectl', time: '2026-12-07T10:00:05Z' }
        ])
      )
    ).toMatchObject({ second: DATA })
    expect(secretData(meta([], '2026-12-07T10:00:05Z'))).toMatchObject({ second: DATA, first: true })
    expect(secretData({ name: 'x' })).toBeUndefined()
  })
})

describe("a workload's selector as the labelSelector query says it", () => {
  it.each([
    [{ matchLabels: { app: 'api', tier: 'web' } }, 'app=api,tier=web'],
    [
      {
        matchLabels: { app: 'api' },
        matchExpressions: [
          { key: 'track', operator: 'In', values: ['stable', 'canary'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' }
        ]
      },
      'app=api,track in (canary,stable),env notin (dev),team,!legacy'
    ],
    [{ matchExpressions: [{ key: 'x', operator: 'Near' }] }, undefined]
  ])('%j -> %s', (selector, expected) => {
    expect(selectorText(selector)).toBe(expected)
  })
})
