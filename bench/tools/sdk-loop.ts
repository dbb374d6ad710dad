/** The naive SDK loop, bench/baselines/sdk-loop.ts, in its own node process like the other tools. */
import { AWS_ENV, ENVIRONMENT, SERVICE } from '../workload.ts'
import { secretsEnvironment, timedSpawn, type PushTool } from './tool.ts'

export const sdkLoopPush: PushTool = {
  id: 'sdk-loop',
  label: 'naive SDK loop (@aws-sdk/client-ssm, sequential)',
  push: ({ ssmEndpoint, secrets }) =>
    timedSpawn(process.execPath, ['bench/baselines/sdk-loop.ts'], {
      ...AWS_ENV,
      ENV: ENVIRONMENT,
      SERVICE,
      SSM_ENDPOINT: ssmEndpoint,
      ...secretsEnvironment(secrets)
    })
}
