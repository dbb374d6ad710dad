import { readyCondition, type ExternalSecret } from '../eso/model.js'
import type { Condition } from '../k8s/types.js'

/**
 * The fresh-sync rule (ESO): `status.syncedResourceVersion` is written only on a successful sync
 * and changes with every new annotation value, so a sync caused by this run's annotation shows a
 * value other than the one recorded before it, with Ready True. Ready alone cannot tell: the
 * operator never sets Ready False while refreshing. Pure.
 */
export function isFreshlySynced(recorded: string | undefined, es: ExternalSecret): boolean {
  const current = es.status?.syncedResourceVersion
  return Boolean(current) && current !== recorded && readyCondition(es)?.status === 'True'
}

/** `Ready=False (SecretSyncedError: could not get secret data from provider)`, or `no Ready condition`. */
export function describeCondition(condition: Condition | undefined): string {
  if (!condition) return 'no Ready condition yet'
  const detail = [condition.reason, condition.message].filter(Boolean).join(': ')
  return `Ready=${condition.status}${detail ? ` (${detail})` : ''}`
}
