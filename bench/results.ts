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
  readonly targets: Target[]
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

function medianCounts(counts: readonly Record<string, number>[]): Record<string, number> {
  const operations = [...new Set(counts.flatMap(Object.keys))].sort()
  return Object.fromEntries(operations.map((operation) => [operation, median(counts.map((count) => count[operation] ?? 0))]))
}

function summary(tool: { id: string; label: string }, runs: readonly (SsmUse & { wallMs: number; startupMs: number; exitCode: number })[], quotaBoundMs: number) {
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

export function summarizePush(tool: { id: string; label: string }, runs: PushRun[], quotaBoundMs: number): PushToolResult {
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

export function summarizeSync(tool: { id: string; label: string }, runs: SyncRun[], quotaBoundMs: number): SyncToolResult {
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

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** The adoption targets, each met, missed, or not measured in this run. */
export function evaluateTargets({ push, sync, startup, quota }: Pick<Results, 'push' | 'sync' | 'startup' | 'quota'>): Target[] {
  const pushTool = (n: number, changed: Changed, tool: string) => push.find((s) => s.n === n && s.changed === changed)?.tools.find((t) => t.tool === tool)
  const notRun = (target: string, what: string): Target => ({ target, met: null, detail: `${what} was not run in this mode` })
  const targets: Target[] = []

  const typical = 'Typical release (100 secrets, one changed): at least 20x faster than the shell pipeline, exactly 10 GetParameters and 1 PutParameter'
  const action = pushTool(100, 'one', 'action')
  const shell = pushTool(100, 'one', 'shell')
  if (action && shell) {
    const exact = action.runs.every((run) => run.calls.GetParameters === 10 && run.calls.PutParameter === 1)
    const speedup = shell.wallMs / action.wallMs
    const others = Object.entries(action.calls).filter(([operation]) => !['GetParameters', 'PutParameter'].includes(operation))
    targets.push({
      target: typical,
      met: speedup >= 20 && exact,
      detail: `${speedup.toFixed(1)}x (${seconds(shell.wallMs)} vs ${seconds(action.wallMs)}); GetParameters ${action.calls.GetParameters ?? 0}, PutParameter ${action.calls.PutParameter ?? 0}${exact ? ' in every run' : ' (not in every run)'}${others.length ? `; also ${others.map(([operation, count]) => `${operation} ${count}`).join(', ')}` : ''}`
    })
  } else targets.push(notRun(typical, 'N=100 changed=one with both tools'))

  const rerun = 'Re-run with nothing changed: zero PutParameter, ceil(N/10) GetParameters'
  const reruns = push.filter((s) => s.changed === 'none').flatMap((s) => s.tools.filter((t) => t.tool === 'action').map((t) => ({ n: s.n, runs: t.runs })))
  targets.push(
    reruns.length
      ? {
          target: rerun,
          met: reruns.every(({ n, runs }) => runs.every((run) => !run.calls.PutParameter && run.calls.GetParameters === Math.ceil(n / 10))),
          detail: reruns
            .map(({ n, runs }) => `N=${n}: PutParameter ${median(runs.map((run) => run.calls.PutParameter ?? 0))}, GetParameters ${median(runs.map((run) => run.calls.GetParameters ?? 0))}`)
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
  const baselineLoss = push.flatMap((s) => s.tools.filter((t) => t.tool !== 'action' && t.lostWrites > 0).map((t) => `${t.tool} lost ${t.lostWrites} at N=${s.n} changed=${s.changed}`))
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
          met: syncAction.wallMs <= syncAction.operatorSpanMs + 1000 && syncAction.staleRuns === 0 && syncAction.kube.watches > 0 && syncAction.kube.maxReadsOfOnePath <= 2,
          detail: `${seconds(syncAction.wallMs)} vs operator ${seconds(syncAction.operatorSpanMs)} (+${seconds(syncAction.wallMs - syncAction.operatorSpanMs)}); stale returns ${syncAction.staleRuns}/${syncAction.runs.length}; ${syncAction.kube.watches} watch, ${syncAction.kube.reads} reads (at most ${syncAction.kube.maxReadsOfOnePath} of one path)`
        }
      : notRun(fifty, 'M=50 with the action')
  )

  targets.push({
    target: 'Start-up to first SSM request faster than one aws CLI call',
    met: startup.actionToFirstRequestMs < startup.cliCallMs,
    detail: `dist/index.js ${Math.round(startup.actionToFirstRequestMs)} ms to its first request; aws ssm get-parameter ${Math.round(startup.cliCallMs)} ms per call (${Math.round(startup.cliToFirstRequestMs)} ms to its request)`
  })
  return targets
}
