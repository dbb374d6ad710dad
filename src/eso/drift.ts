import { asArray, asRecord, isRecord } from '../json.js'
import { parseGoDuration } from './duration.js'

/**
 * Whether the cluster holds an ExternalSecret as Git renders it, and if not, the first
 * difference in words. The rendered labels, annotations and spec must be a subset of the live
 * object: the API server and the operator fill in defaults the manifest leaves out
 * (`conversionStrategy`, `creationPolicy`, ...). A rendered `null` asks for nothing, as
 * `kubectl apply` drops it. Lists match element by element, in order; `spec.refreshInterval` by its value as a
 * duration. Pure; an ExternalSecret
 * spec holds references, never secret values, so its values may be printed.
 */

type Segment = string | number

interface Mismatch {
  readonly path: readonly Segment[]
  readonly git: unknown
  readonly cluster: unknown
}

const SHOWN_LENGTH = 80

/** The first difference, or undefined when the live object is as rendered; `live` undefined: not in the cluster. */
export function liveDifference(rendered: unknown, live: unknown): string | undefined {
  return live === undefined ? 'it is not in the cluster yet' : firstDifference(rendered, live)
}

/**
 * The first difference in document order (labels, annotations, then spec), or undefined when the live object is as
 * rendered.
 */
export function firstDifference(rendered: unknown, live: unknown): string | undefined {
  const found = mismatchOf(comparedPart(rendered), live, [])
  return found && describe(found, rendered, live)
}

/** What of a rendered ExternalSecret the cluster must hold. */
function comparedPart(rendered: unknown): Record<string, unknown> {
  const object = asRecord(rendered)
  const metadata = asRecord(object?.metadata)
  return { metadata: { labels: metadata?.labels, annotations: metadata?.annotations }, spec: object?.spec }
}

function mismatchOf(git: unknown, cluster: unknown, path: readonly Segment[]): Mismatch | undefined {
  if (git === undefined || git === null) return undefined
  if (Array.isArray(git)) return Array.isArray(cluster) ? listMismatch(git, cluster, path) : { path, git, cluster }
  if (isRecord(git)) {
    // An object the cluster lacks is told by its first field, the one a person would look for.
    if (cluster !== undefined && cluster !== null && !isRecord(cluster)) return { path, git, cluster }
    const have = asRecord(cluster) ?? {}
    return firstOf(Object.keys(git), (key) => mismatchOf(git[key], have[key], [...path, key]))
  }
  return git === cluster || sameDuration(git, cluster, path) ? undefined : { path, git, cluster }
}

/**
 * `spec.refreshInterval` is a Go duration (metav1.Duration): ESO writes it back in Go's form on some versions (`1h` as
 * `1h0m0s`), so it matches by value, not by text.
 */
function sameDuration(git: unknown, cluster: unknown, path: readonly Segment[]): boolean {
  if (path.join('.') !== 'spec.refreshInterval' || typeof git !== 'string' || typeof cluster !== 'string') return false
  const wanted = parseGoDuration(git)
  return wanted !== undefined && wanted === parseGoDuration(cluster)
}

function listMismatch(
  git: readonly unknown[],
  cluster: readonly unknown[],
  path: readonly Segment[]
): Mismatch | undefined {
  const indexes = Array.from({ length: Math.max(git.length, cluster.length) }, (_, index) => index)
  return firstOf(indexes, (index) =>
    index < git.length && index < cluster.length
      ? mismatchOf(git[index], cluster[index], [...path, index])
      : { path: [...path, index], git: git[index], cluster: cluster[index] }
  )
}

function firstOf<T>(items: readonly T[], find: (item: T) => Mismatch | undefined): Mismatch | undefined {
  for (const item of items) {
    const found = find(item)
    if (found) return found
  }
  return undefined
}

/**
 * A difference in `spec.data` or `spec.dataFrom` is told by the first SSM key Git reads there
 * and the cluster does not: that is what a release waits for. Else by its path and values.
 */
function describe({ path, git, cluster }: Mismatch, rendered: unknown, live: unknown): string {
  const [top, list] = path
  if (top === 'spec' && (list === 'data' || list === 'dataFrom')) {
    const read = readsOf(asRecord(live)?.spec, list)
    const unread = readsOf(asRecord(rendered)?.spec, list).find(
      (wanted) => !read.some((have) => have.field === wanted.field && have.key === wanted.key)
    )
    if (unread) return `the cluster does not yet read ${unread.key}`
  }
  return `${pathText(path)}: the cluster has ${shown(cluster)}, Git has ${shown(git)}`
}

interface Read {
  readonly field: 'remoteRef.key' | 'extract.key' | 'find.path'
  readonly key: string
}

function readsOf(spec: unknown, list: 'data' | 'dataFrom'): Read[] {
  return asArray(asRecord(spec)?.[list]).flatMap((item): Read[] => {
    const entry = asRecord(item)
    const candidates: Array<readonly [Read['field'], unknown]> =
      list === 'data'
        ? [['remoteRef.key', asRecord(entry?.remoteRef)?.key]]
        : [
            ['extract.key', asRecord(entry?.extract)?.key],
            ['find.path', asRecord(entry?.find)?.path]
          ]
    return candidates.flatMap(([field, key]) => (typeof key === 'string' ? [{ field, key }] : []))
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
