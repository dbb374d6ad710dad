import { reads, referencesOf, targetSecretName, type ExternalSecret, type SecretStore } from '../eso/model.js'
import { refOf, type ObjectRef } from '../k8s/types.js'
import { reloaderRestartsFor, secretsRead } from './readers.js'
import { isPaused, type Workload } from './model.js'
import { freshnessOf, type Freshness, type SecretData } from './current.js'
import type { Pod } from './pods.js'

/**
 * Which workloads run on a Secret of a freshly synced ExternalSecret, and what becomes of each. Pure: decided from
 * the ExternalSecrets' specs, the parameters this run wrote, the workloads, and how fresh their pods are (current.ts).
 */

/** The Secret of each ExternalSecret confirmed freshly synced (`synced`), each once. */
export function syncedSecrets(externalSecrets: readonly ExternalSecret[], synced: readonly ObjectRef[]): ObjectRef[] {
  return unique(freshOf(externalSecrets, synced).map(secretOf))
}

/**
 * The Secrets of the freshly synced ExternalSecrets that read a parameter this run created or updated (`written`):
 * by key, or under a `find` path, resolved through their `stores`. Their data changed in this run (or, in a dry run,
 * would change).
 */
export function changedSecrets(
  externalSecrets: readonly ExternalSecret[],
  stores: readonly SecretStore[],
  synced: readonly ObjectRef[],
  written: ReadonlySet<string>
): ObjectRef[] {
  const changed = freshOf(externalSecrets, synced).filter((es) =>
    referencesOf(es, stores).some((reference) => [...written].some((name) => reads(reference, name)))
  )
  return unique(changed.map(secretOf))
}

/**
 * What the action does with a workload whose pods do not all run the current data: restart it as `kubectl rollout
 * restart` does; leave it to stakater/Reloader, which restarts it for this change already, and wait for its pods
 * to be current; or, a paused Deployment, refuse (a restart would not roll out).
 */
export type Handling = 'restart' | 'reloader' | 'paused'

export interface Reader {
  readonly workload: Workload
  /** The Secrets it reads among those looked at, sorted. */
  readonly secrets: readonly string[]
}

/** The workloads whose pod template reads one of `secrets` of their namespace; no other is ever touched. */
export function readersOf(workloads: readonly Workload[], secrets: readonly ObjectRef[]): Reader[] {
  return workloads.flatMap((workload): Reader[] => {
    const read = secretsRead(workload)
    const names = secrets
      .filter(({ namespace, name }) => namespace === workload.metadata.namespace && read.has(name))
      .map(({ name }) => name)
    return names.length ? [{ workload, secrets: names.sort() }] : []
  })
}

/** The Secrets the readers read, each once. */
export function secretsOf(readers: readonly Reader[]): ObjectRef[] {
  return unique(
    readers.flatMap(({ workload, secrets }) =>
      secrets.map((name) => ({ namespace: workload.metadata.namespace ?? '', name }))
    )
  )
}

/**
 * A reader whose pods do not run the current data of every Secret it reads, narrowed to those Secrets, with how
 * far behind it is; undefined when its pods are current. `pods` undefined: they cannot be found (no selector), so
 * taken as stale. `willChange`: in a dry run, a Secret the run would change, whose readers a real run would find
 * stale. A Secret without data (`data` has no entry: it does not exist) is never behind.
 */
export function behind(
  reader: Reader,
  pods: readonly Pod[] | undefined,
  data: readonly SecretData[],
  willChange: (secret: ObjectRef) => boolean
): { reader: Reader; freshness: Exclude<Freshness, 'current'> } | undefined {
  const namespace = reader.workload.metadata.namespace ?? ''
  const judged = reader.secrets.map((name) => {
    const own = data.filter((entry) => entry.namespace === namespace && entry.name === name)
    const stale = pods === undefined || willChange({ namespace, name })
    return { name, freshness: stale ? ('stale' as const) : freshnessOf(pods, own) }
  })
  const late = judged.filter(({ freshness }) => freshness !== 'current')
  if (!late.length) return undefined
  return {
    reader: { ...reader, secrets: late.map(({ name }) => name) },
    freshness: late.some(({ freshness }) => freshness === 'stale') ? 'stale' : 'same-second'
  }
}

/**
 * How a reader whose pods are not current is brought to the current data. Reloader restarts a workload when a
 * Secret's data changes (stakater/Reloader internal/pkg/handler/update.go), not when it is created, and only once
 * per change: it is left to Reloader only when this run changed the data of a Secret Reloader watches for it
 * (`changed`), that data is not the Secret's first, and its pods are plainly older than the data. A re-run (the
 * data came from an earlier run), a Secret just created, or pods of the data's own second: the action restarts it.
 */
export function handlingOf(
  { workload, secrets }: Reader,
  freshness: Exclude<Freshness, 'current'>,
  data: readonly SecretData[],
  changed: readonly ObjectRef[]
): Handling {
  if (isPaused(workload)) return 'paused'
  const namespace = workload.metadata.namespace
  const reloaded = secrets.some((secret) => {
    const current = data.find((entry) => entry.namespace === namespace && entry.name === secret)
    return (
      current !== undefined &&
      !current.first &&
      reloaderRestartsFor(workload, secret, current.annotations) &&
      changed.some((ref) => ref.namespace === namespace && ref.name === secret)
    )
  })
  return reloaded && freshness === 'stale' ? 'reloader' : 'restart'
}

function freshOf(externalSecrets: readonly ExternalSecret[], synced: readonly ObjectRef[]): ExternalSecret[] {
  return externalSecrets.filter(({ metadata }) =>
    synced.some(({ namespace, name }) => metadata.namespace === namespace && metadata.name === name)
  )
}

function secretOf(es: ExternalSecret): ObjectRef {
  return { namespace: refOf(es).namespace, name: targetSecretName(es) }
}

function unique(refs: readonly ObjectRef[]): ObjectRef[] {
  return refs.filter(
    (ref, index) => refs.findIndex(({ namespace, name }) => namespace === ref.namespace && name === ref.name) === index
  )
}
