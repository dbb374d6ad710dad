import { isRecord } from '../json.js'
import type { LabelSelectorSpec } from '../k8s/label-selector.js'
import type { Condition, ObjectMeta } from '../k8s/types.js'

/**
 * The apps/v1 workloads whose pods read Secrets (Deployment, StatefulSet, DaemonSet), as the action
 * reads them: only the fields the readers (readers.ts) and the rules of `kubectl rollout status`
 * (status.ts) use. Pure.
 */

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number]

export const WORKLOAD_GROUP = 'apps'
/** The resource of each kind: `/apis/apps/v1/namespaces/<namespace>/deployments`. */
export const WORKLOAD_PLURALS: Readonly<Record<WorkloadKind, string>> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets'
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

export type Workload = Deployment | StatefulSet | DaemonSet

/**
 * Whether a rendered, watched or patched object is a workload of the apps group, with the pod template
 * every one has. The fields below the template are read defensively (see readers.ts and status.ts).
 * A list's items carry no kind on the wire (the API server leaves it out for built-in types): give
 * them theirs, the kind listed, first.
 */
export function isWorkload(object: unknown): object is Workload {
  if (!isRecord(object) || !WORKLOAD_KINDS.some((kind) => kind === object.kind)) return false
  if (typeof object.apiVersion !== 'string' || !object.apiVersion.startsWith(`${WORKLOAD_GROUP}/`)) return false
  return (
    isRecord(object.metadata) &&
    typeof object.metadata.name === 'string' &&
    isRecord(object.spec) &&
    isRecord(object.spec.template)
  )
}

/** A paused Deployment does not roll out a template change: `kubectl rollout restart` refuses it. */
export function isPaused(workload: Workload): boolean {
  return workload.kind === 'Deployment' && workload.spec.paused === true
}
