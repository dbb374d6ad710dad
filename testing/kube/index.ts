/**
 * The project's own Kubernetes API server for tests, demos and benchmarks: loopback HTTP or HTTPS, JSON, real API
 * semantics (discovery, resourceVersions, watches, patches, Status errors, authentication, RBAC and the self reviews
 * behind `kubectl auth whoami` and `kubectl auth can-i`), with a simulation of the External Secrets Operator that
 * reads AWS Parameter Store (moto) and behaves as the real controller does, and one of the workload controllers and
 * the kubelet (controllers.ts) that roll Deployments, StatefulSets and DaemonSets out as `kubectl rollout restart` and
 * `kubectl rollout status` expect (and, with `argoRollouts: true`, Argo Rollouts' Rollouts as `kubectl argo rollouts
 * restart` and `status` expect), and, with `reloader: true`, one of stakater/Reloader (reloader.ts: on a change of
 * a Secret's data it sets `STAKATER_<NAME>_SECRET` on the workloads annotated for it, which then roll out).
 *
 * Served: core/v1 namespaces, secrets, events, pods (get, list, watch); apps/v1 deployments (deploy), statefulsets
 * (sts), daemonsets (ds) (get, list, watch, patch: JSON merge, JSON patch and strategic merge patch; status
 * subresource), replicasets (rs) (get, list, watch); external-secrets.io externalsecrets (get, list, watch, patch;
 * status), clusterexternalsecrets (ces, cluster-scoped; get, list, watch, patch; status); with `argoRollouts: true`,
 * argoproj.io/v1alpha1 rollouts (ro) (get, list, watch, patch; status); server-side apply as `kubectl apply
 * --server-side` and Argo CD do it, creating the object when absent and recording each applier's fields in
 * metadata.managedFields: apply.ts. Workloads get the API server's defaults and a metadata.generation that counts
 * spec changes.
 *
 *   const kube = await startKubeApiServer({ ssmEndpoint: moto.endpoint, versions: ['v1'], reconcileDelayMs: 50 })
 *   kube.url                          // http://127.0.0.1:PORT (https:// with tls)
 *   kube.ca                           // with tls: the CA (PEM) that signed the server's certificate
 *   kube.kubeconfig(context?, ns?)    // YAML: that server (its CA inline with tls, else insecure-skip-tls-verify),
 *                                     // a user with the bearer token
 *   kube.kubeconfig({ context?, namespace?, auth?: 'token' | 'client-cert' | 'exec' | 'none', token?, user?, groups?,
 *                     issuer?, caFile?, caData? })   // variants: see KubeconfigOptions
 *   kube.apply(objectsOrYamlStream)   // create or replace Namespaces, Secrets, ExternalSecrets, Events, Deployments,
 *                                     // StatefulSets, DaemonSets, Pods; returns them (a replaced object keeps its status)
 *   kube.get(kind, ns, name)          // kind as `ExternalSecret`, `externalsecrets` or `es`; a copy, or undefined
 *   kube.list(kind, ns?)              // copies, in namespace/name order
 *   kube.delete(kind, ns, name)       // also deletes the Secrets it owns (garbage collection); a workload's
 *                                     // ReplicaSets and pods go too (the controllers' garbage collection)
 *   kube.resourceVersion              // the global resourceVersion counter
 *   kube.requests / clearRequests()   // request log: method, path, query, contentType, accept, body, status
 *   kube.faults.failNext({ status, method?, verb?, resource?, namespace?, name?, path?, count?, message? })
 *   kube.dropWatches()                // ends every open watch stream; returns how many
 *   await kube.restart(downMs?)       // stops listening, waits, listens on the same port; state and counter kept
 *   kube.operator.pause() / resume() / failWith(ns, name, message?) / clearFailure(ns, name) / idle()
 *   kube.operator.reconciles / reconcileDelayMs / retryBaseMs   // reconcile log; timings adjustable at run time
 *   kube.controllers.pause() / resume() / idle()   // the workload controllers and kubelet: one queue; idle once
 *                                     // nothing is queued and no pod is starting or stopping
 *   kube.controllers.failPods(ns, workloadOrPod) / clearFailure(ns, workloadOrPod)   // pods that start from now on
 *                                     // crash (CrashLoopBackOff, never ready: a Deployment then exceeds its progress
 *                                     // deadline); cleared, they restart and become ready
 *   kube.controllers.podsOf(kind, ns, name)   // 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Rollout': its pods
 *   kube.controllers.rollouts         // RolloutRecord[]: kind, namespace, name, revision, startedAt, finishedAt,
 *                                     // outcome 'complete' | 'progress-deadline-exceeded' | 'superseded'
 *   kube.controllers.podStartMs / podStopMs / secondMs / nodes   // adjustable at run time
 *   kube.clusterExternalSecrets.idle() / reconciles / delayMs   // the ClusterExternalSecret controller
 *                                     // (clusterexternalsecret.ts): with an external-secrets.io version served; it
 *                                     // resets the annotations of the ExternalSecrets it controls on each reconcile
 *   kube.reloader.pause() / resume() / idle()   // with `reloader: true`: Reloader's queue of Secret updates (its
 *                                     // data's SHA1 changed); idle once nothing is queued or being handled
 *   kube.reloader.reloads / delayMs   // ReloadRecord[]: namespace, secret, kind, name, container, envVar, sha (the
 *                                     // env var's value), generation (after the patch), at; delay adjustable
 *   reloaderEnvVarName(secret) / reloaderSecretSha(secret.data) / RELOADER_ANNOTATIONS   // Reloader's env var name,
 *                                     // its SHA1 of a Secret's (base64) data, its default annotation keys
 *   kube.podSecretData(ns, pod)       // what the pod read from Secrets when it started: secrets { '<secret>/<key>':
 *                                     // value }, env { container: { VAR: value } }, files { volume: { path: value } },
 *                                     // resourceVersions { secret: rv }, readAt; also on the pod as the annotation
 *                                     // SECRET_DATA_ANNOTATION (`zerotouch.test/secret-data`): { '<secret>/<key>':
 *                                     // secretValueHash(value) } (SHA-256 hex)
 *   await kube.close()
 *   createCertificateAuthority()      // an unrelated CA: its PEM as caData, or as the issuer of a client certificate
 *
 * Options: versions ([] = CRD not installed; the first is preferred), reconcileDelayMs (50), retryBaseMs (1000,
 * the operator's failure backoff base), historyLimit (1000 changes kept per type for watches), bookmarkIntervalMs,
 * rbac (rules; 403s for what none allows), authenticate (401s without valid credentials; default: with rbac), token,
 * user (the token's user), tls (HTTPS with a certificate for 127.0.0.1 and localhost from a CA made at start; the
 * server accepts client certificates of that CA: CN the user, O the groups), port, region; for the workloads:
 * controllers (true; false: workloads and pods keep the status they are applied with), podStartMs (50: creation to
 * Running and Ready), podStopMs (0: a deleted pod is gone at once; else Terminating that long), nodes (2: node-1,
 * node-2; a DaemonSet pod on each), secondMs (1000: how long a spec second lasts, for progressDeadlineSeconds);
 * argoRollouts (false: the Argo Rollouts CRD is not installed; true: served, and the Rollout controller runs with the
 * others), clusterExternalSecretDelayMs (10: from a change to the ClusterExternalSecret controller's reconcile),
 * reloader (false: Reloader is not installed; true: Reloader's defaults, see reloader.ts), reloaderDelayMs (50: from
 * a Secret's change to Reloader's patch, per queued change). Reloader's patch and the controllers' writes go to the
 * store, not through HTTP: they are not in `requests`. The operator runs only with an ssmEndpoint and at least one
 * version. Namespaces: default and kube-system exist; apply creates the namespaces of the objects it is given; any
 * other namespace is a 404.
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
import { ClusterExternalSecretController } from './clusterexternalsecret.ts'
import { Controllers } from './controllers.ts'
import { Operator } from './operator.ts'
import { Reloader } from './reloader.ts'
import type { PodSecretData } from './podsecrets.ts'
import { ssmSource } from './provider.ts'
import { createRecorder } from './recorder.ts'
import {
  apiVersionOf,
  ES_GROUP,
  EXTERNAL_SECRETS,
  NAMESPACES,
  PODS,
  ROLLOUTS,
  SECRETS,
  typeNamed,
  type ResourceType
} from './resources.ts'
import { Store } from './store.ts'
import { createCertificateAuthority, type CertificateAuthority } from './tls.ts'
import { Watches } from './watch.ts'
import { applyWorkloadDefaults, validateWorkload } from './workloads.ts'

export type { RbacRule } from './auth.ts'
export type { RolloutRecord, WorkloadKind } from './controllers.ts'
export { SECRET_DATA_ANNOTATION, secretValueHash, type PodSecretData } from './podsecrets.ts'
export type { Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod } from './workloads.ts'
export type { FaultSpec } from './faults.ts'
export type { RequestRecord } from './handler.ts'
export type { KubeObject } from './json.ts'
export type { KubeconfigOptions } from './kubeconfig.ts'
export type { ReconcileRecord } from './operator.ts'
export {
  RELOADER_ANNOTATIONS,
  envVarName as reloaderEnvVarName,
  secretDataSha as reloaderSecretSha,
  type ReloadRecord
} from './reloader.ts'
export { createCertificateAuthority, type CertificateAuthority, type KeyPair } from './tls.ts'

/**
 * A SecretStore (in `namespace`) or ClusterSecretStore of the AWS Parameter Store provider, with the `prefix` the
 * operator puts before every key (external-secrets apis/externalsecrets/v1/secretstore_aws_types.go).
 */
export function parameterStore({
  kind = 'ClusterSecretStore',
  name,
  namespace,
  prefix,
  version = 'v1'
}: {
  kind?: 'SecretStore' | 'ClusterSecretStore'
  name: string
  namespace?: string
  prefix?: string
  version?: string
}): KubeObject {
  return {
    apiVersion: `${ES_GROUP}/${version}`,
    kind,
    metadata: { name, ...(kind === 'SecretStore' && { namespace }) },
    spec: { provider: { aws: { service: 'ParameterStore', region: 'us-east-1', ...(prefix && { prefix }) } } }
  }
}

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
  /** Whether the workload controllers and the kubelet run (default true); without them workloads and pods keep the status they are applied with. */
  controllers?: boolean
  /** How long a pod takes from creation to Running and Ready (default 50). */
  podStartMs?: number
  /** How long a deleted pod stays Terminating (default 0: gone at once). */
  podStopMs?: number
  /** Nodes of the cluster (node-1...): DaemonSets run a pod on each (default 2). */
  nodes?: number
  /** How long one second of a spec lasts for the controllers (progressDeadlineSeconds); default 1000. */
  secondMs?: number
  /** Whether the stakater/Reloader simulation runs (default false: Reloader is not installed). */
  reloader?: boolean
  /** How long Reloader takes to act on a Secret's change (default 50). */
  reloaderDelayMs?: number
  /**
   * Whether the Argo Rollouts CRD is installed (default false): argoproj.io/v1alpha1 rollouts served, and the
   * workload controllers run the Rollout controller too.
   */
  argoRollouts?: boolean
  /** How long the ClusterExternalSecret controller takes to act on a change (default 10: before the operator's 50). */
  clusterExternalSecretDelayMs?: number
}

export type OperatorControl = Pick<
  Operator,
  'pause' | 'resume' | 'failWith' | 'clearFailure' | 'idle' | 'reconciles' | 'reconcileDelayMs' | 'retryBaseMs'
>

export type ControllersControl = Pick<
  Controllers,
  | 'pause'
  | 'resume'
  | 'idle'
  | 'failPods'
  | 'clearFailure'
  | 'podsOf'
  | 'rollouts'
  | 'podStartMs'
  | 'podStopMs'
  | 'secondMs'
  | 'nodes'
>

export type ReloaderControl = Pick<Reloader, 'pause' | 'resume' | 'idle' | 'reloads' | 'delayMs'>

export type ClusterExternalSecretControl = Pick<ClusterExternalSecretController, 'idle' | 'reconciles' | 'delayMs'>

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
  /** The workload controllers and kubelet (throws when started with `controllers: false`). */
  readonly controllers: ControllersControl
  /** The ClusterExternalSecret controller (with an external-secrets.io version served). */
  readonly clusterExternalSecrets: ClusterExternalSecretControl
  /** The stakater/Reloader simulation (throws unless started with `reloader: true`). */
  readonly reloader: ReloaderControl
  /** What the pod read from Secrets when it started (undefined before it started, or without the controllers). */
  podSecretData(namespace: string, pod: string): PodSecretData | undefined
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
    discovery: new Discovery(versions, options.argoRollouts ?? false),
    watches,
    faults,
    auth: {
      token,
      user,
      rbac: options.rbac,
      required: options.authenticate ?? options.rbac !== undefined,
      clientCa: ca && new X509Certificate(ca.cert)
    },
    requests,
    serverAddress: () => `127.0.0.1:${port}`
  })
  const source =
    options.ssmEndpoint && versions.length > 0
      ? ssmSource(options.ssmEndpoint, options.region ?? 'us-east-1')
      : undefined
  const operator =
    source &&
    new Operator({
      store,
      source,
      recorder: createRecorder(store, 'external-secrets'),
      reconcileDelayMs: options.reconcileDelayMs ?? 50,
      retryBaseMs: options.retryBaseMs ?? 1000
    })

  const controllers =
    options.controllers === false
      ? undefined
      : new Controllers({
          store,
          podStartMs: options.podStartMs ?? 50,
          podStopMs: options.podStopMs ?? 0,
          nodes: options.nodes ?? 2,
          secondMs: options.secondMs ?? 1000
        })

  const clusterExternalSecrets =
    versions.length > 0
      ? new ClusterExternalSecretController({
          store,
          version: versions[0],
          delayMs: options.clusterExternalSecretDelayMs ?? 10
        })
      : undefined

  const reloader = options.reloader
    ? new Reloader({
        store,
        recorder: createRecorder(store, 'reloader-secrets'),
        delayMs: options.reloaderDelayMs ?? 50
      })
    : undefined

  const typeOf = (kind: string): ResourceType => {
    const type = typeNamed(kind)
    if (!type || (type.group === ES_GROUP && versions.length === 0) || (type === ROLLOUTS && !options.argoRollouts))
      throw new Error(`the server doesn't have a resource type "${kind}"`)
    return type
  }
  const ensureNamespace = (name: string) => {
    if (!store.get(NAMESPACES, undefined, name))
      store.write(NAMESPACES, withNamespaceDefaults({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }))
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
      if (!operator)
        throw new Error(
          'the operator runs only with an ssmEndpoint and at least one served external-secrets.io version'
        )
      return operator
    },
    get controllers(): ControllersControl {
      if (!controllers) throw new Error('the workload controllers run only without `controllers: false`')
      return controllers
    },
    get clusterExternalSecrets(): ClusterExternalSecretControl {
      if (!clusterExternalSecrets)
        throw new Error('the ClusterExternalSecret controller runs only with an external-secrets.io version served')
      return clusterExternalSecrets
    },
    get reloader(): ReloaderControl {
      if (!reloader) throw new Error('the Reloader simulation runs only with `reloader: true`')
      return reloader
    },
    podSecretData: (namespace, pod) => controllers?.podSecretData(namespace, pod),
    kubeconfig: (contextOrOptions?: string | KubeconfigOptions, namespace?: string) =>
      kubeconfigFor(
        { url, token, user, ca },
        typeof contextOrOptions === 'object' ? contextOrOptions : { context: contextOrOptions, namespace }
      ),
    apply(input) {
      return documentsOf(input).map((document) => {
        const type = typeOf(document.kind)
        const object = prepare(type, document, versions, ensureNamespace)
        const existing = store.get(type, object.metadata.namespace, object.metadata.name)
        if (existing?.status !== undefined && object.status === undefined) object.status = existing.status
        // A new pod is Pending until the kubelet starts it.
        if (type === PODS) object.status ??= { phase: 'Pending', qosClass: 'BestEffort' }
        return store.write(type, object)
      })
    },
    get: (kind, namespace, name) => store.get(typeOf(kind), namespace, name),
    list: (kind, namespace) => store.list(typeOf(kind), namespace),
    delete(kind, namespace, name) {
      const deleted = store.delete(typeOf(kind), namespace, name)
      for (const secret of deleted && namespace ? store.list(SECRETS, namespace) : []) {
        if (secret.metadata.ownerReferences?.some((owner) => owner.uid === deleted?.metadata.uid))
          store.delete(SECRETS, namespace, secret.metadata.name)
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
      await controllers?.stop()
      await reloader?.stop()
      clusterExternalSecrets?.stop()
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
  const documents: unknown[] =
    typeof input === 'string'
      ? parseAllDocuments(input).map((document) => document.toJS() as unknown)
      : Array.isArray(input)
        ? input
        : [input]
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
function prepare(
  type: ResourceType,
  document: KubeObject,
  versions: readonly string[],
  ensureNamespace: (name: string) => void
): KubeObject {
  const object = clone(document)
  const [group, version] = object.apiVersion?.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion]
  if (
    group !== type.group ||
    (type.group === ES_GROUP && !versions.includes(version)) ||
    (type === ROLLOUTS && version !== 'v1alpha1')
  ) {
    throw new Error(`no matches for kind "${object.kind}" in version "${object.apiVersion}"`)
  }
  object.apiVersion = apiVersionOf(type, type.group === ES_GROUP ? versions[0] : type === ROLLOUTS ? 'v1alpha1' : 'v1')
  if (type.namespaced) {
    object.metadata.namespace ??= 'default'
    ensureNamespace(object.metadata.namespace)
  } else delete object.metadata.namespace
  if (type === EXTERNAL_SECRETS) applyDefaults(object)
  if (type === NAMESPACES) withNamespaceDefaults(object)
  applyWorkloadDefaults(type, object)
  validateWorkload(type, object)
  if (type === SECRETS) {
    const { stringData, ...rest } = object
    const data = { ...(rest.data as Record<string, string> | undefined) }
    for (const [key, value] of Object.entries((stringData as Record<string, string> | undefined) ?? {}))
      data[key] = Buffer.from(value, 'utf8').toString('base64')
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
