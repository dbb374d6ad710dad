/**
 * The README's IAM policy is what the action needs and no more: moto with IAM enforcement per
 * parameter ARN (testing/moto_iam_server.py) runs the bundled action as a user holding exactly it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam'
import { readFileSync } from 'node:fs'
import { runBundledAction } from '../../testing/action.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'

const ROOT = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' }
/** Requests moto lets through before it enforces IAM: the set-up below. */
const SETUP_REQUESTS = 6

interface Policy {
  Statement: unknown[]
}

function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && 'Statement' in value && Array.isArray(value.Statement)
}

function readmePolicies(): { base: Policy; prune: unknown } {
  const section =
    readFileSync('README.md', 'utf8')
      .split(/^## /m)
      .find((part) => part.startsWith('IAM policy')) ?? ''
  const [base, prune] = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((match): unknown => JSON.parse(match[1]))
  if (!isPolicy(base)) throw new Error('README.md, IAM policy: the first JSON policy has no Statement array')
  return { base, prune }
}

let moto: MotoServer
const users: Record<string, Record<string, string>> = {}

beforeAll(async () => {
  moto = await startMoto({ enforceIamAfter: SETUP_REQUESTS })
  const iam = new IAMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const { base, prune } = readmePolicies()
  const policies = { release: base, pruning: { ...base, Statement: [...base.Statement, prune] } }
  for (const [user, policy] of Object.entries(policies)) {
    await iam.send(new CreateUserCommand({ UserName: user }))
    await iam.send(new PutUserPolicyCommand({ UserName: user, PolicyName: 'zerotouch-secrets', PolicyDocument: JSON.stringify(policy) }))
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: user }))
    users[user] = { ...ROOT, AWS_ACCESS_KEY_ID: AccessKey!.AccessKeyId!, AWS_SECRET_ACCESS_KEY: AccessKey!.SecretAccessKey! }
  }
  iam.destroy()
})
afterAll(async () => moto?.stop())

function run(user: string, inputs: Record<string, string>) {
  return runBundledAction({ environment: 'prod', service: 'payments-api', 'ssm-endpoint': moto.endpoint, ...inputs }, users[user])
}

describe("the README's IAM policy", () => {
  it('lets the action create, then update and tag, its own service', async () => {
    const first = await run('release', { secrets: '{"DATABASE_URL": "postgres://one", "API_KEY": "key-one"}', tags: 'team=payments' })
    expect(first.stdout).not.toMatch(/::error::/)
    expect(first.exitCode).toBe(0)
    const second = await run('release', { secrets: '{"DATABASE_URL": "postgres://two", "API_KEY": "key-one"}', tags: 'team=payments\nowner=platform' })
    expect(second.stdout).not.toMatch(/::error::/)
    expect(second.outputs).toMatchObject({ updated: '["database_url"]', unchanged: '["api_key"]' })
  })

  it("is refused for another service's path, naming the missing permission", async () => {
    const result = await run('release', { service: 'billing', secrets: '{"DATABASE_URL": "postgres://billing"}' })
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toMatch(/::error::Nothing was written: reading SSM failed\. AWS denied ssm:GetParameters/)
  })

  it('needs the prune statement to prune, and with it prunes', async () => {
    const denied = await run('release', { secrets: '{"API_KEY": "key-one"}', prune: 'true' })
    expect(denied.exitCode).not.toBe(0)
    expect(denied.stdout).toMatch(/AWS denied ssm:GetParametersByPath/)
    const pruned = await run('pruning', { secrets: '{"API_KEY": "key-one"}', prune: 'true' })
    expect(pruned.stdout).not.toMatch(/::error::/)
    expect(pruned.outputs).toMatchObject({ deleted: '["database_url"]', unchanged: '["api_key"]' })
  })
})
