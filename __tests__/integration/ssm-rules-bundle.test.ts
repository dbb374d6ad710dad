/**
 * SSM's own rules that moto does not all enforce, through the bundled action (dist/index.js) against moto behind
 * the recording proxy: a tier is never downgraded (the proxy refuses as SSM does, moto would accept), and a
 * parameter at 100 versions whose oldest carries a label takes no new version (moto 5.2.1 enforces it itself,
 * moto/ssm/models.py `_check_for_parameter_version_limit_exception`).
 */
import { describe, expect, it } from '@jest/globals'
import {
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
  UnlabelParameterVersionCommand,
  type ParameterTier
} from '@aws-sdk/client-ssm'
import { errorOf, runBundledAction, type ActionRun } from '../../testing/action.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { DOWNGRADE_REFUSAL, writeCalls } from '../../testing/ssm-proxy.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'

const PATH = '/zerotouch/prod/payments'
const harness = useSsmBehindProxy()

function run(inputs: Record<string, string>): Promise<ActionRun> {
  return runBundledAction(
    { environment: 'prod', service: 'payments', 'ssm-endpoint': harness.proxy.endpoint, ...inputs },
    LOCAL_AWS
  )
}

/** Writes straight to moto, as another tool or a person at the console would. */
async function put(name: string, value: string, tier: ParameterTier = 'Standard', overwrite = true) {
  await harness.ssm.send(
    new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Tier: tier, Overwrite: overwrite })
  )
}

/** What moto holds: the value, the version, and the tier (which only DescribeParameters answers). */
async function stored(name: string) {
  const { Parameter } = await harness.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))
  const { Parameters } = await harness.ssm.send(
    new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] })
  )
  return { value: Parameter?.Value, version: Parameter?.Version, tier: Parameters?.[0]?.Tier }
}

/** A parameter holding `count` versions, v1 ... v<count>. */
async function withVersions(name: string, count: number) {
  for (let version = 1; version <= count; version++) await put(name, `v${version}`, 'Standard', version > 1)
}

describe('SSM never downgrades a tier', () => {
  it('the proxy in front of moto refuses a downgrade as SSM does, where moto alone accepts it', async () => {
    await put(`${PATH}/big`, 'advanced-value', 'Advanced', false)
    const throughProxy = new SSMClient({ region: LOCAL_AWS.AWS_REGION, endpoint: harness.proxy.endpoint })
    try {
      await expect(
        throughProxy.send(
          new PutParameterCommand({
            Name: `${PATH}/big`,
            Value: 'standard-value',
            Type: 'SecureString',
            Tier: 'Standard',
            Overwrite: true
          })
        )
      ).rejects.toMatchObject({
        name: 'ValidationException',
        message: DOWNGRADE_REFUSAL.message,
        $metadata: { httpStatusCode: 400 }
      })
    } finally {
      throughProxy.destroy()
    }
    expect(await stored(`${PATH}/big`)).toEqual({ value: 'advanced-value', version: 1, tier: 'Advanced' })
    // moto alone takes the downgrade: the proxy is what holds the emulator path to SSM's rule.
    await put(`${PATH}/big`, 'standard-value', 'Standard')
    expect(await stored(`${PATH}/big`)).toMatchObject({ version: 2, tier: 'Standard' })
  })

  it('writes an Advanced parameter as Advanced with tier: Standard, says so in a notice, and writes every key', async () => {
    await put(`${PATH}/database_url`, 'old-database', 'Advanced', false)
    await put(`${PATH}/api_token`, 'old-token', 'Standard', false)
    const secrets = { DATABASE_URL: 'postgres://new-database', API_TOKEN: 'tok_new_value', NEW_KEY: 'brand-new' }
    const result = await run({ secrets: JSON.stringify(secrets), tier: 'Standard' })
    expect(errorOf(result)).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.outputs).toMatchObject({ updated: '["api_token","database_url"]', created: '["new_key"]' })
    expect(result.stdout).toContain(
      `::notice::${PATH}/database_url is an Advanced parameter and SSM never moves one back to Standard: it was written as Advanced (tier: Standard).`
    )
    expect(result.stdout).not.toMatch(/::notice::.*api_token/)
    expect(await stored(`${PATH}/database_url`)).toEqual({
      value: secrets.DATABASE_URL,
      version: 2,
      tier: 'Advanced'
    })
    expect(await stored(`${PATH}/api_token`)).toMatchObject({ version: 2, tier: 'Standard' })
    // The tiers were read for the keys to update only, in one DescribeParameters; each write sent its tier.
    const described = harness.proxy.calls.filter(({ operation }) => operation === 'DescribeParameters')
    expect(described.map(({ body }) => body.ParameterFilters)).toEqual([
      [{ Key: 'Name', Option: 'Equals', Values: expect.arrayContaining([`${PATH}/api_token`, `${PATH}/database_url`]) }]
    ])
    expect(
      Object.fromEntries(
        harness.proxy.calls
          .filter(({ operation }) => operation === 'PutParameter')
          .map(({ body }) => [String(body.Name), body.Tier])
      )
    ).toEqual({
      [`${PATH}/database_url`]: 'Advanced',
      [`${PATH}/api_token`]: 'Standard',
      [`${PATH}/new_key`]: 'Standard'
    })
    expect(harness.proxy.calls.filter(({ refused }) => refused)).toEqual([])
    expect(findRunLeaks(result, Object.values(secrets))).toEqual([])
  })
})

describe('the 100-version limit', () => {
  it('refuses the whole push, naming the parameter, the version and the label, and writes nothing; a re-run without the label writes', async () => {
    await withVersions(`${PATH}/database_url`, 100)
    await harness.ssm.send(
      new LabelParameterVersionCommand({ Name: `${PATH}/database_url`, ParameterVersion: 1, Labels: ['stable'] })
    )
    // moto enforces the limit itself: the emulator path refuses as SSM does.
    await expect(put(`${PATH}/database_url`, 'direct')).rejects.toMatchObject({
      name: 'ParameterMaxVersionLimitExceeded'
    })
    const secrets = { DATABASE_URL: 'postgres://next', API_TOKEN: 'tok_brand_new' }
    const refused = await run({ secrets: JSON.stringify(secrets) })
    expect(refused.exitCode).not.toBe(0)
    expect(errorOf(refused)).toContain(
      `::error::Nothing was written: the plan has problems. [ZT121]\n  - ${PATH}/database_url: version 1, the oldest of the 100 versions SSM keeps, carries the label stable, so SSM refuses a new version (ParameterMaxVersionLimitExceeded)`
    )
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    // The history was read for that parameter only, without decryption: its labels are what counts.
    expect(
      harness.proxy.calls
        .filter(({ operation }) => operation === 'GetParameterHistory')
        .map(({ body }) => [body.Name, body.WithDecryption])
    ).toEqual([
      [`${PATH}/database_url`, false],
      [`${PATH}/database_url`, false]
    ])
    expect(findRunLeaks(refused, Object.values(secrets))).toEqual([])

    await harness.ssm.send(
      new UnlabelParameterVersionCommand({ Name: `${PATH}/database_url`, ParameterVersion: 1, Labels: ['stable'] })
    )
    const written = await run({ secrets: JSON.stringify(secrets) })
    expect(errorOf(written)).toBe('')
    expect(JSON.parse(written.outputs.versions)).toEqual({ database_url: 101, api_token: 1 })
  })

  it('refuses a restore the same way, before any write', async () => {
    const first = await run({ secrets: JSON.stringify({ DATABASE_URL: 'v1' }) })
    expect(errorOf(first)).toBe('')
    for (let version = 2; version <= 100; version++) await put(`${PATH}/database_url`, `v${version}`)
    await harness.ssm.send(
      new LabelParameterVersionCommand({ Name: `${PATH}/database_url`, ParameterVersion: 1, Labels: ['first'] })
    )
    const history = await harness.ssm.send(
      new GetParameterHistoryCommand({ Name: `${PATH}/database_url`, MaxResults: 50 })
    )
    const point = history.Parameters?.find(({ Version }) => Version === 50)?.LastModifiedDate
    harness.proxy.calls.length = 0
    const refused = await run({ 'restore-to': point!.toISOString() })
    expect(refused.exitCode).not.toBe(0)
    expect(errorOf(refused)).toMatch(
      new RegExp(
        `\\[ZT121\\]\\n  - ${PATH}/database_url: version 1, the oldest of the 100 versions SSM keeps, carries the label first`
      )
    )
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    expect(await stored(`${PATH}/database_url`)).toMatchObject({ value: 'v100', version: 100 })
  })
})
