import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import type { ExternalSecret } from '../../src/eso/model.js'
import { parseGoDuration } from '../../src/eso/duration.js'
import {
  guardrailProblems,
  missingProblems,
  namesToVerify,
  ownedReferences,
  pinnedVersionProblems,
  refreshPolicyProblem
} from '../../src/eso/guardrails.js'
import { fieldOf, placementOf, reads, referencesOf } from '../../src/eso/model.js'

const scope = { pathPrefix: '/zerotouch', environment: 'prod' }

function es(spec: ExternalSecret['spec'], name = 'api'): ExternalSecret {
  return { metadata: { name, namespace: 'apps' }, spec }
}

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['0h0m0s', 0],
    ['-0s', 0],
    ['1h', 3_600_000],
    ['15m30s', 930_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['1h1m1s1ms', 3_661_001],
    ['2us', 0.002],
    ['1µs', 0.001],
    ['-1s', -1000],
    ['.5s', 500]
  ])('reads %p', (text, millis) => expect(parseGoDuration(text)).toBeCloseTo(millis, 6))

  it.each(['', '1', '1d', 'h', 'abc', '1s2', '--1s', '1h 2m'])('refuses %p', (text) =>
    expect(parseGoDuration(text)).toBeUndefined()
  )

  it('adds the parts of any well-formed duration', () => {
    fc.assert(
      fc.property(fc.nat(99), fc.nat(59), fc.nat(59), (h, m, s) => {
        expect(parseGoDuration(`${h}h${m}m${s}s`)).toBe(((h * 60 + m) * 60 + s) * 1000)
      })
    )
  })
})

describe('references', () => {
  it('reads remoteRef.key, dataFrom extract.key and find.path, each with its kind, index and field', () => {
    const refs = referencesOf(
      es({
        data: [{ secretKey: 'a', remoteRef: { key: '/zerotouch/prod/api/A' } }, { secretKey: 'b' }],
        dataFrom: [
          { extract: { key: '/zerotouch/prod/api/json', version: '2' } },
          { find: { path: '/zerotouch/prod/api' } },
          {}
        ]
      }),
      []
    )
    expect(refs).toEqual([
      { kind: 'data', index: 0, key: '/zerotouch/prod/api/A', written: '/zerotouch/prod/api/A', secretKey: 'a' },
      { kind: 'extract', index: 0, key: '/zerotouch/prod/api/json', written: '/zerotouch/prod/api/json', version: '2' },
      { kind: 'find', index: 1, key: '/zerotouch/prod/api', written: '/zerotouch/prod/api' }
    ])
    expect(refs.map(fieldOf)).toEqual([
      'spec.data[0].remoteRef.key',
      'spec.dataFrom[0].extract.key',
      'spec.dataFrom[1].find.path'
    ])
    expect(ownedReferences(es({ data: [{ remoteRef: { key: '/k' } }] }), [])).toEqual([
      { externalSecret: 'apps/api', reference: { kind: 'data', index: 0, key: '/k', written: '/k', secretKey: '' } }
    ])
  })

  it('knows which parameters a reference reads: its key, or everything under a find path', () => {
    const [data, find, findWithSlash] = referencesOf(
      es({
        data: [{ remoteRef: { key: '/z/prod/api/a' } }],
        dataFrom: [{ find: { path: '/z/prod/api' } }, { find: { path: '/z/prod/api/' } }]
      }),
      []
    )
    expect(reads(data, '/z/prod/api/a')).toBe(true)
    expect(reads(data, '/z/prod/api/ab')).toBe(false)
    expect(reads(find, '/z/prod/api/a')).toBe(true)
    expect(reads(find, '/z/prod/apix/a')).toBe(false)
    expect(reads(findWithSlash, '/z/prod/api/a')).toBe(true)
  })

  it.each([
    ['/zerotouch/prod/api/A', 'this-environment'],
    ['/zerotouch/prod', 'this-environment'],
    ['/zerotouch/prod/', 'this-environment'],
    ['/zerotouch/production/api/A', 'other-environment'],
    ['/zerotouch/stg/api/A', 'other-environment'],
    ['/zerotouch', 'other-environment'],
    ['/zerotouch/', 'other-environment'],
    ['/zerotouch/_ENV_/api/A', 'placeholder'],
    ['/other/_ENV_/x', 'placeholder'],
    ['/zerotouchx/stg/A', 'outside'],
    ['/shared/db', 'outside'],
    ['zerotouch/stg/A', 'outside']
  ])('places %p as %p', (key, placement) => expect(placementOf(key, scope)).toBe(placement))

  it('flags the placeholder and cross-environment references of every field, and leaves the rest', () => {
    const problems = guardrailProblems(
      [
        es({
          data: [
            { remoteRef: { key: '/zerotouch/_ENV_/api/A' } },
            { remoteRef: { key: '/zerotouch/stg/api/B' } },
            { remoteRef: { key: '/zerotouch/prod/api/C' } },
            { remoteRef: { key: '/elsewhere/D' } }
          ],
          dataFrom: [{ extract: { key: '/zerotouch/dev/api/json' } }, { find: { path: '/zerotouch' } }]
        })
      ],
      scope,
      []
    )
    expect(problems).toHaveLength(4)
    expect(problems[0]).toMatch(
      /^apps\/api: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/_ENV_\/api\/A" still contains the _ENV_ placeholder: the environment overlay did not replace it/
    )
    expect(problems[1]).toMatch(
      /^apps\/api: spec\.data\[1\]\.remoteRef\.key "\/zerotouch\/stg\/api\/B" reads environment "stg", not "prod": a cross-environment reference/
    )
    expect(problems[2]).toMatch(/spec\.dataFrom\[0\]\.extract\.key .* reads environment "dev"/)
    expect(problems[3]).toMatch(/spec\.dataFrom\[1\]\.find\.path "\/zerotouch" reads all of \/zerotouch\//)
  })

  it('verifies only remoteRef keys under this environment, once each', () => {
    const refs = [
      ...ownedReferences(
        es({
          data: [
            { remoteRef: { key: '/zerotouch/prod/b' } },
            { remoteRef: { key: '/zerotouch/prod/a' } },
            { remoteRef: { key: '/zerotouch/stg/a' } }
          ]
        }),
        []
      ),
      ...ownedReferences(
        es(
          {
            data: [{ remoteRef: { key: '/zerotouch/prod/a' } }],
            dataFrom: [{ extract: { key: '/zerotouch/prod/json' } }]
          },
          'web'
        ),
        []
      )
    ]
    expect(namesToVerify(refs, scope)).toEqual(['/zerotouch/prod/a', '/zerotouch/prod/b'])
    const problems = missingProblems(refs, new Set(['/zerotouch/prod/a']))
    expect(problems).toEqual([
      'apps/api: spec.data[1].remoteRef.key "/zerotouch/prod/a" does not exist in SSM Parameter Store (nothing was pushed under that name)',
      'apps/web: spec.data[0].remoteRef.key "/zerotouch/prod/a" does not exist in SSM Parameter Store (nothing was pushed under that name)'
    ])
  })

  it('verifies a pinned reference as the operator reads it, key:version', () => {
    const refs = ownedReferences(
      es({
        data: [{ remoteRef: { key: '/zerotouch/prod/a', version: '3' } }, { remoteRef: { key: '/zerotouch/prod/a' } }]
      }),
      []
    )
    expect(namesToVerify(refs, scope)).toEqual(['/zerotouch/prod/a', '/zerotouch/prod/a:3'])
    expect(missingProblems(refs, new Set(['/zerotouch/prod/a:3']))).toEqual([
      'apps/api: spec.data[0].remoteRef.key "/zerotouch/prod/a" pins version 3, which does not exist in SSM Parameter Store'
    ])
  })

  it('refuses a reference pinned to a version of a parameter this run writes, and only that', () => {
    const refs = ownedReferences(
      es({
        data: [
          { remoteRef: { key: '/zerotouch/prod/api/a', version: '3' } },
          { remoteRef: { key: '/zerotouch/prod/api/b' } },
          { remoteRef: { key: '/zerotouch/prod/api/frozen', version: '1' } }
        ],
        dataFrom: [{ extract: { key: '/zerotouch/prod/api/json', version: '7' } }]
      }),
      []
    )
    expect(
      pinnedVersionProblems(
        refs,
        new Set(['/zerotouch/prod/api/a', '/zerotouch/prod/api/b', '/zerotouch/prod/api/json'])
      )
    ).toEqual([
      'apps/api: spec.data[0].remoteRef.key "/zerotouch/prod/api/a" is pinned to version 3, so the value this action writes there (a new version) will never reach it: remove the version from the reference',
      'apps/api: spec.dataFrom[0].extract.key "/zerotouch/prod/api/json" is pinned to version 7, so the value this action writes there (a new version) will never reach it: remove the version from the reference'
    ])
    expect(pinnedVersionProblems(refs, new Set())).toEqual([])
  })

  it('never calls a key under this environment a problem, whatever follows', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9/_.-]{0,30}$/), (rest) => {
        fc.pre(!rest.includes('_ENV_'))
        expect(
          guardrailProblems([es({ data: [{ remoteRef: { key: `/zerotouch/prod/${rest}` } }] })], scope, [])
        ).toEqual([])
      })
    )
  })
})

describe('refresh policy', () => {
  it.each([
    [
      { refreshPolicy: 'CreatedOnce' },
      /refreshPolicy CreatedOnce never refreshes on an annotation change, so force-sync cannot work: set refreshPolicy: OnChange/
    ],
    [{ refreshPolicy: 'CreatedOnce', refreshInterval: '1h' }, /CreatedOnce/],
    [
      { refreshInterval: '0' },
      /refreshInterval "0" with refreshPolicy unset \(Periodic\) means the operator never refreshes it after the first sync.*set refreshInterval above 0/
    ],
    [{ refreshInterval: '0s' }, /refreshInterval "0s"/],
    [{ refreshPolicy: 'Periodic', refreshInterval: '0m0s' }, /refreshPolicy Periodic means/],
    [{ refreshPolicy: 'Periodic', refreshInterval: '-1s' }, /refreshInterval "-1s"/]
  ])('refuses %p', (spec, message) => expect(refreshPolicyProblem(es(spec))).toMatch(message))

  it('are among the problems of each ExternalSecret, one sentence each', () => {
    const problems = guardrailProblems(
      [
        es({ refreshPolicy: 'CreatedOnce', data: [{ remoteRef: { key: '/zerotouch/stg/a' } }] }),
        es({ refreshInterval: '0' }, 'web')
      ],
      scope,
      []
    )
    expect(problems).toHaveLength(3)
    expect(problems[1]).toMatch(/^apps\/api: refreshPolicy CreatedOnce/)
    expect(problems[2]).toMatch(/^apps\/web: refreshInterval "0"/)
  })

  it.each([
    [{}],
    [{ refreshInterval: '1h' }],
    [{ refreshPolicy: 'Periodic', refreshInterval: '15m30s' }],
    [{ refreshPolicy: 'OnChange' }],
    [{ refreshPolicy: 'OnChange', refreshInterval: '0' }],
    [{ refreshPolicy: 'Periodic' }],
    [{ refreshInterval: 'not a duration' }]
  ])('accepts %p', (spec) => expect(refreshPolicyProblem(es(spec))).toBeUndefined())
})
