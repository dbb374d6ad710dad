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
export const ENVIRONMENT = 'bench'
export const SERVICE = 'api'
const SERVICE_PATH = `/zerotouch/${ENVIRONMENT}/${SERVICE}`
/** Local credentials for every tool (moto accepts any). */
export const AWS_ENV = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: REGION, AWS_DEFAULT_REGION: REGION }

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
  const secrets = Object.fromEntries(indexes.map((i) => [secretName(i), value(i, changed === 'one' && i === 1 ? 2 : 1)]))
  const before = changed === 'all' ? {} : Object.fromEntries(indexes.map((i) => [parameterName(i), value(i, 1)]))
  return { secrets, before, changedKeys: { none: 0, one: 1, all: n }[changed] }
}

function directClient(motoEndpoint: string): SSMClient {
  return new SSMClient({ endpoint: motoEndpoint, region: REGION, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } })
}

/** Writes the starting state straight into moto, as the action would have created it. */
export async function seed(motoEndpoint: string, parameters: Readonly<Record<string, string>>): Promise<void> {
  const client = directClient(motoEndpoint)
  const limit = pLimit(8)
  const tags = [{ Key: 'managed-by', Value: 'zerotouch-secrets' }]
  await Promise.all(Object.entries(parameters).map(([Name, Value]) => limit(() => client.send(new PutParameterCommand({ Name, Value, Type: 'SecureString', Tags: tags })))))
  client.destroy()
}

export interface Outcome {
  /** Keys whose final value is not the one the tool was given. */
  readonly lostWrites: number
  /** New parameter versions the run created (SSM keeps only 100 per parameter). */
  readonly versionsCreated: number
}

/** Reads the final state straight from moto and compares it with what the tool was asked to push. */
export async function outcome(motoEndpoint: string, workload: Workload): Promise<Outcome> {
  const client = directClient(motoEndpoint)
  const wanted = new Map(Object.entries(workload.secrets).map(([name, wantedValue]) => [`${SERVICE_PATH}/${name.toLowerCase()}`, wantedValue]))
  const names = [...wanted.keys()]
  const batches = Array.from({ length: Math.ceil(names.length / 10) }, (_, i) => names.slice(i * 10, i * 10 + 10))
  const limit = pLimit(8)
  const found = (await Promise.all(batches.map((Names) => limit(async () => (await client.send(new GetParametersCommand({ Names, WithDecryption: true }))).Parameters ?? [])))).flat()
  client.destroy()
  const current = new Map(found.map((p) => [p.Name ?? '', p]))
  return {
    lostWrites: names.filter((name) => current.get(name)?.Value !== wanted.get(name)).length,
    versionsCreated: found.reduce((sum, p) => sum + (p.Version ?? 0), 0) - Object.keys(workload.before).length
  }
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
