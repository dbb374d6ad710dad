import pLimit from 'p-limit'
import type { ExternalSecretsApi } from '../eso/api.js'
import { eventSubject, newestEvent, UPDATE_FAILED } from '../eso/events.js'
import { readyCondition, referencesOf, type ExternalSecret, type SecretStore } from '../eso/model.js'
import { stopOnKubeError } from '../k8s/errors.js'
import { matchesLabelSelector, type LabelSelector } from '../k8s/label-selector.js'
import { inNamespace, refOf, type KubeEvent, type ObjectRef } from '../k8s/types.js'
import type { Secret } from '../secrets/keys.js'
import type { Redactor } from '../secrets/redact.js'
import { stopOnSsmError } from '../ssm/explain.js'
import { describeParameters, readHistories, readParameters, readTags, splitByOwner } from '../ssm/read.js'
import { withRetry, type RetryPolicy } from '../ssm/retry.js'
import { parameterName, type ServiceTarget } from '../ssm/rules.js'
import type { ParameterStatus, ParameterStore, RegionStore, StoredParameter } from '../ssm/store.js'
import type { WorkloadsApi } from '../workloads/api.js'
import { secretData, type SecretData } from '../workloads/current.js'
import { podSelector, resolveWorkloadRefs, type Workload, type WorkloadKind } from '../workloads/model.js'
import { behind, readersOf, secretsOf, syncedSecrets } from '../workloads/plan.js'
import type { Pod } from '../workloads/pods.js'
import {
  definitionFinding,
  editedOutside,
  extraFindings,
  latestReads,
  needsHistory,
  needsTags,
  notReadyFinding,
  regionFindings,
  type RegionParameters,
  stalePodsFinding,
  staleSecretFinding,
  valueFindings
} from './findings.js'
import { sortFindings, type Finding } from './kinds.js'

/**
 * Check mode: read SSM and the cluster, and say where they drifted from what a release would make them. Reads
 * only, batched as the push reads (GetParameters 10 names a call, DescribeParameters 50, a few calls at once, paced
 * together when throttled); writes, annotates and restarts nothing.
 */

/** Check mode's slice of the configuration. */
export interface CheckConfig {
  readonly target: ServiceTarget
  /** The secrets a release would push; empty: no key is compared. */
  readonly secrets: readonly Secret[]
  /** With prune (and secrets), the parameters a release would delete are findings (`extra`). */
  readonly write: { readonly prune: boolean }
  readonly selector: LabelSelector
}

/** What the pre-flight found of the cluster (read-only), and the calls to read the rest. */
export interface CheckCluster {
  readonly kube: ExternalSecretsApi & WorkloadsApi
  readonly namespaces: readonly string[]
  readonly apiVersion: string
  /** Every live ExternalSecret of the namespaces, selected or not, with its namespace filled in. */
  readonly externalSecrets: readonly ExternalSecret[]
  readonly stores: readonly SecretStore[]
  readonly workloadKinds: readonly WorkloadKind[]
}

export interface CheckRequest {
  readonly config: CheckConfig
  /** Absent when nothing the check compares is in SSM (no secrets, no prune, no cluster). */
  readonly store?: ParameterStore
  /** With replica-regions: aws-region's name and each replica's store; each replica's values are compared with it. */
  readonly regions?: { readonly primary: string; readonly replicas: readonly RegionStore[] }
  readonly retry: RetryPolicy
  readonly cluster?: CheckCluster
  /** The overlay's ExternalSecrets as rendered; absent without definitions. */
  readonly rendered?: readonly ExternalSecret[]
}

export interface CheckReport {
  readonly findings: readonly Finding[]
  /** How much was looked at, for the totals line. */
  readonly checked: {
    readonly keys: number
    readonly externalSecrets: number
    readonly workloads: number
    readonly definitions: number
  }
}

const SSM_FAILED = 'Check mode writes nothing: reading SSM failed.'
const KUBE_FAILED = 'Check mode writes nothing: reading the cluster failed'
const CONCURRENCY = 4

export async function checkDrift(request: CheckRequest, redact: Redactor): Promise<CheckReport> {
  const { config, cluster } = request
  const selected = (cluster?.externalSecrets ?? []).filter((es) =>
    matchesLabelSelector(config.selector, es.metadata.labels)
  )
  const ssm = await stopOnSsmError(() => readSsm(request, selected), SSM_FAILED, redact)
  const { regions } = request
  const replicas = regions
    ? await Promise.all(
        regions.replicas.map((replica) =>
          stopOnSsmError(
            () => replicaFindings(request, replica, { region: regions.primary, parameters: ssm.current }),
            `Check mode writes nothing: reading SSM in ${replica.region} failed.`,
            redact
          )
        )
      )
    : []
  const inCluster = cluster
    ? await stopOnKubeError(
        () => readCluster(cluster, selected, request.rendered ?? [], config.selector),
        KUBE_FAILED,
        redact
      )
    : { findings: [], workloads: 0 }
  const findings = [
    ...ssm.findings,
    ...replicas.flat(),
    ...selected.flatMap((es) => staleSecretFinding(es, ssm.reads.get(es) ?? [], ssm.statuses) ?? []),
    ...inCluster.findings
  ]
  return {
    findings: sortFindings(findings).map(({ kind, name, detail }) => ({ kind, name, detail: redact(detail) })),
    checked: {
      keys: config.secrets.length,
      externalSecrets: selected.length,
      workloads: inCluster.workloads,
      definitions: request.rendered?.length ?? 0
    }
  }
}

/**
 * The SSM reads: the values of the keys given (decrypted, to compare), with prune the service's path and the tags
 * of what secrets no longer has, then one DescribeParameters for the keys' parameters and those the selected
 * ExternalSecrets read (who wrote each current version, and when), then the histories of the keys whose current
 * Description is a workflow run's record (was it copied?) and the tags of those whose Description is no record of
 * the action (is the parameter the action's?).
 */
/** A replica region's values of the keys given, compared with the primary's (`region-differs`). */
async function replicaFindings(
  { config: { target, secrets }, retry }: CheckRequest,
  { region, store }: RegionStore,
  primary: RegionParameters
): Promise<Finding[]> {
  const names = secrets.map(({ key }) => parameterName(target.path, key))
  const parameters = names.length ? await readParameters(store, names, { decrypt: true, retry }) : []
  return regionFindings(names, primary, { region, parameters })
}

async function readSsm(
  { config, store, retry, cluster }: CheckRequest,
  selected: readonly ExternalSecret[]
): Promise<{
  findings: Finding[]
  /** The values of the keys given, as the primary holds them. */
  current: StoredParameter[]
  reads: Map<ExternalSecret, string[]>
  statuses: Map<string, ParameterStatus>
}> {
  if (!store) return { findings: [], current: [], reads: new Map(), statuses: new Map() }
  const { target, secrets } = config
  const names = secrets.map(({ key }) => parameterName(target.path, key))
  const current: StoredParameter[] = names.length ? await readParameters(store, names, { decrypt: true, retry }) : []
  // As a release: without secrets the push is skipped, so prune deletes nothing.
  const listed = config.write.prune && names.length ? await withRetry(() => store.listNames(target.path), retry) : []
  const keep = new Set(names)
  const { managed } = await splitByOwner(
    store,
    listed.filter((name) => !keep.has(name)),
    retry
  )
  const known = [...new Set([...current.map(({ name }) => name), ...listed])]
  const reads = new Map(selected.map((es) => [es, latestReads(referencesOf(es, cluster?.stores ?? []), known)]))
  const statuses = await describeParameters(store, [...new Set([...known, ...[...reads.values()].flat()])], retry)
  const owned = current.flatMap(({ name }) => statuses.get(name) ?? [])
  const [histories, tags] = await Promise.all([
    readHistories(
      store,
      owned.filter(needsHistory).map(({ name }) => name),
      { retry, decrypt: false }
    ),
    readTags(
      store,
      owned.filter(needsTags).map(({ name }) => name),
      retry
    )
  ])
  const historyOf = new Map(histories.map((history) => [history.name, history]))
  return {
    findings: [
      ...valueFindings(secrets, target.path, current),
      ...extraFindings(managed),
      ...owned.flatMap(
        (status) => editedOutside(status, { history: historyOf.get(status.name), tags: tags.get(status.name) }) ?? []
      )
    ],
    current,
    reads,
    statuses
  }
}

/**
 * The cluster's reads: the Events of the namespaces holding an ExternalSecret that is not Ready (the operator's
 * error), the workloads reading the selected ExternalSecrets' Secrets with their pods and the Secrets' metadata
 * (never their data), and the rendered ExternalSecrets as the cluster holds them.
 */
async function readCluster(
  cluster: CheckCluster,
  selected: readonly ExternalSecret[],
  rendered: readonly ExternalSecret[],
  selector: LabelSelector
): Promise<{ findings: Finding[]; workloads: number }> {
  const [notReady, pods, definitions] = await Promise.all([
    notReadyFindings(cluster, selected),
    stalePods(cluster, selected),
    definitionFindings(cluster, selected, rendered, selector)
  ])
  return { findings: [...notReady, ...pods.findings, ...definitions], workloads: pods.workloads }
}

async function notReadyFindings(cluster: CheckCluster, selected: readonly ExternalSecret[]): Promise<Finding[]> {
  const failing = selected.filter((es) => readyCondition(es)?.status !== 'True')
  const namespaces = [...new Set(failing.map(({ metadata }) => metadata.namespace ?? ''))]
  const events = (await Promise.all(namespaces.map((namespace) => cluster.kube.listEvents(namespace)))).flatMap(
    ({ items }) => items
  )
  return failing.flatMap((es) => notReadyFinding(es, newestFailure(es, events)) ?? [])
}

/** The newest UpdateFailed Event about this ExternalSecret (this object: not an earlier one of its name). */
function newestFailure(es: ExternalSecret, events: readonly KubeEvent[]): KubeEvent | undefined {
  const name = `${es.metadata.namespace ?? ''}/${es.metadata.name}`
  return newestEvent(
    events.filter(
      (event) =>
        event.reason === UPDATE_FAILED &&
        eventSubject(event) === name &&
        (!es.metadata.uid || !event.involvedObject.uid || event.involvedObject.uid === es.metadata.uid)
    )
  )
}

/** The rollout's readers rule over every selected ExternalSecret's Secret: whose pods are behind its data. */
async function stalePods(
  { kube, workloadKinds }: CheckCluster,
  selected: readonly ExternalSecret[]
): Promise<{ findings: Finding[]; workloads: number }> {
  // Each selected ExternalSecret's Secret, once (the rollout's rule for the synced ones, here all of them).
  const secrets = syncedSecrets(selected, selected.map(refOf))
  const namespaces = [...new Set(secrets.map(({ namespace }) => namespace))]
  const limit = pLimit(CONCURRENCY)
  const lists = await Promise.all(
    namespaces.flatMap((namespace) =>
      workloadKinds.map((kind) =>
        limit(async () =>
          (await kube.listWorkloads(kind, namespace)).items.map((workload) => inNamespace(workload, namespace))
        )
      )
    )
  )
  const readers = readersOf(resolveWorkloadRefs(lists.flat()), secrets)
  const data = await secretsData(kube, secretsOf(readers))
  const late = await Promise.all(
    readers.map((reader) => limit(async () => behind(reader, await podsOf(kube, reader.workload), data, () => false)))
  )
  return {
    findings: late.flatMap((entry) => (entry ? [stalePodsFinding(entry, data)] : [])),
    workloads: readers.length
  }
}

/** When each Secret's current data was written, from its metadata only. */
async function secretsData(kube: WorkloadsApi, refs: readonly ObjectRef[]): Promise<SecretData[]> {
  const limit = pLimit(CONCURRENCY)
  const found = await Promise.all(refs.map(({ namespace, name }) => limit(() => kube.secretMetadata(namespace, name))))
  return found.flatMap(
    (metadata, index) => (metadata && secretData({ ...metadata, namespace: refs[index].namespace })) ?? []
  )
}

/** The pods of a workload, as `kubectl rollout status` finds them; undefined without a selector (taken as stale). */
async function podsOf(kube: WorkloadsApi, workload: Workload): Promise<Pod[] | undefined> {
  const selector = podSelector(workload)
  return selector ? (await kube.listPods(workload.metadata.namespace ?? '', selector)).items : undefined
}

/**
 * The gate's rule on each rendered ExternalSecret: the selected live one of its namespace and name, as the gate
 * lists it (the namespaces of the namespace input from the pre-flight's list; any other the overlay names, listed
 * here with the selector).
 */
async function definitionFindings(
  { kube, apiVersion, namespaces }: CheckCluster,
  selected: readonly ExternalSecret[],
  rendered: readonly ExternalSecret[],
  selector: LabelSelector
): Promise<Finding[]> {
  // A rendered ExternalSecret naming no namespace goes to the first of the namespace input, as the gate places it.
  const targets = rendered.map((es) => inNamespace(es, namespaces[0]))
  const others = [...new Set(targets.map(({ metadata }) => metadata.namespace ?? ''))].filter(
    (namespace) => !namespaces.includes(namespace)
  )
  const listed = await Promise.all(
    others.map(async (namespace) =>
      (await kube.listExternalSecrets({ version: apiVersion, namespace, labelSelector: selector.text })).items
        .map((es) => inNamespace(es, namespace))
        .filter((es) => es.metadata.namespace === namespace && matchesLabelSelector(selector, es.metadata.labels))
    )
  )
  const live = [...selected, ...listed.flat()]
  return targets.flatMap(
    (es) =>
      definitionFinding(
        es,
        live.find(({ metadata }) => metadata.namespace === es.metadata.namespace && metadata.name === es.metadata.name)
      ) ?? []
  )
}
