/**
 * The benchmark: the action against the pipeline it replaces, on the same work, in one run, behind a proxy
 * that enforces Parameter Store's quotas (scaled). Writes bench/results.json and BENCHMARKS.md.
 *
 *   node bench/run.ts [--full] [--scale 10] [--latency-ms 20] [--reconcile-ms 100]
 *
 * Quick mode (default): N=10 and 100, M=1 and 10, fewer repetitions. --full: N=10, 100, 1000 with every
 * change pattern, M=1, 10, 50, 5 repetitions of everything.
 */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { availableParallelism, cpus, release, totalmem, type } from 'node:os'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parseArgs } from 'node:util'
import { startKubeApiServer } from '../testing/kube/index.ts'
import { MOTO_INSTALL_HINT, motoAvailable, startMoto } from '../testing/moto.ts'
import { measurePush, measureStartup, measureSync, type Servers } from './measure.ts'
import { REAL_RATES, startQuotaProxy } from './quota-proxy.ts'
import { renderReport } from './report.ts'
import { evaluateTargets, summarizePush, summarizeSync, type Machine, type PushScenario, type Results, type SyncScenario } from './results.ts'
import { actionPush, actionSync } from './tools/action.ts'
import { sdkLoopPush } from './tools/sdk-loop.ts'
import { kubectlSync, shellPush } from './tools/shell.ts'
import type { PushTool, SyncTool } from './tools/tool.ts'
import { pushWorkload, seed, parameterName, type Changed } from './workload.ts'

interface PushPlan {
  readonly n: number
  readonly changed: Changed
  readonly tools: readonly { tool: PushTool; repetitions: number }[]
}

interface Plan {
  readonly push: PushPlan[]
  readonly sync: readonly number[]
  readonly syncRepetitions: number
  readonly startupRepetitions: number
}

const CHANGED: readonly Changed[] = ['none', 'one', 'all']

/** --full: everything, 5 times. Quick: under 3 minutes; the shell loop (about half a second a key) runs at N=100 only for the typical release. */
function plan(full: boolean): Plan {
  if (full) {
    const tools = [actionPush, sdkLoopPush, shellPush].map((tool) => ({ tool, repetitions: 5 }))
    return { push: [10, 100, 1000].flatMap((n) => CHANGED.map((changed) => ({ n, changed, tools }))), sync: [1, 10, 50], syncRepetitions: 5, startupRepetitions: 10 }
  }
  const all = [
    { tool: actionPush, repetitions: 3 },
    { tool: sdkLoopPush, repetitions: 1 },
    { tool: shellPush, repetitions: 1 }
  ]
  const withoutShell = all.filter(({ tool }) => tool !== shellPush)
  return {
    push: [
      ...CHANGED.map((changed) => ({ n: 10, changed, tools: all })),
      { n: 100, changed: 'none', tools: withoutShell },
      { n: 100, changed: 'one', tools: all },
      { n: 100, changed: 'all', tools: withoutShell }
    ],
    sync: [1, 10],
    syncRepetitions: 3,
    startupRepetitions: 5
  }
}

const log = (line: string) => console.error(line)
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

async function pushScenarios(servers: Servers, plans: readonly PushPlan[]): Promise<PushScenario[]> {
  const { proxy } = servers
  const scenarios: PushScenario[] = []
  for (const { n, changed, tools } of plans) {
    const workload = pushWorkload(n, changed)
    const quotaBoundMs = (Math.ceil(n / 10) / proxy.rate('GetParameters') + workload.changedKeys / proxy.rate('PutParameter')) * 1000
    const runs = new Map(tools.map(({ tool }) => [tool, [] as Awaited<ReturnType<typeof measurePush>>[]]))
    // Repetitions interleave the tools, so a noisy moment of the machine does not land on one tool only.
    for (let repetition = 0; repetition < Math.max(...tools.map((t) => t.repetitions)); repetition++) {
      for (const { tool } of tools.filter((t) => t.repetitions > repetition)) {
        const run = await measurePush(servers, tool, workload)
        runs.get(tool)!.push(run)
        log(`push N=${n} changed=${changed} ${tool.id} #${repetition + 1}: ${seconds(run.wallMs)}, calls ${JSON.stringify(run.calls)}, throttled ${JSON.stringify(run.throttled)}, lost ${run.lostWrites}`)
      }
    }
    scenarios.push({ n, changed, changedKeys: workload.changedKeys, quotaBoundMs, tools: tools.map(({ tool }) => summarizePush(tool, runs.get(tool)!, quotaBoundMs)) })
  }
  return scenarios
}

async function syncScenarios(servers: Servers, plan: Plan, reconcileDelayMs: number): Promise<{ sync: SyncScenario[]; syncSkipped?: string }> {
  const { moto } = servers
  await moto.reset()
  await seed(moto.endpoint, Object.fromEntries(Array.from({ length: Math.max(...plan.sync) }, (_, i) => [parameterName(i + 1), `value-${i + 1}`])))
  const kube = await startKubeApiServer({ ssmEndpoint: moto.endpoint, versions: ['v1'], reconcileDelayMs })
  try {
    const probe = await measureSync(servers, kube, actionSync, 'bench-probe', 1)
    if (probe.kube.watches + probe.kube.reads + probe.kube.writes === 0) {
      return { sync: [], syncSkipped: 'the bundled action (dist/index.js) does not run the sync phase yet: it made no Kubernetes request with `namespace` and `kubeconfig` set' }
    }
    const tools: SyncTool[] = [actionSync, kubectlSync]
    const scenarios: SyncScenario[] = []
    for (const m of plan.sync) {
      const quotaBoundMs = m * reconcileDelayMs
      const runs = new Map(tools.map((tool) => [tool, [] as Awaited<ReturnType<typeof measureSync>>[]]))
      for (let repetition = 0; repetition < plan.syncRepetitions; repetition++) {
        for (const tool of tools) {
          const run = await measureSync(servers, kube, tool, `bench-m${m}-${tool.id}-${repetition + 1}`, m)
          runs.get(tool)!.push(run)
          log(`sync M=${m} ${tool.id} #${repetition + 1}: ${seconds(run.wallMs)}, stale ${run.stale}/${m}, operator ${seconds(run.operatorSpanMs)}, kube ${JSON.stringify(run.kube)}`)
        }
      }
      scenarios.push({ m, reconcileDelayMs, quotaBoundMs, tools: tools.map((tool) => summarizeSync(tool, runs.get(tool)!, quotaBoundMs)) })
    }
    return { sync: scenarios }
  } finally {
    await kube.close()
  }
}

async function machine(): Promise<Machine> {
  const run = promisify(execFile)
  const first = async (command: string, args: string[]) => {
    try {
      const { stdout, stderr } = await run(command, args)
      return (stdout || stderr).trim().split('\n')[0]
    } catch {
      return 'unknown'
    }
  }
  return {
    nproc: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpu: cpus()[0]?.model ?? 'unknown',
    os: `${type()} ${release()}`,
    node: process.version,
    awsCli: await first('aws', ['--version']),
    kubectl: await first('kubectl', ['version', '--client']),
    moto: await first('python3', ['-c', 'import moto; print(moto.__version__)'])
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      scale: { type: 'string', default: '10' },
      'latency-ms': { type: 'string', default: '20' },
      'reconcile-ms': { type: 'string', default: '100' }
    }
  })
  const scale = Number(values.scale)
  const latencyMs = Number(values['latency-ms'])
  const reconcileDelayMs = Number(values['reconcile-ms'])
  if (![scale, latencyMs, reconcileDelayMs].every((value) => Number.isFinite(value) && value >= 0) || scale === 0) {
    console.error('usage: node bench/run.ts [--full] [--scale 10] [--latency-ms 20] [--reconcile-ms 100]')
    return 2
  }
  if (!motoAvailable()) {
    console.error(MOTO_INSTALL_HINT)
    return 1
  }
  process.chdir(fileURLToPath(new URL('..', import.meta.url)))
  const args = process.argv.slice(2)
  const command = process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}` : `node bench/run.ts${args.length ? ` ${args.join(' ')}` : ''}`
  const mode = values.full ? 'full' : 'quick'
  const chosen = plan(mode === 'full')
  const startedAt = Date.now()

  const moto = await startMoto()
  const quota = { scale, latencyMs, burst: 1 }
  const proxy = await startQuotaProxy(moto.endpoint, quota)
  const servers = { moto, proxy }
  const stop = () => void Promise.all([proxy.close(), moto.stop()]).then(() => process.exit(130))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    log(`${command}: ${mode} mode; quotas ${proxy.rate('PutParameter')} PutParameter/s and ${proxy.rate('GetParameters')} reads/s (scale ${scale}), ${latencyMs} ms a call`)
    const startup = await measureStartup(servers, chosen.startupRepetitions)
    log(`start-up: dist/index.js ${Math.round(startup.actionToFirstRequestMs)} ms to its first request; aws CLI call ${Math.round(startup.cliCallMs)} ms`)
    const push = await pushScenarios(servers, chosen.push)
    const { sync, syncSkipped } = await syncScenarios(servers, chosen, reconcileDelayMs)
    if (syncSkipped) log(`sync scenarios skipped: ${syncSkipped}`)
    const settings = { ...quota, writePerSecond: REAL_RATES.write * scale, readPerSecond: REAL_RATES.read * scale }
    const results: Results = {
      date: new Date().toISOString(),
      command,
      mode,
      machine: await machine(),
      quota: settings,
      startup,
      push,
      sync,
      ...(syncSkipped ? { syncSkipped } : {}),
      targets: evaluateTargets({ push, sync, startup, quota: settings })
    }
    writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`)
    writeFileSync('BENCHMARKS.md', renderReport(results))
    log(`done in ${seconds(Date.now() - startedAt)}: bench/results.json and BENCHMARKS.md written`)
    for (const target of results.targets) log(`${target.met === null ? 'not run' : target.met ? 'met    ' : 'MISSED '}  ${target.target}: ${target.detail}`)
    return 0
  } finally {
    await proxy.close()
    await moto.stop()
  }
}

process.exitCode = await main()
