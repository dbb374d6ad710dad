import * as core from '@actions/core'
import { hostname } from 'node:os'
import { checkDefinitions, renderDefinitions, type DefinitionsReport, type RenderedDefinitions } from './definitions/phase.js'
import { ActionError } from './errors.js'
import type { Writer } from './history/provenance.js'
import type { RestorePoint } from './history/select.js'
import { loadConfig, type Config } from './inputs/config.js'
import type { ClusterApi, ClusterSettings } from './k8s/api.js'
import type { KubeApiOptions } from './k8s/client.js'
import { inNamespace, refOf, type ObjectRef } from './k8s/types.js'
import type { ClusterCheck } from './preflight/preflight.js'
import { pushSecrets, type PushReport } from './push/push.js'
import { definitionsLogLines, definitionsSummaryRows } from './report/definitions-report.js'
import { gateLogLines, gateSummaryRows } from './report/gate-report.js'
import { rolloutFailure, rolloutLogLines, rolloutOutputs, rolloutSummaryRows, rolloutWarnings } from './report/rollout-report.js'
import type { RolloutReport, WorkloadSnapshot } from './rollout/rollout.js'
import { pushFailure, pushLogLines, pushOutputs, pushSummaryRows } from './report/push-report.js'
import { restoreHeadline, restoreLogLines, restoreSummaryRows } from './report/restore-report.js'
import type { RestorePlan } from './restore/restore.js'
import { syncFailure, syncLogLines, syncOutputs, syncSummaryRows } from './report/sync-report.js'
import { createRedactor, maskedParts, type Redactor } from './secrets/redact.js'
import { createAwsStore, type AwsStoreOptions } from './ssm/aws-store.js'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './ssm/retry.js'
import type { ParameterStore } from './ssm/store.js'
import type { SyncReport } from './sync/sync.js'
import { systemClock, type Clock } from './time.js'

/** What the run talks to; tests hand in in-memory stores and clusters, or ones pointed at local servers. */
export interface Dependencies {
  readonly createStore: (options: AwsStoreOptions) => ParameterStore
  readonly env: Readonly<Record<string, string | undefined>>
  /** The Kubernetes API; @kubernetes/client-node by default. */
  readonly createKube?: (options: KubeApiOptions) => ClusterApi
  /** The clock of every wait of the run (SSM retries and pacing, the sync phase); the system's by default. */
  readonly clock?: Clock
}

const defaults: Dependencies = { createStore: createAwsStore, env: process.env }

interface Run {
  readonly config: Config
  readonly deps: Dependencies
  readonly redact: Redactor
  readonly store?: ParameterStore
  readonly retry: RetryPolicy
  /** Registers a value with the run's masking and redaction. */
  readonly mask: (value: string) => void
  /** Every output, set when the run ends: what the phases reported, else nothing done. */
  readonly outputs: Map<string, string>
}

/** The cluster the run talks to, through its one connection. */
interface Connection {
  readonly kube: ClusterApi
  readonly settings: ClusterSettings
}

/** The cluster as the pre-flight found it, for the phases after the push. */
type Cluster = Connection & ClusterCheck

/** The outputs of a run that wrote and annotated nothing. */
function noOutputs(): Map<string, string> {
  return new Map(Object.entries({ ...pushOutputs({ dryRun: false, outcomes: [], notOwned: [] }), ...syncOutputs({ outcomes: [] }), ...rolloutOutputs({ outcomes: [] }) }))
}

/**
 * The action: inputs -> connect and check the cluster -> check definitions -> push -> verify
 * references -> annotate -> wait -> report. Nothing is written until every check that can be made
 * before writing has passed. Any error fails the step with its message redacted; the job summary
 * shows what was done up to then, and every output is set on every path.
 */
export async function run(overrides: Partial<Dependencies> = {}): Promise<void> {
  const deps = { ...defaults, ...overrides }
  const secrets = secretValues()
  const { redact } = secrets
  const outputs = noOutputs()
  try {
    const mask = (value: string): void => secrets.add(maskSecret(value))
    const config = loadConfig(core.getInput, deps.env, mask, process.cwd())
    const connection = config.cluster ? await connect(config.cluster, deps, secrets.add) : undefined
    const store = config.aws ? deps.createStore(config.aws) : undefined
    const context: Run = { config, deps, redact, store, retry: retryPolicy(deps.clock), mask, outputs }
    const rendered = config.definitions ? await renderDefinitions(config.definitions) : undefined
    const cluster = connection ? await preflightPhase(context, connection, rendered) : undefined
    if (rendered) await definitionsPhase(context, rendered)
    const restore = config.restore ? await restorePhase(context, config.restore) : undefined
    const push = await pushPhase(context, restore)
    const pushFailed = push && pushFailure(push)
    if (pushFailed) throw new ActionError('ZT130', `${pushFailed}\nThe sync phase did not run: the cluster would read incomplete values.`)
    if (cluster && rendered) await gatePhase(context, cluster, rendered)
    const workloads = cluster ? await snapshotPhase(context, cluster) : undefined
    const written = writtenNames(push)
    const sync = cluster ? await syncPhase(context, cluster, written) : skipSync()
    const syncFailed = sync && syncFailure(sync)
    if (syncFailed) throw new ActionError('ZT150', `${syncFailed}\nNo workload was restarted.`)
    const rollout = cluster && workloads && sync ? await rolloutPhase(context, cluster, workloads, sync, written) : undefined
    const rolloutFailed = rollout && rolloutFailure(rollout)
    if (rolloutFailed) throw new ActionError('ZT160', rolloutFailed)
  } catch (error) {
    const failure = error instanceof ActionError ? error : new ActionError('ZT199', `Unexpected error: ${error instanceof Error ? error.message : String(error)}`)
    core.setFailed(redact(failure.message))
  } finally {
    setAllOutputs(outputs, redact)
    if (deps.env.GITHUB_STEP_SUMMARY) await core.summary.write().catch((error: Error) => core.warning(`The job summary could not be written: ${redact(error.message)}`))
  }
}

/** The values to keep out of every message: the secrets, then the cluster's credentials. */
function secretValues(): { add: (value: string) => void; redact: Redactor } {
  const values: string[] = []
  let redactor: Redactor | undefined
  return {
    add: (value) => {
      values.push(value)
      redactor = undefined
    },
    redact: (text) => (redactor ??= createRedactor(values))(text)
  }
}

/** SSM retries and pacing on the run's clock. */
function retryPolicy(clock: Clock | undefined): RetryPolicy {
  return clock ? { ...DEFAULT_RETRY_POLICY, now: () => clock.now(), sleep: (ms) => clock.sleep(ms) } : DEFAULT_RETRY_POLICY
}

/** Every output, once; an output file that cannot be written fails the step rather than crashing it. */
function setAllOutputs(outputs: ReadonlyMap<string, string>, redact: Redactor): void {
  try {
    for (const [name, value] of outputs) core.setOutput(name, value)
  } catch (error) {
    core.setFailed(redact(`The step's outputs could not be set: ${error instanceof Error ? error.message : String(error)}`))
  }
}

/** The one connection to the cluster; the Kubernetes client is loaded only here, so the push-only path never pays for it. */
async function connect(settings: ClusterSettings, deps: Dependencies, credential: (value: string) => void): Promise<Connection> {
  const { connectCluster } = await import('./k8s/connect.js')
  return { kube: connectCluster(settings, { mask: (value) => core.setSecret(value), credential, env: deps.env, createKube: deps.createKube }), settings }
}

/** Before the definitions' SSM reads and any write: everything about the cluster that can be known. */
async function preflightPhase({ config, redact }: Run, connection: Connection, rendered: RenderedDefinitions | undefined): Promise<Cluster> {
  const { checkCluster } = await import('./preflight/preflight.js')
  const { kube, settings } = connection
  const expected: ObjectRef[] = (rendered?.overlay ?? []).map(({ externalSecret }) => refOf(inNamespace(externalSecret, settings.namespaces[0])))
  const check = await checkCluster({ ...config, cluster: settings }, expected, { kube, redact, log: (line) => core.info(line) })
  return { ...connection, ...check }
}

/** Registers a value with the runner's log masking, by the same rule as the redactor (see maskedParts). */
function maskSecret(value: string): string {
  maskedParts(value).forEach((part) => core.setSecret(part))
  return value
}

async function definitionsPhase({ config, redact, store, retry }: Run, rendered: RenderedDefinitions): Promise<DefinitionsReport> {
  const report = await checkDefinitions(config, rendered, { store, redact, retry })
  definitionsLogLines(report).forEach((line) => core.info(line))
  report.warnings.forEach((warning) => core.warning(warning))
  addSummaryTable(`Secret definitions (${rendered.settings.overlay})`, definitionsSummaryRows(report))
  return report
}

/** The versions a restore writes back, read from the parameters' history before anything is written. */
async function restorePhase({ config, deps, redact, store, retry, mask }: Run, point: RestorePoint): Promise<RestorePlan> {
  const { planRestore } = await import('./restore/restore.js')
  if (!store) throw new ActionError('ZT199', 'Internal error: a restore without an SSM client; please report this')
  const now = () => (deps.clock ?? systemClock).now()
  return planRestore({ ...config, restore: point }, { store, redact, retry, mask, now })
}

/** Writes the secrets given, or the versions a restore brings back, with the same diff, pacing, ownership and prune. */
async function pushPhase({ config, deps, redact, store, retry, outputs }: Run, restore: RestorePlan | undefined): Promise<PushReport | undefined> {
  const { target, dryRun } = config
  const secrets = restore?.secrets ?? config.secrets
  if (!store || (!secrets.length && !restore)) {
    core.info('No secrets given: the push phase is skipped.')
    return undefined
  }
  core.info(restore ? restoreHeadline(restore, target.path, dryRun) : `${dryRun ? 'Planning' : 'Pushing'} ${secrets.length} secrets to ${target.path}/`)
  const report = await pushSecrets({ ...config, secrets }, { store, redact, retry, writer: () => writerOf(deps.env) })
  const lines = [...(restore ? restoreLogLines(restore, config.write.prune) : []), ...pushLogLines(report)]
  lines.forEach((line) => core.info(line))
  setOutputs(outputs, pushOutputs(report))
  if (restore) addSummaryTable(`Secrets restored under ${target.path}${dryRun ? ' (dry run)' : ''}`, restoreSummaryRows(restore, report, config.write.prune), lines.at(-1))
  else addSummaryTable(dryRun ? `Secrets plan for ${target.path} (dry run)` : `Secrets pushed to ${target.path}`, pushSummaryRows(report), lines.at(-1))
  return report
}

/**
 * Who writes, for each new version's description: the workflow run, from @actions/github's context
 * (loaded only when something is written), or, outside a workflow run, this host.
 */
async function writerOf(env: Dependencies['env']): Promise<Writer> {
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return { kind: 'local', host: hostname() }
  const { context } = await import('@actions/github')
  // The runner sets all of these; a hand-made environment (local-action's .env) may not.
  const { serverUrl, sha = '', workflow = '', runId, runAttempt } = context
  return { kind: 'workflow', run: { serverUrl, ...context.repo, sha: sha || 'unknown', workflow, runId, runAttempt: Number.isFinite(runAttempt) ? runAttempt : 1 } }
}

/** The parameters the push wrote, or would write in a dry run. */
function writtenNames(push: PushReport | undefined): Set<string> {
  return new Set((push?.outcomes ?? []).filter(({ result }) => result === 'created' || result === 'updated').map(({ name }) => name))
}

function skipSync(): undefined {
  core.info('No namespace given: the sync phase is skipped.')
  return undefined
}

/** After the push, before annotating: the cluster must run the definitions that were checked (the GitOps race). */
async function gatePhase({ config, deps, redact }: Run, cluster: Cluster, rendered: RenderedDefinitions): Promise<void> {
  const { waitForDefinitions } = await import('./gate/gate.js')
  const report = await waitForDefinitions(
    {
      rendered: rendered.overlay.map(({ externalSecret }) => externalSecret),
      cluster: cluster.settings,
      version: cluster.apiVersion,
      selector: config.selector,
      timeoutMs: config.sync.timeoutMs,
      // A dry run writes nothing, so there is nothing for the cluster to catch up with: it reports the differences.
      wait: rendered.settings.waitUntilApplied && !config.dryRun
    },
    { kube: cluster.kube, clock: deps.clock ?? systemClock, log: (line) => core.info(line), redact }
  )
  const lines = gateLogLines(report)
  lines.forEach((line) => core.info(line))
  report.warnings.forEach((warning) => core.warning(warning))
  addSummaryTable('Definitions in the cluster (GitOps gate)', gateSummaryRows(report), lines.at(-1))
}

/** The workloads before the annotation, so that a rollout Reloader starts afterwards can be told apart. */
async function snapshotPhase({ config, deps, redact }: Run, cluster: Cluster): Promise<WorkloadSnapshot> {
  const { snapshotWorkloads } = await import('./rollout/rollout.js')
  return snapshotWorkloads({ ...config, cluster: cluster.settings }, { kube: cluster.kube, clock: deps.clock ?? systemClock, redact })
}

/** After a fresh sync: restart the workloads that read a changed Secret and wait for their rollouts (or warn, with restart: none). */
async function rolloutPhase({ config, deps, redact, outputs }: Run, cluster: Cluster, workloads: WorkloadSnapshot, sync: SyncReport, written: ReadonlySet<string>): Promise<RolloutReport> {
  const [{ rollOut }, { changedSecrets }] = await Promise.all([import('./rollout/rollout.js'), import('./rollout/plan.js')])
  const changed = changedSecrets(sync.externalSecrets, syncedRefs(sync), written)
  const report = await rollOut({ ...config, cluster: cluster.settings }, workloads, changed, { kube: cluster.kube, clock: deps.clock ?? systemClock, redact, log: (line) => core.info(line) })
  const lines = rolloutLogLines(report)
  lines.forEach((line) => core.info(line))
  rolloutWarnings(report).forEach((warning) => core.warning(warning))
  setOutputs(outputs, rolloutOutputs(report))
  if (report.outcomes.length) addSummaryTable('Workloads reading a changed Secret', rolloutSummaryRows(report), lines.at(-1))
  return report
}

/** The ExternalSecrets the sync phase confirmed freshly synced (in a dry run: those it would annotate). */
function syncedRefs(report: SyncReport): ObjectRef[] {
  return report.outcomes.filter(({ result }) => result === 'synced' || result === 'would-annotate')
}

async function syncPhase({ config, deps, redact, store, retry, outputs }: Run, cluster: Cluster, written: ReadonlySet<string>): Promise<SyncReport> {
  const { syncExternalSecrets } = await import('./sync/sync.js')
  const report = await syncExternalSecrets(
    { ...config, cluster: cluster.settings },
    { apiVersion: cluster.apiVersion, written },
    { kube: cluster.kube, store, retry, redact, log: (line) => core.info(line), clock: deps.clock }
  )
  const lines = syncLogLines(report)
  lines.forEach((line) => core.info(line))
  setOutputs(outputs, syncOutputs(report))
  addSummaryTable(`ExternalSecrets force-synced (external-secrets.io/${report.apiVersion})`, syncSummaryRows(report), lines.at(-1))
  return report
}

function setOutputs(outputs: Map<string, string>, values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) outputs.set(name, value)
}

function addSummaryTable(heading: string, [header, ...rows]: string[][], footer?: string): void {
  core.summary.addHeading(escapeHtml(heading), 3).addTable([header.map((data) => ({ data, header: true })), ...rows.map((row) => row.map(escapeHtml))])
  if (footer) core.summary.addRaw(`<p>${escapeHtml(footer)}</p>`, true)
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
