import type { ActionRun } from './action.ts'

/**
 * Every place a secret value shows up in text the action produced: the value, each line of a
 * multi-line value, and their JSON-escaped, URL-encoded and base64 forms. The runner's own
 * `::add-mask::` commands are the one place a value must appear, and are left out.
 */
export function findLeaks(texts: Record<string, string>, values: readonly string[]): string[] {
  const leaks: string[] = []
  for (const value of values) {
    const lines = value.split(/\r?\n/).filter((line) => line.trim().length >= 3)
    const needles = new Set([...formsOf(value), ...lines.flatMap(formsOf)].filter((needle) => needle.length >= 3))
    for (const [where, text] of Object.entries(texts)) {
      const visible = text
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'))
        .join('\n')
      for (const needle of needles)
        if (visible.includes(needle))
          leaks.push(`${where} shows a form of a secret value (${needle.length} characters)`)
    }
  }
  return leaks
}

/** Every place a secret value shows up in what a run of the bundle printed, set as outputs or wrote to the job summary. */
export function findRunLeaks(
  run: Pick<ActionRun, 'stdout' | 'stderr' | 'outputs' | 'summary'>,
  values: readonly string[]
): string[] {
  return findLeaks(
    { stdout: run.stdout, stderr: run.stderr, outputs: JSON.stringify(run.outputs), summary: run.summary },
    values
  )
}

/** Kept apart from the action's own redactor on purpose: the scanner checks it, not the reverse. */
function formsOf(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8')
  return [
    text,
    JSON.stringify(text).slice(1, -1),
    encodeURIComponent(text),
    escape(text),
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex')
  ]
}
