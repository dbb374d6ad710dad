/**
 * A mock of the @actions/core functions the action uses, as actions/typescript-action's
 * __fixtures__/core.ts: `jest.unstable_mockModule('@actions/core', () => core)`, then import the
 * main. Every function is a jest.fn; the helpers below set the inputs and read back what the run
 * did (outputs, failure, masked values, log lines, job summary). Call `reset()` before each test.
 */
import type * as actual from '@actions/core'
import { jest } from '@jest/globals'

type Cell =
  string | { readonly data: string; readonly header?: boolean; readonly colspan?: string; readonly rowspan?: string }

/** The summary builder's chainable methods, rendering HTML as @actions/core's Summary does. */
export interface MockSummary {
  readonly addHeading: jest.Mock<(text: string, level?: number | string) => MockSummary>
  readonly addTable: jest.Mock<(rows: Cell[][]) => MockSummary>
  readonly addRaw: jest.Mock<(text: string, addEOL?: boolean) => MockSummary>
  readonly addEOL: jest.Mock<() => MockSummary>
  /** Appends the buffer to `summaryWrites()` and empties it, as the real one writes it to the file. */
  readonly write: jest.Mock<(options?: { overwrite?: boolean }) => Promise<MockSummary>>
  readonly emptyBuffer: jest.Mock<() => MockSummary>
  readonly stringify: jest.Mock<() => string>
  readonly isEmptyBuffer: jest.Mock<() => boolean>
}

let inputs: Readonly<Record<string, string>> = {}
let buffer = ''
let written: string[] = []
let opened: string[] = []

/** Every mock with its default behaviour, so that `reset()` can put each back after a test overrides it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any mock, whatever its signature
type AnyFunction = (...args: any[]) => any
type AnyMock = jest.Mock<AnyFunction>
const defaults = new Map<AnyMock, AnyFunction>()
function mock<F extends AnyFunction>(implementation: F): jest.Mock<F> {
  const fn = jest.fn<F>(implementation)
  defaults.set(fn, implementation)
  return fn
}

// ---- the @actions/core functions ----

/** As the real one: the input trimmed (unless `trimWhitespace: false`), '' when not set, and `required` enforced. */
export const getInput = mock<typeof actual.getInput>((name, options) => {
  const value = inputs[name] ?? ''
  if (options?.required && !value) throw new Error(`Input required and not supplied: ${name}`)
  return options?.trimWhitespace === false ? value : value.trim()
})
export const setOutput = mock<typeof actual.setOutput>(() => undefined)
export const setFailed = mock<typeof actual.setFailed>(() => undefined)
export const setSecret = mock<typeof actual.setSecret>(() => undefined)
export const info = mock<typeof actual.info>(() => undefined)
export const warning = mock<typeof actual.warning>(() => undefined)
export const error = mock<typeof actual.error>(() => undefined)
export const notice = mock<typeof actual.notice>(() => undefined)
export const debug = mock<typeof actual.debug>(() => undefined)
/** As the real one: runs `fn` between the group's start and end lines (recorded in `groups()`). */
export const group = mock(async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  opened.push(name)
  try {
    return await fn()
  } finally {
    opened.push(`end ${name}`)
  }
})

const wrap = (tag: string, content: string, attributes: Record<string, string | undefined> = {}): string => {
  const attrs = Object.entries(attributes)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${value}"`)
    .join('')
  return `<${tag}${attrs}>${content}</${tag}>`
}

export const summary: MockSummary = {
  addRaw: mock((text: string, addEOL = false) => {
    buffer += addEOL ? `${text}\n` : text
    return summary
  }),
  addEOL: mock(() => {
    buffer += '\n'
    return summary
  }),
  addHeading: mock((text: string, level: number | string = 1) => {
    const tag = ['1', '2', '3', '4', '5', '6'].includes(String(level)) ? `h${level}` : 'h1'
    return summary.addRaw(wrap(tag, text), true)
  }),
  addTable: mock((rows: Cell[][]) => {
    const body = rows
      .map((row) =>
        wrap(
          'tr',
          row
            .map((cell) =>
              typeof cell === 'string'
                ? wrap('td', cell)
                : wrap(cell.header ? 'th' : 'td', cell.data, { colspan: cell.colspan, rowspan: cell.rowspan })
            )
            .join('')
        )
      )
      .join('')
    return summary.addRaw(wrap('table', body), true)
  }),
  write: mock(() => {
    written.push(buffer)
    buffer = ''
    return Promise.resolve(summary)
  }),
  emptyBuffer: mock(() => {
    buffer = ''
    return summary
  }),
  stringify: mock(() => buffer),
  isEmptyBuffer: mock(() => buffer.length === 0)
}

// ---- set-up and read-back for tests ----

/** Clears every call and the summary, puts back each default behaviour, and sets the inputs. */
export function reset(given: Readonly<Record<string, string>> = {}): void {
  for (const [fn, implementation] of defaults) {
    fn.mockReset()
    fn.mockImplementation(implementation)
  }
  inputs = { ...given }
  buffer = ''
  written = []
  opened = []
}

/** Replaces the inputs (`getInput` answers '' for any other name). */
export function setInputs(given: Readonly<Record<string, string>>): void {
  inputs = { ...given }
}

/** Each output's last value. */
export function outputs(): Record<string, string> {
  return Object.fromEntries(setOutput.mock.calls.map(([name, value]) => [name, String(value)]))
}

/** How many times each output was set. */
export function outputCounts(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const [name] of setOutput.mock.calls) counts[name] = (counts[name] ?? 0) + 1
  return counts
}

/** The messages the step failed with (one, on a failing run). */
export function failures(): string[] {
  return setFailed.mock.calls.map(([message]) => String(message))
}

/** The values registered with the runner's log masking, in order. */
export function secrets(): string[] {
  return setSecret.mock.calls.map(([value]) => String(value))
}

export function infoLines(): string[] {
  return info.mock.calls.map(([line]) => line)
}

export function warnings(): string[] {
  return warning.mock.calls.map(([message]) => String(message))
}

/** Each log group's start (its name) and end (`end <name>`), in order. */
export function groups(): string[] {
  return [...opened]
}

/** What each `summary.write()` wrote, in order. */
export function summaryWrites(): string[] {
  return [...written]
}

/** The summary built so far and not yet written. */
export function summaryBuffer(): string {
  return buffer
}

/** Every call to a mocked function, in the order they were made, as [name, ...args]. */
export function callOrder(): Array<[string, ...unknown[]]> {
  const named: Array<[string, AnyMock]> = [
    ...Object.entries<AnyMock>({
      getInput,
      setOutput,
      setFailed,
      setSecret,
      info,
      warning,
      error,
      notice,
      debug,
      group
    }),
    ...Object.entries<AnyMock>({ ...summary }).map(([name, fn]): [string, AnyMock] => [`summary.${name}`, fn])
  ]
  return named
    .flatMap(([name, fn]) =>
      fn.mock.calls.map((args: readonly unknown[], index) => ({
        order: fn.mock.invocationCallOrder[index],
        call: [name, ...args] as [string, ...unknown[]]
      }))
    )
    .sort((a, b) => a.order - b.order)
    .map(({ call }) => call)
}

/** Everything a reader of the step could see: log lines, annotations, failure, outputs and summary. */
export function visibleText(): Record<string, string> {
  return {
    info: infoLines().join('\n'),
    warnings: warnings().join('\n'),
    errors: [...error.mock.calls, ...notice.mock.calls, ...debug.mock.calls]
      .map(([message]) => String(message))
      .join('\n'),
    failure: failures().join('\n'),
    outputs: JSON.stringify(outputs()),
    summary: [...written, buffer].join('\n')
  }
}
