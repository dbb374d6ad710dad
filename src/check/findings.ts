import { liveDifference } from '../eso/drift.js'
import { UPDATE_FAILED } from '../eso/events.js'
import { readyCondition, reads, targetSecretName, type ExternalSecret, type Reference } from '../eso/model.js'
import { carriesProvenance, runIdOf } from '../history/provenance.js'
import type { KubeEvent } from '../k8s/types.js'
import type { Secret } from '../secrets/keys.js'
import { isManaged, MANAGED_BY_TAG, MANAGED_BY_VALUE, parameterName, type ParameterHistory } from '../ssm/rules.js'
import type { ParameterStatus, StoredParameter } from '../ssm/store.js'
import type { Freshness, SecretData } from '../workloads/current.js'
import type { Reader } from '../workloads/plan.js'
import type { Finding } from './kinds.js'

/**
 * Check mode's findings: where SSM, the cluster or the pods drifted from what a release would make them. One pure
 * rule per kind (kinds.ts names them); every finding names a key, a parameter, `namespace/name` or
 * `namespace/Kind/name`, and says why in words, never with a value. A new kind is one more entry in FINDING_KINDS and
 * FINDING_MEANINGS, and its rule.
 */

/** `2026-12-07T16:40:05Z`: the whole second, as the console shows it. */
export function timeText(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * `missing` and `differs`, decided as the push's diff decides (a value equal byte for byte is unchanged), without
 * either value in the detail. A parameter of another type than SecureString differs whatever it holds: a release
 * is refused for it (SSM cannot change a parameter's type).
 */
export function valueFindings(
  secrets: readonly Secret[],
  path: string,
  current: readonly StoredParameter[]
): Finding[] {
  const byName = new Map(current.map((parameter) => [parameter.name, parameter]))
  return secrets.flatMap(({ key, source, value }): Finding[] => {
    const name = parameterName(path, key)
    const held = byName.get(name)
    if (!held)
      return [{ kind: 'missing', name, detail: `key ${key} (from ${source}) has no parameter: a release creates it` }]
    if (held.type !== 'SecureString')
      return [
        {
          kind: 'differs',
          name,
          detail: `version ${held.version} is a ${held.type} parameter; the action writes SecureString, and SSM cannot change a parameter's type: delete it or move it first`
        }
      ]
    if (held.value === value) return []
    return [
      {
        kind: 'differs',
        name,
        detail: `version ${held.version} holds another value than ${source}: a release writes a new version`
      }
    ]
  })
}

/** `extra`: the parameters under the service's path tagged as this action's that secrets no longer has. */
export function extraFindings(managed: readonly string[]): Finding[] {
  return managed.map((name) => ({
    kind: 'extra',
    name,
    detail: `tagged ${MANAGED_BY_TAG}=${MANAGED_BY_VALUE} and no longer in secrets: a release with prune: true deletes it`
  }))
}

/**
 * Whether deciding `edited-outside` needs the parameter's history: its current version carries the record of a
 * workflow run (unique to the run and attempt that wrote it), which SSM may have copied from the version before. A
 * local run's record names only the host, the same for every local run there, so a copy of it cannot be told from
 * a second local run: not looked for.
 */
export function needsHistory(status: ParameterStatus): boolean {
  return status.version > 1 && runIdOf(status.description) !== undefined
}

/**
 * Whether deciding `edited-outside` needs the parameter's tags: its current version carries no record of the action,
 * so it is a finding only if the parameter is the action's (tagged managed-by=zerotouch-secrets). One created by hand
 * with the value given is not: a release leaves it as it is, untagged.
 */
export function needsTags(status: ParameterStatus): boolean {
  return !carriesProvenance(status.description)
}

/**
 * `edited-outside`: the current version of a parameter of the action was not written by it. Every version the action
 * writes carries its record in the Description (history/provenance.ts), each run's its own; SSM copies the previous
 * Description onto a version written without one (PutParameter without `Description`: moto's ssm/models.py
 * put_parameter keeps `previous_parameter.description` the same way), so a current version whose
 * Description is not a record of the action (on a parameter tagged as the action's: `tags`, read when needsTags says
 * so), or is a workflow run's record equal to its predecessor's (`history`, read when needsHistory says so), was
 * written outside it.
 */
export function editedOutside(
  status: ParameterStatus,
  { history, tags }: { readonly history?: ParameterHistory; readonly tags?: Readonly<Record<string, string>> }
): Finding | undefined {
  const written = `version ${status.version} (${whenAndWho(status)})`
  if (needsTags(status))
    return tags === undefined || !isManaged(tags)
      ? undefined
      : {
          kind: 'edited-outside',
          name: status.name,
          detail: `${written} carries no record of this action in its Description: it was written outside the action (console or CLI)`
        }
  if (!history || !needsHistory(status)) return undefined
  const previous = history.versions
    .filter(({ version }) => version < status.version)
    .reduce<ParameterHistory['versions'][number] | undefined>(
      (latest, version) => (!latest || version.version > latest.version ? version : latest),
      undefined
    )
  if (!previous || previous.description !== status.description) return undefined
  return {
    kind: 'edited-outside',
    name: status.name,
    detail: `${written} has the Description of version ${previous.version}, which SSM copies onto a version written without one: it was written outside the action (console or CLI)`
  }
}

function whenAndWho({ modifiedAt, modifiedBy }: ParameterStatus): string {
  const when = modifiedAt === undefined ? 'at an unknown time' : `at ${timeText(modifiedAt)}`
  return `written ${when} by ${modifiedBy ?? 'an unknown principal'}`
}

/** `namespace/name` of an ExternalSecret whose namespace is filled in. */
function esName(es: ExternalSecret): string {
  return `${es.metadata.namespace ?? ''}/${es.metadata.name}`
}

/**
 * `not-ready`: the Ready condition is not True, with the operator's reason and message, and the message of its newest
 * `UpdateFailed` Event (the operator writes the real error only there: external-secrets
 * pkg/controllers/externalsecret/externalsecret_controller.go, markAsFailed with a generic condition message).
 */
export function notReadyFinding(es: ExternalSecret, newestFailure?: KubeEvent): Finding | undefined {
  const ready = readyCondition(es)
  if (ready?.status === 'True') return undefined
  const state = ready
    ? `Ready is ${ready.status}${ready.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : ''}`
    : 'it has no Ready condition: the operator has not reconciled it'
  const failure =
    newestFailure?.reason === UPDATE_FAILED && newestFailure.message
      ? `; the operator's last error: ${newestFailure.message}`
      : ''
  return { kind: 'not-ready', name: esName(es), detail: `${state}${failure}` }
}

/**
 * The parameters whose current version an ExternalSecret's Secret should hold: each key a `data` or `extract`
 * reference reads at its latest version (a pinned one reads that version only, which a new version does not
 * change), and each of `known` (the service's parameters) a `find` reference reads.
 */
export function latestReads(references: readonly Reference[], known: readonly string[]): string[] {
  const names = references.flatMap((reference) => {
    if (reference.kind === 'find') return known.filter((name) => reads(reference, name))
    return reference.version === undefined ? [reference.key] : []
  })
  return [...new Set(names)].sort()
}

/**
 * `stale-secret`: a Ready ExternalSecret whose last sync (`status.refreshTime`, RFC 3339, whole seconds, the start of
 * each successful reconcile: external-secrets pkg/controllers/externalsecret/externalsecret_controller.go) is in an
 * earlier second than the current version of a parameter it reads (`statuses`: what
 * DescribeParameters says of `names`). A version of the sync's own second may be before or after it: not a finding
 * (one that came after shows at the next check, once the second has passed). Without a refreshTime it has never
 * synced, which `not-ready` says.
 */
export function staleSecretFinding(
  es: ExternalSecret,
  names: readonly string[],
  statuses: ReadonlyMap<string, ParameterStatus>
): Finding | undefined {
  if (readyCondition(es)?.status !== 'True') return undefined
  const synced = Date.parse(es.status?.refreshTime ?? '')
  if (Number.isNaN(synced)) return undefined
  const newer = names.flatMap((name) => {
    const status = statuses.get(name)
    return status?.modifiedAt !== undefined && secondOf(status.modifiedAt) > secondOf(synced)
      ? [`${name} version ${status.version} (written at ${timeText(status.modifiedAt)})`]
      : []
  })
  if (!newer.length) return undefined
  const refresh = es.spec?.refreshInterval ? ` (refreshInterval ${es.spec.refreshInterval})` : ''
  return {
    kind: 'stale-secret',
    name: esName(es),
    detail: `last synced at ${timeText(synced)}, before ${newer.join(', ')}: Secret ${targetSecretName(es)} holds older data until the operator's next refresh${refresh} or a release's force-sync`
  }
}

function secondOf(ms: number): number {
  return Math.floor(ms / 1000)
}

/**
 * `stale-pods`: a workload whose pods do not all run the current data of the Secrets it reads, by the rollout's rule
 * (workloads/current.ts and plan.ts: `behind`): started in an earlier second than the data, or in the same second
 * with no restart after it, which the rollout restarts too.
 */
export function stalePodsFinding(
  late: { readonly reader: Reader; readonly freshness: Exclude<Freshness, 'current'> },
  data: readonly SecretData[]
): Finding {
  const { workload, secrets } = late.reader
  const namespace = workload.metadata.namespace ?? ''
  const written = secrets.map((name) => {
    const entry = data.find((candidate) => candidate.namespace === namespace && candidate.name === name)
    return `Secret ${name}${entry ? ` (data written at ${timeText(entry.second)})` : ''}`
  })
  const how =
    late.freshness === 'stale'
      ? 'started before the current data of'
      : 'started in the same second as the current data of'
  return {
    kind: 'stale-pods',
    name: `${namespace}/${workload.kind}/${workload.metadata.name}`,
    detail: `its pods ${how} ${written.join(', ')}: they may run the old values until restarted (restart: changed does it)`
  }
}

/**
 * `definition-not-applied`: a rendered ExternalSecret that the cluster does not hold as Git renders it, by the GitOps
 * gate's exact rule (eso/drift.ts); `live`: the selected one of that namespace and name, if any.
 */
export function definitionFinding(rendered: ExternalSecret, live: ExternalSecret | undefined): Finding | undefined {
  const difference = liveDifference(rendered, live)
  return difference === undefined
    ? undefined
    : { kind: 'definition-not-applied', name: esName(rendered), detail: difference }
}

/** The parameters one region holds, with its name. */
export interface RegionParameters {
  readonly region: string
  readonly parameters: readonly StoredParameter[]
}

/**
 * `region-differs`: where a replica region is out of step with the primary for the parameters compared (the keys
 * given): one it lacks, one it holds with another value, or one it holds that the primary lacks. Decided without
 * printing either value.
 */
export function regionFindings(
  names: readonly string[],
  primary: RegionParameters,
  replica: RegionParameters
): Finding[] {
  const [main, copy] = [primary, replica].map(({ parameters }) => new Map(parameters.map((p) => [p.name, p])))
  const the = `${primary.region}, the primary,`
  return names.flatMap((name): Finding[] => {
    const [here, there] = [main.get(name), copy.get(name)]
    const detail = !there
      ? here &&
        `${replica.region} has no parameter, while ${the} holds version ${here.version}: a release writes it there`
      : !here
        ? `${replica.region} holds version ${there.version}, while ${the} has none`
        : here.value !== there.value || here.type !== there.type
          ? `${replica.region}'s version ${there.version} holds another value than version ${here.version} in ${the.slice(0, -1)}: a release writes the value given in both`
          : undefined
    return detail ? [{ kind: 'region-differs', name, detail }] : []
  })
}
