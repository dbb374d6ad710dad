/**
 * Server-side printing: `kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the
 * columns the server chooses (for ExternalSecrets, the CRD's additionalPrinterColumns).
 */
import type { KubeObject } from './json.ts'
import type { ResourceType } from './resources.ts'

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

/** The nested fields the columns read (of an ExternalSecret, a Namespace, an Event): any may be missing. */
interface Printed {
  spec?: { secretStoreRef?: { kind?: string; name?: string }; refreshInterval?: string }
  status?: { phase?: string; conditions?: Record<string, string>[] }
  involvedObject?: { kind?: string; name?: string }
}

const field = (read: (object: Printed) => unknown) => (object: KubeObject) => read(object as Printed) ?? null
const ready = (object: Printed) => object.status?.conditions?.find((condition) => condition.type === 'Ready')
const age = (timestamp: unknown) => (typeof timestamp === 'string' ? humanDuration(Date.now() - Date.parse(timestamp)) : '<unknown>')

const NAME: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name }
const AGE: Column = { name: 'Age', type: 'string', cell: (o) => age(o.metadata.creationTimestamp) }

const COLUMNS: Record<string, Column[]> = {
  externalsecrets: [
    NAME,
    { name: 'StoreType', type: 'string', cell: field((o) => o.spec?.secretStoreRef?.kind) },
    { name: 'Store', type: 'string', cell: field((o) => o.spec?.secretStoreRef?.name) },
    { name: 'Refresh Interval', type: 'string', cell: field((o) => o.spec?.refreshInterval) },
    { name: 'Status', type: 'string', cell: field((o) => ready(o)?.reason) },
    { name: 'Ready', type: 'string', cell: field((o) => ready(o)?.status) }
  ],
  secrets: [NAME, { name: 'Type', type: 'string', cell: (o) => o.type }, { name: 'Data', type: 'integer', cell: (o) => Object.keys((o.data as object | undefined) ?? {}).length }, AGE],
  namespaces: [NAME, { name: 'Status', type: 'string', cell: field((o) => o.status?.phase) }, AGE],
  events: [
    { name: 'Last Seen', type: 'string', cell: (o) => age(o.lastTimestamp) },
    { name: 'Type', type: 'string', cell: (o) => o.type },
    { name: 'Reason', type: 'string', cell: (o) => o.reason },
    { name: 'Object', type: 'string', cell: field((o) => `${String(o.involvedObject?.kind).toLowerCase()}/${o.involvedObject?.name}`) },
    { name: 'Message', type: 'string', cell: (o) => o.message },
    { name: 'Count', type: 'integer', priority: 1, cell: (o) => o.count },
    { name: 'Name', type: 'string', format: 'name', priority: 1, cell: (o) => o.metadata.name }
  ]
}

/** A meta.k8s.io/v1 Table; each row carries the object's metadata (includeObject=Metadata, the default). */
export function toTable(type: ResourceType, objects: KubeObject[], resourceVersion: string, includeObject: string | null): Record<string, unknown> {
  const columns = COLUMNS[type.resource]
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map(({ name, type, format = '', priority = 0 }) => ({ name, type, format, description: name, priority })),
    rows: objects.map((object) => ({
      cells: columns.map((column) => column.cell(object)),
      ...(includeObject === 'None' ? {} : { object: includeObject === 'Object' ? object : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata } })
    }))
  }
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
