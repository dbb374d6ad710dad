/**
 * One measured run: set up the state, run the tool as its own process, then read what it did from the quota
 * proxy (SSM calls), the test API server (Kubernetes requests, ExternalSecret status, the operator's reconciles)
 * and moto (final values and versions).
 */
import { startKubeApiServer, type KubeApiServer, type KubeObject, type RequestRecord } from '../testing/kube/index.ts'
import type { MotoServer } from '../testing/moto.ts'
import type { CallRecord, QuotaProxy } from './quota-proxy.ts'
import {
  median,
  type KubeUse,
  type PushRun,
  type RegionsPushRun,
  type RegionUse,
  type RolloutRun,
  type SsmUse,
  type Startup,
  type SyncRun,
  type WorkloadRequests,
  type WritePhase
} from './results.ts'
import { timedSpawn, type PushTool, type ReleaseTool, type SyncTool, type ToolRun } from './tools/tool.ts'
import {
  AWS_ENV,
  externalSecrets,
  PARAMETER_STORE,
  outcome,
  parameterName,
  pushWorkload,
  REGION,
  ROLLOUT_CHANGED_SECRET,
  ROLLOUT_EXTERNAL_SECRETS,
  rolloutWorkloads,
  seed,
  workloadObject,
  type RolloutWorkload,
  type Workload
} from './workload.ts'

export interface Servers {
  readonly moto: MotoServer
  readonly proxy: QuotaProxy
}

export async function measurePush(servers: Servers, tool: PushTool, workload: Workload): Promise<PushRun> {
  const {
    regions: [{ region, ...primary }],
    ...run
  } = await measureRegionsPush(servers, tool, workload, [REGION])
  return { ...run, ...primary }
}

/**
 * A push that writes `regions` (the tool's aws-region first): each seeded with the workload's starting state, then
 * each region's calls (by the region they were signed for) and final state read apart.
 */
export async function measureRegionsPush(
  { moto, proxy }: Servers,
  tool: PushTool,
  workload: Workload,
  regions: readonly string[]
): Promise<RegionsPushRun> {
  await moto.reset()
  for (const region of regions) await seed(moto.endpoint, workload.before, region)
  proxy.reset()
  const run = await tool.push({ ssmEndpoint: proxy.endpoint, secrets: workload.secrets })
  const calls = [...proxy.calls]
  explainFailure(tool.id, run)
  return {
    wallMs: run.endedAt - run.startedAt,
    startupMs: (calls[0]?.arrivedAt ?? run.endedAt) - run.startedAt,
    exitCode: run.exitCode,
    regions: await Promise.all(
      regions.map(async (region): Promise<RegionUse> => {
        const inRegion = calls.filter((call) => call.region === region)
        return {
          region,
          ...ssmUse(inRegion),
          ...(await outcome(moto.endpoint, workload, region)),
          writes: writePhase(inRegion, proxy.rate('PutParameter'))
        }
      })
    )
  }
}

export async function measureSync(
  { proxy }: Servers,
  kube: KubeApiServer,
  tool: SyncTool,
  namespace: string,
  m: number
): Promise<SyncRun> {
  kube.apply([PARAMETER_STORE, ...externalSecrets(namespace, m)])
  await kube.operator.idle()
  const synced = () =>
    new Map(kube.list('ExternalSecret', namespace).map((es) => [es.metadata.name, freshnessMark(es)]))
  const before = synced()
  proxy.reset()
  kube.clearRequests()
  const reconciled = kube.operator.reconciles.length
  const firstKubeRequest = firstRequestAt(kube.requests)
  const run = await tool.sync({ ssmEndpoint: proxy.endpoint, namespace, kubeconfig: kube.kubeconfig() })
  const after = synced()
  firstKubeRequest.stop()
  const calls = [...proxy.calls]
  const requests = [...kube.requests]
  explainFailure(tool.id, run)
  await kube.operator.idle()
  const fresh = kube.operator.reconciles
    .slice(reconciled)
    .filter((record) => record.namespace === namespace && record.outcome === 'synced')
  const first = Math.min(calls[0]?.arrivedAt ?? Infinity, firstKubeRequest.at() ?? Infinity, run.endedAt)
  return {
    wallMs: run.endedAt - run.startedAt,
    startupMs: first - run.startedAt,
    exitCode: run.exitCode,
    ...ssmUse(calls),
    stale: [...after].filter(([name, mark]) => mark === undefined || mark === before.get(name)).length,
    operatorSpanMs: fresh.length
      ? fresh[fresh.length - 1].finishedAt - (fresh[0].startedAt - kube.operator.reconcileDelayMs)
      : 0,
    kube: kubeUse(requests)
  }
}

/** dist/index.js to its first SSM request, against `aws ssm get-parameter` (to its request, and the whole call), alternating. */
export async function measureStartup(
  { moto, proxy }: Servers,
  action: PushTool,
  repetitions: number
): Promise<Startup> {
  const workload = pushWorkload(10, 'none')
  await moto.reset()
  await seed(moto.endpoint, workload.before)
  const actionFirst: number[] = []
  const cliFirst: number[] = []
  const cliCall: number[] = []
  for (let i = 0; i < repetitions; i++) {
    proxy.reset()
    const run = await action.push({ ssmEndpoint: proxy.endpoint, secrets: workload.secrets })
    explainFailure(action.id, run)
    actionFirst.push((proxy.calls[0]?.arrivedAt ?? run.endedAt) - run.startedAt)
    proxy.reset()
    const cli = await timedSpawn(
      'aws',
      ['ssm', 'get-parameter', '--name', parameterName(1), '--endpoint-url', proxy.endpoint],
      AWS_ENV
    )
    explainFailure('aws ssm get-parameter', cli)
    cliFirst.push((proxy.calls[0]?.arrivedAt ?? cli.endedAt) - cli.startedAt)
    cliCall.push(cli.endedAt - cli.startedAt)
  }
  return {
    repetitions,
    actionToFirstRequestMs: median(actionFirst),
    cliToFirstRequestMs: median(cliFirst),
    cliCallMs: median(cliCall)
  }
}

function ssmUse(calls: readonly CallRecord[]): SsmUse {
  const count = (throttled: boolean) => {
    const counts: Record<string, number> = {}
    for (const call of calls)
      if (call.throttled === throttled) counts[call.operation] = (counts[call.operation] ?? 0) + 1
    return counts
  }
  return { calls: count(false), throttled: count(true) }
}

function writePhase(calls: readonly CallRecord[], ratePerSecond: number): WritePhase | undefined {
  const puts = calls.filter((call) => call.operation === 'PutParameter')
  const accepted = puts.filter((call) => !call.throttled)
  if (accepted.length < 2) return undefined
  const spanMs = accepted[accepted.length - 1].arrivedAt - puts[0].arrivedAt
  return {
    spanMs,
    accepted: accepted.length,
    throttled: puts.length - accepted.length,
    perSecond: ((accepted.length - 1) * 1000) / spanMs,
    idleMs: spanMs - ((accepted.length - 1) * 1000) / ratePerSecond
  }
}

/** What changes on a fresh sync (status.syncedResourceVersion), or undefined when the ExternalSecret is not Ready. */
function freshnessMark(es: KubeObject): string | undefined {
  const status = es.status as
    { syncedResourceVersion?: string; conditions?: { type: string; status: string }[] } | undefined
  return status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')
    ? status.syncedResourceVersion
    : undefined
}

function kubeUse(requests: readonly RequestRecord[]): KubeUse {
  const isWatch = (request: RequestRecord) => ['1', 'true'].includes(request.query.watch ?? '')
  const reads = requests.filter((request) => request.method === 'GET' && !isWatch(request))
  const perPath = new Map<string, number>()
  for (const request of reads.filter((read) => read.path.includes('/externalsecrets'))) {
    const key = `${request.path}?${JSON.stringify(request.query)}`
    perPath.set(key, (perPath.get(key) ?? 0) + 1)
  }
  return {
    watches: requests.filter((request) => request.method === 'GET' && isWatch(request)).length,
    reads: reads.length,
    maxReadsOfOnePath: Math.max(0, ...perPath.values()),
    writes: requests.filter((request) => request.method !== 'GET').length
  }
}

/** When the test API server got its first request, to the millisecond (it runs in this process and keeps no times). */
function firstRequestAt(requests: readonly unknown[]): { at(): number | undefined; stop(): void } {
  let at: number | undefined
  const timer = setInterval(() => {
    if (at === undefined && requests.length > 0) at = performance.now()
  }, 1)
  return { at: () => at, stop: () => clearInterval(timer) }
}

export interface RolloutSetup {
  /** The simulated kubelet's pod start: creation to Running and Ready. */
  readonly podStartMs: number
  /** The simulated operator's per-reconcile delay. */
  readonly reconcileDelayMs: number
}

const ROLLOUT_NAMESPACE = 'bench-rollout'
const WORKLOAD_PATH =
  /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets|daemonsets)(?:\/([^/]+))?(?:\/status)?$/

/**
 * A typical release (100 secrets, one changed) with `namespace` and `restart: changed`, on a fresh test API server
 * whose workloads are running with the old values: 10 read the Secret the changed key syncs into, 3 read other Secrets.
 * The controllers record each rollout's start and completion (by `kubectl rollout status`'s rules); the request log
 * shows how the action followed them; each pod records the values it started with.
 */
export async function measureRollout(
  { moto, proxy }: Servers,
  tool: ReleaseTool,
  { podStartMs, reconcileDelayMs }: RolloutSetup
): Promise<RolloutRun> {
  const workload = pushWorkload(100, 'one')
  // app-NN reads parameter NN (externalSecrets()); the release changes parameter 1, which app-01 reads.
  const before = (secret: string) => workload.before[parameterName(Number(secret.slice('app-'.length)))]
  const newValue = workload.secrets.SECRET_0001
  const workloads = rolloutWorkloads()
  const readers = workloads.filter(({ secret }) => secret === ROLLOUT_CHANGED_SECRET)
  const others = workloads.filter(({ secret }) => secret !== ROLLOUT_CHANGED_SECRET)
  await moto.reset()
  await seed(moto.endpoint, workload.before)
  const kube = await startKubeApiServer({ ssmEndpoint: moto.endpoint, versions: ['v1'], reconcileDelayMs, podStartMs })
  try {
    const namespace = ROLLOUT_NAMESPACE
    kube.apply([PARAMETER_STORE, ...externalSecrets(namespace, ROLLOUT_EXTERNAL_SECRETS)])
    await kube.operator.idle()
    kube.apply(workloads.map((w) => workloadObject(namespace, w)))
    await kube.controllers.idle()
    const notOnOld = workloads.filter((w) => podsNotOn(kube, namespace, w, before(w.secret)) > 0)
    if (notOnOld.length)
      throw new Error(
        `rollout set-up: ${notOnOld.map(({ name }) => name).join(', ')} not running the old value before the release`
      )

    proxy.reset()
    kube.clearRequests()
    const rolloutsBefore = kube.controllers.rollouts.length
    const firstRestart = arrivalOf(
      kube.requests,
      (request) => request.method === 'PATCH' && WORKLOAD_PATH.test(request.path)
    )
    const run = await tool.release({
      ssmEndpoint: proxy.endpoint,
      secrets: workload.secrets,
      namespace,
      kubeconfig: kube.kubeconfig()
    })
    // What the pods run at the action's exit, before anything else happens.
    const stalePods = readers.reduce((sum, w) => sum + podsNotOn(kube, namespace, w, newValue), 0)
    const othersOnOld = others.map((w) => podsNotOn(kube, namespace, w, before(w.secret)) === 0)
    const epochToPerformance = Date.now() - performance.now()
    firstRestart.stop()
    explainFailure(tool.id, run)
    const requests = [...kube.requests]
    const rollouts = kube.controllers.rollouts
      .slice(rolloutsBefore)
      .filter((rollout) => rollout.namespace === namespace)
    const ofReaders = rollouts.filter((rollout) =>
      readers.some((w) => w.kind === rollout.kind && w.name === rollout.name)
    )
    const patched = new Set(
      requests.filter((request) => request.method === 'PATCH').map((request) => WORKLOAD_PATH.exec(request.path)?.[3])
    )
    const othersRestarted = others.filter(
      (w, i) =>
        patched.has(w.name) ||
        !othersOnOld[i] ||
        rollouts.some((rollout) => rollout.kind === w.kind && rollout.name === w.name)
    ).length
    const ended = ofReaders.flatMap((rollout) => (rollout.finishedAt === undefined ? [] : [rollout.finishedAt]))
    const started = Math.min(...ofReaders.map((rollout) => rollout.startedAt)) - epochToPerformance
    const finished = Math.max(...ended) - epochToPerformance
    const restartAt = firstRestart.at() ?? run.endedAt
    const workloadRequests = workloadUse(requests)
    const involved = new Set(readers.map(({ kind }) => kind)).size
    let reportedRestarted = 0
    try {
      reportedRestarted = (JSON.parse(run.outputs?.restarted ?? '[]') as unknown[]).length
    } catch {
      reportedRestarted = 0
    }
    return {
      wallMs: run.endedAt - run.startedAt,
      exitCode: run.exitCode,
      restartToExitMs: run.endedAt - restartAt,
      controllersMs: ended.length ? finished - started : 0,
      exitAfterRolloutsMs: ended.length ? run.endedAt - finished : 0,
      rolloutsComplete: new Set(
        ofReaders
          .filter((rollout) => rollout.outcome === 'complete')
          .map((rollout) => `${rollout.kind}/${rollout.name}`)
      ).size,
      reportedRestarted,
      stalePods,
      othersRestarted,
      requests: workloadRequests,
      // One list per kind and namespace before the annotation, and one re-list for each watch started again.
      listBound: 3 + Math.max(0, workloadRequests.watches - involved),
      ssmCalls: ssmUse([...proxy.calls]).calls
    }
  } finally {
    await kube.close()
  }
}

/**
 * When the first request that `matches` reached the test API server, exactly: the request log's push is wrapped until
 * stop(). (Polling the log, as firstRequestAt does, lags by as long as the server's own work holds the event loop, which
 * during the restarts, with the controllers acting on each patch, was up to 0.16 s.)
 */
function arrivalOf(
  requests: readonly RequestRecord[],
  matches: (request: RequestRecord) => boolean
): { at(): number | undefined; stop(): void } {
  const log = requests as RequestRecord[]
  let at: number | undefined
  log.push = (...items: RequestRecord[]) => {
    if (at === undefined && items.some(matches)) at = performance.now()
    return Array.prototype.push.apply(log, items)
  }
  return { at: () => at, stop: () => void Reflect.deleteProperty(log, 'push') }
}

/** The pods of a workload not running `value` of its Secret's key (Terminating ones left out), and the pods missing of the 2 it should run. */
function podsNotOn(
  kube: KubeApiServer,
  namespace: string,
  { kind, name, secret }: RolloutWorkload,
  value: string
): number {
  const pods = kube.controllers.podsOf(kind, namespace, name).filter((pod) => !pod.metadata.deletionTimestamp)
  const wrong = pods.filter(
    (pod) => kube.podSecretData(namespace, pod.metadata.name)?.secrets[`${secret}/value`] !== value
  ).length
  return wrong + Math.max(0, 2 - pods.length)
}

/** The action's requests on Deployments, StatefulSets and DaemonSets: lists and single GETs (a poll would show there), watches, patches. */
function workloadUse(requests: readonly RequestRecord[]): WorkloadRequests {
  const onWorkloads = requests.filter((request) => WORKLOAD_PATH.test(request.path))
  const isWatch = (request: RequestRecord) => ['1', 'true'].includes(request.query.watch ?? '')
  const reads = onWorkloads.filter((request) => request.method === 'GET' && !isWatch(request))
  return {
    lists: reads.filter((request) => WORKLOAD_PATH.exec(request.path)?.[3] === undefined).length,
    gets: reads.filter((request) => WORKLOAD_PATH.exec(request.path)?.[3] !== undefined).length,
    watches: onWorkloads.filter((request) => request.method === 'GET' && isWatch(request)).length,
    patches: onWorkloads.filter((request) => request.method === 'PATCH').length
  }
}

function explainFailure(tool: string, run: ToolRun): void {
  if (run.exitCode !== 0)
    console.error(
      `  ${tool} exited with ${run.exitCode}:\n${run.output
        .trim()
        .split('\n')
        .slice(-8)
        .map((line) => `    ${line}`)
        .join('\n')}`
    )
}
