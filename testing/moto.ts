import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** A moto server (Python moto, a real SSM wire-protocol emulator) on a free loopback port. */
export interface MotoServer {
  readonly endpoint: string
  /** Empties every service's state, so that each test starts from nothing. */
  reset(): Promise<void>
  stop(): Promise<void>
}

export const MOTO_INSTALL_HINT = 'moto_server is not installed: install it with `pip install "moto[server]"`'

export function motoAvailable(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0
}

export interface MotoOptions {
  /**
   * Enforce IAM policies, per parameter ARN, once this many requests have set up users and
   * policies (moto's INITIAL_NO_AUTH_ACTION_COUNT; see moto_iam_server.py).
   */
  readonly enforceIamAfter?: number
}

/** Starts moto on a free port (`-p 0`) and reads the port it chose from its banner. */
export async function startMoto({ enforceIamAfter }: MotoOptions = {}): Promise<MotoServer> {
  if (!motoAvailable()) throw new Error(MOTO_INSTALL_HINT)
  const args = ['-H', '127.0.0.1', '-p', '0']
  const child =
    enforceIamAfter === undefined
      ? spawn('moto_server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('python3', [fileURLToPath(new URL('moto_iam_server.py', import.meta.url)), ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: String(enforceIamAfter) }
        })
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('moto_server did not start within 30 s')), 30_000)
    child.once('exit', (code) => reject(new Error(`moto_server exited with ${code}`)))
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
    }
  })
  return {
    endpoint,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })
      if (!response.ok) throw new Error(`moto reset failed: ${response.status}`)
    },
    stop: () => stopChild(child)
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}
