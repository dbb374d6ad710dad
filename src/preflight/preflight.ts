import { ActionError, type ErrorCode } from '../errors.js'
import { ESO_GROUP, ESO_PLURAL, esoApiVersion } from '../eso/model.js'
import type { ClusterSettings } from '../k8s/api.js'
import type { ExternalSecretsApi } from '../eso/api.js'
import { forbiddenMessage, KubeError, stopOnKubeError, type Permission } from '../k8s/errors.js'
import type { LabelSelector } from '../k8s/label-selector.js'
import type { ObjectRef } from '../k8s/types.js'
import type { Redactor } from '../secrets/redact.js'
import { WORKLOAD_GROUP, WORKLOAD_KINDS, WORKLOAD_PLURALS, type RestartPolicy } from '../workloads/model.js'

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
  readonly cluster: Pick<ClusterSettings, 'namespaces'>
  readonly selector: LabelSelector
  /** With `wait`, the sync phase watches Events too. */
  readonly sync: { readonly wait: boolean }
  /** With `restart: changed`, the rollout lists, watches and patches the workloads. */
  readonly rollout: { readonly restart: RestartPolicy }
}

/** What the later phases reuse: the version of external-secrets.io the cluster serves. */
export interface ClusterCheck {
  readonly apiVersion: string
}

export interface PreflightDependencies {
  readonly kube: ExternalSecretsApi
  readonly redact: Redactor
  readonly log?: (line: string) => void
}

const NOTHING_WRITTEN = 'Nothing was written'

interface Problem {
  readonly code: ErrorCode
  readonly message: string
}

/**
 * The permissions the run needs in a namespace: the wait watches Events too; the rollout the workloads, their pods
 * (whether they started before the data) and the metadata of their Secrets (when the data was written: `get`
 * asked for as PartialObjectMetadata, so never a value).
 */
export function permissionsNeeded(
  namespace: string,
  { sync, rollout }: Pick<PreflightConfig, 'sync' | 'rollout'>
): Permission[] {
  const grant = (group: string, resource: string, verbs: readonly string[]) =>
    verbs.map((verb) => ({ verb, group, resource, namespace }))
  return [
    ...grant(ESO_GROUP, ESO_PLURAL, ['list', 'watch', 'patch']),
    ...(sync.wait ? grant('', 'events', ['list', 'watch']) : []),
    ...(rollout.restart === 'changed'
      ? [
          ...WORKLOAD_KINDS.flatMap((kind) =>
            grant(WORKLOAD_GROUP, WORKLOAD_PLURALS[kind], ['list', 'watch', 'patch'])
          ),
          ...grant('', 'pods', ['list']),
          ...grant('', 'secrets', ['get'])
        ]
      : [])
  ]
}

/** `expected`: the ExternalSecrets the rendered definitions will bring, which need not be in the cluster yet. */
export async function checkCluster(
  config: PreflightConfig,
  expected: readonly ObjectRef[],
  deps: PreflightDependencies
): Promise<ClusterCheck> {
  const { kube, redact } = deps
  const apiVersion = await stopOnKubeError(() => kube.discoverVersion(), NOTHING_WRITTEN, redact)
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
          namespaces.flatMap((namespace) => permissionsNeeded(namespace, config)),
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
      !denied.some((permission) => permission.namespace === namespace && permission.verb === 'list')
  )
  const empty = await stopOnKubeError(
    () => namespacesSelectingNothing(listable, apiVersion, config.selector, expected, kube),
    NOTHING_WRITTEN,
    redact
  )
  problems.push(
    ...empty.map((namespace) => ({
      code: 'ZT143' as const,
      message: `no ExternalSecret matches label selector "${config.selector.text}" in namespace "${namespace}": check the namespace and label-selector inputs, and that the ExternalSecrets carry the label`
    }))
  )
  if (problems.length) {
    throw new ActionError(
      problems[0].code,
      `Nothing was written: the cluster check found ${problems.length} problem${problems.length === 1 ? '' : 's'}:`,
      problems.map(({ message }) => redact(message))
    )
  }
  deps.log?.(
    `Cluster checked: ${esoApiVersion(apiVersion)}; namespaces ${namespaces.join(', ')} exist${existing.includes(undefined) ? ' (or may not be read)' : ''}; every permission the run needs is granted.`
  )
  return { apiVersion }
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

async function namespacesSelectingNothing(
  namespaces: readonly string[],
  version: string,
  selector: LabelSelector,
  expected: readonly ObjectRef[],
  kube: ExternalSecretsApi
): Promise<string[]> {
  const lists = await Promise.all(
    namespaces.map((namespace) => kube.listExternalSecrets({ version, namespace, labelSelector: selector.text }))
  )
  return namespaces.filter(
    (namespace, index) => !lists[index].items.length && !expected.some((ref) => ref.namespace === namespace)
  )
}
