/** The resource types the test API server serves (names, scope, verbs, selectable fields) and the API groups. */
import type { KubeObject } from './json.ts'

export const ES_GROUP = 'external-secrets.io'
export const APPS_GROUP = 'apps'
export const ARGO_GROUP = 'argoproj.io'

export type Verb = 'get' | 'list' | 'watch' | 'patch' | 'create'

export interface ResourceType {
  /** '' for the core group. */
  readonly group: string
  readonly resource: string
  readonly singular: string
  readonly kind: string
  readonly namespaced: boolean
  readonly shortNames: readonly string[]
  readonly categories: readonly string[]
  readonly verbs: readonly Verb[]
  /** Subresources and their verbs (only `status` exists here). */
  readonly subresources: Readonly<Record<string, readonly Verb[]>>
  /** Whether `metadata.generation` counts spec changes. */
  readonly generation: boolean
  /**
   * A type compiled into the API server (not a CRD): its list items carry no apiVersion and kind on the wire, and
   * it takes strategic merge patches.
   */
  readonly builtIn: boolean
  /** Field selector labels beyond `metadata.name` and `metadata.namespace`. */
  readonly fields: Readonly<Record<string, (object: KubeObject) => unknown>>
}

const READ_ONLY: readonly Verb[] = ['get', 'list', 'watch']

export const NAMESPACES: ResourceType = {
  group: '',
  resource: 'namespaces',
  singular: 'namespace',
  kind: 'Namespace',
  namespaced: false,
  shortNames: ['ns'],
  categories: [],
  verbs: READ_ONLY,
  subresources: {},
  generation: false,
  builtIn: true,
  fields: { 'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase }
}

export const SECRETS: ResourceType = {
  group: '',
  resource: 'secrets',
  singular: 'secret',
  kind: 'Secret',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: READ_ONLY,
  subresources: {},
  generation: false,
  builtIn: true,
  fields: { type: (o) => o.type }
}

function involved(field: string): (object: KubeObject) => unknown {
  return (o) => (o.involvedObject as Record<string, unknown> | undefined)?.[field]
}

export const EVENTS: ResourceType = {
  group: '',
  resource: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  shortNames: ['ev'],
  categories: [],
  verbs: READ_ONLY,
  subresources: {},
  generation: false,
  builtIn: true,
  fields: {
    'involvedObject.kind': involved('kind'),
    'involvedObject.namespace': involved('namespace'),
    'involvedObject.name': involved('name'),
    'involvedObject.uid': involved('uid'),
    'involvedObject.apiVersion': involved('apiVersion'),
    'involvedObject.resourceVersion': involved('resourceVersion'),
    'involvedObject.fieldPath': involved('fieldPath'),
    reason: (o) => o.reason,
    reportingComponent: (o) => o.reportingComponent,
    source: (o) => (o.source as { component?: string } | undefined)?.component,
    type: (o) => o.type
  }
}

/**
 * An external-secrets.io CRD: each is served with get, list, watch and patch, a status subresource, in the
 * `external-secrets` category (kubebuilder markers of apis/externalsecrets/v1: externalsecret_types.go,
 * clusterexternalsecret_types.go (scope=Cluster), secretstore_types.go).
 */
function esoResource(kind: string, shortName: string, namespaced: boolean): ResourceType {
  const singular = kind.toLowerCase()
  return {
    group: ES_GROUP,
    resource: `${singular}s`,
    singular,
    kind,
    namespaced,
    shortNames: [shortName],
    categories: ['external-secrets'],
    verbs: ['get', 'list', 'watch', 'patch'],
    subresources: { status: ['get', 'patch'] },
    generation: true,
    builtIn: false,
    fields: {}
  }
}

export const EXTERNAL_SECRETS = esoResource('ExternalSecret', 'es', true)
export const CLUSTER_EXTERNAL_SECRETS = esoResource('ClusterExternalSecret', 'ces', false)
export const SECRET_STORES = esoResource('SecretStore', 'ss', true)
export const CLUSTER_SECRET_STORES = esoResource('ClusterSecretStore', 'css', false)
/** The external-secrets.io types served, in the CRDs' order. */
export const ES_TYPES: readonly ResourceType[] = [
  CLUSTER_EXTERNAL_SECRETS,
  EXTERNAL_SECRETS,
  SECRET_STORES,
  CLUSTER_SECRET_STORES
]

/** A review: created and answered at once, never stored. */
function review(group: string, kind: string): ResourceType {
  const singular = kind.toLowerCase()
  return {
    group,
    resource: `${singular}s`,
    singular,
    kind,
    namespaced: false,
    shortNames: [],
    categories: [],
    verbs: ['create'],
    subresources: {},
    generation: false,
    builtIn: true,
    fields: {}
  }
}

/** `kubectl auth whoami` */
export const SELF_SUBJECT_REVIEWS = review('authentication.k8s.io', 'SelfSubjectReview')
/** `kubectl auth can-i` */
export const SELF_SUBJECT_ACCESS_REVIEWS = review('authorization.k8s.io', 'SelfSubjectAccessReview')

type Spec = {
  nodeName?: string
  restartPolicy?: string
  schedulerName?: string
  serviceAccountName?: string
  hostNetwork?: boolean
}
type PodStatus = { phase?: string; podIP?: string; nominatedNodeName?: string }
const podSpec = (o: KubeObject) => (o.spec ?? {}) as Spec
const podStatus = (o: KubeObject) => (o.status ?? {}) as PodStatus

/** Pods: created by the workload controllers (testing/kube/controllers.ts), read through the API. */
export const PODS: ResourceType = {
  group: '',
  resource: 'pods',
  singular: 'pod',
  kind: 'Pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  verbs: READ_ONLY,
  subresources: {},
  generation: false,
  builtIn: true,
  fields: {
    'spec.nodeName': (o) => podSpec(o).nodeName,
    'spec.restartPolicy': (o) => podSpec(o).restartPolicy,
    'spec.schedulerName': (o) => podSpec(o).schedulerName,
    'spec.serviceAccountName': (o) => podSpec(o).serviceAccountName,
    'spec.hostNetwork': (o) => podSpec(o).hostNetwork ?? false,
    'status.phase': (o) => podStatus(o).phase,
    'status.podIP': (o) => podStatus(o).podIP,
    'status.nominatedNodeName': (o) => podStatus(o).nominatedNodeName
  }
}

/** An apps/v1 workload: get, list, watch and patch (strategic merge patch too), and its status subresource. */
function workload(kind: string, shortNames: string[], fields: ResourceType['fields'] = {}): ResourceType {
  const singular = kind.toLowerCase()
  return {
    group: APPS_GROUP,
    resource: `${singular}s`,
    singular,
    kind,
    namespaced: true,
    shortNames,
    categories: ['all'],
    verbs: ['get', 'list', 'watch', 'patch'],
    subresources: { status: ['get', 'patch'] },
    generation: true,
    builtIn: true,
    fields
  }
}

export const DEPLOYMENTS = workload('Deployment', ['deploy'])
export const STATEFULSETS = workload('StatefulSet', ['sts'])
export const DAEMONSETS = workload('DaemonSet', ['ds'])
/** The Deployment controller's ReplicaSets: readable (get, list, watch), written by the simulation only. */
export const REPLICASETS: ResourceType = {
  ...workload('ReplicaSet', ['rs'], {
    'status.replicas': (o) => (o.status as { replicas?: number } | undefined)?.replicas ?? 0
  }),
  verbs: READ_ONLY,
  subresources: { status: ['get'] }
}

/**
 * Argo Rollouts' Rollout, as its CRD serves it (argoproj/argo-rollouts manifests/crds/rollout-crd.yaml): namespaced,
 * short name `ro`, a status subresource (so the generation counts every change outside metadata and status).
 */
export const ROLLOUTS: ResourceType = {
  group: ARGO_GROUP,
  resource: 'rollouts',
  singular: 'rollout',
  kind: 'Rollout',
  namespaced: true,
  shortNames: ['ro'],
  categories: [],
  verbs: ['get', 'list', 'watch', 'patch'],
  subresources: { status: ['get', 'patch'] },
  generation: true,
  builtIn: false,
  fields: {}
}

/** The workloads whose pods `kubectl rollout restart` restarts. */
export const WORKLOAD_TYPES: readonly ResourceType[] = [DEPLOYMENTS, STATEFULSETS, DAEMONSETS]

export const CORE_TYPES: readonly ResourceType[] = [NAMESPACES, PODS, SECRETS, EVENTS]
/** apps/v1, in the real server's discovery order. */
export const APPS_TYPES: readonly ResourceType[] = [DAEMONSETS, DEPLOYMENTS, REPLICASETS, STATEFULSETS]
const ALL_TYPES: readonly ResourceType[] = [...CORE_TYPES, ...APPS_TYPES, ...ES_TYPES, ROLLOUTS]

export interface ApiGroup {
  readonly name: string
  /** Preferred first. */
  readonly versions: readonly string[]
  readonly types: readonly ResourceType[]
}

/**
 * The named groups served, in the real server's order (built-in groups first, then CRDs); external-secrets.io only
 * with a version, argoproj.io only with the Argo Rollouts CRD.
 */
export function apiGroups(esVersions: readonly string[], rollouts = false): ApiGroup[] {
  return [
    { name: APPS_GROUP, versions: ['v1'], types: APPS_TYPES },
    { name: SELF_SUBJECT_REVIEWS.group, versions: ['v1'], types: [SELF_SUBJECT_REVIEWS] },
    { name: SELF_SUBJECT_ACCESS_REVIEWS.group, versions: ['v1'], types: [SELF_SUBJECT_ACCESS_REVIEWS] },
    ...(rollouts ? [{ name: ARGO_GROUP, versions: ['v1alpha1'], types: [ROLLOUTS] }] : []),
    ...(esVersions.length > 0 ? [{ name: ES_GROUP, versions: esVersions, types: ES_TYPES }] : [])
  ]
}

/** Finds a type by kind (`ExternalSecret`), plural (`externalsecrets`), singular or short name, any case. */
export function typeNamed(name: string): ResourceType | undefined {
  const wanted = name.toLowerCase()
  return ALL_TYPES.find(
    (type) =>
      type.kind.toLowerCase() === wanted ||
      type.resource === wanted ||
      type.singular === wanted ||
      type.shortNames.includes(wanted)
  )
}

export function apiVersionOf(type: ResourceType, version: string): string {
  return type.group ? `${type.group}/${version}` : version
}
