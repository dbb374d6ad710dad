import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { createRedactor, encodedForms } from '../../src/secrets/redact.js'

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

  it('leaves text without secrets alone and skips one- and two-character values and lines', () => {
    const redact = createRedactor(['ab\nlong-enough', 'n'])
    expect(redact('tab and cab, nothing')).toBe('tab and cab, nothing')
    expect(redact('x long-enough y')).toBe('x *** y')
  })

  it('never lets a value through, whatever it is (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 3 }).filter((value) => value.trim().length >= 3 && !value.includes('*')),
        fc.string(),
        fc.string(),
        (value, before, after) => {
          return !createRedactor([value])(`${before}${value}${after}`).includes(value)
        }
      )
    )
  })
})
