import { reads, referencesOf, targetSecretName, type ExternalSecret, type SecretStore } from '../eso/model.js'
import { refOf, type ObjectRef } from '../k8s/types.js'
import { reloaderRestartsFor, secretsRead } from '../workloads/readers.js'
import { isPaused, type Workload } from '../workloads/model.js'

/**
 * Which workloads run on a Secret this run changed, and what becomes of each. Pure: decided from the
 * push's written parameters and the ExternalSecrets' specs, never from a Secret (no `get secrets`).
 */

/** A Secret whose data this run changed: an ExternalSecret that reads a parameter it wrote synced into it. */
export type ChangedSecret = ObjectRef

/**
 * The Secrets of the ExternalSecrets confirmed freshly synced (`synced`) that read a parameter this
 * run created or updated (`written`): by key, or under a `find` path, resolved through their `stores`.
 */
export function changedSecrets(
  externalSecrets: readonly ExternalSecret[],
  stores: readonly SecretStore[],
  synced: readonly ObjectRef[],
  written: ReadonlySet<string>
): ChangedSecret[] {
  const fresh = externalSecrets.filter(({ metadata }) =>
    synced.some(({ namespace, name }) => metadata.namespace === namespace && metadata.name === name)
  )
  const changed = fresh.filter((es) =>
    referencesOf(es, stores).some((reference) => [...written].some((name) => reads(reference, name)))
  )
  const secrets = changed.map((es) => ({ namespace: refOf(es).namespace, name: targetSecretName(es) }))
  return secrets.filter(
    (secret, index) =>
      secrets.findIndex(({ namespace, name }) => namespace === secret.namespace && name === secret.name) === index
  )
}

/**
 * What the action does with a workload that reads a changed Secret: restart it as `kubectl rollout
 * restart` does; leave it to stakater/Reloader, which restarts it already, and wait for that rollout;
 * or, a paused Deployment, refuse (a restart would not roll out).
 */
export type Handling = 'restart' | 'reloader' | 'paused'

export interface Reader {
  readonly workload: Workload
  /** The changed Secrets it reads, sorted. */
  readonly secrets: readonly string[]
  readonly handling: Handling
}

/** The workloads whose pod template reads a changed Secret of their namespace; no other is ever touched. */
export function readersOf(workloads: readonly Workload[], changed: readonly ChangedSecret[]): Reader[] {
  return workloads.flatMap((workload): Reader[] => {
    const read = secretsRead(workload)
    const secrets = changed
      .filter(({ namespace, name }) => namespace === workload.metadata.namespace && read.has(name))
      .map(({ name }) => name)
    if (!secrets.length) return []
    return [{ workload, secrets: secrets.sort(), handling: handlingOf(workload, secrets) }]
  })
}

function handlingOf(workload: Workload, secrets: readonly string[]): Handling {
  if (isPaused(workload)) return 'paused'
  // One rollout, whoever starts it, brings every Secret the pods read.
  return secrets.some((secret) => reloaderRestartsFor(workload, secret)) ? 'reloader' : 'restart'
}
