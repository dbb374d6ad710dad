/** URL paths to what they mean: a non-resource path (discovery...) or a resource request with its verb. */
import { methodNotAllowed, unknownResource, type RequestAttributes } from './errors.ts'
import { CORE_TYPES, NAMESPACES, type ApiGroup, type ResourceType } from './resources.ts'

export interface ResourceRoute extends RequestAttributes {
  type: ResourceType
  version: string
}

/**
 * Resource paths: `/api/v1/<rest>` and `/apis/<group>/<version>/<rest>`, where rest is `<resource>[/<name>[/<sub>]]`
 * or `namespaces/<ns>/<resource>[/<name>[/<sub>]]`. Returns undefined for anything else (non-resource paths).
 * As the real server's request info has it, `namespaces/<name>` is in the namespace it names (a RoleBinding there
 * can allow reading it).
 */
export function resourceRoute(
  path: string,
  method: string,
  watch: boolean,
  groups: readonly ApiGroup[]
): ResourceRoute | undefined {
  const segments = path.split('/').filter((segment) => segment !== '')
  let group: string
  let version: string
  let rest: string[]
  if (segments[0] === 'api' && segments[1] === 'v1' && segments.length > 2)
    [group, version, rest] = ['', 'v1', segments.slice(2)]
  else if (segments[0] === 'apis' && segments.length > 3)
    [group, version, rest] = [segments[1], segments[2], segments.slice(3)]
  else return undefined

  const namespaced = rest[0] === 'namespaces' && rest.length >= 3
  const [namespace, resource, name, subresource, ...extra] = namespaced ? rest.slice(1) : [undefined, ...rest]
  const type = resource === undefined ? undefined : typeFor(group, version, resource, groups)
  if (
    !type ||
    extra.length > 0 ||
    (namespaced && !type.namespaced) ||
    (!namespaced && type.namespaced && name !== undefined)
  )
    throw unknownResource()
  if (subresource !== undefined && !(subresource in type.subresources)) throw unknownResource()

  const verb = verbOf(method, watch, name !== undefined)
  const allowed = subresource === undefined ? type.verbs : type.subresources[subresource]
  if (!verb || !allowed.some((candidate) => candidate === verb)) throw methodNotAllowed()
  return {
    type,
    version,
    verb,
    group,
    resource: type.resource,
    namespace: type === NAMESPACES ? name : namespace,
    name,
    subresource
  }
}

function verbOf(method: string, watch: boolean, named: boolean): string | undefined {
  if (method === 'GET') return watch ? 'watch' : named ? 'get' : 'list'
  if (method === 'PATCH') return 'patch'
  if (method === 'POST' && !named) return 'create'
  return undefined
}

function typeFor(
  group: string,
  version: string,
  resource: string,
  groups: readonly ApiGroup[]
): ResourceType | undefined {
  const types =
    group === ''
      ? CORE_TYPES
      : groups.find((served) => served.name === group && served.versions.includes(version))?.types
  return types?.find((type) => type.resource === resource)
}
