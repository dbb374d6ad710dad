/**
 * The bundled action (dist/index.js), run by plain node with INPUT_* variables as the GitHub
 * runner runs it, against moto (a real SSM wire-protocol server) behind a recording harness.proxy.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import { GetParameterCommand, ListTagsForResourceCommand, PutParameterCommand } from '@aws-sdk/client-ssm'
import { runBundledAction, type ActionRun } from '../../testing/action.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { writeCalls } from '../../testing/ssm-proxy.ts'

const AWS = LOCAL_AWS
const SECRETS = {
  DATABASE_URL: 'postgres://app:pa55-w0rd@db.internal:5432/payments',
  TLS_KEY: '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nfinal-line-of-key\n-----END KEY-----',
  API_TOKEN: 'tok_live_4f9a8b7c6d5e',
  github_token: 'ghs_notpushedatall123'
}
const VALUES = Object.values(SECRETS)

const harness = useSsmBehindProxy()

function run(inputs: Record<string, string>): Promise<ActionRun> {
  return runBundledAction(
    { environment: 'prod', service: 'payments', 'ssm-endpoint': harness.proxy.endpoint, ...inputs },
    AWS
  )
}

function expectNoLeaks(result: ActionRun, values: readonly string[] = VALUES) {
  expect(findRunLeaks(result, values)).toEqual([])
}

async function parameter(name: string) {
  const { Parameter } = await harness.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))
  const { TagList } = await harness.ssm.send(
    new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name })
  )
  return {
    type: Parameter?.Type,
    value: Parameter?.Value,
    version: Parameter?.Version,
    tags: Object.fromEntries((TagList ?? []).map((t): [string, string | undefined] => [String(t.Key), t.Value]))
  }
}

describe('the bundled action against moto', () => {
  it('creates SecureString parameters, then re-runs with zero writes', async () => {
    const first = await run({ secrets: JSON.stringify(SECRETS), tags: 'team=payments\ncost-center=42' })
    expect(first.exitCode).toBe(0)
    // Every SDK call names the action and its version, for CloudTrail.
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
    expect(harness.proxy.calls.length).toBeGreaterThan(0)
    for (const call of harness.proxy.calls) expect(call.userAgent).toContain(`zerotouch-secrets-action/${version}`)
    expect(first.outputs).toEqual({
      created: '["api_token","database_url","tls_key"]',
      updated: '[]',
      unchanged: '[]',
      deleted: '[]',
      changed: 'true',
      synced: '[]',
      restarted: '[]',
      versions: '{"api_token":1,"database_url":1,"tls_key":1}',
      // Without replica-regions, aws-region alone.
      regions:
        '{"us-east-1":{"created":["api_token","database_url","tls_key"],"updated":[],"unchanged":[],"deleted":[]}}',
      // A release checks nothing.
      drift: '[]'
    })
    expect(await parameter('/zerotouch/prod/payments/tls_key')).toEqual({
      type: 'SecureString',
      value: SECRETS.TLS_KEY,
      version: 1,
      tags: { 'managed-by': 'zerotouch-secrets', team: 'payments', 'cost-center': '42' }
    })
    expect(first.stdout).toMatch(/created +\/zerotouch\/prod\/payments\/database_url \(version 1\) from DATABASE_URL/)
    expect(first.summary).toContain(
      '<td>/zerotouch/prod/payments/api_token</td><td>created</td><td>1</td><td>API_TOKEN</td>'
    )
    for (const line of SECRETS.TLS_KEY.split('\n')) expect(first.stdout).toContain(`::add-mask::${line}`)
    expectNoLeaks(first)

    harness.proxy.calls.length = 0
    const again = await run({ secrets: JSON.stringify(SECRETS), tags: 'team=payments\ncost-center=42' })
    expect(again.exitCode).toBe(0)
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    expect(harness.proxy.count('GetParameters')).toBe(1)
    expect(again.outputs).toMatchObject({ unchanged: '["api_token","database_url","tls_key"]', changed: 'false' })
    expect((await parameter('/zerotouch/prod/payments/database_url')).version).toBe(1)
    expectNoLeaks(again)
  })

  it('masks every line of a multi-line secret as the runner does, and warns, naming the secret, of the outputs the runner would drop', async () => {
    const secrets = { JSON_CONFIG: '{\n  "feature": "enabled-for-all"\n}', API_TOKEN: SECRETS.API_TOKEN }
    const result = await run({ secrets: JSON.stringify(secrets) })
    expect(result.exitCode).toBe(0)
    // Each line, `{` and `}` included, is registered with the runner's masking.
    for (const line of ['{', '"feature": "enabled-for-all"', '}'])
      expect(result.stdout).toContain(`::add-mask::${line}\n`)
    // The versions and regions outputs, JSON objects, hold `{` and `}`: the runner drops them as job outputs.
    expect(result.outputs.versions).toBe('{"api_token":1,"json_config":1}')
    expect(JSON.parse(result.outputs.regions)).toEqual({
      'us-east-1': { created: ['api_token', 'json_config'], updated: [], unchanged: [], deleted: [] }
    })
    const warnings = result.stdout.split('\n').filter((line) => line.startsWith('::warning::The output'))
    expect(warnings).toEqual(
      ['regions', 'versions'].map((output) =>
        expect.stringMatching(
          new RegExp(
            `^::warning::The output "${output}" contains a line of the secret JSON_CONFIG: the runner masks every line of a secret, whatever its length, and drops a job output that contains one`
          )
        )
      )
    )
    expect(findRunLeaks(result, Object.values(secrets))).toEqual([])
  })

  it('writes only the key whose value changed', async () => {
    await run({ secrets: JSON.stringify(SECRETS) })
    harness.proxy.calls.length = 0
    const changed = { ...SECRETS, API_TOKEN: 'tok_live_rotated_0001' }
    const result = await run({ secrets: JSON.stringify(changed) })
    expect(result.exitCode).toBe(0)
    expect(writeCalls(harness.proxy.calls).map(({ operation, body }) => [operation, body.Name])).toEqual([
      ['PutParameter', '/zerotouch/prod/payments/api_token']
    ])
    expect(result.outputs).toMatchObject({
      updated: '["api_token"]',
      unchanged: '["database_url","tls_key"]',
      changed: 'true'
    })
    expect(await parameter('/zerotouch/prod/payments/api_token')).toMatchObject({
      value: 'tok_live_rotated_0001',
      version: 2
    })
    expectNoLeaks(result, Object.values(changed))
  })

  it('reads a YAML mapping with strip-prefix, include and exclude, and passes tier and KMS key', async () => {
    const yaml =
      'PROD_DATABASE_URL: "postgres://prod-db"\nPROD_CACHE_URL: redis://prod\nPROD_DEBUG_TOKEN: dbg-123\nSTG_DATABASE_URL: postgres://stg'
    const result = await run({
      secrets: yaml,
      'strip-prefix': 'prod_',
      exclude: '*DEBUG*',
      tier: 'Intelligent-Tiering',
      'kms-key-id': 'alias/payments'
    })
    expect(result.exitCode).toBe(0)
    expect(result.outputs.created).toBe('["cache_url","database_url"]')
    const puts = harness.proxy.calls
      .filter(({ operation }) => operation === 'PutParameter')
      .sort((a, b) => String(a.body.Name).localeCompare(String(b.body.Name)))
    expect(puts.map(({ body }) => [body.Name, body.Type, body.Tier, body.KeyId, body.Overwrite])).toEqual([
      ['/zerotouch/prod/payments/cache_url', 'SecureString', 'Intelligent-Tiering', 'alias/payments', false],
      ['/zerotouch/prod/payments/database_url', 'SecureString', 'Intelligent-Tiering', 'alias/payments', false]
    ])
  })

  it('refuses bad input with every problem named, and sends no request at all', async () => {
    const result = await run({
      secrets: '{"DB-URL": "value-one", "database_url": "value-two", "DATABASE_URL": "value-three", "EMPTY": ""}',
      tier: 'Gold'
    })
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toMatch(/::error::Invalid inputs; nothing was written\./)
    expect(result.stdout).toMatch(/"DB-URL" contains a hyphen/)
    expect(result.stdout).toMatch(/"database_url" and "DATABASE_URL" both become the key "database_url"/)
    expect(result.stdout).toMatch(/"EMPTY" has an empty value/)
    expect(result.stdout).toMatch(/tier: "Gold" is not one of/)
    expect(harness.proxy.calls).toEqual([])
    expectNoLeaks(result, ['value-one', 'value-two', 'value-three'])
  })

  it('dry-run reports the plan and writes nothing', async () => {
    const result = await run({ secrets: JSON.stringify(SECRETS), 'dry-run': 'true' })
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(/would create +\/zerotouch\/prod\/payments\/api_token/)
    expect(result.outputs.created).toBe('["api_token","database_url","tls_key"]')
    expect(writeCalls(harness.proxy.calls)).toEqual([])
    expect(harness.proxy.count('GetParameters')).toBe(1)
  })

  it('prunes only its own parameters and refuses to touch one another tool owns', async () => {
    await run({ secrets: JSON.stringify(SECRETS) })
    await harness.ssm.send(
      new PutParameterCommand({ Name: '/zerotouch/prod/payments/manual', Value: 'x', Type: 'SecureString' })
    )
    const pruned = await run({ secrets: JSON.stringify({ API_TOKEN: SECRETS.API_TOKEN }), prune: 'true' })
    expect(pruned.exitCode).toBe(0)
    expect(pruned.outputs).toMatchObject({
      deleted: '["database_url","tls_key"]',
      unchanged: '["api_token"]',
      changed: 'true'
    })
    expect(pruned.stdout).toMatch(/kept +\/zerotouch\/prod\/payments\/manual/)
    await expect(parameter('/zerotouch/prod/payments/manual')).resolves.toMatchObject({ value: 'x' })

    await harness.ssm.send(
      new PutParameterCommand({
        Name: '/zerotouch/prod/payments/pushed',
        Value: 'theirs',
        Type: 'SecureString',
        Tags: [{ Key: 'managed-by', Value: 'external-secrets' }]
      })
    )
    harness.proxy.calls.length = 0
    const refused = await run({ secrets: JSON.stringify({ PUSHED: 'mine-value', NEW_ONE: 'new-value' }) })
    expect(refused.exitCode).not.toBe(0)
    expect(refused.stdout).toMatch(/pushed is tagged managed-by=external-secrets/)
    expect(writeCalls(harness.proxy.calls)).toEqual([])
  })

  it('survives throttling and scrubs a value AWS echoes back in an error', async () => {
    let calls = 0
    harness.proxy.fault = ({ operation, body }) => {
      if (operation !== 'PutParameter') return undefined
      calls += 1
      if (body.Name === '/zerotouch/prod/payments/api_token') {
        return {
          kind: 'status',
          status: 400,
          type: 'ValidationException',
          message: `1 validation error detected: Value '${String(body.Value)}' at 'value' failed to satisfy constraint`
        }
      }
      return calls % 2 ? { kind: 'throttle' } : undefined
    }
    const result = await run({ secrets: JSON.stringify(SECRETS) })
    expect(result.exitCode).not.toBe(0)
    expect(result.outputs.created).toBe('["database_url","tls_key"]')
    expect(result.stdout).toMatch(/1 of 3 parameters were not written/)
    expect(result.stdout).toMatch(/\/zerotouch\/prod\/payments\/api_token: ValidationException/)
    expectNoLeaks(result)
  })

  it('checks the definitions first: a broken one leaves SSM untouched, a good one is mapped in the summary', async () => {
    const workspace = { GITHUB_WORKSPACE: `${process.cwd()}/__tests__/fixtures/tenants` }
    const secrets = JSON.stringify({
      DATABASE_URL: 'postgres://prod-db',
      STRIPE_API_KEY: 'sk_live_123456',
      WEBHOOK_SECRET: 'whsec_abcdef'
    })
    const inputs = { environment: 'prod', service: 'payments', 'ssm-endpoint': harness.proxy.endpoint, secrets }
    const broken = await runBundledAction(
      { ...inputs, definitions: 'broken/overlays/unknown-key', 'definitions-base': 'good/base' },
      { ...AWS, ...workspace }
    )
    expect(broken.exitCode).not.toBe(0)
    expect(broken.stdout).toMatch(
      /::error::Nothing was written: the secret definitions have problems\..*needs \/zerotouch\/prod\/payments\/sentry_dsn, which no secret provides/
    )
    expect(writeCalls(harness.proxy.calls)).toEqual([])

    const good = await runBundledAction(
      { ...inputs, definitions: 'good/overlays/prod', 'definitions-base': 'good/base' },
      { ...AWS, ...workspace }
    )
    expect(good.exitCode).toBe(0)
    expect(good.outputs.created).toBe('["database_url","stripe_api_key","webhook_secret"]')
    expect(good.summary).toContain(
      '<td>payments-prod/payments-db</td><td>DATABASE_URL</td><td>/zerotouch/prod/payments/database_url</td><td>DATABASE_URL</td>'
    )
    expectNoLeaks(good, ['postgres://prod-db', 'sk_live_123456', 'whsec_abcdef'])
  })
})
