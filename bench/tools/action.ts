/** The action: the bundled dist/index.js, run with plain node exactly as the GitHub runner runs it. */
import { runBundledAction } from '../../testing/action.ts'
import { AWS_ENV, ENVIRONMENT, REGION, SERVICE } from '../workload.ts'
import type { PushTool, SyncTool, ToolRun } from './tool.ts'

async function runAction(inputs: Record<string, string>): Promise<ToolRun> {
  const startedAt = performance.now()
  const run = await runBundledAction({ environment: ENVIRONMENT, service: SERVICE, 'aws-region': REGION, ...inputs }, AWS_ENV)
  return { exitCode: run.exitCode, startedAt, endedAt: performance.now(), output: run.stdout + run.stderr }
}

export const actionPush: PushTool = {
  id: 'action',
  label: 'action (dist/index.js)',
  push: ({ ssmEndpoint, secrets }) => runAction({ 'ssm-endpoint': ssmEndpoint, secrets: JSON.stringify(secrets) })
}

export const actionSync: SyncTool = {
  id: 'action',
  label: 'action (dist/index.js)',
  sync: ({ ssmEndpoint, namespace, kubeconfig }) => runAction({ 'ssm-endpoint': ssmEndpoint, namespace, kubeconfig })
}
