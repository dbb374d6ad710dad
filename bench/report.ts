/** Renders BENCHMARKS.md from one run's results. */
import {
  counts,
  median,
  onlyOneReadPass,
  type PushScenario,
  type PushToolResult,
  type Measurement,
  type RegionsPushRun,
  type RegionsScenario,
  type RegionUse,
  type Results,
  type RolloutScenario,
  type SyncScenario
} from './results.ts'

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const times = (ratio: number) => `${ratio.toFixed(ratio < 10 ? 2 : 1)}x`

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`)
  ].join('\n')
}

function pushRows(scenario: PushScenario): string[][] {
  const shell = scenario.tools.find((tool) => tool.tool === 'shell')
  return scenario.tools.map((tool: PushToolResult) => [
    String(scenario.n),
    scenario.changed,
    tool.label,
    seconds(tool.wallMs),
    seconds(tool.floorMs),
    times(tool.ratioToFloor),
    shell && tool !== shell ? times(shell.wallMs / tool.wallMs) : '',
    counts(tool.calls),
    counts(tool.throttled),
    String(tool.versionsCreated),
    String(tool.lostWrites),
    `${tool.runs.length}${tool.failedRuns ? ` (${tool.failedRuns} failed)` : ''}`
  ])
}

function writeRows(push: PushScenario[]): string[][] {
  return push.flatMap((scenario) =>
    scenario.tools.flatMap((tool) =>
      tool.writes && tool.writes.accepted >= 10
        ? [
            [
              `N=${scenario.n} ${scenario.changed}`,
              tool.label,
              String(tool.writes.accepted),
              String(tool.writes.throttled),
              seconds(tool.writes.spanMs),
              tool.writes.perSecond.toFixed(1),
              seconds(tool.writes.idleMs)
            ]
          ]
        : []
    )
  )
}

function syncRows(scenario: SyncScenario): string[][] {
  return scenario.tools.map((tool) => [
    String(scenario.m),
    tool.label,
    seconds(tool.wallMs),
    seconds(tool.operatorSpanMs),
    seconds(tool.floorMs),
    times(tool.ratioToFloor),
    `${tool.staleRuns}/${tool.runs.length}`,
    `${tool.kube.watches} / ${tool.kube.reads} / ${tool.kube.writes} (max ${tool.kube.maxReadsOfOnePath} of one path)`,
    counts(tool.calls),
    `${tool.runs.length}${tool.failedRuns ? ` (${tool.failedRuns} failed)` : ''}`
  ])
}

/** Whether a scenario was measured by a run of its own (`--only ...`) rather than by the run the file is from. */
function separately(results: Results, measured: Measurement | undefined): measured is Measurement {
  return measured !== undefined && (measured.date !== results.date || measured.command !== results.command)
}

function buildText({ distSha256, commit, uncommitted }: Results['build']): string {
  return `\`dist/index.js\` sha256 \`${distSha256.slice(0, 16)}\`, commit \`${commit.slice(0, 12)}\`${uncommitted ? ' with uncommitted changes in dist/ or src/' : ''}`
}

/** The scenarios measured by runs of their own, each with when, how and on what; empty when none was. */
function separateMeasurements(results: Results): string {
  const apart = [
    { scenario: 'rollout', measured: results.rollout?.measured },
    { scenario: 'regions', measured: results.regions?.measured }
  ].filter((entry): entry is { scenario: string; measured: Measurement } => separately(results, entry.measured))
  if (!apart.length) return ''
  const lines = apart.map(({ scenario, measured: { date, command, build, machine } }) => {
    const sameMachine =
      machine.nproc === results.machine.nproc &&
      machine.cpu === results.machine.cpu &&
      machine.os === results.machine.os &&
      machine.node === results.machine.node
    return (
      `\n**The ${scenario} scenario was measured separately**, by \`${command}\` on ${date.slice(0, 10)} (${date}), and merged into \`bench/results.json\`: ` +
      `action ${buildText(build)}${build.distSha256 === results.build.distSha256 ? ' (the same dist as the rest)' : ', not the dist the rest of this file measured'}; ` +
      `${sameMachine ? 'same machine' : `machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.os}, Node.js ${machine.node}`}.`
    )
  })
  return `${lines.join('\n')} Every other figure is from the run above.\n`
}

function measuredApart(results: Results, measured: Measurement | undefined): string {
  return separately(results, measured)
    ? `\n_Measured separately: ${measured.date.slice(0, 10)}, ${buildText(measured.build)} (see the top of this file)._\n`
    : ''
}

function rolloutSection(rollout: RolloutScenario | undefined): string {
  if (!rollout)
    return 'Not measured in this run (`npm run bench -- --only rollout` measures it and merges it into `bench/results.json`).'
  const kinds = Object.entries(rollout.readersByKind)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${kind}${count > 1 ? 's' : ''}`)
    .join(', ')
  const perRun = rollout.runs.map((run, i) => [
    String(i + 1),
    seconds(run.wallMs),
    seconds(run.restartToExitMs),
    seconds(run.controllersMs),
    `+${seconds(run.restartToExitMs - run.controllersMs)}`,
    seconds(run.exitAfterRolloutsMs),
    `${run.rolloutsComplete}/${rollout.readers}`,
    String(run.stalePods),
    String(run.othersRestarted),
    `${run.requests.lists} / ${run.requests.gets} / ${run.requests.watches} / ${run.requests.patches} (bound ${run.listBound})`,
    counts(run.ssmCalls),
    String(run.exitCode)
  ])
  return `A typical release (${rollout.n} secrets, ${rollout.changedKeys} changed) with \`namespace\` and \`restart: changed\`, through the quota proxy, on a fresh test API server for each run:
${rollout.externalSecrets} ExternalSecrets (the operator reconciling one at a time after ${rollout.reconcileDelayMs} ms), ${rollout.readers} workloads whose pods read the Secret the changed key syncs
into (${kinds}; \`envFrom\`, \`env\` key, secret volume and projected volume in turn) and ${rollout.others} reading the other Secrets, ${rollout.replicas} pods each
(a DaemonSet: one on each of ${rollout.replicas} nodes), default strategies (a Deployment's rolling update one pod at a time at 2 replicas, a StatefulSet's from the highest ordinal, a DaemonSet's
within maxUnavailable 1); the simulated kubelet starts a pod in ${rollout.podStartMs} ms. Before the run every pod runs the old value.

- *first restart to exit*: from the first restart patch's arrival at the API server to the action's exit;
- *controllers*: the controllers' own rollout time, as \`kube.controllers.rollouts\` records it: the first rollout's start (the restart seen)
  to the last one's completion by \`kubectl rollout status\`'s rules; *over*: the difference (the target: at most 1 s, median), which is the time
  the controllers took to act on the first patch plus *exit after*;
- *exit after*: from the last rollout's completion to the action's exit;
- *stale pods*: pods of the ${rollout.readers} workloads not on the new value at the action's exit (what each pod read when the simulated kubelet started it);
  *others*: workloads reading the other Secrets that were patched, rolled out or no longer on their old value (must be 0);
- *workload requests*: the action's requests on Deployments, StatefulSets and DaemonSets: lists / single GETs / watches / patches; polling would show
  as lists or GETs over the bound (one list per kind and namespace, plus one re-list per watch started again).

${table(
  [
    '',
    'tool',
    'wall',
    'first restart to exit',
    'controllers',
    'over',
    'exit after',
    'stale pods (all runs)',
    'workload lists / gets / watches / patches',
    'runs'
  ],
  [
    [
      'median',
      rollout.label,
      seconds(rollout.wallMs),
      seconds(rollout.restartToExitMs),
      seconds(rollout.controllersMs),
      `+${seconds(rollout.overheadMs)} (at most +${seconds(rollout.maxOverheadMs)})`,
      seconds(rollout.exitAfterRolloutsMs),
      String(rollout.runs.reduce((sum, run) => sum + run.stalePods, 0)) +
        (rollout.staleRuns ? ` (in ${rollout.staleRuns} runs)` : ''),
      `${rollout.requests.lists} / ${rollout.requests.gets} / ${rollout.requests.watches} / ${rollout.requests.patches}`,
      `${rollout.runs.length}${rollout.failedRuns ? ` (${rollout.failedRuns} failed)` : ''}`
    ]
  ]
)}

Each run:

${table(['run', 'wall', 'first restart to exit', 'controllers', 'over', 'exit after', 'rolled out', 'stale pods', 'others', 'workload lists / gets / watches / patches', 'SSM calls', 'exit code'], perRun)}`
}

function regionsSection(regions: RegionsScenario | undefined): string {
  if (!regions)
    return 'Not measured in this run (`npm run bench -- --only regions` measures it and merges it into `bench/results.json`).'
  const { n, primary, replicas, quota, pairs, reruns } = regions
  const count = replicas.length + 1
  const perRegion = (run: RegionsPushRun, cell: (region: RegionsPushRun['regions'][number]) => string) =>
    run.regions.map((region) => `${region.region} ${cell(region)}`).join('; ')
  const writes = (region: RegionsPushRun['regions'][number]) =>
    region.writes
      ? `${region.writes.accepted} + ${region.writes.throttled} throttled in ${seconds(region.writes.spanMs)} (${region.writes.perSecond.toFixed(1)}/s)`
      : 'no write phase'
  const exit = (run: RegionsPushRun) => String(run.exitCode)
  const perPair = pairs.map((pair, i) => [
    String(i + 1),
    pair.first === 'one' ? `1, then ${count}` : `${count}, then 1`,
    pair.load.toFixed(2),
    seconds(pair.one.wallMs),
    seconds(pair.all.wallMs),
    times(pair.ratio),
    `${seconds(pair.one.startupMs)} / ${seconds(pair.all.startupMs)}`,
    perRegion(pair.one, writes),
    perRegion(pair.all, writes),
    `${exit(pair.one)} / ${exit(pair.all)}`
  ])
  const perRerun = reruns.map((run, i) => [
    String(i + 1),
    seconds(run.wallMs),
    perRegion(run, ({ calls }) => counts(calls)),
    perRegion(run, ({ throttled }) => counts(throttled)),
    onlyOneReadPass(run, n) ? 'yes' : '**no**',
    exit(run)
  ])
  return `A first push of ${n} keys (none exists anywhere) into \`aws-region\` ${primary} alone, and the same push with \`replica-regions: ${replicas.join(', ')}\`
into ${count} regions (one \`ssm-endpoint\` serving them all), through the quota proxy with its buckets per region:
PutParameter ${quota.writePerSecond}/s and GetParameters ${quota.readPerSecond}/s in each region (scale ${quota.scale}, ${quota.latencyMs} ms a call). One region's floor,
${Math.ceil(n / 10)} reads and ${n} writes at those rates, is ${seconds(regions.quotaBoundMs)}; as each region has its own quota it is ${count} regions' floor too.
After one unmeasured push of each (moto's first calls load its backends: seconds here), the two pushes run as pairs, one right after the other,
the pairs alternating which goes first; *load* is the machine's 1-minute load average just before the pair (${regions.measured.machine.nproc} CPUs,
shared with other work). The target: ${count} regions within 1.2x one region (the median of the pairs' ratios). Then ${reruns.length} re-runs into the ${count} regions with nothing to do (each region seeded with the values pushed): each
region must be read once, ${Math.ceil(n / 10)} GetParameters and no other call, and nothing written.

${table(
  ['', 'tool', '1 region', `${count} regions`, `ratio (${count} / 1)`, 'lost writes', 'runs'],
  [
    [
      'median',
      regions.label,
      seconds(regions.oneWallMs),
      seconds(regions.allWallMs),
      `${times(regions.ratio)} (${times(regions.minRatio)} to ${times(regions.maxRatio)})`,
      String(regions.lostWrites),
      `${pairs.length} pairs, ${reruns.length} re-runs${regions.failedRuns ? ` (${regions.failedRuns} failed)` : ''}`
    ]
  ]
)}

Each pair (*writes*: PutParameter accepted + throttled attempts, from the first to the last accepted, per region):

${table(['pair', 'order', 'load', '1 region', `${count} regions`, 'ratio', `start-up, 1 / ${count}`, 'writes, 1 region', `writes, ${count} regions`, 'exit codes'], perPair)}

Each re-run with nothing to do (SSM calls per region):

${table(['run', 'wall', 'calls', 'throttled', 'one read pass, no write', 'exit code'], perRerun)}`
}

export function renderReport(results: Results): string {
  const { machine, quota, startup } = results
  const full = results.mode === 'full'
  return `# Benchmarks: the action against the pipeline it replaces

Generated by \`${results.command}\` on ${results.date.slice(0, 10)} (${results.date}), ${results.mode} mode. Do not edit by hand:
rerun the command, which rewrites this file and \`bench/results.json\` (every run's raw numbers).

Machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB memory, ${machine.os}; Node.js ${machine.node};
${machine.awsCli}; kubectl ${machine.kubectl.replace(/^Client Version: /, '')}; moto ${machine.moto}. Shared and noisy: every time is a median.
Action measured: ${buildText(results.build)}.
${separateMeasurements(results)}
## Rerun it

\`\`\`
npm run bench              # quick mode: N=10 and 100, M=1 and 10, fewer repetitions (under 3 minutes, plus about 40 s for the rollout scenario and a minute for the regions scenario)
npm run bench -- --full    # N=10, 100, 1000 x none/one/all changed, M=1, 10, 50; the action 5 times each (about 30 minutes)
npm run bench -- --only rollout   # the rollout scenario alone, 3 runs (--full: 5), about 40 s: merged into bench/results.json and this file
npm run bench -- --only regions   # the regions scenario alone, 5 pairs and 5 re-runs, about 1 minute: merged the same way
npm run bench -- --render  # this file again from bench/results.json, measuring nothing (after a change to bench/report.ts)
\`\`\`

Needs Node.js 24, \`moto_server\`, the aws CLI (v1) and kubectl on PATH. Options: \`--scale\` (quota multiplier, default 10),
\`--latency-ms\` (added to every SSM call, default 20), \`--reconcile-ms\` (the simulated operator's per-reconcile delay, default 200),
\`--pod-start-ms\` (the simulated kubelet's pod start in the rollout scenario, default 1000).

## What runs

- **Quota proxy** (\`bench/quota-proxy.ts\`, on \`testing/ssm-proxy.ts\`) in front of moto: Parameter Store's quotas, per account
  and region, scaled ${quota.scale}x, PutParameter ${quota.writePerSecond}/s (real: 3/s) and GetParameters ${quota.readPerSecond}/s (real: 40/s); one token
  bucket per region (the one a call is signed for) and operation (other writes at the write rate, other reads at the read rate), holding at most one second of the real
  quota (${quota.writeBurst} writes, ${quota.readBurst} reads); ${quota.latencyMs} ms added to every call, throttled or not. Over the rate it answers as SSM does:
  HTTP 400, \`x-amzn-errortype: ThrottlingException\`, \`{"__type":"ThrottlingException","message":"Rate exceeded"}\`. Each run starts with full buckets.
- **action**: \`dist/index.js\` run with plain node and the runner's \`INPUT_*\` variables and command files, as the GitHub runner
  runs it (\`testing/action.ts\`), from a copy of \`dist/\` taken when the benchmark starts.
- **sync-secrets-to-ssm.sh** (\`bench/baselines/\`): the platform's script today, one \`aws ssm put-parameter --type SecureString
  --overwrite\` per key (aws CLI v1, legacy retry mode, 5 attempts), \`set -euo pipefail\`; its sync part is
  \`kubectl annotate ... force-sync=$(date +%s) --overwrite\` then \`kubectl wait --for=condition=Ready\`.
- **naive SDK loop** (\`bench/baselines/sdk-loop.ts\`): one PutParameter per key, sequential, no diff, \`@aws-sdk/client-ssm\` defaults
  (standard retries, 3 attempts).
- **Scenarios**: N secrets of 40 characters; *none* changed (a re-run), *one* changed (a typical release), *all*: a first push, no
  parameter exists. Before each run moto is emptied and seeded directly (version 1, tagged as the action tags). Sync: M
  ExternalSecrets, Ready and synced, on the project's test API server (\`testing/kube\`) whose operator simulation reconciles one at
  a time after ${results.sync[0].reconcileDelayMs} ms.
- **Figures**: wall time from spawn to exit (median); SSM calls accepted and throttled by operation (medians); new parameter
  versions (median); writes lost = keys whose final value is wrong (sum over all runs); for sync, *stale* = the tool returned
  while some ExternalSecret's \`status.syncedResourceVersion\` had not changed yet.
- **Floor**: the least time the quotas allow: ceil(N/10) GetParameters at the read rate + the changed keys at the write rate
  (sync: M reconciles one at a time, M x ${results.sync[0].reconcileDelayMs} ms), plus the tool's own median start-up (spawn to its first request).
${full ? '- **Full mode** runs the action 5 times a scenario and sync 5 times; the baselines fewer times (SDK loop 3, shell loop 3 at N=10 and once at N=100), and the shell loop at N=1000 once, for the typical release only: it writes every key whatever changed, so its time does not depend on the pattern, as N=10 and N=100 show.\n' : '- **Quick mode** runs a subset: the baselines once and the action 3 times, sync twice, and the shell loop (over half a second per key) at N=100 only for the typical release.\n'}${
    results.rollout
      ? `- **Rollout** (a typical release with \`restart: changed\` on ${results.rollout.readers} workloads, described in its section): ${results.rollout.runs.length} runs${separately(results, results.rollout.measured) ? ', measured separately (see the top of this file)' : ''}.\n`
      : ''
  }${
    results.regions
      ? `- **Regions** (a first push of ${results.regions.n} keys into 1 region and into ${results.regions.replicas.length + 1}, side by side, then a re-run with nothing to do; described in its section): ${results.regions.pairs.length} pairs${separately(results, results.regions.measured) ? ', measured separately (see the top of this file)' : ''}.\n`
      : ''
  }
## Targets

${table(
  ['target', 'result', 'measured'],
  results.targets.map((target) => [
    target.target,
    target.met === null ? 'not measured' : target.met ? 'met' : '**missed**',
    target.detail
  ])
)}

## Start-up

Median of ${startup.repetitions}: \`dist/index.js\` reaches its first SSM request ${Math.round(startup.actionToFirstRequestMs)} ms after the process starts;
one \`aws ssm get-parameter\` call reaches its request after ${Math.round(startup.cliToFirstRequestMs)} ms and takes ${Math.round(startup.cliCallMs)} ms in all.

## Push

${table(['N', 'changed', 'tool', 'wall', 'floor', 'x floor', 'faster than shell', 'SSM calls', 'throttled', 'new versions', 'lost writes', 'runs'], results.push.flatMap(pushRows))}

### How the writes used the write bucket (runs with 10 or more writes)

\`accepted/s\` is over the write phase (first PutParameter to last accepted); \`unused\` is that span minus the time the accepted
writes needed at ${quota.writePerSecond}/s: write tokens nobody took.

${table(['scenario', 'tool', 'accepted', 'throttled attempts', 'span', 'accepted/s', 'unused'], writeRows(results.push))}

## Sync

${table(['M', 'tool', 'wall', 'operator pace', 'floor', 'x floor', 'stale returns', 'kube watch / reads / writes', 'SSM calls', 'runs'], results.sync.flatMap(syncRows))}

## Rollout: a typical release with restart: changed
${measuredApart(results, results.rollout?.measured)}
${rolloutSection(results.rollout)}

## Replica regions: a first push into ${results.regions ? results.regions.replicas.length + 1 : 3} regions against one
${measuredApart(results, results.regions?.measured)}
${regionsSection(results.regions)}

## Reading the numbers

${readingNotes(results)
  .map((note) => `- ${note}`)
  .join('\n')}
`
}

/** Where the time of a push into one region and into every region went, from the pairs' medians. */
function regionsNote({ pairs, replicas, quota, measured }: RegionsScenario): string {
  const count = replicas.length + 1
  const of = (side: 'one' | 'all', pick: (run: RegionsPushRun) => number) =>
    median(pairs.map((pair) => pick(pair[side])))
  const slowest = (run: RegionsPushRun) => Math.max(...run.regions.map((region) => region.writes?.spanMs ?? 0))
  const perRegion = (run: RegionsPushRun, pick: (writes: NonNullable<RegionUse['writes']>) => number) =>
    median(run.regions.flatMap((region) => (region.writes ? [pick(region.writes)] : [])))
  const parts = [
    { what: 'start-up (spawn to the first request)', pick: (run: RegionsPushRun) => run.startupMs },
    {
      what: "the write phase (first PutParameter to the last accepted; in several regions the slowest region's)",
      pick: slowest
    },
    {
      what: 'the rest of the run (the reads, the plan, the exit)',
      pick: (run: RegionsPushRun) => run.wallMs - run.startupMs - slowest(run)
    }
  ].map(({ what, pick }) => ({ what, one: of('one', pick), all: of('all', pick) }))
  const widest = parts.reduce((most, part) => (part.all - part.one > most.all - most.one ? part : most))
  const loads = pairs.map(({ load }) => load)
  return (
    `${count} regions took ${times(median(pairs.map(({ ratio }) => ratio)))} the time of one (median of ${pairs.length} pairs; ` +
    `${times(Math.min(...pairs.map(({ ratio }) => ratio)))} to ${times(Math.max(...pairs.map(({ ratio }) => ratio)))}), the machine's load average ` +
    `${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} on ${measured.machine.nproc} CPUs. Medians, one region against ${count}: ` +
    parts.map(({ what, one, all }) => `${what} ${seconds(one)} against ${seconds(all)}`).join('; ') +
    `. Each region writes at its own pace (one pacer per region, each against its own bucket): ` +
    `${of('one', (run) => perRegion(run, (writes) => writes.perSecond)).toFixed(1)} PutParameter/s alone against ` +
    `${of('all', (run) => perRegion(run, (writes) => writes.perSecond)).toFixed(1)}/s per region in ${count} (the bucket allows ${quota.writePerSecond}/s), ` +
    `${of('one', (run) => perRegion(run, (writes) => writes.throttled))} throttled attempts against ${of('all', (run) => perRegion(run, (writes) => writes.throttled))} per region. ` +
    `The largest difference is in ${widest.what.replace(/ \(.*\)$/, '')} (${seconds(widest.all - widest.one)}): ${count} regions mean ${count} times the calls for the one ` +
    `Node.js process of the action and the one moto process, on CPUs other work shares.`
  )
}

/** What the tables mean, from this run's numbers. */
function readingNotes({ push, sync, quota, startup, rollout, regions }: Results): string[] {
  const notes: string[] = []
  const shellRuns = push.flatMap((scenario) =>
    scenario.tools
      .filter((tool) => tool.tool === 'shell')
      .flatMap((tool) => tool.runs.map((run) => ({ n: scenario.n, run })))
  )
  if (shellRuns.length) {
    const perKeyMs =
      median(shellRuns.filter(({ n }) => n >= 100).map(({ n, run }) => run.wallMs / n)) ||
      median(shellRuns.map(({ n, run }) => run.wallMs / n))
    const throttled = shellRuns.reduce((sum, { run }) => sum + (run.throttled.PutParameter ?? 0), 0)
    const lost = shellRuns.reduce((sum, { run }) => sum + run.lostWrites, 0)
    notes.push(
      `The shell loop costs about ${seconds(perKeyMs)} per key, one aws CLI process each (one call alone: ${Math.round(startup.cliCallMs)} ms): ${(1000 / perKeyMs).toFixed(1)} writes a second, ` +
        `${perKeyMs > 1000 / 3 ? 'under even the real quota of 3' : 'over the real quota of 3'}, so on its own it was throttled ${throttled} times and lost ${lost} writes here. It writes every key on every run: N new versions ` +
        `each time (SSM keeps 100), even when nothing changed. Another pipeline writing in the same account at the same time shares the quota; this benchmark runs one tool at a time.`
    )
    const first = (n: number) =>
      push
        .find((scenario) => scenario.n === n && scenario.changed === 'all')
        ?.tools.find((tool) => tool.tool === 'action')
    const n = first(1000) ? 1000 : 100
    const action = first(n)
    if (action) {
      const measured = shellRuns.filter((shell) => shell.n === n).map(({ run }) => run.wallMs)
      const shellMs = measured.length ? median(measured) : n * perKeyMs
      const realFloorMs = (n / 3) * 1000
      notes.push(
        `The quotas are scaled ${quota.scale}x, the tools' own overheads are not. At the real 3 writes a second a first push of ${n} keys needs ${seconds(realFloorMs)} ` +
          `whatever the tool; the shell loop's ${seconds(shellMs)} for ${n} keys${measured.length ? '' : ' (estimated)'} is ${times(shellMs / realFloorMs)} that, against ${times(shellMs / action.floorMs)} the scaled floor here. ` +
          `The runs that change little (none or one key) do not depend on the scale: start-up plus ceil(N/10) reads for the action, N CLI processes for the shell.`
      )
    }
  }
  const sdkLoop = push.flatMap((scenario) =>
    scenario.tools.filter((tool) => tool.tool === 'sdk-loop' && tool.writes && scenario.n >= 100)
  )
  if (sdkLoop.length) {
    const accepted = sdkLoop.reduce(
      (sum, tool) => sum + tool.runs.reduce((runs, run) => runs + (run.calls.PutParameter ?? 0), 0),
      0
    )
    const throttled = sdkLoop.reduce(
      (sum, tool) => sum + tool.runs.reduce((runs, run) => runs + (run.throttled.PutParameter ?? 0), 0),
      0
    )
    const lost = sdkLoop.reduce((sum, tool) => sum + tool.lostWrites, 0)
    notes.push(
      `The naive SDK loop was throttled on ${Math.round((100 * throttled) / (accepted + throttled))}% of its calls at N >= 100 and then sleeps the SDK's backoff (base 500 ms for throttling), ` +
        `so it used about ${Math.round((100 * median(sdkLoop.map((tool) => tool.writes!.perSecond))) / quota.writePerSecond)}% of the write quota; one call at a time, ` +
        `${lost ? `it lost ${lost} writes where 3 attempts were not enough` : 'its 3 attempts always sufficed here (no write lost)'}, and like the shell loop it writes every key on every run.`
    )
  }
  for (const scenario of push.filter((candidate) => candidate.changed === 'all' && candidate.n >= 100)) {
    const action = scenario.tools.find((tool) => tool.tool === 'action')
    const walls = action?.runs.map((run) => run.wallMs) ?? []
    if (action && walls.length > 1) {
      notes.push(
        `The action's first push of ${scenario.n} took ${seconds(Math.min(...walls))} to ${seconds(Math.max(...walls))} over ${walls.length} runs ` +
          `(${times(Math.min(...walls) / action.floorMs)} to ${times(Math.max(...walls) / action.floorMs)} the floor); the slower runs left up to ` +
          `${seconds(Math.max(...action.runs.map((run) => run.writes?.idleMs ?? 0)))} of write tokens unused, while its writers waited on the pace that the throttles had cut. ` +
          `Once throttled, its writes share one pace (cut to 0.7 of the rate that was throttled, doubling every 3 s: src/ssm/pacer.ts), ` +
          `so ${action.writes ? `${action.writes.throttled} of its ${scenario.n + action.writes.throttled} PutParameter attempts were throttled (median)` : 'few of its attempts were throttled'}; ` +
          `that trades a few idle tokens after each cut for throttling that stays rare.`
      )
    }
  }
  notes.push(
    `The floor makes every call wait for its token; each bucket here starts full (${quota.writeBurst} write, ${quota.readBurst} read tokens), so a tool can beat it by up to ` +
      `${seconds((quota.writeBurst / quota.writePerSecond) * 1000)} (a push ratio just under 1 for a few writes). A negative "unused" is that burst.`
  )
  const kubectl = sync.flatMap((scenario) => scenario.tools.filter((tool) => tool.tool === 'kubectl'))
  if (kubectl.length) {
    const stale = kubectl.reduce((sum, tool) => sum + tool.staleRuns, 0)
    const runs = kubectl.reduce((sum, tool) => sum + tool.runs.length, 0)
    notes.push(
      `\`kubectl wait --for=condition=Ready\` cannot tell a fresh sync from the previous one: Ready stays True while the operator refreshes. It checks the objects one ` +
        `after another, and returned before every ExternalSecret had freshly synced in ${stale} of ${runs} runs: a wall time under the operator's pace (a ratio under 1) is that ` +
        `stale return, not speed. The action remembers status.syncedResourceVersion before annotating and watches until it changes.`
    )
  }
  if (rollout) {
    notes.push(
      `With \`restart: changed\` the action's time after the restarts is the controllers' own: it listed workloads ${rollout.requests.lists} times (its snapshot before annotating: one list per kind and namespace) ` +
        `and ${rollout.requests.gets ? `${rollout.requests.gets} GETs of one` : 'no GET of one'}, follows the rollouts by ${rollout.requests.watches} watches from the lists' resourceVersion, ` +
        `and exits ${seconds(rollout.exitAfterRolloutsMs)} after the last rollout completes (medians). ` +
        `Of its ${seconds(rollout.wallMs)} in all, ${seconds(rollout.wallMs - rollout.restartToExitMs)} come before the first restart: start-up, the push and the sync of ${rollout.externalSecrets} ExternalSecrets ` +
        `(the operator's ${rollout.reconcileDelayMs} ms each). The controllers' ${seconds(rollout.controllersMs)} is mostly ${rollout.replicas} pods one after another at ${rollout.podStartMs} ms each, the same for every kind here.`
    )
  }
  if (regions) notes.push(regionsNote(regions))
  notes.push(
    `moto answers in a few milliseconds; the real service is slower, which the ${quota.latencyMs} ms added to every call stands for.`
  )
  return notes
}
