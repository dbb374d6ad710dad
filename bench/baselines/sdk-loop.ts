/**
 * The naive SDK loop: the shell script's push with @aws-sdk/client-ssm in one process. One PutParameter per
 * secret, in order, no diff, default client settings (standard retry mode, 3 attempts, a 500-token retry
 * budget); the first error that survives the SDK's retries stops the loop, like `set -e`.
 *
 * Environment: as bench/baselines/sync-secrets-to-ssm.sh (SECRET_NAMES, the values, ENV, SERVICE, SSM_ENDPOINT).
 */
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'

const { SECRET_NAMES = '', ENV, SERVICE, SSM_ENDPOINT } = process.env
const client = new SSMClient({ endpoint: SSM_ENDPOINT || undefined })
for (const name of SECRET_NAMES.split(' ').filter(Boolean)) {
  const key = name.toLowerCase()
  await client.send(
    new PutParameterCommand({
      Name: `/zerotouch/${ENV}/${SERVICE}/${key}`,
      Value: process.env[name],
      Type: 'SecureString',
      Overwrite: true
    })
  )
}
