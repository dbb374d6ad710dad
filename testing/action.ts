import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** What one run of the action left behind, as a GitHub runner would see it. */
export interface ActionRun {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  readonly outputs: Record<string, string>
  readonly summary: string
}

/** The environment the runner gives an action: INPUT_<NAME> (upper case, hyphens kept) and the command files. */
export function runnerEnvironment(inputs: Record<string, string>, dir: string): Record<string, string> {
  const env: Record<string, string> = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env')
  }
  for (const file of Object.values(env)) writeFileSync(file, '')
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  return env
}

/** Reads the `name<<DELIMITER ... DELIMITER` blocks that @actions/core writes to GITHUB_OUTPUT. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const pattern = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm
  for (const match of text.matchAll(pattern)) outputs[match[1]] = match[3]
  return outputs
}

/** The run's `::error::` line, its encoded line breaks read back; '' when the run reported no failure. */
export function errorOf(result: Pick<ActionRun, 'stdout'>): string {
  return (result.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? '').replace(/%0A/g, '\n')
}

/** Runs the bundled `dist/index.js` with plain node, exactly as the runner does. */
export function runBundledAction(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  return startBundledAction(inputs, env).finished
}

/** Starts the bundle and hands back its process, for tests that stop it midway. */
export function startBundledAction(
  inputs: Record<string, string>,
  env: Record<string, string> = {}
): { child: ChildProcess; finished: Promise<ActionRun> } {
  const dir = mkdtempSync(join(tmpdir(), 'zerotouch-run-'))
  const child = spawn(process.execPath, ['dist/index.js'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, ...runnerEnvironment(inputs, dir) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const finished = new Promise<ActionRun>((resolve) =>
    child.on('close', (code, signal) => {
      const files = readCommandFiles(dir)
      rmSync(dir, { recursive: true, force: true })
      resolve({ exitCode: code ?? (signal ? -1 : 0), stdout, stderr, ...files })
    })
  )
  return { child, finished }
}

export function readCommandFiles(dir: string): Pick<ActionRun, 'outputs' | 'summary'> {
  return {
    outputs: parseOutputFile(readFileSync(join(dir, 'output'), 'utf8')),
    summary: readFileSync(join(dir, 'summary'), 'utf8')
  }
}
