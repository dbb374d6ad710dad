import * as core from '@actions/core'
import { loadInputs, type LoadedInputs } from './inputs/load.js'
import { pushSecrets, type PushReport } from './push/push.js'
import { pushFailure, pushLogLines, pushOutputs, pushSummaryRows } from './report/push-report.js'
import { createRedactor, type Redactor } from './secrets/redact.js'
import { createAwsStore, type AwsStoreOptions } from './ssm/aws-store.js'
import type { ParameterStore } from './ssm/store.js'

/** What the run talks to; tests hand in fakes or stores pointed at local servers. */
export interface Dependencies {
  readonly createStore: (options: AwsStoreOptions) => ParameterStore
  readonly env: Readonly<Record<string, string | undefined>>
}

const defaults: Dependencies = { createStore: createAwsStore, env: process.env }

/** The action: inputs -> validate -> push -> report. Any error fails the step, values redacted. */
export async function run(overrides: Partial<Dependencies> = {}): Promise<void> {
  const deps = { ...defaults, ...overrides }
  const values: string[] = []
  let redact: Redactor = createRedactor(values)
  try {
    const loaded = loadInputs(core.getInput, deps.env, (value) => values.push(maskSecret(value)))
    redact = createRedactor(values)
    const report = await pushPhase(loaded, deps, redact)
    const failure = report && pushFailure(report)
    if (failure) throw new Error(failure)
  } catch (error) {
    core.setFailed(redact(error instanceof Error ? error.message : String(error)))
  }
}

/** Registers a value with the runner's log masking, whole and line by line. */
function maskSecret(value: string): string {
  core.setSecret(value)
  for (const line of value.split(/\r?\n/)) if (line.trim() && line !== value) core.setSecret(line)
  return value
}

async function pushPhase({ inputs, path, secrets }: LoadedInputs, deps: Dependencies, redact: Redactor): Promise<PushReport | undefined> {
  if (!secrets.length) {
    core.info('No secrets given: the push phase is skipped.')
    setOutputs(pushOutputs({ dryRun: inputs.dryRun, outcomes: [], notOwned: [] }))
    return undefined
  }
  core.info(`${inputs.dryRun ? 'Planning' : 'Pushing'} ${secrets.length} secrets to ${path}/`)
  const store = deps.createStore(inputs.aws)
  const report = await pushSecrets(
    { secrets, path, tier: inputs.tier, kmsKeyId: inputs.kmsKeyId, tags: inputs.tags, prune: inputs.prune, dryRun: inputs.dryRun },
    { store, redact }
  )
  pushLogLines(report).forEach((line) => core.info(line))
  setOutputs(pushOutputs(report))
  await writeSummary(report, path, deps.env)
  return report
}

function setOutputs(outputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
}

async function writeSummary(report: PushReport, path: string, env: Dependencies['env']): Promise<void> {
  if (!env.GITHUB_STEP_SUMMARY) return
  const [header, ...rows] = pushSummaryRows(report)
  await core.summary
    .addHeading(report.dryRun ? `Secrets plan for ${path} (dry run)` : `Secrets pushed to ${path}`, 3)
    .addTable([header.map((data) => ({ data, header: true })), ...rows])
    .addRaw(pushLogLines(report).at(-1) ?? '', true)
    .write()
}
