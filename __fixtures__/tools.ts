import { spawnSync } from 'node:child_process'

/**
 * The command-line tools some tests drive (the machine has them; a laptop may not). A test that needs one is skipped,
 * with a warning naming it, where it is missing; `.ci/run` warns before the suite when kubectl is.
 */

/** Whether `<tool> version --client` runs and succeeds. */
function runs(tool: string): boolean {
  const probe = spawnSync(tool, ['version', '--client'], { stdio: 'ignore', timeout: 30_000 })
  return probe.error === undefined && probe.status === 0
}

export const HAS_KUBECTL = runs('kubectl')
/** kustomize itself, or kubectl's built-in one (`kubectl kustomize`), which the action falls back to. */
export const HAS_KUSTOMIZE = HAS_KUBECTL || runs('kustomize')
