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
  /**
   * A client straight to moto in `region` (moto keeps each region apart by the region a request is signed for), for
   * replica-regions; one per region, for the whole file.
   */
  ssmIn(region: string): SSMClient
}

/**
 * A test file's SSM: moto behind the recording proxy, started once for the file, emptied and
 * with every fault cleared before each test.
 */
export function useSsmBehindProxy(): SsmHarness {
  const clients = new Map<string, SSMClient>()
  const ssmIn = (region: string): SSMClient => {
    let client = clients.get(region)
    if (!client) clients.set(region, (client = new SSMClient({ region, endpoint: harness.moto.endpoint })))
    return client
  }
  const harness = { ssmIn } as SsmHarness
  beforeAll(async () => {
    Object.assign(process.env, LOCAL_AWS)
    harness.moto = await startMoto()
    harness.proxy = await startSsmProxy(harness.moto.endpoint)
    harness.ssm = ssmIn(LOCAL_AWS.AWS_REGION)
  })
  afterAll(async () => {
    for (const client of clients.values()) client.destroy()
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
