/**
 * The regions scenario's summary and target (bench/results.ts): the ratio of 3 regions to 1 is the median of the pairs'
 * ratios with its spread, and a re-run passes only with exactly one read pass per region and no other call tried.
 */
import { describe, expect, it } from '@jest/globals'
import {
  evaluateTargets,
  onlyOneReadPass,
  summarizeRegions,
  type Measurement,
  type RegionsPair,
  type RegionsPushRun,
  type RegionUse
} from '../../bench/results.ts'

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1']
const QUOTA = { scale: 10, latencyMs: 20, writePerSecond: 30, readPerSecond: 400, writeBurst: 3, readBurst: 40 }
const MEASURED: Measurement = {
  date: '2026-12-07T17:00:00.000Z',
  command: 'npm run bench -- --only regions',
  build: { distSha256: 'a'.repeat(64), commit: 'b'.repeat(40), uncommitted: false },
  machine: {
    nproc: 2,
    memoryGiB: 8,
    cpu: 'cpu',
    os: 'Linux',
    node: 'v24',
    awsCli: 'aws',
    kubectl: 'v1.32',
    moto: '5.2.1'
  }
}

function region(name: string, use: Partial<RegionUse> = {}): RegionUse {
  return { region: name, calls: {}, throttled: {}, versionsCreated: 0, lostWrites: 0, ...use }
}

function run(wallMs: number, regions: RegionUse[], exitCode = 0): RegionsPushRun {
  return { wallMs, startupMs: 300, exitCode, regions }
}

const firstPush = (name: string) => region(name, { calls: { GetParameters: 10, PutParameter: 100 } })
const readPass = (name: string) => region(name, { calls: { GetParameters: 10 } })

function pair(oneMs: number, allMs: number, first: 'one' | 'all' = 'one'): RegionsPair {
  return {
    first,
    load: 1,
    one: run(oneMs, [firstPush(REGIONS[0])]),
    all: run(allMs, REGIONS.map(firstPush)),
    ratio: allMs / oneMs
  }
}

function scenario(pairs: RegionsPair[], reruns: RegionsPushRun[]) {
  return summarizeRegions({
    n: 100,
    primary: REGIONS[0],
    replicas: REGIONS.slice(1),
    measured: MEASURED,
    quota: QUOTA,
    quotaBoundMs: 3_358,
    label: 'action',
    pairs,
    reruns
  })
}

function target(regions: ReturnType<typeof scenario>) {
  const startup = { repetitions: 1, actionToFirstRequestMs: 300, cliToFirstRequestMs: 600, cliCallMs: 900 }
  return evaluateTargets({ push: [], sync: [], startup, quota: QUOTA, regions }).find(({ target }) =>
    target.includes('3 regions')
  )
}

describe('bench results: the regions scenario', () => {
  it('summarizes the pairs by the median of their ratios, with the spread, failures and lost writes', () => {
    const lossy = pair(4_000, 4_800, 'all')
    const summary = scenario(
      [
        pair(4_000, 4_100),
        { ...lossy, all: { ...lossy.all, regions: [firstPush(REGIONS[0]), region(REGIONS[1], { lostWrites: 2 })] } },
        pair(5_000, 5_000),
        { ...pair(4_000, 4_400), one: run(4_000, [firstPush(REGIONS[0])], 1) }
      ],
      [run(700, REGIONS.map(readPass))]
    )
    expect(summary).toMatchObject({ oneWallMs: 4_000, allWallMs: 4_600, minRatio: 1, maxRatio: 1.2 })
    expect(summary.ratio).toBeCloseTo((1.025 + 1.1) / 2)
    expect(summary).toMatchObject({ failedRuns: 1, lostWrites: 2 })
    expect(target(summary)?.met).toBe(false)
  })

  it('meets the target at a median ratio of 1.2, one read pass per region in every re-run', () => {
    const summary = scenario(
      [pair(4_000, 4_800), pair(4_000, 3_900, 'all'), pair(4_000, 5_200)],
      [run(700, REGIONS.map(readPass)), run(650, REGIONS.map(readPass))]
    )
    expect(summary.ratio).toBe(1.2)
    expect(target(summary)).toMatchObject({ met: true })
    expect(target(summary)?.detail).toContain('us-west-2 GetParameters 10')
    expect(target(summary)?.detail).toContain('in 2/2 runs')
  })

  it('misses the target over 1.2, or when a re-run did more than one read pass somewhere', () => {
    expect(target(scenario([pair(4_000, 4_840)], [run(700, REGIONS.map(readPass))]))?.met).toBe(false)
    const extraRead = run(700, [
      ...REGIONS.slice(0, 2).map(readPass),
      region(REGIONS[2], { calls: { GetParameters: 11 } })
    ])
    const result = target(scenario([pair(4_000, 4_100)], [run(700, REGIONS.map(readPass)), extraRead]))
    expect(result?.met).toBe(false)
    expect(result?.detail).toContain('not one read pass and no write in 1/2 runs')
  })

  it('counts a re-run as one read pass only with exactly ceil(N/10) GetParameters and no other call tried, in every region', () => {
    expect(onlyOneReadPass(run(700, REGIONS.map(readPass)), 100)).toBe(true)
    expect(onlyOneReadPass(run(700, REGIONS.map(readPass)), 95)).toBe(true)
    expect(onlyOneReadPass(run(700, REGIONS.map(readPass)), 101)).toBe(false)
    const withWrite = region(REGIONS[1], { calls: { GetParameters: 10, PutParameter: 1 } })
    expect(onlyOneReadPass(run(700, [readPass(REGIONS[0]), withWrite]), 100)).toBe(false)
    const throttledWrite = region(REGIONS[1], { calls: { GetParameters: 10 }, throttled: { PutParameter: 1 } })
    expect(onlyOneReadPass(run(700, [readPass(REGIONS[0]), throttledWrite]), 100)).toBe(false)
    const throttledRead = region(REGIONS[1], { calls: { GetParameters: 10 }, throttled: { GetParameters: 2 } })
    expect(onlyOneReadPass(run(700, [readPass(REGIONS[0]), throttledRead]), 100)).toBe(true)
    expect(onlyOneReadPass(run(700, [readPass(REGIONS[0]), region(REGIONS[1])]), 100)).toBe(false)
  })
})
