import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { createRedactor, droppedOutputWarnings, encodedForms, maskedParts } from '../../src/secrets/redact.js'

describe('createRedactor', () => {
  it('masks a value, each line of a multi-line value, and their encoded forms', () => {
    const value = 'first-line\nsecond line & more'
    const redact = createRedactor([value])
    const text = [
      value,
      'second line & more',
      JSON.stringify(value),
      encodeURIComponent(value),
      Buffer.from(value).toString('base64')
    ].join(' | ')
    const out = redact(text)
    for (const form of [value, 'first-line', 'second line & more', ...encodedForms(value)])
      expect(out).not.toContain(form)
    expect(out).toContain('***')
  })

  it('scrubs the value AWS validation errors echo, even one it was not told about', () => {
    const redact = createRedactor([])
    const message =
      "1 validation error detected: Value 'hunter2 and more' at 'value' failed to satisfy constraint: Member must have length less than or equal to 4096"
    expect(redact(message)).toBe(
      "1 validation error detected: Value '***' at 'value' failed to satisfy constraint: Member must have length less than or equal to 4096"
    )
  })

  it('leaves text without secrets alone', () => {
    const redact = createRedactor(['long-enough\nsecond-line'])
    expect(redact('tab and cab, nothing')).toBe('tab and cab, nothing')
    expect(redact('x long-enough y')).toBe('x *** y')
  })

  it('never lets a value through, whatever it is (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((value) => value.trim().length > 0 && !value.includes('*')),
        fc.string(),
        fc.string(),
        (value, before, after) => {
          return !createRedactor([value])(`${before}${value}${after}`).includes(value)
        }
      )
    )
  })
})

describe('maskedParts: what the runner masks', () => {
  it('is the value whole and each line, trimmed, whatever its length, as the runner splits it; blank lines are not', () => {
    expect(maskedParts('{\n  "user": "app",\r\n  "pass": "x"\n}\n\n   \n')).toEqual([
      '{\n  "user": "app",\r\n  "pass": "x"\n}\n\n   \n',
      '{',
      '"user": "app",',
      '"pass": "x"',
      '}'
    ])
    expect(maskedParts('ab\rn')).toEqual(['ab\rn', 'ab', 'n'])
    expect(maskedParts('   ')).toEqual([])
  })

  it('has the redactor mask a one-character line too, as the runner does in the log', () => {
    expect(createRedactor(['{\n"k": "secret-value"\n}'])('{"a":1}')).toBe('***"a":1***')
  })
})

describe('droppedOutputWarnings', () => {
  const outputs = new Map([
    ['created', '["database_url","tls_key"]'],
    ['changed', 'true'],
    ['versions', '{"database_url":7,"tls_key":1}']
  ])

  it('names each output holding a part the runner masks, and the secret, never the part', () => {
    const warnings = droppedOutputWarnings(outputs, [
      { name: 'JSON_CONFIG', value: '{\n  "debug": true\n}' },
      { name: 'PORT', value: '7' },
      { name: 'DATABASE_URL', value: 'postgres://db' },
      { name: 'FLAG', value: 'true' }
    ])
    expect(warnings.map((warning) => warning.slice(0, warning.indexOf(':')))).toEqual([
      'The output "changed" contains a line of the secret FLAG',
      'The output "versions" contains a line of the secret JSON_CONFIG',
      'The output "versions" contains a line of the secret PORT'
    ])
    expect(warnings[1]).toContain(`("Skip output 'versions' since it may contain secret")`)
    for (const warning of warnings) expect(warning).not.toContain('"debug": true')
  })

  it('finds nothing when no line of any secret is in the outputs', () => {
    expect(droppedOutputWarnings(outputs, [{ name: 'API_KEY', value: 'sk_live_123\nsecond-line' }])).toEqual([])
  })
})
