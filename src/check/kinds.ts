/**
 * Check mode's findings: their kinds, what each means, and their shape. Without imports: the check phase's report
 * (loaded with every run) needs them, the rules (findings.ts, loaded only when a check runs) make them.
 */
export const FINDING_KINDS = [
  'missing',
  'differs',
  'extra',
  'edited-outside',
  'not-ready',
  'stale-secret',
  'stale-pods',
  'definition-not-applied',
  'region-differs'
] as const

export type FindingKind = (typeof FINDING_KINDS)[number]

/** What each kind means: the job summary's legend (the README's table says the same). */
export const FINDING_MEANINGS: Readonly<Record<FindingKind, string>> = {
  missing: 'a key given in secrets has no parameter',
  differs: "a parameter's value differs from the one given",
  extra: 'with prune, a parameter of this action that secrets no longer has (a release would delete it)',
  'edited-outside': 'the current version of a parameter was not written by this action (a console or CLI edit)',
  'not-ready': 'a selected ExternalSecret is not Ready',
  'stale-secret': 'a selected ExternalSecret last synced before the current version of a parameter it reads',
  'stale-pods': "a workload's pods started before the current data of a Secret they read",
  'definition-not-applied': 'a rendered ExternalSecret is not in the cluster as Git has it',
  'region-differs': 'with replica-regions, a replica region lacks a parameter the primary holds, or holds another value'
}

export interface Finding {
  readonly kind: FindingKind
  readonly name: string
  readonly detail: string
}

/** In the order of FINDING_KINDS, then by name: the same findings always read the same. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const rank = (finding: Finding): number => FINDING_KINDS.indexOf(finding.kind)
  return [...findings].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
}
