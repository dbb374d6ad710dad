import { ProblemCollector, valueOf, InputProblem, type Checked } from '../errors.js'
import type { DefinitionsSettings } from '../definitions/definitions.js'
import type { RestorePoint } from '../history/select.js'
import type { ClusterSettings } from '../k8s/api.js'
import { parseLabelSelector, type LabelSelector } from '../k8s/label-selector.js'
import type { RunMode } from '../phase.js'
import type { PushConfig, WriteSettings } from '../push/push.js'
import { readSecretEntries, toSecretInputs, valuesToMask, type SecretEntries } from '../secrets/document.js'
import { normalizeSecrets, type Secret } from '../secrets/keys.js'
import { onlyAlwaysExcluded, selectSecrets, type SelectionRules } from '../secrets/select.js'
import type { AwsStoreOptions } from '../ssm/aws-store.js'
import { serviceTarget } from '../ssm/rules.js'
import type { RolloutSettings } from '../rollout/rollout.js'
import type { SyncSettings } from '../sync/sync.js'
import {
  parseBoolean,
  parseDuration,
  parseEndpoint,
  parseList,
  parseMode,
  parseNamespace,
  parseQualifiedName,
  parsePathPrefix,
  parsePathSegment,
  parseRegion,
  parseReplicaRegions,
  parseRestartPolicy,
  parseRestorePoint,
  parseTags,
  parseTier
} from './parsers.js'

/** Each input's default, used when the input is absent or empty (the runner may not fill them in). */
export const INPUT_DEFAULTS: Readonly<Record<string, string>> = {
  secrets: '',
  environment: '',
  service: '',
  'path-prefix': '/zerotouch',
  include: '*',
  exclude: '',
  'strip-prefix': '',
  'kms-key-id': '',
  tier: 'Standard',
  tags: '',
  prune: 'false',
  'dry-run': 'false',
  'aws-region': '',
  'replica-regions': '',
  'ssm-endpoint': '',
  namespace: '',
  'label-selector': 'zerotouch.io/managed=true',
  kubeconfig: '',
  'kube-context': '',
  'annotation-key': 'force-sync',
  wait: 'true',
  timeout: '300s',
  'verify-references': 'true',
  definitions: '',
  'definitions-base': '',
  'wait-for-definitions': 'true',
  restart: 'none',
  'rollout-timeout': '10m',
  'restore-to': '',
  mode: 'release',
  'fail-on-drift': 'true'
}

/**
 * The whole run's configuration, every input read, parsed and validated. Each phase takes the
 * slice it needs (PushConfig, DefinitionsConfig, SyncConfig are parts of this one type).
 */
export interface Config extends PushConfig {
  /** `check`: the run only reads, and reports drift instead of releasing. */
  readonly mode: RunMode
  /** In check mode: findings fail the step (ZT170); false: each is a warning. */
  readonly failOnDrift: boolean
  /** Set: the run restores the service's parameters to this point instead of pushing secrets. */
  readonly restore?: RestorePoint
  /** Absent when no phase needs SSM (no secrets, no definitions, no reference check). */
  readonly aws?: AwsSettings
  readonly selector: LabelSelector
  /** Absent: the definitions check is skipped. */
  readonly definitions?: DefinitionsSettings
  /** Absent: the sync phase is skipped. */
  readonly cluster?: ClusterSettings
  readonly sync: SyncSettings
  readonly rollout: RolloutSettings
}

/** Where the run reads and writes SSM: aws-region, the primary, and the regions that get the same writes. */
export interface AwsSettings extends AwsStoreOptions {
  /** replica-regions, in the order given; empty: the primary only. */
  readonly replicaRegions: readonly string[]
}

export type InputReader = (name: string) => string
type Environment = Readonly<Record<string, string | undefined>>

/**
 * Reads and validates all inputs. Every secret value is handed to `mask` as soon as the `secrets`
 * text is parsed, before anything else can be logged; then every problem is reported at once
 * (an ActionError ZT100), or the complete configuration is returned. Pure: no I/O.
 */
export function loadConfig(
  getInput: InputReader,
  env: Environment,
  mask: (value: string, name: string) => void,
  cwd: string
): Config {
  const problems = new ProblemCollector()
  const read = (name: string): string => getInput(name).trim() || INPUT_DEFAULTS[name] || ''
  const entries = problems.check(() => readSecretEntries(getInput('secrets')))
  if (entries.ok) valuesToMask(entries.value).forEach(({ name, value }) => mask(value, name))
  const given = entries.ok ? entries.value : []
  const pushing = !onlyAlwaysExcluded(given.map(([name]) => name))
  const mode = problems.check(() => parseMode('mode', read('mode')))
  const checking = mode.ok && mode.value === 'check'
  const failOnDrift = problems.check(() => parseBoolean('fail-on-drift', read('fail-on-drift')))

  const environment = problems.check(() => parsePathSegment('environment', read('environment')))
  const service = problems.check(() => parsePathSegment('service', read('service')))
  const pathPrefix = problems.check(() => parsePathPrefix('path-prefix', read('path-prefix')))
  const path =
    environment.ok && service.ok && pathPrefix.ok
      ? serviceTarget(pathPrefix.value, environment.value, service.value).path
      : undefined
  const write = readWriteSettings(read, problems)
  const dryRun = problems.check(() => parseBoolean('dry-run', read('dry-run')))
  const selector = problems.check(() => parseLabelSelector('label-selector', read('label-selector')))
  const definitions = readDefinitions(read, problems, env.GITHUB_WORKSPACE || cwd)
  const waitForDefinitions = problems.check(() => parseBoolean('wait-for-definitions', read('wait-for-definitions')))
  const namespaces = problems.check(() =>
    parseList(read('namespace')).map((namespace) => parseNamespace('namespace', namespace))
  )
  const sync = readSyncSettings(read, problems)
  const restart = problems.check(() => parseRestartPolicy('restart', read('restart')))
  const rolloutTimeout = problems.check(() => parseDuration('rollout-timeout', read('rollout-timeout')))
  if (restart.ok && restart.value === 'changed' && sync.wait.ok && !sync.wait.value) {
    problems.add(
      'restart',
      'changed restarts the workloads once their Secrets are confirmed fresh, which needs wait: true'
    )
  }
  const restore = read('restore-to')
    ? problems.check(() => parseRestorePoint('restore-to', read('restore-to')))
    : undefined
  if (restore && pushing)
    problems.add(
      'restore-to',
      'is refused together with secrets: a restore writes back the values the parameters held at that point; leave secrets empty'
    )
  if (restore && checking)
    problems.add('restore-to', 'is a release: check mode writes nothing; leave restore-to empty or set mode: release')
  const noCluster = namespaces.ok && !namespaces.value.length
  if (checking && !pushing && noCluster)
    problems.add(
      'mode',
      'check has nothing to compare: give secrets (the values to compare with SSM), namespace (the cluster), or both'
    )
  if (checking && definitions && noCluster)
    problems.add('definitions', 'check mode compares the definitions with the cluster: set namespace too')
  const checkingReferences =
    namespaces.ok && namespaces.value.length > 0 && !(sync.verifyReferences.ok && !sync.verifyReferences.value)
  const region =
    // In check mode the cluster's findings read SSM too (when each parameter an ExternalSecret reads was written).
    pushing ||
    restore ||
    definitions ||
    checkingReferences ||
    (checking && namespaces.ok && namespaces.value.length > 0)
      ? problems.check(() =>
          parseRegion('aws-region', read('aws-region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || '')
        )
      : undefined
  const endpoint = problems.check(() => parseEndpoint('ssm-endpoint', read('ssm-endpoint')))
  const replicaRegions = problems.check(() =>
    parseReplicaRegions('replica-regions', read('replica-regions'), region?.ok ? region.value : undefined)
  )
  const selection: SelectionRules = {
    include: parseList(read('include')),
    exclude: parseList(read('exclude')),
    stripPrefix: read('strip-prefix')
  }
  const tier = write.tier.ok ? write.tier.value : 'Intelligent-Tiering' // the largest limit: an invalid tier is reported already
  const secrets = pushing ? problems.check(() => prepareSecrets(given, selection, tier, path)) : undefined
  problems.throwIfAny()

  const namespaceList = valueOf(namespaces)
  return {
    mode: valueOf(mode),
    failOnDrift: valueOf(failOnDrift),
    target: serviceTarget(valueOf(pathPrefix), valueOf(environment), valueOf(service)),
    secrets: secrets ? valueOf(secrets) : [],
    write: {
      tier: valueOf(write.tier),
      kmsKeyId: read('kms-key-id') || undefined,
      tags: valueOf(write.tags),
      prune: valueOf(write.prune)
    },
    dryRun: valueOf(dryRun),
    restore: restore && valueOf(restore),
    aws: region
      ? { region: valueOf(region), endpoint: valueOf(endpoint), replicaRegions: valueOf(replicaRegions) }
      : undefined,
    selector: valueOf(selector),
    definitions: definitions && { ...definitions, waitUntilApplied: valueOf(waitForDefinitions) },
    cluster: namespaceList.length
      ? { namespaces: namespaceList, kubeconfig: read('kubeconfig'), kubeContext: read('kube-context') }
      : undefined,
    sync: {
      annotationKey: valueOf(sync.annotationKey),
      wait: valueOf(sync.wait),
      timeoutMs: valueOf(sync.timeoutMs),
      verifyReferences: valueOf(sync.verifyReferences)
    },
    rollout: { restart: valueOf(restart), timeoutMs: valueOf(rolloutTimeout) }
  }
}

type CheckedFields<T> = { readonly [K in keyof T]-?: Checked<T[K]> }

function readWriteSettings(
  read: InputReader,
  problems: ProblemCollector
): CheckedFields<Omit<WriteSettings, 'kmsKeyId'>> {
  return {
    tier: problems.check(() => parseTier('tier', read('tier'))),
    tags: problems.check(() => parseTags('tags', read('tags'))),
    prune: problems.check(() => parseBoolean('prune', read('prune')))
  }
}

function readSyncSettings(read: InputReader, problems: ProblemCollector): CheckedFields<SyncSettings> {
  return {
    annotationKey: problems.check(() => parseQualifiedName('annotation-key', read('annotation-key'))),
    wait: problems.check(() => parseBoolean('wait', read('wait'))),
    timeoutMs: problems.check(() => parseDuration('timeout', read('timeout'))),
    verifyReferences: problems.check(() => parseBoolean('verify-references', read('verify-references')))
  }
}

function readDefinitions(
  read: InputReader,
  problems: ProblemCollector,
  workspace: string
): Omit<DefinitionsSettings, 'waitUntilApplied'> | undefined {
  const overlay = read('definitions')
  const base = read('definitions-base') || undefined
  if (base && !overlay) problems.add('definitions-base', 'is checked together with the overlay: set definitions too')
  return overlay ? { overlay, base, workspace } : undefined
}

/** Selects and normalizes the secrets; with an invalid tier or path, checks what it still can. */
function prepareSecrets(
  entries: SecretEntries,
  selection: SelectionRules,
  tier: WriteSettings['tier'],
  path: string | undefined
): Secret[] {
  const selected = selectSecrets(toSecretInputs(entries), selection)
  if (!selected.length) {
    throw new InputProblem(
      'include',
      `none of the ${entries.length} secrets given was selected: check include, exclude and strip-prefix`
    )
  }
  return normalizeSecrets(selected, { tier, path })
}
