/**
 * The action: the bundle run with plain node as the GitHub runner runs it (INPUT_* variables and command files,
 * testing/action.ts). It runs from a copy of dist/ taken when the benchmark starts, so a rebuild during the run
 * cannot change or break what is measured.
 */
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseOutputFile, runnerEnvironment } from '../../testing/action.ts'
import { AWS_ENV, ENVIRONMENT, REGION, REPLICA_REGIONS, SERVICE } from '../workload.ts'
import { timedSpawn, type PushTool, type ReleaseTool, type SyncTool, type ToolRun } from './tool.ts'

export interface Bundle {
  /** The copy's index.js. */
  readonly entry: string
  /** sha256 of dist/index.js as copied. */
  readonly sha256: string
  remove(): void
}

/** Copies dist/ once it is complete (present, and the same size for a second: not in the middle of a rebuild). */
export async function snapshotBundle(): Promise<Bundle> {
  const size = () => (existsSync('dist/index.js') ? statSync('dist/index.js').size : -1)
  for (let attempt = 0; attempt < 60; attempt++) {
    const before = size()
    await delay(1000)
    if (before > 0 && size() === before) break
  }
  const dir = mkdtempSync(join(tmpdir(), 'zerotouch-bench-dist-'))
  cpSync('dist', join(dir, 'dist'), { recursive: true })
  const entry = join(dir, 'dist', 'index.js')
  return {
    entry,
    sha256: createHash('sha256').update(readFileSync(entry)).digest('hex'),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

async function runAction(bundle: Bundle, inputs: Record<string, string>): Promise<ToolRun> {
  const dir = mkdtempSync(join(tmpdir(), 'zerotouch-bench-run-'))
  try {
    const runner = runnerEnvironment(
      { environment: ENVIRONMENT, service: SERVICE, 'aws-region': REGION, ...inputs },
      dir
    )
    const run = await timedSpawn(process.execPath, [bundle.entry], { ...AWS_ENV, ...runner })
    return { ...run, outputs: parseOutputFile(readFileSync(runner.GITHUB_OUTPUT, 'utf8')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The action's push, sync and release; and `replicated`, its push into REGION and every one of REPLICA_REGIONS
 * (`replica-regions`, the one `ssm-endpoint` serving them all).
 */
export function actionTools(bundle: Bundle): {
  push: PushTool
  replicated: PushTool
  sync: SyncTool
  release: ReleaseTool
} {
  const label = 'action (dist/index.js)'
  return {
    push: {
      id: 'action',
      label,
      push: ({ ssmEndpoint, secrets }) =>
        runAction(bundle, { 'ssm-endpoint': ssmEndpoint, secrets: JSON.stringify(secrets) })
    },
    replicated: {
      id: 'action-replicas',
      label: `action (dist/index.js), replica-regions ${REPLICA_REGIONS.join(', ')}`,
      push: ({ ssmEndpoint, secrets }) =>
        runAction(bundle, {
          'ssm-endpoint': ssmEndpoint,
          secrets: JSON.stringify(secrets),
          'replica-regions': REPLICA_REGIONS.join(',')
        })
    },
    sync: {
      id: 'action',
      label,
      sync: ({ ssmEndpoint, namespace, kubeconfig }) =>
        runAction(bundle, { 'ssm-endpoint': ssmEndpoint, namespace, kubeconfig })
    },
    release: {
      id: 'action',
      label,
      release: ({ ssmEndpoint, secrets, namespace, kubeconfig }) =>
        runAction(bundle, {
          'ssm-endpoint': ssmEndpoint,
          secrets: JSON.stringify(secrets),
          namespace,
          kubeconfig,
          restart: 'changed'
        })
    }
  }
}
