import { afterAll, beforeAll, beforeEach } from '@jest/globals'
import { SSMClient } from '@aws-sdk/client-ssm'
import { startMoto, type MotoServer } from '../testing/moto.ts'
import { startSsmProxy, type SsmProxy } from '../testing/ssm-proxy.ts'

/** The AWS settings the bundled action runs with against the local SSM. */
export const LOCAL_AWS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }

export interface SsmHarness {
  moto: MotoServer
  /** The recording, fault-injecting proxy the action talks to. */
  proxy: SsmProxy
  /** A client straight to moto, for checking what is stored. */
  ssm: SSMClient
}

/**
 * A test file's SSM: moto behind the recording proxy, started once for the file, emptied and
 * with every fault cleared before each test.
 */
export function useSsmBehindProxy(): SsmHarness {
  const harness = {} as SsmHarness
  beforeAll(async () => {
    Object.assign(process.env, LOCAL_AWS)
    harness.moto = await startMoto()
    harness.proxy = await startSsmProxy(harness.moto.endpoint)
    harness.ssm = new SSMClient({ region: LOCAL_AWS.AWS_REGION, endpoint: harness.moto.endpoint })
  })
  afterAll(async () => {
    harness.ssm?.destroy()
    await harness.proxy?.close()
    await harness.moto?.stop()
  })
  beforeEach(async () => {
    await harness.moto.reset()
    Object.assign(harness.proxy, {
      fault: undefined,
      hold: undefined,
      latencyMs: 0,
      conflictOnConcurrentUpdates: false
    })
    harness.proxy.calls.length = 0
  })
  return harness
}
