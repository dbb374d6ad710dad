/** Replaces every secret value, every line of one, and their encoded forms with `***`. */
export type Redactor = (text: string) => string

const MASK = '***'
/** AWS validation errors echo the submitted value: "Value '...' at 'value' failed to satisfy constraint". */
const AWS_VALUE_ECHO = /Value '[\s\S]*?' at 'value'/g

/**
 * The parts of a value the runner masks, and the redactor with it: the value whole and each of its lines, trimmed,
 * whatever their length (a line `}` too). The runner's `add-mask` registers the value, then
 * `Split(new[] { '\r', '\n' }, RemoveEmptyEntries | TrimEntries)` of it (actions/runner
 * src/Runner.Worker/ActionCommandManager.cs, AddMaskCommandExtension; src/Runner.Worker/Worker.cs does the same for
 * the job's secrets); a blank value or line is not masked.
 */
export function maskedParts(value: string): string[] {
  const parts = new Set([value, ...value.split(/[\r\n]/).map((line) => line.trim())])
  return [...parts].filter((part) => part.trim().length > 0)
}

/** A value the run masks, and the name it is known by (a secret's, a restored parameter's): never shown itself. */
export interface NamedValue {
  readonly name: string
  readonly value: string
}

/**
 * The outputs that contain a part the runner masks of a named value, and that value's name. The runner drops a job
 * output whose value contains any masked text ("Skip output '<name>' since it may contain secret", actions/runner
 * src/Runner.Worker/JobExtension.cs), so a secret with a line such as `}` or `1` empties the job outputs that
 * hold it. Names only, sorted, one per output and value.
 */
function outputsShowingSecrets(
  outputs: ReadonlyMap<string, string>,
  values: readonly NamedValue[]
): Array<{ readonly output: string; readonly secret: string }> {
  const found = [...outputs].flatMap(([output, text]) =>
    values
      .filter(({ value }) => maskedParts(value).some((part) => text.includes(part)))
      .map(({ name }) => ({ output, secret: name }))
  )
  const unique = new Map(found.map((pair) => [`${pair.output}\u0000${pair.secret}`, pair]))
  return [...unique.values()].sort((a, b) => a.output.localeCompare(b.output) || a.secret.localeCompare(b.secret))
}

/** One warning per output the runner would drop as a job output and per secret it shows a line of: names only. */
export function droppedOutputWarnings(outputs: ReadonlyMap<string, string>, values: readonly NamedValue[]): string[] {
  return outputsShowingSecrets(outputs, values).map(
    ({ output, secret }) =>
      `The output "${output}" contains a line of the secret ${secret}: the runner masks every line of a secret, whatever its length, and drops a job output that contains one ("Skip output '${output}' since it may contain secret"). The steps of this job still read steps.<id>.outputs.${output}; to pass it on as a job output, change the secret so that none of its lines is a short, common text such as "}" (see the README, "Masking and outputs as the runner does them").`
  )
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
