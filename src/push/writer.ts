import { hostname } from 'node:os'
import type { Writer } from '../history/provenance.js'

/**
 * Who writes, for each new version's description: the workflow run, from @actions/github's context
 * (loaded only when something is written), or, outside a workflow run, this host.
 */
export async function writerOf(env: Readonly<Record<string, string | undefined>>): Promise<Writer> {
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return { kind: 'local', host: hostname() }
  const { context } = await import('@actions/github')
  // The runner sets all of these; a hand-made environment (local-action's .env) may not.
  const { serverUrl, sha = '', workflow = '', runId, runAttempt } = context
  return {
    kind: 'workflow',
    run: {
      serverUrl,
      ...context.repo,
      sha: sha || 'unknown',
      workflow,
      runId,
      runAttempt: Number.isFinite(runAttempt) ? runAttempt : 1
    }
  }
}
