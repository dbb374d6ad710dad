/** A problem with one input, reported to the user with the input's name. */
export class InputProblem extends Error {
  readonly input: string

  constructor(input: string, problem: string) {
    super(`${input}: ${problem}`)
    this.name = 'InputProblem'
    this.input = input
  }
}

/** A failure that stops the run: one headline and every problem that led to it. */
export class ActionError extends Error {
  readonly problems: readonly string[]

  constructor(headline: string, problems: readonly string[] = []) {
    super(problems.length ? `${headline}\n${problems.map((p) => `  - ${p}`).join('\n')}` : headline)
    this.name = 'ActionError'
    this.problems = problems
  }
}

/** Runs each check, collecting every InputProblem instead of stopping at the first. */
export class ProblemCollector {
  readonly problems: string[] = []

  attempt<T>(check: () => T): T | undefined {
    try {
      return check()
    } catch (error) {
      if (!(error instanceof InputProblem)) throw error
      this.problems.push(error.message)
      return undefined
    }
  }

  add(input: string, problem: string): void {
    this.problems.push(new InputProblem(input, problem).message)
  }

  throwIfAny(headline: string): void {
    if (this.problems.length) throw new ActionError(headline, this.problems)
  }
}
