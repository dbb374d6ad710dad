import {
  AddTagsToResourceCommand,
  DeleteParametersCommand,
  DescribeParametersCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient
} from '@aws-sdk/client-ssm'
import { TIERS, type ParameterVersion, type Tier } from './rules.js'
import packageJson from '../../package.json' with { type: 'json' }
import {
  DESCRIBE_BATCH_SIZE,
  type ParameterStatus,
  type ParameterStore,
  type ParameterWrite,
  type StoredParameter
} from './store.js'

/** GetParameterHistory's largest page. */
const HISTORY_PAGE = 50

export interface AwsStoreOptions {
  readonly region: string
  readonly endpoint?: string
}

/**
 * Added to the SDK's user agent of every call (`zerotouch-secrets-action/<version>`), so that
 * CloudTrail shows which tool wrote, as aws-actions/configure-aws-credentials does.
 */
export const USER_AGENT: readonly [string, string] = [packageJson.name, packageJson.version]

/**
 * Parameter Store through the AWS SDK. The SDK's own retries are off (maxAttempts 1): its retry
 * budget gives up under a burst of throttled writes and it does not retry TooManyUpdates, so the
 * action's retry policy (retry.ts) is the only one.
 */
export function createAwsStore({ region, endpoint }: AwsStoreOptions): ParameterStore {
  const client = new SSMClient({ region, endpoint, maxAttempts: 1, customUserAgent: [[...USER_AGENT]] })
  return {
    async getParameters(names, decrypt) {
      const out = await client.send(new GetParametersCommand({ Names: [...names], WithDecryption: decrypt }))
      const found = (out.Parameters ?? []).map((p): StoredParameter => ({
        name: p.Name ?? '',
        value: p.Value ?? '',
        type: p.Type ?? '',
        version: p.Version ?? 0
      }))
      return { found, missing: out.InvalidParameters ?? [] }
    },

    async describeParameters(names) {
      const described: ParameterStatus[] = []
      let NextToken: string | undefined
      do {
        const out = await client.send(
          new DescribeParametersCommand({
            ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [...names] }],
            MaxResults: DESCRIBE_BATCH_SIZE,
            NextToken
          })
        )
        described.push(
          ...(out.Parameters ?? []).map((p) => ({
            name: p.Name ?? '',
            tier: tierOf(p.Tier),
            version: p.Version ?? 0,
            description: p.Description,
            modifiedAt: p.LastModifiedDate?.getTime(),
            modifiedBy: p.LastModifiedUser
          }))
        )
        NextToken = out.NextToken
      } while (NextToken)
      return described
    },

    async listNames(path) {
      const names: string[] = []
      let NextToken: string | undefined
      do {
        const out = await client.send(
          new GetParametersByPathCommand({
            Path: path,
            Recursive: false,
            WithDecryption: false,
            MaxResults: 10,
            NextToken
          })
        )
        names.push(...(out.Parameters ?? []).map((p) => p.Name ?? ''))
        NextToken = out.NextToken
      } while (NextToken)
      return names
    },

    async getHistoryPage(name, decrypt, nextToken) {
      const out = await client.send(
        new GetParameterHistoryCommand({
          Name: name,
          WithDecryption: decrypt,
          MaxResults: HISTORY_PAGE,
          NextToken: nextToken
        })
      )
      const versions = (out.Parameters ?? []).map((p): ParameterVersion => ({
        version: p.Version ?? 0,
        value: p.Value ?? '',
        modifiedAt: p.LastModifiedDate?.getTime() ?? 0,
        description: p.Description,
        labels: p.Labels ?? [],
        tier: tierOf(p.Tier)
      }))
      return { versions, nextToken: out.NextToken }
    },

    async getTags(name) {
      const out = await client.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }))
      return Object.fromEntries((out.TagList ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']))
    },

    async putParameter(write: ParameterWrite) {
      const out = await client.send(
        new PutParameterCommand({
          Name: write.name,
          Value: write.value,
          Type: 'SecureString',
          Overwrite: write.overwrite,
          Tier: write.tier,
          KeyId: write.kmsKeyId,
          Description: write.description,
          Tags: write.tags ? toTagList(write.tags) : undefined
        })
      )
      return out.Version ?? 0
    },

    async addTags(name, tags) {
      await client.send(
        new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: name, Tags: toTagList(tags) })
      )
    },

    async deleteParameters(names) {
      const out = await client.send(new DeleteParametersCommand({ Names: [...names] }))
      return { deleted: out.DeletedParameters ?? [], missing: out.InvalidParameters ?? [] }
    }
  }
}

/** SSM answers one of its three tiers; anything else is read as Standard, the tier of a parameter created without one. */
function tierOf(tier: string | undefined): Tier {
  return TIERS.find((known) => known === tier) ?? 'Standard'
}

function toTagList(tags: Readonly<Record<string, string>>) {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
}
