import { asArray, asRecord, isRecord } from '../json.js'
import { appliedHas, appliedRecord, LAST_APPLIED_ANNOTATION, type AppliedRecord } from './applied.js'
import { isCrdDefault, sameValue } from './defaults.js'

/**
 * Whether the cluster holds an ExternalSecret as Git renders it, and if not, the first difference in words. Exact:
 * the live labels, annotations and spec have every field Git renders, with its value (a rendered `null` asks for
 * nothing, as `kubectl apply` drops it; lists match element by element, in order; `spec.refreshInterval` by its
 * value as a duration), and none that Git removed. Which live fields Git removed, the applier tells (applied.ts):
 * a field it applied that the render lacks; one it did not apply is another writer's and accepted. Where it left no
 * record, a live spec field the render lacks is accepted only when it holds the CRD's default (defaults.ts); labels
 * and annotations are, since tools keep their own there. Inside a list (atomic: written whole) only a default is
 * accepted, with a record or without. The GitOps tools' bookkeeping is theirs, never Git's content. Pure; an
 * ExternalSecret spec holds references, never secret values.
 */

type Segment = string | number

type Difference =
  /** Git renders a value the cluster does not hold. */
  | { readonly kind: 'mismatch'; readonly path: readonly Segment[]; readonly git: unknown; readonly cluster: unknown }
  | Leftover

/** The cluster holds a field the render lacks: `removed` when the applier applied it, else `extra`. */
interface Leftover {
  readonly kind: 'removed' | 'extra'
  readonly path: readonly Segment[]
}

const SHOWN_LENGTH = 80

/**
 * The GitOps tools' own marks: Argo CD's tracking annotations (argo-cd `common/common.go`, AnnotationKeyAppInstance,
 * AnnotationInstallationID) and kubectl's last-applied configuration. Not compared either way.
 */
const BOOKKEEPING_ANNOTATIONS: ReadonlySet<string> = new Set([
  'argocd.argoproj.io/tracking-id',
  'argocd.argoproj.io/installation-id',
  LAST_APPLIED_ANNOTATION
])

/**
 * Argo CD's label tracking (the default before 3.0) and annotation+label tracking set this label to the
 * Application's name whatever Git says (argo-cd `util/argo/resource_tracking.go`, SetAppInstance; the key is
 * `application.instanceLabelKey`, by default this one): any value the cluster holds matches a rendered one.
 */
const APP_INSTANCE_LABEL = 'app.kubernetes.io/instance'

/** The first difference, or undefined when the live object is as rendered; `live` undefined: not in the cluster. */
export function liveDifference(rendered: unknown, live: unknown): string | undefined {
  return live === undefined ? 'it is not in the cluster yet' : firstDifference(rendered, live)
}

/**
 * The first difference: first what Git renders and the cluster lacks (labels, annotations, then spec, in document
 * order), then what the cluster holds and Git removed; undefined when the live object is as rendered.
 */
export function firstDifference(rendered: unknown, live: unknown): string | undefined {
  const git = comparedPart(rendered)
  const cluster = comparedPart(live)
  const found = mismatchOf(git, cluster, []) ?? leftoverOf(git, cluster, [], appliedRecord(live), false)
  return found && describe(found, rendered, live)
}

/** What of an ExternalSecret is compared: its labels, its annotations but the tools' own, its spec. */
function comparedPart(object: unknown): Record<string, unknown> {
  const metadata = asRecord(asRecord(object)?.metadata)
  const annotations = asRecord(metadata?.annotations)
  return {
    metadata: {
      labels: metadata?.labels,
      annotations:
        annotations &&
        Object.fromEntries(Object.entries(annotations).filter(([key]) => !BOOKKEEPING_ANNOTATIONS.has(key)))
    },
    spec: asRecord(object)?.spec
  }
}

function mismatchOf(git: unknown, cluster: unknown, path: readonly Segment[]): Difference | undefined {
  if (git === undefined || git === null) return undefined
  if (Array.isArray(git))
    return Array.isArray(cluster) ? listMismatch(git, cluster, path) : mismatch(path, git, cluster)
  if (isRecord(git)) {
    // An object the cluster lacks is told by its first field, the one a person would look for.
    if (cluster !== undefined && cluster !== null && !isRecord(cluster)) return mismatch(path, git, cluster)
    const have = asRecord(cluster) ?? {}
    return firstOf(Object.keys(git), (key) => mismatchOf(git[key], have[key], [...path, key]))
  }
  if (isAppInstanceLabel(path) && typeof cluster === 'string') return undefined
  return sameValue(path, git, cluster) ? undefined : mismatch(path, git, cluster)
}

function mismatch(path: readonly Segment[], git: unknown, cluster: unknown): Difference {
  return { kind: 'mismatch', path, git, cluster }
}

function listMismatch(
  git: readonly unknown[],
  cluster: readonly unknown[],
  path: readonly Segment[]
): Difference | undefined {
  const indexes = Array.from({ length: Math.max(git.length, cluster.length) }, (_, index) => index)
  return firstOf(indexes, (index) =>
    index < git.length && index < cluster.length
      ? mismatchOf(git[index], cluster[index], [...path, index])
      : mismatch([...path, index], git[index], cluster[index])
  )
}

/**
 * The first field the cluster holds and the render lacks that is not accepted: the applier applied it (Git removed
 * it), or, inside a list or without the applier's record, it is not the CRD's default. Runs once every rendered
 * field matched, so lists have the same length.
 */
function leftoverOf(
  git: unknown,
  cluster: unknown,
  path: readonly Segment[],
  record: AppliedRecord | undefined,
  inList: boolean
): Leftover | undefined {
  if (Array.isArray(cluster))
    return firstOf(cluster, (item, index) => leftoverOf(asArray(git)[index], item, [...path, index], record, true))
  if (!isRecord(cluster)) return undefined
  const have = asRecord(git) ?? {}
  return firstOf(Object.keys(cluster), (key) => {
    const wanted = have[key]
    return wanted === undefined || wanted === null
      ? leftover([...path, key], cluster[key], record, inList)
      : leftoverOf(wanted, cluster[key], [...path, key], record, inList)
  })
}

function leftover(
  path: readonly Segment[],
  value: unknown,
  record: AppliedRecord | undefined,
  inList: boolean
): Leftover | undefined {
  // An object the render lacks is judged field by field (an empty one holds nothing), and told by its own path.
  if (isRecord(value)) {
    const inner = leftoverOf(undefined, value, path, record, inList)
    return inner && { kind: inner.kind, path }
  }
  if (value === null || isAppInstanceLabel(path) || isCrdDefault(path, value)) return undefined
  if (record && appliedHas(record, path)) return { kind: 'removed', path }
  // Another manager's field, or (without a record) a label or annotation a tool keeps: not Git's. Not in a list,
  // which is written whole.
  if (!inList && (record || path[0] === 'metadata')) return undefined
  return { kind: 'extra', path }
}

function isAppInstanceLabel(path: readonly Segment[]): boolean {
  return path.length === 3 && path[0] === 'metadata' && path[1] === 'labels' && path[2] === APP_INSTANCE_LABEL
}

function firstOf<T, D extends Difference>(
  items: readonly T[],
  find: (item: T, index: number) => D | undefined
): D | undefined {
  for (const [index, item] of items.entries()) {
    const found = find(item, index)
    if (found) return found
  }
  return undefined
}

/**
 * A difference in `spec.data` or `spec.dataFrom` is told by the first SSM key Git reads there and the cluster does
 * not (that is what a release waits for), then by the first the cluster still reads and Git no longer does. A field
 * the cluster holds and Git lacks is told by its path alone; any other difference by its path and values.
 */
function describe(difference: Difference, rendered: unknown, live: unknown): string {
  const { path } = difference
  const [top, list] = path
  if (top === 'spec' && (list === 'data' || list === 'dataFrom')) {
    const git = readsOf(asRecord(rendered)?.spec, list)
    const cluster = readsOf(asRecord(live)?.spec, list)
    const unread = git.find((wanted) => !cluster.some((have) => sameRead(have, wanted)))
    if (unread) return `the cluster does not yet read ${unread.key}`
    const stale = cluster.find((have) => !git.some((wanted) => sameRead(have, wanted)))
    if (stale) return `removed in Git but still in the cluster: ${pathText(stale.path)} (reads ${stale.key})`
  }
  switch (difference.kind) {
    case 'removed':
      return `removed in Git but still in the cluster: ${pathText(path)}`
    case 'extra':
      return `in the cluster but not in Git, and not a default of the ExternalSecret CRD: ${pathText(path)}`
    case 'mismatch':
      return `${pathText(path)}: the cluster has ${shown(difference.cluster)}, Git has ${shown(difference.git)}`
  }
}

interface Read {
  readonly field: 'remoteRef.key' | 'extract.key' | 'find.path'
  readonly key: string
  /** The entry that reads it: `spec.data[2]`. */
  readonly path: readonly Segment[]
}

function sameRead(a: Read, b: Read): boolean {
  return a.field === b.field && a.key === b.key
}

function readsOf(spec: unknown, list: 'data' | 'dataFrom'): Read[] {
  return asArray(asRecord(spec)?.[list]).flatMap((item, index): Read[] => {
    const entry = asRecord(item)
    const candidates: Array<readonly [Read['field'], unknown]> =
      list === 'data'
        ? [['remoteRef.key', asRecord(entry?.remoteRef)?.key]]
        : [
            ['extract.key', asRecord(entry?.extract)?.key],
            ['find.path', asRecord(entry?.find)?.path]
          ]
    return candidates.flatMap(([field, key]) =>
      typeof key === 'string' ? [{ field, key, path: ['spec', list, index] }] : []
    )
  })
}

/** `spec.data[0].remoteRef.key`, `metadata.labels["app.kubernetes.io/name"]` */
function pathText(path: readonly Segment[]): string {
  return path
    .map((segment, index) =>
      typeof segment === 'number'
        ? `[${segment}]`
        : /^[A-Za-z_][\w-]*$/.test(segment)
          ? `${index ? '.' : ''}${segment}`
          : `[${JSON.stringify(segment)}]`
    )
    .join('')
}

function shown(value: unknown): string {
  if (value === undefined || value === null) return 'nothing'
  const json = JSON.stringify(value)
  return json.length > SHOWN_LENGTH ? `${json.slice(0, SHOWN_LENGTH - 1)}…` : json
}
