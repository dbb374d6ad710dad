/** The platform's script today, bench/baselines/sync-secrets-to-ssm.sh: its aws CLI loop, and its kubectl annotate + wait. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AWS_ENV, ENVIRONMENT, SERVICE } from '../workload.ts'
import { secretsEnvironment, timedSpawn, type PushTool, type SyncTool } from './tool.ts'

const SCRIPT = 'bench/baselines/sync-secrets-to-ssm.sh'

export const shellPush: PushTool = {
  id: 'shell',
  label: 'sync-secrets-to-ssm.sh (aws CLI loop)',
  push: ({ ssmEndpoint, secrets }) =>
    timedSpawn('bash', [SCRIPT], {
      ...AWS_ENV,
      ENV: ENVIRONMENT,
      SERVICE,
      SSM_ENDPOINT: ssmEndpoint,
      ...secretsEnvironment(secrets)
    })
}

export const kubectlSync: SyncTool = {
  id: 'kubectl',
  label: 'kubectl annotate + kubectl wait (sync-secrets-to-ssm.sh)',
  async sync({ namespace, kubeconfig }) {
    const dir = mkdtempSync(join(tmpdir(), 'zerotouch-bench-'))
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig)
    try {
      return await timedSpawn('bash', [SCRIPT], {
        ENV: ENVIRONMENT,
        SERVICE,
        NAMESPACE: namespace,
        KUBECONFIG: join(dir, 'kubeconfig')
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
