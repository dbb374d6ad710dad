/**
 * The benchmark: the action against the pipeline it replaces, on the same work, in one run, behind a proxy
 * that enforces Parameter Store's quotas (scaled). Writes bench/results.json and BENCHMARKS.md.
 *
 *   node bench/run.ts [--full] [--scale 10] [--latency-ms 20] [--reconcile-ms 200] [--pod-start-ms 1000]
 *   node bench/run.ts --only rollout   # the rollout scenario alone, merged into bench/results.json
 *   node bench/run.ts --only regions   # the regions scenario alone, merged into bench/results.json
 *   node bench/run.ts --render    # BENCHMARKS.md again from bench/results.json, measuring nothing
 *
 * Quick mode (default): N=10 and 100, M=1 and 10, fewer repetitions. --full: N=10, 100, 1000 with every
 * change pattern and M=1, 10, 50, the action and the sync 5 times each, the baselines fewer times (see plan()).
 * Both end with the rollout scenario (a typical release with restart: changed on 10 workloads), 3 times (--full: 5),
 * and the regions scenario (a first push of 100 keys into 1 region and into 3, side by side), 5 pairs.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { startKubeApiServer } from '../testing/kube/index.ts'
import { MOTO_INSTALL_HINT, motoAvailable, startMoto } from '../testing/moto.ts'
import {
  measurePush,
  measureRegionsPush,
  measureRollout,
  measureStartup,
  measureSync,
  type RolloutSetup,
  type Servers
} from './measure.ts'
import { startQuotaProxy, type QuotaProxy } from './quota-proxy.ts'
import { renderReport } from './report.ts'
import {
  counts,
  evaluateTargets,
  summarizePush,
  summarizeRegions,
  summarizeRollout,
  summarizeSync,
  type Build,
  type Machine,
  type Measurement,
  type PushRun,
  type PushScenario,
  type QuotaSettings,
  type RegionsPair,
  type RegionsPushRun,
  type RegionsScenario,
  type Results,
  type RolloutRun,
  type RolloutScenario,
  type SyncRun,
  type SyncScenario
} from './results.ts'
import { actionTools, snapshotBundle } from './tools/action.ts'
import { sdkLoopPush } from './tools/sdk-loop.ts'
import { kubectlSync, shellPush } from './tools/shell.ts'
import type { PushTool, ReleaseTool, SyncTool } from './tools/tool.ts'
import {
  pushWorkload,
  seed,
  parameterName,
  REGION,
  REPLICA_REGIONS,
  ROLLOUT_CHANGED_SECRET,
  ROLLOUT_EXTERNAL_SECRETS,
  rolloutWorkloads,
  type Changed,
  type Workload
} from './workload.ts'

interface PushPlan {
  readonly n: number
  readonly changed: Changed
  readonly tools: readonly { tool: PushTool; repetitions: number }[]
}

interface Plan {
  readonly push: PushPlan[]
  readonly sync: readonly number[]
  readonly syncTools: readonly SyncTool[]
  readonly syncRepetitions: number
  readonly startupRepetitions: number
  readonly rolloutRepetitions: number
  /** Pairs of first pushes (one region, then every region, or the other way round) and re-runs of the regions scenario. */
  readonly regionsRepetitions: number
}

const CHANGED: readonly Changed[] = ['none', 'one', 'all']

/** The scenarios `--only` measures alone, merged into bench/results.json. */
const ONLY: readonly string[] = ['rollout', 'regions']

/**
 * --full: every N and change pattern, the action 5 times. The baselines cost minutes a run (the shell loop
 * about 0.6 s a key, 12 minutes at N=1000), so they run fewer times, and the shell loop at N=1000 only for
 * the typical release: it writes every key whatever changed, so its time does not depend on the pattern
 * (as N=10 and N=100 show). Quick (under 3 minutes): N=10 and 100, the baselines once.
 */
function plan(full: boolean, action: { push: PushTool; sync: SyncTool }): Plan {
  const syncTools = [action.sync, kubectlSync]
  if (full) {
    const push = [10, 100, 1000].flatMap((n) =>
      CHANGED.map((changed) => ({
        n,
        changed,
        tools: [
          { tool: action.push, repetitions: 5 },
          { tool: sdkLoopPush, repetitions: n < 1000 ? 3 : 1 },
          ...(n < 1000 || changed === 'one' ? [{ tool: shellPush, repetitions: n < 100 ? 3 : 1 }] : [])
        ]
      }))
    )
    return {
      push,
      sync: [1, 10, 50],
      syncTools,
      syncRepetitions: 5,
      startupRepetitions: 10,
      rolloutRepetitions: 5,
      regionsRepetitions: 5
    }
  }
  const all = [
    { tool: action.push, repetitions: 3 },
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
    syncTools,
    syncRepetitions: 2,
    startupRepetitions: 3,
    rolloutRepetitions: 3,
    regionsRepetitions: 5
  }
}

const log = (line: string) => console.error(line)
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

async function pushScenarios(servers: Servers, plans: readonly PushPlan[]): Promise<PushScenario[]> {
  const { proxy } = servers
  const scenarios: PushScenario[] = []
  for (const { n, changed, tools } of plans) {
    const workload = pushWorkload(n, changed)
    const quotaBoundMs =
      (Math.ceil(n / 10) / proxy.rate('GetParameters') + workload.changedKeys / proxy.rate('PutParameter')) * 1000
    const runs = new Map(tools.map(({ tool }) => [tool, [] as PushRun[]]))
    // Repetitions interleave the tools, so a noisy moment of the machine does not land on one tool only.
    for (let repetition = 0; repetition < Math.max(...tools.map((t) => t.repetitions)); repetition++) {
      for (const { tool } of tools.filter((t) => t.repetitions > repetition)) {
        const run = await measurePush(servers, tool, workload)
        runs.get(tool)!.push(run)
        log(
          `push N=${n} changed=${changed} ${tool.id} #${repetition + 1}: ${seconds(run.wallMs)}, calls ${JSON.stringify(run.calls)}, throttled ${JSON.stringify(run.throttled)}, lost ${run.lostWrites}`
        )
      }
    }
    scenarios.push({
      n,
      changed,
      changedKeys: workload.changedKeys,
      quotaBoundMs,
      tools: tools.map(({ tool }) => summarizePush(tool, runs.get(tool)!, quotaBoundMs))
    })
  }
  return scenarios
}

async function syncScenarios(servers: Servers, plan: Plan, reconcileDelayMs: number): Promise<SyncScenario[]> {
  const { moto } = servers
  await moto.reset()
  await seed(
    moto.endpoint,
    Object.fromEntries(
      Array.from({ length: Math.max(...plan.sync) }, (_, i) => [parameterName(i + 1), `value-${i + 1}`])
    )
  )
  const kube = await startKubeApiServer({ ssmEndpoint: moto.endpoint, versions: ['v1'], reconcileDelayMs })
  try {
    const scenarios: SyncScenario[] = []
    for (const m of plan.sync) {
      const quotaBoundMs = m * reconcileDelayMs
      const runs = new Map(plan.syncTools.map((tool) => [tool, [] as SyncRun[]]))
      for (let repetition = 0; repetition < plan.syncRepetitions; repetition++) {
        for (const tool of plan.syncTools) {
          const run = await measureSync(servers, kube, tool, `bench-m${m}-${tool.id}-${repetition + 1}`, m)
          runs.get(tool)!.push(run)
          log(
            `sync M=${m} ${tool.id} #${repetition + 1}: ${seconds(run.wallMs)}, stale ${run.stale}/${m}, operator ${seconds(run.operatorSpanMs)}, kube ${JSON.stringify(run.kube)}`
          )
        }
      }
      scenarios.push({
        m,
        reconcileDelayMs,
        quotaBoundMs,
        tools: plan.syncTools.map((tool) => summarizeSync(tool, runs.get(tool)!, quotaBoundMs))
      })
    }
    return scenarios
  } finally {
    await kube.close()
  }
}

async function rolloutScenario(
  servers: Servers,
  tool: ReleaseTool,
  repetitions: number,
  setup: RolloutSetup,
  measured: Measurement
): Promise<RolloutScenario> {
  const workloads = rolloutWorkloads()
  const readers = workloads.filter(({ secret }) => secret === ROLLOUT_CHANGED_SECRET)
  const runs: RolloutRun[] = []
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const run = await measureRollout(servers, tool, setup)
    runs.push(run)
    log(
      `rollout ${tool.id} #${repetition + 1}: ${seconds(run.wallMs)}, first restart to exit ${seconds(run.restartToExitMs)}, controllers ${seconds(run.controllersMs)}, ` +
        `exit ${seconds(run.exitAfterRolloutsMs)} after the last rollout; ${run.rolloutsComplete} rolled out, ${run.stalePods} stale pods, ${run.othersRestarted} others restarted; ` +
        `workloads ${JSON.stringify(run.requests)} (list bound ${run.listBound}); SSM ${JSON.stringify(run.ssmCalls)}`
    )
  }
  return summarizeRollout({
    n: 100,
    changedKeys: 1,
    readers: readers.length,
    readersByKind: Object.fromEntries(
      ['Deployment', 'StatefulSet', 'DaemonSet'].map((kind) => [kind, readers.filter((w) => w.kind === kind).length])
    ),
    others: workloads.length - readers.length,
    replicas: 2,
    externalSecrets: ROLLOUT_EXTERNAL_SECRETS,
    podStartMs: setup.podStartMs,
    reconcileDelayMs: setup.reconcileDelayMs,
    measured,
    tool: tool.id,
    label: tool.label,
    runs
  })
}

/** The regions scenario's N: the issue's "first push of 100 keys". */
const REGIONS_N = 100

/**
 * A first push of N keys into the primary alone and into the primary and REPLICA_REGIONS, side by side: after one
 * unmeasured run of each, pairs of the two, alternating which goes first, so that the machine's load (shared, 2 CPUs)
 * weighs on both alike; then re-runs into every region with nothing to do.
 */
async function regionsScenario(
  servers: Servers,
  tools: { push: PushTool; replicated: PushTool },
  repetitions: number,
  quota: QuotaSettings,
  measured: Measurement
): Promise<RegionsScenario> {
  const everywhere = [REGION, ...REPLICA_REGIONS]
  const firstPush = pushWorkload(REGIONS_N, 'all')
  const regionsText = (run: RegionsPushRun) =>
    run.regions
      .map(
        ({ region, calls, throttled, lostWrites }) =>
          `${region}: ${counts(calls)} (throttled ${counts(throttled)}, lost ${lostWrites})`
      )
      .join('; ')
  const sides = {
    one: (workload: Workload) => measureRegionsPush(servers, tools.push, workload, [REGION]),
    all: (workload: Workload) => measureRegionsPush(servers, tools.replicated, workload, everywhere)
  }
  // Not measured: moto loads its backends on its first calls (a first GetParameters took about 3 s more than the next
  // one on this machine), which would slow whichever side ran first.
  for (const side of ['one', 'all'] as const) await sides[side](firstPush)
  const pairs: RegionsPair[] = []
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const order = repetition % 2 === 0 ? (['one', 'all'] as const) : (['all', 'one'] as const)
    const load = loadavg()[0]
    const earlier = await sides[order[0]](firstPush)
    const later = await sides[order[1]](firstPush)
    const [one, all] = order[0] === 'one' ? [earlier, later] : [later, earlier]
    pairs.push({ first: order[0], load, one, all, ratio: all.wallMs / one.wallMs })
    log(
      `regions pair #${repetition + 1} (${order.join(' then ')}, load ${load.toFixed(2)}): 1 region ${seconds(one.wallMs)}, ${everywhere.length} regions ${seconds(all.wallMs)}, ` +
        `ratio ${(all.wallMs / one.wallMs).toFixed(2)}; ${regionsText(all)}`
    )
  }
  const reruns: RegionsPushRun[] = []
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const run = await sides.all(pushWorkload(REGIONS_N, 'none'))
    reruns.push(run)
    log(`regions re-run #${repetition + 1}: ${seconds(run.wallMs)}; ${regionsText(run)}`)
  }
  return summarizeRegions({
    n: REGIONS_N,
    primary: REGION,
    replicas: REPLICA_REGIONS,
    measured,
    quota,
    quotaBoundMs: (Math.ceil(REGIONS_N / 10) / quota.readPerSecond + REGIONS_N / quota.writePerSecond) * 1000,
    label: tools.push.label,
    pairs,
    reruns
  })
}

function quotaSettings(proxy: QuotaProxy, scale: number, latencyMs: number): QuotaSettings {
  return {
    scale,
    latencyMs,
    writePerSecond: proxy.rate('PutParameter'),
    readPerSecond: proxy.rate('GetParameters'),
    writeBurst: proxy.burst('PutParameter'),
    readBurst: proxy.burst('GetParameters')
  }
}

/** The first line a command prints, or 'unknown'. */
async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args)
    return (stdout || stderr).trim().split('\n')[0]
  } catch {
    return 'unknown'
  }
}

async function build(distSha256: string): Promise<Build> {
  return {
    distSha256,
    commit: await firstLine('git', ['rev-parse', 'HEAD']),
    uncommitted: (await firstLine('git', ['status', '--porcelain', 'dist', 'src'])) !== ''
  }
}

async function machine(): Promise<Machine> {
  return {
    nproc: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpu: cpus()[0]?.model ?? 'unknown',
    os: `${type()} ${release()}`,
    node: process.version,
    awsCli: await firstLine('aws', ['--version']),
    kubectl: await firstLine('kubectl', ['version', '--client']),
    moto: await firstLine('python3', ['-c', 'import moto; print(moto.__version__)'])
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      scale: { type: 'string', default: '10' },
      'latency-ms': { type: 'string', default: '20' },
      'reconcile-ms': { type: 'string', default: '200' },
      'pod-start-ms': { type: 'string', default: '1000' },
      only: { type: 'string' },
      render: { type: 'boolean', default: false }
    }
  })
  if (values.render) {
    process.chdir(fileURLToPath(new URL('..', import.meta.url)))
    writeFileSync('BENCHMARKS.md', renderReport(JSON.parse(readFileSync('bench/results.json', 'utf8')) as Results))
    return 0
  }
  const scale = Number(values.scale)
  const latencyMs = Number(values['latency-ms'])
  const reconcileDelayMs = Number(values['reconcile-ms'])
  const podStartMs = Number(values['pod-start-ms'])
  if (
    ![scale, latencyMs, reconcileDelayMs, podStartMs].every((value) => Number.isFinite(value) && value >= 0) ||
    scale === 0 ||
    (values.only !== undefined && !ONLY.includes(values.only))
  ) {
    console.error(
      'usage: node bench/run.ts [--full] [--scale 10] [--latency-ms 20] [--reconcile-ms 200] [--pod-start-ms 1000] [--only rollout|regions]'
    )
    return 2
  }
  if (!motoAvailable()) {
    console.error(MOTO_INSTALL_HINT)
    return 1
  }
  process.chdir(fileURLToPath(new URL('..', import.meta.url)))
  if (values.only && !existsSync('bench/results.json')) {
    console.error(`--only ${values.only} merges into bench/results.json: run the whole benchmark first`)
    return 1
  }
  const args = process.argv.slice(2)
  const command =
    process.env.npm_lifecycle_event === 'bench'
      ? `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`
      : `node bench/run.ts${args.length ? ` ${args.join(' ')}` : ''}`
  const mode = values.full ? 'full' : 'quick'
  const startedAt = Date.now()

  const bundle = await snapshotBundle()
  // Which sources the copied dist/ came from, read now: the work tree may move on during a long run.
  const measured = await build(bundle.sha256)
  const action = actionTools(bundle)
  const chosen = plan(mode === 'full', action)
  const moto = await startMoto()
  const proxy = await startQuotaProxy(moto.endpoint, { scale, latencyMs })
  const servers = { moto, proxy }
  const stop = () => void Promise.all([proxy.close(), moto.stop()]).then(() => process.exit(130))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    log(
      `${command}: ${mode} mode; quotas ${proxy.rate('PutParameter')} PutParameter/s and ${proxy.rate('GetParameters')} reads/s (scale ${scale}), ${latencyMs} ms a call`
    )
    const rolloutSetup = { podStartMs, reconcileDelayMs }
    const quota = quotaSettings(proxy, scale, latencyMs)
    if (values.only) {
      const previous = JSON.parse(readFileSync('bench/results.json', 'utf8')) as Results
      const alone = { date: new Date().toISOString(), command, build: measured, machine: await machine() }
      const scenario =
        values.only === 'rollout'
          ? { rollout: await rolloutScenario(servers, action.release, chosen.rolloutRepetitions, rolloutSetup, alone) }
          : { regions: await regionsScenario(servers, action, chosen.regionsRepetitions, quota, alone) }
      const merged = { ...previous, ...scenario }
      const results: Results = { ...merged, targets: evaluateTargets(merged) }
      writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`)
      writeFileSync('BENCHMARKS.md', renderReport(results))
      log(
        `done in ${seconds(Date.now() - startedAt)}: the ${values.only} scenario merged into bench/results.json, BENCHMARKS.md written`
      )
      const own = values.only === 'rollout' ? 'restart: changed' : 'regions'
      for (const target of results.targets.filter(({ target }) => target.includes(own)))
        log(`${target.met ? 'met    ' : 'MISSED '}  ${target.target}: ${target.detail}`)
      return 0
    }
    const startup = await measureStartup(servers, action.push, chosen.startupRepetitions)
    log(
      `start-up: dist/index.js ${Math.round(startup.actionToFirstRequestMs)} ms to its first request; aws CLI call ${Math.round(startup.cliCallMs)} ms`
    )
    const push = await pushScenarios(servers, chosen.push)
    const sync = await syncScenarios(servers, chosen, reconcileDelayMs)
    const date = new Date().toISOString()
    const runMachine = await machine()
    const measurement = { date, command, build: measured, machine: runMachine }
    const rollout = await rolloutScenario(servers, action.release, chosen.rolloutRepetitions, rolloutSetup, measurement)
    const regions = await regionsScenario(servers, action, chosen.regionsRepetitions, quota, measurement)
    const results: Results = {
      date,
      command,
      mode,
      machine: runMachine,
      build: measured,
      quota,
      startup,
      push,
      sync,
      rollout,
      regions,
      targets: evaluateTargets({ push, sync, startup, quota, rollout, regions })
    }
    writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`)
    writeFileSync('BENCHMARKS.md', renderReport(results))
    log(`done in ${seconds(Date.now() - startedAt)}: bench/results.json and BENCHMARKS.md written`)
    for (const target of results.targets)
      log(`${target.met === null ? 'not run' : target.met ? 'met    ' : 'MISSED '}  ${target.target}: ${target.detail}`)
    return 0
  } finally {
    await proxy.close()
    await moto.stop()
    bundle.remove()
  }
}

process.exitCode = await main()
