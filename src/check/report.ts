import type { SummaryTable } from '../phase.js'
import type { CheckReport } from './check.js'
import { FINDING_KINDS, FINDING_MEANINGS, type Finding } from './kinds.js'

/** What check mode tells the log, the outputs and the job summary: names and reasons, never values. Pure. */

/** One line per finding, the meaning of each kind found, then the totals. */
export function checkLogLines(report: CheckReport): string[] {
  const lines = report.findings.map(findingText)
  const kinds = FINDING_KINDS.filter((kind) => report.findings.some((finding) => finding.kind === kind))
  const legend = kinds.map((kind) => `  ${kind}: ${FINDING_MEANINGS[kind]}`)
  return [...lines, ...(legend.length ? ['Kinds found:', ...legend] : []), totals(report)]
}

/** `differs /zerotouch/prod/payments/api_key: version 3 holds another value than API_KEY: ...` */
export function findingText({ kind, name, detail }: Finding): string {
  return `${kind} ${name}: ${detail}`
}

/** The `drift` output: a JSON array of `{ kind, name, detail }`, `[]` without findings. */
export function checkOutputs(report: Pick<CheckReport, 'findings'>): Record<string, string> {
  return { drift: JSON.stringify(report.findings.map(({ kind, name, detail }) => ({ kind, name, detail }))) }
}

export function checkSummary(report: CheckReport, path: string): SummaryTable {
  return {
    heading: `Drift check of ${path} (check mode: nothing written)`,
    rows: [['Kind', 'Name', 'Detail'], ...report.findings.map(({ kind, name, detail }) => [kind, name, detail])],
    footer: totals(report)
  }
}

/** The ZT170 headline: how many findings, and that nothing was written. */
export function driftHeadline({ findings }: CheckReport): string {
  return `Drift found: ${count(findings.length, 'finding')} (fail-on-drift: true). Check mode wrote nothing.`
}

function totals({ findings, checked }: CheckReport): string {
  const looked = [
    count(checked.keys, 'key'),
    count(checked.externalSecrets, 'selected ExternalSecret'),
    count(checked.workloads, 'workload reading their Secrets', 'workloads reading their Secrets'),
    count(checked.definitions, 'rendered ExternalSecret')
  ].join(', ')
  if (!findings.length) return `No drift: ${looked} checked.`
  const byKind = FINDING_KINDS.flatMap((kind) => {
    const found = findings.filter((finding) => finding.kind === kind).length
    return found ? [`${found} ${kind}`] : []
  })
  return `${count(findings.length, 'finding')} (${byKind.join(', ')}); ${looked} checked.`
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}
