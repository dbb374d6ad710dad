import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter } from 'node:path'
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  Observable,
  PatchStrategy,
  RequestContext,
  Watch,
  setHeaderOptions,
  type ConfigurationOptions,
  type CoreV1Event,
  type ObservableMiddleware
} from '@kubernetes/client-node'
import { httpStatusOf, KubeError, statusOf, toKubeError, type KubeCall } from './errors.js'
import { isYaml, kubeconfigCredentials, kubeconfigSource } from './kubeconfig.js'
import { InputProblem } from '../errors.js'
import { asArray, asRecord, isRecord } from '../json.js'
import type { ApiGroup, ApiResource, KubeClient, PatchKind } from './api.js'
import type { KubeEvent, Listed, ObjectMeta, WatchHandle, WatchHandlers } from './types.js'

export interface KubeApiOptions {
  /** Kubeconfig file content; empty: KUBECONFIG, ~/.kube/config, then in-cluster. */
  readonly kubeconfig: string
  /** Context to use; empty: the kubeconfig's current-context. */
  readonly context: string
  /** Registers a value with the log masking; called for the kubeconfig and each credential in it before use. */
  readonly mask: (value: string) => void
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly home?: string
  /** Server-side timeout of one watch request; the client gives up after 30 s of silence. */
  readonly watchTimeoutSeconds?: number
  /** How long one request (not a watch) may take before it counts as the server being unreachable. */
  readonly requestTimeoutMs?: number
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'
const PAGE_SIZE = 500
/**
 * The object's metadata only, as the API server serves it for this Accept header (PartialObjectMetadata,
 * k8s.io/apiserver pkg/endpoints/handlers/response.go): no spec, no data, so no Secret value reaches the action.
 */
const PARTIAL_OBJECT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1'
const PATCH: Record<PatchKind, PatchStrategy> = {
  merge: PatchStrategy.MergePatch,
  'strategic-merge': PatchStrategy.StrategicMergePatch
}

/**
 * The generic Kubernetes calls through @kubernetes/client-node (what is ESO's is in eso/api.ts, what
 * is a workload's in workloads/api.ts). Masks the kubeconfig and every credential in it before
 * anything reads it, then checks the context exists.
 */
export function createKubeClient(options: KubeApiOptions): KubeClient {
  const kc = loadKubeConfig(options)
  const server = kc.getCurrentCluster()?.server ?? ''
  const custom = kc.makeApiClient(CustomObjectsApi)
  const core = kc.makeApiClient(CoreV1Api)
  const authorization = kc.makeApiClient(AuthorizationV1Api)
  const watcher = new Watch(kc)
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 25
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000
  const timeout: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(AbortSignal.timeout(requestTimeoutMs))
      return new Observable(Promise.resolve(request))
    },
    post: (response) => new Observable(Promise.resolve(response))
  }
  const withTimeout: ConfigurationOptions<ObservableMiddleware> = {
    middleware: [timeout],
    middlewareMergeStrategy: 'append'
  }

  const call = async <T>(what: Omit<KubeCall, 'server'>, operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation()
    } catch (error) {
      throw toKubeError(error, { ...what, server })
    }
  }

  const watch = <T>(
    path: string,
    query: Record<string, string | boolean | number>,
    what: Omit<KubeCall, 'server'>,
    handlers: WatchHandlers<T>
  ): Promise<WatchHandle> => call(what, () => startWatch(path, query, what, handlers))

  const startWatch = async <T>(
    path: string,
    query: Record<string, string | boolean | number>,
    what: Omit<KubeCall, 'server'>,
    handlers: WatchHandlers<T>
  ): Promise<WatchHandle> => {
    let ended = false
    let stopped = false
    let established = false
    // The request's controller, once the watch has started; the stream may end before that.
    const request: { controller?: AbortController } = {}
    const end = (error?: unknown): void => {
      if (ended) return
      ended = true
      request.controller?.abort()
      if (!stopped) handlers.onEnd(error)
    }
    request.controller = await watcher.watch(
      path,
      { allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds, ...query },
      (type: string, object: unknown) => {
        if (ended) return
        if (type === 'ERROR') {
          const status = statusOf(object)
          end(toKubeError({ code: status?.code ?? 500, body: status }, { ...what, server }))
          return
        }
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED' || type === 'BOOKMARK') {
          handlers.onEvent({ type, object: object as T })
        }
      },
      (error: unknown) => {
        // A quiet watch that the client's inactivity timer cut is just a watch that ended.
        if (!error || (established && (error as Error).name === 'TimeoutError')) end()
        else end(toKubeError(error, { ...what, server }))
      }
    )
    established = true
    if (ended) request.controller.abort()
    return {
      stop: () => {
        stopped = true
        end()
      }
    }
  }

  /** Every page of a namespaced list, as plain JSON; what is not of the expected shape is left out. */
  const list = <T>(
    resource: ApiResource,
    namespace: string,
    is: (object: unknown) => object is T,
    labelSelector?: string
  ): Promise<Listed<T>> =>
    call({ verb: 'list', resource: resource.name, namespace }, () =>
      allPages(async (token) => {
        const query = { labelSelector, limit: PAGE_SIZE, _continue: token }
        // The core group has no /apis/<group> path: its lists are asked for as plain JSON at /api/v1.
        const page = asRecord(
          resource.group === ''
            ? await getJson(
                kc,
                server,
                collectionPath(resource, namespace),
                { labelSelector, limit: String(PAGE_SIZE), continue: token },
                'application/json',
                requestTimeoutMs
              )
            : await custom.listNamespacedCustomObject(
                { group: resource.group, version: resource.version, namespace, plural: resource.plural, ...query },
                withTimeout
              )
        )
        const metadata = asRecord(page?.metadata)
        const items = asArray(page?.items).map((item) => typed(resource, item))
        return {
          items: items.filter(is),
          resourceVersion: stringOf(metadata?.resourceVersion),
          next: stringOf(metadata?.continue)
        }
      })
    )

  const patch = <T>(
    resource: ApiResource,
    namespace: string | undefined,
    name: string,
    body: object,
    strategy: PatchStrategy,
    is: (object: unknown) => object is T
  ): Promise<T> =>
    call({ verb: 'patch', resource: resource.name, namespace }, async () => {
      const { group, version, plural } = resource
      const options = setHeaderOptions('Content-Type', strategy, withTimeout)
      const patched: unknown =
        namespace === undefined
          ? await custom.patchClusterCustomObject({ group, version, plural, name, body }, options)
          : await custom.patchNamespacedCustomObject({ group, version, namespace, plural, name, body }, options)
      if (!is(patched))
        throw new KubeError(
          'other',
          `patch ${resource.name} "${name}"${namespace === undefined ? '' : ` in namespace "${namespace}"`}: the API server did not answer with the object`
        )
      return patched
    })

  const watchObjects = <T>(
    resource: ApiResource,
    namespace: string,
    query: Record<string, string>,
    handlers: WatchHandlers<T>
  ): Promise<WatchHandle> =>
    watch(
      `/apis/${resource.group}/${resource.version}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`,
      query,
      { verb: 'watch', resource: resource.name, namespace },
      { ...handlers, onEvent: ({ type, object }) => handlers.onEvent({ type, object: typed(resource, object) as T }) }
    )

  return {
    apiGroup: (group) =>
      call({ verb: 'get', resource: `API group ${group}` }, async () => {
        const found = await getJson(kc, server, `/apis/${group}`, {}, 'application/json', requestTimeoutMs)
        return found === undefined ? undefined : (found as ApiGroup)
      }),

    apiResources: (group, version) =>
      call({ verb: 'get', resource: `API ${group}/${version}` }, async () => {
        const found = asRecord(
          await getJson(kc, server, `/apis/${group}/${version}`, {}, 'application/json', requestTimeoutMs)
        )
        if (!found) return undefined
        return asArray(found.resources)
          .map((resource) => stringOf(asRecord(resource)?.name) ?? '')
          .filter((name) => name !== '' && !name.includes('/'))
      }),

    metadata: (resource, namespace, name) =>
      call({ verb: 'get', resource: resource.name, namespace }, async () => {
        const found = asRecord(
          await getJson(
            kc,
            server,
            `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`,
            {},
            PARTIAL_OBJECT_METADATA,
            requestTimeoutMs
          )
        )
        const metadata = asRecord(found?.metadata)
        return metadata && typeof metadata.name === 'string' ? (metadata as unknown as ObjectMeta) : undefined
      }),

    list: (resource, namespace, is, labelSelector) => list(resource, namespace, is, labelSelector),

    get: (resource, namespace, name, is) =>
      call({ verb: 'get', resource: resource.name, namespace }, async () => {
        const where = { group: resource.group, version: resource.version, plural: resource.plural, name }
        try {
          const object = typed(
            resource,
            namespace === undefined
              ? await custom.getClusterCustomObject(where, withTimeout)
              : await custom.getNamespacedCustomObject({ ...where, namespace }, withTimeout)
          )
          return is(object) ? object : undefined
        } catch (error) {
          if (httpStatusOf(error) === 404) return undefined
          throw error
        }
      }),

    patch: (resource, namespace, name, body, kind, is) => patch(resource, namespace, name, body, PATCH[kind], is),

    watch: (resource, namespace, { resourceVersion, labelSelector }, handlers) =>
      watchObjects(
        resource,
        namespace,
        labelSelector === undefined ? { resourceVersion } : { labelSelector, resourceVersion },
        handlers
      ),

    listEvents: (namespace, fieldSelector) =>
      call({ verb: 'list', resource: 'events', namespace }, () =>
        allPages(async (token) => {
          const page = await core.listNamespacedEvent(
            { namespace, fieldSelector, limit: PAGE_SIZE, _continue: token },
            withTimeout
          )
          return {
            items: page.items.map(plainEvent),
            resourceVersion: page.metadata?.resourceVersion,
            next: page.metadata?._continue
          }
        })
      ),

    watchEvents: (namespace, fieldSelector, resourceVersion, handlers) =>
      watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        { fieldSelector, resourceVersion },
        { verb: 'watch', resource: 'events', namespace },
        handlers
      ),

    namespaceExists: (namespace) =>
      call({ verb: 'get', resource: 'namespaces' }, async () => {
        try {
          await core.readNamespace({ name: namespace }, withTimeout)
          return true
        } catch (error) {
          const status = httpStatusOf(error)
          if (status === 404) return false
          if (status === 403) return undefined
          throw error
        }
      }),

    accessAllowed: ({ verb, group, resource, namespace }) =>
      call({ verb: 'create', resource: 'selfsubjectaccessreviews.authorization.k8s.io' }, async () => {
        const review = await authorization.createSelfSubjectAccessReview(
          {
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: { resourceAttributes: { verb, group, resource, namespace } }
            }
          },
          withTimeout
        )
        return review.status?.allowed === true
      })
  }
}

/**
 * The item with its apiVersion and kind: the API server leaves them off the items of lists of built-in types
 * (kubernetes#3030).
 */
function typed(resource: ApiResource, item: unknown): unknown {
  return isRecord(item) ? { apiVersion: `${resource.group}/${resource.version}`, kind: resource.kind, ...item } : item
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** Follows a list's `continue` tokens; the first page's resourceVersion is the list's. */
async function allPages<T>(
  page: (token?: string) => Promise<{ items: T[]; resourceVersion?: string; next?: string }>
): Promise<Listed<T>> {
  const items: T[] = []
  let resourceVersion = ''
  let token: string | undefined
  do {
    const current = await page(token)
    items.push(...current.items)
    resourceVersion ||= current.resourceVersion ?? ''
    token = current.next || undefined
  } while (token)
  return { items, resourceVersion }
}

/**
 * Loads the kubeconfig from the first source that has one, masking its content and credentials
 * before anything parses it for use, and selects the context. The one place the kubeconfig is read
 * and checked; a problem with it is an InputProblem naming `kubeconfig` or `kube-context`, never
 * quoting the content.
 */
export function loadKubeConfig(options: KubeApiOptions): KubeConfig {
  const env = options.env ?? process.env
  const source = kubeconfigSource(options.kubeconfig, env, options.home ?? env.HOME ?? homedir(), existsSync, delimiter)
  const kc = new KubeConfig()
  switch (source.kind) {
    case 'none':
      throw new InputProblem(
        'kubeconfig',
        'no kubeconfig: set the kubeconfig input (the file content, e.g. from a secret), or KUBECONFIG, or provide ~/.kube/config, or run the job inside the cluster'
      )
    case 'in-cluster':
      if (options.context)
        throw new InputProblem(
          'kube-context',
          `"${options.context}" cannot be used: there is no kubeconfig, only the in-cluster service account`
        )
      if (existsSync(SERVICE_ACCOUNT_TOKEN)) options.mask(readFileSync(SERVICE_ACCOUNT_TOKEN, 'utf8').trim())
      readingKubeconfig(() => kc.loadFromCluster())
      break
    case 'content':
      loadMasked(kc, [{ content: source.content, what: 'the input' }], options.mask)
      break
    case 'files':
      loadMasked(
        kc,
        source.files.map((file) => ({ content: readFileSync(file, 'utf8'), what: `KUBECONFIG file ${file}`, file })),
        options.mask
      )
      break
  }
  maskTokenFiles(kc, options.mask)
  selectContext(kc, options.context)
  return allowPlainHttp(kc)
}

/** One kubeconfig document: a file's (its relative paths are relative to its folder) or the input's. */
interface KubeconfigDocument {
  readonly content: string
  /** For messages: `the input`, `KUBECONFIG file /path`. */
  readonly what: string
  readonly file?: string
}

/**
 * Masks each document, checks it is YAML (a parser's error would quote it), then loads them merged, the first winning.
 */
function loadMasked(kc: KubeConfig, documents: readonly KubeconfigDocument[], mask: (value: string) => void): void {
  for (const { content, what } of documents) {
    if (content.trim()) mask(content)
    kubeconfigCredentials(content).forEach(mask)
    if (!isYaml(content)) throw new InputProblem('kubeconfig', `${what} is not valid YAML`)
  }
  readingKubeconfig(() => {
    const loaded = documents.map(({ content, file }) => {
      const one = new KubeConfig()
      if (file) one.loadFromFile(file)
      else one.loadFromString(content)
      return one
    })
    // kubectl's merge of KUBECONFIG: the first file to name a cluster, user or context, or to set current-context,
    // wins.
    kc.loadFromOptions({
      clusters: firstByName(loaded.flatMap((one) => one.getClusters())),
      users: firstByName(loaded.flatMap((one) => one.getUsers())),
      contexts: firstByName(loaded.flatMap((one) => one.getContexts())),
      currentContext: loaded.map((one) => one.getCurrentContext()).find(Boolean) ?? ''
    })
  })
}

function firstByName<T extends { readonly name: string }>(items: readonly T[]): T[] {
  const first = new Map<string, T>()
  for (const item of items) if (!first.has(item.name)) first.set(item.name, item)
  return [...first.values()]
}

function readingKubeconfig(load: () => void): void {
  try {
    load()
  } catch (error) {
    throw new InputProblem('kubeconfig', `cannot be read: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * A plain http:// server (`kubectl proxy`, a local test server) has no TLS to verify: kubectl talks
 * to it as it is, but client-node refuses it unless the cluster skips TLS verification. Say so for
 * those clusters only; https:// clusters keep their verification.
 */
function allowPlainHttp(kc: KubeConfig): KubeConfig {
  if (!kc.getClusters().some((cluster) => cluster.server.startsWith('http://') && !cluster.skipTLSVerify)) return kc
  const plain = new KubeConfig()
  plain.loadFromOptions({
    clusters: kc
      .getClusters()
      .map((cluster) => (cluster.server.startsWith('http://') ? { ...cluster, skipTLSVerify: true } : cluster)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext()
  })
  return plain
}

/** Token files named by the kubeconfig (auth-provider tokenFile) hold credentials too. */
function maskTokenFiles(kc: KubeConfig, mask: (value: string) => void): void {
  for (const user of kc.getUsers()) {
    const file = (user.authProvider as { config?: { tokenFile?: unknown } } | undefined)?.config?.tokenFile
    if (typeof file === 'string' && existsSync(file)) {
      const token = readFileSync(file, 'utf8').trim()
      if (token) mask(token)
    }
  }
}

function selectContext(kc: KubeConfig, context: string): void {
  const names = kc.getContexts().map(({ name }) => name)
  const available = names.length ? names.map((name) => `"${name}"`).join(', ') : 'none'
  const wanted = context || kc.getCurrentContext()
  if (!wanted)
    throw new InputProblem(
      'kube-context',
      `the kubeconfig has no current-context: set kube-context to one of: ${available}`
    )
  if (!kc.getContextObject(wanted))
    throw new InputProblem(
      'kube-context',
      `the kubeconfig has no context "${wanted}"; available contexts: ${available}`
    )
  kc.setCurrentContext(wanted)
  if (!kc.getCurrentCluster()?.server) {
    throw new InputProblem(
      'kube-context',
      `context "${wanted}" names a cluster that the kubeconfig does not define (or it has no server address)`
    )
  }
}

/**
 * A GET answered with JSON: the parsed body, undefined on 404. Errors are thrown as the generated clients throw
 * them (an HTTP status and the body), for `call` to turn into a KubeError.
 */
async function getJson(
  kc: KubeConfig,
  server: string,
  path: string,
  query: Readonly<Record<string, string | undefined>>,
  accept: string,
  timeoutMs: number
): Promise<unknown> {
  const request = new RequestContext(`${server.replace(/\/+$/, '')}${path}`, HttpMethod.GET)
  for (const [name, value] of Object.entries(query)) if (value) request.setQueryParam(name, value)
  request.setHeaderParam('Accept', accept)
  request.setSignal(AbortSignal.timeout(timeoutMs))
  await kc.applySecurityAuthentication(request)
  const response = await new IsomorphicFetchHttpLibrary().send(request).toPromise()
  const text = await response.body.text()
  if (response.httpStatusCode === 404) return undefined
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299)
    throw new ApiException(response.httpStatusCode, `HTTP ${response.httpStatusCode}`, text, {})
  return JSON.parse(text) as unknown
}

/** `/api/v1/namespaces/<ns>/pods`, `/apis/apps/v1/namespaces/<ns>/deployments` */
function collectionPath(resource: ApiResource, namespace: string): string {
  const root = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`
  return `${root}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}`
}

function plainEvent(event: CoreV1Event): KubeEvent {
  const time = event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp
  return {
    metadata: {
      name: event.metadata.name ?? '',
      namespace: event.metadata.namespace,
      uid: event.metadata.uid,
      resourceVersion: event.metadata.resourceVersion
    },
    involvedObject: {
      kind: event.involvedObject.kind,
      name: event.involvedObject.name,
      namespace: event.involvedObject.namespace,
      uid: event.involvedObject.uid
    },
    reason: event.reason,
    message: event.message,
    type: event.type,
    count: event.count,
    lastTimestamp: time instanceof Date ? time.toISOString() : time
  }
}
