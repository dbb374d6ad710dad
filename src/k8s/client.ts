import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter } from 'node:path'
import {
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
import { KubeError, statusOf, toKubeError, type KubeCall } from './errors.js'
import { kubeconfigCredentials, kubeconfigSource } from './kubeconfig.js'
import {
  ESO_GROUP,
  ESO_PLURAL,
  KNOWN_VERSIONS,
  type ExternalSecret,
  type ExternalSecretsApi,
  type ExternalSecretsRef,
  type KubeEvent,
  type Listed,
  type WatchEventType,
  type WatchHandle,
  type WatchHandlers
} from './types.js'

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
const ES_RESOURCE = `${ESO_PLURAL}.${ESO_GROUP}`
const EVENT_SELECTOR = 'involvedObject.kind=ExternalSecret'
const PAGE_SIZE = 500

/**
 * The sync phase's Kubernetes calls through @kubernetes/client-node. Masks the kubeconfig and
 * every credential in it before anything reads it, then checks the context exists.
 */
export function createKubeApi(options: KubeApiOptions): ExternalSecretsApi {
  const kc = loadKubeConfig(options)
  const server = kc.getCurrentCluster()?.server ?? ''
  const custom = kc.makeApiClient(CustomObjectsApi)
  const core = kc.makeApiClient(CoreV1Api)
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
  const withTimeout: ConfigurationOptions<ObservableMiddleware> = { middleware: [timeout], middlewareMergeStrategy: 'append' }

  const call = async <T>(what: Omit<KubeCall, 'server'>, operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation()
    } catch (error) {
      throw toKubeError(error, { ...what, server })
    }
  }

  const watch = <T>(path: string, query: Record<string, string | boolean | number>, what: Omit<KubeCall, 'server'>, handlers: WatchHandlers<T>): Promise<WatchHandle> =>
    call(what, () => startWatch(path, query, what, handlers))

  const startWatch = async <T>(path: string, query: Record<string, string | boolean | number>, what: Omit<KubeCall, 'server'>, handlers: WatchHandlers<T>): Promise<WatchHandle> => {
    let ended = false
    let stopped = false
    let established = false
    let controller: AbortController | undefined
    const end = (error?: unknown): void => {
      if (ended) return
      ended = true
      controller?.abort()
      if (!stopped) handlers.onEnd(error)
    }
    controller = await watcher.watch(
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
          handlers.onEvent({ type: type as WatchEventType, object: object as T })
        }
      },
      (error: unknown) => {
        // A quiet watch that the client's inactivity timer cut is just a watch that ended.
        if (!error || (established && (error as Error).name === 'TimeoutError')) end()
        else end(toKubeError(error, { ...what, server }))
      }
    )
    established = true
    if (ended) controller.abort()
    return {
      stop: () => {
        stopped = true
        end()
      }
    }
  }

  return {
    discoverVersion: () => call({ verb: 'get', resource: `API group ${ESO_GROUP}` }, () => discoverVersion(kc, server, requestTimeoutMs)),

    listExternalSecrets: (ref) =>
      call({ verb: 'list', resource: ES_RESOURCE, namespace: ref.namespace }, () =>
        allPages(async (token) => {
          const page = (await custom.listNamespacedCustomObject(
            { group: ESO_GROUP, version: ref.version, namespace: ref.namespace, plural: ESO_PLURAL, labelSelector: ref.labelSelector, limit: PAGE_SIZE, _continue: token },
            withTimeout
          )) as { items?: ExternalSecret[]; metadata?: { resourceVersion?: string; continue?: string } }
          return { items: page.items ?? [], resourceVersion: page.metadata?.resourceVersion, next: page.metadata?.continue }
        })
      ),

    patchAnnotation: (ref, name, key, value) =>
      call({ verb: 'patch', resource: ES_RESOURCE, namespace: ref.namespace }, async () => {
        const patched = await custom.patchNamespacedCustomObject(
          { group: ESO_GROUP, version: ref.version, namespace: ref.namespace, plural: ESO_PLURAL, name, body: { metadata: { annotations: { [key]: value } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch, withTimeout)
        )
        return patched as ExternalSecret
      }),

    listEvents: (namespace) =>
      call({ verb: 'list', resource: 'events', namespace }, () =>
        allPages(async (token) => {
          const page = await core.listNamespacedEvent({ namespace, fieldSelector: EVENT_SELECTOR, limit: PAGE_SIZE, _continue: token }, withTimeout)
          return { items: page.items.map(plainEvent), resourceVersion: page.metadata?.resourceVersion, next: page.metadata?._continue }
        })
      ),

    watchExternalSecrets: (ref: ExternalSecretsRef, resourceVersion, handlers) =>
      watch(
        `/apis/${ESO_GROUP}/${ref.version}/namespaces/${encodeURIComponent(ref.namespace)}/${ESO_PLURAL}`,
        { labelSelector: ref.labelSelector, resourceVersion },
        { verb: 'watch', resource: ES_RESOURCE, namespace: ref.namespace },
        handlers
      ),

    watchEvents: (namespace, resourceVersion, handlers) =>
      watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        { fieldSelector: EVENT_SELECTOR, resourceVersion },
        { verb: 'watch', resource: 'events', namespace },
        handlers
      )
  }
}

/** Follows a list's `continue` tokens; the first page's resourceVersion is the list's. */
async function allPages<T>(page: (token?: string) => Promise<{ items: T[]; resourceVersion?: string; next?: string }>): Promise<Listed<T>> {
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

/** Loads the kubeconfig from the first source that has one, masking its credentials first. */
export function loadKubeConfig(options: KubeApiOptions): KubeConfig {
  const env = options.env ?? process.env
  const source = kubeconfigSource(options.kubeconfig, env, options.home ?? env.HOME ?? homedir(), existsSync, delimiter)
  const kc = new KubeConfig()
  const maskContent = (content: string): void => {
    if (content.trim()) options.mask(content)
    kubeconfigCredentials(content).forEach(options.mask)
  }
  try {
    switch (source.kind) {
      case 'content':
        maskContent(source.content)
        kc.loadFromString(source.content)
        break
      case 'files': {
        source.files.forEach((file) => maskContent(readFileSync(file, 'utf8')))
        kc.loadFromFile(source.files[0])
        for (const file of source.files.slice(1)) {
          const more = new KubeConfig()
          more.loadFromFile(file)
          kc.mergeConfig(more, true)
        }
        break
      }
      case 'in-cluster':
        if (existsSync(SERVICE_ACCOUNT_TOKEN)) options.mask(readFileSync(SERVICE_ACCOUNT_TOKEN, 'utf8').trim())
        kc.loadFromCluster()
        break
      case 'none':
        throw new KubeError(
          'config',
          'no kubeconfig: set the kubeconfig input (the file content, e.g. from a secret), or KUBECONFIG, or provide ~/.kube/config, or run the job inside the cluster'
        )
    }
  } catch (error) {
    if (error instanceof KubeError) throw error
    throw new KubeError('config', `the kubeconfig cannot be read: ${(error as Error).message}`)
  }
  maskTokenFiles(kc, options.mask)
  selectContext(kc, options.context)
  return allowPlainHttp(kc)
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
    clusters: kc.getClusters().map((cluster) => (cluster.server.startsWith('http://') ? { ...cluster, skipTLSVerify: true } : cluster)),
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
  if (context) {
    if (!kc.getContextObject(context)) {
      throw new KubeError('config', `kube-context: the kubeconfig has no context "${context}"; available contexts: ${available}`)
    }
    kc.setCurrentContext(context)
  } else if (!kc.getCurrentContext() || !kc.getContextObject(kc.getCurrentContext())) {
    throw new KubeError('config', `the kubeconfig has no current-context: set kube-context to one of: ${available}`)
  }
  const cluster = kc.getCurrentCluster()
  if (!cluster?.server) {
    throw new KubeError('config', `context "${kc.getCurrentContext()}" names a cluster that the kubeconfig does not define (or it has no server address)`)
  }
}

interface ApiGroup {
  readonly versions?: ReadonlyArray<{ readonly version?: string }>
  readonly preferredVersion?: { readonly version?: string }
}

/** GET /apis/external-secrets.io: the preferred version, if it is one whose fields the phase knows. */
async function discoverVersion(kc: KubeConfig, server: string, timeoutMs: number): Promise<string> {
  const request = new RequestContext(`${server.replace(/\/+$/, '')}/apis/${ESO_GROUP}`, HttpMethod.GET)
  request.setHeaderParam('Accept', 'application/json')
  request.setSignal(AbortSignal.timeout(timeoutMs))
  await kc.applySecurityAuthentication(request)
  const response = await new IsomorphicFetchHttpLibrary().send(request).toPromise()
  const text = await response.body.text()
  if (response.httpStatusCode === 404) throw missingCrd()
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) throw { code: response.httpStatusCode, body: text }
  const group = JSON.parse(text) as ApiGroup
  return chooseVersion(group)
}

/** The preferred version when the phase knows it, else the first known one served. */
export function chooseVersion(group: ApiGroup): string {
  const served = (group.versions ?? []).map(({ version }) => version ?? '')
  const preferred = group.preferredVersion?.version ?? ''
  if ((KNOWN_VERSIONS as readonly string[]).includes(preferred)) return preferred
  const known = KNOWN_VERSIONS.find((version) => served.includes(version))
  if (known) return known
  throw missingCrd(served)
}

export function missingCrd(served: readonly string[] = []): KubeError {
  const what = served.length
    ? `serves only ${served.map((version) => `${ESO_GROUP}/${version}`).join(', ')}, without ExternalSecret v1 or v1beta1`
    : `does not serve the ${ESO_GROUP} API`
  return new KubeError(
    'missing-crd',
    `the cluster ${what}: the External Secrets Operator CRDs are not installed (or the kubeconfig points at the wrong cluster). Install the operator, or check kube-context.`
  )
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
