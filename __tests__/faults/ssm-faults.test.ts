/**
 * Faults the push must survive, with the bundled action against moto behind a proxy that
 * throttles, fails, resets and conflicts as the real service does.
 */
import { describe, expect, it } from '@jest/globals'
import { GetParametersByPathCommand, type Parameter } from '@aws-sdk/client-ssm'
import { runBundledAction, startBundledAction, type ActionRun } from '../../testing/action.ts'
import { findLeaks } from '../../testing/leaks.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { tokenBucket } from '../../testing/ssm-proxy.ts'
import { within } from '../../__fixtures__/until.ts'

const AWS = LOCAL_AWS
const PATH = '/zerotouch/prod/payments'

const harness = useSsmBehindProxy()

function secrets(count: number, seed = 'v1'): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      `SECRET_${String(i).padStart(4, '0')}`,
      `${seed}-value-${i}-${(i * 7919).toString(36)}`
    ])
  )
}

function run(input: Record<string, string>): Promise<ActionRun> {
  return runBundledAction(
    {
      environment: 'prod',
      service: 'payments',
      'ssm-endpoint': harness.proxy.endpoint,
      secrets: JSON.stringify(input)
    },
    AWS
  )
}

async function stored(): Promise<Map<string, Parameter>> {
  const all = new Map<string, Parameter>()
  let NextToken: string | undefined
  do {
    const page = await harness.ssm.send(
      new GetParametersByPathCommand({ Path: PATH, WithDecryption: true, MaxResults: 10, NextToken })
    )
    for (const parameter of page.Parameters ?? []) all.set(parameter.Name!, parameter)
    NextToken = page.NextToken
  } while (NextToken)
  return all
}

async function expectStored(input: Record<string, string>, version = 1) {
  const parameters = await stored()
  expect(parameters.size).toBe(Object.keys(input).length)
  for (const [name, value] of Object.entries(input)) {
    const parameter = parameters.get(`${PATH}/${name.toLowerCase()}`)
    expect([name, parameter?.Value, parameter?.Version]).toEqual([name, value, version])
  }
}

describe('SSM faults', () => {
  it('writes 1,000 keys exactly once through PutParameter throttled at 100 a second', async () => {
    const bucket = tokenBucket(100, 1)
    harness.proxy.fault = ({ operation }) =>
      operation === 'PutParameter' && !bucket.take() ? { kind: 'throttle' } : undefined
    const input = secrets(1000)
    const result = await run(input)
    expect(result.exitCode).toBe(0)
    expect(
      harness.proxy.calls.filter((call) => call.operation === 'PutParameter' && call.faulted === 'throttle').length
    ).toBeGreaterThan(0)
    expect(harness.proxy.count('PutParameter')).toBe(1000)
    await expectStored(input)
    expect(findLeaks({ stdout: result.stdout, stderr: result.stderr }, Object.values(input).slice(0, 50))).toEqual([])
    // 1,000 writes through the proxy into moto: 10 s at the quota, several times that on a busy machine.
  }, 240_000)

  it('finishes two concurrent runs for the same service despite TooManyUpdates, with correct values', async () => {
    const first = secrets(40, 'old')
    await run(first)
    harness.proxy.conflictOnConcurrentUpdates = true
    harness.proxy.latencyMs = 15
    // Writes wait until both runs are writing the same name, so that the two writes really overlap
    // however the two processes are scheduled.
    let release: () => void = () => undefined
    const overlap = new Promise<void>((resolve) => (release = resolve))
    const waiting = new Set<string>()
    harness.proxy.hold = ({ operation, body }) => {
      if (operation !== 'PutParameter') return undefined
      const name = String(body.Name)
      if (waiting.has(name)) release()
      waiting.add(name)
      return overlap
    }
    const input = secrets(40, 'new')
    const [a, b] = await Promise.all([run(input), run(input)])
    expect([a.exitCode, b.exitCode]).toEqual([0, 0])
    expect(harness.proxy.calls.some((call) => call.faulted === 'status')).toBe(true)
    const parameters = await stored()
    for (const [name, value] of Object.entries(input))
      expect(parameters.get(`${PATH}/${name.toLowerCase()}`)?.Value).toBe(value)
  })

  it('writes every key through 10% of calls failing with 500 and some connections reset, without duplicate versions', async () => {
    let n = 0
    harness.proxy.fault = () => {
      n += 1
      if (n % 10 === 3) return { kind: 'status', status: 500, type: 'InternalServerError' }
      if (n % 23 === 0) return { kind: 'reset' }
      return undefined
    }
    const input = secrets(120)
    const result = await run(input)
    expect(result.exitCode).toBe(0)
    expect(harness.proxy.calls.filter((call) => call.faulted).length).toBeGreaterThan(10)
    await expectStored(input)
  })

  it('names exactly the keys it could not write, and a re-run converges', async () => {
    harness.proxy.fault = ({ operation, body }) =>
      operation === 'PutParameter' && /secret_000[37]$/.test(String(body.Name))
        ? {
            kind: 'status',
            status: 400,
            type: 'AccessDeniedException',
            message: `User: x is not authorized to perform: ssm:PutParameter on resource: ${String(body.Name)}`
          }
        : undefined
    const input = secrets(12)
    const failed = await run(input)
    expect(failed.exitCode).not.toBe(0)
    const named = [...failed.stdout.replace(/%0A/g, '\n').matchAll(/^ {2}- (\S+): AWS denied/gm)].map(
      (match) => match[1]
    )
    expect(named).toEqual([`${PATH}/secret_0003`, `${PATH}/secret_0007`])
    expect(failed.outputs.created).toBe(
      JSON.stringify(
        Object.keys(input)
          .map((name) => name.toLowerCase())
          .filter((key) => !/000[37]$/.test(key))
      )
    )
    harness.proxy.fault = undefined
    const rerun = await run(input)
    expect(rerun.exitCode).toBe(0)
    expect(rerun.outputs.created).toBe('["secret_0003","secret_0007"]')
    await expectStored(input)
  })

  it('converges after the process is killed in the middle of a push, with no duplicate versions', async () => {
    harness.proxy.latencyMs = 20
    const input = secrets(60)
    // Killed once the proxy has seen its 15th PutParameter: a signal from the proxy, bounded, and the child killed
    // whatever happens (a failed wait must not leave the bundle running into the next test or file).
    let puts = 0
    let fifteenth: () => void = () => undefined
    const fifteenPuts = new Promise<void>((resolve) => (fifteenth = resolve))
    harness.proxy.hold = ({ operation }) => {
      if (operation === 'PutParameter' && ++puts === 15) fifteenth()
      return undefined
    }
    const started = startBundledAction(
      {
        environment: 'prod',
        service: 'payments',
        'ssm-endpoint': harness.proxy.endpoint,
        secrets: JSON.stringify(input)
      },
      AWS
    )
    try {
      const exitedFirst = started.finished.then((result) =>
        Promise.reject(
          new Error(`the action exited (code ${result.exitCode}) after ${puts} PutParameter calls, before the 15th`)
        )
      )
      await within(30_000, 'the 15th PutParameter', Promise.race([fifteenPuts, exitedFirst]))
    } finally {
      started.child.kill('SIGKILL')
    }
    const killed = await started.finished
    expect(killed.exitCode).not.toBe(0)
    const before = (await stored()).size
    expect(before).toBeGreaterThan(0)
    expect(before).toBeLessThan(60)
    harness.proxy.latencyMs = 0
    const rerun = await run(input)
    expect(rerun.exitCode).toBe(0)
    expect(JSON.parse(rerun.outputs.created)).toHaveLength(
      60 - (JSON.parse(rerun.outputs.unchanged) as unknown[]).length
    )
    await expectStored(input)
  })
})
