import { ActionError, InputProblem } from '../src/errors.js'

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

/** The ActionError a promise rejects with; fails the test when it resolves or rejects otherwise. */
export async function actionErrorOf(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('expected an ActionError')
}
