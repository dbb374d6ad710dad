/** JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902), the two patch formats a CRD accepts. */
import { ApiError, badRequest } from './errors.ts'
import { clone, isObject, sameJson, type Json } from './json.ts'

/** RFC 7386: objects merge key by key, `null` deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch)
  const result = isObject(target) ? clone(target) : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = mergePatch(result[key] ?? null, value)
  }
  return result
}

interface Operation {
  op: string
  path: string
  from?: string
  value?: Json
}

/**
 * RFC 6902: add, remove, replace, move, copy, test, applied in order to a copy. A malformed patch is a 400; an
 * operation that cannot apply (missing path, failed test) is a 422, as the API server answers.
 */
export function jsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch')
  let document = clone(target)
  for (const item of patch) {
    if (!isObject(item) || typeof item.op !== 'string' || typeof item.path !== 'string')
      throw badRequest(`invalid JSON patch operation: ${JSON.stringify(item)}`)
    document = applyOperation(document, item as unknown as Operation)
  }
  return document
}

function applyOperation(document: Json, operation: Operation): Json {
  switch (operation.op) {
    case 'add':
      return add(document, operation.path, requireValue(operation))
    case 'remove':
      return remove(document, operation.path)
    case 'replace':
      return add(remove(document, operation.path), operation.path, requireValue(operation))
    case 'move': {
      const value = read(document, requireFrom(operation))
      return add(remove(document, requireFrom(operation)), operation.path, value)
    }
    case 'copy':
      return add(document, operation.path, clone(read(document, requireFrom(operation))))
    case 'test':
      if (!sameJson(read(document, operation.path), requireValue(operation)))
        throw unprocessable(`testing value ${operation.path} failed: test failed`)
      return document
    default:
      throw badRequest(`Unexpected kind: ${operation.op}`)
  }
}

function requireValue(operation: Operation): Json {
  if (!('value' in operation)) throw badRequest(`missing value for operation "${operation.op}"`)
  return operation.value as Json
}

function requireFrom(operation: Operation): string {
  if (typeof operation.from !== 'string') throw badRequest(`missing from for operation "${operation.op}"`)
  return operation.from
}

function unprocessable(message: string): ApiError {
  return new ApiError(422, message, 'Invalid')
}

/** RFC 6901 pointer to its unescaped tokens. */
function tokens(pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw badRequest(`JSON pointer must start with "/": ${pointer}`)
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
}

/** The container holding the pointer's last token, and that token. */
function parentOf(document: Json, pointer: string): { parent: Json; last: string } {
  const path = tokens(pointer)
  if (path.length === 0) throw unprocessable('cannot operate on the document root')
  const last = path.pop()!
  let parent = document
  for (const token of path) parent = child(parent, token, pointer)
  return { parent, last }
}

function child(container: Json, token: string, pointer: string): Json {
  if (Array.isArray(container)) {
    const index = Number(token)
    if (!/^\d+$/.test(token) || index >= container.length) throw unprocessable(`index out of bounds in ${pointer}`)
    return container[index]
  }
  if (isObject(container) && token in container) return container[token]
  throw unprocessable(`doc is missing path: "${pointer}": missing value`)
}

function read(document: Json, pointer: string): Json {
  let value = document
  for (const token of tokens(pointer)) value = child(value, token, pointer)
  return value
}

function add(document: Json, pointer: string, value: Json): Json {
  if (pointer === '') return clone(value)
  const { parent, last } = parentOf(document, pointer)
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last)
    if (!/^(\d+|-)$/.test(last) || index > parent.length) throw unprocessable(`index out of bounds in ${pointer}`)
    parent.splice(index, 0, clone(value))
  } else if (isObject(parent)) parent[last] = clone(value)
  else throw unprocessable(`doc is missing path: "${pointer}": missing value`)
  return document
}

function remove(document: Json, pointer: string): Json {
  const { parent, last } = parentOf(document, pointer)
  child(parent, last, pointer)
  if (Array.isArray(parent)) parent.splice(Number(last), 1)
  else if (isObject(parent)) delete parent[last]
  return document
}
