import { readFileSync } from 'node:fs'
import { runBundledAction, type ActionRun } from '../testing/action.ts'
import {
  startKubeApiServer,
  type KubeApiServer,
  type KubeApiServerOptions,
  type KubeObject,
  type WorkloadKind
} from '../testing/kube/index.ts'
import { LOCAL_AWS, type SsmHarness } from './ssm-harness.ts'
import { untilSecondAfter } from './until.ts'

/**
 * What the rollout bundle tests share: the payments tenant's cluster on the test API server (its
 * operator, workload controllers and pods), Deployments that read its Secrets, and the bundled
 * action run against it and the SSM harness.
 */

export const NS = 'payments-prod'
export const SECRETS = {
  DATABASE_URL: 'postgres://payments:s3cret-pass@db:5432/payments',
  STRIPE_API_KEY: 'sk_live_abcdef123456',
  WEBHOOK_SECRET: 'whsec_0123456789'
}
export const ROTATED = { ...SECRETS, STRIPE_API_KEY: 'sk_live_rotated_987654' }

export interface DeploymentOptions {
  /** Read one key through env[].valueFrom.secretKeyRef, instead of the whole Secret through envFrom. */
  readonly key?: string
  readonly annotations?: Record<string, string>
  readonly progressDeadlineSeconds?: number
  /** Paused: `kubectl rollout pause` (a template change, a restart included, does not roll out). */
  readonly paused?: boolean
}

/** A Deployment of two pods reading `secret`. */
export function deployment(
  name: string,
  secret: string,
  { key, annotations, progressDeadlineSeconds, paused }: DeploymentOptions = {}
) {
  const container = key
    ? { name: 'app', image: 'app:1', env: [{ name: key, valueFrom: { secretKeyRef: { name: secret, key } } }] }
    : { name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: secret } }] }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
    spec: {
      replicas: 2,
      progressDeadlineSeconds,
      ...(paused ? { paused } : {}),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [container] } }
    }
  }
}

/** An Argo Rollout (a canary without steps) of two pods reading `secret` through envFrom, as `deployment` does. */
export function argoRollout(
  name: string,
  secret: string,
  { paused, progressDeadlineSeconds }: { readonly paused?: boolean; readonly progressDeadlineSeconds?: number } = {}
) {
  const { spec } = deployment(name, secret, { progressDeadlineSeconds })
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: NS },
    spec: { ...spec, strategy: { canary: {} }, ...(paused ? { paused } : {}) }
  }
}

/** The test API server holding the payments ExternalSecrets (fast pods, fast progress deadlines) and `workloads`. */
export async function paymentsCluster(
  harness: SsmHarness,
  workloads: readonly KubeObject[],
  options: KubeApiServerOptions = {}
): Promise<KubeApiServer> {
  const kube = await startKubeApiServer({
    ssmEndpoint: harness.moto.endpoint,
    region: 'us-east-1',
    reconcileDelayMs: 50,
    retryBaseMs: 200,
    podStartMs: 50,
    secondMs: 10,
    ...options
  })
  kube.apply(readFileSync('__tests__/fixtures/cluster/payments-prod.yaml', 'utf8'))
  kube.apply([...workloads])
  return kube
}

/**
 * The first release: the values pushed and the Secrets written; then `workloads` deployed, in a later second than
 * the Secrets' data (ESO's managedFields time, whole seconds), so that their pods run the current data by the rule
 * the rollout reads (src/workloads/current.ts), as pods deployed after their Secrets do; returns in a later second
 * than they started.
 */
export async function firstRelease(
  harness: SsmHarness,
  kube: KubeApiServer,
  workloads: readonly KubeObject[],
  extra: Record<string, string> = {}
): Promise<void> {
  const first = await release(harness, kube, SECRETS, extra)
  if (first.exitCode !== 0) throw new Error(`the first release failed:\n${first.stdout}`)
  await kube.operator.idle()
  const written = kube
    .list('Secret', NS)
    .flatMap(({ metadata }) => metadata.managedFields ?? [])
    .map(({ time }) => Date.parse(time))
  await untilSecondAfter(Math.max(...written))
  kube.apply([...workloads])
  await kube.controllers.idle()
  // And the next release's data lands in a later second than these pods started: plainly newer, never of their
  // second (which the rule settles with one restart more).
  await untilSecondAfter()
}

/** One release of the payments service through the bundled action. */
export function release(
  harness: SsmHarness,
  kube: KubeApiServer,
  secrets: Record<string, string>,
  extra: Record<string, string> = {}
): Promise<ActionRun> {
  return runBundledAction(
    {
      environment: 'prod',
      service: 'payments',
      'ssm-endpoint': harness.proxy.endpoint,
      secrets: JSON.stringify(secrets),
      namespace: NS,
      kubeconfig: kube.kubeconfig(),
      timeout: '30s',
      'rollout-timeout': '30s',
      ...extra
    },
    LOCAL_AWS
  )
}

/** The workloads the action PATCHed (its restarts: the only apps/v1 and argoproj.io writes in the request log). */
export function restartPatches(kube: KubeApiServer): string[] {
  return kube.requests
    .filter(({ method, path }) => method === 'PATCH' && /\/apis\/(apps|argoproj\.io)\//.test(path))
    .map(({ path }) => path.slice(path.lastIndexOf('/') + 1))
}

/** What each running pod of a workload (a Deployment unless `kind` says) read from `secret`/`key` when it started. */
export function readByPods(
  kube: KubeApiServer,
  name: string,
  secret: string,
  key: string,
  kind: WorkloadKind = 'Deployment'
): unknown[] {
  return kube.controllers
    .podsOf(kind, NS, name)
    .filter((pod) => !pod.metadata.deletionTimestamp)
    .map((pod) => kube.podSecretData(NS, pod.metadata.name)?.secrets[`${secret}/${key}`])
}
