/** The README's first command (`npm start`) and the local-action route, as a person runs them. */
import { afterEach, describe, expect, it } from '@jest/globals'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { secretValueHash } from '../../testing/kube/index.ts'
import { findLeaks } from '../../testing/leaks.ts'
import { startMoto } from '../../testing/moto.ts'
import { HAS_KUBECTL } from '../../__fixtures__/tools.ts'

/** The sample values of scripts/local-run.ts, and the one its second run changes: none may appear in what it prints. */
const SAMPLE_VALUES = [
  'postgres://payments:local-only-password@db.local:5432/payments',
  'redis://cache.local:6379/0',
  'sk_test_local_0000000000',
  'whsec_local_0000000000',
  'ghs_sample_token_never_pushed'
]
const CHANGED_REDIS_URL = 'redis://cache.local:6379/1'

/**
 * This process's environment without the settings that point `npm start` at your own SSM or cluster
 * (ZEROTOUCH_SSM_ENDPOINT, ZEROTOUCH_KUBECONFIG, ...): whatever the shell or CI exports, the test runs the embedded default.
 */
function embeddedEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('ZEROTOUCH_')
    )
  )
}

/** Children still running: stopped after each test, so that a failed or timed-out case leaves no process behind. */
const running = new Set<ChildProcess>()
afterEach(async () => {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve())
          // npm start stops its moto_server and API server on SIGTERM, then exits.
          child.kill('SIGTERM')
        })
    )
  )
})

/**
 * How long `npm start` may take: two runs, each well within its own `timeout` and `rollout-timeout` of 60 s (a few
 * seconds on an idle machine, tens of seconds on a busy one), so that a run that waits out a timeout still ends and
 * its output is shown.
 */
const NPM_START_BOUND_MS = 150_000

/**
 * Runs the command to its end, within `boundMs` (under the test's own bound): past it, the child is sent SIGTERM and
 * what it printed so far comes back, so that a stuck run fails on its own output, not on a bare jest timeout.
 */
function runCommand(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  boundMs = NPM_START_BOUND_MS
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...embeddedEnvironment(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    let output = ''
    const bound = setTimeout(() => {
      output += `\n[test] ${command} ${args.join(' ')} still running after ${boundMs} ms: sent SIGTERM\n`
      child.kill('SIGTERM')
    }, boundMs)
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('close', (code) => {
      clearTimeout(bound)
      running.delete(child)
      resolve({ code, output })
    })
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

if (!HAS_KUBECTL)
  console.warn(
    'kubectl is not installed: the npm start test (it renders the example tenant with kubectl kustomize) is skipped.'
  )

describe('running it locally', () => {
  ;(HAS_KUBECTL ? it : it.skip)(
    'npm start runs both releases on the embedded SSM, in a primary and a replica region, and cluster, restarts only the reader of the changed value, then leaves nothing listening',
    async () => {
      const { code, output } = await runCommand(process.execPath, ['scripts/local-run.ts'])
      const [run1, rest] = output.split(/^=== Run 2: /m)
      const [run2, afterRun2] = (rest ?? '').split(/^=== The pods in payments-api-prod after run 2: /m)
      const [pods, regions] = (afterRun2 ?? '').split(/^=== What SSM holds under \/zerotouch\/prod\/payments-api /m)
      expect(run1).toMatch(/=== Run 1: first release of payments-api to prod: exit code 0 ===/)
      expect(output).toMatch(/=== Run 2: REDIS_URL changed, everything else the same: exit code 0 ===/)
      expect(run2).toMatch(/synced +payments-api-prod\/payments-api-cache in [\d.]+ s/)

      // Every write goes to the primary, us-east-1, and to the replica region, us-west-2, each with its own section
      // in the log and its own table in the job summary.
      expect(output).toMatch(
        /^SSM: http:\/\/127\.0\.0\.1:\d+ \(embedded moto_server; regions us-east-1, the primary, and us-west-2, a replica\)$/m
      )
      for (const region of ['us-east-1 \\(primary\\)', 'us-west-2 \\(replica\\)']) {
        expect(run1).toMatch(
          new RegExp(
            `^ {2}In ${region}:\\n {2}created +/zerotouch/prod/payments-api/database_url \\(version 1\\) from DATABASE_URL\\n {2}created +/zerotouch/prod/payments-api/redis_url \\(version 1\\) from REDIS_URL\\n`,
            'm'
          )
        )
        expect(run2).toMatch(
          new RegExp(
            `^ {2}In ${region}:\\n {2}unchanged .*database_url.*\\n {2}updated +/zerotouch/prod/payments-api/redis_url \\(version 2\\) from REDIS_URL\\n`,
            'm'
          )
        )
        expect(run2).toMatch(new RegExp(`^ {4}## Secrets pushed to /zerotouch/prod/payments-api in ${region}$`, 'm'))
      }
      expect(run2).toMatch(
        /^ {4}regions += \{"us-east-1":\{"created":\[\],"updated":\["redis_url"\],.*"us-west-2":\{"created":\[\],"updated":\["redis_url"\],"unchanged":\["database_url","stripe_api_key","stripe_webhook_secret"\],"deleted":\[\]\}\}$/m
      )

      // The first release creates every Secret: both readers are restarted. The second changes REDIS_URL, which only
      // payments-worker reads (payments-api-cache): it alone is restarted, and the `restarted` output says so.
      expect(run1).toMatch(
        /^ {2}Restarted: payments-api-prod\/Deployment\/payments-api, payments-api-prod\/Deployment\/payments-worker$/m
      )
      expect(run2).toMatch(/^ {4}restarted = \["payments-api-prod\/Deployment\/payments-worker"\]$/m)
      expect(run2).toMatch(
        /restarted, rolled out +payments-api-prod\/Deployment\/payments-worker \(reads payments-api-cache\)/
      )
      expect(run2).not.toMatch(/restarted, rolled out +payments-api-prod\/Deployment\/payments-api /)
      expect(run2).toMatch(/^ {2}Restarted: payments-api-prod\/Deployment\/payments-worker$/m)

      // What the running pods started with, by hash: the worker's pods the new REDIS_URL, the API's pods untouched.
      expect(pods).toBeDefined()
      const hash = (value: string) => secretValueHash(value).slice(0, 8)
      expect(pods).toMatch(/^ {2}Deployment\/payments-api: 3 pods, not restarted by run 2$/m)
      expect(pods).toMatch(/^ {2}Deployment\/payments-worker: 2 pods, restarted by run 2$/m)
      expect(pods).toMatch(
        new RegExp(`^ {4}payments-api-cache/REDIS_URL +${hash(CHANGED_REDIS_URL)} +new +2 of 2 pods$`, 'm')
      )
      expect(pods).toMatch(
        new RegExp(`^ {4}payments-api-database/DATABASE_URL +${hash(SAMPLE_VALUES[0])} +unchanged +3 of 3 pods$`, 'm')
      )
      expect(pods).toMatch(
        new RegExp(`^ {4}payments-api-stripe/STRIPE_API_KEY +${hash(SAMPLE_VALUES[2])} +unchanged +3 of 3 pods$`, 'm')
      )
      expect(pods).not.toMatch(/ (old|other) /)
      expect(pods).not.toContain(hash(SAMPLE_VALUES[1]))

      // What SSM holds after run 2, the same in both regions: the new REDIS_URL as version 2, the rest as version 1.
      expect(regions).toBeDefined()
      const [primary, replica] = regions.split(/^ {2}us-west-2 \(replica\):$/m)
      expect(primary).toMatch(/^ {2}us-east-1 \(primary\):$/m)
      for (const held of [primary, replica]) {
        expect(held).toMatch(
          new RegExp(`^ {4}/zerotouch/prod/payments-api/redis_url +version 2 +${hash(CHANGED_REDIS_URL)}$`, 'm')
        )
        expect(held).toMatch(
          new RegExp(`^ {4}/zerotouch/prod/payments-api/database_url +version 1 +${hash(SAMPLE_VALUES[0])}$`, 'm')
        )
        expect(held.match(/^ {4}\/zerotouch\/prod\/payments-api\//gm)).toHaveLength(4)
      }

      expect(findLeaks({ 'npm start': output }, [...SAMPLE_VALUES, CHANGED_REDIS_URL])).toEqual([])
      expect(code).toBe(0)
      const ssm = /^SSM: (http:\/\/127\.0\.0\.1:\d+)/m.exec(output)![1]
      const kube = /^Kubernetes: (http:\/\/127\.0\.0\.1:\d+)/m.exec(output)![1]
      expect([await listening(ssm), await listening(kube)]).toEqual([false, false])
    },
    NPM_START_BOUND_MS + 10_000
  )

  it('runs the action entry with @github/local-action and a .env file', async () => {
    const moto = await startMoto()
    const dir = mkdtempSync(join(tmpdir(), 'local-action-'))
    const ssm = new SSMClient({
      region: 'us-east-1',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' }
    })
    try {
      const env = join(dir, '.env')
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
      const { output } = await runCommand(process.execPath, [
        'node_modules/@github/local-action/bin/local-action.js',
        'run',
        '.',
        'src/main.ts',
        env
      ])
      expect(output).toMatch(/created +\/zerotouch\/stg\/payments-api\/database_url \(version 1\)/)
      const { Parameter } = await ssm.send(
        new GetParameterCommand({ Name: '/zerotouch/stg/payments-api/database_url', WithDecryption: true })
      )
      expect(Parameter).toMatchObject({ Type: 'SecureString', Value: 'postgres://local-action' })
    } finally {
      // Whatever failed: no client socket, no moto_server, no .env with credentials left behind.
      ssm.destroy()
      await moto.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
