/**
 * Discovery: `/version`, legacy discovery (`/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`)
 * and aggregated discovery (apidiscovery.k8s.io/v2, which kubectl 1.32 asks for first on `/api` and `/apis`).
 * The named groups are apps (deployments, statefulsets, daemonsets, replicasets), authentication.k8s.io and
 * authorization.k8s.io (their self reviews), then (the CRDs) argoproj.io v1alpha1 with rollouts when the Argo Rollouts
 * CRD is installed, and external-secrets.io with the configured versions, the first preferred; with none, it is
 * absent. The core group has namespaces, pods, secrets and events.
 */
import { apiGroups, CORE_TYPES, type ApiGroup, type ResourceType } from './resources.ts'

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '70d3cc986aa8221cd1dfb1121852688902d3bf53',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T17:56:20Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64'
}

/** Whether the client asked for aggregated discovery (it lists that media type before plain JSON). */
export function wantsAggregated(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some((type) => type.includes('as=APIGroupDiscoveryList') && /;\s*v=v2(;|$)/.test(type))
}

function legacyResources(type: ResourceType): Record<string, unknown>[] {
  const main = {
    name: type.resource,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: type.verbs,
    ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
    ...(type.categories.length ? { categories: type.categories } : {})
  }
  const subresources = Object.entries(type.subresources).map(([name, verbs]) => ({
    name: `${type.resource}/${name}`,
    singularName: '',
    namespaced: type.namespaced,
    kind: type.kind,
    verbs
  }))
  return [main, ...subresources]
}

function aggregatedResource(type: ResourceType, version: string): Record<string, unknown> {
  const responseKind = { group: type.group, version, kind: type.kind }
  return {
    resource: type.resource,
    responseKind,
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: type.verbs,
    ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
    ...(type.categories.length ? { categories: type.categories } : {}),
    ...(Object.keys(type.subresources).length
      ? {
          subresources: Object.entries(type.subresources).map(([subresource, verbs]) => ({
            subresource,
            responseKind,
            verbs
          }))
        }
      : {})
  }
}

export class Discovery {
  readonly apiGroups: readonly ApiGroup[]

  /** `versions`: the external-secrets.io versions served; `rollouts`: whether the Argo Rollouts CRD is installed. */
  constructor(versions: readonly string[], rollouts = false) {
    this.apiGroups = apiGroups(versions, rollouts)
  }

  /** `/api` */
  core(aggregated: boolean, serverAddress: string): Record<string, unknown> {
    if (aggregated) {
      return this.#list([
        {
          metadata: { creationTimestamp: null },
          versions: [
            { version: 'v1', resources: CORE_TYPES.map((type) => aggregatedResource(type, 'v1')), freshness: 'Current' }
          ]
        }
      ])
    }
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }]
    }
  }

  /** `/api/v1` */
  coreResources(): Record<string, unknown> {
    return { kind: 'APIResourceList', groupVersion: 'v1', resources: CORE_TYPES.flatMap(legacyResources) }
  }

  /** `/apis` */
  groups(aggregated: boolean): Record<string, unknown> {
    if (aggregated) {
      return this.#list(
        this.apiGroups.map(({ name, versions, types }) => ({
          metadata: { name, creationTimestamp: null },
          versions: versions.map((version) => ({
            version,
            resources: types.map((type) => aggregatedResource(type, version)),
            freshness: 'Current'
          }))
        }))
      )
    }
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: this.apiGroups.map((group) => withoutKindAndVersion(this.group(group)))
    }
  }

  /** `/apis/<group>` */
  group({ name, versions }: ApiGroup): Record<string, unknown> {
    const served = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }))
    return { kind: 'APIGroup', apiVersion: 'v1', name, versions: served, preferredVersion: served[0] }
  }

  /** `/apis/<group>/<version>` */
  groupResources({ name, types }: ApiGroup, version: string): Record<string, unknown> {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${name}/${version}`,
      resources: types.flatMap(legacyResources)
    }
  }

  #list(items: Record<string, unknown>[]): Record<string, unknown> {
    return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items }
  }
}

function withoutKindAndVersion({
  kind: _kind,
  apiVersion: _apiVersion,
  ...rest
}: Record<string, unknown>): Record<string, unknown> {
  return rest
}
