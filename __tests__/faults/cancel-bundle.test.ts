/**
 * A cancelled job, as the runner cancels it (actions/runner src/Runner.Sdk/ProcessInvoker.cs: SIGINT, 7.5 s, SIGTERM,
 * 2.5 s, then a kill): the bundled action, in the middle of a push against moto behind the recording proxy, gets the
 * signal while four writes are in flight. No write starts after it, the four finish, the outputs and the job summary
 * say what was and was not written, the step fails, and a re-run converges without a duplicate version.
 */
import { describe, expect, it } from '@jest/globals'
import { GetParametersByPathCommand, type Parameter } from '@aws-sdk/client-ssm'
import { errorOf, runBundledAction, startBundledAction } from '../../testing/action.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { until } from '../../__fixtures__/until.ts'
import { deployment, NS, paymentsCluster, SECRETS as RELEASE } from '../../__fixtures__/rollout-harness.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const PATH = '/zerotouch/prod/payments'
const KEYS = 24
/** The writes that go through before the signal, and those in flight (held by the proxy) when it comes. */
const DONE_BEFORE = 4
const IN_FLIGHT = 4

const harness = useSsmBehindProxy()

const SECRETS = Object.fromEntries(
  Array.from({ length: KEYS }, (_, i) => [
    `SECRET_${String(i).padStart(2, '0')}`,
    `value-${i}-${(i * 7919).toString(36)}`
  ])
)
const INPUTS = {
  environment: 'prod',
  service: 'payments',
  secrets: JSON.stringify(SECRETS)
}

async function stored(): Promise<Parameter[]> {
  const found: Parameter[] = []
  let NextToken: string | undefined
  do {
    const page = await harness.ssm.send(new GetParametersByPathCommand({ Path: PATH, NextToken }))
    found.push(...(page.Parameters ?? []))
    NextToken = page.NextToken
  } while (NextToken)
  return found
}

describe('a cancelled job', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'on %s starts no new write, lets the writes in flight finish, reports them, fails, and a re-run converges',
    async (signal) => {
      // The first DONE_BEFORE writes go through; the next IN_FLIGHT are held by the proxy until the action has taken
      // the signal, so that they are in flight when it comes.
      let arrived = 0
      let release: () => void = () => undefined
      const released = new Promise<void>((resolve) => (release = resolve))
      harness.proxy.hold = ({ operation }) =>
        operation === 'PutParameter' && ++arrived > DONE_BEFORE ? released : undefined
      const started = startBundledAction({ ...INPUTS, 'ssm-endpoint': harness.proxy.endpoint }, LOCAL_AWS)
      let stdout = ''
      started.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
      try {
        await until(() => arrived === DONE_BEFORE + IN_FLIGHT)
        started.child.kill(signal)
        await until(() => stdout.includes(`The run was cancelled (${signal})`))
        release()
      } finally {
        release()
        // Bounded whatever happens: the runner kills the process tree 10 s after its SIGINT.
        setTimeout(() => started.child.kill('SIGKILL'), 20_000).unref()
      }
      const cancelled = await started.finished
      expect(cancelled.exitCode).not.toBe(0)
      expect(errorOf(cancelled)).toMatch(
        new RegExp(
          `^::error::The run was cancelled \\(${signal}\\) during "Push to SSM Parameter Store": .*\\[ZT190\\]`
        )
      )
      // No write started after the signal: the proxy saw exactly the writes sent before it.
      expect(arrived).toBe(DONE_BEFORE + IN_FLIGHT)
      const written = JSON.parse(cancelled.outputs.created) as string[]
      expect(written).toHaveLength(DONE_BEFORE + IN_FLIGHT)
      expect((await stored()).map(({ Name }) => Name?.slice(PATH.length + 1)).sort()).toEqual(written)
      expect(cancelled.outputs).toMatchObject({ updated: '[]', deleted: '[]', changed: 'true', synced: '[]' })
      expect(Object.keys(JSON.parse(cancelled.outputs.versions) as object).sort()).toEqual(written)
      // The job summary has every key: those written with their version, the others "not written".
      for (const key of written)
        expect(cancelled.summary).toMatch(new RegExp(`<td>${key}</td><td>[^<]+</td><td>created</td><td>1</td>`))
      const notWritten =
        cancelled.summary.match(/not written: the run was cancelled before this write went through/g) ?? []
      expect(notWritten).toHaveLength(KEYS - written.length)
      expect(cancelled.stdout).toContain(
        `${written.length} created, 0 updated, 0 unchanged, 0 deleted, 0 failed, ${KEYS - written.length} not written (the run was cancelled).`
      )
      expect(findRunLeaks(cancelled, Object.values(SECRETS))).toEqual([])

      harness.proxy.hold = undefined
      const rerun = await runBundledAction({ ...INPUTS, 'ssm-endpoint': harness.proxy.endpoint }, LOCAL_AWS)
      expect(errorOf(rerun)).toBe('')
      expect(JSON.parse(rerun.outputs.unchanged)).toEqual(written)
      expect(JSON.parse(rerun.outputs.created)).toHaveLength(KEYS - written.length)
      const all = await stored()
      expect(all).toHaveLength(KEYS)
      expect(all.every(({ Version }) => Version === 1)).toBe(true)
    }
  )
})

describe('a job cancelled while the action waits for the sync', () => {
  const cluster = useTestCluster()

  it('stops waiting at once, restarts nothing, sets the outputs, writes the summary and fails ZT190', async () => {
    const kube = cluster.track(await paymentsCluster(harness, [deployment('payments-api', 'payments-provider')]))
    // The operator does not sync: the action waits for it, up to the 10-minute timeout.
    kube.operator.pause()
    const started = startBundledAction(
      {
        environment: 'prod',
        service: 'payments',
        'ssm-endpoint': harness.proxy.endpoint,
        secrets: JSON.stringify(RELEASE),
        namespace: NS,
        kubeconfig: kube.kubeconfig(),
        timeout: '10m',
        restart: 'changed'
      },
      LOCAL_AWS
    )
    try {
      // Both selected ExternalSecrets annotated: the action is waiting for their syncs.
      await until(
        () =>
          kube.requests.filter(({ method, path }) => method === 'PATCH' && path.includes('/externalsecrets/'))
            .length === 2
      )
      started.child.kill('SIGINT')
    } finally {
      setTimeout(() => started.child.kill('SIGKILL'), 20_000).unref()
    }
    const cancelled = await started.finished
    expect(cancelled.exitCode).not.toBe(0)
    expect(errorOf(cancelled)).toMatch(
      /^::error::The run was cancelled \(SIGINT\) during "Sync: force-sync the ExternalSecrets": .*\[ZT190\]/
    )
    expect(JSON.parse(cancelled.outputs.created)).toEqual(['database_url', 'stripe_api_key', 'webhook_secret'])
    expect(cancelled.outputs).toMatchObject({ synced: '[]', restarted: '[]' })
    expect(cancelled.summary).toContain('<h3>Secrets pushed to /zerotouch/prod/payments</h3>')
    // Each ExternalSecret still waiting is reported as not awaited, not as timed out.
    expect(cancelled.summary.match(/not awaited: the run was cancelled/g)).toHaveLength(2)
    expect(cancelled.summary).not.toContain('timed out')
    expect(kube.requests.filter(({ method, path }) => method === 'PATCH' && path.includes('/apis/apps/'))).toEqual([])
    expect(findRunLeaks(cancelled, Object.values(RELEASE))).toEqual([])
  })
})
