/**
 * The project's own Kubernetes API server for tests, demos and benchmarks: loopback HTTP or HTTPS, JSON, real API
 * semantics (discovery, resourceVersions, watches, patches, Status errors, authentication, RBAC and the self reviews
 * behind `kubectl auth whoami` and `kubectl auth can-i`), with a simulation of the External Secrets Operator that
 * reads AWS Parameter Store (moto) and behaves as the real controller does.
 *
 *   const kube = await startKubeApiServer({ ssmEndpoint: moto.endpoint, versions: ['v1'], reconcileDelayMs: 50 })
 *   kube.url                          // http://127.0.0.1:PORT (https:// with tls)
 *   kube.ca                           // with tls: the CA (PEM) that signed the server's certificate
 *   kube.kubeconfig(context?, ns?)    // YAML: that server (its CA inline with tls, else insecure-skip-tls-verify),
 *                                     // a user with the bearer token
 *   kube.kubeconfig({ context?, namespace?, auth?: 'token' | 'client-cert' | 'exec' | 'none', token?, user?, groups?,
 *                     issuer?, caFile?, caData? })   // variants: see KubeconfigOptions
 *   kube.apply(objectsOrYamlStream)   // create or replace Namespaces, Secrets, ExternalSecrets, Events; returns them
 *   kube.get(kind, ns, name)          // kind as `ExternalSecret`, `externalsecrets` or `es`; a copy, or undefined
 *   kube.list(kind, ns?)              // copies, in namespace/name order
 *   kube.delete(kind, ns, name)       // also deletes the Secrets it owns (garbage collection)
 *   kube.resourceVersion              // the global resourceVersion counter
 *   kube.requests / clearRequests()   // request log: method, path, query, contentType, accept, body, status
 *   kube.faults.failNext({ status, method?, verb?, resource?, namespace?, name?, path?, count?, message? })
 *   kube.dropWatches()                // ends every open watch stream; returns how many
 *   await kube.restart(downMs?)       // stops listening, waits, listens on the same port; state and counter kept
 *   kube.operator.pause() / resume() / failWith(ns, name, message?) / clearFailure(ns, name) / idle()
 *   kube.operator.reconciles / reconcileDelayMs / retryBaseMs   // reconcile log; timings adjustable at run time
 *   await kube.close()
 *   createCertificateAuthority()      // an unrelated CA: its PEM as caData, or as the issuer of a client certificate
 *
 * Options: versions ([] = CRD not installed; the first is preferred), reconcileDelayMs (50), retryBaseMs (1000,
 * the operator's failure backoff base), historyLimit (1000 changes kept per type for watches), bookmarkIntervalMs,
 * rbac (rules; 403s for what none allows), authenticate (401s without valid credentials; default: with rbac), token,
 * user (the token's user), tls (HTTPS with a certificate for 127.0.0.1 and localhost from a CA made at start; the
 * server accepts client certificates of that CA: CN the user, O the groups), port, region. The operator runs only
 * with an ssmEndpoint and at least one version. Namespaces: default and kube-system exist; apply creates the
 * namespaces of the objects it is given; any other namespace is a 404.
 */
import { X509Certificate } from 'node:crypto'
import { createServer, type RequestListener, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { parseAllDocuments } from 'yaml'
import type { RbacRule } from './auth.ts'
import { Discovery } from './discovery.ts'
import { applyDefaults } from './externalsecret.ts'
import { Faults } from './faults.ts'
import { createHandler, type RequestRecord } from './handler.ts'
import { clone, isObject, type KubeObject } from './json.ts'
import { kubeconfigFor, type KubeconfigOptions } from './kubeconfig.ts'
import { Operator } from './operator.ts'
import { ssmSource } from './provider.ts'
import { createRecorder } from './recorder.ts'
import { apiVersionOf, ES_GROUP, EXTERNAL_SECRETS, NAMESPACES, SECRETS, typeNamed, type ResourceType } from './resources.ts'
import { Store } from './store.ts'
import { createCertificateAuthority, type CertificateAuthority } from './tls.ts'
import { Watches } from './watch.ts'

export type { RbacRule } from './auth.ts'
export type { FaultSpec } from './faults.ts'
export type { RequestRecord } from './handler.ts'
export type { KubeObject } from './json.ts'
export type { KubeconfigOptions } from './kubeconfig.ts'
export type { ReconcileRecord } from './operator.ts'
export { createCertificateAuthority, type CertificateAuthority, type KeyPair } from './tls.ts'

export interface KubeApiServerOptions {
  /** The Parameter Store endpoint the operator reads (moto). */
  ssmEndpoint?: string
  region?: string
  /** external-secrets.io versions served, preferred first. Default ['v1']; [] means the CRD is not installed. */
  versions?: string[]
  reconcileDelayMs?: number
  retryBaseMs?: number
  historyLimit?: number
  bookmarkIntervalMs?: number
  rbac?: RbacRule[]
  /** Whether a request needs valid credentials (a client certificate of the server's CA, or the token), else 401. Default: with rbac. */
  authenticate?: boolean
  token?: string
  /** The token's user (default system:serviceaccount:ci:deployer). */
  user?: string
  /** HTTPS, with a certificate for 127.0.0.1 and localhost signed by a CA made at start. */
  tls?: boolean
  port?: number
}

export type OperatorControl = Pick<Operator, 'pause' | 'resume' | 'failWith' | 'clearFailure' | 'idle' | 'reconciles' | 'reconcileDelayMs' | 'retryBaseMs'>

export interface KubeApiServer {
  readonly url: string
  readonly port: number
  readonly token: string
  /** With tls, the CA (PEM) of the server's certificate and of the client certificates it accepts. */
  readonly ca: string | undefined
  readonly resourceVersion: number
  readonly requests: readonly RequestRecord[]
  readonly faults: Faults
  readonly operator: OperatorControl
  kubeconfig(context?: string, namespace?: string): string
  kubeconfig(options: KubeconfigOptions): string
  apply(input: string | KubeObject | KubeObject[]): KubeObject[]
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined
  list(kind: string, namespace?: string): KubeObject[]
  delete(kind: string, namespace: string | undefined, name: string): KubeObject | undefined
  clearRequests(): void
  dropWatches(): number
  restart(downMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const versions = options.versions ?? ['v1']
  const token = options.token ?? 'zerotouch-test-token'
  const user = options.user ?? 'system:serviceaccount:ci:deployer'
  const store = new Store(options.historyLimit ?? 1000)
  const watches = new Watches(store, options.bookmarkIntervalMs ?? 60_000)
  const faults = new Faults()
  const requests: RequestRecord[] = []
  const ca = options.tls ? createCertificateAuthority() : undefined
  let port = options.port ?? 0
  const handler = createHandler({
    store,
    discovery: new Discovery(versions),
    watches,
    faults,
    auth: { token, user, rbac: options.rbac, required: options.authenticate ?? options.rbac !== undefined, clientCa: ca && new X509Certificate(ca.cert) },
    requests,
    serverAddress: () => `127.0.0.1:${port}`
  })
  const source = options.ssmEndpoint && versions.length > 0 ? ssmSource(options.ssmEndpoint, options.region ?? 'us-east-1') : undefined
  const operator =
    source &&
    new Operator({
      store,
      source,
      recorder: createRecorder(store, 'external-secrets'),
      reconcileDelayMs: options.reconcileDelayMs ?? 50,
      retryBaseMs: options.retryBaseMs ?? 1000
    })

  const typeOf = (kind: string): ResourceType => {
    const type = typeNamed(kind)
    if (!type || (type === EXTERNAL_SECRETS && versions.length === 0)) throw new Error(`the server doesn't have a resource type "${kind}"`)
    return type
  }
  const ensureNamespace = (name: string) => {
    if (!store.get(NAMESPACES, undefined, name)) store.write(NAMESPACES, withNamespaceDefaults({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }))
  }
  ensureNamespace('default')
  ensureNamespace('kube-system')

  const server = serverFor(ca, (req, res) => void handler(req, res))
  await listen(server, port)
  port = (server.address() as AddressInfo).port
  const url = `${ca ? 'https' : 'http'}://127.0.0.1:${port}`

  return {
    url,
    port,
    token,
    ca: ca?.cert,
    requests,
    faults,
    get resourceVersion() {
      return store.resourceVersion
    },
    get operator(): OperatorControl {
      if (!operator) throw new Error('the operator runs only with an ssmEndpoint and at least one served external-secrets.io version')
      return operator
    },
    kubeconfig: (contextOrOptions?: string | KubeconfigOptions, namespace?: string) =>
      kubeconfigFor({ url, token, user, ca }, typeof contextOrOptions === 'object' ? contextOrOptions : { context: contextOrOptions, namespace }),
    apply(input) {
      return documentsOf(input).map((document) => {
        const type = typeOf(document.kind)
        const object = prepare(type, document, versions, ensureNamespace)
        const existing = store.get(type, object.metadata.namespace, object.metadata.name)
        if (existing?.status !== undefined && object.status === undefined) object.status = existing.status
        return store.write(type, object)
      })
    },
    get: (kind, namespace, name) => store.get(typeOf(kind), namespace, name),
    list: (kind, namespace) => store.list(typeOf(kind), namespace),
    delete(kind, namespace, name) {
      const deleted = store.delete(typeOf(kind), namespace, name)
      for (const secret of deleted && namespace ? store.list(SECRETS, namespace) : []) {
        if (secret.metadata.ownerReferences?.some((owner) => owner.uid === deleted?.metadata.uid)) store.delete(SECRETS, namespace, secret.metadata.name)
      }
      return deleted
    },
    clearRequests: () => void requests.splice(0),
    dropWatches: () => watches.dropAll(),
    async restart(downMs = 0) {
      await stop(server)
      await new Promise((resolve) => setTimeout(resolve, downMs))
      await listen(server, port)
    },
    async close() {
      await operator?.stop()
      watches.dropAll()
      await stop(server)
      source?.close()
    }
  }
}

/** Plain HTTP, or HTTPS that sends its certificate alone (not the CA) and asks for client certificates (authentication checks them). */
function serverFor(ca: CertificateAuthority | undefined, listener: RequestListener): Server {
  if (!ca) return createServer(listener)
  const { cert, key } = ca.serverCertificate()
  return createHttpsServer({ cert, key, requestCert: true, rejectUnauthorized: false }, listener)
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

/** Objects from a YAML stream, an object or an array; `kind: List` is expanded. */
function documentsOf(input: string | KubeObject | KubeObject[]): KubeObject[] {
  const documents: unknown[] = typeof input === 'string' ? parseAllDocuments(input).map((document) => document.toJS() as unknown) : Array.isArray(input) ? input : [input]
  return documents
    .filter((document) => document !== null && document !== undefined)
    .flatMap((document) => {
      if (!isKubeObject(document)) throw new Error(`not a Kubernetes object: ${JSON.stringify(document)}`)
      return document.kind === 'List' ? documentsOf(document.items as KubeObject[]) : [document]
    })
}

/** What `apply` requires of a document: a kind and metadata (the rest is checked when the object is written). */
function isKubeObject(document: unknown): document is KubeObject {
  return isObject(document) && typeof document.kind === 'string' && isObject(document.metadata)
}

/** What the API server does on create: check the group, default the namespace, fill defaults and Secret data. */
function prepare(type: ResourceType, document: KubeObject, versions: readonly string[], ensureNamespace: (name: string) => void): KubeObject {
  const object = clone(document)
  const [group, version] = object.apiVersion?.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion]
  if (group !== type.group || (type.group === ES_GROUP && !versions.includes(version))) {
    throw new Error(`no matches for kind "${object.kind}" in version "${object.apiVersion}"`)
  }
  object.apiVersion = apiVersionOf(type, type === EXTERNAL_SECRETS ? versions[0] : 'v1')
  if (type.namespaced) {
    object.metadata.namespace ??= 'default'
    ensureNamespace(object.metadata.namespace)
  } else delete object.metadata.namespace
  if (type === EXTERNAL_SECRETS) applyDefaults(object)
  if (type === NAMESPACES) withNamespaceDefaults(object)
  if (type === SECRETS) {
    const { stringData, ...rest } = object
    const data = { ...(rest.data as Record<string, string> | undefined) }
    for (const [key, value] of Object.entries((stringData as Record<string, string> | undefined) ?? {})) data[key] = Buffer.from(value, 'utf8').toString('base64')
    return { ...rest, type: rest.type ?? 'Opaque', data }
  }
  return object
}

/** What the namespace controller and admission fill in: the name label, the kubernetes finalizer, phase Active. */
function withNamespaceDefaults(object: KubeObject): KubeObject {
  object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name }
  object.spec ??= { finalizers: ['kubernetes'] }
  object.status ??= { phase: 'Active' }
  return object
}
