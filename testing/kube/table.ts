/**
 * Server-side printing: `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the
 * columns the server chooses (for ExternalSecrets, the CRD's additionalPrinterColumns; for built-in types, those of
 * the API server's printers.go, `-o wide` ones with priority 1).
 */
import type { KubeObject } from './json.ts'
import type { ResourceType } from './resources.ts'
import { selectorText, type ContainerStatus, type LabelSelector, type PodTemplate } from './workloads.ts'

interface Column {
  name: string
  type: string
  format?: string
  priority?: number
  cell: (object: KubeObject) => unknown
}

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((type) => type.includes('as=Table') && type.includes('g=meta.k8s.io'))
}

/** The nested fields the columns read (of an ExternalSecret, a Namespace, an Event, a workload, a pod): any may be missing. */
interface Printed {
  spec?: {
    secretStoreRef?: { kind?: string; name?: string }
    refreshInterval?: string
    replicas?: number
    selector?: LabelSelector
    template?: PodTemplate
    containers?: { name: string }[]
    nodeName?: string
  }
  status?: {
    phase?: string
    reason?: string
    conditions?: Record<string, string>[]
    replicas?: number
    updatedReplicas?: number
    readyReplicas?: number
    availableReplicas?: number
    desiredNumberScheduled?: number
    currentNumberScheduled?: number
    numberReady?: number
    updatedNumberScheduled?: number
    numberAvailable?: number
    podIPs?: { ip: string }[]
    nominatedNodeName?: string
    containerStatuses?: ContainerStatus[]
    capabilities?: string
  }
  involvedObject?: { kind?: string; name?: string }
}

const field = (read: (object: Printed) => unknown) => (object: KubeObject) => read(object as Printed) ?? null
const ready = (object: Printed) => object.status?.conditions?.find((condition) => condition.type === 'Ready')
const age = (timestamp: unknown) =>
  typeof timestamp === 'string' ? humanDuration(Date.now() - Date.parse(timestamp)) : '<unknown>'

const NAME: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name }
const AGE: Column = { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) }

/** A count of a workload's spec or status (absent is 0), as printers.go prints it: an integer. */
const count = (name: string, read: (object: Printed) => number | undefined): Column => ({
  name,
  type: 'integer',
  cell: field((o) => read(o) ?? 0)
})
const ratio = (ready: (object: Printed) => number | undefined, desired: (object: Printed) => number | undefined) =>
  field((o) => `${ready(o) ?? 0}/${desired(o) ?? 0}`)
/** Deployments' and StatefulSets' READY column: ready pods of the replicas asked for. */
const READY_REPLICAS: Column = {
  name: 'Ready',
  type: 'string',
  cell: ratio(
    (o) => o.status?.readyReplicas,
    (o) => o.spec?.replicas
  )
}
const templateContainers = (o: Printed) => o.spec?.template?.spec.containers ?? []
/** `-o wide`: the template's containers and images, and the selector (priority 1: kubectl shows them with -o wide). */
const CONTAINERS: Column = {
  name: 'Containers',
  type: 'string',
  priority: 1,
  cell: field((o) =>
    templateContainers(o)
      .map((c) => c.name)
      .join(',')
  )
}
const IMAGES: Column = {
  name: 'Images',
  type: 'string',
  priority: 1,
  cell: field((o) =>
    templateContainers(o)
      .map((c) => c.image ?? '')
      .join(',')
  )
}
const SELECTOR: Column = {
  name: 'Selector',
  type: 'string',
  priority: 1,
  cell: field((o) => selectorText(o.spec?.selector))
}

/** printPod: ready containers, the status reason (a waiting container's reason, Terminating...), restarts. */
function podCells(object: KubeObject): { ready: string; reason: string; restarts: string } {
  const pod = object as Printed & KubeObject
  const statuses = pod.status?.containerStatuses ?? []
  let reason = pod.status?.reason ?? pod.status?.phase ?? ''
  let restarts = 0
  let lastRestart = ''
  let ready = 0
  for (const status of [...statuses].reverse()) {
    restarts += status.restartCount
    const finished = status.lastState.terminated?.finishedAt
    if (finished && finished > lastRestart) lastRestart = finished
    if (status.state.waiting?.reason) reason = status.state.waiting.reason
    else if (status.state.terminated?.reason) reason = status.state.terminated.reason
    else if (status.ready && status.state.running) ready++
  }
  if (pod.metadata.deletionTimestamp && reason !== 'Succeeded' && reason !== 'Failed') reason = 'Terminating'
  const total = (pod.spec?.containers ?? []).length
  return {
    ready: `${ready}/${total}`,
    reason,
    restarts: restarts !== 0 && lastRestart ? `${restarts} (${age(lastRestart)} ago)` : String(restarts)
  }
}

const COLUMNS: Record<string, Column[]> = {
  externalsecrets: [
    NAME,
    { name: 'StoreType', type: 'string', cell: field((o) => o.spec?.secretStoreRef?.kind) },
    { name: 'Store', type: 'string', cell: field((o) => o.spec?.secretStoreRef?.name) },
    { name: 'Refresh Interval', type: 'string', cell: field((o) => o.spec?.refreshInterval) },
    { name: 'Status', type: 'string', cell: field((o) => ready(o)?.reason) },
    { name: 'Ready', type: 'string', cell: field((o) => ready(o)?.status) }
  ],
  // The SecretStore and ClusterSecretStore CRDs' printer columns (external-secrets apis/externalsecrets/v1/secretstore_types.go).
  ...Object.fromEntries(
    ['secretstores', 'clustersecretstores'].map((resource) => [
      resource,
      [
        NAME,
        { name: 'AGE', type: 'date', cell: (o: KubeObject) => o.metadata.creationTimestamp ?? null },
        { name: 'Status', type: 'string', cell: field((o) => ready(o)?.reason) },
        { name: 'Capabilities', type: 'string', cell: field((o) => o.status?.capabilities) },
        { name: 'Ready', type: 'string', cell: field((o) => ready(o)?.status) }
      ]
    ])
  ),
  // The ClusterExternalSecret CRD's printer columns (apis/externalsecrets/v1/clusterexternalsecret_types.go).
  clusterexternalsecrets: [
    NAME,
    {
      name: 'Store',
      type: 'string',
      cell: (o) =>
        (o.spec as { externalSecretSpec?: { secretStoreRef?: { name?: string } } } | undefined)?.externalSecretSpec
          ?.secretStoreRef?.name ?? null
    },
    {
      name: 'Refresh Interval',
      type: 'string',
      cell: (o) => (o.spec as { refreshTime?: string } | undefined)?.refreshTime ?? null
    },
    { name: 'Ready', type: 'string', cell: field((o) => ready(o)?.status) }
  ],
  secrets: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => o.type },
    { name: 'Data', type: 'integer', cell: (o) => Object.keys((o.data as object | undefined) ?? {}).length },
    AGE
  ],
  namespaces: [NAME, { name: 'Status', type: 'string', cell: field((o) => o.status?.phase) }, AGE],
  pods: [
    NAME,
    { name: 'Ready', type: 'string', cell: (o) => podCells(o).ready },
    { name: 'Status', type: 'string', cell: (o) => podCells(o).reason },
    { name: 'Restarts', type: 'string', cell: (o) => podCells(o).restarts },
    AGE,
    { name: 'IP', type: 'string', priority: 1, cell: field((o) => o.status?.podIPs?.[0]?.ip || '<none>') },
    { name: 'Node', type: 'string', priority: 1, cell: field((o) => o.spec?.nodeName || '<none>') },
    {
      name: 'Nominated Node',
      type: 'string',
      priority: 1,
      cell: field((o) => o.status?.nominatedNodeName || '<none>')
    },
    { name: 'Readiness Gates', type: 'string', priority: 1, cell: () => '<none>' }
  ],
  deployments: [
    NAME,
    READY_REPLICAS,
    count('Up-to-date', (o) => o.status?.updatedReplicas),
    count('Available', (o) => o.status?.availableReplicas),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR
  ],
  replicasets: [
    NAME,
    count('Desired', (o) => o.spec?.replicas),
    count('Current', (o) => o.status?.replicas),
    count('Ready', (o) => o.status?.readyReplicas),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR
  ],
  statefulsets: [NAME, READY_REPLICAS, AGE, CONTAINERS, IMAGES],
  // The Rollout CRD's additionalPrinterColumns (argo-rollouts manifests/crds/rollout-crd.yaml).
  rollouts: [
    NAME,
    { name: 'Desired', type: 'integer', cell: field((o) => o.spec?.replicas) },
    { name: 'Current', type: 'integer', cell: field((o) => o.status?.replicas) },
    { name: 'Up-to-date', type: 'integer', cell: field((o) => o.status?.updatedReplicas) },
    { name: 'Available', type: 'integer', cell: field((o) => o.status?.availableReplicas) },
    AGE
  ],
  daemonsets: [
    NAME,
    count('Desired', (o) => o.status?.desiredNumberScheduled),
    count('Current', (o) => o.status?.currentNumberScheduled),
    count('Ready', (o) => o.status?.numberReady),
    count('Up-to-date', (o) => o.status?.updatedNumberScheduled),
    count('Available', (o) => o.status?.numberAvailable),
    { name: 'Node Selector', type: 'string', cell: field((o) => nodeSelector(o.spec?.template?.spec.nodeSelector)) },
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR
  ],
  events: [
    { name: 'Last Seen', type: 'string', cell: (o) => age(o.lastTimestamp) },
    { name: 'Type', type: 'string', cell: (o) => o.type },
    { name: 'Reason', type: 'string', cell: (o) => o.reason },
    {
      name: 'Object',
      type: 'string',
      cell: field((o) => `${String(o.involvedObject?.kind).toLowerCase()}/${o.involvedObject?.name}`)
    },
    { name: 'Message', type: 'string', cell: (o) => o.message },
    { name: 'Count', type: 'integer', priority: 1, cell: (o) => o.count },
    { name: 'Name', type: 'string', format: 'name', priority: 1, cell: (o) => o.metadata.name }
  ]
}

/** A meta.k8s.io/v1 Table; each row carries the object's metadata (includeObject=Metadata, the default). */
export function toTable(
  type: ResourceType,
  objects: KubeObject[],
  resourceVersion: string,
  includeObject: string | null
): Record<string, unknown> {
  const columns = COLUMNS[type.resource]
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map(({ name, type, format = '', priority = 0 }) => ({
      name,
      type,
      format,
      description: name,
      priority
    })),
    rows: objects.map((object) => ({
      cells: columns.map((column) => column.cell(object)),
      ...(includeObject === 'None'
        ? {}
        : {
            object:
              includeObject === 'Object'
                ? object
                : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata }
          })
    }))
  }
}

/** `labels.FormatLabels`: `k=v` sorted by key, comma-separated, or `<none>`. */
function nodeSelector(selector: Record<string, string> | undefined): string {
  const keys = Object.keys(selector ?? {}).sort()
  return keys.length === 0 ? '<none>' : keys.map((key) => `${key}=${selector![key]}`).join(',')
}

/** apimachinery's `duration.HumanDuration`: "45s", "3m20s", "42m", "5h7m", "30h", "3d4h", "120d", "2y". */
function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 10) return seconds % 60 ? `${minutes}m${seconds % 60}s` : `${minutes}m`
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`
  if (hours < 48) return `${hours}h`
  if (hours < 192) return hours % 24 ? `${Math.floor(hours / 24)}d${hours % 24}h` : `${Math.floor(hours / 24)}d`
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`
  return `${Math.floor(hours / 24 / 365)}y`
}
