import { spawn } from 'node:child_process'

/** A push: the endpoint to talk to (the quota proxy) and the secrets to push. */
export interface PushJob {
  readonly ssmEndpoint: string
  readonly secrets: Readonly<Record<string, string>>
}

/** A force-sync of every ExternalSecret labelled zerotouch.io/managed=true in one namespace. */
export interface SyncJob {
  readonly ssmEndpoint: string
  readonly namespace: string
  /** Kubeconfig YAML for the test API server. */
  readonly kubeconfig: string
}

/** A release with restart: changed: push the secrets, force-sync the namespace, restart the workloads reading a changed Secret and wait for their rollouts. */
export interface ReleaseJob extends PushJob {
  readonly namespace: string
  readonly kubeconfig: string
}

/** One run of a tool; times are performance.now(), taken just before the spawn and when the process closed. */
export interface ToolRun {
  readonly exitCode: number
  readonly startedAt: number
  readonly endedAt: number
  /** stdout and stderr, to explain a failure. */
  readonly output: string
  /** The step's outputs (GITHUB_OUTPUT), for the action. */
  readonly outputs?: Readonly<Record<string, string>>
}

export interface PushTool {
  readonly id: string
  readonly label: string
  push(job: PushJob): Promise<ToolRun>
}

export interface SyncTool {
  readonly id: string
  readonly label: string
  sync(job: SyncJob): Promise<ToolRun>
}

export interface ReleaseTool {
  readonly id: string
  readonly label: string
  release(job: ReleaseJob): Promise<ToolRun>
}

/** Runs a command with only PATH, HOME and `env`, and times it from just before the spawn to its close. */
export function timedSpawn(
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>
): Promise<ToolRun> {
  const startedAt = performance.now()
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ exitCode: code ?? (signal ? -1 : 0), startedAt, endedAt: performance.now(), output })
    )
  )
}

/** The environment both baselines read: SECRET_NAMES plus one variable per secret (bench/baselines/sync-secrets-to-ssm.sh). */
export function secretsEnvironment(secrets: Readonly<Record<string, string>>): Record<string, string> {
  return { SECRET_NAMES: Object.keys(secrets).join(' '), ...secrets }
}
