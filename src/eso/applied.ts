import { asArray, asRecord, isRecord } from '../json.js'

/**
 * What the tool that applied an object from Git left in it, telling which fields it applied: the last-applied
 * configuration of client-side apply, or the managedFields entry of server-side apply. A field it applied that Git no
 * longer has was removed in Git. Pure; reads the object as the API server sends it.
 */

type Segment = string | number

export type AppliedRecord =
  /** `metadata.managedFields[]` with operation Apply: `fieldsV1` lists exactly the fields the manager applied. */
  | { readonly via: 'server-side'; readonly manager: string; readonly fields: Record<string, unknown> }
  /** The object as last applied, from `kubectl.kubernetes.io/last-applied-configuration`. */
  | { readonly via: 'client-side'; readonly config: Record<string, unknown> }

/** kubectl's client-side apply annotation (k8s.io/kubectl `pkg/util/apply.go`, corev1.LastAppliedConfigAnnotation). */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration'

/**
 * The field managers that server-side apply Git's manifests: Argo CD's (argo-cd `common/common.go`,
 * ArgoCDSSAManager) and kubectl's default for `kubectl apply --server-side` (k8s.io/kubectl `pkg/cmd/apply/apply.go`,
 * FieldManagerServerSide). On a tie in time, the first.
 */
export const SERVER_SIDE_APPLIERS = ['argocd-controller', 'kubectl'] as const

/**
 * The managers whose `Update` writes a client-side apply is: kubectl's default (`kubectl-client-side-apply`,
 * k8s.io/kubectl `pkg/cmd/apply/apply.go`) and Argo CD's, which passes its manager to client-side apply too
 * (argo-cd `gitops-engine/pkg/utils/kube/resource_ops.go`, `o.FieldManager = manager`).
 */
const CLIENT_SIDE_APPLIERS = ['kubectl-client-side-apply', 'argocd-controller']

/**
 * The record of the latest apply, or undefined when the object carries none. Both can be there: Argo CD moving from
 * client-side to server-side apply keeps the annotation, which only kubectl's own server-side apply keeps current
 * (k8s.io/apimachinery `pkg/util/managedfields/internal/lastappliedupdater.go`); a client-side apply after a
 * server-side one leaves the Apply entry as it was. So the newer wins: the Apply entry's time against the time of the
 * client-side applier's Update entry. The Apply entry wins a tie, and when the annotation's write has no entry (a
 * migration to server-side apply moves it into the Apply entry: argo-cd `gitops-engine/pkg/sync/sync_context.go`,
 * performCSAUpgradeMigration).
 */
export function appliedRecord(live: unknown): AppliedRecord | undefined {
  const metadata = asRecord(asRecord(live)?.metadata)
  const entries = asArray(metadata?.managedFields).flatMap((item) => {
    const entry = asRecord(item)
    return entry ? [entry] : []
  })
  const applied = entries
    .filter(
      (entry) =>
        entry.operation === 'Apply' &&
        SERVER_SIDE_APPLIERS.some((manager) => manager === entry.manager) &&
        isRecord(entry.fieldsV1)
    )
    .sort((a, b) => timeOf(b) - timeOf(a) || appliers(a) - appliers(b))[0]
  const config = lastApplied(asRecord(metadata?.annotations)?.[LAST_APPLIED_ANNOTATION])
  const configTime = Math.max(
    ...entries
      .filter((entry) => entry.operation === 'Update' && CLIENT_SIDE_APPLIERS.includes(String(entry.manager)))
      .map(timeOf)
  )
  if (applied && !(config && configTime > timeOf(applied)))
    return { via: 'server-side', manager: String(applied.manager), fields: asRecord(applied.fieldsV1) ?? {} }
  return config && { via: 'client-side', config }
}

/**
 * Whether the applier applied the field at this path. The ExternalSecret CRD gives its lists no
 * `x-kubernetes-list-type`, so each is atomic (k8s.io/apiextensions-apiserver `pkg/apis/apiextensions/v1/types_jsonschema.go`,
 * XListType: "Defaults to atomic for arrays"): server-side apply owns a list whole (`f:data: {}`), and every field
 * inside a list it owns is its own.
 */
export function appliedHas(record: AppliedRecord, path: readonly Segment[]): boolean {
  let node: unknown = record.via === 'server-side' ? record.fields : record.config
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (record.via === 'server-side') return true
      if (!Array.isArray(node) || segment >= node.length) return false
      node = node[segment]
    } else {
      node = asRecord(node)?.[record.via === 'server-side' ? `f:${segment}` : segment]
      if (node === undefined || node === null) return false
    }
  }
  return true
}

function lastApplied(annotation: unknown): Record<string, unknown> | undefined {
  if (typeof annotation !== 'string') return undefined
  try {
    return asRecord(JSON.parse(annotation))
  } catch {
    return undefined
  }
}

/** An entry's time in ms, or -Infinity when it has none. */
function timeOf(entry: Record<string, unknown>): number {
  const time = typeof entry.time === 'string' ? Date.parse(entry.time) : NaN
  return Number.isNaN(time) ? -Infinity : time
}

function appliers(entry: Record<string, unknown>): number {
  return SERVER_SIDE_APPLIERS.findIndex((manager) => manager === entry.manager)
}
