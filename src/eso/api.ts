import type { ApiGroup, ApiResource, KubeClient } from '../k8s/api.js'
import { KubeError, type Permission } from '../k8s/errors.js'
import type { KubeEvent, Listed, WatchHandle, WatchHandlers } from '../k8s/types.js'
import { resumableWatch, type ResumableWatch, type ResumableWatchOptions } from '../k8s/watch.js'
import {
  CES_KIND,
  CES_PLURAL,
  ESO_GROUP,
  ESO_PLURAL,
  findStore,
  isClusterExternalSecret,
  isExternalSecret,
  isSecretStore,
  sameStore,
  KNOWN_VERSIONS,
  SECRET_STORE_PLURALS,
  type ClusterExternalSecret,
  type ExternalSecret,
  type SecretStore,
  type StoreRef
} from './model.js'

/**
 * The ExternalSecret calls of the run (pre-flight, gate, sync), built on the generic client
 * (k8s/api.ts). Errors are KubeErrors.
 */

export interface ExternalSecretsRef {
  /** external-secrets.io version, from discoverVersion(). */
  readonly version: string
  readonly namespace: string
  /** Absent: every ExternalSecret of the namespace. */
  readonly labelSelector?: string
}

/**
 * The Kubernetes calls of the pre-flight, the gate and the sync phase. One watch is one HTTP request:
 * it ends, and the caller resumes it (see watchExternalSecrets below).
 */
export interface ExternalSecretsApi {
  /** The version of external-secrets.io the cluster prefers; a KubeError `missing-crd` when none is served. */
  discoverVersion(): Promise<string>
  listExternalSecrets(ref: ExternalSecretsRef): Promise<Listed<ExternalSecret>>
  /** A JSON merge patch setting one annotation; returns the object as patched (status included). */
  patchAnnotation(ref: ExternalSecretsRef, name: string, key: string, value: string): Promise<ExternalSecret>
  /** The SecretStore or ClusterSecretStore `ref` names (`get`); undefined when it does not exist. */
  getSecretStore(version: string, ref: StoreRef): Promise<SecretStore | undefined>
  /** The same on a (cluster-scoped) ClusterExternalSecret of the version `version`. */
  patchClusterExternalSecretAnnotation(
    version: string,
    name: string,
    key: string,
    value: string
  ): Promise<ClusterExternalSecret>
  /** Events in the namespace about ExternalSecrets. */
  listEvents(namespace: string): Promise<Listed<KubeEvent>>
  watchExternalSecrets(
    ref: ExternalSecretsRef,
    resourceVersion: string,
    handlers: WatchHandlers<ExternalSecret>
  ): Promise<WatchHandle>
  watchEvents(namespace: string, resourceVersion: string, handlers: WatchHandlers<KubeEvent>): Promise<WatchHandle>
  /**
   * Whether the namespace exists; undefined when the identity may not read namespaces (tenant Roles seldom grant it).
   */
  namespaceExists(namespace: string): Promise<boolean | undefined>
  /** A SelfSubjectAccessReview: whether the identity holds the permission. */
  accessAllowed(permission: Permission): Promise<boolean>
}

const EVENT_SELECTOR = 'involvedObject.kind=ExternalSecret'

function externalSecrets(version: string): ApiResource {
  return { group: ESO_GROUP, version, kind: 'ExternalSecret', plural: ESO_PLURAL, name: `${ESO_PLURAL}.${ESO_GROUP}` }
}

function secretStores(version: string, kind: StoreRef['kind']): ApiResource {
  const plural = SECRET_STORE_PLURALS[kind]
  return { group: ESO_GROUP, version, kind, plural, name: `${plural}.${ESO_GROUP}` }
}

export function externalSecretsApi(kube: KubeClient): ExternalSecretsApi {
  return {
    discoverVersion: async () => {
      const group = await kube.apiGroup(ESO_GROUP)
      if (!group) throw missingCrd()
      return chooseVersion(group)
    },
    listExternalSecrets: (ref) =>
      kube.list(externalSecrets(ref.version), ref.namespace, isExternalSecret, ref.labelSelector),
    patchAnnotation: (ref, name, key, value) =>
      kube.patch(
        externalSecrets(ref.version),
        ref.namespace,
        name,
        { metadata: { annotations: { [key]: value } } },
        'merge',
        isExternalSecret
      ),
    getSecretStore: (version, ref) =>
      kube.get(
        secretStores(version, ref.kind),
        ref.kind === 'SecretStore' ? ref.namespace : undefined,
        ref.name,
        isSecretStore
      ),
    patchClusterExternalSecretAnnotation: (version, name, key, value) =>
      kube.patch(
        { group: ESO_GROUP, version, kind: CES_KIND, plural: CES_PLURAL, name: `${CES_PLURAL}.${ESO_GROUP}` },
        undefined,
        name,
        { metadata: { annotations: { [key]: value } } },
        'merge',
        isClusterExternalSecret
      ),
    listEvents: (namespace) => kube.listEvents(namespace, EVENT_SELECTOR),
    watchExternalSecrets: (ref, resourceVersion, handlers) =>
      kube.watch(
        externalSecrets(ref.version),
        ref.namespace,
        { labelSelector: ref.labelSelector, resourceVersion },
        handlers
      ),
    watchEvents: (namespace, resourceVersion, handlers) =>
      kube.watchEvents(namespace, EVENT_SELECTOR, resourceVersion, handlers),
    namespaceExists: (namespace) => kube.namespaceExists(namespace),
    accessAllowed: (permission) => kube.accessAllowed(permission)
  }
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

/** What a watch of ExternalSecrets hands its user. */
export type ExternalSecretsHandlers = Pick<ResumableWatchOptions<ExternalSecret>, 'onEvent' | 'onRelisted' | 'onFatal'>

/** A resumable watch of the ExternalSecrets `ref` selects, from the resourceVersion of their list. */
export function watchExternalSecrets(
  kube: ExternalSecretsApi,
  { ref, resourceVersion }: { readonly ref: ExternalSecretsRef; readonly resourceVersion: string },
  sleep: ResumableWatchOptions<ExternalSecret>['sleep'],
  handlers: ExternalSecretsHandlers
): ResumableWatch {
  return resumableWatch<ExternalSecret>({
    ...handlers,
    resourceVersion,
    start: (rv, watchHandlers) => kube.watchExternalSecrets(ref, rv, watchHandlers),
    relist: () => kube.listExternalSecrets(ref),
    sleep
  })
}

/**
 * The stores `refs` name that are not among `known`, each read once (one `get` each; stores are few),
 * with those known: the stores the operator reads the ExternalSecrets through. One that does not
 * exist is left out (see missingStores).
 */
export async function readStores(
  kube: ExternalSecretsApi,
  version: string,
  refs: readonly StoreRef[],
  known: readonly SecretStore[] = []
): Promise<SecretStore[]> {
  const unknown = refs.filter(
    (ref, index) => !findStore(ref, known) && refs.findIndex((other) => sameStore(ref, other)) === index
  )
  const read = await Promise.all(unknown.map((ref) => kube.getSecretStore(version, ref)))
  return [...known, ...read.flatMap((store) => store ?? [])]
}
