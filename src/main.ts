import * as core from '@actions/core'
import { definitionsPhase, forTheCluster, renderPhase } from './definitions/phase.js'
import type { RenderedDefinitions } from './definitions/definitions.js'
import { checkPhase } from './check/phase.js'
import { ActionError, runCancelled, stopIfCancelled } from './errors.js'
import { ownedReferences, type OwnedReference } from './eso/guardrails.js'
import { gatePhase } from './gate/phase.js'
import { loadConfig, type AwsSettings } from './inputs/config.js'
import { clusterApi, type ClusterApi } from './cluster.js'
import type { ClusterSettings } from './k8s/api.js'
import type { KubeApiOptions } from './k8s/client.js'
import type { Phase, PhaseContext, PhaseReport, SummaryTable } from './phase.js'
import { preflightPhase } from './preflight/phase.js'
import type { ClusterCheck } from './preflight/preflight.js'
import { pushPhase } from './push/phase.js'
import type { PushReport } from './push/push.js'
import { restorePhase } from './restore/phase.js'
import { rolloutPhase } from './rollout/phase.js'
import { createRedactor, maskedParts, droppedOutputWarnings, type NamedValue, type Redactor } from './secrets/redact.js'
import { createAwsStore, type AwsStoreOptions } from './ssm/aws-store.js'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './ssm/retry.js'
import type { ParameterStore, RegionStore } from './ssm/store.js'
import { syncPhase } from './sync/phase.js'
import { freshlySynced } from './sync/report.js'
import { cancellable, systemClock, type Clock } from './time.js'

/** What the run talks to; tests hand in in-memory stores and clusters, or ones pointed at local servers. */
export interface Dependencies {
  readonly createStore: (options: AwsStoreOptions) => ParameterStore
  readonly env: Readonly<Record<string, string | undefined>>
  /** The Kubernetes API; @kubernetes/client-node by default. */
  readonly createKube?: (options: KubeApiOptions) => ClusterApi
  /** The clock of every wait of the run (SSM retries and pacing, the sync phase); the system's by default. */
  readonly clock?: Clock
  /**
   * Aborted when the runner cancels the job (index.ts: SIGINT, then SIGTERM), its reason the signal's name. The
   * run then starts no new write, lets the writes in flight finish, reports what was and was not written, and fails.
   */
  readonly cancel?: AbortSignal
}

const defaults: Dependencies = { createStore: createAwsStore, env: process.env }

/** The outputs of a run that did nothing: each phase's before it reports. */
const IDLE_OUTPUTS = [pushPhase, syncPhase, rolloutPhase, checkPhase].map(({ idleOutputs }) => idleOutputs)

/**
 * The action: the inputs, the one connection to the cluster, then the phases in order, each in its
 * own log group: render the definitions -> pre-flight (the cluster) -> check the definitions ->
 * plan a restore -> push -> GitOps gate -> sync -> rollout; in check mode, render -> pre-flight (read
 * verbs only) -> check the drift, which reads and writes nothing. Nothing is
 * written until every check that can be made before writing has passed. A phase's failure, or any
 * error, fails the step with its message redacted; the job summary shows what was done up to then,
 * and every output is set on every path.
 */
export async function run(overrides: Partial<Dependencies> = {}): Promise<void> {
  const deps = { ...defaults, ...overrides }
  const secrets = secretValues()
  const { redact } = secrets
  const outputs = new Map(IDLE_OUTPUTS.flatMap((idle) => Object.entries(idle ?? {})))
  deps.cancel?.addEventListener('abort', () =>
    core.info(
      `The run was cancelled (${String(deps.cancel?.reason)}): no new write starts; the writes in flight finish, then the outputs and the job summary are written.`
    )
  )
  try {
    const mask = (value: string, name: string): void => secrets.add(maskSecret(value), name)
    const config = loadConfig(core.getInput, deps.env, mask, process.cwd())
    const connection = config.cluster ? await connect(config.cluster, deps, (value) => secrets.add(value)) : undefined
    const regions = config.aws && regionStores(config.aws, deps)
    const store = regions?.primary.store
    const clock = deps.cancel ? cancellable(deps.clock ?? systemClock, deps.cancel) : (deps.clock ?? systemClock)
    // SSM retries and pacing on the run's clock.
    const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, clock }
    const step = stepper({ clock, redact, log: (line) => core.info(line) }, outputs)

    const rendered = await step(renderPhase, config.definitions)
    const definitions = rendered && forTheCluster(rendered)
    const connected = connection && { config: { ...config, cluster: connection.settings }, kube: connection.kube }
    const check = await step(
      preflightPhase,
      connected && { ...connected, rendered: definitions ?? { externalSecrets: [], stores: [] } }
    )
    const cluster = connected && check && { ...connected, ...check }
    if (config.mode === 'check') {
      await step(checkPhase, {
        config,
        failOnDrift: config.failOnDrift,
        store,
        regions: regions && { primary: regions.primary.region, replicas: regions.replicas },
        retry,
        cluster: cluster && { ...cluster, namespaces: cluster.config.cluster.namespaces },
        rendered: definitions?.externalSecrets
      })
      return
    }
    await step(definitionsPhase, rendered && { config, rendered, store, retry, clusterStores: check?.stores })
    const restore = await step(
      restorePhase,
      config.restore && { config, point: config.restore, store: storeFor(store), retry, mask }
    )
    const push = await step(
      pushPhase,
      regions && (restore || config.secrets.length)
        ? {
            config,
            restore,
            ...regions,
            retry,
            env: deps.env,
            readers: config.write.prune ? parameterReaders(check, rendered) : []
          }
        : undefined
    )
    await step(gatePhase, cluster && definitions && { ...cluster, definitions })
    const written = writtenNames(push)
    const sync = await step(syncPhase, cluster && { ...cluster, written, store, retry })
    await step(rolloutPhase, cluster && sync && { ...cluster, ...freshlySynced(sync), written })
  } catch (error) {
    const failure =
      error instanceof ActionError
        ? error
        : new ActionError('ZT199', `Unexpected error: ${error instanceof Error ? error.message : String(error)}`)
    core.setFailed(redact(failure.message))
  } finally {
    droppedOutputWarnings(outputs, secrets.named()).forEach((warning) => core.warning(warning))
    setAllOutputs(outputs, redact)
    if (deps.env.GITHUB_STEP_SUMMARY)
      await core.summary
        .write()
        .catch((error: Error) => core.warning(`The job summary could not be written: ${redact(error.message)}`))
  }
}

type Step = <In, Out>(phase: Phase<In, Out>, input: In | undefined) => Promise<Out | undefined>

/**
 * Runs a phase with what it needs (none: the run does not need it, and it is skipped), inside its
 * log group, and shows its report: the one place a phase's lines, warnings, outputs and summary
 * table reach @actions/core. A report's failure stops the run once the report is shown. Once the run
 * is cancelled (the clock's `cancelled`), no phase starts, and the phase that was running stops the run
 * (ZT190) once its report, with what it did, is shown.
 */
function stepper(context: PhaseContext, outputs: Map<string, string>): Step {
  const { cancelled } = context.clock
  return async (phase, input) => {
    if (input === undefined) {
      if (phase.skipped) core.info(phase.skipped)
      return undefined
    }
    stopIfCancelled(cancelled, `before "${phase.name}"`)
    const { out, failure } = await core.group(phase.name, async () => {
      const out = await phase.run(input, context)
      const report = phase.report(out, input)
      show(report, outputs)
      return { out, failure: report.failure }
    })
    if (cancelled?.aborted) throw runCancelled(cancelled, `during "${phase.name}"`)
    if (failure) throw failure
    return out
  }
}

function show(
  { lines = [], notices = [], warnings = [], outputs = {}, summary }: PhaseReport,
  all: Map<string, string>
): void {
  lines.forEach((line) => core.info(line))
  notices.forEach((notice) => core.notice(notice))
  warnings.forEach((warning) => core.warning(warning))
  for (const [name, value] of Object.entries(outputs)) all.set(name, value)
  summary?.forEach(addSummaryTable)
}

/**
 * The values to keep out of every message: the secrets and the values a restore read (named: the outputs are checked
 * against them), then the cluster's credentials.
 */
function secretValues(): {
  add: (value: string, name?: string) => void
  redact: Redactor
  named: () => NamedValue[]
} {
  const values: string[] = []
  const named: NamedValue[] = []
  let redactor: Redactor | undefined
  return {
    add: (value, name) => {
      values.push(value)
      if (name !== undefined) named.push({ name, value })
      redactor = undefined
    },
    redact: (text) => (redactor ??= createRedactor(values))(text),
    named: () => named
  }
}

/** A store for aws-region, the primary, and one for each replica region, all through ssm-endpoint when it is set. */
function regionStores(
  { region, endpoint, replicaRegions }: AwsSettings,
  deps: Dependencies
): { primary: RegionStore; replicas: RegionStore[] } {
  const storeIn = (name: string): RegionStore => ({ region: name, store: deps.createStore({ region: name, endpoint }) })
  return { primary: storeIn(region), replicas: replicaRegions.map(storeIn) }
}

/** The configuration asks for SSM whenever a restore needs it; a restore without it is a bug. */
function storeFor(store: ParameterStore | undefined): ParameterStore {
  if (!store) throw new ActionError('ZT199', 'Internal error: a restore without an SSM client; please report this')
  return store
}

/** Every output, once; an output file that cannot be written fails the step rather than crashing it. */
function setAllOutputs(outputs: ReadonlyMap<string, string>, redact: Redactor): void {
  try {
    for (const [name, value] of outputs) core.setOutput(name, value)
  } catch (error) {
    core.setFailed(
      redact(`The step's outputs could not be set: ${error instanceof Error ? error.message : String(error)}`)
    )
  }
}

/**
 * The one connection to the cluster; the Kubernetes client is loaded only here, so the push-only path never pays for
 * it.
 */
async function connect(
  settings: ClusterSettings,
  deps: Dependencies,
  credential: (value: string) => void
): Promise<{ kube: ClusterApi; settings: ClusterSettings }> {
  const { connectCluster } = await import('./k8s/connect.js')
  return {
    kube: connectCluster(settings, {
      mask: (value) => core.setSecret(value),
      credential,
      env: deps.env,
      calls: clusterApi,
      createKube: deps.createKube
    }),
    settings
  }
}

/** Registers a value with the runner's log masking, by the same rule as the redactor (see maskedParts). */
function maskSecret(value: string): string {
  maskedParts(value).forEach((part) => core.setSecret(part))
  return value
}

/**
 * What the ExternalSecrets the run can see read, for the prune guard: every live one of the
 * namespaces (through the stores the pre-flight read), and the overlay's (through the stores it
 * renders, else the cluster's).
 */
function parameterReaders(
  check: ClusterCheck | undefined,
  rendered: RenderedDefinitions | undefined
): OwnedReference[] {
  const clusterStores = check?.stores ?? []
  const renderedStores = [...(rendered?.stores ?? []), ...clusterStores]
  return [
    ...(check?.externalSecrets ?? []).flatMap((es) => ownedReferences(es, clusterStores)),
    ...(rendered?.overlay ?? []).flatMap(({ externalSecret, origin }) =>
      ownedReferences(externalSecret, renderedStores, origin)
    )
  ]
}

/** The parameters the push wrote, or would write in a dry run. */
function writtenNames(push: PushReport | undefined): Set<string> {
  return new Set(
    (push?.outcomes ?? []).filter(({ result }) => result === 'created' || result === 'updated').map(({ name }) => name)
  )
}

function addSummaryTable({ heading, rows: [header, ...rows], footer }: SummaryTable): void {
  core.summary
    .addHeading(escapeHtml(heading), 3)
    .addTable([header.map((data) => ({ data, header: true })), ...rows.map((row) => row.map(escapeHtml))])
  if (footer) core.summary.addRaw(`<p>${escapeHtml(footer)}</p>`, true)
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
