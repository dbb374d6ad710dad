/** The README's first command (`npm start`) and the local-action route, as a person runs them. */
import { describe, expect, it } from '@jest/globals'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startMoto } from '../../testing/moto.ts'

function runCommand(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('close', (code) => resolve({ code, output }))
  })
}

function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error === undefined
if (!hasKubectl) console.warn('kubectl is not installed: the npm start test (it renders the example tenant with kubectl kustomize) is skipped.')

describe('running it locally', () => {
  ;(hasKubectl ? it : it.skip)('npm start runs both releases on the embedded SSM and cluster, then leaves nothing listening', async () => {
    const { code, output } = await runCommand(process.execPath, ['scripts/local-run.ts'])
    expect(output).toMatch(/=== Run 1: first release of payments-api to prod: exit code 0 ===/)
    expect(output).toMatch(/created +\/zerotouch\/prod\/payments-api\/redis_url \(version 1\) from REDIS_URL/)
    expect(output).toMatch(/=== Run 2: REDIS_URL changed, everything else the same: exit code 0 ===/)
    expect(output).toMatch(/updated +\/zerotouch\/prod\/payments-api\/redis_url \(version 2\) from REDIS_URL/)
    expect(output).toMatch(/synced +payments-api-prod\/payments-api-cache in [\d.]+ s/)
    expect(output).toMatch(/## Secrets pushed to \/zerotouch\/prod\/payments-api/)
    expect(output).not.toContain('local-only-password')
    expect(code).toBe(0)
    const ssm = /^SSM: (http:\/\/127\.0\.0\.1:\d+)/m.exec(output)![1]
    const kube = /^Kubernetes: (http:\/\/127\.0\.0\.1:\d+)/m.exec(output)![1]
    expect([await listening(ssm), await listening(kube)]).toEqual([false, false])
  })

  it('runs the action entry with @github/local-action and a .env file', async () => {
    const moto = await startMoto()
    try {
      const env = join(mkdtempSync(join(tmpdir(), 'local-action-')), '.env')
      writeFileSync(
        env,
        [
          'INPUT_SECRETS={"DATABASE_URL":"postgres://local-action"}',
          'INPUT_ENVIRONMENT=stg',
          'INPUT_SERVICE=payments-api',
          `INPUT_SSM-ENDPOINT=${moto.endpoint}`,
          'AWS_REGION=us-east-1',
          'AWS_ACCESS_KEY_ID=test',
          'AWS_SECRET_ACCESS_KEY=test',
          ''
        ].join('\n')
      )
      const { output } = await runCommand(process.execPath, ['node_modules/@github/local-action/bin/local-action.js', 'run', '.', 'src/main.ts', env])
      expect(output).toMatch(/created +\/zerotouch\/stg\/payments-api\/database_url \(version 1\)/)
      const ssm = new SSMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/zerotouch/stg/payments-api/database_url', WithDecryption: true }))
      ssm.destroy()
      expect(Parameter).toMatchObject({ Type: 'SecureString', Value: 'postgres://local-action' })
    } finally {
      await moto.stop()
    }
  })
})
