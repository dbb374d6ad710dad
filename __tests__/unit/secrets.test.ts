import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { problemOf } from '../../__fixtures__/problems.js'
import { readSecretEntries, toSecretInputs, valuesToMask } from '../../src/secrets/document.js'
import { normalizeKey, normalizeSecrets } from '../../src/secrets/keys.js'
import { tierLimit } from '../../src/ssm/rules.js'
import { onlyAlwaysExcluded, selectSecrets } from '../../src/secrets/select.js'

const SECRET = 's3cr3t-Value'

describe('readSecretEntries', () => {
  it('reads a JSON object, keeping multi-line values', () => {
    expect(readSecretEntries('{"DATABASE_URL": "postgres://x", "CERT": "a\\nb"}')).toEqual([
      ['DATABASE_URL', 'postgres://x'],
      ['CERT', 'a\nb']
    ])
  })

  it('reads a YAML mapping', () => {
    expect(readSecretEntries('DATABASE_URL: postgres://x\nCERT: |\n  a\n  b\n')).toEqual([
      ['DATABASE_URL', 'postgres://x'],
      ['CERT', 'a\nb\n']
    ])
  })

  it('is empty for an empty input', () => expect(readSecretEntries('  \n')).toEqual([]))

  it.each([
    ['{"A": "x",', /not valid JSON/],
    ['["a"]', /must be a JSON object/],
    ['{"A": 1} trailing', /not valid JSON/],
    ['- a\n- b', /must be a JSON object or a YAML mapping/],
    ['just text', /must be a JSON object or a YAML mapping/],
    ['A: x\nA: y', /a name is given twice at line 2/],
    ['A: [unclosed', /not a valid YAML mapping/]
  ])('refuses %p without quoting the text', (raw, message) => {
    const problem = problemOf(() => readSecretEntries(raw.replace('x', SECRET)))
    expect(problem.input).toBe('secrets')
    expect(problem.message).toMatch(message)
    expect(problem.message).not.toContain(SECRET)
  })

  it.each([
    ['{"A": "x", "A": "y"}', '"A" is given twice'],
    ['{"A": "x", "\\u0041": "y"}', '"A" is given twice'],
    ['{"A": "x", "B": "y", "B": "z", "A": "w"}', '"B", "A" are given twice']
  ])('refuses the JSON %p, whose names repeat, instead of keeping the last value', (raw, message) => {
    const problem = problemOf(() => readSecretEntries(raw.replace('x', SECRET)))
    expect(problem.input).toBe('secrets')
    expect(problem.message).toContain(message)
    expect(problem.message).not.toContain(SECRET)
  })

  it('does not mistake nested names or quoted text in values for repeated names', () => {
    const raw = '{"A": {"A": "1", "B": ["A", {"A": 2}]}, "B": "\\"A\\": \\"x\\", {\\"A\\"", "C": "}, \\"A\\": ["}'
    expect(readSecretEntries(raw).map(([name]) => name)).toEqual(['A', 'B', 'C'])
  })

  it('finds every name of any JSON object exactly once (property)', () => {
    const value = fc.oneof(
      fc.string(),
      fc.dictionary(fc.string(), fc.string()),
      fc.array(fc.string()),
      fc.integer(),
      fc.constant(null)
    )
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), value, { minKeys: 1 }), fc.boolean(), (record, pretty) => {
        const text = JSON.stringify(record, null, pretty ? 2 : undefined)
        expect(readSecretEntries(text).map(([name]) => name)).toEqual(Object.keys(record))
      })
    )
  })

  it('never quotes a value in a JSON syntax error', () => {
    const problem = problemOf(() => readSecretEntries(`{"A": "${SECRET}" "B": "x"}`))
    expect(problem.message).toMatch(/character \d+/)
    expect(problem.message).not.toContain(SECRET)
  })
})

describe('toSecretInputs and valuesToMask', () => {
  it('refuses non-string values naming each secret, never the value', () => {
    const entries = readSecretEntries(
      '{"PORT": 5432, "NESTED": {"a": "deep"}, "LIST": ["x"], "NOTHING": null, "OK": "v", "FLAG": true}'
    )
    const problem = problemOf(() => toSecretInputs(entries))
    expect(problem.message).toContain('"PORT" must be a string value, not a number')
    expect(problem.message).toContain('"NESTED" must be a string value, not a nested object')
    expect(problem.message).toContain('"LIST" must be a string value, not a list')
    expect(problem.message).toContain('"NOTHING" must be a string value, not null')
    expect(problem.message).toContain('"FLAG" must be a string value, not a boolean')
    expect(problem.message).not.toMatch(/5432|deep/)
  })

  it('masks every scalar, nested ones included, even when the input is refused', () => {
    const entries = readSecretEntries('{"PORT": 5432, "NESTED": {"a": "deep"}, "OK": "v"}')
    expect(
      valuesToMask(entries)
        .map(({ name, value }) => `${name}=${value}`)
        .sort()
    ).toEqual(['NESTED=deep', 'OK=v', 'PORT=5432'])
  })
})

describe('selectSecrets', () => {
  const secrets = ['DATABASE_URL', 'API_KEY', 'github_token', 'PROD_DB', 'prod_cache', 'STG_DB'].map((name) => ({
    name,
    value: 'v'
  }))

  it('always drops github_token', () => {
    expect(
      selectSecrets(secrets, { include: [], exclude: [], stripPrefix: '' }).map(({ source }) => source)
    ).not.toContain('github_token')
    expect(
      selectSecrets([{ name: 'GITHUB_TOKEN', value: 'v' }], { include: ['*'], exclude: [], stripPrefix: '' })
    ).toEqual([])
  })

  it('applies include and exclude globs in any case', () => {
    const selected = selectSecrets(secrets, { include: ['prod_*', 'database_*'], exclude: ['*CACHE'], stripPrefix: '' })
    expect(selected.map(({ source }) => source)).toEqual(['DATABASE_URL', 'PROD_DB'])
  })

  it('keeps only names with the strip-prefix, in any case, and removes it', () => {
    const selected = selectSecrets(secrets, { include: ['*'], exclude: [], stripPrefix: 'Prod_' })
    expect(selected).toEqual([
      { source: 'PROD_DB', name: 'DB', value: 'v' },
      { source: 'prod_cache', name: 'cache', value: 'v' }
    ])
  })

  it('knows an input that holds only github_token', () => {
    expect(onlyAlwaysExcluded(['github_token'])).toBe(true)
    expect(onlyAlwaysExcluded([])).toBe(true)
    expect(onlyAlwaysExcluded(['github_token', 'A'])).toBe(false)
  })
})

describe('normalizeSecrets', () => {
  const one = (source: string, value = 'v', name = source) => ({ source, name, value })

  it('lower-cases names into keys', () => {
    expect(normalizeKey('DATABASE_URL')).toBe('database_url')
    expect(normalizeSecrets([one('DATABASE_URL', 'x')], { tier: 'Standard' })).toEqual([
      { source: 'DATABASE_URL', key: 'database_url', value: 'x' }
    ])
  })

  it('reports every problem at once, naming secrets and never values', () => {
    const problem = problemOf(() =>
      normalizeSecrets(
        [
          one('DB-URL'),
          one('A.B'),
          one('HAS SPACE'),
          one('CAFÉ'),
          one('EMPTY', ''),
          one('BLANK', ' \n\t'),
          one('DATABASE_URL'),
          one('database_url'),
          one('PROD_', 'v', '')
        ],
        { tier: 'Standard' }
      )
    )
    const message = problem.message
    expect(message).toContain('"DB-URL" contains a hyphen')
    expect(message).toContain('"A.B" may contain only ASCII letters, digits and "_"')
    expect(message).toContain('"HAS SPACE" may contain only')
    expect(message).toContain('"CAFÉ" may contain only')
    expect(message).toContain('"EMPTY" has an empty value')
    expect(message).toContain('"BLANK" has an empty value')
    expect(message).toContain('"DATABASE_URL" and "database_url" both become the key "database_url"')
    expect(message).toContain('"PROD_" is nothing once strip-prefix is removed')
  })

  it('counts sizes in bytes of UTF-8 against the tier', () => {
    const euro = '€'.repeat(1366) // 4,098 bytes, 1,366 characters
    expect(Buffer.byteLength(euro)).toBe(4098)
    expect(problemOf(() => normalizeSecrets([one('BIG', euro)], { tier: 'Standard' })).message).toMatch(
      /"BIG" is 4098 bytes, more than the Standard tier's 4096; set tier: Advanced or Intelligent-Tiering/
    )
    expect(normalizeSecrets([one('BIG', euro)], { tier: 'Advanced' })).toHaveLength(1)
    expect(normalizeSecrets([one('BIG', euro)], { tier: 'Intelligent-Tiering' })).toHaveLength(1)
    expect(normalizeSecrets([one('EXACT', 'x'.repeat(4096))], { tier: 'Standard' })).toHaveLength(1)
  })

  it('refuses values no tier can hold', () => {
    expect(tierLimit('Advanced')).toBe(8192)
    expect(problemOf(() => normalizeSecrets([one('HUGE', 'x'.repeat(8193))], { tier: 'Advanced' })).message).toMatch(
      /more than any SSM tier stores/
    )
  })

  it('refuses parameter names deeper than 15 levels or too long', () => {
    const fourteen = '/a/b/c/d/e/f/g/h/i/j/k/l/m/n'
    expect(normalizeSecrets([one('KEY')], { tier: 'Standard', path: fourteen })).toHaveLength(1)
    expect(
      problemOf(() => normalizeSecrets([one('KEY')], { tier: 'Standard', path: `${fourteen}/o` })).message
    ).toMatch(/16 levels deep; SSM allows 15/)
    expect(
      problemOf(() => normalizeSecrets([one('K'.repeat(1000))], { tier: 'Standard', path: '/zerotouch/prod/svc' }))
        .message
    ).toMatch(/characters/)
  })
})

describe('selectSecrets with odd names', () => {
  it('treats "/" in a name as an ordinary character, so that the name check sees it', () => {
    const selected = selectSecrets([{ name: 'A/B', value: 'v' }], { include: ['*'], exclude: [], stripPrefix: '' })
    expect(selected.map(({ source }) => source)).toEqual(['A/B'])
    expect(problemOf(() => normalizeSecrets(selected, { tier: 'Standard' })).message).toMatch(
      /"A\/B" may contain only ASCII letters/
    )
    expect(
      selectSecrets([{ name: 'A/B', value: 'v' }], { include: ['a/*'], exclude: [], stripPrefix: '' })
    ).toHaveLength(1)
  })
})
