import * as core from '@actions/core'
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter } from 'node:path'
import { checkDefinitions, type DefinitionsReport } from './definitions/phase.js'
import { ActionError } from './errors.js'
import { parseLabelSelector } from './inputs/label-selector.js'
import { loadInputs, type LoadedInputs } from './inputs/load.js'
import { kubeconfigProblem, kubeconfigSource } from './k8s/kubeconfig.js'
import { pushSecrets, type PushReport } from './push/push.js'
import { definitionsLogLines, definitionsSummaryRows } from './report/definitions-report.js'
import { pushFailure, pushLogLines, pushOutputs, pushSummaryRows } from './report/push-report.js'
import { syncFailure, syncLogLines, syncOutputs, syncSummaryRows } from './report/sync-report.js'
import { createRedactor, type Redactor } from './secrets/redact.js'
import { createAwsStore, type AwsStoreOptions } from './ssm/aws-store.js'
import type { ParameterStore } from './ssm/store.js'
import type { SyncReport } from './sync/sync.js'

/** What the run talks to; tests hand in fakes or stores pointed at local servers. */
export interface Dependencies {
  readonly createStore: (options: AwsStoreOptions) => ParameterStore
  readonly env: Readonly<Record<string, string | undefined>>
}

const defaults: Dependencies = { createStore: createAwsStore, env: process.env }

interface Run {
  readonly loaded: LoadedInputs
  readonly deps: Dependencies
  readonly redact: Redactor
  readonly store?: ParameterStore
}

/**
 * The action: inputs -> validate -> check definitions -> push -> verify references -> annotate
 * -> wait -> report. Any error fails the step with its message redacted; the job summary shows
 * what was done up to then.
 */
export async function run(overrides: Partial<Dependencies> = {}): Promise<void> {
  const deps = { ...defaults, ...overrides }
  const values: string[] = []
  let redact: Redactor = createRedactor(values)
  try {
    const loaded = loadInputs(core.getInput, deps.env, (value) => values.push(maskSecret(value)))
    redact = createRedactor(values)
    checkClusterAccess(loaded, deps.env)
    const context: Run = { loaded, deps, redact, store: loaded.inputs.aws.region ? deps.createStore(loaded.inputs.aws) : undefined }
    await definitionsPhase(context)
    const push = await pushPhase(context)
    const pushFailed = push && pushFailure(push)
    if (pushFailed) throw new ActionError('ZT130', `${pushFailed}\nThe sync phase did not run: the cluster would read incomplete values.`)
    const sync = await syncPhase(context, writtenNames(push))
    const syncFailed = sync && syncFailure(sync)
    if (syncFailed) throw new ActionError('ZT150', syncFailed)
  } catch (error) {
    const failure = error instanceof ActionError ? error : new ActionError('ZT199', `Unexpected error: ${error instanceof Error ? error.message : String(error)}`)
    core.setFailed(redact(failure.message))
  } finally {
    if (deps.env.GITHUB_STEP_SUMMARY) await core.summary.write().catch((error: Error) => core.warning(`The job summary could not be written: ${redact(error.message)}`))
  }
}

/**
 * A sync phase that could not even pick its kubeconfig context must fail before the push, not
 * after. It reads context names only; the sync phase masks the kubeconfig before it uses it.
 */
function checkClusterAccess({ inputs: { sync } }: LoadedInputs, env: Dependencies['env']): void {
  if (!sync.namespaces.length) return
  const source = kubeconfigSource(sync.kubeconfig, env, env.HOME ?? homedir(), existsSync, delimiter)
  const problem = kubeconfigProblem(source, (file) => readFileSync(file, 'utf8'), sync.kubeContext)
  if (problem) throw new ActionError('ZT100', 'Invalid inputs; nothing was written.', [problem.message])
}

/** Registers a value with the runner's log masking, whole and line by line. */
function maskSecret(value: string): string {
  core.setSecret(value)
  for (const line of value.split(/\r?\n/)) if (line.trim() && line !== value) core.setSecret(line)
  return value
}

async function definitionsPhase({ loaded: { inputs, path, secrets }, deps, redact, store }: Run): Promise<DefinitionsReport | undefined> {
  if (!inputs.definitions.overlay) return undefined
  const report = await checkDefinitions(
    {
      overlay: inputs.definitions.overlay,
      base: inputs.definitions.base || undefined,
      workspace: deps.env.GITHUB_WORKSPACE || process.cwd(),
      pathPrefix: inputs.pathPrefix,
      environment: inputs.environment,
      servicePath: path,
      selector: parseLabelSelector('label-selector', inputs.sync.labelSelector),
      selectorText: inputs.sync.labelSelector,
      secrets
    },
    { store, redact }
  )
  definitionsLogLines(report).forEach((line) => core.info(line))
  report.warnings.forEach((warning) => core.warning(warning))
  addSummaryTable(`Secret definitions (${inputs.definitions.overlay})`, definitionsSummaryRows(report))
  return report
}

async function pushPhase({ loaded: { inputs, path, secrets }, redact, store }: Run): Promise<PushReport | undefined> {
  if (!secrets.length || !store) {
    core.info('No secrets given: the push phase is skipped.')
    setOutputs(pushOutputs({ dryRun: inputs.dryRun, outcomes: [], notOwned: [] }))
    return undefined
  }
  core.info(`${inputs.dryRun ? 'Planning' : 'Pushing'} ${secrets.length} secrets to ${path}/`)
  const report = await pushSecrets(
    { secrets, path, tier: inputs.tier, kmsKeyId: inputs.kmsKeyId, tags: inputs.tags, prune: inputs.prune, dryRun: inputs.dryRun },
    { store, redact }
  )
  const lines = pushLogLines(report)
  lines.forEach((line) => core.info(line))
  setOutputs(pushOutputs(report))
  addSummaryTable(report.dryRun ? `Secrets plan for ${path} (dry run)` : `Secrets pushed to ${path}`, pushSummaryRows(report), lines.at(-1))
  return report
}

/** The parameters the push wrote, or would write in a dry run. */
function writtenNames(push: PushReport | undefined): string[] {
  return (push?.outcomes ?? []).filter(({ result }) => result === 'created' || result === 'updated').map(({ name }) => name)
}

async function syncPhase({ loaded: { inputs }, deps, redact, store }: Run, written: readonly string[]): Promise<SyncReport | undefined> {
  setOutputs({ synced: '[]' })
  if (!inputs.sync.namespaces.length) {
    core.info('No namespace given: the sync phase is skipped.')
    return undefined
  }
  // The Kubernetes client is loaded only here: the push-only path never pays for it.
  const { runSyncPhase } = await import('./sync/phase.js')
  const report = await runSyncPhase(
    { sync: inputs.sync, pathPrefix: inputs.pathPrefix, environment: inputs.environment, dryRun: inputs.dryRun, written },
    { mask: (value) => core.setSecret(value), redact, store, log: (line) => core.info(line), env: deps.env }
  )
  const lines = syncLogLines(report)
  lines.forEach((line) => core.info(line))
  setOutputs(syncOutputs(report))
  addSummaryTable(`ExternalSecrets force-synced (external-secrets.io/${report.apiVersion})`, syncSummaryRows(report), lines.at(-1))
  return report
}

function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
}

function addSummaryTable(heading: string, [header, ...rows]: string[][], footer?: string): void {
  core.summary.addHeading(escapeHtml(heading), 3).addTable([header.map((data) => ({ data, header: true })), ...rows.map((row) => row.map(escapeHtml))])
  if (footer) core.summary.addRaw(`<p>${escapeHtml(footer)}</p>`, true)
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
