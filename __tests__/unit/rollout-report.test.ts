import { describe, expect, it } from '@jest/globals'
import {
  rolloutFailure,
  rolloutLogLines,
  rolloutOutputs,
  rolloutSummaryRows,
  rolloutWarnings
} from '../../src/rollout/report.js'
import type { RolloutOutcome, RolloutReport } from '../../src/rollout/rollout.js'

const NS = 'payments-prod'
const outcome = (name: string, extra: Partial<RolloutOutcome>): RolloutOutcome => ({
  namespace: NS,
  kind: 'Deployment',
  name,
  secrets: ['payments-db'],
  action: 'restarted',
  ...extra
})
const report = (outcomes: RolloutOutcome[], extra: Partial<RolloutReport> = {}): RolloutReport => ({
  restart: 'changed',
  dryRun: false,
  outcomes,
  notes: [],
  ...extra
})

const MIXED = report([
  outcome('web', { result: 'rolled-out', seconds: 12.5 }),
  outcome('api', { result: 'failed', reason: 'deployment "api" exceeded its progress deadline' }),
  outcome('jobs', { action: 'reloader', result: 'rolled-out', seconds: 3 }),
  outcome('stuck', {
    action: 'paused',
    result: 'failed',
    reason: 'paused: resume it, then re-run (or restart it yourself)'
  })
])

describe('the rollout report', () => {
  it('outputs the workloads whose rollout was confirmed, sorted, as namespace/Kind/name', () => {
    expect(rolloutOutputs(MIXED)).toEqual({
      restarted: JSON.stringify([`${NS}/Deployment/jobs`, `${NS}/Deployment/web`])
    })
    expect(rolloutOutputs({ outcomes: [] })).toEqual({ restarted: '[]' })
  })

  it('logs one line per workload, then the totals', () => {
    expect(rolloutLogLines(MIXED)).toEqual([
      `restarted, failed            ${NS}/Deployment/api (reads payments-db): deployment "api" exceeded its progress deadline`,
      `left to Reloader, rolled out ${NS}/Deployment/jobs (reads payments-db) in 3.0 s`,
      `paused, failed               ${NS}/Deployment/stuck (reads payments-db): paused: resume it, then re-run (or restart it yourself)`,
      `restarted, rolled out        ${NS}/Deployment/web (reads payments-db) in 13 s`,
      '2 of 4 workloads on old Secret data rolled out to the current data.'
    ])
  })

  it('fails naming each workload that did not roll out and why, and only then', () => {
    expect(rolloutFailure(MIXED)).toBe(
      [
        '2 of 4 workloads on old Secret data did not roll out; the Secrets themselves are synced. Fix the cause and re-run: a re-run restarts every workload still on old data, even with nothing new to write:',
        `  - ${NS}/Deployment/api (restarted, failed): deployment "api" exceeded its progress deadline`,
        `  - ${NS}/Deployment/stuck (paused, failed): paused: resume it, then re-run (or restart it yourself)`
      ].join('\n')
    )
    expect(rolloutFailure(report([outcome('web', { result: 'rolled-out', seconds: 1 })]))).toBeUndefined()
  })

  it('warns for each workload left on the old values with restart: none, and logs the notes as notes, not warnings', () => {
    const none = report([outcome('api', { action: 'not-restarted' })], {
      restart: 'none',
      notes: ['forbidden: may not list deployments.apps']
    })
    expect(rolloutWarnings(none)).toEqual([
      `${NS}/Deployment/api reads Secret payments-db: its pods started before the current data and run the old values until they restart (restart: changed restarts them and waits for the rollout)`
    ])
    expect(rolloutWarnings(MIXED)).toEqual([])
    expect(rolloutLogLines(none).slice(-2)).toEqual([
      'forbidden: may not list deployments.apps',
      '1 workloads run old Secret data and were not restarted (restart: none).'
    ])
  })

  it('has a summary row per workload with its rollout time', () => {
    expect(rolloutSummaryRows(MIXED)[0]).toEqual(['Workload', 'Secrets on old data', 'Result', 'Rollout time'])
    expect(rolloutSummaryRows(MIXED)).toContainEqual([
      `${NS}/Deployment/web`,
      'payments-db',
      'restarted, rolled out',
      '13 s'
    ])
    expect(rolloutLogLines(report([], { dryRun: true }))).toEqual([
      'Every workload reading a synced Secret runs its current data.'
    ])
    expect(rolloutLogLines(report([outcome('api', { action: 'would-restart' })], { dryRun: true })).at(-1)).toBe(
      'Dry run, nothing restarted: 1 workloads run old Secret data or would after the run.'
    )
  })
})
