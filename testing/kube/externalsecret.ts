/**
 * ExternalSecret semantics, as external-secrets v2 implements them: the CRD's defaults, the refresh decision,
 * `syncedResourceVersion`, the target Secret's validity check and the Ready condition.
 */
import { createHash } from 'node:crypto'
import { ApiError } from './errors.ts'
import { canonical, isObject, type KubeObject } from './json.ts'

export interface RemoteRef {
  key: string
  property?: string
  version?: string
}

export interface StoreRef {
  name?: string
  kind?: string
}

/** An item's own store, instead of `spec.secretStoreRef` (StoreSourceRef / StoreGeneratorSourceRef). */
export interface SourceRef {
  storeRef?: StoreRef
}

export interface ExternalSecretSpec {
  refreshInterval?: string
  refreshPolicy?: 'CreatedOnce' | 'Periodic' | 'OnChange'
  secretStoreRef?: StoreRef
  target?: {
    name?: string
    creationPolicy?: 'Owner' | 'Orphan' | 'Merge' | 'None'
    deletionPolicy?: 'Retain' | 'Delete' | 'Merge'
  }
  data?: { secretKey: string; remoteRef: RemoteRef; sourceRef?: SourceRef }[]
  dataFrom?: DataFrom[]
}

export interface DataFrom {
  extract?: RemoteRef
  find?: FindRef
  rewrite?: Rewrite[]
  sourceRef?: SourceRef
}

export interface FindRef {
  path?: string
  name?: { regexp?: string }
  tags?: Record<string, string>
}

export interface Rewrite {
  regexp?: { source: string; target: string }
}

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason: string
  message: string
  lastTransitionTime: string
}

export interface ExternalSecretStatus {
  binding?: { name: string }
  conditions?: Condition[]
  refreshTime?: string
  syncedResourceVersion?: string
}

export interface ExternalSecret extends KubeObject {
  spec: ExternalSecretSpec
  status?: ExternalSecretStatus
}

export const LABEL_MANAGED = 'reconcile.external-secrets.io/managed'
export const LABEL_OWNER = 'reconcile.external-secrets.io/created-by'
export const ANNOTATION_DATA_HASH = 'reconcile.external-secrets.io/data-hash'

/** The CRD's `default:` values, which the API server fills in on every write. */
export function applyDefaults(object: KubeObject): void {
  const spec = (isObject(object.spec) ? object.spec : (object.spec = {})) as ExternalSecretSpec
  spec.refreshInterval ??= '1h'
  parseDuration(spec.refreshInterval, `${object.metadata.name}: spec.refreshInterval`)
  spec.target = { creationPolicy: 'Owner', deletionPolicy: 'Retain', ...spec.target }
  for (const item of spec.data ?? []) Object.assign(item.remoteRef, { ...REMOTE_REF_DEFAULTS, ...item.remoteRef })
  for (const item of spec.dataFrom ?? []) {
    if (item.extract) Object.assign(item.extract, { ...REMOTE_REF_DEFAULTS, ...item.extract })
    if (item.find) Object.assign(item.find, { conversionStrategy: 'Default', decodingStrategy: 'None', ...item.find })
  }
}

const REMOTE_REF_DEFAULTS = { conversionStrategy: 'Default', decodingStrategy: 'None', metadataPolicy: 'None' }

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Go's time.ParseDuration ("1h", "2h30m", "0", "0s", "500ms"), in milliseconds. */
function parseDuration(text: string, what = 'duration'): number {
  if (text === '0') return 0
  const parts = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/.test(text)
    ? text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)
    : undefined
  if (!parts) throw new ApiError(422, `${what}: Invalid value: "${text}": time: invalid duration "${text}"`, 'Invalid')
  const total = [...parts].reduce((sum, [, amount, unit]) => sum + Number(amount) * UNITS[unit], 0)
  return text.startsWith('-') ? -total : total
}

/** external-secrets' `utils.ObjectHash`: an MD5 of the value (here of its canonical JSON). */
export function objectHash(value: unknown): string {
  return createHash('md5').update(canonical(value)).digest('hex')
}

/** `"<generation>-<hash of labels and annotations>"`: what `status.syncedResourceVersion` records on success. */
export function resourceVersionOf(es: ExternalSecret): string {
  const { generation = 1, labels = {}, annotations = {} } = es.metadata
  return `${generation}-${objectHash({ annotations, labels })}`
}

/** The controller's `shouldRefresh`, including the refreshPolicy rules (v0.11+). */
export function shouldRefresh(es: ExternalSecret, now: number): boolean {
  const synced = es.status?.syncedResourceVersion ?? ''
  const refreshTime = es.status?.refreshTime ? Date.parse(es.status.refreshTime) : undefined
  switch (es.spec.refreshPolicy) {
    case 'CreatedOnce':
      return synced === '' || refreshTime === undefined
    case 'OnChange':
      return synced === '' || refreshTime === undefined || synced !== resourceVersionOf(es)
    default: {
      const interval = parseDuration(es.spec.refreshInterval ?? '1h')
      if (interval <= 0 && synced !== '') return false
      if (synced !== resourceVersionOf(es) || refreshTime === undefined || refreshTime > now) return true
      return refreshTime + interval < now
    }
  }
}

/** When the controller asks to be called again on success: only Periodic (or unset) with an interval > 0. */
export function requeueAfter(es: ExternalSecret, now: number): number | undefined {
  if (es.spec.refreshPolicy === 'CreatedOnce' || es.spec.refreshPolicy === 'OnChange') return undefined
  const interval = parseDuration(es.spec.refreshInterval ?? '1h')
  if (interval <= 0) return undefined
  const since = es.status?.refreshTime ? now - Date.parse(es.status.refreshTime) : 0
  return Math.max(0, interval - since)
}

/** The target Secret exists, carries the managed label, and its data still matches the data-hash annotation. */
export function isSecretValid(secret: KubeObject | undefined): boolean {
  if (!secret) return false
  if (secret.metadata.labels?.[LABEL_MANAGED] !== 'true') return false
  return secret.metadata.annotations?.[ANNOTATION_DATA_HASH] === objectHash(secret.data ?? {})
}

/**
 * `SetExternalSecretCondition`: an identical condition is left alone; a condition whose status does not change
 * keeps its lastTransitionTime.
 */
export function setCondition(status: ExternalSecretStatus, next: Condition): void {
  const current = status.conditions?.find((condition) => condition.type === next.type)
  if (current && current.status === next.status && current.reason === next.reason && current.message === next.message)
    return
  if (current && current.status === next.status) next.lastTransitionTime = current.lastTransitionTime
  status.conditions = [...(status.conditions ?? []).filter((condition) => condition.type !== next.type), next]
}
