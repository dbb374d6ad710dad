/** Replaces every secret value, every line of one, and their encoded forms with `***`. */
export type Redactor = (text: string) => string

const MASK = '***'
/**
 * Parts shorter than this are not masked, by the runner's log masking nor by the redactor: a one-
 * or two-character part keeps nothing secret (a few thousand guesses find it), and masking it would
 * blank that letter or pair out of every later line, log and message alike.
 */
const MIN_LENGTH = 3
/** AWS validation errors echo the submitted value: "Value '...' at 'value' failed to satisfy constraint". */
const AWS_VALUE_ECHO = /Value '[\s\S]*?' at 'value'/g

/** The parts of a value to mask: the value whole and each of its lines, of at least MIN_LENGTH characters. */
export function maskedParts(value: string): string[] {
  const parts = new Set([value, ...value.split(/\r?\n/)])
  return [...parts].filter((part) => part.trim().length >= MIN_LENGTH)
}

export function createRedactor(values: Iterable<string>): Redactor {
  const needles = new Set<string>()
  for (const value of values) {
    for (const part of maskedParts(value)) for (const form of encodedForms(part)) needles.add(form)
  }
  // Longest first, so that a value is masked whole before a line of it is.
  const ordered = [...needles].sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text.replace(AWS_VALUE_ECHO, `Value '${MASK}' at 'value'`)
    for (const needle of ordered) out = out.split(needle).join(MASK)
    return out
  }
}

/** The forms a value can take on its way into a message: raw, JSON-escaped, URL-encoded, base64. */
export function encodedForms(value: string): string[] {
  const jsonEscaped = JSON.stringify(value).slice(1, -1)
  return [
    value,
    jsonEscaped,
    encodeURIComponent(value),
    Buffer.from(value, 'utf8').toString('base64'),
    Buffer.from(value, 'utf8').toString('base64url')
  ]
}
