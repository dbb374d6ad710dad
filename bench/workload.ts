/**
 * What each scenario asks of the tools and how the outcome is checked: the secrets to push, what SSM holds
 * before the run (seeded straight into moto, past the quota proxy), the final state read back the same way,
 * and the ExternalSecrets of the sync scenarios.
 */
import { createHash } from 'node:crypto'
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import pLimit from 'p-limit'
import type { KubeObject } from '../testing/kube/index.ts'

export const REGION = 'us-east-1'
/** The replica-regions of the regions scenario: with REGION, three regions, each with its own quota. */
export const REPLICA_REGIONS = ['us-west-2', 'eu-west-1'] as const
export const ENVIRONMENT = 'bench'
export const SERVICE = 'api'
const SERVICE_PATH = `/zerotouch/${ENVIRONMENT}/${SERVICE}`
/** Local credentials for every tool (moto accepts any). */
export const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_REGION: REGION,
  AWS_DEFAULT_REGION: REGION
}

/** Which secrets differ from what SSM holds: none (a re-run), one (a typical release), all (a first push: nothing exists). */
export type Changed = 'none' | 'one' | 'all'

export interface Workload {
  /** What the tool is asked to push: secret name -> value. */
  readonly secrets: Readonly<Record<string, string>>
  /** What SSM holds before the run: parameter name -> value, each at version 1 with the action's ownership tag. */
  readonly before: Readonly<Record<string, string>>
  /** Keys whose value must change: the fewest writes that do the job. */
  readonly changedKeys: number
}

function secretName(index: number): string {
  return `SECRET_${String(index).padStart(4, '0')}`
}

export function parameterName(index: number): string {
  return `${SERVICE_PATH}/${secretName(index).toLowerCase()}`
}

/** A 40-character value, different per key and per generation; it starts with a letter (the aws CLI takes `--value -x...` for an option). */
function value(index: number, generation: number): string {
  return `v${createHash('sha256').update(`${index}:${generation}`).digest('base64url').slice(0, 39)}`
}

export function pushWorkload(n: number, changed: Changed): Workload {
  const indexes = Array.from({ length: n }, (_, i) => i + 1)
  const secrets = Object.fromEntries(
    indexes.map((i) => [secretName(i), value(i, changed === 'one' && i === 1 ? 2 : 1)])
  )
  const before = changed === 'all' ? {} : Object.fromEntries(indexes.map((i) => [parameterName(i), value(i, 1)]))
  return { secrets, before, changedKeys: { none: 0, one: 1, all: n }[changed] }
}

/** A client of moto itself, past the quota proxy, in `region` (moto keeps each region's parameters apart). */
function directClient(motoEndpoint: string, region: string): SSMClient {
  return new SSMClient({
    endpoint: motoEndpoint,
    region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }
  })
}

/** Writes the starting state straight into moto, as the action would have created it, in `region`. */
export async function seed(
  motoEndpoint: string,
  parameters: Readonly<Record<string, string>>,
  region: string = REGION
): Promise<void> {
  const client = directClient(motoEndpoint, region)
  const limit = pLimit(8)
  const tags = [{ Key: 'managed-by', Value: 'zerotouch-secrets' }]
  await Promise.all(
    Object.entries(parameters).map(([Name, Value]) =>
      limit(() => client.send(new PutParameterCommand({ Name, Value, Type: 'SecureString', Tags: tags })))
    )
  )
  client.destroy()
}

export interface Outcome {
  /** Keys whose final value is not the one the tool was given. */
  readonly lostWrites: number
  /** New parameter versions the run created (SSM keeps only 100 per parameter). */
  readonly versionsCreated: number
}

/** Reads the final state straight from moto, in `region`, and compares it with what the tool was asked to push. */
export async function outcome(motoEndpoint: string, workload: Workload, region: string = REGION): Promise<Outcome> {
  const client = directClient(motoEndpoint, region)
  const wanted = new Map(
    Object.entries(workload.secrets).map(([name, wantedValue]) => [
      `${SERVICE_PATH}/${name.toLowerCase()}`,
      wantedValue
    ])
  )
  const names = [...wanted.keys()]
  const batches = Array.from({ length: Math.ceil(names.length / 10) }, (_, i) => names.slice(i * 10, i * 10 + 10))
  const limit = pLimit(8)
  const found = (
    await Promise.all(
      batches.map((Names) =>
        limit(
          async () => (await client.send(new GetParametersCommand({ Names, WithDecryption: true }))).Parameters ?? []
        )
      )
    )
  ).flat()
  client.destroy()
  const current = new Map(found.map((p) => [p.Name ?? '', p]))
  return {
    lostWrites: names.filter((name) => current.get(name)?.Value !== wanted.get(name)).length,
    versionsCreated: found.reduce((sum, p) => sum + (p.Version ?? 0), 0) - Object.keys(workload.before).length
  }
}

/** The ClusterSecretStore the ExternalSecrets read through: Parameter Store, no prefix. */
export const PARAMETER_STORE: KubeObject = {
  apiVersion: 'external-secrets.io/v1',
  kind: 'ClusterSecretStore',
  metadata: { name: 'aws-parameter-store' },
  spec: { provider: { aws: { service: 'ParameterStore', region: 'us-east-1' } } }
}

/** M ExternalSecrets that force-sync selects, each reading one seeded parameter, refreshed hourly. */
export function externalSecrets(namespace: string, m: number): KubeObject[] {
  return Array.from({ length: m }, (_, i) => ({
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: `app-${String(i + 1).padStart(2, '0')}`, namespace, labels: { 'zerotouch.io/managed': 'true' } },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: 'aws-parameter-store', kind: 'ClusterSecretStore' },
      target: { name: `app-${String(i + 1).padStart(2, '0')}` },
      data: [{ secretKey: 'value', remoteRef: { key: parameterName(i + 1) } }]
    }
  }))
}

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet'

/** One workload of the rollout scenario and how its pods read their Secret. */
export interface RolloutWorkload {
  readonly kind: WorkloadKind
  readonly name: string
  /** The Secret its pods read (an ExternalSecret's target). */
  readonly secret: string
  readonly reads: 'envFrom' | 'env' | 'volume' | 'projected'
}

/** The Secret the typical release changes: app-01, synced from SECRET_0001, the key the release changes. */
export const ROLLOUT_CHANGED_SECRET = 'app-01'
/** The ExternalSecrets of the rollout scenario (app-01 ... app-03, each reading one seeded parameter). */
export const ROLLOUT_EXTERNAL_SECRETS = 3

const READS: readonly RolloutWorkload['reads'][] = ['envFrom', 'env', 'volume', 'projected']

/**
 * The workloads of the rollout scenario: 10 reading the changed Secret (6 Deployments, 2 StatefulSets, 2 DaemonSets, each
 * way a pod reads a Secret), and 3 reading the other Secrets, which must not be restarted.
 */
export function rolloutWorkloads(): RolloutWorkload[] {
  const readers = [
    ...Array.from({ length: 6 }, (_, i) => ({ kind: 'Deployment' as const, name: `deploy-${i + 1}` })),
    ...Array.from({ length: 2 }, (_, i) => ({ kind: 'StatefulSet' as const, name: `sts-${i + 1}` })),
    ...Array.from({ length: 2 }, (_, i) => ({ kind: 'DaemonSet' as const, name: `ds-${i + 1}` }))
  ].map((workload, i) => ({ ...workload, secret: ROLLOUT_CHANGED_SECRET, reads: READS[i % READS.length] }))
  const others: RolloutWorkload[] = [
    { kind: 'Deployment', name: 'other-deploy', secret: 'app-02', reads: 'envFrom' },
    { kind: 'StatefulSet', name: 'other-sts', secret: 'app-03', reads: 'env' },
    { kind: 'DaemonSet', name: 'other-ds', secret: 'app-02', reads: 'volume' }
  ]
  return [...readers, ...others]
}

/** The apps/v1 object of a rollout workload: 2 replicas (a DaemonSet: one pod on each of the 2 nodes), the API server's default strategies. */
export function workloadObject(namespace: string, { kind, name, secret, reads }: RolloutWorkload): KubeObject {
  const container: Record<string, unknown> = { name: 'app', image: 'app:1' }
  let volumes: unknown[] | undefined
  switch (reads) {
    case 'envFrom':
      container.envFrom = [{ secretRef: { name: secret } }]
      break
    case 'env':
      container.env = [{ name: 'VALUE', valueFrom: { secretKeyRef: { name: secret, key: 'value' } } }]
      break
    case 'volume':
      volumes = [{ name: 'secret', secret: { secretName: secret } }]
      break
    case 'projected':
      volumes = [{ name: 'secret', projected: { sources: [{ secret: { name: secret } }] } }]
      break
  }
  if (volumes) container.volumeMounts = [{ name: 'secret', mountPath: '/etc/secret', readOnly: true }]
  const template = {
    metadata: { labels: { app: name } },
    spec: { containers: [container], ...(volumes ? { volumes } : {}) }
  }
  const selector = { matchLabels: { app: name } }
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace },
    spec:
      kind === 'DaemonSet'
        ? { selector, template }
        : { replicas: 2, selector, template, ...(kind === 'StatefulSet' ? { serviceName: name } : {}) }
  }
}
