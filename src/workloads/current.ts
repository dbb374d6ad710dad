import { ESO_FIELD_MANAGER } from '../eso/model.js'
import type { ObjectMeta } from '../k8s/types.js'
import { RESTARTED_AT } from './model.js'
import type { Pod } from './pods.js'

/**
 * Whether a workload's pods run its Secrets' current data. Pure: decided from the Secrets' metadata (never their
 * data) and the pods' start times and annotations.
 *
 * Environment variables are read when a container starts, after the kubelet acknowledged the pod
 * (`status.startTime`): a pod the kubelet acknowledged after the Secret's current data was written runs it. The
 * data's time is the `time` of ESO's entry in the Secret's `metadata.managedFields`: the API server moves it on
 * each write of that manager that changes the object (k8s.io/apimachinery pkg/util/managedfields/internal/
 * managedfieldsupdater.go), and ESO writes the Secret only when its data (or template metadata) changes
 * (external-secrets pkg/controllers/externalsecret, the `reconcile.external-secrets.io/data-hash` check).
 *
 * Both times are whole seconds. A pod acknowledged in a later second than the data's is current; in an earlier one,
 * stale. In the same second the order is unknown: the pod is current when its template's
 * `kubectl.kubernetes.io/restartedAt` (copied to the pod; the action writes it to the millisecond, after the sync
 * confirmed the data) shows a restart made after the data: not before that second began and, for data this run
 * changed, not before the rollout phase began (a restart of an earlier run in the same second came before this
 * run's data). Otherwise it is `same-second`, which the action treats as stale: at most one restart more than
 * needed, never a pod left on old values.
 */

/** When the Secret's current data was written: the start of that second, in ms since the epoch. */
export interface SecretData {
  readonly namespace: string
  readonly name: string
  readonly second: number
  /**
   * The data is the Secret's first (ESO created it with it, in the second it was written): Reloader, which acts on
   * a change of a Secret's data, not on its creation, restarts nothing for it.
   */
  readonly first: boolean
  /** The Secret's annotations: Reloader reads some (`reloader.stakater.com/ignore`, `.../match`). */
  readonly annotations?: Readonly<Record<string, string>>
  /**
   * For data this run changed: when the rollout phase began (ms). Only a restart stamped from then on is this run's,
   * made after the sync confirmed the data; an earlier run's restart in the data's second came before it.
   */
  readonly changedBefore?: number
}

export type Freshness = 'current' | 'stale' | 'same-second'

/**
 * The second of ESO's last write of the Secret; without an entry of ESO's manager, the newest write of any manager,
 * then its creation (a later second than the data's at worst: one restart more, never one too few). Undefined when
 * the metadata holds no time at all.
 */
export function secretData(metadata: ObjectMeta): SecretData | undefined {
  const entries = metadata.managedFields ?? []
  const eso = entries.filter(({ manager }) => manager === ESO_FIELD_MANAGER)
  const times = (eso.length ? eso : entries).map(({ time }) => secondOf(time)).filter(isTime)
  const created = secondOf(metadata.creationTimestamp)
  const second = times.length ? Math.max(...times) : created
  if (second === undefined) return undefined
  return {
    namespace: metadata.namespace ?? '',
    name: metadata.name,
    second,
    first: second === created,
    annotations: metadata.annotations ?? {}
  }
}

/**
 * A pod against the second of its Secret's data (and, for data this run changed, the start of the rollout phase).
 * Pods being deleted and pods not yet started are current.
 */
export function podFreshness(pod: Pod, dataSecond: number, changedBefore?: number): Freshness {
  if (pod.metadata.deletionTimestamp !== undefined) return 'current'
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 'current'
  const started = secondOf(pod.status?.startTime)
  if (started === undefined || started > dataSecond) return 'current'
  if (started < dataSecond) return 'stale'
  const restartedAt = Date.parse(pod.metadata.annotations?.[RESTARTED_AT] ?? '')
  return restartedAt >= Math.max(dataSecond, changedBefore ?? dataSecond) ? 'current' : 'same-second'
}

/** The pods of a workload against the data of each Secret it reads: the worst of them. */
export function freshnessOf(pods: readonly Pod[], data: readonly SecretData[]): Freshness {
  const each = pods.flatMap((pod) => data.map(({ second, changedBefore }) => podFreshness(pod, second, changedBefore)))
  if (each.includes('stale')) return 'stale'
  return each.includes('same-second') ? 'same-second' : 'current'
}

/** RFC 3339 to the start of its second (ms); undefined when absent or unreadable. */
function secondOf(time: string | undefined): number | undefined {
  const ms = Date.parse(time ?? '')
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000) * 1000
}

function isTime(value: number | undefined): value is number {
  return value !== undefined
}
