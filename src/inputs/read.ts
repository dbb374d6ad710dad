import { ProblemCollector } from '../errors.js'
import { parseLabelSelector } from './label-selector.js'
import type { SelectionRules } from '../secrets/select.js'
import { parseBoolean, parseDuration, parseEndpoint, parseList, parseNamespace, parseQualifiedName, parsePathPrefix, parsePathSegment, parseRegion, parseTags, parseTier, type Tier } from './parsers.js'

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
  'definitions-base': ''
}

export type InputReader = (name: string) => string

/** The inputs, read and validated; the `secrets` text is parsed separately (it must be masked first). */
export interface ActionInputs {
  readonly environment: string
  readonly service: string
  readonly pathPrefix: string
  readonly selection: SelectionRules
  readonly kmsKeyId?: string
  readonly tier: Tier
  readonly tags: Readonly<Record<string, string>>
  readonly prune: boolean
  readonly dryRun: boolean
  readonly aws: { readonly region: string; readonly endpoint?: string }
  readonly sync: SyncInputs
  /** The service's kustomize overlay for this environment, and its base, relative to the workspace. */
  readonly definitions: { readonly overlay: string; readonly base: string }
}

export interface SyncInputs {
  /** Empty: the sync phase is skipped. */
  readonly namespaces: readonly string[]
  readonly labelSelector: string
  /** Kubeconfig file content; empty: KUBECONFIG, ~/.kube/config, then in-cluster. */
  readonly kubeconfig: string
  readonly kubeContext: string
  readonly annotationKey: string
  readonly wait: boolean
  readonly timeoutMs: number
  readonly verifyReferences: boolean
}

/** Reads and validates every input but `secrets`, adding each problem to `problems`. Pure: no I/O. */
export function readInputs(
  getInput: InputReader,
  env: Readonly<Record<string, string | undefined>>,
  problems: ProblemCollector,
  { pushing }: { pushing: boolean }
): Partial<ActionInputs> {
  const read = (name: string): string => getInput(name).trim() || INPUT_DEFAULTS[name] || ''
  const sync = readSyncInputs(read, problems)
  const definitions = { overlay: read('definitions'), base: read('definitions-base') }
  if (definitions.base && !definitions.overlay) problems.add('definitions-base', 'is checked together with the overlay: set definitions too')
  const needsSsm = pushing || Boolean(definitions.overlay) || (Boolean(sync.namespaces?.length) && sync.verifyReferences !== false)
  return {
    environment: problems.attempt(() => parsePathSegment('environment', read('environment'))),
    service: problems.attempt(() => parsePathSegment('service', read('service'))),
    pathPrefix: problems.attempt(() => parsePathPrefix('path-prefix', read('path-prefix'))),
    selection: { include: parseList(read('include')), exclude: parseList(read('exclude')), stripPrefix: read('strip-prefix') },
    kmsKeyId: read('kms-key-id') || undefined,
    tier: problems.attempt(() => parseTier('tier', read('tier'))),
    tags: problems.attempt(() => parseTags('tags', read('tags'))),
    prune: problems.attempt(() => parseBoolean('prune', read('prune'))),
    dryRun: problems.attempt(() => parseBoolean('dry-run', read('dry-run'))),
    aws: {
      region: needsSsm ? problems.attempt(() => parseRegion('aws-region', read('aws-region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || '')) : '',
      endpoint: problems.attempt(() => parseEndpoint('ssm-endpoint', read('ssm-endpoint')))
    },
    sync: sync as SyncInputs,
    definitions
  } as Partial<ActionInputs>
}

function readSyncInputs(read: (name: string) => string, problems: ProblemCollector): Partial<SyncInputs> {
  return {
    namespaces: problems.attempt(() => parseList(read('namespace')).map((namespace) => parseNamespace('namespace', namespace))) ?? [],
    labelSelector: problems.attempt(() => parseLabelSelector('label-selector', read('label-selector')) && read('label-selector')),
    kubeconfig: read('kubeconfig'),
    kubeContext: read('kube-context'),
    annotationKey: problems.attempt(() => parseQualifiedName('annotation-key', read('annotation-key'))),
    wait: problems.attempt(() => parseBoolean('wait', read('wait'))),
    timeoutMs: problems.attempt(() => parseDuration('timeout', read('timeout'))),
    verifyReferences: problems.attempt(() => parseBoolean('verify-references', read('verify-references')))
  }
}
