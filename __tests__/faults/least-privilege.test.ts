/**
 * The README's IAM policy is what the action needs and no more: moto with IAM enforcement per
 * parameter ARN (testing/moto_iam_server.py) runs the bundled action as a user holding exactly it.
 */
import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  DeleteParametersCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand
} from '@aws-sdk/client-ssm'
import { errorOf, runBundledAction } from '../../testing/action.ts'
import { readmePolicy, ROOT, scoped, useIamUsers, without, type Statement } from '../../__fixtures__/iam.ts'
import { provenance, workflowRun } from '../../__fixtures__/workflow-run.ts'

/** The primary region (aws-region), and the replica the README's per-region statement names next to it. */
const PRIMARY = ROOT.AWS_REGION
const REPLICA = 'us-west-2'
/** The service every case writes to: the one the README's policy names. */
const SERVICE_PATH = '/zerotouch/prod/payments-api'

/** The statement's resources that name `region` (`arn:aws:ssm:<region>:...`). */
function inRegion(statement: Statement, region: string): string[] {
  return [statement.Resource].flat().filter((resource) => resource.split(':')[3] === region)
}

/**
 * The section's JSON blocks: the policy (the first, with a Statement array), then the statements to add
 * for prune and for restore-to, and the per-region statement for replica regions, found by their Sid wherever
 * they stand.
 */
const readme = readmePolicy('## IAM policy')
const base = readme.policy
const eachRegion = readme.statement('ServiceParametersInEachRegion')
const iam = useIamUsers({
  release: base,
  pruning: { ...base, Statement: [...base.Statement, readme.statement('Prune')] },
  restoring: { ...base, Statement: [...base.Statement, readme.statement('Restore')] },
  'no-describe': without(base, 'ssm:DescribeParameters'),
  'describe-scoped': scoped(base, 'ReadTiers', `arn:aws:ssm:*:*:parameter${SERVICE_PATH}/*`),
  'no-history': without(base, 'ssm:GetParameterHistory'),
  // replica regions: the service's parameters granted per region, in the primary and the replica, or the primary only
  'each-region': scoped(base, 'ServiceParameters', [eachRegion.Resource].flat()),
  'primary-only': scoped(base, 'ServiceParameters', inRegion(eachRegion, PRIMARY))
})

/** The names under the service's path in `region`, read by the pruning user (its Prune statement lists the path). */
async function namesIn(region: string): Promise<string[]> {
  const ssm = iam.ssmAs('pruning', region)
  try {
    const names: string[] = []
    let NextToken: string | undefined
    do {
      const page = await ssm.send(new GetParametersByPathCommand({ Path: SERVICE_PATH, Recursive: true, NextToken }))
      names.push(...(page.Parameters ?? []).map(({ Name }) => Name!))
      NextToken = page.NextToken
    } while (NextToken)
    return names.sort()
  } finally {
    ssm.destroy()
  }
}

/**
 * Each case starts from an empty service path, in the primary and the replica region, and writes what it needs
 * itself, so that no case leans on another having run first (moto's reset would also drop the IAM users). The
 * pruning user holds exactly what this takes: the README's Prune statement lists the path and deletes its
 * parameters, in every region.
 */
beforeEach(async () => {
  for (const region of [PRIMARY, REPLICA]) {
    const names = await namesIn(region)
    const ssm = iam.ssmAs('pruning', region)
    try {
      for (let i = 0; i < names.length; i += 10)
        await ssm.send(new DeleteParametersCommand({ Names: names.slice(i, i + 10) }))
    } finally {
      ssm.destroy()
    }
  }
})

function run(user: string, inputs: Record<string, string>, env: Record<string, string> = {}) {
  return runBundledAction(
    { environment: 'prod', service: 'payments-api', 'ssm-endpoint': iam.moto.endpoint, ...inputs },
    { ...iam.env(user), ...env }
  )
}

describe("the README's IAM policy", () => {
  it('lets the action create, then update and tag, its own service', async () => {
    const first = await run('release', {
      secrets: '{"DATABASE_URL": "postgres://one", "API_KEY": "key-one"}',
      tags: 'team=payments'
    })
    expect(first.stdout).not.toMatch(/::error::/)
    expect(first.exitCode).toBe(0)
    const second = await run('release', {
      secrets: '{"DATABASE_URL": "postgres://two", "API_KEY": "key-one"}',
      tags: 'team=payments\nowner=platform'
    })
    expect(second.stdout).not.toMatch(/::error::/)
    expect(second.outputs).toMatchObject({ updated: '["database_url"]', unchanged: '["api_key"]' })
  })

  it("is refused for another service's path, naming the missing permission", async () => {
    const result = await run('release', { service: 'billing', secrets: '{"DATABASE_URL": "postgres://billing"}' })
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toMatch(/::error::Nothing was written: reading SSM failed\. AWS denied ssm:GetParameters/)
  })

  it('needs the prune statement to prune, and with it prunes', async () => {
    const pushed = await run('release', { secrets: '{"DATABASE_URL": "postgres://one", "API_KEY": "key-one"}' })
    expect(errorOf(pushed)).toBe('')
    const denied = await run('release', { secrets: '{"API_KEY": "key-one"}', prune: 'true' })
    expect(denied.exitCode).not.toBe(0)
    expect(denied.stdout).toMatch(/AWS denied ssm:GetParametersByPath/)
    const pruned = await run('pruning', { secrets: '{"API_KEY": "key-one"}', prune: 'true' })
    expect(pruned.stdout).not.toMatch(/::error::/)
    expect(pruned.outputs).toMatchObject({ deleted: '["database_url"]', unchanged: '["api_key"]' })
  })

  it('needs the restore statement to restore: without it the missing permission is named, with it the restore is made', async () => {
    // api_key is created at key-one, then two workflow runs change it.
    for (const [runId, value] of [
      [100, 'key-one'],
      [101, 'key-two'],
      [102, 'key-three']
    ] as const) {
      const pushed = await run('release', { secrets: JSON.stringify({ API_KEY: value }) }, workflowRun(runId))
      expect(errorOf(pushed)).toBe('')
    }
    const listing = await run('release', { 'restore-to': 'run:101' }, workflowRun(103))
    expect(listing.exitCode).not.toBe(0)
    expect(errorOf(listing)).toMatch(
      /::error::Nothing was written: reading SSM failed\. AWS denied ssm:GetParametersByPath on arn:aws:ssm:eu-west-1:\d+:parameter\/zerotouch\/prod\/payments-api: .*\[ZT120\]$/
    )

    const restored = await run('restoring', { 'restore-to': 'run:101' }, workflowRun(103))
    expect(errorOf(restored)).toBe('')
    expect(restored.exitCode).toBe(0)
    expect(restored.outputs).toMatchObject({ updated: '["api_key"]', changed: 'true' })
    expect(JSON.parse(restored.outputs.versions)).toEqual({ api_key: 4 })

    // The restoring user reads the history it restored from: run 101's value is back, as version 4.
    const ssm = iam.ssmAs('restoring')
    try {
      const own = await ssm.send(
        new GetParameterHistoryCommand({ Name: `${SERVICE_PATH}/api_key`, WithDecryption: true })
      )
      expect(own.Parameters?.map(({ Version, Value }) => [Version, Value])).toEqual([
        [1, 'key-one'],
        [2, 'key-two'],
        [3, 'key-three'],
        [4, 'key-two']
      ])
      expect(own.Parameters?.[3].Description?.split('); ')).toEqual([
        expect.stringMatching(/^restored from version 2 \(as of \S+$/),
        provenance(103)
      ])
    } finally {
      ssm.destroy()
    }
  })

  it('needs DescribeParameters on "*" to update a parameter: without it, or scoped to the service, it is named and nothing is written', async () => {
    const pushed = await run('release', { secrets: '{"API_KEY": "key-one"}' })
    expect(errorOf(pushed)).toBe('')
    for (const user of ['no-describe', 'describe-scoped']) {
      const denied = await run(user, { secrets: '{"API_KEY": "key-two", "NEW_KEY": "new-one"}' })
      expect(denied.exitCode).not.toBe(0)
      expect(errorOf(denied)).toMatch(
        /^::error::Nothing was written: reading SSM failed\. AWS denied ssm:DescribeParameters on \*: .*\[ZT120\]$/
      )
    }
    // A first push creates only: it reads no tier.
    const created = await run('no-describe', { secrets: '{"NEW_KEY": "new-one"}' })
    expect(errorOf(created)).toBe('')
    const ssm = iam.ssmAs('release')
    try {
      const { Parameters } = await ssm.send(
        new GetParametersCommand({
          Names: [`${SERVICE_PATH}/api_key`, `${SERVICE_PATH}/new_key`],
          WithDecryption: true
        })
      )
      expect(Parameters?.map(({ Name, Version }) => [Name, Version]).sort()).toEqual([
        [`${SERVICE_PATH}/api_key`, 1],
        [`${SERVICE_PATH}/new_key`, 1]
      ])
    } finally {
      ssm.destroy()
    }
  })

  it('needs GetParameterHistory to update a parameter holding 100 versions (the labels of its oldest)', async () => {
    const ssm = iam.ssmAs('release')
    try {
      for (let version = 1; version <= 100; version++)
        await ssm.send(
          new PutParameterCommand({
            Name: `${SERVICE_PATH}/api_key`,
            Value: `key-${version}`,
            Type: 'SecureString',
            Overwrite: version > 1
          })
        )
    } finally {
      ssm.destroy()
    }
    const denied = await run('no-history', { secrets: '{"API_KEY": "key-next"}' })
    expect(denied.exitCode).not.toBe(0)
    expect(errorOf(denied)).toMatch(
      /^::error::Nothing was written: reading SSM failed\. AWS denied ssm:GetParameterHistory on arn:aws:ssm:eu-west-1:\d+:parameter\/zerotouch\/prod\/payments-api\/api_key: .*\[ZT120\]$/
    )
    const written = await run('release', { secrets: '{"API_KEY": "key-next"}' })
    expect(errorOf(written)).toBe('')
    expect(written.outputs.versions).toBe('{"api_key":101}')
  })

  it("grants GetParameterHistory on the service's parameters only, per ARN", async () => {
    const pushed = await run('release', { secrets: '{"API_KEY": "key-one"}' }, workflowRun(100))
    expect(errorOf(pushed)).toBe('')
    const ssm = iam.ssmAs('restoring')
    try {
      const own = await ssm.send(
        new GetParameterHistoryCommand({ Name: `${SERVICE_PATH}/api_key`, WithDecryption: true })
      )
      expect(own.Parameters?.map(({ Version, Value }) => [Version, Value])).toEqual([[1, 'key-one']])
      await expect(
        ssm.send(new GetParameterHistoryCommand({ Name: '/zerotouch/prod/billing/api_key', WithDecryption: true }))
      ).rejects.toMatchObject({
        name: 'AccessDeniedException',
        message: expect.stringMatching(
          /on resource: arn:aws:ssm:eu-west-1:\d+:parameter\/zerotouch\/prod\/billing\/api_key because no identity-based policy allows the ssm:GetParameterHistory action/
        )
      })
    } finally {
      ssm.destroy()
    }
  })
})

describe("the README's IAM policy with replica regions", () => {
  const secrets = '{"DATABASE_URL": "postgres://one", "API_KEY": "key-one"}'
  const names = [`${SERVICE_PATH}/api_key`, `${SERVICE_PATH}/database_url`]

  it('naming only the primary region, is refused in the replica before any write in any region, naming the region and ssm:GetParameters', async () => {
    const denied = await run('primary-only', { secrets, 'replica-regions': REPLICA })
    expect(denied.exitCode).not.toBe(0)
    const error = errorOf(denied)
    expect(error).toMatch(
      new RegExp(`^::error::Nothing was written in any region: reading SSM failed in ${REPLICA}\\. \\[ZT120\\]\\n`)
    )
    expect(error).toMatch(
      new RegExp(
        `^  - ${REPLICA}: AWS denied ssm:GetParameters on arn:aws:ssm:${REPLICA}:\\d+:parameter${SERVICE_PATH}/`,
        'm'
      )
    )
    // The primary could be read and planned two creates: nothing was written there, nor in the replica.
    expect(await namesIn(PRIMARY)).toEqual([])
    expect(await namesIn(REPLICA)).toEqual([])
    // The same policy serves the primary alone: the refusal was the replica's.
    const primaryAlone = await run('primary-only', { secrets })
    expect(errorOf(primaryAlone)).toBe('')
    expect(await namesIn(PRIMARY)).toEqual(names)
    expect(await namesIn(REPLICA)).toEqual([])
  })

  it('granting the primary and the replica ARNs, creates, then updates and tags, in both regions', async () => {
    const created = await run('each-region', { secrets, 'replica-regions': REPLICA, tags: 'team=payments' })
    expect(errorOf(created)).toBe('')
    const everything = { created: ['api_key', 'database_url'], updated: [], unchanged: [], deleted: [] }
    expect(JSON.parse(created.outputs.regions)).toEqual({ [PRIMARY]: everything, [REPLICA]: everything })

    // An update reads each region's tags and tiers (ListTagsForResource, DescribeParameters) and tags what lacks one.
    const updated = await run('each-region', {
      secrets: '{"DATABASE_URL": "postgres://two", "API_KEY": "key-one"}',
      'replica-regions': REPLICA,
      tags: 'team=payments\nowner=platform'
    })
    expect(errorOf(updated)).toBe('')
    const update = { created: [], updated: ['database_url'], unchanged: ['api_key'], deleted: [] }
    expect(JSON.parse(updated.outputs.regions)).toEqual({ [PRIMARY]: update, [REPLICA]: update })

    // The replica holds the values, read as the per-region user itself.
    const ssm = iam.ssmAs('each-region', REPLICA)
    try {
      const { Parameters } = await ssm.send(new GetParametersCommand({ Names: names, WithDecryption: true }))
      expect(Parameters?.map(({ Name, Value, Version }) => [Name, Value, Version]).sort()).toEqual([
        [names[0], 'key-one', 1],
        [names[1], 'postgres://two', 2]
      ])
    } finally {
      ssm.destroy()
    }
  })
})
