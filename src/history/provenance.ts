/**
 * The record every version the action writes carries in its `Description`: which run wrote it, so
 * that "which run wrote what the cluster holds" is answered from the SSM console. Pure.
 */

/** SSM's limit on a parameter's description. */
export const DESCRIPTION_LIMIT = 1024

/** The workflow run writing, as @actions/github's context describes it. */
export interface WorkflowRun {
  readonly serverUrl: string
  readonly owner: string
  readonly repo: string
  readonly sha: string
  readonly workflow: string
  readonly runId: number
  readonly runAttempt: number
}

/** Who wrote: a workflow run, or a run outside GitHub Actions on some host. */
export type Writer =
  { readonly kind: 'workflow'; readonly run: WorkflowRun } | { readonly kind: 'local'; readonly host: string }

/** A version written back by a restore: the version it copies and the point it was chosen for. */
export interface RestoredVersion {
  readonly version: number
  /** The restore point, in ms since the epoch. */
  readonly asOf: number
}

const TOOL = 'zerotouch-secrets'
/** The run URL ends every workflow record, so a run id is read back from a fixed place. */
const RUN_URL_AT_END = /\/actions\/runs\/(\d+)\/attempts\/\d+$/

export function runUrl({ serverUrl, owner, repo, runId, runAttempt }: WorkflowRun): string {
  return `${serverUrl.replace(/\/+$/, '')}/${owner}/${repo}/actions/runs/${runId}/attempts/${runAttempt}`
}

/**
 * The description of a version: `[restored from version N (as of T); ]zerotouch-secrets: owner/repo@sha
 * workflow "name" run ID attempt N: URL`, within SSM's 1,024 characters (a long workflow name is cut).
 */
export function describeVersion(writer: Writer, restored?: RestoredVersion): string {
  const note = restored
    ? `restored from version ${restored.version} (as of ${new Date(restored.asOf).toISOString()}); `
    : ''
  if (writer.kind === 'local') return `${note}${TOOL}: local run on ${writer.host}`.slice(0, DESCRIPTION_LIMIT)
  const { run } = writer
  const head = `${note}${TOOL}: ${run.owner}/${run.repo}@${run.sha} workflow "`
  const tail = `" run ${run.runId} attempt ${run.runAttempt}: ${runUrl(run)}`
  return `${head}${cut(run.workflow, DESCRIPTION_LIMIT - head.length - tail.length)}${tail}`
}

function cut(text: string, room: number): string {
  if (text.length <= room) return text
  return room > 0 ? `${text.slice(0, room - 1)}…` : ''
}

/** The workflow run id a description records, if the action wrote it in a workflow run. */
export function runIdOf(description: string | undefined): string | undefined {
  return description?.includes(`${TOOL}: `) ? description.match(RUN_URL_AT_END)?.[1] : undefined
}

/**
 * Whether a description is a record this action wrote (a workflow run's or a local run's, a restore's included).
 * SSM copies the previous version's description onto a version written without one, so a version written outside
 * the action (the console, the CLI) carries either another text or its predecessor's record (check mode's
 * edited-outside rule, check/findings.ts).
 */
export function carriesProvenance(description: string | undefined): boolean {
  return description?.includes(`${TOOL}: `) ?? false
}
