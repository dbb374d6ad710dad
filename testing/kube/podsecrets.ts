/**
 * What a pod's containers read from Secrets when it starts, as the kubelet resolves it: `envFrom[].secretRef`
 * (every key, with the prefix), `env[].valueFrom.secretKeyRef`, `volumes[].secret` and
 * `volumes[].projected.sources[].secret` (every key, or the listed items), for init containers and containers.
 * Environment variables keep the values of that moment for the life of the container: that is why a changed Secret
 * needs a restart. A missing Secret or key that is not optional keeps the pod from starting, with the kubelet's
 * reason (CreateContainerConfigError for the environment, ContainerCreating for a volume) until it appears.
 */
import { createHash } from 'node:crypto'
import type { KubeObject } from './json.ts'
import type { Container, KeyToPath, Pod } from './workloads.ts'

/** The annotation the simulated kubelet writes on a pod it starts: `{ "<secret>/<key>": "<sha256 hex of the value>" }` as JSON. */
export const SECRET_DATA_ANNOTATION = 'zerotouch.test/secret-data'

export interface PodSecretData {
  /** `<secret>/<key>` → the value (UTF-8) of each Secret key the pod read when it started. */
  readonly secrets: Readonly<Record<string, string>>
  /** Per container (init containers too): the environment variables whose values came from Secrets. */
  readonly env: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** Per secret or projected volume: file path → content. */
  readonly files: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** `<secret>` → the Secret's resourceVersion when the pod read it. */
  readonly resourceVersions: Readonly<Record<string, string>>
  /** When the pod read them (ms since the epoch). */
  readonly readAt: number
}

export type Resolution =
  | { ok: true; data: PodSecretData }
  | { ok: false; reason: 'CreateContainerConfigError' | 'ContainerCreating'; message: string }

type Lookup = (name: string) => KubeObject | undefined

class Blocked extends Error {
  readonly reason: 'CreateContainerConfigError' | 'ContainerCreating'
  constructor(reason: 'CreateContainerConfigError' | 'ContainerCreating', message: string) {
    super(message)
    this.reason = reason
  }
}

export function resolvePodSecrets(pod: Pod, lookup: Lookup, now = Date.now()): Resolution {
  const namespace = pod.metadata.namespace ?? 'default'
  const secrets: Record<string, string> = {}
  const resourceVersions: Record<string, string> = {}
  const read = (
    name: string,
    optional: boolean | undefined,
    reason: Blocked['reason'],
    volume?: string
  ): Record<string, string> | undefined => {
    const secret = lookup(name)
    if (!secret) {
      if (optional) return undefined
      throw new Blocked(
        reason,
        volume
          ? `MountVolume.SetUp failed for volume "${volume}" : secret "${name}" not found`
          : `secret "${name}" not found`
      )
    }
    resourceVersions[name] = secret.metadata.resourceVersion ?? ''
    const data = (secret.data ?? {}) as Record<string, string>
    return Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')])
    )
  }
  const take = (name: string, key: string, value: string) => {
    secrets[`${name}/${key}`] = value
    return value
  }
  try {
    const files: Record<string, Record<string, string>> = {}
    for (const volume of pod.spec.volumes ?? []) {
      const sources = volume.secret
        ? [{ name: volume.secret.secretName ?? '', items: volume.secret.items, optional: volume.secret.optional }]
        : (volume.projected?.sources ?? []).flatMap(({ secret }) =>
            secret ? [{ name: secret.name ?? '', items: secret.items, optional: secret.optional }] : []
          )
      if (sources.length === 0) continue
      const content: Record<string, string> = {}
      for (const source of sources) {
        const data = read(source.name, source.optional, 'ContainerCreating', volume.name)
        if (data) Object.assign(content, filesOf(source.name, data, source.items, source.optional, volume.name, take))
      }
      files[volume.name] = content
    }
    const env: Record<string, Record<string, string>> = {}
    for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers])
      env[container.name] = environment(namespace, container, read, take)
    return { ok: true, data: { secrets, env, files, resourceVersions, readAt: now } }
  } catch (error) {
    if (error instanceof Blocked) return { ok: false, reason: error.reason, message: error.message }
    throw error
  }
}

function filesOf(
  name: string,
  data: Record<string, string>,
  items: KeyToPath[] | undefined,
  optional: boolean | undefined,
  volume: string,
  take: (name: string, key: string, value: string) => string
): Record<string, string> {
  if (!items) return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, take(name, key, value)]))
  const files: Record<string, string> = {}
  for (const { key, path } of items) {
    if (!(key in data)) {
      if (optional) continue
      throw new Blocked(
        'ContainerCreating',
        `MountVolume.SetUp failed for volume "${volume}" : references non-existent secret key: ${key}`
      )
    }
    files[path] = take(name, key, data[key])
  }
  return files
}

/** envFrom first, then env (a later variable of the same name wins); only the variables whose value is a Secret's stay. */
function environment(
  namespace: string,
  container: Container,
  read: (name: string, optional: boolean | undefined, reason: Blocked['reason']) => Record<string, string> | undefined,
  take: (name: string, key: string, value: string) => string
): Record<string, string> {
  const fromSecrets = new Map<string, string>()
  for (const source of container.envFrom ?? []) {
    if (!source.secretRef) {
      // A ConfigMap's variables replace earlier Secret ones of the same name; they are not recorded.
      continue
    }
    const data = read(source.secretRef.name ?? '', source.secretRef.optional, 'CreateContainerConfigError')
    for (const [key, value] of Object.entries(data ?? {}))
      fromSecrets.set(`${source.prefix ?? ''}${key}`, take(source.secretRef.name ?? '', key, value))
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef
    if (!ref) {
      fromSecrets.delete(variable.name)
      continue
    }
    const data = read(ref.name ?? '', ref.optional, 'CreateContainerConfigError')
    if (!data) continue
    if (!(ref.key in data)) {
      if (ref.optional) continue
      throw new Blocked(
        'CreateContainerConfigError',
        `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name ?? ''}`
      )
    }
    fromSecrets.set(variable.name, take(ref.name ?? '', ref.key, data[ref.key]))
  }
  return Object.fromEntries(fromSecrets)
}

/** The annotation's value: each `<secret>/<key>` with the SHA-256 (hex) of its value, keys sorted. */
export function secretDataAnnotation(data: PodSecretData): string {
  const hashes = Object.keys(data.secrets)
    .sort()
    .map((key) => [key, createHash('sha256').update(data.secrets[key], 'utf8').digest('hex')])
  return JSON.stringify(Object.fromEntries(hashes))
}

/** The SHA-256 (hex) of a value, as the annotation records it: for comparing a pod's annotation with expected values. */
export function secretValueHash(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}
