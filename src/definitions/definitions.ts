import { ActionError } from '../errors.js'
import type { LabelSelector } from '../k8s/label-selector.js'
import type { Secret } from '../secrets/keys.js'
import type { Redactor } from '../secrets/redact.js'
import { stopOnSsmError } from '../ssm/explain.js'
import { missingParameters } from '../ssm/read.js'
import type { RetryPolicy } from '../ssm/retry.js'
import { parameterName, type ServiceTarget } from '../ssm/rules.js'
import type { ParameterStore } from '../ssm/store.js'
import { isSecretStore, type SecretStore } from '../eso/model.js'
import {
  checkBase,
  checkOverlay,
  definitionsIn,
  parametersToLookUp,
  unknownStoreNotes,
  type Definition,
  type MappingRow
} from './check.js'
import { renderKustomization } from './render.js'

/** The service's kustomize overlay for this environment, and its base. */
export interface DefinitionsSettings {
  /** The overlay folder, relative to the workspace. */
  readonly overlay: string
  readonly base?: string
  /** The checkout the folders are in (GITHUB_WORKSPACE). */
  readonly workspace: string
  /** wait-for-definitions: before annotating, wait until the cluster holds them as rendered (else only warn). */
  readonly waitUntilApplied: boolean
}

/** The definitions check's slice of the configuration. */
export interface DefinitionsConfig {
  readonly target: ServiceTarget
  readonly selector: LabelSelector
  readonly secrets: readonly Secret[]
}

/** The ExternalSecrets of the overlay, and of the base when one is given. */
export interface RenderedDefinitions {
  /** The folders they were rendered from. */
  readonly settings: DefinitionsSettings
  readonly overlay: readonly Definition[]
  /** The SecretStores and ClusterSecretStores the overlay renders: Git applies them with the ExternalSecrets. */
  readonly stores: readonly SecretStore[]
  readonly base?: readonly Definition[]
}

export interface DefinitionsReport {
  readonly mapping: MappingRow[]
  readonly warnings: string[]
  /** What the check could not know: the stores it could not read (no cluster). */
  readonly notes: string[]
}

/** Renders the overlay (and the base) with kustomize: no SSM call, no cluster call. */
export async function renderDefinitions(definitions: DefinitionsSettings): Promise<RenderedDefinitions> {
  const objects = await renderKustomization('definitions', definitions.overlay, definitions.workspace)
  const base = definitions.base
    ? definitionsIn(await renderKustomization('definitions-base', definitions.base, definitions.workspace))
    : undefined
  const stores = objects.flatMap(({ object }) => (isSecretStore(object) ? [object] : []))
  return { settings: definitions, overlay: definitionsIn(objects), stores, base }
}

/**
 * The definitions check: the rendered ExternalSecrets against the secrets of this run and what SSM
 * holds. Any problem stops the run before the push. Their keys resolve through the stores the
 * overlay renders, else those the pre-flight read from the cluster (`clusterStores`; absent
 * without a cluster: a store in neither is warned about, and its keys are taken as written).
 */
export async function checkDefinitions(
  { target, selector, secrets }: DefinitionsConfig,
  rendered: RenderedDefinitions,
  deps: { store?: ParameterStore; redact: Redactor; retry?: RetryPolicy; clusterStores?: readonly SecretStore[] }
): Promise<DefinitionsReport> {
  const { overlay, base } = rendered
  const stores = [...rendered.stores, ...(deps.clusterStores ?? [])]
  const pushed = new Map(secrets.map(({ key, source }) => [parameterName(target.path, key), source]))
  const lookUp = parametersToLookUp(overlay, stores, target.path, pushed)
  const existing =
    lookUp.length && deps.store
      ? await existingParameters(lookUp, deps.store, deps.redact, deps.retry)
      : new Set<string>()
  const check = checkOverlay(overlay, { target, selector, pushed, existing, stores })
  const problems = [...check.problems, ...(base ? checkBase(base, target.pathPrefix, rendered.stores) : [])]
  if (problems.length)
    throw new ActionError('ZT111', 'Nothing was written: the secret definitions have problems.', problems)
  const notes = deps.clusterStores ? [] : unknownStoreNotes(overlay, stores)
  return { mapping: check.mapping, warnings: check.warnings, notes }
}

/** Which of the names SSM holds, read without decryption. */
async function existingParameters(
  names: readonly string[],
  store: ParameterStore,
  redact: Redactor,
  retry?: RetryPolicy
): Promise<Set<string>> {
  const missing = await stopOnSsmError(
    () => missingParameters(store, names, retry),
    "Nothing was written: checking the definitions' parameters in SSM failed.",
    redact
  )
  return new Set(names.filter((name) => !missing.has(name)))
}
