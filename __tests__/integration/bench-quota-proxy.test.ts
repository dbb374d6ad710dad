/**
 * The benchmark's quota proxy (bench/quota-proxy.ts) keeps Parameter Store's quotas per region, as the real service
 * does (per account and region): the region of a call is the one its SigV4 credential scope names, and each region
 * has buckets of its own. The rates here are so low that no token comes back during a test: only the buckets'
 * bursts (3 writes) decide, whatever the machine's speed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { startQuotaProxy, type QuotaProxy } from '../../bench/quota-proxy.ts'
import { signedRegion } from '../../testing/ssm-proxy.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' }
/** 0.003 PutParameter a second: a spent token comes back after more than five minutes. */
const SCALE = 0.001

let moto: MotoServer
let proxy: QuotaProxy
const clients: SSMClient[] = []

/** A client of the proxy in `region`, without retries: a throttled call fails at once. */
function client(region: string, endpoint = proxy.endpoint): SSMClient {
  const made = new SSMClient({ region, endpoint, credentials: CREDENTIALS, maxAttempts: 1 })
  clients.push(made)
  return made
}

/** Puts `/bench/<region>/p<i>` for each i in turn; what each put answered: 'ok' or the error's name. */
async function put(region: string, count: number): Promise<string[]> {
  const ssm = client(region)
  const answers: string[] = []
  for (let i = 1; i <= count; i++) {
    try {
      await ssm.send(new PutParameterCommand({ Name: `/bench/${region}/p${i}`, Value: 'v', Type: 'SecureString' }))
      answers.push('ok')
    } catch (error) {
      answers.push((error as Error).name)
    }
  }
  return answers
}

beforeAll(async () => {
  moto = await startMoto()
  proxy = await startQuotaProxy(moto.endpoint, { scale: SCALE, latencyMs: 0 })
})

afterAll(async () => {
  for (const made of clients) made.destroy()
  await proxy?.close()
  await moto?.stop()
})

beforeEach(async () => {
  await moto.reset()
  proxy.reset()
})

describe('bench quota proxy: quotas per region', () => {
  it('gives each region its own write bucket: one region spent does not throttle another', async () => {
    expect(proxy.burst('PutParameter')).toBe(3)

    expect(await put('us-east-1', 4)).toEqual(['ok', 'ok', 'ok', 'ThrottlingException'])
    expect(await put('eu-west-1', 3)).toEqual(['ok', 'ok', 'ok'])
    expect(await put('us-east-1', 1)).toEqual(['ThrottlingException'])

    expect(proxy.calls.map(({ region, throttled }) => [region, throttled])).toEqual([
      ['us-east-1', false],
      ['us-east-1', false],
      ['us-east-1', false],
      ['us-east-1', true],
      ['eu-west-1', false],
      ['eu-west-1', false],
      ['eu-west-1', false],
      ['us-east-1', true]
    ])
    // What the proxy let through landed in the region it was signed for (moto keeps regions apart by the scope).
    const stored = async (region: string, names: string[]) =>
      ((await client(region, moto.endpoint).send(new GetParametersCommand({ Names: names }))).Parameters ?? [])
        .map(({ Name }) => Name)
        .sort()
    expect(await stored('eu-west-1', ['/bench/eu-west-1/p1', '/bench/us-east-1/p1'])).toEqual(['/bench/eu-west-1/p1'])
    expect(await stored('us-east-1', ['/bench/us-east-1/p3', '/bench/us-east-1/p4'])).toEqual(['/bench/us-east-1/p3'])
  })

  it('keeps reads and writes apart within a region, and refills every region on reset', async () => {
    expect(await put('us-west-2', 4)).toEqual(['ok', 'ok', 'ok', 'ThrottlingException'])
    await expect(
      client('us-west-2').send(new GetParametersCommand({ Names: ['/bench/us-west-2/p1'] }))
    ).resolves.toMatchObject({ Parameters: [{ Name: '/bench/us-west-2/p1' }] })

    proxy.reset()
    expect(proxy.calls).toEqual([])
    await moto.reset()
    expect(await put('us-west-2', 3)).toEqual(['ok', 'ok', 'ok'])
  })

  it("reads the region from the Authorization header's credential scope", () => {
    expect(
      signedRegion(
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/ap-southeast-2/ssm/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc'
      )
    ).toBe('ap-southeast-2')
    expect(signedRegion(undefined)).toBe('')
    expect(signedRegion('Bearer token')).toBe('')
  })
})
