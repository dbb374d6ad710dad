/**
 * One measured run: set up the state, run the tool as its own process, then read what it did from the quota
 * proxy (SSM calls), the test API server (Kubernetes requests, ExternalSecret status, the operator's reconciles)
 * and moto (final values and versions).
 */
import type { KubeApiServer, KubeObject, RequestRecord } from '../testing/kube/index.ts'
import type { MotoServer } from '../testing/moto.ts'
import type { CallRecord, QuotaProxy } from './quota-proxy.ts'
import { median, type KubeUse, type PushRun, type SsmUse, type Startup, type SyncRun, type WritePhase } from './results.ts'
import { timedSpawn, type PushTool, type SyncTool, type ToolRun } from './tools/tool.ts'
import { AWS_ENV, externalSecrets, outcome, parameterName, pushWorkload, seed, type Workload } from './workload.ts'

export interface Servers {
  readonly moto: MotoServer
  readonly proxy: QuotaProxy
}

export async function measurePush({ moto, proxy }: Servers, tool: PushTool, workload: Workload): Promise<PushRun> {
  await moto.reset()
  await seed(moto.endpoint, workload.before)
  proxy.reset()
  const run = await tool.push({ ssmEndpoint: proxy.endpoint, secrets: workload.secrets })
  const calls = [...proxy.calls]
  explainFailure(tool.id, run)
  return {
    wallMs: run.endedAt - run.startedAt,
    startupMs: (calls[0]?.arrivedAt ?? run.endedAt) - run.startedAt,
    exitCode: run.exitCode,
    ...ssmUse(calls),
    ...(await outcome(moto.endpoint, workload)),
    writes: writePhase(calls, proxy.rate('PutParameter'))
  }
}

export async function measureSync({ proxy }: Servers, kube: KubeApiServer, tool: SyncTool, namespace: string, m: number): Promise<SyncRun> {
  kube.apply(externalSecrets(namespace, m))
  await kube.operator.idle()
  const synced = () => new Map(kube.list('ExternalSecret', namespace).map((es) => [es.metadata.name, freshnessMark(es)]))
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
  const fresh = kube.operator.reconciles.slice(reconciled).filter((record) => record.namespace === namespace && record.outcome === 'synced')
  const first = Math.min(calls[0]?.arrivedAt ?? Infinity, firstKubeRequest.at() ?? Infinity, run.endedAt)
  return {
    wallMs: run.endedAt - run.startedAt,
    startupMs: first - run.startedAt,
    exitCode: run.exitCode,
    ...ssmUse(calls),
    stale: [...after].filter(([name, mark]) => mark === undefined || mark === before.get(name)).length,
    operatorSpanMs: fresh.length ? fresh[fresh.length - 1].finishedAt - (fresh[0].startedAt - kube.operator.reconcileDelayMs) : 0,
    kube: kubeUse(requests)
  }
}

/** dist/index.js to its first SSM request, against `aws ssm get-parameter` (to its request, and the whole call), alternating. */
export async function measureStartup({ moto, proxy }: Servers, action: PushTool, repetitions: number): Promise<Startup> {
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
    const cli = await timedSpawn('aws', ['ssm', 'get-parameter', '--name', parameterName(1), '--endpoint-url', proxy.endpoint], AWS_ENV)
    explainFailure('aws ssm get-parameter', cli)
    cliFirst.push((proxy.calls[0]?.arrivedAt ?? cli.endedAt) - cli.startedAt)
    cliCall.push(cli.endedAt - cli.startedAt)
  }
  return { repetitions, actionToFirstRequestMs: median(actionFirst), cliToFirstRequestMs: median(cliFirst), cliCallMs: median(cliCall) }
}

function ssmUse(calls: readonly CallRecord[]): SsmUse {
  const count = (throttled: boolean) => {
    const counts: Record<string, number> = {}
    for (const call of calls) if (call.throttled === throttled) counts[call.operation] = (counts[call.operation] ?? 0) + 1
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
  const status = es.status as { syncedResourceVersion?: string; conditions?: { type: string; status: string }[] } | undefined
  return status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ? status.syncedResourceVersion : undefined
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
