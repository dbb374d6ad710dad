/** A problem with one input, reported to the user with the input's name. */
export class InputProblem extends Error {
  readonly input: string

  constructor(input: string, problem: string) {
    super(`${input}: ${problem}`)
    this.name = 'InputProblem'
    this.input = input
  }
}

/**
 * Every failure the action reports carries one of these stable codes; each has an entry (what it
 * means, how to fix it) in the README's Troubleshooting section, which a test keeps complete.
 */
export const ERROR_CODES = {
  ZT100: 'Invalid inputs',
  ZT110: 'The definitions cannot be rendered',
  ZT111: 'The definitions have problems',
  ZT120: 'SSM could not be read',
  ZT121: 'The push plan has problems',
  ZT122: 'The restore cannot be made',
  ZT130: 'Some parameters were not written',
  ZT140: 'The cluster cannot be reached or used',
  ZT141: 'The External Secrets CRDs are missing',
  ZT142: 'The cluster forbids a call',
  ZT143: 'No ExternalSecret matches',
  ZT144: 'The ExternalSecrets have problems',
  ZT145: 'The cluster has not applied the definitions',
  ZT150: 'Some ExternalSecrets did not freshly sync',
  ZT160: 'Some workloads did not roll out',
  ZT170: 'Check mode found drift',
  ZT190: 'The run was cancelled',
  ZT199: 'Unexpected error'
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** A failure that stops the run: its code, one headline and every problem that led to it. */
export class ActionError extends Error {
  readonly code: ErrorCode
  readonly problems: readonly string[]

  constructor(code: ErrorCode, headline: string, problems: readonly string[] = []) {
    const [first, ...rest] = headline.split('\n')
    super([`${first} [${code}]`, ...rest, ...problems.map((problem) => `  - ${problem}`)].join('\n'))
    this.name = 'ActionError'
    this.code = code
    this.problems = problems
  }
}

/**
 * The run was cancelled (the runner sends SIGINT, then SIGTERM): thrown instead of starting a call, a retry or
 * a write once the clock's `cancelled` signal has aborted; the writes in flight finish.
 */
export function runCancelled(cancelled: AbortSignal, what: string): ActionError {
  return new ActionError(
    'ZT190',
    `The run was cancelled (${String(cancelled.reason)}) ${what}: no new write was started, and the writes in flight finished. The job summary lists what was written; a re-run writes only what is still missing or different.`
  )
}

/** Throws runCancelled once the run has been cancelled. */
export function stopIfCancelled(cancelled: AbortSignal | undefined, what: string): void {
  if (cancelled?.aborted) throw runCancelled(cancelled, what)
}

/** Whether an error is the run's cancellation. */
export function isCancellation(error: unknown): error is ActionError {
  return error instanceof ActionError && error.code === 'ZT190'
}

/** The result of one input's check: its value, or a problem the collector already holds. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false }

/** Runs each check, collecting every InputProblem instead of stopping at the first. */
export class ProblemCollector {
  readonly problems: string[] = []

  check<T>(check: () => T): Checked<T> {
    try {
      return { ok: true, value: check() }
    } catch (error) {
      if (!(error instanceof InputProblem)) throw error
      this.problems.push(error.message)
      return { ok: false }
    }
  }

  add(input: string, problem: string): void {
    this.problems.push(new InputProblem(input, problem).message)
  }

  throwIfAny(): void {
    if (this.problems.length) throw invalidInputs(this.problems)
  }
}

/** The one ZT100: every problem with the inputs at once, before anything is written. */
export function invalidInputs(problems: readonly string[]): ActionError {
  return new ActionError('ZT100', 'Invalid inputs; nothing was written.', problems)
}

/** The value of a check that passed; only called once the collector holds no problem. */
export function valueOf<T>(checked: Checked<T>): T {
  if (!checked.ok)
    throw new ActionError('ZT199', 'Internal error: an input that failed its check was used; please report this')
  return checked.value
}
