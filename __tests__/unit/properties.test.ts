/** Property-based tests of the pure core: whatever the input, the rules hold and no value leaks. */
import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { InputProblem, ProblemCollector } from '../../src/errors.js'
import { loadConfig } from '../../src/inputs/config.js'
import { parseDuration, parseList } from '../../src/inputs/parsers.js'
import { readSecretEntries } from '../../src/secrets/document.js'
import { normalizeSecrets } from '../../src/secrets/keys.js'
import { tierLimit } from '../../src/ssm/rules.js'
import { selectSecrets } from '../../src/secrets/select.js'

const validName = fc.stringMatching(/^[A-Za-z0-9_]{1,40}$/)
const secretValue = fc.string({ minLength: 4, maxLength: 200 }).filter((value) => value.trim().length >= 4)

function messageOf(check: () => unknown): string | undefined {
  try {
    check()
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

describe('properties', () => {
  it('a valid name becomes its lower-case key and keeps its value', () => {
    fc.assert(
      fc.property(validName, secretValue, (name, value) => {
        const [secret] = normalizeSecrets([{ source: name, name, value }], {
          tier: 'Standard',
          path: '/zerotouch/prod/svc'
        })
        return secret.key === name.toLowerCase() && secret.value === value
      })
    )
  })

  it('a name with any character outside [A-Za-z0-9_] is refused, by name', () => {
    const badName = fc
      .tuple(
        validName,
        fc.string({ minLength: 1, maxLength: 3 }).filter((s) => /[^A-Za-z0-9_]/.test(s)),
        validName
      )
      .map(([a, b, c]) => `${a}${b}${c}`)
    fc.assert(
      fc.property(badName, (name) => {
        const message = messageOf(() =>
          normalizeSecrets([{ source: name, name, value: 'value' }], { tier: 'Standard' })
        )
        return message !== undefined && message.startsWith('secrets: ') && message.includes(`"${name}"`)
      })
    )
  })

  it('sizes are judged in bytes of UTF-8 against the tier', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3000 }).filter((v) => v.trim().length > 0),
        fc.constantFrom('Standard', 'Advanced', 'Intelligent-Tiering' as const),
        (value, tier) => {
          const fits = Buffer.byteLength(value, 'utf8') <= tierLimit(tier)
          return (
            (messageOf(() => normalizeSecrets([{ source: 'A', name: 'A', value }], { tier })) === undefined) === fits
          )
        }
      )
    )
  })

  it('no error about the secrets input ever quotes a value', () => {
    // A value that is a word of the action's own messages ("valu" in "value") would be a false alarm: every value here carries a character no message has.
    const marked = secretValue.map((value) => `${value}\u00a7`)
    const document = fc.dictionary(
      fc.string({ maxLength: 12 }),
      fc.oneof(marked, fc.integer(), fc.constant(null), fc.array(marked, { maxLength: 2 })),
      { minKeys: 1, maxKeys: 5 }
    )
    fc.assert(
      fc.property(document, fc.integer({ min: 0, max: 40 }), (secrets, cut) => {
        const text = JSON.stringify(secrets)
        const values = Object.values(secrets).flatMap((value) =>
          typeof value === 'string' ? [value] : Array.isArray(value) ? value : []
        )
        for (const raw of [text, text.slice(0, Math.max(1, text.length - cut))]) {
          const get = (name: string) =>
            ({ secrets: raw, environment: 'prod', service: 'svc', 'aws-region': 'eu-west-1' })[name] ?? ''
          const message = messageOf(() => loadConfig(get, {}, () => undefined, '/work')) ?? ''
          if (values.some((value) => value.trim().length >= 4 && message.includes(value))) return false
        }
        return true
      })
    )
  })

  it('include and exclude never select github_token, and exclude always wins', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(validName, { maxLength: 8 }),
        fc.array(fc.constantFrom('*', 'A*', '*_KEY', 'github_*'), { maxLength: 3 }),
        (names, exclude) => {
          const secrets = [...names, 'github_token'].map((name) => ({ name, value: 'v' }))
          const selected = selectSecrets(secrets, { include: ['*'], exclude, stripPrefix: '' }).map(
            ({ source }) => source
          )
          const excludedEverything = exclude.includes('*')
          return !selected.includes('github_token') && (!excludedEverything || selected.length === 0)
        }
      )
    )
  })

  it('lists split and trim the same whatever the separators', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[A-Za-z_*]{1,10}$/), { maxLength: 6 }),
        fc.constantFrom(',', '\n', ', ', ' ,\n'),
        (items, separator) => {
          expect(parseList(items.join(separator))).toEqual(items)
        }
      )
    )
  })

  it('durations in seconds and minutes convert exactly; garbage is refused naming the input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        (n) =>
          parseDuration('timeout', `${n}`) === n * 1000 &&
          parseDuration('timeout', `${n}s`) === n * 1000 &&
          parseDuration('timeout', `${n}m`) === n * 60_000
      )
    )
    fc.assert(
      fc.property(
        fc.string({ maxLength: 8 }).filter((s) => !/^\s*[\d.]+\s*(ms|s|m|h|d|w|y|[a-z]*)?\s*$/i.test(s)),
        (raw) => {
          const collector = new ProblemCollector()
          collector.check(() => parseDuration('timeout', raw))
          return collector.problems.every((problem) => problem.startsWith('timeout: '))
        }
      )
    )
  })

  it('reading secrets fails only with an InputProblem naming secrets', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (raw) => {
        try {
          readSecretEntries(raw)
          return true
        } catch (error) {
          return error instanceof InputProblem && error.input === 'secrets'
        }
      })
    )
  })
})
