import type { DaemonSet, Deployment, StatefulSet, StatefulSetUpdateStrategy, Workload } from './model.js'

/**
 * Whether a workload's rollout is over, by the rules of `kubectl rollout status`
 * (k8s.io/kubectl pkg/polymorphichelpers/rollout_status.go), with its waiting messages. Pure.
 *
 * The workloads come from the API server, which fills in what a manifest leaves out: an absent field
 * reads as its default there (replicas 1; update strategy RollingUpdate and, for a StatefulSet whose
 * strategy type was left out, a rollingUpdate with partition 0), as kubectl would find it set.
 */

export type RolloutStatus =
  | { readonly state: 'waiting'; readonly reason: string }
  | { readonly state: 'done' }
  | { readonly state: 'failed'; readonly reason: string }
  | { readonly state: 'not-awaited'; readonly reason: string }

export function rolloutStatus(workload: Workload): RolloutStatus {
  switch (workload.kind) {
    case 'Deployment':
      return deploymentStatus(workload)
    case 'StatefulSet':
      return statefulSetStatus(workload)
    case 'DaemonSet':
      return daemonSetStatus(workload)
  }
}

const DONE: RolloutStatus = { state: 'done' }

function waiting(reason: string): RolloutStatus {
  return { state: 'waiting', reason }
}

/** kubectl judges only RollingUpdate; with OnDelete the pods take the new template only when deleted. */
const ON_DELETE: RolloutStatus = { state: 'not-awaited', reason: 'restarted, not awaited (OnDelete)' }

function deploymentStatus({ metadata: { name, generation = 0 }, spec, status = {} }: Deployment): RolloutStatus {
  if (generation > (status.observedGeneration ?? 0))
    return waiting('Waiting for deployment spec update to be observed...')
  const progressing = status.conditions?.find((condition) => condition.type === 'Progressing')
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    return { state: 'failed', reason: deadlineExceeded(name, progressing.message) }
  const { replicas = 0, updatedReplicas = 0, availableReplicas = 0 } = status
  const desired = spec.replicas ?? 1
  const prefix = `Waiting for deployment "${name}" rollout to finish`
  if (updatedReplicas < desired)
    return waiting(`${prefix}: ${updatedReplicas} out of ${desired} new replicas have been updated...`)
  if (replicas > updatedReplicas)
    return waiting(`${prefix}: ${replicas - updatedReplicas} old replicas are pending termination...`)
  if (availableReplicas < updatedReplicas)
    return waiting(`${prefix}: ${availableReplicas} of ${updatedReplicas} updated replicas are available...`)
  return DONE
}

/** kubectl's error, with the condition's own message (which ReplicaSet timed out) when it has one. */
function deadlineExceeded(name: string, message: string | undefined): string {
  const error = `deployment "${name}" exceeded its progress deadline`
  return message ? `${error}: ${message}` : error
}

function statefulSetStatus({ metadata: { generation = 0 }, spec, status = {} }: StatefulSet): RolloutStatus {
  if (spec.updateStrategy?.type === 'OnDelete') return ON_DELETE
  const {
    observedGeneration = 0,
    readyReplicas = 0,
    updatedReplicas = 0,
    currentRevision = '',
    updateRevision = ''
  } = status
  if (observedGeneration === 0 || generation > observedGeneration)
    return waiting('Waiting for statefulset spec update to be observed...')
  const replicas = spec.replicas ?? 1
  if (readyReplicas < replicas) return waiting(`Waiting for ${replicas - readyReplicas} pods to be ready...`)
  const partition = partitionOf(spec.updateStrategy)
  if (partition !== undefined) {
    const target = replicas - partition
    return updatedReplicas < target
      ? waiting(
          `Waiting for partitioned roll out to finish: ${updatedReplicas} out of ${target} new pods have been updated...`
        )
      : DONE
  }
  if (updateRevision !== currentRevision)
    return waiting(
      `waiting for statefulset rolling update to complete ${updatedReplicas} pods at revision ${updateRevision}...`
    )
  return DONE
}

/**
 * The partition kubectl judges a StatefulSet by, or undefined when its strategy has no rollingUpdate
 * (then the revisions decide). The API server gives a strategy whose type was left out a rollingUpdate,
 * and every rollingUpdate a partition, 0.
 */
function partitionOf(strategy: StatefulSetUpdateStrategy | undefined): number | undefined {
  const rollingUpdate = strategy?.type === undefined ? (strategy?.rollingUpdate ?? {}) : strategy.rollingUpdate
  return rollingUpdate === undefined ? undefined : (rollingUpdate.partition ?? 0)
}

function daemonSetStatus({ metadata: { name, generation = 0 }, spec, status = {} }: DaemonSet): RolloutStatus {
  if (spec.updateStrategy?.type === 'OnDelete') return ON_DELETE
  const { observedGeneration = 0, desiredNumberScheduled = 0, updatedNumberScheduled = 0, numberAvailable = 0 } = status
  if (generation > observedGeneration) return waiting('Waiting for daemon set spec update to be observed...')
  const prefix = `Waiting for daemon set "${name}" rollout to finish`
  if (updatedNumberScheduled < desiredNumberScheduled)
    return waiting(
      `${prefix}: ${updatedNumberScheduled} out of ${desiredNumberScheduled} new pods have been updated...`
    )
  if (numberAvailable < desiredNumberScheduled)
    return waiting(`${prefix}: ${numberAvailable} of ${desiredNumberScheduled} updated pods are available...`)
  return DONE
}
