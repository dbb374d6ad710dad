/** What bench/results.json holds, how runs are summarized (medians), and the targets checked against them. */
import type { Changed } from './workload.ts'

export interface Machine {
  readonly nproc: number
  readonly memoryGiB: number
  readonly cpu: string
  readonly os: string
  readonly node: string
  readonly awsCli: string
  readonly kubectl: string
  readonly moto: string
}

export interface QuotaSettings {
  readonly scale: number
  readonly latencyMs: number
  /** Calls a second each bucket allows: PutParameter, and GetParameters (every read operation has its own bucket at this rate). */
  readonly writePerSecond: number
  readonly readPerSecond: number
  /** Tokens each bucket holds at most. */
  readonly writeBurst: number
  readonly readBurst: number
}

/** Which build of the action was measured. */
export interface Build {
  readonly distSha256: string
  readonly commit: string
  /** True when dist/ or src/ differed from that commit. */
  readonly uncommitted: boolean
}

/** How the PutParameter calls of one run used the write bucket. */
export interface WritePhase {
  /** From the first PutParameter's arrival to the last accepted one's. */
  readonly spanMs: number
  readonly accepted: number
  readonly throttled: number
  /** Accepted PutParameter a second over the span. */
  readonly perSecond: number
  /** Span minus the time the accepted calls needed at the bucket's rate: tokens nobody used. */
  readonly idleMs: number
}

export interface SsmUse {
  /** Accepted calls by operation. */
  readonly calls: Record<string, number>
  /** Calls answered ThrottlingException, by operation. */
  readonly throttled: Record<string, number>
}

export interface PushRun extends SsmUse {
  readonly wallMs: number
  /** Process start to its first SSM request at the proxy. */
  readonly startupMs: number
  readonly exitCode: number
  readonly versionsCreated: number
  readonly lostWrites: number
  readonly writes?: WritePhase
}

export interface KubeUse {
  /** Watch requests (GET ...?watch=true). */
  readonly watches: number
  /** GET and list requests that are not watches, discovery included. */
  readonly reads: number
  /** The most non-watch GETs of one ExternalSecret path (with its query): more than 2 is polling. */
  readonly maxReadsOfOnePath: number
  /** PATCH, PUT, POST, DELETE. */
  readonly writes: number
}

export interface SyncRun extends SsmUse {
  readonly wallMs: number
  /** Process start to its first request, SSM or Kubernetes. */
  readonly startupMs: number
  readonly exitCode: number
  /** ExternalSecrets whose status.syncedResourceVersion had not changed (or not Ready) when the tool returned. */
  readonly stale: number
  /** The operator's own time for the fresh syncs of this run: first reconcile's delay to the last one's end. */
  readonly operatorSpanMs: number
  readonly kube: KubeUse
}

interface ToolSummary {
  readonly tool: string
  readonly label: string
  /** Medians over the runs. */
  readonly wallMs: number
  readonly startupMs: number
  /** The scenario's quota bound plus this tool's median start-up. */
  readonly floorMs: number
  readonly ratioToFloor: number
  readonly failedRuns: number
}

export interface PushToolResult extends ToolSummary, SsmUse {
  readonly versionsCreated: number
  /** Over all runs. */
  readonly lostWrites: number
  readonly writes?: WritePhase
  readonly runs: PushRun[]
}

export interface PushScenario {
  readonly n: number
  readonly changed: Changed
  readonly changedKeys: number
  /** ceil(N/10) GetParameters at the read rate plus the changed keys at the write rate. */
  readonly quotaBoundMs: number
  readonly tools: PushToolResult[]
}

export interface SyncToolResult extends ToolSummary, SsmUse {
  readonly staleRuns: number
  readonly operatorSpanMs: number
  readonly kube: KubeUse
  readonly runs: SyncRun[]
}

export interface SyncScenario {
  readonly m: number
  readonly reconcileDelayMs: number
  /** M reconciles at the operator's pace (one at a time, reconcileDelayMs each). */
  readonly quotaBoundMs: number
  readonly tools: SyncToolResult[]
}

/** The action's requests on Deployments, StatefulSets and DaemonSets in one run. */
export interface WorkloadRequests {
  /** GETs of a kind's collection in a namespace that are not watches. */
  readonly lists: number
  /** GETs of one workload. */
  readonly gets: number
  readonly watches: number
  /** Restart patches. */
  readonly patches: number
}

export interface RolloutRun {
  readonly wallMs: number
  readonly exitCode: number
  /** From the first restart patch's arrival at the API server to the action's exit. */
  readonly restartToExitMs: number
  /** The controllers' own time: the first rollout's start (the restart seen) to the last one's completion by `kubectl rollout status`'s rules, as they record it. */
  readonly controllersMs: number
  /** From the last rollout's completion to the action's exit. */
  readonly exitAfterRolloutsMs: number
  /** Workloads reading the changed Secret whose rollout the controllers completed. */
  readonly rolloutsComplete: number
  /** Entries of the action's `restarted` output. */
  readonly reportedRestarted: number
  /** Pods of the workloads reading the changed Secret that, at the action's exit, did not run the new value (or were missing). */
  readonly stalePods: number
  /** Workloads reading other Secrets that were patched, rolled out, or no longer run their old value. */
  readonly othersRestarted: number
  readonly requests: WorkloadRequests
  /** Lists that are not polling: one per kind and namespace, plus one re-list per watch started again. */
  readonly listBound: number
  readonly ssmCalls: Record<string, number>
}

/** When, by which command and on which build a scenario was measured. */
export interface Measurement {
  readonly date: string
  readonly command: string
  readonly build: Build
  readonly machine: Machine
}

export interface RolloutScenario {
  /** Secrets pushed, and how many of them changed. */
  readonly n: number
  readonly changedKeys: number
  /** Workloads reading the changed Secret, by kind; and those reading other Secrets. */
  readonly readers: number
  readonly readersByKind: Record<string, number>
  readonly others: number
  /** Pods per workload (a DaemonSet: one on each of as many nodes). */
  readonly replicas: number
  readonly externalSecrets: number
  readonly podStartMs: number
  readonly reconcileDelayMs: number
  /** This scenario's own measurement: it may have been run alone (`--only rollout`) and merged into the file. */
  readonly measured: Measurement
  readonly tool: string
  readonly label: string
  /** Medians over the runs. */
  readonly wallMs: number
  readonly restartToExitMs: number
  readonly controllersMs: number
  readonly exitAfterRolloutsMs: number
  /** Median of each run's restartToExitMs - controllersMs, and the largest. */
  readonly overheadMs: number
  readonly maxOverheadMs: number
  readonly requests: WorkloadRequests
  readonly failedRuns: number
  /** Runs where a pod reading the changed Secret was not on the new value at exit, or a rollout did not complete. */
  readonly staleRuns: number
  readonly runs: RolloutRun[]
}

/** One region's share of a push: its SSM calls (by the region they were signed for), its final state, its writes. */
export interface RegionUse extends SsmUse {
  readonly region: string
  readonly versionsCreated: number
  readonly lostWrites: number
  readonly writes?: WritePhase
}

/** A push into one region or several: the whole run, and each region's share. */
export interface RegionsPushRun {
  readonly wallMs: number
  /** Process start to its first SSM request at the proxy, in any region. */
  readonly startupMs: number
  readonly exitCode: number
  /** The primary first, then the replicas in their order. */
  readonly regions: RegionUse[]
}

/** A first push into the primary alone and the same push into every region, one right after the other. */
export interface RegionsPair {
  /** Which of the two ran first: the pairs alternate, so a slow moment of the machine does not favour one side. */
  readonly first: 'one' | 'all'
  /** The machine's 1-minute load average (os.loadavg) just before the pair: other work shares its CPUs. */
  readonly load: number
  readonly one: RegionsPushRun
  readonly all: RegionsPushRun
  /** all.wallMs / one.wallMs. */
  readonly ratio: number
}

export interface RegionsScenario {
  readonly n: number
  readonly primary: string
  readonly replicas: readonly string[]
  /** This scenario's own measurement: it may have been run alone (`--only regions`) and merged into the file. */
  readonly measured: Measurement
  readonly quota: QuotaSettings
  /**
   * One region's quota bound: ceil(N/10) GetParameters at the read rate plus N PutParameter at the write rate. Each
   * region has its own quotas, so it is every region's bound as well: three regions written at once need no longer.
   */
  readonly quotaBoundMs: number
  readonly label: string
  readonly pairs: RegionsPair[]
  /** Medians over the pairs. */
  readonly oneWallMs: number
  readonly allWallMs: number
  /** The median of the pairs' ratios, and their spread. */
  readonly ratio: number
  readonly minRatio: number
  readonly maxRatio: number
  /** Re-runs into every region with nothing to do (each region seeded with the values pushed). */
  readonly reruns: RegionsPushRun[]
  /** Runs (first pushes and re-runs) that exited non-zero, and writes lost over all of them. */
  readonly failedRuns: number
  readonly lostWrites: number
}

export interface Startup {
  readonly repetitions: number
  /** dist/index.js: process start to its first SSM request. */
  readonly actionToFirstRequestMs: number
  /** `aws ssm get-parameter`: process start to its request, and the whole call. */
  readonly cliToFirstRequestMs: number
  readonly cliCallMs: number
}

export interface Target {
  readonly target: string
  /** null: not measured in this run. */
  readonly met: boolean | null
  readonly detail: string
}

export interface Results {
  readonly date: string
  readonly command: string
  readonly mode: 'quick' | 'full'
  readonly machine: Machine
  readonly build: Build
  readonly quota: QuotaSettings
  readonly startup: Startup
  readonly push: PushScenario[]
  readonly sync: SyncScenario[]
  /** Absent from files written before the scenario existed. */
  readonly rollout?: RolloutScenario
  /** Absent from files written before the scenario existed. */
  readonly regions?: RegionsScenario
  readonly targets: Target[]
}

/** Calls by operation as text: `GetParameters 10, PutParameter 1`, or `0`. */
export function counts(byOperation: Record<string, number>): string {
  const entries = Object.entries(byOperation).filter(([, count]) => count > 0)
  return entries.length ? entries.map(([operation, count]) => `${operation} ${count}`).join(', ') : '0'
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

function medianCounts(counts: readonly Record<string, number>[]): Record<string, number> {
  const operations = [...new Set(counts.flatMap(Object.keys))].sort()
  return Object.fromEntries(
    operations.map((operation) => [operation, median(counts.map((count) => count[operation] ?? 0))])
  )
}

function summary(
  tool: { id: string; label: string },
  runs: readonly (SsmUse & { wallMs: number; startupMs: number; exitCode: number })[],
  quotaBoundMs: number
) {
  const wallMs = median(runs.map((run) => run.wallMs))
  const startupMs = median(runs.map((run) => run.startupMs))
  const floorMs = quotaBoundMs + startupMs
  return {
    tool: tool.id,
    label: tool.label,
    wallMs,
    startupMs,
    floorMs,
    ratioToFloor: wallMs / floorMs,
    failedRuns: runs.filter((run) => run.exitCode !== 0).length,
    calls: medianCounts(runs.map((run) => run.calls)),
    throttled: medianCounts(runs.map((run) => run.throttled))
  }
}

export function summarizePush(
  tool: { id: string; label: string },
  runs: PushRun[],
  quotaBoundMs: number
): PushToolResult {
  const phases = runs.flatMap((run) => run.writes ?? [])
  const writes = phases.length
    ? {
        spanMs: median(phases.map((phase) => phase.spanMs)),
        accepted: median(phases.map((phase) => phase.accepted)),
        throttled: median(phases.map((phase) => phase.throttled)),
        perSecond: median(phases.map((phase) => phase.perSecond)),
        idleMs: median(phases.map((phase) => phase.idleMs))
      }
    : undefined
  return {
    ...summary(tool, runs, quotaBoundMs),
    versionsCreated: median(runs.map((run) => run.versionsCreated)),
    lostWrites: runs.reduce((sum, run) => sum + run.lostWrites, 0),
    writes,
    runs
  }
}

export function summarizeSync(
  tool: { id: string; label: string },
  runs: SyncRun[],
  quotaBoundMs: number
): SyncToolResult {
  return {
    ...summary(tool, runs, quotaBoundMs),
    staleRuns: runs.filter((run) => run.stale > 0).length,
    operatorSpanMs: median(runs.map((run) => run.operatorSpanMs)),
    kube: {
      watches: median(runs.map((run) => run.kube.watches)),
      reads: median(runs.map((run) => run.kube.reads)),
      maxReadsOfOnePath: Math.max(...runs.map((run) => run.kube.maxReadsOfOnePath)),
      writes: median(runs.map((run) => run.kube.writes))
    },
    runs
  }
}

export function summarizeRollout(
  scenario: Omit<
    RolloutScenario,
    | 'wallMs'
    | 'restartToExitMs'
    | 'controllersMs'
    | 'exitAfterRolloutsMs'
    | 'overheadMs'
    | 'maxOverheadMs'
    | 'requests'
    | 'failedRuns'
    | 'staleRuns'
  >
): RolloutScenario {
  const { runs } = scenario
  const of = (pick: (run: RolloutRun) => number) => median(runs.map(pick))
  const overheads = runs.map((run) => run.restartToExitMs - run.controllersMs)
  return {
    ...scenario,
    wallMs: of((run) => run.wallMs),
    restartToExitMs: of((run) => run.restartToExitMs),
    controllersMs: of((run) => run.controllersMs),
    exitAfterRolloutsMs: of((run) => run.exitAfterRolloutsMs),
    overheadMs: median(overheads),
    maxOverheadMs: Math.max(...overheads),
    requests: {
      lists: of((run) => run.requests.lists),
      gets: of((run) => run.requests.gets),
      watches: of((run) => run.requests.watches),
      patches: of((run) => run.requests.patches)
    },
    failedRuns: runs.filter((run) => run.exitCode !== 0).length,
    staleRuns: runs.filter((run) => run.stalePods > 0 || run.rolloutsComplete < scenario.readers).length
  }
}

export function summarizeRegions(
  scenario: Omit<
    RegionsScenario,
    'oneWallMs' | 'allWallMs' | 'ratio' | 'minRatio' | 'maxRatio' | 'failedRuns' | 'lostWrites'
  >
): RegionsScenario {
  const { pairs, reruns } = scenario
  const ratios = pairs.map(({ ratio }) => ratio)
  const runs = [...pairs.flatMap(({ one, all }) => [one, all]), ...reruns]
  return {
    ...scenario,
    oneWallMs: median(pairs.map(({ one }) => one.wallMs)),
    allWallMs: median(pairs.map(({ all }) => all.wallMs)),
    ratio: median(ratios),
    minRatio: Math.min(...ratios),
    maxRatio: Math.max(...ratios),
    failedRuns: runs.filter((run) => run.exitCode !== 0).length,
    lostWrites: runs.reduce((sum, run) => sum + run.regions.reduce((lost, region) => lost + region.lostWrites, 0), 0)
  }
}

/**
 * Whether a re-run read each region once, ceil(N/10) GetParameters accepted, and tried no other call there (accepted
 * or throttled): no write anywhere.
 */
export function onlyOneReadPass(run: RegionsPushRun, n: number): boolean {
  return run.regions.every(
    ({ calls, throttled }) =>
      calls.GetParameters === Math.ceil(n / 10) &&
      [...Object.keys(calls), ...Object.keys(throttled)].every((operation) => operation === 'GetParameters')
  )
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** The adoption targets, each met, missed, or not measured in this run. */
export function evaluateTargets({
  push,
  sync,
  startup,
  quota,
  rollout,
  regions
}: Pick<Results, 'push' | 'sync' | 'startup' | 'quota' | 'rollout' | 'regions'>): Target[] {
  const pushTool = (n: number, changed: Changed, tool: string) =>
    push.find((s) => s.n === n && s.changed === changed)?.tools.find((t) => t.tool === tool)
  const notRun = (target: string, what: string): Target => ({
    target,
    met: null,
    detail: `${what} was not run in this mode`
  })
  const targets: Target[] = []

  const typical =
    'Typical release (100 secrets, one changed): at least 20x faster than the shell pipeline, exactly 10 GetParameters and 1 PutParameter'
  const action = pushTool(100, 'one', 'action')
  const shell = pushTool(100, 'one', 'shell')
  if (action && shell) {
    const exact = action.runs.every((run) => run.calls.GetParameters === 10 && run.calls.PutParameter === 1)
    const speedup = shell.wallMs / action.wallMs
    const others = Object.entries(action.calls).filter(
      ([operation]) => !['GetParameters', 'PutParameter'].includes(operation)
    )
    targets.push({
      target: typical,
      met: speedup >= 20 && exact,
      detail: `${speedup.toFixed(1)}x (${seconds(shell.wallMs)} vs ${seconds(action.wallMs)}); GetParameters ${action.calls.GetParameters ?? 0}, PutParameter ${action.calls.PutParameter ?? 0}${exact ? ' in every run' : ' (not in every run)'}${others.length ? `; also ${others.map(([operation, count]) => `${operation} ${count}`).join(', ')}` : ''}`
    })
  } else targets.push(notRun(typical, 'N=100 changed=one with both tools'))

  const rerun = 'Re-run with nothing changed: zero PutParameter, ceil(N/10) GetParameters'
  const reruns = push
    .filter((s) => s.changed === 'none')
    .flatMap((s) => s.tools.filter((t) => t.tool === 'action').map((t) => ({ n: s.n, runs: t.runs })))
  targets.push(
    reruns.length
      ? {
          target: rerun,
          met: reruns.every(({ n, runs }) =>
            runs.every((run) => !run.calls.PutParameter && run.calls.GetParameters === Math.ceil(n / 10))
          ),
          detail: reruns
            .map(
              ({ n, runs }) =>
                `N=${n}: PutParameter ${median(runs.map((run) => run.calls.PutParameter ?? 0))}, GetParameters ${median(runs.map((run) => run.calls.GetParameters ?? 0))}`
            )
            .join('; ')
        }
      : notRun(rerun, 'changed=none')
  )

  for (const n of [100, 1000]) {
    const first = `First push of ${n} (every key new): wall time within 1.2x the floor`
    const tool = pushTool(n, 'all', 'action')
    targets.push(
      tool
        ? {
            target: first,
            met: tool.ratioToFloor <= 1.2,
            detail:
              `${tool.ratioToFloor.toFixed(2)}x (${seconds(tool.wallMs)} vs floor ${seconds(tool.floorMs)})` +
              (tool.writes
                ? `; PutParameter accepted at ${tool.writes.perSecond.toFixed(1)}/s of the bucket's ${quota.writePerSecond}/s, ${tool.writes.throttled} throttled attempts, ${seconds(tool.writes.idleMs)} of write tokens unused`
                : '')
          }
        : notRun(first, `N=${n} changed=all`)
    )
  }

  const lost = 'Zero writes lost'
  const actionRuns = push.flatMap((s) => s.tools.filter((t) => t.tool === 'action'))
  const baselineLoss = push.flatMap((s) =>
    s.tools
      .filter((t) => t.tool !== 'action' && t.lostWrites > 0)
      .map((t) => `${t.tool} lost ${t.lostWrites} at N=${s.n} changed=${s.changed}`)
  )
  targets.push({
    target: lost,
    met: actionRuns.every((t) => t.lostWrites === 0),
    detail: `action: ${actionRuns.reduce((sum, t) => sum + t.lostWrites, 0)} lost over ${actionRuns.reduce((sum, t) => sum + t.runs.length, 0)} runs; baselines: ${baselineLoss.length ? baselineLoss.join('; ') : 'none lost'}`
  })

  const fifty = "Sync of 50 ExternalSecrets within the operator's own pace plus one second, by a watch not polling"
  const syncAction = sync.find((s) => s.m === 50)?.tools.find((t) => t.tool === 'action')
  targets.push(
    syncAction
      ? {
          target: fifty,
          met:
            syncAction.wallMs <= syncAction.operatorSpanMs + 1000 &&
            syncAction.staleRuns === 0 &&
            syncAction.kube.watches > 0 &&
            syncAction.kube.maxReadsOfOnePath <= 2,
          detail: `${seconds(syncAction.wallMs)} vs operator ${seconds(syncAction.operatorSpanMs)} (+${seconds(syncAction.wallMs - syncAction.operatorSpanMs)}); stale returns ${syncAction.staleRuns}/${syncAction.runs.length}; ${syncAction.kube.watches} watch, ${syncAction.kube.reads} reads (at most ${syncAction.kube.maxReadsOfOnePath} of one path)`
        }
      : notRun(fifty, 'M=50 with the action')
  )

  const restart = `Typical release with restart: changed on ${rollout?.readers ?? 10} workloads: within the controllers' own rollout time plus one second, by a watch`
  if (rollout) {
    const { runs, requests } = rollout
    const polling = runs.filter(
      (run) => run.requests.lists + run.requests.gets > run.listBound || run.requests.watches === 0
    ).length
    const wrong = runs.filter(
      (run) => run.exitCode !== 0 || run.reportedRestarted !== rollout.readers || run.othersRestarted > 0
    ).length
    targets.push({
      target: restart,
      met: rollout.overheadMs <= 1000 && rollout.staleRuns === 0 && polling === 0 && wrong === 0,
      detail:
        `first restart to exit ${seconds(rollout.restartToExitMs)} vs the controllers' ${seconds(rollout.controllersMs)} (+${seconds(rollout.overheadMs)}, at most +${seconds(rollout.maxOverheadMs)}), ` +
        `the exit ${seconds(rollout.exitAfterRolloutsMs)} after the last rollout completed; ` +
        `${rollout.staleRuns ? `a rollout unfinished or a pod not on the new value at exit in ${rollout.staleRuns}/${runs.length} runs` : `${rollout.readers}/${rollout.readers} rolled out, every pod on the new value at exit, in ${runs.length}/${runs.length} runs`}; ` +
        `${runs.reduce((sum, run) => sum + run.othersRestarted, 0)} restarts of the ${rollout.others} workloads reading other Secrets; ` +
        `on the workloads ${requests.lists} lists, ${requests.gets} gets, ${requests.watches} watches, ${requests.patches} patches (median), ` +
        `${polling ? `more reads than one list per kind and namespace plus re-lists in ${polling} runs` : 'within one list per kind and namespace (plus one per watch started again) in every run'}` +
        (wrong ? `; ${wrong} runs failed or reported the wrong workloads` : '')
    })
  } else targets.push(notRun(restart, 'the rollout scenario'))

  const count = regions ? regions.replicas.length + 1 : 3
  const replicated =
    `First push of ${regions?.n ?? 100} into ${count} regions (each its own quota): within 1.2x the same push into one, side by side; ` +
    'a re-run with nothing to do reads each region once and writes nowhere'
  if (regions) {
    const { pairs, reruns, n } = regions
    const readOnce = reruns.filter((run) => onlyOneReadPass(run, n)).length
    const perRegion = (run: RegionsPushRun) =>
      run.regions.map(({ region, calls }) => `${region} ${counts(calls)}`).join(', ')
    targets.push({
      target: replicated,
      met: regions.ratio <= 1.2 && regions.failedRuns === 0 && regions.lostWrites === 0 && readOnce === reruns.length,
      detail:
        `${regions.ratio.toFixed(2)}x (${seconds(regions.allWallMs)} vs ${seconds(regions.oneWallMs)}, median of ${pairs.length} pairs; ` +
        `${regions.minRatio.toFixed(2)}x to ${regions.maxRatio.toFixed(2)}x); ${regions.lostWrites} writes lost, ${regions.failedRuns} runs failed; ` +
        `re-run: ${reruns.length ? perRegion(reruns[0]) : 'not run'}` +
        `${readOnce === reruns.length ? ` in ${reruns.length}/${reruns.length} runs` : `, but not one read pass and no write in ${reruns.length - readOnce}/${reruns.length} runs`}`
    })
  } else targets.push(notRun(replicated, 'the regions scenario'))

  targets.push({
    target: 'Start-up to first SSM request faster than one aws CLI call',
    met: startup.actionToFirstRequestMs < startup.cliCallMs,
    detail: `dist/index.js ${Math.round(startup.actionToFirstRequestMs)} ms to its first request; aws ssm get-parameter ${Math.round(startup.cliCallMs)} ms per call (${Math.round(startup.cliToFirstRequestMs)} ms to its request)`
  })
  return targets
}
