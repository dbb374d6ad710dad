/** Replaces every secret value, every line of one, and their encoded forms with `***`. */
export type Redactor = (text: string) => string

const MASK = '***'
/** Shorter values and lines would blank out whole messages, one letter at a time. */
const MIN_LENGTH = 3
/** AWS validation errors echo the submitted value: "Value '...' at 'value' failed to satisfy constraint". */
const AWS_VALUE_ECHO = /Value '[\s\S]*?' at 'value'/g

export function createRedactor(values: Iterable<string>): Redactor {
  const needles = new Set<string>()
  for (const value of values) {
    for (const part of [value, ...value.split(/\r?\n/)]) {
      if (part.trim().length >= MIN_LENGTH) for (const form of encodedForms(part)) needles.add(form)
    }
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
