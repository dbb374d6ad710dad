/**
 * Argo CD syncing an Application, as its controller does, with the real kubectl against the test API server: label
 * tracking first sets `app.kubernetes.io/instance` on every manifest to the Application's name, whatever Git says
 * (argo-cd `util/argo/resource_tracking.go`, SetAppInstance), then the manifests are applied with the controller's
 * field manager, `argocd-controller` (argo-cd `common/common.go`, ArgoCDSSAManager; passed to client-side apply too:
 * `gitops-engine/pkg/utils/kube/resource_ops.go`): client-side by default (`kubectl apply`, which leaves the
 * last-applied configuration), server-side with `ServerSideApply=true` (with --force-conflicts, as
 * resource_ops.go sets ForceConflicts for server-side apply).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseAllDocuments, stringify } from 'yaml'

const run = promisify(execFile)

export type ApplyMode = 'client-side' | 'server-side'

/** The tracking label (Argo CD's default `application.instanceLabelKey`). */
export const APP_INSTANCE_LABEL = 'app.kubernetes.io/instance'

/** Applies the manifests (a YAML stream) as Argo CD's Application `app` would. The objects must exist (kubectl's create is not served). */
export async function argoCdSync(
  kubeconfig: string,
  manifests: string,
  { app, mode }: { app: string; mode: ApplyMode }
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'argocd-sync-'))
  try {
    const tracked = parseAllDocuments(manifests)
      .map((document) => document.toJS() as { metadata: { labels?: Record<string, string> } } | null)
      .filter((object) => object !== null)
      .map((object) => {
        object.metadata.labels = { ...object.metadata.labels, [APP_INSTANCE_LABEL]: app }
        return stringify(object)
      })
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig)
    writeFileSync(join(dir, 'manifests.yaml'), tracked.join('---\n'))
    const serverSide = mode === 'server-side' ? ['--server-side', '--force-conflicts'] : []
    await run(
      'kubectl',
      [
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--cache-dir',
        join(dir, 'cache'),
        'apply',
        ...serverSide,
        '--field-manager=argocd-controller',
        '--validate=false',
        '-f',
        join(dir, 'manifests.yaml')
      ],
      { timeout: 30_000 }
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
