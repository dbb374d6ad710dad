import { isRecord } from '../json.js'
import { selectorText, type LabelSelectorSpec } from '../k8s/label-selector.js'
import type { Condition, ObjectMeta } from '../k8s/types.js'

/**
 * The workloads whose pods read Secrets, as the action reads them: the apps/v1 ones (Deployment, StatefulSet,
 * DaemonSet) and Argo Rollouts' `argoproj.io/v1alpha1` Rollout, which has the same pod template. Only the fields the
 * readers (readers.ts) and the rollout-status rules (status.ts) use. Pure.
 */

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout'] as const
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number]

/** The kinds of the apps group, which every cluster serves. */
export const APPS_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet']

/** Argo Rollouts' group and version (argoproj/argo-rollouts manifests/crds/rollout-crd.yaml): a CRD, often absent. */
export const ROLLOUTS_GROUP = 'argoproj.io'
export const ROLLOUTS_VERSION = 'v1alpha1'

/** Where each kind is served: `/apis/<group>/<version>/namespaces/<namespace>/<plural>`. */
export const WORKLOAD_RESOURCES: Readonly<
  Record<WorkloadKind, { readonly group: string; readonly version: string; readonly plural: string }>
> = {
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments' },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets' },
  DaemonSet: { group: 'apps', version: 'v1', plural: 'daemonsets' },
  Rollout: { group: ROLLOUTS_GROUP, version: ROLLOUTS_VERSION, plural: 'rollouts' }
}

/**
 * The `restart` input: `none` restarts nothing but warns for each workload on old Secret data;
 * `changed` restarts those workloads and awaits their rollout.
 */
export const RESTART_POLICIES = ['none', 'changed'] as const
export type RestartPolicy = (typeof RESTART_POLICIES)[number]

/**
 * The pod-template annotation `kubectl rollout restart` sets to the time (RFC 3339): a template change, so a rollout.
 */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt'

/**
 * The time a restart patch carries. For the apps kinds, `kubectl rollout restart`'s RFC 3339 but to the millisecond:
 * kubectl's whole seconds make a second restart within the same second a patch that changes nothing (same template,
 * same generation), and the pods would keep the data they started with while the rollout of the old generation
 * counts as done.
 *
 * For a Rollout, `spec.restartAt` in whole seconds as `kubectl argo rollouts restart` writes it
 * (pkg/kubectl-argo-rollouts/cmd/restart/restart.go: `restartAt.Format(time.RFC3339)`), rounded UP to the next
 * second. The controller (rollout/restart.go) replaces every pod whose creationTimestamp (whole seconds) is before
 * restartAt, and marks the restart done by copying restartAt into status.restartedAt, a metav1.Time that keeps whole
 * seconds only: a fraction would never compare equal there (utils/replicaset NeedsRestart) and the controller would
 * restart the pods again and again. Rounded down, as the plugin does, a pod created earlier in the same second as the
 * patch (possibly before the Secret changed) would count as current; rounded up, every pod created until now is
 * replaced, and the controller waits the fraction of a second until restartAt has passed (checkEnqueueRollout).
 */
export function restartStamp(kind: WorkloadKind, nowMs: number): string {
  if (kind !== 'Rollout') return new Date(nowMs).toISOString()
  return new Date(Math.ceil(nowMs / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

export interface WorkloadMeta extends ObjectMeta {
  /**
   * Raised by every spec change (a restart's template patch too); the controller reports the one it acted on in
   * status.observedGeneration.
   */
  readonly generation?: number
}

/** A container, init containers included: where its environment comes from and which volumes it mounts. */
export interface Container {
  readonly env?: ReadonlyArray<{ readonly valueFrom?: { readonly secretKeyRef?: { readonly name?: string } } }>
  readonly envFrom?: ReadonlyArray<{ readonly secretRef?: { readonly name?: string } }>
  readonly volumeMounts?: ReadonlyArray<{ readonly name: string }>
}

export interface Volume {
  readonly name: string
  readonly secret?: { readonly secretName?: string }
  readonly projected?: { readonly sources?: ReadonlyArray<{ readonly secret?: { readonly name?: string } }> }
}

export interface PodTemplate {
  readonly metadata?: { readonly annotations?: Readonly<Record<string, string>> }
  readonly spec?: {
    readonly containers?: readonly Container[]
    readonly initContainers?: readonly Container[]
    readonly volumes?: readonly Volume[]
  }
}

/** The API server's only strategies for StatefulSets and DaemonSets; it writes RollingUpdate when none is given. */
export type UpdateStrategyType = 'RollingUpdate' | 'OnDelete'

export interface StatefulSetUpdateStrategy {
  readonly type?: UpdateStrategyType
  /** Pods with an ordinal below the partition keep the old template. */
  readonly rollingUpdate?: { readonly partition?: number }
}

export interface Deployment {
  readonly apiVersion?: string
  readonly kind: 'Deployment'
  readonly metadata: WorkloadMeta
  readonly spec: {
    /** The API server writes 1 when none is given. */
    readonly replicas?: number
    readonly paused?: boolean
    /** Which pods are its own (required in apps/v1). */
    readonly selector?: LabelSelectorSpec
    readonly strategy?: { readonly type?: 'RollingUpdate' | 'Recreate' }
    readonly template: PodTemplate
  }
  readonly status?: {
    readonly observedGeneration?: number
    readonly replicas?: number
    readonly updatedReplicas?: number
    readonly availableReplicas?: number
    readonly conditions?: readonly Condition[]
  }
}

export interface StatefulSet {
  readonly apiVersion?: string
  readonly kind: 'StatefulSet'
  readonly metadata: WorkloadMeta
  readonly spec: {
    /** The API server writes 1 when none is given. */
    readonly replicas?: number
    readonly updateStrategy?: StatefulSetUpdateStrategy
    readonly selector?: LabelSelectorSpec
    readonly template: PodTemplate
  }
  readonly status?: {
    readonly observedGeneration?: number
    readonly replicas?: number
    readonly readyReplicas?: number
    readonly updatedReplicas?: number
    readonly currentRevision?: string
    readonly updateRevision?: string
  }
}

export interface DaemonSet {
  readonly apiVersion?: string
  readonly kind: 'DaemonSet'
  readonly metadata: WorkloadMeta
  readonly spec: {
    readonly updateStrategy?: { readonly type?: UpdateStrategyType }
    readonly selector?: LabelSelectorSpec
    readonly template: PodTemplate
  }
  readonly status?: {
    readonly observedGeneration?: number
    readonly desiredNumberScheduled?: number
    readonly updatedNumberScheduled?: number
    readonly numberAvailable?: number
  }
}

/** The phases the Rollout controller reports (pkg/apis/rollouts/v1alpha1/types.go RolloutPhase). */
export type RolloutPhase = 'Healthy' | 'Progressing' | 'Degraded' | 'Paused'

/** The annotation the controller sets to the generation of a workloadRef's Deployment (utils/annotations). */
export const WORKLOAD_GENERATION = 'rollout.argoproj.io/workload-generation'

/**
 * An Argo Rollout (argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/types.go): a Deployment's pod template (its own,
 * or with `workloadRef` a Deployment's), restarted through `spec.restartAt`, its progress in `status.phase`.
 */
export interface Rollout {
  readonly apiVersion?: string
  readonly kind: 'Rollout'
  readonly metadata: WorkloadMeta
  readonly spec: {
    /** Absent: 1 (utils/defaults GetReplicasOrDefault). */
    readonly replicas?: number
    readonly paused?: boolean
    /** RFC 3339: every pod created before it is replaced (rollout/restart.go). */
    readonly restartAt?: string
    /** Absent with workloadRef: the Deployment's (see resolveWorkloadRefs). */
    readonly selector?: LabelSelectorSpec
    /** Absent with workloadRef: the template is that Deployment's (see resolveWorkloadRefs). */
    readonly template?: PodTemplate
    readonly workloadRef?: { readonly apiVersion?: string; readonly kind?: string; readonly name?: string }
  }
  readonly status?: {
    /** A string: the generation as decimal digits since v0.10 (a hash before). */
    readonly observedGeneration?: string
    readonly phase?: RolloutPhase
    readonly message?: string
    readonly replicas?: number
    readonly updatedReplicas?: number
    readonly availableReplicas?: number
    /** restartAt copied once every pod is newer than it. */
    readonly restartedAt?: string
    readonly controllerPause?: boolean
    readonly pauseConditions?: ReadonlyArray<{ readonly reason?: string }>
    readonly workloadObservedGeneration?: string
  }
}

export type Workload = Deployment | StatefulSet | DaemonSet | Rollout

/** The pod template: a Rollout with workloadRef has its own only once resolved (resolveWorkloadRefs). */
export function podTemplateOf(workload: Workload): PodTemplate {
  return workload.spec.template ?? {}
}

/**
 * Whether a rendered, watched or patched object is a workload (of the apps group, or a Rollout), with the pod
 * template every one has (a Rollout: or a workloadRef). The fields below the template are read defensively (see
 * readers.ts and status.ts). A list's items carry no kind on the wire (the API server leaves it out for built-in
 * types): give them theirs, the kind listed, first.
 */
export function isWorkload(object: unknown): object is Workload {
  if (!isRecord(object)) return false
  const kind = WORKLOAD_KINDS.find((candidate) => candidate === object.kind)
  if (kind === undefined || typeof object.apiVersion !== 'string') return false
  if (!object.apiVersion.startsWith(`${WORKLOAD_RESOURCES[kind].group}/`)) return false
  if (!isRecord(object.metadata) || typeof object.metadata.name !== 'string' || !isRecord(object.spec)) return false
  return isRecord(object.spec.template) || (kind === 'Rollout' && isRecord(object.spec.workloadRef))
}

/**
 * The workloads as their controllers see them: a Rollout whose `workloadRef` names a Deployment of its namespace takes
 * that Deployment's pod template (rollout/templateref.go resolves it the same way), and that Deployment is left out:
 * the Rollout runs its pods, and a restart of the Deployment (a template change) would start a whole new Rollout
 * update, through all its steps. A reference to a Deployment not listed leaves the Rollout without a template.
 */
export function resolveWorkloadRefs(workloads: readonly Workload[]): Workload[] {
  const referenced = (rollout: Rollout): Deployment | undefined => {
    const ref = rollout.spec.workloadRef
    if (ref?.kind !== 'Deployment') return undefined
    return workloads.find(
      (candidate): candidate is Deployment =>
        candidate.kind === 'Deployment' &&
        candidate.metadata.namespace === rollout.metadata.namespace &&
        candidate.metadata.name === ref.name
    )
  }
  const sources = new Set<Workload>()
  const resolved = workloads.map((workload): Workload => {
    if (workload.kind !== 'Rollout' || workload.spec.template) return workload
    const source = referenced(workload)
    if (!source) return workload
    sources.add(source)
    return {
      ...workload,
      spec: {
        ...workload.spec,
        selector: workload.spec.selector ?? source.spec.selector,
        template: source.spec.template
      }
    }
  })
  return resolved.filter((workload) => !sources.has(workload))
}

/**
 * A workload a restart would not roll out: a paused Deployment (`kubectl rollout restart` refuses it); a Rollout
 * paused by hand (`spec.paused`) or by its controller (`status.pauseConditions`: a canary pause step, an inconclusive
 * analysis), whose phase stays Paused until it is promoted or resumed (CalculateRolloutPhase,
 * utils/rollout/rolloututil.go), so that `kubectl argo rollouts status` never sees it Healthy.
 */
export function isPaused(workload: Workload): boolean {
  if (workload.kind === 'Rollout') return rolloutPauseReason(workload) !== undefined
  return workload.kind === 'Deployment' && workload.spec.paused === true
}

/** CalculateRolloutPhase's message for a paused Rollout: `manually paused`, else the first pause condition's reason. */
function rolloutPauseReason({ spec, status }: Rollout): string | undefined {
  if (spec.paused === true) return 'manually paused'
  return status?.pauseConditions?.length ? (status.pauseConditions[0].reason ?? 'paused') : undefined
}

/** What a paused workload's outcome says: how to get it going. */
export function pausedReason(workload: Workload): string {
  if (workload.kind !== 'Rollout') return 'paused: resume it, then re-run (or restart it yourself)'
  return `paused (${rolloutPauseReason(workload) ?? 'paused'}): promote or resume it (kubectl argo rollouts promote), then re-run`
}

/** The selector of a workload's pods, as `kubectl rollout status` and its ReplicaSets find them. */
export function podSelector(workload: Workload): string | undefined {
  return workload.spec.selector && selectorText(workload.spec.selector)
}
