import { ActionError, type ErrorCode } from '../errors.js'
import {
  describeStore,
  describeStoreRead,
  CES_PLURAL,
  clusterExternalSecretOf,
  ESO_GROUP,
  ESO_PLURAL,
  esoApiVersion,
  missingStores,
  storeRefsOf,
  type ExternalSecret,
  type SecretStore
} from '../eso/model.js'
import type { ClusterSettings } from '../k8s/api.js'
import { readStores, type ExternalSecretsApi } from '../eso/api.js'
import { forbiddenMessage, KubeError, stopOnKubeError, type Permission } from '../k8s/errors.js'
import { matchesLabelSelector, type LabelSelector } from '../k8s/label-selector.js'
import { inNamespace, qualifiedName } from '../k8s/types.js'
import type { RunMode } from '../phase.js'
import type { Redactor } from '../secrets/redact.js'
import type { WorkloadsApi } from '../workloads/api.js'
import { WORKLOAD_RESOURCES, type RestartPolicy, type WorkloadKind } from '../workloads/model.js'

/**
 * The pre-flight: everything about the cluster that can be known before anything is written. It
 * connects and authenticates (the discovery call), finds the external-secrets.io version, then
 * checks at once that each namespace exists, that the identity holds every permission the run
 * needs there (SelfSubjectAccessReview, one per verb and namespace), and that the label selector
 * selects an ExternalSecret in each namespace (or the definitions will bring one). Every problem
 * is reported together, and the run stops before its first write.
 */

/** The pre-flight's slice of the configuration. */
export interface PreflightConfig {
  /** `check`: the run only reads; the permissions asked for are read verbs. */
  readonly mode: RunMode
  readonly cluster: Pick<ClusterSettings, 'namespaces'>
  readonly selector: LabelSelector
  /** With `wait`, the sync phase watches Events too. */
  readonly sync: { readonly wait: boolean }
  /** With `restart: changed`, the rollout lists, watches and patches the workloads. */
  readonly rollout: { readonly restart: RestartPolicy }
  /** With `prune`, every ExternalSecret of the namespaces guards the parameters it reads, selected or not. */
  readonly write: { readonly prune: boolean }
}

/** The overlay's objects, when definitions are given: the ExternalSecrets and the stores Git will apply. */
export interface RenderedObjects {
  /** In checkCluster, with their namespace filled in (the first of `namespace` when the overlay leaves it out). */
  readonly externalSecrets: readonly ExternalSecret[]
  readonly stores: readonly SecretStore[]
}

/**
 * What the later phases reuse: the version of external-secrets.io the cluster serves, every live
 * ExternalSecret of the namespaces (selected or not), the stores they (and the rendered ones) read through, and
 * the workload kinds the cluster serves (Rollout only where the Argo Rollouts CRD is installed).
 */
export interface ClusterCheck {
  readonly apiVersion: string
  readonly externalSecrets: readonly ExternalSecret[]
  readonly stores: readonly SecretStore[]
  readonly workloadKinds: readonly WorkloadKind[]
}

export interface PreflightDependencies {
  readonly kube: ExternalSecretsApi & Pick<WorkloadsApi, 'servedWorkloadKinds'>
  readonly redact: Redactor
  readonly log?: (line: string) => void
}

const NOTHING_WRITTEN = 'Nothing was written'

interface Problem {
  readonly code: ErrorCode
  readonly message: string
}

/**
 * The permissions the run needs in a namespace. Check mode reads only: the ExternalSecrets (listed), the operator's
 * Events (the error of one not Ready), the workloads of each kind the cluster serves, their pods and the metadata of
 * their Secrets (whether the pods run the current data). A release: the wait watches Events too; the rollout the workloads of each kind
 * the cluster serves (rollouts.argoproj.io only where the CRD is installed: a cluster without it needs no rule), their
 * pods (whether they started before the data) and the metadata of their Secrets (when the data was written: `get`
 * asked for as PartialObjectMetadata, so never a value).
 */
export function permissionsNeeded(
  namespace: string,
  { mode, sync, rollout }: Pick<PreflightConfig, 'mode' | 'sync' | 'rollout'>,
  workloadKinds: readonly WorkloadKind[]
): Permission[] {
  const grant = (group: string, resource: string, verbs: readonly string[]) =>
    verbs.map((verb) => ({ verb, group, resource, namespace }))
  if (mode === 'check')
    return [
      ...grant(ESO_GROUP, ESO_PLURAL, ['list']),
      ...grant('', 'events', ['list']),
      ...workloadKinds.flatMap((kind) =>
        grant(WORKLOAD_RESOURCES[kind].group, WORKLOAD_RESOURCES[kind].plural, ['list'])
      ),
      ...grant('', 'pods', ['list']),
      ...grant('', 'secrets', ['get'])
    ]
  return [
    ...grant(ESO_GROUP, ESO_PLURAL, ['list', 'watch', 'patch']),
    ...(sync.wait ? grant('', 'events', ['list', 'watch']) : []),
    ...(rollout.restart === 'changed'
      ? [
          ...workloadKinds.flatMap((kind) =>
            grant(WORKLOAD_RESOURCES[kind].group, WORKLOAD_RESOURCES[kind].plural, ['list', 'watch', 'patch'])
          ),
          ...grant('', 'pods', ['list']),
          ...grant('', 'secrets', ['get'])
        ]
      : [])
  ]
}

/** `rendered`: what the definitions will bring, which need not be in the cluster yet. */
export async function checkCluster(
  config: PreflightConfig,
  rendered: RenderedObjects,
  deps: PreflightDependencies
): Promise<ClusterCheck> {
  const { kube, redact } = deps
  // The first request: where an unreachable server or rejected credentials show.
  const apiVersion = await stopOnKubeError(() => kube.discoverVersion(), NOTHING_WRITTEN, redact)
  const workloadKinds = await stopOnKubeError(() => kube.servedWorkloadKinds(), NOTHING_WRITTEN, redact)
  const namespaces = config.cluster.namespaces
  const [existing, denied] = await Promise.all([
    stopOnKubeError(
      () => Promise.all(namespaces.map((namespace) => kube.namespaceExists(namespace))),
      NOTHING_WRITTEN,
      redact
    ),
    stopOnKubeError(
      () =>
        deniedPermissions(
          namespaces.flatMap((namespace) => permissionsNeeded(namespace, config, workloadKinds)),
          kube
        ),
      NOTHING_WRITTEN,
      redact
    )
  ])
  const missing = namespaces.filter((_, index) => existing[index] === false)
  const problems: Problem[] = [
    ...missing.map((namespace) => ({
      code: 'ZT143' as const,
      message: `namespace "${namespace}" does not exist in the cluster: check the namespace and kube-context inputs`
    })),
    ...denied.map((permission) => ({ code: 'ZT142' as const, message: forbiddenMessage(permission) }))
  ]
  const listable = namespaces.filter(
    (namespace) =>
      !missing.includes(namespace) &&
      !denied.some(
        ({ verb, group, resource, namespace: where }) =>
          where === namespace && verb === 'list' && group === ESO_GROUP && resource === ESO_PLURAL
      )
  )
  const live = await stopOnKubeError(() => listExternalSecrets(listable, apiVersion, kube), NOTHING_WRITTEN, redact)
  const selected = live.filter((es) => matchesLabelSelector(config.selector, es.metadata.labels))
  const empty = listable.filter(
    (namespace) =>
      !selected.some((es) => es.metadata.namespace === namespace) &&
      !rendered.externalSecrets.some((es) => es.metadata.namespace === namespace)
  )
  // A selected ExternalSecret a ClusterExternalSecret controls is force-synced through it (sync/route.ts): a patch at
  // the cluster scope, asked about only then, and never in check mode, which annotates nothing.
  const owners =
    config.mode === 'release' ? [...new Set(selected.flatMap((es) => clusterExternalSecretOf(es) ?? []))].sort() : []
  const deniedOwners = owners.length
    ? await stopOnKubeError(() => deniedPermissions([CES_PATCH], kube), NOTHING_WRITTEN, redact)
    : []
  problems.push(
    ...deniedOwners.map((permission) => ({
      code: 'ZT142' as const,
      message: `${forbiddenMessage(permission)} The selected ExternalSecrets it controls are force-synced through ClusterExternalSecret ${owners.map((name) => `"${name}"`).join(', ')}.`
    })),
    ...empty.map((namespace) => ({
      code: 'ZT143' as const,
      message: `no ExternalSecret matches label selector "${config.selector.text}" in namespace "${namespace}": check the namespace and label-selector inputs, and that the ExternalSecrets carry the label`
    }))
  )
  // The stores the operator reads them through (the overlay's own first): what their keys resolve to.
  const readers = [...(config.write.prune ? live : selected), ...rendered.externalSecrets]
  const checked = await stopOnKubeError(() => checkStores(readers, rendered, apiVersion, kube), NOTHING_WRITTEN, redact)
  problems.push(...checked.problems)
  if (problems.length) {
    throw new ActionError(
      problems[0].code,
      `Nothing was written: the cluster check found ${problems.length} problem${problems.length === 1 ? '' : 's'}:`,
      problems.map(({ message }) => redact(message))
    )
  }
  deps.log?.(
    `Cluster checked: ${esoApiVersion(apiVersion)}; namespaces ${namespaces.join(', ')} exist${existing.includes(undefined) ? ' (or may not be read)' : ''}${workloadKinds.includes('Rollout') ? '; Argo Rollouts is installed' : ''}; every permission the run needs is granted.`
  )
  if (checked.stores.length) deps.log?.(`Keys resolve through ${checked.stores.map(describeStoreRead).join(', ')}.`)
  const stores = checked.stores.filter((store) => !rendered.stores.includes(store))
  return { apiVersion, externalSecrets: live, stores, workloadKinds }
}

/**
 * The stores the ExternalSecrets read through (`rendered` ones as rendered, the others read once each):
 * one that does not exist, or that the identity may not get, is a problem naming it.
 */
async function checkStores(
  readers: readonly ExternalSecret[],
  rendered: RenderedObjects,
  version: string,
  kube: ExternalSecretsApi
): Promise<{ stores: SecretStore[]; problems: Problem[] }> {
  let stores: SecretStore[]
  try {
    stores = await readStores(kube, version, readers.flatMap(storeRefsOf), rendered.stores)
  } catch (error) {
    if (!(error instanceof KubeError && error.kind === 'forbidden')) throw error
    return { stores: [...rendered.stores], problems: [{ code: 'ZT142', message: error.message }] }
  }
  const where = rendered.externalSecrets.length ? 'in the cluster nor in the definitions' : 'in the cluster'
  const problems = readers.flatMap((es) =>
    missingStores(es, stores).map((ref) => ({
      code: 'ZT144' as const,
      message: `ExternalSecret ${qualifiedName(es)} reads through ${describeStore(ref)}, which does not exist ${where}: the operator cannot sync it, and the action cannot tell which parameters it reads; create the store or fix spec.secretStoreRef`
    }))
  )
  return { stores, problems }
}

/**
 * The permissions a SelfSubjectAccessReview denies. A cluster that refuses the review itself (it
 * is granted to every authenticated user by default) leaves the calls to say it later.
 */
async function deniedPermissions(permissions: readonly Permission[], kube: ExternalSecretsApi): Promise<Permission[]> {
  try {
    const allowed = await Promise.all(permissions.map((permission) => kube.accessAllowed(permission)))
    return permissions.filter((_, index) => !allowed[index])
  } catch (error) {
    if (error instanceof KubeError && (error.kind === 'forbidden' || error.kind === 'not-found')) return []
    throw error
  }
}

/** The ClusterExternalSecret patch of the force-sync through it: cluster-scoped. */
const CES_PATCH: Permission = { verb: 'patch', group: ESO_GROUP, resource: CES_PLURAL }

/** Every ExternalSecret of the namespaces, selected or not (one list each), with its namespace filled in. */
async function listExternalSecrets(
  namespaces: readonly string[],
  version: string,
  kube: ExternalSecretsApi
): Promise<ExternalSecret[]> {
  const lists = await Promise.all(namespaces.map((namespace) => kube.listExternalSecrets({ version, namespace })))
  return namespaces.flatMap((namespace, index) =>
    lists[index].items.map((es) => inNamespace(es, namespace)).filter((es) => es.metadata.namespace === namespace)
  )
}
