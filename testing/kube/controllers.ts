/**
 * A simulation of kube-controller-manager's workload controllers (Deployment with its ReplicaSets, StatefulSet,
 * DaemonSet), of the scheduler and of the kubelet, working on the store directly as the real ones work through
 * their informers. What kubectl and the rollout code read is what the real controllers write:
 *
 * - Deployment: on a template change a new ReplicaSet `<name>-<pod-template-hash>` (revision annotation + 1); a
 *   RollingUpdate scales it up within maxSurge and the old ones down within maxUnavailable (25 % each by default,
 *   at least one pod at a time), Recreate scales the old ones to 0 first. Status: observedGeneration, replicas,
 *   updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas, and the conditions Available
 *   (MinimumReplicasAvailable / MinimumReplicasUnavailable) and Progressing (NewReplicaSetCreated,
 *   ReplicaSetUpdated, NewReplicaSetAvailable, and ProgressDeadlineExceeded with `ReplicaSet "<rs>" has timed out
 *   progressing.` once no progress was made for progressDeadlineSeconds). `spec.paused`: no new ReplicaSet, no
 *   rollout (DeploymentPaused; DeploymentResumed when resumed). ReplicaSets beyond revisionHistoryLimit are deleted.
 * - StatefulSet: pods `<name>-<ordinal>`, labelled with the revision `<name>-<hash>`. OrderedReady creates them one
 *   at a time in order; RollingUpdate replaces, from the highest ordinal down to the partition, one pod at a time
 *   once all are ready; OnDelete replaces nothing (a deleted pod comes back at the update revision). Status:
 *   observedGeneration, replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas,
 *   currentRevision, updateRevision (current becomes update when a RollingUpdate has updated and readied every pod).
 * - DaemonSet: one pod per node (`nodes`, default 2: node-1, node-2...); RollingUpdate replaces them within
 *   maxUnavailable (default 1); OnDelete replaces nothing. Status: desiredNumberScheduled, currentNumberScheduled,
 *   numberReady, updatedNumberScheduled, numberAvailable, numberUnavailable, observedGeneration.
 * - Rollout (Argo Rollouts, served with `argoRollouts: true`; argoproj/argo-rollouts rollout/canary.go,
 *   rollout/restart.go, rollout/sync.go, utils/rollout/rolloututil.go): a canary without steps, its ReplicaSets
 *   `<name>-<hash>` (label rollouts-pod-template-hash) rolled within maxSurge/maxUnavailable; `spec.restartAt` evicts
 *   the pods created before it once it has passed and then sets status.restartedAt; `spec.paused` scales nothing;
 *   status.observedGeneration as a string, phase and message as CalculateRolloutPhase, Degraded once no progress was
 *   made for progressDeadlineSeconds; `workloadRef` takes a Deployment's template. See #syncRollout.
 * - Kubelet: a new pod is bound to a node, reads its Secrets (see podsecrets.ts: what it read is kept, and written
 *   as the `zerotouch.test/secret-data` annotation), and is Running and Ready `podStartMs` later; the pods of a
 *   workload given to `failPods` end in CrashLoopBackOff instead, never ready, until `clearFailure`. A pod whose
 *   Secret or key is missing waits (CreateContainerConfigError / ContainerCreating) until it appears. Deleted pods
 *   are gone at once, or after `podStopMs` as Terminating. Deleting a workload deletes what it owns.
 *
 * One work queue for all (`pause` stops it, changes are still queued); `idle` resolves once nothing is queued and
 * no pod is starting or stopping (a progress deadline still to come does not count). `secondMs` is how long one
 * second of a spec (progressDeadlineSeconds) lasts: 1000 as in a cluster, less to make a deadline test fast.
 * minReadySeconds is not simulated: a pod is available as soon as it is ready.
 */
import { createHash } from 'node:crypto'
import { clone, objectKey, rfc3339, sameJson, type KubeObject, type OwnerReference } from './json.ts'
import { resolvePodSecrets, secretDataAnnotation, SECRET_DATA_ANNOTATION, type PodSecretData } from './podsecrets.ts'
import {
  DAEMONSETS,
  DEPLOYMENTS,
  PODS,
  REPLICASETS,
  ROLLOUTS,
  SECRETS,
  STATEFULSETS,
  type ResourceType
} from './resources.ts'
import type { Change, Store } from './store.ts'
import {
  applyWorkloadDefaults,
  randomSuffix,
  scaled,
  type IntOrString,
  templateHash,
  templateOf,
  type Condition,
  type ContainerStatus,
  type DaemonSet,
  type DaemonSetStatus,
  type Deployment,
  type DeploymentStatus,
  type Pod,
  type PodStatus,
  type PodTemplate,
  type ReplicaSet,
  type Rollout,
  type RolloutStatus,
  type StatefulSet,
  type StatefulSetStatus
} from './workloads.ts'

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout'

export interface RolloutRecord {
  readonly kind: WorkloadKind
  readonly namespace: string
  readonly name: string
  /** The pod-template-hash (Deployment, DaemonSet) or the revision name (StatefulSet) rolled out. */
  readonly revision: string
  readonly startedAt: number
  /** When the rollout was complete by `kubectl rollout status`'s rules, timed out, or replaced by another. */
  finishedAt?: number
  outcome?: 'complete' | 'progress-deadline-exceeded' | 'superseded'
}

export interface ControllersOptions {
  store: Store
  podStartMs: number
  podStopMs: number
  nodes: number
  secondMs: number
}

const WORKLOAD_TYPES: Readonly<Record<WorkloadKind, ResourceType>> = {
  Deployment: DEPLOYMENTS,
  StatefulSet: STATEFULSETS,
  DaemonSet: DAEMONSETS,
  Rollout: ROLLOUTS
}

const REVISION = 'deployment.kubernetes.io/revision'
const HASH_LABEL = 'pod-template-hash'
const REVISION_LABEL = 'controller-revision-hash'
/** Argo Rollouts' ReplicaSet label and revision annotation (pkg/apis/rollouts/v1alpha1 DefaultRolloutUniqueLabelKey). */
const ROLLOUT_HASH_LABEL = 'rollouts-pod-template-hash'
const ROLLOUT_REVISION = 'rollout.argoproj.io/revision'
/** The generation of a workloadRef's Deployment, on the Rollout (utils/annotations WorkloadGenerationAnnotation). */
const WORKLOAD_GENERATION = 'rollout.argoproj.io/workload-generation'
const RESTART_MESSAGE = 'back-off 10s restarting failed container'

/** Per pod, what the simulated kubelet is doing with it. */
interface KubeletState {
  uid: string
  phase: 'blocked' | 'starting' | 'running' | 'crashing'
  /**
   * Set when the start timer fires: the firing itself says podStartMs has passed. Comparing Date.now() with a
   * deadline would not: Node computes a timer's due time from the event loop's cached clock, so a timer may fire
   * before Date.now() shows its whole delay as gone, and a pod judged "not yet" would never be looked at again.
   */
  startDue: boolean
  restarts: number
  startedAt?: string
  podIP: string
  hostIP: string
}

export class Controllers {
  /** How long a pod takes from creation to Running and Ready (or to CrashLoopBackOff when failing). */
  podStartMs: number
  /** How long a deleted pod stays Terminating (0: gone at once). */
  podStopMs: number
  /** How long one second of a spec lasts (progressDeadlineSeconds). */
  secondMs: number
  /** Every rollout seen, in order of start. */
  readonly rollouts: RolloutRecord[] = []

  readonly #store: Store
  readonly #queue = new Set<string>()
  readonly #podTimers = new Set<NodeJS.Timeout>()
  readonly #deadlines = new Map<string, NodeJS.Timeout>()
  readonly #failing = new Set<string>()
  readonly #secretData = new Map<string, { uid: string; data: PodSecretData }>()
  readonly #kubelet = new Map<string, KubeletState>()
  /** Templates of StatefulSet revisions (the ControllerRevisions), by `<namespace>/<revision>`. */
  readonly #revisions = new Map<string, PodTemplate>()
  /** When each Deployment last reported progress (the Progressing condition's lastUpdateTime, in ms). */
  readonly #progressAt = new Map<string, number>()
  readonly #idle: (() => void)[] = []
  readonly #unsubscribe: (() => void)[]
  #nodes: number
  #podCount = 0
  #scheduled = false
  #paused = false
  #stopped = false

  constructor(options: ControllersOptions) {
    this.#store = options.store
    this.podStartMs = options.podStartMs
    this.podStopMs = options.podStopMs
    this.secondMs = options.secondMs
    this.#nodes = options.nodes
    this.#unsubscribe = [
      ...[DEPLOYMENTS, STATEFULSETS, DAEMONSETS, ROLLOUTS].map((type) =>
        this.#store.subscribe(type, (change) => this.#onWorkload(type, change))
      ),
      this.#store.subscribe(REPLICASETS, (change) => this.#onReplicaSet(change)),
      this.#store.subscribe(PODS, (change) => this.#onPod(change)),
      this.#store.subscribe(SECRETS, (change) => this.#onSecret(change))
    ]
    for (const type of [DEPLOYMENTS, STATEFULSETS, DAEMONSETS, ROLLOUTS])
      for (const object of this.#store.list(type)) this.#add(keyOf(type.kind, object))
  }

  /** The number of nodes (DaemonSets run one pod on each): node-1 ... node-N. */
  get nodes(): number {
    return this.#nodes
  }

  set nodes(count: number) {
    this.#nodes = count
    for (const ds of this.#store.list(DAEMONSETS)) this.#add(keyOf('DaemonSet', ds))
  }

  /** Stops working off the queue; changes and pod timers still queue work. */
  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    this.#schedule()
  }

  /** Resolves once nothing is queued and no pod is starting or stopping (progress deadlines still to come do not count). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /** From now on, the pods of this workload (or this pod) that start crash (CrashLoopBackOff) and never become ready. */
  failPods(namespace: string, name: string): void {
    this.#failing.add(objectKey(namespace, name))
  }

  /** Its crashing pods restart and become ready; new ones start normally. */
  clearFailure(namespace: string, name: string): void {
    this.#failing.delete(objectKey(namespace, name))
    for (const [key, state] of this.#kubelet)
      if (state.phase === 'crashing' && key.startsWith(`${namespace}/`)) this.#add(`Pod/${key}`)
  }

  /** What the pod read from Secrets when it started; undefined for a pod that has not started (or does not exist). */
  podSecretData(namespace: string, pod: string): PodSecretData | undefined {
    const found = this.#store.get(PODS, namespace, pod)
    const entry = this.#secretData.get(objectKey(namespace, pod))
    return found && entry && entry.uid === found.metadata.uid ? clone(entry.data) : undefined
  }

  /** The pods of a workload (of its ReplicaSets, for a Deployment), Terminating ones too, by name. */
  podsOf(kind: WorkloadKind, namespace: string, name: string): Pod[] {
    const workload = this.#store.get(WORKLOAD_TYPES[kind], namespace, name)
    if (!workload) return []
    const owners =
      kind === 'Deployment' || kind === 'Rollout'
        ? this.#ownedBy(REPLICASETS, workload).map((rs) => rs.metadata.uid)
        : [workload.metadata.uid]
    return (this.#store.list(PODS, namespace) as Pod[]).filter((pod) => owners.includes(controllerOf(pod)?.uid))
  }

  stop(): Promise<void> {
    this.#stopped = true
    for (const unsubscribe of this.#unsubscribe) unsubscribe()
    for (const timer of [...this.#podTimers, ...this.#deadlines.values()]) clearTimeout(timer)
    this.#podTimers.clear()
    this.#deadlines.clear()
    this.#queue.clear()
    for (const resolve of this.#idle.splice(0)) resolve()
    return Promise.resolve()
  }

  // ---- the queue

  #add(key: string): void {
    if (this.#stopped) return
    this.#queue.add(key)
    this.#schedule()
  }

  #schedule(): void {
    if (this.#scheduled || this.#paused || this.#stopped || this.#queue.size === 0) return
    this.#scheduled = true
    setImmediate(() => {
      this.#scheduled = false
      this.#drain()
    })
  }

  #drain(): void {
    for (let budget = 500; budget > 0 && !this.#paused && !this.#stopped && this.#queue.size > 0; budget--) {
      const [key] = this.#queue
      this.#queue.delete(key)
      try {
        this.#reconcile(key)
      } catch (error) {
        console.error(`test workload controllers: ${key} failed unexpectedly`, error)
      }
    }
    this.#schedule()
    if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
  }

  #isIdle(): boolean {
    return this.#queue.size === 0 && this.#podTimers.size === 0
  }

  /** Queues `key` after `ms` (first calling `fired`); counts as work in progress for `idle` until then. */
  #after(ms: number, key: string, fired?: () => void): void {
    const timer = setTimeout(() => {
      this.#podTimers.delete(timer)
      fired?.()
      this.#add(key)
      if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
    }, ms)
    timer.unref()
    this.#podTimers.add(timer)
  }

  #reconcile(key: string): void {
    const [tag, namespace, name] = key.split('/')
    switch (tag) {
      case 'Deployment':
        return this.#syncDeployment(namespace, name)
      case 'StatefulSet':
        return this.#syncStatefulSet(namespace, name)
      case 'DaemonSet':
        return this.#syncDaemonSet(namespace, name)
      case 'Rollout':
        return this.#syncRollout(namespace, name)
      case 'Pod':
        return this.#syncPod(namespace, name)
      case 'Delete':
        return void this.#store.delete(PODS, namespace, name)
      case 'GC':
        return this.#collectGarbage(namespace, name)
    }
  }

  // ---- what queues work

  #onWorkload(type: ResourceType, { type: change, object }: Change): void {
    if (change === 'DELETED') this.#add(`GC/${object.metadata.namespace}/${object.metadata.uid}`)
    else this.#add(keyOf(type.kind, object))
    // The Rollouts whose workloadRef names this Deployment resolve their template from it (rollout/templateref.go).
    if (type === DEPLOYMENTS)
      for (const rollout of this.#store.list(ROLLOUTS, object.metadata.namespace) as Rollout[])
        if (rollout.spec.workloadRef?.kind === 'Deployment' && rollout.spec.workloadRef.name === object.metadata.name)
          this.#add(keyOf('Rollout', rollout))
  }

  #onReplicaSet({ type: change, object }: Change): void {
    if (change === 'DELETED') this.#add(`GC/${object.metadata.namespace}/${object.metadata.uid}`)
    const owner = controllerOf(object)
    if (owner?.kind === 'Deployment' || owner?.kind === 'Rollout')
      this.#add(`${owner.kind}/${object.metadata.namespace}/${owner.name}`)
  }

  #onPod({ type: change, object }: Change): void {
    const key = objectKey(object.metadata.namespace, object.metadata.name)
    if (change === 'DELETED') {
      if (this.#kubelet.get(key)?.uid === object.metadata.uid) this.#kubelet.delete(key)
      if (this.#secretData.get(key)?.uid === object.metadata.uid) this.#secretData.delete(key)
    } else if (!this.#kubelet.has(key) && needsStart(object as Pod)) this.#add(`Pod/${key}`)
    const workload = this.#workloadOf(object)
    if (workload) this.#add(`${workload.kind}/${object.metadata.namespace}/${workload.name}`)
  }

  #onSecret({ object }: Change): void {
    for (const [key, state] of this.#kubelet)
      if (state.phase === 'blocked' && key.startsWith(`${object.metadata.namespace}/`)) this.#add(`Pod/${key}`)
  }

  /** The workload a pod belongs to: its controller, or the Deployment of its ReplicaSet. */
  #workloadOf(pod: KubeObject): { kind: WorkloadKind; name: string } | undefined {
    const owner = controllerOf(pod)
    if (owner?.kind === 'StatefulSet' || owner?.kind === 'DaemonSet') return { kind: owner.kind, name: owner.name }
    if (owner?.kind !== 'ReplicaSet') return undefined
    const workload = controllerOf(this.#store.get(REPLICASETS, pod.metadata.namespace, owner.name))
    return workload?.kind === 'Deployment' || workload?.kind === 'Rollout'
      ? { kind: workload.kind, name: workload.name }
      : undefined
  }

  #ownedBy(type: ResourceType, owner: KubeObject): KubeObject[] {
    return this.#store
      .list(type, owner.metadata.namespace)
      .filter((object) => controllerOf(object)?.uid === owner.metadata.uid)
  }

  #podsOwnedBy(owner: KubeObject): Pod[] {
    return this.#ownedBy(PODS, owner) as Pod[]
  }

  /** Background deletion: what the garbage collector does once an owner is gone. */
  #collectGarbage(namespace: string, uid: string): void {
    for (const type of [REPLICASETS, PODS]) {
      for (const object of this.#store.list(type, namespace))
        if (object.metadata.ownerReferences?.some((owner) => owner.uid === uid))
          this.#store.delete(type, namespace, object.metadata.name)
    }
  }

  // ---- pods: creation, deletion, the kubelet

  #createPod(
    owner: KubeObject,
    name: string,
    template: PodTemplate,
    labels: Record<string, string>,
    nodeName?: string,
    extra: Partial<Pod['spec']> = {}
  ): Pod {
    const { metadata = {}, spec } = templateOf(template)
    const reference: OwnerReference = {
      apiVersion: owner.apiVersion,
      kind: owner.kind,
      name: owner.metadata.name,
      uid: owner.metadata.uid ?? '',
      controller: true,
      blockOwnerDeletion: true
    }
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        ...(owner.kind === 'StatefulSet' ? {} : { generateName: `${name.slice(0, name.lastIndexOf('-'))}-` }),
        namespace: owner.metadata.namespace,
        labels: { ...metadata.labels, ...labels },
        ...(metadata.annotations ? { annotations: metadata.annotations } : {}),
        ownerReferences: [reference]
      },
      spec: { ...spec, ...extra, ...(nodeName ? { nodeName } : {}) },
      status: { phase: 'Pending', qosClass: 'BestEffort' }
    }
    applyWorkloadDefaults(PODS, pod)
    return this.#store.write(PODS, pod) as Pod
  }

  /** Deletes at once, or marks Terminating and deletes after podStopMs. */
  #deletePod(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) return
    if (this.podStopMs <= 0) {
      this.#store.delete(PODS, pod.metadata.namespace, pod.metadata.name)
      return
    }
    const grace = Math.ceil(this.podStopMs / 1000)
    this.#store.write(PODS, {
      ...pod,
      metadata: {
        ...pod.metadata,
        deletionTimestamp: rfc3339(new Date(Date.now() + grace * 1000)),
        deletionGracePeriodSeconds: grace
      }
    })
    this.#after(this.podStopMs, `Delete/${pod.metadata.namespace}/${pod.metadata.name}`)
  }

  #syncPod(namespace: string, name: string): void {
    const pod = this.#store.get(PODS, namespace, name) as Pod | undefined
    const key = objectKey(namespace, name)
    if (!pod || pod.metadata.deletionTimestamp) return
    let state = this.#kubelet.get(key)
    if (state && state.uid !== pod.metadata.uid) state = undefined
    if (!state) {
      if (!needsStart(pod)) return
      const node = pod.spec.nodeName ?? nodeName(this.#podCount % Math.max(1, this.#nodes))
      const nodeIndex = Number(node.replace(/^\D+/, '')) || 1
      this.#podCount++
      state = {
        uid: pod.metadata.uid ?? '',
        phase: 'blocked',
        startDue: false,
        restarts: 0,
        hostIP: `172.18.0.${nodeIndex + 1}`,
        podIP: `10.244.${nodeIndex}.${(this.#podCount % 250) + 2}`
      }
      this.#kubelet.set(key, state)
      pod.spec.nodeName = node
    }
    if (state.phase === 'blocked') return this.#startPod(pod, state)
    if (state.phase === 'starting' && state.startDue) {
      state.startDue = false
      if (this.#failureOf(pod)) {
        state.phase = 'crashing'
        state.restarts++
        this.#writePodStatus(pod, podStatus(pod, state, 'crashing'))
      } else {
        state.phase = 'running'
        state.startedAt = rfc3339()
        this.#writePodStatus(pod, podStatus(pod, state, 'running'))
      }
      return
    }
    if (state.phase === 'crashing' && !this.#failureOf(pod)) {
      state.phase = 'starting'
      this.#awaitStart(state, key)
    }
  }

  /** The containers start: the pod is looked at again once podStartMs has passed. */
  #awaitStart(state: KubeletState, key: string): void {
    state.startDue = false
    this.#after(this.podStartMs, `Pod/${key}`, () => (state.startDue = true))
  }

  /** Reads the pod's Secrets: it starts (ready after podStartMs) or waits for what is missing. */
  #startPod(pod: Pod, state: KubeletState): void {
    const namespace = pod.metadata.namespace ?? 'default'
    const resolution = resolvePodSecrets(pod, (secret) => this.#store.get(SECRETS, namespace, secret))
    if (!resolution.ok) {
      this.#writePodStatus(pod, podStatus(pod, state, 'blocked', resolution))
      return
    }
    this.#secretData.set(objectKey(namespace, pod.metadata.name), { uid: state.uid, data: resolution.data })
    pod.metadata.annotations = {
      ...pod.metadata.annotations,
      [SECRET_DATA_ANNOTATION]: secretDataAnnotation(resolution.data)
    }
    state.phase = 'starting'
    this.#writePodStatus(pod, podStatus(pod, state, 'starting'))
    this.#awaitStart(state, objectKey(namespace, pod.metadata.name))
  }

  #writePodStatus(pod: Pod, status: PodStatus): void {
    this.#store.write(PODS, { ...pod, status })
  }

  #failureOf(pod: Pod): boolean {
    const workload = this.#workloadOf(pod)
    return (
      this.#failing.has(objectKey(pod.metadata.namespace, pod.metadata.name)) ||
      (workload !== undefined && this.#failing.has(objectKey(pod.metadata.namespace, workload.name)))
    )
  }

  /**
   * Sets the Progressing condition (deployment/util SetDeploymentCondition; argo-rollouts conditions.SetRolloutCondition
   * does the same), and records when it changed: the progress deadline counts from then.
   */
  #setProgressing(key: string, status: { conditions?: Condition[] }, next: Condition): void {
    const previous = status.conditions?.find((c) => c.type === 'Progressing')
    setDeploymentCondition(status, next)
    if (status.conditions?.find((c) => c.type === 'Progressing') !== previous) this.#progressAt.set(key, Date.now())
  }

  /**
   * Progress was made (deployment/progress.go; argo-rollouts rollout/sync.go does the same): Progressing=True with
   * reason ReplicaSetUpdated, its transition time kept while it stays True, and the deadline counted from now.
   */
  #progressed(key: string, status: { conditions?: Condition[] }, rsName: string): void {
    const current = status.conditions?.find((c) => c.type === 'Progressing')
    const next = condition('Progressing', 'True', 'ReplicaSetUpdated', `${rsName} is progressing.`)
    if (current?.status === 'True') next.lastTransitionTime = current.lastTransitionTime
    status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== 'Progressing'), next]
    this.#progressAt.set(key, Date.now())
  }

  // ---- Deployment

  #syncDeployment(namespace: string, name: string): void {
    const key = `Deployment/${namespace}/${name}`
    const found = this.#store.get(DEPLOYMENTS, namespace, name) as Deployment | undefined
    if (!found) {
      this.#clearDeadline(key)
      this.#progressAt.delete(key)
      return
    }
    const d = found
    const desired = d.spec.replicas
    const hash = templateHash(templateOf(d.spec.template), d.status?.collisionCount)
    let replicaSets = (this.#ownedBy(REPLICASETS, d) as ReplicaSet[]).sort(byCreation)
    let newRS = replicaSets.find((rs) => rs.metadata.labels?.[HASH_LABEL] === hash)
    const status: DeploymentStatus = clone(d.status ?? {})
    const annotations = { ...d.metadata.annotations }
    const maxRevision = Math.max(0, ...replicaSets.map(revisionOf))
    const rolling = d.spec.strategy.type === 'RollingUpdate'
    const { rollingUpdate } = d.spec.strategy
    const { surge: maxSurge, unavailable: maxUnavailable } = rolling
      ? fenceposts(rollingUpdate?.maxSurge, rollingUpdate?.maxUnavailable, d.spec.replicas)
      : { surge: 0, unavailable: 0 }

    // The ReplicaSets as their controller reports them, before any decision.
    replicaSets = replicaSets.map((rs) => this.#syncReplicaSetStatus(rs))
    newRS = newRS && replicaSets.find((rs) => rs.metadata.uid === newRS?.metadata.uid)
    const oldRSs = () => replicaSets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid)
    const scale = (rs: ReplicaSet, replicas: number) => {
      if (rs.spec.replicas === replicas) return rs
      const scaledRS = this.#store.write(REPLICASETS, {
        ...rs,
        metadata: {
          ...rs.metadata,
          annotations: {
            ...rs.metadata.annotations,
            'deployment.kubernetes.io/desired-replicas': String(desired),
            'deployment.kubernetes.io/max-replicas': String(desired + maxSurge)
          }
        },
        spec: { ...rs.spec, replicas }
      }) as ReplicaSet
      replicaSets = replicaSets.map((candidate) => (candidate.metadata.uid === rs.metadata.uid ? scaledRS : candidate))
      if (newRS?.metadata.uid === rs.metadata.uid) newRS = scaledRS
      return scaledRS
    }
    const progressing = (conditionStatus: Condition['status'], reason: string, message: string) =>
      this.#setProgressing(key, status, condition('Progressing', conditionStatus, reason, message))

    const current = status.conditions?.find((c) => c.type === 'Progressing')
    if (d.spec.paused && current?.reason !== 'ProgressDeadlineExceeded' && current?.reason !== 'DeploymentPaused')
      progressing('Unknown', 'DeploymentPaused', 'Deployment is paused')
    if (!d.spec.paused && current?.reason === 'DeploymentPaused')
      progressing('Unknown', 'DeploymentResumed', 'Deployment is resumed')

    if (!d.spec.paused) {
      const oldPodsRunning = () => oldRSs().some((rs) => this.#podsOwnedBy(rs).length > 0)
      const createNewRS = !newRS && (rolling || (oldRSs().every((rs) => rs.spec.replicas === 0) && !oldPodsRunning()))
      if (!rolling) for (const rs of oldRSs()) scale(rs, 0)
      if (createNewRS) {
        const revision = maxRevision + 1
        const initial = rolling
          ? Math.max(0, Math.min(desired, desired + maxSurge - sum(replicaSets, (rs) => rs.spec.replicas)))
          : desired
        newRS = this.#createReplicaSet(d, hash, revision, initial, maxSurge)
        replicaSets = [...replicaSets, newRS]
        progressing('True', 'NewReplicaSetCreated', `Created new replica set "${newRS.metadata.name}"`)
      } else if (newRS && revisionOf(newRS) < maxRevision) {
        // The template went back to an older ReplicaSet's: it becomes the newest revision.
        newRS = this.#store.write(REPLICASETS, {
          ...newRS,
          metadata: {
            ...newRS.metadata,
            annotations: { ...newRS.metadata.annotations, [REVISION]: String(maxRevision + 1) }
          }
        }) as ReplicaSet
        const rolledBack = newRS
        replicaSets = replicaSets.map((rs) => (rs.metadata.uid === rolledBack.metadata.uid ? rolledBack : rs))
      }
      if (newRS) annotations[REVISION] = String(revisionOf(newRS))

      if (newRS && rolling) {
        // reconcileNewReplicaSet
        if (newRS.spec.replicas > desired) scale(newRS, desired)
        else if (newRS.spec.replicas < desired) {
          const room = desired + maxSurge - sum(replicaSets, (rs) => rs.spec.replicas)
          if (room > 0) scale(newRS, newRS.spec.replicas + Math.min(room, desired - newRS.spec.replicas))
        }
        this.#scaleDownOld(desired, newRS, replicaSets, oldRSs, scale, maxUnavailable)
      } else if (newRS && !oldPodsRunning()) scale(newRS, desired)
    }

    // The ReplicaSet controller: pods to each one's replicas; then their status again.
    replicaSets = replicaSets.map((rs) => this.#syncReplicaSetPods(rs))
    newRS = newRS && replicaSets.find((rs) => rs.metadata.uid === newRS?.metadata.uid)

    // calculateStatus and syncRolloutStatus
    const before = d.status ?? {}
    const available = sum(replicaSets, (rs) => rs.status?.availableReplicas ?? 0)
    const total = sum(replicaSets, (rs) => rs.spec.replicas)
    Object.assign(status, {
      observedGeneration: d.metadata.generation,
      replicas: sum(replicaSets, (rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum(replicaSets, (rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available)
    })
    if (available >= desired - maxUnavailable)
      setDeploymentCondition(
        status,
        condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
      )
    else
      setDeploymentCondition(
        status,
        condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.')
      )

    const rsName = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${name}"`
    const cond = status.conditions?.find((c) => c.type === 'Progressing')
    const completeBefore = status.replicas === status.updatedReplicas && cond?.reason === 'NewReplicaSetAvailable'
    let timedOut = false
    if (!d.spec.paused && !completeBefore) {
      if (isComplete(d, status)) progressing('True', 'NewReplicaSetAvailable', `${rsName} has successfully progressed.`)
      else if (madeProgress(before, status)) this.#progressed(key, status, rsName)
      else if (this.#timedOut(key, d, status)) {
        progressing('False', 'ProgressDeadlineExceeded', `${rsName} has timed out progressing.`)
        timedOut = true
      }
    }
    this.#scheduleDeadline(key, d, status)
    if (!d.spec.paused && isComplete(d, status)) this.#cleanupReplicaSets(d, oldRSs())

    const metadata = Object.keys(annotations).length > 0 ? { ...d.metadata, annotations } : d.metadata
    this.#store.write(DEPLOYMENTS, { ...d, metadata, status: deploymentStatus(status) })
    // No rollout while paused: one starts (is recorded) when the Deployment is resumed.
    if (!d.spec.paused)
      this.#track(
        'Deployment',
        d,
        hash,
        isComplete(d, status) && !timedOut,
        status.conditions?.find((c) => c.type === 'Progressing')?.reason === 'ProgressDeadlineExceeded'
      )
  }

  #createReplicaSet(d: Deployment, hash: string, revision: number, replicas: number, maxSurge: number): ReplicaSet {
    const template = templateOf(d.spec.template)
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } }
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...d.spec.template.metadata?.labels, [HASH_LABEL]: hash },
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas),
          'deployment.kubernetes.io/max-replicas': String(d.spec.replicas + maxSurge),
          [REVISION]: String(revision)
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: d.metadata.name,
            uid: d.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true
          }
        ]
      },
      spec: {
        replicas,
        ...(d.spec.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
        selector: { ...d.spec.selector, matchLabels: { ...d.spec.selector.matchLabels, [HASH_LABEL]: hash } },
        template
      },
      status: { replicas: 0 }
    }
    return this.#store.write(REPLICASETS, rs) as ReplicaSet
  }

  /** reconcileOldReplicaSets: unhealthy old pods first, then old ones down to what maxUnavailable allows. */
  #scaleDownOld(
    desired: number,
    newRS: ReplicaSet,
    all: ReplicaSet[],
    oldRSs: () => ReplicaSet[],
    scale: (rs: ReplicaSet, replicas: number) => ReplicaSet,
    maxUnavailable: number
  ): void {
    if (sum(oldRSs(), (rs) => rs.spec.replicas) === 0) return
    const minAvailable = desired - maxUnavailable
    const newUnavailable = newRS.spec.replicas - (newRS.status?.availableReplicas ?? 0)
    const maxScaledDown = sum(all, (rs) => rs.spec.replicas) - minAvailable - newUnavailable
    if (maxScaledDown <= 0) return
    let cleaned = 0
    for (const rs of oldRSs()) {
      const unhealthy = rs.spec.replicas - (rs.status?.availableReplicas ?? 0)
      if (cleaned >= maxScaledDown || rs.spec.replicas === 0 || unhealthy <= 0) continue
      const count = Math.min(maxScaledDown - cleaned, unhealthy)
      scale(rs, rs.spec.replicas - count)
      cleaned += count
    }
    const availableNow = sum([...oldRSs(), newRS], (rs) =>
      Math.min(rs.spec.replicas, rs.status?.availableReplicas ?? 0)
    )
    if (availableNow <= minAvailable) return
    let remaining = availableNow - minAvailable
    for (const rs of oldRSs()) {
      if (remaining <= 0) break
      if (rs.spec.replicas === 0) continue
      const count = Math.min(rs.spec.replicas, remaining)
      scale(rs, rs.spec.replicas - count)
      remaining -= count
    }
  }

  /** The ReplicaSet's status from its pods (Terminating ones do not count). */
  #syncReplicaSetStatus(rs: ReplicaSet): ReplicaSet {
    const pods = this.#podsOwnedBy(rs).filter(isActive)
    const ready = pods.filter(isReady).length
    const status = omitZero(
      {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation
      },
      ['replicas']
    )
    if (sameJson(status, rs.status)) return rs
    return this.#store.write(REPLICASETS, { ...rs, status }) as ReplicaSet
  }

  /** The ReplicaSet controller: creates or deletes pods (not ready ones first, then the newest) to match replicas. */
  #syncReplicaSetPods(rs: ReplicaSet): ReplicaSet {
    const pods = this.#podsOwnedBy(rs).filter(isActive)
    const diff = rs.spec.replicas - pods.length
    for (let i = 0; i < diff; i++) this.#createPod(rs, `${rs.metadata.name}-${randomSuffix()}`, rs.spec.template, {})
    if (diff < 0) {
      const victims = pods.sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || byCreation(b, a)).slice(0, -diff)
      for (const pod of victims) this.#deletePod(pod)
    }
    return this.#syncReplicaSetStatus(
      this.#store.get(REPLICASETS, rs.metadata.namespace, rs.metadata.name) as ReplicaSet
    )
  }

  /** Old ReplicaSets beyond revisionHistoryLimit, scaled to 0 and without pods, are deleted (oldest first). */
  #cleanupReplicaSets(d: Deployment, oldRSs: ReplicaSet[]): void {
    const idle = oldRSs
      .filter((rs) => rs.spec.replicas === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b))
    for (const rs of idle.slice(0, Math.max(0, idle.length - d.spec.revisionHistoryLimit)))
      this.#store.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name)
  }

  /** DeploymentTimedOut: no progress reported for progressDeadlineSeconds (scaled by secondMs). */
  #timedOut(key: string, d: Deployment, status: DeploymentStatus): boolean {
    const cond = status.conditions?.find((c) => c.type === 'Progressing')
    if (!cond || cond.reason === 'NewReplicaSetAvailable') return false
    if (cond.reason === 'ProgressDeadlineExceeded') return true
    const from = this.#progressAt.get(key) ?? Date.parse(cond.lastUpdateTime ?? '')
    return from + d.spec.progressDeadlineSeconds * this.secondMs < Date.now()
  }

  /** requeueStuckDeployment: a Deployment still progressing is looked at again when its deadline passes. */
  #scheduleDeadline(key: string, d: Deployment, status: DeploymentStatus): void {
    this.#clearDeadline(key)
    const cond = status.conditions?.find((c) => c.type === 'Progressing')
    if (
      d.spec.paused ||
      !cond ||
      cond.reason === 'ProgressDeadlineExceeded' ||
      cond.reason === 'NewReplicaSetAvailable' ||
      isComplete(d, status)
    )
      return
    const from = this.#progressAt.get(key) ?? Date.now()
    const timer = setTimeout(
      () => {
        this.#deadlines.delete(key)
        this.#add(key)
      },
      Math.max(0, from + d.spec.progressDeadlineSeconds * this.secondMs - Date.now()) + 1
    )
    timer.unref()
    this.#deadlines.set(key, timer)
  }

  #clearDeadline(key: string): void {
    clearTimeout(this.#deadlines.get(key))
    this.#deadlines.delete(key)
  }

  // ---- Argo Rollout (argoproj/argo-rollouts rollout/canary.go, rollout/restart.go, rollout/sync.go)

  /**
   * A canary Rollout without steps or traffic routing (a blueGreen one is run the same way): on a template change a
   * new ReplicaSet `<name>-<hash>` (label rollouts-pod-template-hash) scaled up within maxSurge while the old ones go
   * down within maxUnavailable (25 % each by default); `spec.paused` scales nothing. `spec.restartAt` (rollout/
   * restart.go): once it has passed, the pods created before it are evicted, at most max(maxUnavailable, 1) below the
   * replicas at a time, and when none is left status.restartedAt takes its value (a new template does the same:
   * resetRolloutStatus). Status as persistRolloutStatus writes it: observedGeneration as a string, the replica
   * counts, currentPodHash, stableRS, the Progressing condition (ProgressDeadlineExceeded once no progress was made
   * for progressDeadlineSeconds, scaled by secondMs) and the phase and message of CalculateRolloutPhase
   * (utils/rollout/rolloututil.go). A workloadRef to a Deployment takes that Deployment's template
   * (rollout/templateref.go) and records its generation (rollout.argoproj.io/workload-generation).
   */
  #syncRollout(namespace: string, name: string): void {
    const key = `Rollout/${namespace}/${name}`
    const found = this.#store.get(ROLLOUTS, namespace, name) as Rollout | undefined
    if (!found) {
      this.#clearDeadline(key)
      this.#clearDeadline(`${key}#restart`)
      this.#progressAt.delete(key)
      return
    }
    const ro = found
    const { template, annotations } = this.#rolloutTemplate(ro)
    if (!template) return
    const desired = ro.spec.replicas ?? 1
    const hash = templateHash(templateOf(template), ro.status?.collisionCount)
    const canary = ro.spec.strategy?.canary ?? {}
    const { surge, unavailable } = fenceposts(canary.maxSurge ?? '25%', canary.maxUnavailable ?? '25%', desired)
    const paused = ro.spec.paused === true
    const status: RolloutStatus = clone(ro.status ?? {})
    let replicaSets = (this.#ownedBy(REPLICASETS, ro) as ReplicaSet[])
      .sort(byCreation)
      .map((rs) => this.#syncReplicaSetStatus(rs))
    let newRS = replicaSets.find((rs) => rs.metadata.labels?.[ROLLOUT_HASH_LABEL] === hash)
    const oldRSs = () => replicaSets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid)
    const scale = (rs: ReplicaSet, replicas: number) => {
      if (rs.spec.replicas === replicas) return rs
      const scaledRS = this.#store.write(REPLICASETS, { ...rs, spec: { ...rs.spec, replicas } }) as ReplicaSet
      replicaSets = replicaSets.map((candidate) => (candidate.metadata.uid === rs.metadata.uid ? scaledRS : candidate))
      if (newRS?.metadata.uid === rs.metadata.uid) newRS = scaledRS
      return scaledRS
    }
    const progressing = (conditionStatus: Condition['status'], reason: string, message: string) =>
      this.#setProgressing(key, status, condition('Progressing', conditionStatus, reason, message))

    // getAllReplicaSetsAndSyncRevision: the new template's ReplicaSet; the first one is stable at once.
    let templateChanged = false
    if (!newRS) {
      templateChanged = true
      newRS = this.#createRolloutReplicaSet(ro, template, hash, replicaSets.length === 0 ? desired : 0)
      replicaSets = [...replicaSets, newRS]
      status.restartedAt = ro.spec.restartAt
      progressing('True', 'NewReplicaSetCreated', `Created new replica set "${newRS.metadata.name}"`)
      if (!status.stableRS) status.stableRS = hash
    }

    let restarted = 0
    if (!templateChanged) restarted = this.#restartRolloutPods(key, ro, status, replicaSets, desired, unavailable)

    if (!paused && restarted === 0 && newRS) {
      if (newRS.spec.replicas > desired) scale(newRS, desired)
      else if (newRS.spec.replicas < desired) {
        const room = desired + surge - sum(replicaSets, (rs) => rs.spec.replicas)
        if (room > 0) scale(newRS, newRS.spec.replicas + Math.min(room, desired - newRS.spec.replicas))
      }
      this.#scaleDownOld(desired, newRS, replicaSets, oldRSs, scale, unavailable)
    }
    replicaSets = replicaSets.map((rs) => this.#syncReplicaSetPods(rs))
    newRS = newRS && replicaSets.find((rs) => rs.metadata.uid === newRS?.metadata.uid)

    const before = ro.status ?? {}
    Object.assign(status, {
      observedGeneration: String(ro.metadata.generation ?? 1),
      currentPodHash: hash,
      replicas: sum(replicaSets, (rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum(replicaSets, (rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: sum(replicaSets, (rs) => rs.status?.availableReplicas ?? 0)
    })
    // A canary without steps is promoted once the new ReplicaSet runs every replica, available, and no old one is left.
    if (
      !paused &&
      status.updatedReplicas === desired &&
      status.availableReplicas === desired &&
      status.replicas === desired
    )
      status.stableRS = hash
    if (ro.spec.workloadRef) status.workloadObservedGeneration = annotations[WORKLOAD_GENERATION]

    // calculateRolloutConditions
    const rsName = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Rollout "${name}"`
    const healthy =
      status.updatedReplicas === desired &&
      status.availableReplicas === desired &&
      status.replicas === desired &&
      status.stableRS === hash
    let timedOut = false
    if (paused) {
      const current = status.conditions?.find((c) => c.type === 'Progressing')
      if (current?.reason !== 'RolloutPaused') progressing('Unknown', 'RolloutPaused', 'Rollout is paused')
    } else if (healthy) progressing('True', 'NewReplicaSetAvailable', `${rsName} has successfully progressed.`)
    else if (
      status.conditions?.find((c) => c.type === 'Progressing')?.reason === 'NewReplicaSetAvailable' &&
      status.stableRS === hash
    )
      // A fully promoted Rollout that became unhealthy (pods restarted, evicted): progressing again, from now.
      progressing('True', 'ReplicaSetNotAvailable', 'Rollout does not have minimum availability')
    else if (
      madeProgress(before, status) ||
      status.conditions?.find((c) => c.type === 'Progressing')?.reason === 'RolloutPaused'
    )
      this.#progressed(key, status, rsName)
    else if (this.#rolloutTimedOut(key, ro, status)) {
      progressing('False', 'ProgressDeadlineExceeded', `${rsName} has timed out progressing.`)
      timedOut = true
    }
    setDeploymentCondition(
      status,
      status.availableReplicas! >= desired
        ? condition('Available', 'True', 'AvailableReason', 'Rollout has minimum availability')
        : condition('Available', 'False', 'AvailableReason', 'Rollout does not have minimum availability')
    )
    const [phase, message] = rolloutPhase(ro, status)
    status.phase = phase
    status.message = message || undefined
    this.#scheduleRolloutDeadline(key, ro, status)

    const metadata =
      Object.keys(annotations).length > 0
        ? { ...ro.metadata, annotations: { ...ro.metadata.annotations, ...annotations } }
        : ro.metadata
    this.#store.write(ROLLOUTS, { ...ro, metadata, status: omitZero(status, []) })
    if (!paused) this.#track('Rollout', ro, hash, phase === 'Healthy', timedOut)
  }

  /** The template: the Rollout's own, or its workloadRef Deployment's, with the annotation recording that generation. */
  #rolloutTemplate(ro: Rollout): { template?: PodTemplate; annotations: Record<string, string> } {
    const ref = ro.spec.workloadRef
    if (!ref) return { template: ro.spec.template, annotations: {} }
    const deployment =
      ref.kind === 'Deployment' && ref.name
        ? (this.#store.get(DEPLOYMENTS, ro.metadata.namespace, ref.name) as Deployment | undefined)
        : undefined
    if (!deployment) return { annotations: {} }
    return {
      template: deployment.spec.template,
      annotations: { [WORKLOAD_GENERATION]: String(deployment.metadata.generation ?? 1) }
    }
  }

  #createRolloutReplicaSet(ro: Rollout, source: PodTemplate, hash: string, replicas: number): ReplicaSet {
    const template = templateOf(source)
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [ROLLOUT_HASH_LABEL]: hash } }
    const revision =
      Math.max(
        0,
        ...this.#ownedBy(REPLICASETS, ro).map((rs) => Number(rs.metadata.annotations?.[ROLLOUT_REVISION] ?? 0))
      ) + 1
    const selector = ro.spec.selector ?? { matchLabels: { ...source.metadata?.labels } }
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${ro.metadata.name}-${hash}`,
        namespace: ro.metadata.namespace,
        labels: { ...source.metadata?.labels, [ROLLOUT_HASH_LABEL]: hash },
        annotations: { [ROLLOUT_REVISION]: String(revision) },
        ownerReferences: [
          {
            apiVersion: ro.apiVersion,
            kind: 'Rollout',
            name: ro.metadata.name,
            uid: ro.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true
          }
        ]
      },
      spec: {
        replicas,
        selector: { ...selector, matchLabels: { ...selector.matchLabels, [ROLLOUT_HASH_LABEL]: hash } },
        template
      },
      status: { replicas: 0 }
    }
    return this.#store.write(REPLICASETS, rs) as ReplicaSet
  }

  /**
   * RolloutPodRestarter.Reconcile (rollout/restart.go): nothing before restartAt has passed (the Rollout is looked at
   * again then); after it, the pods created before restartAt are evicted (here: deleted, as an eviction without a
   * PodDisruptionBudget does), no more than the availability allows; once none is left, status.restartedAt takes
   * restartAt. Returns how many it evicted now (the reconcile then scales nothing).
   */
  #restartRolloutPods(
    key: string,
    ro: Rollout,
    status: RolloutStatus,
    replicaSets: ReplicaSet[],
    desired: number,
    maxUnavailable: number
  ): number {
    const restartAt = ro.spec.restartAt === undefined ? NaN : Date.parse(ro.spec.restartAt)
    if (Number.isNaN(restartAt)) return 0
    if (status.restartedAt !== undefined && Date.parse(status.restartedAt) === restartAt) return 0
    // NeedsRestart: only once now is after restartAt; checkEnqueueRollout looks again then.
    if (Date.now() <= restartAt) {
      this.#clearDeadline(`${key}#restart`)
      const timer = setTimeout(
        () => {
          this.#deadlines.delete(`${key}#restart`)
          this.#add(key)
        },
        restartAt - Date.now() + 1
      )
      timer.unref()
      this.#deadlines.set(`${key}#restart`, timer)
      return 0
    }
    const pods = replicaSets.flatMap((rs) => this.#podsOwnedBy(rs))
    const total = sum(replicaSets, (rs) => rs.spec.replicas)
    const available = pods.filter((pod) => isActive(pod) && isReady(pod)).length
    let canRestart = available - (Math.max(desired, total) - Math.max(maxUnavailable, 1))
    let needsRestart = 0
    let restarted = 0
    for (const pod of pods) {
      if (Date.parse(pod.metadata.creationTimestamp ?? '') >= restartAt) continue
      needsRestart++
      if (canRestart <= 0 || !isActive(pod)) continue
      this.#deletePod(pod)
      canRestart--
      restarted++
    }
    if (needsRestart === restarted) status.restartedAt = ro.spec.restartAt
    return restarted
  }

  /** RolloutTimedOut: no progress reported for progressDeadlineSeconds (600 by default; scaled by secondMs). */
  #rolloutTimedOut(key: string, ro: Rollout, status: RolloutStatus): boolean {
    const cond = status.conditions?.find((c) => c.type === 'Progressing')
    if (!cond || cond.reason === 'RolloutPaused' || cond.reason === 'NewReplicaSetAvailable') return false
    if (cond.reason === 'ProgressDeadlineExceeded') return true
    const from = this.#progressAt.get(key) ?? Date.parse(cond.lastUpdateTime ?? '')
    return from + (ro.spec.progressDeadlineSeconds ?? 600) * this.secondMs < Date.now()
  }

  /** requeueStuckRollout: a Rollout still progressing is looked at again when its deadline passes. */
  #scheduleRolloutDeadline(key: string, ro: Rollout, status: RolloutStatus): void {
    this.#clearDeadline(key)
    const cond = status.conditions?.find((c) => c.type === 'Progressing')
    if (!cond || ['RolloutPaused', 'NewReplicaSetAvailable', 'ProgressDeadlineExceeded'].includes(cond.reason ?? ''))
      return
    const from = this.#progressAt.get(key) ?? Date.now()
    const timer = setTimeout(
      () => {
        this.#deadlines.delete(key)
        this.#add(key)
      },
      Math.max(0, from + (ro.spec.progressDeadlineSeconds ?? 600) * this.secondMs - Date.now()) + 1
    )
    timer.unref()
    this.#deadlines.set(key, timer)
  }

  // ---- StatefulSet

  #syncStatefulSet(namespace: string, name: string): void {
    const s = this.#store.get(STATEFULSETS, namespace, name) as StatefulSet | undefined
    if (!s) return
    const { spec } = s
    const updateRevision = `${name}-${templateHash(templateOf(spec.template), s.status?.collisionCount)}`
    this.#revisions.set(objectKey(namespace, updateRevision), templateOf(spec.template))
    const currentRevision = s.status?.currentRevision ?? updateRevision
    const start = spec.ordinals?.start ?? 0
    const ordered = spec.podManagementPolicy === 'OrderedReady'
    const partition = spec.updateStrategy.rollingUpdate?.partition
    const pods = new Map<number, Pod>()
    for (const pod of this.#podsOwnedBy(s)) pods.set(Number(pod.metadata.name.slice(name.length + 1)), pod)
    const revision = (pod: Pod) => pod.metadata.labels?.[REVISION_LABEL]
    const create = (ordinal: number) => {
      // newVersionedStatefulSetPod: below the partition (or, without rollingUpdate, below currentReplicas) at the current revision.
      const atCurrent =
        spec.updateStrategy.type === 'RollingUpdate' &&
        (spec.updateStrategy.rollingUpdate
          ? ordinal < start + (partition ?? 0)
          : ordinal < start + (s.status?.currentReplicas ?? 0))
      const revisionName = atCurrent ? currentRevision : updateRevision
      const template = this.#revisions.get(objectKey(namespace, revisionName)) ?? spec.template
      const podName = `${name}-${ordinal}`
      const pod = this.#createPod(
        s,
        podName,
        template,
        {
          [REVISION_LABEL]: revisionName,
          'statefulset.kubernetes.io/pod-name': podName,
          'apps.kubernetes.io/pod-index': String(ordinal)
        },
        undefined,
        {
          hostname: podName,
          ...(spec.serviceName ? { subdomain: spec.serviceName } : {})
        }
      )
      pods.set(ordinal, pod)
    }

    const step = () => {
      // Missing pods, in order; with OrderedReady one at a time, each once those before it are running and ready.
      for (let ordinal = start; ordinal < start + spec.replicas; ordinal++) {
        const pod = pods.get(ordinal)
        if (!pod) {
          create(ordinal)
          if (ordered) return
          continue
        }
        if (ordered && (!isActive(pod) || !isReady(pod))) return
      }
      // Pods beyond the replicas, from the highest ordinal.
      const condemned = [...pods.keys()]
        .filter((ordinal) => ordinal < start || ordinal >= start + spec.replicas)
        .sort((a, b) => b - a)
      for (const ordinal of condemned) {
        const pod = pods.get(ordinal)!
        if (ordered && [...pods.values()].some((other) => !isActive(other) || !isReady(other)) && isActive(pod)) return
        this.#deletePod(pod)
        if (ordered) return
      }
      if (spec.updateStrategy.type !== 'RollingUpdate') return
      // RollingUpdate: the highest ordinal not at the update revision, down to the partition, one at a time.
      for (let ordinal = start + spec.replicas - 1; ordinal >= start + (partition ?? 0); ordinal--) {
        const pod = pods.get(ordinal)
        if (!pod) return
        if (revision(pod) !== updateRevision && isActive(pod)) {
          this.#deletePod(pod)
          return
        }
        if (!isActive(pod) || !isReady(pod)) return
      }
    }
    step()

    const all = this.#podsOwnedBy(s)
    const live = all.filter(isActive)
    const status: StatefulSetStatus = {
      observedGeneration: s.metadata.generation,
      replicas: all.length,
      readyReplicas: all.filter(isReady).length,
      currentReplicas: live.filter((pod) => revision(pod) === currentRevision).length,
      updatedReplicas: live.filter((pod) => revision(pod) === updateRevision).length,
      currentRevision,
      updateRevision,
      collisionCount: s.status?.collisionCount ?? 0,
      availableReplicas: all.filter(isReady).length
    }
    // completeRollingUpdate
    if (
      spec.updateStrategy.type === 'RollingUpdate' &&
      status.updatedReplicas === status.replicas &&
      status.readyReplicas === status.replicas
    ) {
      status.currentReplicas = status.updatedReplicas
      status.currentRevision = updateRevision
    }
    this.#store.write(STATEFULSETS, {
      ...s,
      status: omitZero(status, ['replicas', 'availableReplicas', 'collisionCount'])
    })
    const partitioned = spec.updateStrategy.rollingUpdate !== undefined
    const done =
      spec.updateStrategy.type === 'RollingUpdate' &&
      status.readyReplicas! >= spec.replicas &&
      (partitioned
        ? status.updatedReplicas! >= spec.replicas - (partition ?? 0)
        : status.currentRevision === status.updateRevision)
    if (spec.updateStrategy.type === 'RollingUpdate') this.#track('StatefulSet', s, updateRevision, done, false)
  }

  // ---- DaemonSet

  #syncDaemonSet(namespace: string, name: string): void {
    const ds = this.#store.get(DAEMONSETS, namespace, name) as DaemonSet | undefined
    if (!ds) return
    const hash = templateHash(templateOf(ds.spec.template), ds.status?.collisionCount)
    const nodes = Array.from({ length: this.#nodes }, (_, index) => nodeName(index))
    const pods = this.#podsOwnedBy(ds)
    const onNode = (node: string) => pods.filter((pod) => pod.spec.nodeName === node && isActive(pod))
    const updated = (pod: Pod) => pod.metadata.labels?.[REVISION_LABEL] === hash
    const labels = { [REVISION_LABEL]: hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) }
    const rolling = ds.spec.updateStrategy.type === 'RollingUpdate'
    const maxSurge = rolling ? scaled(ds.spec.updateStrategy.rollingUpdate?.maxSurge, nodes.length, true) : 0
    let maxUnavailable = rolling ? scaled(ds.spec.updateStrategy.rollingUpdate?.maxUnavailable, nodes.length, true) : 0
    if (rolling && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1

    for (const pod of pods) if (isActive(pod) && !nodes.includes(pod.spec.nodeName ?? '')) this.#deletePod(pod)
    for (const node of nodes) {
      const here = onNode(node)
      if (here.length === 0 && !pods.some((pod) => pod.spec.nodeName === node && !isActive(pod)))
        this.#createPod(ds, `${name}-${randomSuffix()}`, ds.spec.template, labels, node)
      // Surplus pods on a node: the oldest stays (an updated one when a surge has made it ready).
      const keep = here.find((pod) => updated(pod) && isReady(pod)) ?? here.sort(byCreation)[0]
      for (const pod of here) if (pod !== keep && !(rolling && maxSurge > 0 && updated(pod))) this.#deletePod(pod)
    }
    if (rolling) {
      const unavailableNodes = nodes.filter((node) => !onNode(node).some(isReady)).length
      let budget = maxUnavailable - unavailableNodes
      let surgeBudget =
        maxSurge -
        nodes.filter((node) => onNode(node).some(updated) && onNode(node).some((pod) => !updated(pod))).length
      for (const node of nodes) {
        const old = onNode(node).filter((pod) => !updated(pod))
        if (old.length === 0) continue
        if (old.every((pod) => !isReady(pod))) {
          for (const pod of old) this.#deletePod(pod)
        } else if (maxSurge > 0) {
          if (!onNode(node).some(updated) && surgeBudget-- > 0)
            this.#createPod(ds, `${name}-${randomSuffix()}`, ds.spec.template, labels, node)
        } else if (budget > 0) {
          budget--
          for (const pod of old) this.#deletePod(pod)
        }
      }
    }

    const live = this.#podsOwnedBy(ds).filter(isActive)
    const nodesWith = (test: (pod: Pod) => boolean) =>
      nodes.filter((node) => live.some((pod) => pod.spec.nodeName === node && test(pod))).length
    const available = nodesWith(isReady)
    const status: DaemonSetStatus = {
      currentNumberScheduled: nodesWith(() => true),
      numberMisscheduled: 0,
      desiredNumberScheduled: nodes.length,
      numberReady: available,
      observedGeneration: ds.metadata.generation,
      updatedNumberScheduled: nodesWith(updated),
      numberAvailable: available,
      numberUnavailable: nodes.length - available
    }
    this.#store.write(DAEMONSETS, {
      ...ds,
      status: omitZero(status, [
        'currentNumberScheduled',
        'numberMisscheduled',
        'desiredNumberScheduled',
        'numberReady'
      ])
    })
    const done =
      rolling &&
      status.updatedNumberScheduled! >= status.desiredNumberScheduled &&
      status.numberAvailable! >= status.desiredNumberScheduled
    if (rolling) this.#track('DaemonSet', ds, hash, done, false)
  }

  // ---- rollout records

  #track(kind: WorkloadKind, workload: KubeObject, revision: string, done: boolean, timedOut: boolean): void {
    const { namespace = '', name } = workload.metadata
    const last = this.rollouts.findLast(
      (record) => record.kind === kind && record.namespace === namespace && record.name === name
    )
    const now = Date.now()
    if (last && last.finishedAt === undefined && last.revision !== revision)
      Object.assign(last, { finishedAt: now, outcome: 'superseded' })
    if (!done && !timedOut && (!last || last.revision !== revision))
      this.rollouts.push({ kind, namespace, name, revision, startedAt: now })
    const open = this.rollouts.findLast(
      (record) => record.kind === kind && record.namespace === namespace && record.name === name
    )
    if (open && open.finishedAt === undefined && open.revision === revision && (done || timedOut))
      Object.assign(open, { finishedAt: now, outcome: done ? 'complete' : 'progress-deadline-exceeded' })
  }
}

// ---- helpers

function keyOf(kind: string, object: KubeObject): string {
  return `${kind}/${object.metadata.namespace}/${object.metadata.name}`
}

function controllerOf(object: KubeObject | undefined): OwnerReference | undefined {
  return object?.metadata.ownerReferences?.find((owner) => owner.controller)
}

function nodeName(index: number): string {
  return `node-${index + 1}`
}

/** A pod the kubelet has not started yet: Pending, no startTime, not being deleted. */
function needsStart(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase === 'Pending' && !pod.status.startTime
}

function isActive(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
}

function byCreation(a: KubeObject, b: KubeObject): number {
  const [x, y] = [a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '']
  return x < y ? -1 : x > y ? 1 : Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion)
}

function revisionOf(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0)
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0)
}

/**
 * ResolveFenceposts: maxSurge rounded up, maxUnavailable down, never both 0; maxUnavailable at most the replicas.
 * A Deployment's rolling update and a Rollout's canary (25 % each by default) resolve them alike.
 */
function fenceposts(
  maxSurge: IntOrString | undefined,
  maxUnavailable: IntOrString | undefined,
  desired: number
): { surge: number; unavailable: number } {
  const surge = scaled(maxSurge, desired, true)
  let unavailable = scaled(maxUnavailable, desired, false)
  if (surge === 0 && unavailable === 0) unavailable = 1
  return { surge, unavailable: Math.min(unavailable, desired) }
}

function condition(type: string, status: Condition['status'], reason: string, message: string): Condition {
  const now = rfc3339()
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message }
}

/** SetDeploymentCondition: the same status and reason is no change; the same status keeps lastTransitionTime; the condition moves last. */
function setDeploymentCondition(status: { conditions?: Condition[] }, next: Condition): void {
  const current = status.conditions?.find((c) => c.type === next.type)
  if (current && current.status === next.status && current.reason === next.reason) return
  if (current && current.status === next.status) next.lastTransitionTime = current.lastTransitionTime
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== next.type), next]
}

/** DeploymentComplete */
function isComplete(d: Deployment, status: DeploymentStatus): boolean {
  const desired = d.spec.replicas
  return (
    status.updatedReplicas === desired &&
    status.replicas === desired &&
    status.availableReplicas === desired &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  )
}

/** The replica counts a workload's status carries, as the progress rules read them. */
type ReplicaCounts = Pick<
  DeploymentStatus & RolloutStatus,
  'replicas' | 'updatedReplicas' | 'readyReplicas' | 'availableReplicas'
>

/**
 * DeploymentProgressing, and the Rollout's RolloutProgressing: more updated, fewer old, more ready or more available
 * replicas than before.
 */
function madeProgress(before: ReplicaCounts, after: ReplicaCounts): boolean {
  const old = (status: ReplicaCounts) => (status.replicas ?? 0) - (status.updatedReplicas ?? 0)
  return (
    (after.updatedReplicas ?? 0) > (before.updatedReplicas ?? 0) ||
    old(after) < old(before) ||
    (after.readyReplicas ?? 0) > (before.readyReplicas ?? 0) ||
    (after.availableReplicas ?? 0) > (before.availableReplicas ?? 0)
  )
}

/** The status as the API serves it: Go's struct order, zero counts omitted (omitempty). */
function deploymentStatus(status: DeploymentStatus): DeploymentStatus {
  const {
    observedGeneration,
    replicas,
    updatedReplicas,
    readyReplicas,
    availableReplicas,
    unavailableReplicas,
    conditions,
    collisionCount
  } = status
  return omitZero(
    {
      observedGeneration,
      replicas,
      updatedReplicas,
      readyReplicas,
      availableReplicas,
      unavailableReplicas,
      conditions,
      collisionCount
    },
    []
  )
}

/** CalculateRolloutPhase (utils/rollout/rolloututil.go) for a canary without traffic routing. */
function rolloutPhase(ro: Rollout, status: RolloutStatus): [NonNullable<RolloutStatus['phase']>, string] {
  for (const cond of status.conditions ?? [])
    if (cond.reason === 'RolloutAborted' || cond.reason === 'ProgressDeadlineExceeded')
      return ['Degraded', `${cond.reason}: ${cond.message ?? ''}`]
  if (ro.spec.paused) return ['Paused', 'manually paused']
  const restartAt = ro.spec.restartAt === undefined ? undefined : Date.parse(ro.spec.restartAt)
  if (restartAt !== undefined && (status.restartedAt === undefined || Date.parse(status.restartedAt) !== restartAt))
    return ['Progressing', 'rollout is restarting']
  const desired = ro.spec.replicas ?? 1
  if ((status.updatedReplicas ?? 0) < desired) return ['Progressing', 'more replicas need to be updated']
  if ((status.availableReplicas ?? 0) < (status.updatedReplicas ?? 0))
    return ['Progressing', 'updated replicas are still becoming available']
  if ((status.replicas ?? 0) > (status.updatedReplicas ?? 0))
    return ['Progressing', 'old replicas are pending termination']
  if (!status.stableRS || status.stableRS !== status.currentPodHash)
    return ['Progressing', 'waiting for all steps to complete']
  return ['Healthy', '']
}

/** Drops undefined values, and zero numbers except those of `keep` (fields without omitempty). */
function omitZero<T extends object>(value: T, keep: readonly string[]): T {
  return Object.fromEntries(
    Object.entries(value).filter(([key, item]) => item !== undefined && (item !== 0 || keep.includes(key)))
  ) as T
}

/** The pod's status as the kubelet reports it at each stage. */
function podStatus(
  pod: Pod,
  state: KubeletState,
  stage: 'blocked' | 'starting' | 'running' | 'crashing',
  blocked?: { reason: string; message: string }
): PodStatus {
  const now = rfc3339()
  const previous = pod.status
  const startTime = previous?.startTime ?? now
  const transition = (type: string, status: Condition['status']) => {
    const before = previous?.conditions?.find((c) => c.type === type)
    return before?.status === status ? before.lastTransitionTime : now
  }
  const ready = stage === 'running'
  const names = pod.spec.containers.map((container) => container.name)
  const notReady = { reason: 'ContainersNotReady', message: `containers with unready status: [${names.join(' ')}]` }
  const conditions: Condition[] = [
    {
      type: 'PodReadyToStartContainers',
      status: stage === 'blocked' ? 'False' : 'True',
      lastTransitionTime: transition('PodReadyToStartContainers', stage === 'blocked' ? 'False' : 'True')
    },
    { type: 'Initialized', status: 'True', lastTransitionTime: transition('Initialized', 'True') },
    {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      lastTransitionTime: transition('Ready', ready ? 'True' : 'False'),
      ...(ready ? {} : notReady)
    },
    {
      type: 'ContainersReady',
      status: ready ? 'True' : 'False',
      lastTransitionTime: transition('ContainersReady', ready ? 'True' : 'False'),
      ...(ready ? {} : notReady)
    },
    { type: 'PodScheduled', status: 'True', lastTransitionTime: transition('PodScheduled', 'True') }
  ].map(({ lastTransitionTime, ...rest }) => ({ ...rest, lastProbeTime: null, lastTransitionTime }) as Condition)
  const containerStatus = (name: string, image: string, init: boolean): ContainerStatus => {
    const base = {
      name,
      image,
      imageID: stage === 'blocked' ? '' : imageId(image),
      lastState: {},
      restartCount: state.restarts
    }
    const id = { containerID: `containerd://${sha256(`${pod.metadata.uid}/${name}/${state.restarts}`)}` }
    if (init && stage !== 'blocked')
      return {
        ...base,
        ...id,
        state: { terminated: { exitCode: 0, reason: 'Completed' } },
        ready: true,
        started: false
      }
    switch (stage) {
      case 'blocked':
        return { ...base, state: { waiting: blocked! }, ready: false, started: false }
      case 'starting':
        return { ...base, state: { waiting: { reason: 'ContainerCreating' } }, ready: false, started: false }
      case 'running':
        return { ...base, ...id, state: { running: { startedAt: state.startedAt ?? now } }, ready: true, started: true }
      case 'crashing':
        return {
          ...base,
          ...id,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `${RESTART_MESSAGE}=${name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`
            }
          },
          lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now } },
          ready: false,
          started: false
        }
    }
  }
  const running = stage === 'running' || stage === 'crashing'
  return {
    phase: running ? 'Running' : 'Pending',
    conditions,
    hostIP: state.hostIP,
    ...(running ? { podIP: state.podIP, podIPs: [{ ip: state.podIP }] } : {}),
    startTime,
    ...(pod.spec.initContainers?.length
      ? { initContainerStatuses: pod.spec.initContainers.map((c) => containerStatus(c.name, c.image ?? '', true)) }
      : {}),
    containerStatuses: pod.spec.containers.map((c) => containerStatus(c.name, c.image ?? '', false)),
    qosClass: 'BestEffort'
  }
}

function imageId(image: string): string {
  const name = image.split(/[:@]/)[0]
  const qualified = name.includes('/')
    ? name.split('/')[0].includes('.')
      ? name
      : `docker.io/${name}`
    : `docker.io/library/${name}`
  return `${qualified}@sha256:${sha256(image)}`
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
