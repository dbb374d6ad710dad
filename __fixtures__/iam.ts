import { afterAll, beforeAll } from '@jest/globals'
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam'
import { SSMClient } from '@aws-sdk/client-ssm'
import { readFileSync } from 'node:fs'
import { startMoto, type MotoServer } from '../testing/moto.ts'

/**
 * The README's IAM policies as the least-privilege tests hold them, and moto with IAM enforcement per parameter ARN
 * (testing/moto_iam_server.py) with one IAM user for each policy under test.
 */

/** The credentials and region of moto's root, which sets the users up; each user's run has them with its own key. */
export const ROOT = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' }
/** Requests moto lets through before it enforces IAM: the set-up below, three for each user. */
const REQUESTS_PER_USER = 3

export interface Statement {
  Sid?: string
  Effect: string
  Action: string | string[]
  Resource: string | string[]
}

export interface Policy {
  Version: string
  Statement: Statement[]
}

export function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && 'Statement' in value && Array.isArray(value.Statement)
}

function isStatementWithSid(value: unknown, sid: string): value is Statement {
  return typeof value === 'object' && value !== null && 'Sid' in value && value.Sid === sid
}

/** The JSON blocks of a README section: a policy, and statements to add to it, found by their Sid. */
export interface ReadmePolicy {
  /** The section's first block with a Statement array. */
  readonly policy: Policy
  /** The section's block with `"Sid": sid`, wherever it stands. */
  statement(sid: string): Statement
}

/**
 * The JSON blocks of the README section whose heading line starts with `heading` (hashes included, e.g.
 * `## IAM policy`), up to the next heading of its level or above; its errors name the section.
 */
export function readmePolicy(heading: string): ReadmePolicy {
  const lines = readFileSync('README.md', 'utf8').split('\n')
  const start = lines.findIndex((line) => line.startsWith(heading))
  if (start < 0) throw new Error(`README.md: no section "${heading}"`)
  const level = heading.indexOf(' ')
  const next = lines.findIndex((line, index) => index > start && new RegExp(`^#{2,${level}} `).test(line))
  const section = lines.slice(start, next < 0 ? undefined : next).join('\n')
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((match): unknown => JSON.parse(match[1]))
  const policy = blocks.find(isPolicy)
  if (!policy) throw new Error(`README.md, "${heading}": no JSON policy with a Statement array`)
  return {
    policy,
    statement: (sid) => {
      const found = blocks.find((block) => isStatementWithSid(block, sid))
      if (!found || !isStatementWithSid(found, sid))
        throw new Error(`README.md, "${heading}": no JSON statement with "Sid": "${sid}"`)
      return found
    }
  }
}

/** The policy without `action`, wherever it is granted. */
export function without(policy: Policy, action: string): Policy {
  const statements = policy.Statement.map((statement) => ({
    ...statement,
    Action: [statement.Action].flat().filter((granted) => granted !== action)
  }))
  return { ...policy, Statement: statements.filter(({ Action }) => Action.length > 0) }
}

/** The policy with the statement `sid` scoped to `resource` instead of its own. */
export function scoped(policy: Policy, sid: string, resource: string | string[]): Policy {
  return {
    ...policy,
    Statement: policy.Statement.map((statement) =>
      statement.Sid === sid ? { ...statement, Resource: resource } : statement
    )
  }
}

export interface IamUsers {
  /** moto, enforcing each user's policy (started before the file's tests, stopped after them). */
  readonly moto: MotoServer
  /** The variables a run as `user` has: ROOT's region with the user's access key. */
  env(user: string): Record<string, string>
  /**
   * An SDK client holding `user`'s keys: what that user may do, straight from moto, in `region` (moto keeps the
   * regions apart by the region of the request's SigV4 credential scope, see testing/moto_iam_server.py).
   */
  ssmAs(user: string, region?: string): SSMClient
}

/**
 * A test file's moto with IAM enforcement and one IAM user per entry of `policies`, holding that policy alone (an
 * inline user policy), started once for the file.
 */
export function useIamUsers(policies: Record<string, Policy>): IamUsers {
  let moto: MotoServer | undefined
  const users = new Map<string, Record<string, string>>()
  beforeAll(async () => {
    moto = await startMoto({ enforceIamAfter: REQUESTS_PER_USER * Object.keys(policies).length })
    const iam = new IAMClient({
      region: 'us-east-1',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: ROOT.AWS_ACCESS_KEY_ID, secretAccessKey: ROOT.AWS_SECRET_ACCESS_KEY }
    })
    try {
      for (const [user, policy] of Object.entries(policies)) {
        // IAM user names allow [\w+=,.@-] only.
        const UserName = user.replace(/[^\w+=,.@-]/g, '-')
        await iam.send(new CreateUserCommand({ UserName }))
        await iam.send(
          new PutUserPolicyCommand({
            UserName,
            PolicyName: 'zerotouch-secrets',
            PolicyDocument: JSON.stringify(policy)
          })
        )
        const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName }))
        users.set(user, {
          ...ROOT,
          AWS_ACCESS_KEY_ID: AccessKey!.AccessKeyId!,
          AWS_SECRET_ACCESS_KEY: AccessKey!.SecretAccessKey!
        })
      }
    } finally {
      iam.destroy()
    }
  })
  afterAll(async () => moto?.stop())

  const started = (): MotoServer => {
    if (!moto) throw new Error('moto starts in beforeAll: use it from a hook or a test')
    return moto
  }
  const env = (user: string): Record<string, string> => {
    const found = users.get(user)
    if (!found) throw new Error(`no IAM user "${user}": the users are those of useIamUsers' policies`)
    return found
  }
  return {
    get moto() {
      return started()
    },
    env,
    ssmAs: (user, region = ROOT.AWS_REGION) => {
      const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env(user)
      return new SSMClient({ region, endpoint: started().endpoint, credentials: { accessKeyId, secretAccessKey } })
    }
  }
}
