import {
  WORKLOAD_GENERATION,
  type DaemonSet,
  type Deployment,
  type Rollout,
  type StatefulSet,
  type StatefulSetUpdateStrategy,
  type Workload
} from './model.js'

/**
 * Whether a workload's rollout is over, by the rules of `kubectl rollout status`
 * (k8s.io/kubectl pkg/polymorphichelpers/rollout_status.go), and for a Rollout by those of `kubectl argo rollouts
 * status`, with their waiting messages. Pure.
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
    case 'Rollout':
      return argoRolloutStatus(workload)
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

/**
 * `kubectl argo rollouts status` (argoproj/argo-rollouts pkg/kubectl-argo-rollouts/cmd/status/status.go) watches the
 * phase GetRolloutPhase gives (utils/rollout/rolloututil.go): Progressing until the controller has observed the
 * generation (status.observedGeneration, a string), while it unpauses, and until it has observed a workloadRef's
 * Deployment; then the controller's status.phase and status.message. Healthy is done, Degraded an error with the
 * message. The controller computes Healthy only once status.restartedAt equals spec.restartAt, every replica is
 * updated and available and no old one is left (CalculateRolloutPhase). A restart patch changes spec.restartAt, so
 * the API server raises the generation (a CRD with a status subresource counts every change outside metadata and
 * status: k8s.io/apiextensions-apiserver pkg/registry/customresource/strategy.go PrepareForUpdate), though the pod
 * template is unchanged: observedGeneration reaching it says the controller has seen the restart.
 *
 * Paused, which the command keeps watching, fails here at once with its message: a paused Rollout stays Paused until
 * someone promotes or resumes it, and its pods do not all run the new values until then.
 */
function argoRolloutStatus({ metadata, spec, status = {} }: Rollout): RolloutStatus {
  const { observedGeneration, phase, message = '' } = status
  if (!generationObserved(observedGeneration, metadata.generation ?? 0))
    return waiting('Progressing - waiting for rollout spec update to be observed')
  if (status.controllerPause === true && !status.pauseConditions?.length)
    return waiting('Progressing - waiting for rollout to unpause')
  const workloadGeneration = metadata.annotations?.[WORKLOAD_GENERATION]
  if (
    spec.workloadRef !== undefined &&
    workloadGeneration !== undefined &&
    isDecimal(status.workloadObservedGeneration) &&
    Number(status.workloadObservedGeneration) !== Number(workloadGeneration)
  )
    return waiting('Progressing - waiting for rollout spec update to be observed for the reference workload')
  switch (phase) {
    case 'Healthy':
      return DONE
    case 'Degraded':
      return { state: 'failed', reason: `The rollout is in a degraded state with message: ${message}` }
    case 'Paused':
      return { state: 'failed', reason: `The rollout is paused${message ? `: ${message}` : ''}` }
    case 'Progressing':
      return waiting(message ? `Progressing - ${message}` : 'Progressing')
    default:
      return waiting('the controller reports no phase yet (status.phase: Argo Rollouts v1.0 or later)')
  }
}

/** isGenerationObserved: a numeric observedGeneration at or past the generation; anything else (a v0.9 hash) counts. */
function generationObserved(observed: string | undefined, generation: number): boolean {
  if (!isDecimal(observed)) return observed !== undefined
  return Number(observed) >= generation
}

/** What Go's strconv.Atoi accepts, as far as a generation goes. */
function isDecimal(value: string | undefined): value is string {
  return value !== undefined && /^[+-]?\d+$/.test(value)
}
