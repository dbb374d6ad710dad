import { describe, expect, it } from '@jest/globals'
import { syncFailure, syncLogLines, syncOutputs, syncSummaryRows, syncWarnings } from '../../src/sync/report.js'
import type { SyncReport } from '../../src/sync/sync.js'

const base: Omit<SyncReport, 'outcomes' | 'dryRun' | 'waited'> = {
  apiVersion: 'v1',
  annotation: { key: 'force-sync', value: '2025-06-01T10:00:00.000Z-ab12cd34' },
  selector: 'zerotouch.io/managed=true',
  namespaces: ['apps'],
  verified: true,
  checkedParameters: ['/zerotouch/prod/api/URL', '/zerotouch/prod/web/URL'],
  checkedReferences: 3,
  externalSecrets: [],
  stores: [],
  clusterExternalSecrets: [],
  timeoutMs: 300_000
}

const waited: SyncReport = {
  ...base,
  dryRun: false,
  waited: true,
  outcomes: [
    {
      namespace: 'apps',
      name: 'web',
      result: 'failed',
      seconds: 2,
      reason: 'the sync failed: err: Secret does not exist'
    },
    { namespace: 'apps', name: 'api', result: 'synced', seconds: 4.25 },
    { namespace: 'apps', name: 'db', result: 'synced', seconds: 42.4 },
    {
      namespace: 'apps',
      name: 'zeta',
      result: 'timed-out',
      reason: 'not freshly synced within 300 s: last known Ready=True'
    }
  ]
}

describe('sync report', () => {
  it('says which ExternalSecrets were force-synced through a ClusterExternalSecret, and warns for namespaces outside', () => {
    const through: SyncReport = {
      ...waited,
      clusterExternalSecrets: [
        { name: 'shared', selected: [{ namespace: 'apps', name: 'api' }], outside: ['billing', 'web'] },
        { name: 'db', selected: [{ namespace: 'apps', name: 'db' }], outside: [] }
      ]
    }
    expect(syncLogLines(through).slice(-3, -1)).toEqual([
      'Force-synced apps/api through ClusterExternalSecret "shared" (external-secrets.io/force-sync), which controls them and resets their annotations',
      'Force-synced apps/db through ClusterExternalSecret "db" (external-secrets.io/force-sync), which controls them and resets their annotations'
    ])
    expect(syncWarnings(through)).toEqual([
      'ClusterExternalSecret "shared" was annotated to force-sync the selected ExternalSecrets it controls; it also provisions namespaces billing, web, outside the selection, whose ExternalSecrets refreshed too'
    ])
    expect(syncWarnings(waited)).toEqual([])
    expect(syncLogLines({ ...through, dryRun: true }).at(-3)).toMatch(/^Would force-sync apps\/api through/)
  })

  it('outputs the names confirmed freshly synced, sorted, as JSON', () => {
    expect(syncOutputs(waited)).toEqual({ synced: '["apps/api","apps/db"]' })
    expect(syncOutputs({ outcomes: [{ namespace: 'apps', name: 'api', result: 'would-annotate' }] })).toEqual({
      synced: '[]'
    })
    expect(syncOutputs({ outcomes: [{ namespace: 'apps', name: 'api', result: 'annotated' }] })).toEqual({
      synced: '[]'
    })
  })

  it('logs one line per ExternalSecret, then totals', () => {
    expect(syncLogLines(waited)).toEqual([
      'synced         apps/api in 4.3 s',
      'synced         apps/db in 42 s',
      'failed         apps/web: the sync failed: err: Secret does not exist',
      'timed out      apps/zeta: not freshly synced within 300 s: last known Ready=True',
      '2 synced, 1 failed, 1 timed out. Checked 3 references (2 parameters found in SSM). Annotation force-sync=2025-06-01T10:00:00.000Z-ab12cd34.'
    ])
  })

  it('says what a dry run would do', () => {
    const lines = syncLogLines({
      ...base,
      dryRun: true,
      waited: false,
      outcomes: [{ namespace: 'apps', name: 'api', result: 'would-annotate' }]
    })
    expect(lines).toEqual([
      'would annotate apps/api',
      'Dry run, nothing annotated. Checked 3 references (2 parameters found in SSM). A real run would annotate 1 ExternalSecrets (v1) with force-sync.'
    ])
  })

  it('says when it did not wait, and when references were not checked', () => {
    const lines = syncLogLines({
      ...base,
      verified: false,
      dryRun: false,
      waited: false,
      outcomes: [{ namespace: 'apps', name: 'api', result: 'annotated' }]
    })
    expect(lines[0]).toBe('annotated      apps/api (not waited for: wait is false)')
    expect(lines[1]).toMatch(/^0 synced, 0 failed, 1 annotated\. References not checked \(verify-references: false\)\./)
  })

  it('has summary rows of ExternalSecret, result and time to sync', () => {
    expect(syncSummaryRows(waited)).toEqual([
      ['ExternalSecret', 'Result', 'Time to sync'],
      ['apps/api', 'synced', '4.3 s'],
      ['apps/db', 'synced', '42 s'],
      ['apps/web', 'failed: the sync failed: err: Secret does not exist', ''],
      ['apps/zeta', 'timed out: not freshly synced within 300 s: last known Ready=True', '']
    ])
  })

  it('fails the step naming each one that did not freshly sync', () => {
    expect(syncFailure(waited)).toBe(
      '2 of 4 ExternalSecrets did not freshly sync:\n' +
        '  - apps/web (failed): the sync failed: err: Secret does not exist\n' +
        '  - apps/zeta (timed out): not freshly synced within 300 s: last known Ready=True'
    )
    expect(
      syncFailure({ ...waited, outcomes: waited.outcomes.filter(({ result }) => result === 'synced') })
    ).toBeUndefined()
  })
})
