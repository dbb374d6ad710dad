/**
 * A simulation of stakater/Reloader as its default settings run it (env-vars strategy, no --auto-reload-all, no
 * reload on create or delete, the default annotation names), for Secrets only. Like the operator and the workload
 * controllers it works on the store directly, as the real one works through its informers and client (its patch
 * is therefore not in the request log: `reloads` records what it did).
 *
 * - Watch (internal/pkg/controller): a Secret update is queued when the SHA1 of its data changed
 *   (util.GetSHAfromSecret: the `key=value` pairs of the decoded data, sorted, joined with `;`); a new or deleted
 *   Secret queues nothing. One update at a time, each `delayMs` after the previous one (its informer and queue).
 * - Which workloads (pkg/common ShouldReload), for each Deployment, then DaemonSet, then StatefulSet of the Secret's
 *   namespace, in name order: none when the Secret has `reloader.stakater.com/ignore: "true"`, nor when the
 *   workload's own `secrets.exclude.reloader.stakater.com/reload` lists its name (comma list, exact names). The
 *   annotations are the workload's own when they hold `secret.reloader.stakater.com/reload`,
 *   `reloader.stakater.com/auto`, `secret.reloader.stakater.com/auto` or `reloader.stakater.com/search`; else its
 *   pod template's. `secret.reloader.stakater.com/reload` names it (each comma-separated entry, trimmed, as the
 *   regular expression `^entry$`; one that does not compile is skipped): reload. Search true and the Secret's
 *   `reloader.stakater.com/match` true, or either auto annotation true by Go's strconv.ParseBool: reload when a
 *   container uses the Secret.
 * - Which container (internal/pkg/handler/upgrade.go getContainerUsingResource): the first container mounting the
 *   first volume that names the Secret (secret or projected); else the first container whose env or envFrom names
 *   it; a use by an init container only means the first container; none found: the first container for a
 *   `reload` match, and no reload in auto and search modes.
 * - The env-vars strategy (updateContainerEnvVars): the env var `STAKATER_<NAME>_SECRET` (envVarName) of that one
 *   container set to the SHA1; already that value: nothing is patched. The patch is Reloader's strategic merge
 *   patch `{"spec":{"template":{"spec":{"containers":[{"name":…,"env":[{"name":…,"value":…}]}]}}}}`; the template
 *   changed, the generation goes up and the workload controllers roll it out. A Normal Event `Reloaded` on the
 *   workload (component reloader-secrets), as Reloader records it.
 *
 * Not simulated: ConfigMaps, SecretProviderClasses, CronJobs, Jobs, Argo Rollouts, the annotations strategy,
 * `deployment.reloader.stakater.com/pause-period`, webhooks, and every command-line flag.
 */
import { createHash } from 'node:crypto'
import { clone, type Json, type KubeObject } from './json.ts'
import type { Recorder } from './recorder.ts'
import { DAEMONSETS, DEPLOYMENTS, SECRETS, STATEFULSETS, type ResourceType } from './resources.ts'
import type { Change, Store } from './store.ts'
import { strategicMergePatch } from './strategic.ts'
import { applyWorkloadDefaults, validateWorkload, type Container, type PodTemplate, type Volume } from './workloads.ts'

/** Reloader's default annotation keys (internal/pkg/util ConfigureReloaderFlags). */
export const RELOADER_ANNOTATIONS = {
  auto: 'reloader.stakater.com/auto',
  secretAuto: 'secret.reloader.stakater.com/auto',
  secretReload: 'secret.reloader.stakater.com/reload',
  search: 'reloader.stakater.com/search',
  match: 'reloader.stakater.com/match',
  ignore: 'reloader.stakater.com/ignore',
  secretsExclude: 'secrets.exclude.reloader.stakater.com/reload'
} as const

/** What Reloader did to one workload for one Secret change. */
export interface ReloadRecord {
  readonly namespace: string
  readonly secret: string
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet'
  readonly name: string
  /** The container the env var was set on. */
  readonly container: string
  readonly envVar: string
  /** The SHA1 of the Secret's data: the env var's value. */
  readonly sha: string
  /** The workload's generation after the patch. */
  readonly generation: number
  readonly at: number
}

export interface ReloaderOptions {
  store: Store
  recorder: Recorder
  delayMs: number
}

interface Queued {
  readonly namespace: string
  readonly secret: string
  readonly annotations: Readonly<Record<string, string>>
  readonly sha: string
}

/** A container as Reloader reads it: volumeMounts too. */
type MountingContainer = Container & { volumeMounts?: { name: string; mountPath?: string }[] }

const KINDS: readonly ResourceType[] = [DEPLOYMENTS, DAEMONSETS, STATEFULSETS]
const OPT_IN = [
  RELOADER_ANNOTATIONS.secretReload,
  RELOADER_ANNOTATIONS.auto,
  RELOADER_ANNOTATIONS.secretAuto,
  RELOADER_ANNOTATIONS.search
]
/** What Go's strconv.ParseBool reads as true. */
const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])

export class Reloader {
  /** How long each queued Secret update waits before Reloader acts on it. */
  delayMs: number
  /** Every workload Reloader patched, in order. */
  readonly reloads: ReloadRecord[] = []

  readonly #store: Store
  readonly #recorder: Recorder
  readonly #queue: Queued[] = []
  readonly #idle: (() => void)[] = []
  readonly #unsubscribe: () => void
  #timer: NodeJS.Timeout | undefined
  #busy = false
  #paused = false
  #stopped = false

  constructor(options: ReloaderOptions) {
    this.#store = options.store
    this.#recorder = options.recorder
    this.delayMs = options.delayMs
    this.#unsubscribe = this.#store.subscribe(SECRETS, (change) => this.#onSecret(change))
  }

  /** Stops acting on queued updates (one being handled finishes); Secret changes are still queued. */
  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    this.#next()
  }

  /** Resolves once nothing is queued or being handled. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  stop(): Promise<void> {
    this.#stopped = true
    this.#unsubscribe()
    clearTimeout(this.#timer)
    this.#queue.splice(0)
    this.#busy = false
    for (const resolve of this.#idle.splice(0)) resolve()
    return Promise.resolve()
  }

  /** The informer's update handler: only a change of the data's SHA1 counts; creations and deletions do nothing. */
  #onSecret({ type, object, previous }: Change): void {
    if (this.#stopped || type !== 'MODIFIED' || !previous) return
    const sha = secretDataSha(object.data)
    if (sha === secretDataSha(previous.data)) return
    this.#queue.push({
      namespace: object.metadata.namespace ?? '',
      secret: object.metadata.name,
      annotations: { ...object.metadata.annotations },
      sha
    })
    this.#next()
  }

  #isIdle(): boolean {
    return !this.#busy && this.#queue.length === 0
  }

  #next(): void {
    if (this.#busy || this.#paused || this.#stopped || this.#queue.length === 0) {
      if (this.#isIdle()) for (const resolve of this.#idle.splice(0)) resolve()
      return
    }
    this.#busy = true
    this.#timer = setTimeout(() => {
      const item = this.#queue.shift()
      try {
        if (item && !this.#stopped) this.#handle(item)
      } catch (error) {
        console.error(
          `test Reloader: the update of Secret ${item?.namespace}/${item?.secret} failed unexpectedly`,
          error
        )
      }
      this.#busy = false
      this.#next()
    }, this.delayMs)
    this.#timer.unref()
  }

  /** doRollingUpgrade: each workload kind in turn, each workload of the namespace in name order. */
  #handle(item: Queued): void {
    if (item.annotations[RELOADER_ANNOTATIONS.ignore] === 'true') return
    for (const type of KINDS) {
      for (const workload of this.#store.list(type, item.namespace)) {
        const decision = reloadDecision(workload, item.secret, item.annotations)
        if (!decision.reload) continue
        const template = (workload.spec as { template: PodTemplate }).template
        const container = containerUsing(template, item.secret, decision.auto)
        if (!container) continue
        const envVar = envVarName(item.secret)
        if (container.env?.some((variable) => variable.name === envVar && variable.value === item.sha)) continue
        const patch = {
          spec: {
            template: { spec: { containers: [{ name: container.name, env: [{ name: envVar, value: item.sha }] }] } }
          }
        }
        const next = strategicMergePatch(clone(workload) as unknown as Json, patch) as unknown as KubeObject
        applyWorkloadDefaults(type, next)
        validateWorkload(type, next)
        const written = this.#store.write(type, next, workload.metadata.resourceVersion)
        const kind = type.kind as ReloadRecord['kind']
        this.reloads.push({
          namespace: item.namespace,
          secret: item.secret,
          kind,
          name: workload.metadata.name,
          container: container.name,
          envVar,
          sha: item.sha,
          generation: written.metadata.generation ?? 0,
          at: Date.now()
        })
        this.#recorder.event(
          workload,
          'Normal',
          'Reloaded',
          `Changes detected in '${item.secret}' of type 'SECRET' in namespace '${item.namespace}', Updated '${workload.metadata.name}' of type '${kind}' in namespace '${item.namespace}'`
        )
      }
    }
  }
}

/**
 * Reloader's env var for a Secret: `STAKATER_` + the name upper-cased with each run of other characters than A-Z
 * and 0-9 made one `_` (none at the start) + `_SECRET` (util.ConvertToEnvVarName, handler getEnvVarName).
 */
export function envVarName(secretName: string): string {
  let converted = ''
  let lastValid = false
  for (const char of secretName.toUpperCase()) {
    if (/^[A-Z0-9]$/.test(char)) {
      converted += char
      lastValid = true
    } else {
      if (lastValid) converted += '_'
      lastValid = false
    }
  }
  return `STAKATER_${converted}_SECRET`
}

/** util.GetSHAfromSecret: SHA1 (hex) of the decoded `key=value` pairs sorted bytewise and joined with `;`. */
export function secretDataSha(data: unknown): string {
  const entries = Object.entries((data ?? {}) as Record<string, string>).map(([key, value]) =>
    Buffer.concat([Buffer.from(`${key}=`, 'utf8'), Buffer.from(value, 'base64')])
  )
  entries.sort((a, b) => Buffer.compare(a, b))
  const hash = createHash('sha1')
  entries.forEach((entry, index) => {
    if (index > 0) hash.update(';')
    hash.update(entry)
  })
  return hash.digest('hex')
}

/** ShouldReload for a Secret: whether, and in which mode (auto: only when a container uses it). */
export function reloadDecision(
  workload: KubeObject,
  secretName: string,
  secretAnnotations: Readonly<Record<string, string>> = {}
): { reload: boolean; auto: boolean } {
  const own = workload.metadata.annotations ?? {}
  const exclude = own[RELOADER_ANNOTATIONS.secretsExclude]
  if (exclude && exclude.split(',').some((entry) => entry.trim() === secretName)) return { reload: false, auto: false }
  const template = (workload.spec as { template?: PodTemplate } | undefined)?.template
  const annotations = OPT_IN.some((key) => own[key] !== undefined) ? own : (template?.metadata?.annotations ?? {})
  const patterns = (annotations[RELOADER_ANNOTATIONS.secretReload] ?? '').split(',').flatMap((entry) => {
    try {
      return [new RegExp(`^${entry.trim()}$`)]
    } catch {
      return []
    }
  })
  if (patterns.some((pattern) => pattern.test(secretName))) return { reload: true, auto: false }
  if (annotations[RELOADER_ANNOTATIONS.search] === 'true' && secretAnnotations[RELOADER_ANNOTATIONS.match] === 'true')
    return { reload: true, auto: true }
  const auto =
    GO_TRUE.has(annotations[RELOADER_ANNOTATIONS.auto] ?? '') ||
    GO_TRUE.has(annotations[RELOADER_ANNOTATIONS.secretAuto] ?? '')
  return { reload: auto, auto }
}

/** getContainerUsingResource for a Secret: the container the env var goes on, or undefined (no reload). */
export function containerUsing(
  template: PodTemplate,
  secretName: string,
  auto: boolean
): MountingContainer | undefined {
  const containers = template.spec.containers as MountingContainer[]
  const initContainers = (template.spec.initContainers ?? []) as MountingContainer[]
  const volume = (template.spec.volumes ?? []).find((candidate) => volumeNames(candidate).includes(secretName))
  if (volume) {
    const mounting = (list: MountingContainer[]) =>
      list.find((container) => (container.volumeMounts ?? []).some((mount) => mount.name === volume.name))
    const found = mounting(containers)
    if (found) return found
    if (mounting(initContainers)) return containers[0]
  }
  const referencing = (list: MountingContainer[]) => list.find((container) => envNames(container).includes(secretName))
  const found = referencing(containers)
  if (found) return found
  if (referencing(initContainers)) return containers[0]
  return auto ? undefined : containers[0]
}

function volumeNames(volume: Volume): (string | undefined)[] {
  return [volume.secret?.secretName, ...(volume.projected?.sources ?? []).map((source) => source.secret?.name)]
}

function envNames(container: Container): (string | undefined)[] {
  return [
    ...(container.env ?? []).map((variable) => variable.valueFrom?.secretKeyRef?.name),
    ...(container.envFrom ?? []).map((source) => source.secretRef?.name)
  ]
}
