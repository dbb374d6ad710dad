import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { problemOf } from '../../__fixtures__/problems.js'
import { workflowRun } from '../../__fixtures__/writer.js'
import { DESCRIPTION_LIMIT, describeVersion, runIdOf, runUrl } from '../../src/history/provenance.js'
import { chooseVersion, lastWriteOf } from '../../src/history/select.js'
import type { ParameterHistory, ParameterVersion } from '../../src/ssm/rules.js'
import { parseRestorePoint } from '../../src/inputs/parsers.js'

const T0 = Date.UTC(2026, 10, 30, 12)
const MINUTE = 60_000
const SHA = workflowRun.sha

function history(
  name: string,
  versions: ReadonlyArray<Partial<ParameterVersion> & { minute: number }>,
  first = 1
): ParameterHistory {
  return {
    name,
    versions: versions.map(({ minute, ...rest }, index) => ({
      version: first + index,
      value: `v${first + index}`,
      modifiedAt: T0 + minute * MINUTE,
      ...rest
    }))
  }
}

describe('describeVersion (provenance)', () => {
  it('records repository, full SHA, workflow, run and attempt, and the run URL on the server of the run', () => {
    expect(describeVersion({ kind: 'workflow', run: workflowRun })).toBe(
      `zerotouch-secrets: octo/payments@${SHA} workflow "Release" run 4242 attempt 2: https://github.example.com/octo/payments/actions/runs/4242/attempts/2`
    )
  })

  it('builds the run URL from the server URL, so it is right on GitHub Enterprise Server', () => {
    expect(runUrl({ ...workflowRun, serverUrl: 'https://ghe.corp.example/' })).toBe(
      'https://ghe.corp.example/octo/payments/actions/runs/4242/attempts/2'
    )
    expect(runUrl({ ...workflowRun, serverUrl: 'https://github.com' })).toBe(
      'https://github.com/octo/payments/actions/runs/4242/attempts/2'
    )
  })

  it('says a run outside GitHub Actions is local, inventing nothing', () => {
    expect(describeVersion({ kind: 'local', host: 'laptop-7' })).toBe('zerotouch-secrets: local run on laptop-7')
  })

  it('puts a restore first: the version copied and the point it was chosen for', () => {
    expect(describeVersion({ kind: 'workflow', run: workflowRun }, { version: 3, asOf: T0 })).toMatch(
      /^restored from version 3 \(as of 2026-11-30T12:00:00\.000Z\); zerotouch-secrets: octo\/payments@/
    )
  })

  it('stays within 1,024 characters, cutting the workflow name and never the run URL', () => {
    const long = describeVersion(
      { kind: 'workflow', run: { ...workflowRun, workflow: 'W'.repeat(5000) } },
      { version: 99, asOf: T0 }
    )
    expect(long).toHaveLength(DESCRIPTION_LIMIT)
    expect(long).toContain(
      'W…" run 4242 attempt 2: https://github.example.com/octo/payments/actions/runs/4242/attempts/2'
    )
    expect(runIdOf(long)).toBe('4242')
  })

  it('reads back the run id of any workflow description it writes, whatever the workflow name says', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 2000 }),
        fc.integer({ min: 1, max: 2 ** 53 - 1 }),
        fc.boolean(),
        (workflow, runId, restored) => {
          const text = describeVersion(
            { kind: 'workflow', run: { ...workflowRun, workflow, runId } },
            restored ? { version: 1, asOf: T0 } : undefined
          )
          return runIdOf(text) === String(runId) && text.length <= DESCRIPTION_LIMIT
        }
      )
    )
  })

  it.each([
    undefined,
    '',
    'set by hand',
    'zerotouch-secrets: local run on laptop',
    'deployed by https://github.com/o/r/actions/runs/7/attempts/1'
  ])('finds no run id in %p', (description) => {
    expect(runIdOf(description)).toBeUndefined()
  })
})

describe('chooseVersion', () => {
  const h = history('/p/k', [{ minute: 0 }, { minute: 10 }, { minute: 20 }])

  it.each([
    [0, 1],
    [5, 1],
    [10, 2],
    [19, 2],
    [20, 3],
    [600, 3]
  ])('at minute %p takes version %p: the newest at or before the point', (minute, version) => {
    const choice = chooseVersion(h, T0 + minute * MINUTE)
    expect(choice).toMatchObject({ kind: 'restore', from: { version }, latest: { version: 3 } })
  })

  it('takes the newest by version, whatever order SSM lists them in', () => {
    expect(chooseVersion({ name: '/p/k', versions: [...h.versions].reverse() }, T0 + 15 * MINUTE)).toMatchObject({
      from: { version: 2 },
      latest: { version: 3 }
    })
  })

  it('says a parameter whose version 1 is after the point was created after it', () => {
    expect(chooseVersion(h, T0 - 1)).toEqual({ kind: 'created-after', first: h.versions[0] })
  })

  it('says the history no longer reaches a point older than the oldest version kept', () => {
    const truncated = history('/p/k', [{ minute: 0 }, { minute: 10 }], 101)
    expect(chooseVersion(truncated, T0 - 1)).toEqual({ kind: 'beyond-history', oldest: truncated.versions[0] })
  })
})

describe('lastWriteOf', () => {
  const by = (runId: number) => describeVersion({ kind: 'workflow', run: { ...workflowRun, runId } })

  it("is the run's last write over all parameters for a run", () => {
    const histories = [
      history('/p/a', [
        { minute: 0, description: by(1) },
        { minute: 10, description: by(2) },
        { minute: 20, description: by(3) }
      ]),
      history('/p/b', [
        { minute: 1, description: by(1) },
        { minute: 11, description: by(2) }
      ])
    ]
    expect(lastWriteOf('2', histories)).toBe(T0 + 11 * MINUTE)
    expect(lastWriteOf('1', histories)).toBe(T0 + 1 * MINUTE)
  })

  it('counts a restore run as a run that wrote', () => {
    const restored = describeVersion({ kind: 'workflow', run: { ...workflowRun, runId: 9 } }, { version: 1, asOf: T0 })
    expect(
      lastWriteOf('9', [
        history('/p/a', [
          { minute: 0, description: by(1) },
          { minute: 5, description: restored }
        ])
      ])
    ).toBe(T0 + 5 * MINUTE)
  })

  it('does not count a later version that inherited the description (SSM keeps it for a put without one)', () => {
    const histories = [
      history('/p/a', [
        { minute: 0, description: by(1) },
        { minute: 10, description: by(2) },
        { minute: 30, description: by(2) }
      ])
    ]
    expect(lastWriteOf('2', histories)).toBe(T0 + 10 * MINUTE)
  })

  it('is undefined when no version records the run', () => {
    expect(lastWriteOf('7', [history('/p/a', [{ minute: 0, description: by(1) }, { minute: 1 }])])).toBeUndefined()
  })
})

describe('parseRestorePoint', () => {
  it.each([
    ['2026-11-30T12:00:00Z', T0],
    ['2026-11-30T12:00Z', T0],
    ['2026-11-30T12:00:00+00:00', T0],
    [' 2026-11-30T12:00:00.250Z ', T0 + 250],
    ['2026-02-28T23:59:59Z', Date.UTC(2026, 1, 28, 23, 59, 59)],
    ['2028-02-29T00:00:00Z', Date.UTC(2028, 1, 29)]
  ])('reads the UTC time %p', (raw, at) => expect(parseRestorePoint('restore-to', raw)).toEqual({ kind: 'time', at }))

  it.each([
    ['run:4242', '4242'],
    ['run:007', '7'],
    ['run:12345678901', '12345678901']
  ])('reads %p as a run', (raw, runId) => expect(parseRestorePoint('restore-to', raw)).toEqual({ kind: 'run', runId }))

  it.each([
    'yesterday',
    '2026-11-30',
    '2026-11-30T12:00:00',
    '2026-11-30T12:00:00+01:00',
    '2026-11-30T12:00:00-00:00',
    '2026-11-30T12:00:00z',
    '2026-11-30 12:00:00Z',
    '1796040000',
    'run:',
    'run:abc',
    'run:-1',
    'RUN:1',
    'run: 1'
  ])('refuses %p naming the input', (raw) => {
    const problem = problemOf(() => parseRestorePoint('restore-to', raw))
    expect(problem.input).toBe('restore-to')
    expect(problem.message).toMatch(
      /^restore-to: ".*" is neither an ISO-8601 UTC time \(2026-11-30T12:00:00Z\) nor run:<run id>$/
    )
  })

  it.each([
    '2026-02-30T12:00:00Z',
    '2026-11-31T00:00:00Z',
    '2026-11-30T24:00:00Z',
    '2026-11-30T12:60:00Z',
    '2026-13-01T00:00:00Z',
    '2027-02-29T00:00:00Z'
  ])('refuses %p, a time that does not exist', (raw) => {
    expect(problemOf(() => parseRestorePoint('restore-to', raw)).message).toBe(
      `restore-to: "${raw}" is not a time that exists`
    )
  })
})
