import { isRecord } from '../json.js'
import type { ObjectMeta } from '../k8s/types.js'

/**
 * A core/v1 Pod as the rollout reads it: when the kubelet started it, whether it is being deleted, and its
 * annotations (the pod template's, copied when the pod was made). Pure.
 */
export interface Pod {
  readonly metadata: ObjectMeta
  readonly status?: {
    /**
     * When the kubelet acknowledged the pod (RFC 3339, whole seconds), before it resolves the environment and starts
     * the containers (k8s.io/api core/v1 types.go PodStatus.StartTime); absent until then.
     */
    readonly startTime?: string
    readonly phase?: string
  }
}

export const POD_RESOURCE = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', name: 'pods' } as const

export function isPod(object: unknown): object is Pod {
  return isRecord(object) && isRecord(object.metadata) && typeof object.metadata.name === 'string'
}
