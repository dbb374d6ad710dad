/**
 * The README's read-only IAM policy of check mode is what a check needs and no more: moto with IAM enforcement per
 * parameter ARN (testing/moto_iam_server.py) runs the bundled action in check mode as a user holding exactly it.
 * The parameters are written first by an administrator (a release through the action, then console edits).
 */
import { beforeEach, describe, expect, it } from '@jest/globals'
import { DeleteParametersCommand, GetParametersByPathCommand, PutParameterCommand } from '@aws-sdk/client-ssm'
import { errorOf, runBundledAction, type ActionRun } from '../../testing/action.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { readmePolicy, useIamUsers, without } from '../../__fixtures__/iam.ts'
import { workflowRun } from '../../__fixtures__/workflow-run.ts'

/** The service the README's policy names. */
const SERVICE_PATH = '/zerotouch/prod/payments-api'
const SECRETS = { API_KEY: 'key-one-0123', DATABASE_URL: 'postgres://payments:first@db/payments' }
const EDITED = { api_key: 'key-console-4567', database_url: 'postgres://payments:console@db/payments' }

/** The JSON blocks of the README's "Read-only IAM policy" section: the policy, and the statement added for prune. */
const readOnly = readmePolicy('### Read-only IAM policy')
const base = readOnly.policy
const prune = readOnly.statement('CheckPrune')
/** Each SSM action of the policy, by what needs it. */
const NEEDED = ['ssm:GetParameters', 'ssm:DescribeParameters', 'ssm:GetParameterHistory', 'ssm:ListTagsForResource']

const iam = useIamUsers({
  admin: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ssm:*', Resource: '*' }] },
  check: base,
  'check-pruning': { ...base, Statement: [...base.Statement, prune] },
  ...Object.fromEntries(NEEDED.map((action) => [`without-${action}`, without(base, action)]))
})

/** Each case starts from an empty service path. */
beforeEach(async () => {
  const ssm = iam.ssmAs('admin')
  try {
    const { Parameters = [] } = await ssm.send(new GetParametersByPathCommand({ Path: SERVICE_PATH, Recursive: true }))
    const names = Parameters.map(({ Name }) => Name!)
    if (names.length) await ssm.send(new DeleteParametersCommand({ Names: names }))
  } finally {
    ssm.destroy()
  }
})

function run(user: string, inputs: Record<string, string>): Promise<ActionRun> {
  return runBundledAction(
    { environment: 'prod', service: 'payments-api', 'ssm-endpoint': iam.moto.endpoint, ...inputs },
    { ...iam.env(user), ...workflowRun(100) }
  )
}

function check(user: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return run(user, { mode: 'check', secrets: JSON.stringify(SECRETS), ...inputs })
}

/** A release by the administrator (workflow run 100), then, with `edits`, the console edits of an incident. */
async function released(edits = false): Promise<void> {
  const release = await run('admin', { secrets: JSON.stringify({ ...SECRETS, OLD_FLAG: 'flag-value-1' }) })
  expect(errorOf(release)).toBe('')
  if (!edits) return
  const ssm = iam.ssmAs('admin')
  try {
    // The CLI without --description: SSM copies the release's record onto version 2 (history tells).
    await ssm.send(
      new PutParameterCommand({
        Name: `${SERVICE_PATH}/api_key`,
        Value: EDITED.api_key,
        Type: 'SecureString',
        Overwrite: true
      })
    )
    // The console with a description of its own (the tags tell the parameter is the action's).
    await ssm.send(
      new PutParameterCommand({
        Name: `${SERVICE_PATH}/database_url`,
        Value: EDITED.database_url,
        Type: 'SecureString',
        Overwrite: true,
        Description: 'hotfix'
      })
    )
  } finally {
    ssm.destroy()
  }
}

const findings = (result: ActionRun): string[] =>
  (JSON.parse(result.outputs.drift) as Array<{ kind: string; name: string }>).map(({ kind, name }) => `${kind} ${name}`)

describe("the README's read-only IAM policy (check mode)", () => {
  it('grants reads only: no SSM write, no KMS encrypt', () => {
    const actions = [base, { Statement: [prune] }].flatMap(({ Statement }) => Statement.flatMap(({ Action }) => Action))
    expect(actions.filter((action) => !/^ssm:(Get|Describe|List)\w+$|^kms:Decrypt$/.test(action))).toEqual([])
  })

  it('is enough for a clean check and for every kind of SSM finding, and the identity cannot write', async () => {
    await released()
    const clean = await check('check')
    expect(errorOf(clean)).toBe('')
    expect(clean.outputs.drift).toBe('[]')

    await released(true)
    const drifted = await check('check', { secrets: JSON.stringify({ ...SECRETS, NEW_KEY: 'new-value-1' }) })
    expect(errorOf(drifted)).toMatch(/\[ZT170\]/)
    expect(findings(drifted)).toEqual([
      `missing ${SERVICE_PATH}/new_key`,
      `differs ${SERVICE_PATH}/api_key`,
      `differs ${SERVICE_PATH}/database_url`,
      `edited-outside ${SERVICE_PATH}/api_key`,
      `edited-outside ${SERVICE_PATH}/database_url`
    ])
    expect(findRunLeaks(drifted, [...Object.values(SECRETS), ...Object.values(EDITED), 'new-value-1'])).toEqual([])

    const ssm = iam.ssmAs('check')
    try {
      await expect(
        ssm.send(
          new PutParameterCommand({
            Name: `${SERVICE_PATH}/api_key`,
            Value: 'x',
            Type: 'SecureString',
            Overwrite: true
          })
        )
      ).rejects.toMatchObject({ name: 'AccessDeniedException' })
    } finally {
      ssm.destroy()
    }
  })

  it('needs the CheckPrune statement to check with prune, and with it names the parameter a release would delete', async () => {
    await released()
    const denied = await check('check', { prune: 'true' })
    expect(denied.exitCode).not.toBe(0)
    expect(errorOf(denied)).toMatch(
      /^::error::Check mode writes nothing: reading SSM failed\. AWS denied ssm:GetParametersByPath on arn:aws:ssm:eu-west-1:\d+:parameter\/zerotouch\/prod\/payments-api: .*\[ZT120\]$/
    )
    const pruning = await check('check-pruning', { prune: 'true' })
    expect(findings(pruning)).toEqual([`extra ${SERVICE_PATH}/old_flag`])
  })

  it.each(NEEDED)('needs %s: without it the check fails naming it, and nothing is found', async (action) => {
    await released(true)
    const result = await check(`without-${action}`)
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toMatch(
      new RegExp(`^::error::Check mode writes nothing: reading SSM failed\\. AWS denied ${action} on .*\\[ZT120\\]$`)
    )
    expect(result.outputs.drift).toBe('[]')
  })
})
