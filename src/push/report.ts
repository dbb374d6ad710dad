import type { RestorePlan } from '../history/select.js'
import { keyOf, MANAGED_BY_TAG, MANAGED_BY_VALUE, type Tier } from '../ssm/rules.js'
import type { KeyOutcome, KeyResult, PushReport, RegionResults } from './push.js'

/**
 * What the push phase tells the log, the outputs and the job summary: names, never values. A
 * restore adds the point and the parameters it leaves alone (names and versions).
 */

const WOULD: Record<KeyResult, string> = {
  created: 'would create',
  updated: 'would update',
  unchanged: 'unchanged',
  deleted: 'would delete',
  failed: 'failed',
  cancelled: 'not written'
}

/** One region's results as the report shows them; `region` is set when the run writes several regions. */
export interface RegionView extends RegionResults {
  readonly dryRun: boolean
  readonly region?: { readonly name: string; readonly primary: boolean }
}

/** The primary region's view, then each replica's; without replicas, only the primary's, unnamed. */
export function regionViews(report: PushReport, primary: string): RegionView[] {
  const { dryRun, replicas } = report
  if (!replicas.length) return [report]
  return [
    { ...report, region: { name: primary, primary: true } },
    ...replicas.map((replica) => ({ ...replica, dryRun, region: { name: replica.region, primary: false } }))
  ]
}

/** How a region is named in a heading: `eu-west-1 (primary)`, `us-west-2 (replica)`. */
export function regionLabel({ name, primary }: NonNullable<RegionView['region']>): string {
  return `${name} (${primary ? 'primary' : 'replica'})`
}

/** What a key the cancellation stopped shows: it may still be missing or different in SSM. */
const CANCELLED = 'not written: the run was cancelled before this write went through'

export function pushLogLines(report: RegionView): string[] {
  const lines = sorted(report.outcomes).map((outcome) => {
    const verb = report.dryRun || outcome.result === 'cancelled' ? WOULD[outcome.result] : outcome.result
    const version = outcome.version === undefined ? '' : ` (version ${outcome.version})`
    const source = outcome.source ? ` from ${outcome.source}` : ''
    const reason = outcome.reason
      ? `: ${outcome.reason}`
      : outcome.result === 'cancelled'
        ? ': the run was cancelled before this write went through'
        : ''
    return `${verb.padEnd(12)} ${outcome.name}${version}${source}${reason}`
  })
  const kept = report.notOwned.map(
    (name) => `${'kept'.padEnd(12)} ${name} (not tagged ${MANAGED_BY_TAG}=${MANAGED_BY_VALUE}, so prune leaves it)`
  )
  const heading = report.region ? [`In ${regionLabel(report.region)}:`] : []
  return [...heading, ...lines, ...kept, totals(report)]
}

/**
 * One notice per parameter written as Advanced although `tier` asks for another tier: SSM never moves an
 * Advanced parameter back to Standard, so the action keeps it Advanced rather than fail that key.
 */
export function keptAdvancedNotices(report: RegionView, tier: Tier): string[] {
  const where = report.region ? ` in ${report.region.name}` : ''
  return [...report.keptAdvanced]
    .sort()
    .map(
      (name) =>
        `${name}${where} is an Advanced parameter and SSM never moves one back to Standard: ${report.dryRun ? 'it would be' : 'it was'} written as Advanced (tier: ${tier}). To make it Standard, delete it and let the next run create it again.`
    )
}

function totals(report: RegionView): string {
  const cancelled = keysWith(report, 'cancelled').length
  const counts = [
    ...(['created', 'updated', 'unchanged', 'deleted', 'failed'] as const).map(
      (result) => `${keysWith(report, result).length} ${result}`
    ),
    ...(cancelled ? [`${cancelled} not written (the run was cancelled)`] : [])
  ].join(', ')
  return report.dryRun ? `Dry run, nothing written. A real run: ${counts}.` : `${counts}.`
}

export function keysWith(report: RegionResults, result: KeyResult): string[] {
  return sorted(report.outcomes.filter((outcome) => outcome.result === result)).map(({ key }) => key)
}

/** The outputs: today's describe the primary region; `regions` has every region's keys by result. */
export function pushOutputs(views: readonly RegionView[], primary: string | undefined): Record<string, string> {
  const [main] = views
  const [created, updated, unchanged, deleted] = (['created', 'updated', 'unchanged', 'deleted'] as const).map(
    (result) => (main ? keysWith(main, result) : [])
  )
  return {
    created: JSON.stringify(created),
    updated: JSON.stringify(updated),
    unchanged: JSON.stringify(unchanged),
    deleted: JSON.stringify(deleted),
    changed: String(created.length + updated.length + deleted.length > 0),
    versions: JSON.stringify(main ? versionsAfter(main) : {}),
    regions: JSON.stringify(Object.fromEntries(views.map((view) => [view.region?.name ?? primary, byResult(view)])))
  }
}

/** A region's keys by result, as the `regions` output has them. */
function byResult(results: RegionResults): Record<'created' | 'updated' | 'unchanged' | 'deleted', string[]> {
  return {
    created: keysWith(results, 'created'),
    updated: keysWith(results, 'updated'),
    unchanged: keysWith(results, 'unchanged'),
    deleted: keysWith(results, 'deleted')
  }
}

/**
 * Each key the run holds and its version after the run (in a dry run: the current one), known from the reads and writes
 * made.
 */
function versionsAfter(report: RegionResults): Record<string, number> {
  const held = sorted(report.outcomes).filter(
    ({ result }) => result === 'created' || result === 'updated' || result === 'unchanged'
  )
  return Object.fromEntries(held.flatMap(({ key, version }) => (version === undefined ? [] : [[key, version]])))
}

/** Rows for the job summary table, header first. */
export function pushSummaryRows(report: RegionView): string[][] {
  const header = ['Key', 'Parameter', 'Result', 'Version', 'Source secret']
  const rows = sorted(report.outcomes).map((outcome) => [
    outcome.key,
    outcome.name,
    report.dryRun
      ? WOULD[outcome.result]
      : outcome.reason
        ? `failed: ${outcome.reason}`
        : outcome.result === 'cancelled'
          ? CANCELLED
          : outcome.result,
    outcome.version === undefined ? '' : String(outcome.version),
    outcome.source ?? ''
  ])
  return [header, ...rows]
}

/**
 * The step's failure message when some keys were not written, naming each (and, with several regions, each region
 * with what was and was not written there); undefined when all were.
 */
export function pushFailure(views: readonly RegionView[]): string | undefined {
  const failing = views.filter(({ outcomes }) => outcomes.some(({ result }) => result === 'failed'))
  if (!failing.length) return undefined
  if (failing.length === 1 && !failing[0].region) return regionFailure(failing[0])
  return [
    `Parameters were not written in ${failing.map(({ region }) => region?.name).join(', ')}; nothing was rolled back, and a re-run writes only what is missing or different, region by region:`,
    ...failing.map((view) => {
      const done = (['created', 'updated', 'deleted'] as const).flatMap((result) => keysWith(view, result))
      const written = done.length ? `written there: ${done.join(', ')}` : 'nothing was written there'
      return `In ${view.region ? regionLabel(view.region) : ''}, ${written}. ${regionFailure(view)}`
    })
  ].join('\n')
}

function regionFailure(results: RegionResults): string {
  const failed = sorted(results.outcomes.filter((outcome) => outcome.result === 'failed'))
  const list = failed.map((outcome) => `  - ${outcome.name}: ${outcome.reason}`).join('\n')
  return `${failed.length} of ${results.outcomes.length} parameters were not written or deleted; a re-run retries only those:\n${list}`
}

function sorted(outcomes: readonly KeyOutcome[]): KeyOutcome[] {
  return [...outcomes].sort((a, b) => a.name.localeCompare(b.name))
}

// ---- a restore's additions ----

interface LeftAlone {
  readonly name: string
  readonly verb: string
  readonly why: string
}

/**
 * The parameters the push does not report: created after the point and kept (without prune), and those the action does
 * not own.
 */
export function restoreLogLines(plan: RestorePlan, prune: boolean): string[] {
  return leftAlone(plan, prune).map(({ name, verb, why }) => `${verb.padEnd(12)} ${name} (${why})`)
}

function leftAlone(plan: RestorePlan, prune: boolean): LeftAlone[] {
  if (prune) return [] // the push deletes what was created after the point, and reports what it does not own
  return [
    ...plan.createdAfter.map((name) => ({
      name,
      verb: 'kept',
      why: 'created after the point; prune: true deletes it'
    })),
    ...plan.notOwned.map(notOwned)
  ]
}

function notOwned(name: string): LeftAlone {
  return { name, verb: 'not touched', why: `not tagged ${MANAGED_BY_TAG}=${MANAGED_BY_VALUE}` }
}

/**
 * The job summary's rows, header first: per key, the version restored and the version written, or why nothing was. The
 * plan is the primary region's: a replica's table shows only its own results.
 */
export function restoreSummaryRows(plan: RestorePlan | undefined, push: RegionView, prune: boolean): string[][] {
  const rows = [
    ...push.outcomes.map((outcome) => ({ name: outcome.name, text: result(outcome, push.dryRun) })),
    ...[...push.notOwned.map(notOwned), ...(plan ? leftAlone(plan, prune) : [])].map(({ name, verb, why }) => ({
      name,
      text: `${verb}: ${why}`
    }))
  ]
  return [
    ['Key', 'Parameter', 'Result'],
    ...rows.sort((a, b) => a.name.localeCompare(b.name)).map(({ name, text }) => [keyOf(name), name, text])
  ]
}

function result({ result, version, restoredFrom, reason }: KeyOutcome, dryRun: boolean): string {
  const from = restoredFrom ? `version ${restoredFrom.version}` : 'no version'
  switch (result) {
    case 'updated':
      return dryRun
        ? `would restore ${from} (now version ${version ?? '?'})`
        : `restored from ${from} to new version ${version ?? '?'}`
    case 'unchanged':
      return `unchanged: version ${version ?? '?'} holds the value of ${from}`
    case 'created':
      return dryRun ? `would create it again from ${from}` : `created again from ${from} as version ${version ?? '?'}`
    case 'deleted':
      return `${dryRun ? 'would delete' : 'deleted'}: created after the point`
    case 'failed':
      return `failed: ${reason ?? ''}`
    case 'cancelled':
      return CANCELLED
  }
}
