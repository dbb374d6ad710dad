import { clusterExternalSecretOf, type ExternalSecret } from '../eso/model.js'

/**
 * How this run's force-sync reaches each selected ExternalSecret. Pure.
 *
 * An ExternalSecret a ClusterExternalSecret controls has its annotations reset by that controller on every
 * reconcile (external-secrets pkg/controllers/clusterexternalsecret/clusterexternalsecret_controller.go,
 * createOrUpdateExternalSecret: annotations = spec.externalSecretMetadata.annotations), and an update of an owned
 * ExternalSecret is itself a reason to reconcile (`Owns`): an annotation written on it directly can be gone before
 * the operator reads it, and the operator then sees the labels and annotations it last synced and skips the refresh.
 * Only the ClusterExternalSecret's own `external-secrets.io/force-sync` is passed on to every ExternalSecret it owns:
 * such ExternalSecrets are force-synced through it, one patch per ClusterExternalSecret.
 */
export interface ForceSyncRoutes {
  /** Annotated directly, as before. */
  readonly direct: readonly ExternalSecret[]
  /** By the ClusterExternalSecret's name, in order of first appearance: the selected ExternalSecrets it controls. */
  readonly throughClusterExternalSecrets: ReadonlyMap<string, readonly ExternalSecret[]>
}

export function forceSyncRoutes(selected: readonly ExternalSecret[]): ForceSyncRoutes {
  const through = new Map<string, ExternalSecret[]>()
  const direct: ExternalSecret[] = []
  for (const es of selected) {
    const owner = clusterExternalSecretOf(es)
    if (owner === undefined) direct.push(es)
    else through.set(owner, [...(through.get(owner) ?? []), es])
  }
  return { direct, throughClusterExternalSecrets: through }
}
