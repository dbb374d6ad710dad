import { InputProblem } from '../src/errors.js'

/** The InputProblem a check throws; fails the test when it throws nothing or something else. */
export function problemOf(check: () => unknown): InputProblem {
  try {
    check()
  } catch (error) {
    if (error instanceof InputProblem) return error
    throw error
  }
  throw new Error('expected an InputProblem')
}
