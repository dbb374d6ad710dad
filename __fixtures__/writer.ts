import type { WorkflowRun, Writer } from '../src/history/provenance.js'

/** The writer of the versions a test run makes outside a workflow. */
export const localWriter = (): Promise<Writer> => Promise.resolve({ kind: 'local', host: 'test-host' })

/** A workflow run as @actions/github's context describes one. */
export const workflowRun: WorkflowRun = {
  serverUrl: 'https://github.example.com',
  owner: 'octo',
  repo: 'payments',
  sha: '0123456789abcdef0123456789abcdef01234567',
  workflow: 'Release',
  runId: 4242,
  runAttempt: 2
}
