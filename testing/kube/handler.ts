/**
 * The HTTP side: logs each request, authenticates, applies injected faults, authorizes, then serves discovery, the
 * resource verbs (get, list, watch, patch: JSON merge, JSON patch, for built-in types strategic merge, and for
 * ExternalSecrets server-side apply) as JSON,
 * or as a Table when kubectl asks for one, and the self reviews.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { authenticate, authorize, type AuthOptions, type UserInfo } from './auth.ts'
import { AGGREGATED_CONTENT_TYPE, SERVER_VERSION, wantsAggregated, type Discovery } from './discovery.ts'
import {
  ApiError,
  badRequest,
  conflict,
  injected,
  notFound,
  patchOptionsInvalid,
  unknownResource,
  unsupportedPatch
} from './errors.ts'
import { APPLY_PATCH, serverSideApply } from './apply.ts'
import { applyDefaults } from './externalsecret.ts'
import { clone, isObject, type Json, type KubeObject } from './json.ts'
import { partialMetadata, requestManager, wantsPartialMetadata } from './managed-fields.ts'
import { jsonPatch, mergePatch } from './patch.ts'
import type { Faults } from './faults.ts'
import { apiVersionOf, EXTERNAL_SECRETS, NAMESPACES, type ResourceType } from './resources.ts'
import { review } from './review.ts'
import { resourceRoute, type ResourceRoute } from './routes.ts'
import { fieldSelector, labelSelector } from './selectors.ts'
import type { Store } from './store.ts'
import { strategicMergePatch } from './strategic.ts'
import { toTable, wantsTable } from './table.ts'
import type { Watches } from './watch.ts'
import { applyWorkloadDefaults, validateWorkload } from './workloads.ts'

export interface RequestRecord {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly contentType: string | undefined
  readonly accept: string | undefined
  readonly userAgent: string | undefined
  /** The request body, when there was one (PATCH, POST). */
  readonly body: string | undefined
  /** The response status (200 for a watch, as soon as its stream starts). */
  status: number
}

export interface HandlerContext {
  store: Store
  discovery: Discovery
  watches: Watches
  faults: Faults
  auth: AuthOptions
  requests: RequestRecord[]
  serverAddress: () => string
}

export function createHandler(context: HandlerContext): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const method = req.method ?? 'GET'
    const bytes = await readBody(req)
    const body = bytes.toString('utf8')
    const record: RequestRecord = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
      body: body || undefined,
      status: 0
    }
    context.requests.push(record)
    try {
      const user = authenticate(context.auth, req)
      const watch = ['1', 'true'].includes(url.searchParams.get('watch') ?? '')
      const route = resourceRoute(url.pathname, method, watch, context.discovery.apiGroups)
      const fault = context.faults.take({ method, path: url.pathname, attributes: route })
      if (fault) throw injected(fault.status, route, user.username, fault.message)
      if (route) {
        authorize(context.auth, user, route)
        serveResource(context, route, user, url.searchParams, req.headers, bytes, res)
      } else serveNonResource(context, url.pathname, method, req.headers.accept, res)
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, `Internal error occurred: ${error instanceof Error ? error.stack : String(error)}`)
      if (res.headersSent) res.destroy()
      else sendJson(res, apiError.code, apiError.toStatus(), apiError.code === 429 ? { 'Retry-After': '1' } : {})
    }
    record.status = res.statusCode
  }
}

/** The body; a connection that breaks mid-body gives what arrived (the answer goes nowhere anyway). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const done = () => resolve(Buffer.concat(chunks))
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', done)
    req.on('error', done)
  })
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json'
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

function serveNonResource(
  context: HandlerContext,
  path: string,
  method: string,
  accept: string | undefined,
  res: ServerResponse
): void {
  if (method !== 'GET') throw unknownResource()
  const { discovery } = context
  const aggregated = wantsAggregated(accept) && (path === '/api' || path === '/apis')
  const documents: Record<string, () => unknown> = {
    '/version': () => SERVER_VERSION,
    '/api': () => discovery.core(aggregated, context.serverAddress()),
    '/api/v1': () => discovery.coreResources(),
    '/apis': () => discovery.groups(aggregated)
  }
  for (const group of discovery.apiGroups) {
    documents[`/apis/${group.name}`] = () => discovery.group(group)
    for (const version of group.versions)
      documents[`/apis/${group.name}/${version}`] = () => discovery.groupResources(group, version)
  }
  if (['/healthz', '/livez', '/readyz'].includes(path)) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
    res.end('ok')
    return
  }
  const document = documents[path]?.()
  if (document === undefined) throw unknownResource()
  sendJson(
    res,
    200,
    document,
    aggregated ? { Vary: 'Accept' } : {},
    aggregated ? AGGREGATED_CONTENT_TYPE : 'application/json'
  )
}

/** The object as the requested API version shows it (ExternalSecrets are stored once, served at every version). */
function presenter(route: ResourceRoute): (object: KubeObject) => KubeObject {
  const apiVersion = apiVersionOf(route.type, route.version)
  return (object) => ({ ...object, apiVersion })
}

function serveResource(
  context: HandlerContext,
  route: ResourceRoute,
  user: UserInfo,
  query: URLSearchParams,
  headers: IncomingMessage['headers'],
  body: Buffer,
  res: ServerResponse
): void {
  const { store } = context
  const { type, name } = route
  const namespace = type.namespaced ? route.namespace : undefined
  const present = presenter(route)
  const target = { group: type.group, resource: type.resource, name }
  const nameMatches = name === undefined ? () => true : (object: KubeObject) => object.metadata.name === name
  switch (route.verb) {
    case 'get': {
      const object = store.get(type, namespace, name!)
      if (!object) throw notFound(target)
      if (wantsPartialMetadata(headers.accept)) return sendJson(res, 200, partialMetadata(object))
      if (wantsTable(headers.accept))
        return sendJson(
          res,
          200,
          toTable(type, [present(object)], object.metadata.resourceVersion ?? '', query.get('includeObject'))
        )
      return sendJson(res, 200, present(object))
    }
    case 'list': {
      const labels = labelSelector(query.get('labelSelector'))
      const fields = fieldSelector(query.get('fieldSelector'), type)
      const items = store.list(type, namespace).filter((object) => labels(object) && fields(object))
      const resourceVersion = String(store.resourceVersion)
      const { page, metadata } = paginate(items, query, resourceVersion)
      if (wantsTable(headers.accept))
        return sendJson(res, 200, toTable(type, page.map(present), resourceVersion, query.get('includeObject')))
      const shown = page.map((object) => (type.builtIn ? withoutTypeMeta(object) : present(object)))
      return sendJson(res, 200, {
        kind: `${type.kind}List`,
        apiVersion: apiVersionOf(type, route.version),
        metadata,
        items: shown
      })
    }
    case 'watch': {
      const labels = labelSelector(query.get('labelSelector'))
      const fields = fieldSelector(query.get('fieldSelector'), type)
      const timeout = Number(query.get('timeoutSeconds'))
      return context.watches.serve(res, {
        type,
        present,
        apiVersion: apiVersionOf(type, route.version),
        namespace,
        matches: (object) => nameMatches(object) && labels(object) && fields(object),
        resourceVersion: query.get('resourceVersion'),
        allowBookmarks: query.get('allowWatchBookmarks') === 'true',
        sendInitialEvents: query.get('sendInitialEvents') === 'true',
        timeoutSeconds: timeout > 0 ? timeout : undefined
      })
    }
    case 'patch': {
      const current = store.get(type, namespace, name!)
      const mediaType = (headers['content-type'] ?? '').split(';')[0].trim()
      if (mediaType === APPLY_PATCH) return serveApply(context, route, query, body, res)
      if (query.has('force'))
        throw patchOptionsInvalid('force', 'Forbidden', 'may not be specified for non-apply patch')
      if (!current) throw notFound(target)
      const patched = applyPatch(type, present(current), headers['content-type'] ?? '', body.toString('utf8'))
      const result = checkedPatch(patched, route)
      if (result.metadata.resourceVersion !== current.metadata.resourceVersion) throw conflict(target)
      // The status subresource changes only status; the main resource changes everything but status.
      const next: KubeObject =
        route.subresource === 'status'
          ? { ...current, status: result.status }
          : { ...result, apiVersion: current.apiVersion, kind: current.kind, status: current.status }
      if (next.status === undefined) delete next.status
      if (type === EXTERNAL_SECRETS) applyDefaults(next)
      applyWorkloadDefaults(type, next)
      validateWorkload(type, next)
      const writer = {
        manager: requestManager(query, headers['user-agent']),
        operation: 'Update' as const,
        ...(route.subresource ? { subresource: route.subresource } : {})
      }
      return sendJson(res, 200, present(store.write(type, next, current.metadata.resourceVersion, writer)))
    }
    case 'create':
      return sendJson(res, 201, review(type, route.version, body, headers['content-type'] ?? '', user, context.auth))
  }
}

const STRATEGIC = 'application/strategic-merge-patch+json'

/** A patched or applied object as the server accepts it: the name and namespace of the URL, string maps in metadata. */
function checkedPatch(patched: unknown, { name, namespace, type }: ResourceRoute): KubeObject {
  if (!isObject(patched) || !isObject(patched.metadata))
    throw badRequest('the patched object is not a Kubernetes object')
  const result = patched as unknown as KubeObject
  const expectedNamespace = type.namespaced ? namespace : undefined
  if (result.metadata.name !== name || result.metadata.namespace !== expectedNamespace) {
    throw badRequest(`the name of the object (${result.metadata.name}) does not match the name on the URL (${name})`)
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = result.metadata[field] as unknown
    if (map !== undefined && (!isObject(map) || Object.values(map).some((value) => typeof value !== 'string'))) {
      throw badRequest(`metadata.${field}: Invalid value: must be a map of string keys to string values`)
    }
  }
  return result
}

/**
 * Server-side apply (apply.ts): of ExternalSecrets only (the list keys of built-in types are not simulated). Creates
 * the object when it does not exist (201), as the real server does.
 */
function serveApply(
  context: HandlerContext,
  route: ResourceRoute,
  query: URLSearchParams,
  body: Buffer,
  res: ServerResponse
): void {
  const { store } = context
  const { type, name } = route
  const namespace = type.namespaced ? route.namespace : undefined
  if (type !== EXTERNAL_SECRETS || route.subresource)
    throw unsupportedPatch(APPLY_PATCH, [
      'application/json-patch+json',
      'application/merge-patch+json',
      ...(type.builtIn ? [STRATEGIC] : [])
    ])
  if (namespace && !store.get(NAMESPACES, undefined, namespace))
    throw notFound({ group: '', resource: 'namespaces', name: namespace })
  const current = store.get(type, namespace, name!)
  const applied = serverSideApply({
    live: current && presenter(route)(current),
    body: body.toString('utf8'),
    fieldManager: query.get('fieldManager'),
    force: query.get('force') === 'true',
    apiVersion: apiVersionOf(type, route.version)
  })
  applied.metadata.namespace ??= namespace
  const result = checkedPatch(applied, route)
  const next: KubeObject = {
    ...result,
    apiVersion: current?.apiVersion ?? apiVersionOf(type, route.version),
    kind: type.kind,
    status: current?.status
  }
  if (next.status === undefined) delete next.status
  applyDefaults(next)
  return sendJson(
    res,
    current ? 200 : 201,
    presenter(route)(store.write(type, next, current?.metadata.resourceVersion))
  )
}
/** JSON merge patch and JSON patch for every type; strategic merge patch for built-in types only, as on the real server. */
function applyPatch(type: ResourceType, object: KubeObject, contentType: string, body: string): Json {
  const mediaType = contentType.split(';')[0].trim()
  const accepted = ['application/json-patch+json', 'application/merge-patch+json', ...(type.builtIn ? [STRATEGIC] : [])]
  if (!accepted.includes(mediaType)) throw unsupportedPatch(mediaType, accepted)
  let patch: Json
  try {
    patch = JSON.parse(body) as Json
  } catch (error) {
    throw badRequest(`error decoding patch: ${error instanceof Error ? error.message : String(error)}`)
  }
  const document = clone(object) as unknown as Json
  if (mediaType === STRATEGIC) return strategicMergePatch(document, patch)
  return mediaType === 'application/merge-patch+json' ? mergePatch(document, patch) : jsonPatch(document, patch)
}

/** `limit` and `continue`: pages in key order; the token names the last key served. */
function paginate(
  items: KubeObject[],
  query: URLSearchParams,
  resourceVersion: string
): { page: KubeObject[]; metadata: Record<string, unknown> } {
  const after = decodeContinue(query.get('continue'))
  const rest = after === undefined ? items : items.filter((object) => keyOf(object) > after)
  const limit = Number(query.get('limit'))
  if (!(limit > 0) || rest.length <= limit) return { page: rest, metadata: { resourceVersion } }
  const page = rest.slice(0, limit)
  const token = Buffer.from(
    JSON.stringify({ v: 'meta.k8s.io/v1', rv: Number(resourceVersion), start: `${keyOf(page[page.length - 1])}\u0000` })
  ).toString('base64')
  return { page, metadata: { resourceVersion, continue: token, remainingItemCount: rest.length - limit } }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`
}

function decodeContinue(token: string | null): string | undefined {
  if (!token) return undefined
  try {
    const { start } = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { start: string }
    return start.endsWith('\u0000') ? start.slice(0, -1) : start
  } catch {
    throw badRequest(`continue key is not valid: ${token}`)
  }
}

/** Items of a built-in type's list carry no apiVersion and kind on the wire (a CRD's do). */
function withoutTypeMeta({ apiVersion: _apiVersion, kind: _kind, ...rest }: KubeObject): KubeObject {
  return rest as KubeObject
}
