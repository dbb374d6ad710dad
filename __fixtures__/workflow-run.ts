import { createHash } from 'node:crypto'

/**
 * A GitHub workflow run as the bundle tests give it to the action (the variables the runner sets, which
 * @actions/github's context reads), and the provenance description every version it writes carries.
 */
export const REPOSITORY = 'acme/payments'

/** The full commit SHA a run of the test builds from. */
export function shaOf(runId: number): string {
  return createHash('sha1').update(`commit of run ${runId}`).digest('hex')
}

/** The variables the runner sets for workflow run `runId` of REPOSITORY's "release" workflow. */
export function workflowRun(runId: number, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_SHA: shaOf(runId),
    GITHUB_WORKFLOW: 'release',
    GITHUB_RUN_ID: String(runId),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
    ...overrides
  }
}

/** The description a version written by `workflowRun(runId)` carries. */
export function provenance(runId: number): string {
  return `zerotouch-secrets: ${REPOSITORY}@${shaOf(runId)} workflow "release" run ${runId} attempt 1: https://github.com/${REPOSITORY}/actions/runs/${runId}/attempts/1`
}
