import type { DefinitionsReport } from './definitions.js'

/** What the definitions phase tells the log and the job summary: names and paths, never values. */

export function definitionsLogLines(report: DefinitionsReport): string[] {
  const externalSecrets = new Set(report.mapping.map(({ externalSecret }) => externalSecret))
  return [
    ...report.mapping.map(
      ({ externalSecret, secretKey, parameter, source }) =>
        `${externalSecret} ${secretKey} <- ${parameter} <- ${source}`
    ),
    ...report.notes,
    `Definitions checked: ${externalSecrets.size} ExternalSecrets, ${report.mapping.length} parameters, ${report.warnings.length} warnings.`
  ]
}

/** Rows for the job summary table, header first. */
export function definitionsSummaryRows(report: DefinitionsReport): string[][] {
  return [
    ['ExternalSecret', 'Key', 'Parameter', 'Source secret'],
    ...report.mapping.map((row) => [row.externalSecret, row.secretKey, row.parameter, row.source])
  ]
}
