/**
 * Strategic merge patch (`application/strategic-merge-patch+json`), the patch kubectl sends for built-in types
 * (`rollout restart`, `rollout pause`, `set image`...), as apimachinery's strategicpatch applies it:
 *
 * - Objects merge key by key; `null` deletes a key; scalars and lists without a strategy replace.
 * - Lists with the `merge` strategy merge element by element on their merge key (containers by `name`, ports by
 *   `containerPort`, volumeMounts by `mountPath`...); an element `{ <key>: x, $patch: delete }` removes x; an
 *   element `{ $patch: replace }` makes the list the patch's other elements. Primitive lists with the merge
 *   strategy (finalizers) are unions.
 * - Directives: `$patch: replace | delete` in an object, `$retainKeys`, `$deleteFromPrimitiveList/<field>`,
 *   `$setElementOrder/<field>`.
 *
 * The strategy of a list is known here by its field name, which in the Kubernetes types this server serves names
 * the same thing everywhere (the Go code reads it from the struct tags).
 */
import { badRequest } from './errors.ts'
import { clone, isObject, sameJson, type Json, type JsonObject } from './json.ts'

/** Merge key of each list field with the `merge` patch strategy; `null`: a merged list of scalars (a set). */
const MERGE_KEYS: Readonly<Record<string, string | null>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  env: 'name',
  resourceClaims: 'name',
  schedulingGates: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  ownerReferences: 'uid',
  conditions: 'type',
  finalizers: null
}

const PATCH = '$patch'
const RETAIN_KEYS = '$retainKeys'
const DELETE_FROM = '$deleteFromPrimitiveList/'
const ORDER = '$setElementOrder/'

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) throw badRequest('strategic merge patch: the patch must be a JSON object')
  return mergeObject(isObject(target) ? target : {}, patch) ?? {}
}

/** Merges an object patch; undefined means the object is deleted (`$patch: delete`). */
function mergeObject(original: JsonObject, patch: JsonObject): JsonObject | undefined {
  const directive = patch[PATCH]
  if (directive === 'delete') return undefined
  if (directive === 'replace') return withoutDirectives(patch)
  if (directive !== undefined && directive !== 'merge')
    throw badRequest(`Unknown patch type: ${JSON.stringify(directive)}`)
  const result = clone(original)
  const retain = patch[RETAIN_KEYS]
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badRequest('$retainKeys must be a list of field names')
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key]
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length)
      if (!Array.isArray(value)) throw badRequest(`${key} must be a list`)
      const list = result[field]
      if (Array.isArray(list)) result[field] = list.filter((item) => !value.some((gone) => sameJson(gone, item)))
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === PATCH || key === RETAIN_KEYS || key.startsWith(DELETE_FROM) || key.startsWith(ORDER)) continue
    if (value === null) {
      delete result[key]
      continue
    }
    const merged = mergeValue(key, result[key], value)
    if (merged === undefined) delete result[key]
    else result[key] = merged
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(ORDER)) continue
    const field = key.slice(ORDER.length)
    const list = result[field]
    if (Array.isArray(list) && Array.isArray(order)) result[field] = ordered(list, order, MERGE_KEYS[field])
  }
  return result
}

function mergeValue(field: string, original: Json | undefined, patch: Json): Json | undefined {
  if (isObject(patch)) return mergeObject(isObject(original) ? original : {}, patch)
  if (Array.isArray(patch))
    return field in MERGE_KEYS
      ? mergeList(field, Array.isArray(original) ? original : [], patch)
      : patch.map(withoutDirectivesDeep)
  return patch
}

function mergeList(field: string, original: Json[], patch: Json[]): Json[] {
  const key = MERGE_KEYS[field]
  if (patch.some((item) => isObject(item) && item[PATCH] === 'replace'))
    return patch.filter((item) => !(isObject(item) && item[PATCH] === 'replace')).map(withoutDirectivesDeep)
  if (key === null || key === undefined)
    return [...original, ...patch.filter((item) => !original.some((existing) => sameJson(existing, item)))]
  const result = clone(original)
  for (const item of patch) {
    if (!isObject(item) || item[key] === undefined)
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`)
    const index = result.findIndex((existing) => isObject(existing) && sameJson(existing[key], item[key]))
    if (item[PATCH] === 'delete') {
      if (index >= 0) result.splice(index, 1)
      continue
    }
    if (index < 0) result.push(withoutDirectivesDeep(item))
    else result[index] = mergeObject(result[index] as JsonObject, item) ?? result[index]
  }
  return result
}

/** The list in the order `$setElementOrder` gives (by merge key, or by value); elements it does not name stay after. */
function ordered(list: Json[], order: Json[], key: string | null | undefined): Json[] {
  const identity = (item: Json) => (key && isObject(item) ? item[key] : item)
  const rank = (item: Json) => {
    const index = order.findIndex((wanted) => sameJson(key && isObject(wanted) ? wanted[key] : wanted, identity(item)))
    return index < 0 ? order.length : index
  }
  return list
    .map((item, index) => ({ item, index }))
    .sort((a, b) => rank(a.item) - rank(b.item) || a.index - b.index)
    .map(({ item }) => item)
}

function withoutDirectives(object: JsonObject): JsonObject {
  return Object.fromEntries(
    Object.entries(object).filter(
      ([key]) => key !== PATCH && key !== RETAIN_KEYS && !key.startsWith(DELETE_FROM) && !key.startsWith(ORDER)
    )
  )
}

function withoutDirectivesDeep(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutDirectivesDeep)
  if (!isObject(value)) return value
  return Object.fromEntries(
    Object.entries(withoutDirectives(value)).map(([key, item]) => [key, withoutDirectivesDeep(item)])
  )
}
