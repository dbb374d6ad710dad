/**
 * apps/v1 workloads and core/v1 pods as the API server treats them: their shapes (the fields read here), the
 * defaults it fills in on every write (apps/v1 and core/v1 `SetDefaults_*`), the checks that make a workload
 * invalid, and the helpers the controllers share: label selectors, the pod-template hash and intOrString values.
 */
import { ApiError } from './errors.ts'
import { canonical, clone, isObject, type KubeObject } from './json.ts'
import { DAEMONSETS, DEPLOYMENTS, PODS, REPLICASETS, STATEFULSETS, type ResourceType } from './resources.ts'

export type IntOrString = number | string

export interface KeySelector {
  name?: string
  key: string
  optional?: boolean
}

export interface EnvVar {
  name: string
  value?: string
  valueFrom?: { secretKeyRef?: KeySelector; configMapKeyRef?: KeySelector; fieldRef?: { fieldPath: string } }
}

export interface EnvFromSource {
  prefix?: string
  secretRef?: { name?: string; optional?: boolean }
  configMapRef?: { name?: string; optional?: boolean }
}

export interface Container {
  name: string
  image?: string
  imagePullPolicy?: string
  env?: EnvVar[]
  envFrom?: EnvFromSource[]
  ports?: { containerPort: number; protocol?: string }[]
  resources?: Record<string, unknown>
  terminationMessagePath?: string
  terminationMessagePolicy?: string
}

export interface KeyToPath {
  key: string
  path: string
}

export interface Volume {
  name: string
  secret?: { secretName?: string; items?: KeyToPath[]; optional?: boolean; defaultMode?: number }
  configMap?: { name?: string; defaultMode?: number }
  projected?: {
    sources?: { secret?: { name?: string; items?: KeyToPath[]; optional?: boolean } }[]
    defaultMode?: number
  }
}

export interface PodSpec {
  containers: Container[]
  initContainers?: Container[]
  volumes?: Volume[]
  nodeName?: string
  nodeSelector?: Record<string, string>
  restartPolicy?: string
  terminationGracePeriodSeconds?: number
  dnsPolicy?: string
  securityContext?: Record<string, unknown>
  schedulerName?: string
  serviceAccountName?: string
  hostname?: string
  subdomain?: string
}

export interface TemplateMeta {
  /** Always null in a template: the zero time, as the API server of 1.32 serializes it. */
  creationTimestamp?: null
  labels?: Record<string, string>
  annotations?: Record<string, string>
}

export interface PodTemplate {
  metadata?: TemplateMeta
  spec: PodSpec
}

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[]
}

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  lastUpdateTime?: string
  lastTransitionTime?: string
  reason?: string
  message?: string
}

export interface DeploymentSpec {
  replicas: number
  selector: LabelSelector
  template: PodTemplate
  strategy: {
    type: 'RollingUpdate' | 'Recreate'
    rollingUpdate?: { maxSurge?: IntOrString; maxUnavailable?: IntOrString }
  }
  minReadySeconds?: number
  revisionHistoryLimit: number
  paused?: boolean
  progressDeadlineSeconds: number
}

export interface DeploymentStatus {
  observedGeneration?: number
  replicas?: number
  updatedReplicas?: number
  readyReplicas?: number
  availableReplicas?: number
  unavailableReplicas?: number
  conditions?: Condition[]
  collisionCount?: number
}

export interface Deployment extends KubeObject {
  spec: DeploymentSpec
  status?: DeploymentStatus
}

/** An Argo Rollout (argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/types.go), as far as the simulation runs it. */
export interface Rollout extends KubeObject {
  spec: {
    /** Absent: 1. */
    replicas?: number
    selector?: LabelSelector
    template?: PodTemplate
    workloadRef?: { apiVersion?: string; kind?: string; name?: string }
    strategy?: { canary?: { maxSurge?: IntOrString; maxUnavailable?: IntOrString }; blueGreen?: object }
    paused?: boolean
    /** RFC 3339. */
    restartAt?: string
    /** Absent: 600. */
    progressDeadlineSeconds?: number
  }
  status?: RolloutStatus
}

export interface RolloutStatus {
  observedGeneration?: string
  phase?: 'Healthy' | 'Progressing' | 'Degraded' | 'Paused'
  message?: string
  replicas?: number
  updatedReplicas?: number
  readyReplicas?: number
  availableReplicas?: number
  currentPodHash?: string
  stableRS?: string
  restartedAt?: string
  conditions?: Condition[]
  collisionCount?: number
  workloadObservedGeneration?: string
}

export interface ReplicaSet extends KubeObject {
  spec: { replicas: number; minReadySeconds?: number; selector: LabelSelector; template: PodTemplate }
  status?: {
    replicas: number
    fullyLabeledReplicas?: number
    readyReplicas?: number
    availableReplicas?: number
    observedGeneration?: number
  }
}

export interface StatefulSetSpec {
  replicas: number
  selector: LabelSelector
  template: PodTemplate
  serviceName?: string
  podManagementPolicy: 'OrderedReady' | 'Parallel'
  updateStrategy: {
    type: 'RollingUpdate' | 'OnDelete'
    rollingUpdate?: { partition?: number; maxUnavailable?: IntOrString }
  }
  revisionHistoryLimit: number
  minReadySeconds?: number
  ordinals?: { start?: number }
}

export interface StatefulSetStatus {
  observedGeneration?: number
  replicas: number
  readyReplicas?: number
  currentReplicas?: number
  updatedReplicas?: number
  currentRevision?: string
  updateRevision?: string
  collisionCount?: number
  availableReplicas: number
}

export interface StatefulSet extends KubeObject {
  spec: StatefulSetSpec
  status?: StatefulSetStatus
}

export interface DaemonSetSpec {
  selector: LabelSelector
  template: PodTemplate
  updateStrategy: {
    type: 'RollingUpdate' | 'OnDelete'
    rollingUpdate?: { maxUnavailable?: IntOrString; maxSurge?: IntOrString }
  }
  minReadySeconds?: number
  revisionHistoryLimit: number
}

export interface DaemonSetStatus {
  currentNumberScheduled: number
  numberMisscheduled: number
  desiredNumberScheduled: number
  numberReady: number
  observedGeneration?: number
  updatedNumberScheduled?: number
  numberAvailable?: number
  numberUnavailable?: number
  collisionCount?: number
}

export interface DaemonSet extends KubeObject {
  spec: DaemonSetSpec
  status?: DaemonSetStatus
}

export interface ContainerStatus {
  name: string
  state: {
    waiting?: { reason: string; message?: string }
    running?: { startedAt: string }
    terminated?: { exitCode: number; reason: string }
  }
  lastState: { terminated?: { exitCode: number; reason: string; startedAt?: string; finishedAt?: string } }
  ready: boolean
  restartCount: number
  image: string
  imageID: string
  containerID?: string
  started: boolean
}

export interface PodStatus {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'
  conditions?: Condition[]
  hostIP?: string
  podIP?: string
  podIPs?: { ip: string }[]
  startTime?: string
  initContainerStatuses?: ContainerStatus[]
  containerStatuses?: ContainerStatus[]
  qosClass?: string
}

export interface Pod extends KubeObject {
  spec: PodSpec
  status?: PodStatus
}

/** The API server's defaults for each type this module knows; other types are left alone. */
export function applyWorkloadDefaults(type: ResourceType, object: KubeObject): void {
  const spec = (isObject(object.spec) ? object.spec : (object.spec = {})) as Record<string, unknown>
  if (type === DEPLOYMENTS) {
    const deployment = spec as Partial<DeploymentSpec>
    deployment.replicas ??= 1
    deployment.strategy ??= { type: 'RollingUpdate' }
    deployment.strategy.type ??= 'RollingUpdate'
    if (deployment.strategy.type === 'RollingUpdate')
      deployment.strategy.rollingUpdate = {
        maxUnavailable: '25%',
        maxSurge: '25%',
        ...deployment.strategy.rollingUpdate
      }
    deployment.revisionHistoryLimit ??= 10
    deployment.progressDeadlineSeconds ??= 600
  } else if (type === STATEFULSETS) {
    const statefulSet = spec as Partial<StatefulSetSpec>
    statefulSet.podManagementPolicy ??= 'OrderedReady'
    // As SetDefaults_StatefulSet: rollingUpdate.partition appears only when the type itself was defaulted, or
    // when rollingUpdate was given; `type: RollingUpdate` alone keeps rollingUpdate absent.
    if (!statefulSet.updateStrategy?.type)
      statefulSet.updateStrategy = { rollingUpdate: {}, ...statefulSet.updateStrategy, type: 'RollingUpdate' }
    const { updateStrategy } = statefulSet
    if (updateStrategy.type === 'RollingUpdate' && updateStrategy.rollingUpdate)
      updateStrategy.rollingUpdate.partition ??= 0
    const retention = (spec.persistentVolumeClaimRetentionPolicy ?? {}) as Record<string, string>
    spec.persistentVolumeClaimRetentionPolicy = { whenDeleted: 'Retain', whenScaled: 'Retain', ...retention }
    statefulSet.replicas ??= 1
    statefulSet.revisionHistoryLimit ??= 10
  } else if (type === DAEMONSETS) {
    const daemonSet = spec as Partial<DaemonSetSpec>
    daemonSet.updateStrategy ??= { type: 'RollingUpdate' }
    daemonSet.updateStrategy.type ??= 'RollingUpdate'
    if (daemonSet.updateStrategy.type === 'RollingUpdate')
      daemonSet.updateStrategy.rollingUpdate = {
        maxUnavailable: 1,
        maxSurge: 0,
        ...daemonSet.updateStrategy.rollingUpdate
      }
    daemonSet.revisionHistoryLimit ??= 10
  } else if (type === REPLICASETS) {
    spec.replicas ??= 1
  } else if (type !== PODS) return

  if (type === PODS) {
    podSpecDefaults(spec as unknown as PodSpec)
    Object.assign(spec, { enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority', priority: 0, ...spec })
    spec.serviceAccountName ??= 'default'
    return
  }
  const template = (isObject(spec.template) ? spec.template : (spec.template = {})) as Partial<PodTemplate>
  // A template's metadata goes through the typed ObjectMeta: its zero creationTimestamp is serialized as null (so a
  // template kubectl sends back, as `rollout undo` does, is the same template and keeps its pod-template-hash).
  const { creationTimestamp: _zero, ...meta } = template.metadata ?? {}
  template.metadata = { creationTimestamp: null, ...meta }
  template.spec ??= { containers: [] }
  podSpecDefaults(template.spec)
}

/** SetDefaults_PodSpec and SetDefaults_Container (what shows in a workload's template after a write). */
function podSpecDefaults(spec: PodSpec): void {
  spec.containers ??= []
  spec.restartPolicy ??= 'Always'
  spec.terminationGracePeriodSeconds ??= 30
  spec.dnsPolicy ??= 'ClusterFirst'
  spec.securityContext ??= {}
  spec.schedulerName ??= 'default-scheduler'
  for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
    container.imagePullPolicy ??= pullPolicy(container.image ?? '')
    container.resources ??= {}
    container.terminationMessagePath ??= '/dev/termination-log'
    container.terminationMessagePolicy ??= 'File'
    for (const port of container.ports ?? []) port.protocol ??= 'TCP'
  }
  for (const volume of spec.volumes ?? []) {
    if (volume.secret) volume.secret.defaultMode ??= 0o644
    if (volume.configMap) volume.configMap.defaultMode ??= 0o644
    if (volume.projected) volume.projected.defaultMode ??= 0o644
  }
}

/** `:latest` or no tag: Always; a tag or a digest: IfNotPresent. */
function pullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent'
  const tag = /:([^/:]+)$/.exec(image)?.[1]
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent'
}

/**
 * What validation refuses of a workload (422, `<Kind>.apps "<name>" is invalid: ...`): a missing selector, a
 * selector its template's labels do not match, a template without containers.
 */
export function validateWorkload(type: ResourceType, object: KubeObject): void {
  if (!type.builtIn || type.group !== 'apps') return
  const spec = object.spec as { selector?: LabelSelector; template?: PodTemplate }
  const invalid = (field: string, message: string) =>
    new ApiError(422, `${type.kind}.apps "${object.metadata.name}" is invalid: ${field}: ${message}`, 'Invalid')
  if (
    !spec.selector ||
    (Object.keys(spec.selector.matchLabels ?? {}).length === 0 && (spec.selector.matchExpressions ?? []).length === 0)
  ) {
    throw invalid('spec.selector', 'Required value')
  }
  const labels = spec.template?.metadata?.labels ?? {}
  if (!selectorMatches(spec.selector, labels)) {
    throw invalid(
      'spec.template.metadata.labels',
      `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``
    )
  }
  if ((spec.template?.spec.containers ?? []).length === 0)
    throw invalid('spec.template.spec.containers', 'Required value')
}

export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value)
  return (
    byLabels &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      switch (operator) {
        case 'In':
          return key in labels && values.includes(labels[key])
        case 'NotIn':
          return !(key in labels) || !values.includes(labels[key])
        case 'Exists':
          return key in labels
        case 'DoesNotExist':
          return !(key in labels)
      }
    })
  )
}

/** `metav1.LabelSelectorAsSelector(...).String()`: requirements sorted by key, as `kubectl get -o wide` shows them. */
export function selectorText(selector: LabelSelector | undefined): string {
  if (!selector) return '<none>'
  const requirements = [
    ...Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({ key, text: `${key}=${value}` })),
    ...(selector.matchExpressions ?? []).map(({ key, operator, values = [] }) => ({
      key,
      text:
        operator === 'Exists'
          ? key
          : operator === 'DoesNotExist'
            ? `!${key}`
            : `${key} ${operator.toLowerCase()} (${[...values].sort().join(',')})`
    }))
  ].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return requirements.length === 0 ? '<none>' : requirements.map(({ text }) => text).join(',')
}

/** What `rand.SafeEncodeString` maps digits to: no vowels, no look-alike characters. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

/** FNV-1a, 32 bits. */
function fnv32a(text: string): number {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/**
 * `controller.ComputeHash`: an FNV-32a of the template, written out in decimal and encoded with the safe alphabet,
 * e.g. `7d9f8b6c5d`: the `pod-template-hash` of a Deployment's ReplicaSet, the revision of a StatefulSet or
 * DaemonSet.
 */
export function templateHash(template: PodTemplate, collisionCount = 0): string {
  const hash = fnv32a(canonical(template) + (collisionCount ? String(collisionCount) : ''))
  return [...String(hash)].map((digit) => SAFE_ALPHABET[digit.charCodeAt(0) % SAFE_ALPHABET.length]).join('')
}

/** A random `generateName` suffix, as the API server makes one: 5 characters of the safe alphabet. */
export function randomSuffix(): string {
  return Array.from({ length: 5 }, () => SAFE_ALPHABET[Math.floor(Math.random() * SAFE_ALPHABET.length)]).join('')
}

/** `intstr.GetScaledValueFromIntOrPercent`: a number as is, or a percentage of `total` rounded up or down. */
export function scaled(value: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0
  if (typeof value === 'number') return value
  const percent = /^(\d+)%$/.exec(value)
  if (!percent) {
    const number = Number(value)
    if (Number.isInteger(number)) return number
    throw new ApiError(
      422,
      `invalid value for IntOrString: invalid value "${value}": must be an integer or percentage (e.g '5%')`,
      'Invalid'
    )
  }
  const exact = (Number(percent[1]) * total) / 100
  return roundUp ? Math.ceil(exact) : Math.floor(exact)
}

/** A template as a workload's pods get it: its metadata and spec, deep-copied. */
export function templateOf(template: PodTemplate): PodTemplate {
  return clone({ metadata: template.metadata ?? {}, spec: template.spec })
}
