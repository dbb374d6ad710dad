import { ActionError } from '../errors.js'
import type { LabelSelector } from '../k8s/label-selector.js'
import type { Secret } from '../secrets/keys.js'
import type { Redactor } from '../secrets/redact.js'
import { stopOnSsmError } from '../ssm/explain.js'
import { missingParameters } from '../ssm/read.js'
import type { RetryPolicy } from '../ssm/retry.js'
import { parameterName, type ServiceTarget } from '../ssm/rules.js'
import type { ParameterStore } from '../ssm/store.js'
import {
  checkBase,
  checkOverlay,
  definitionsIn,
  parametersToLookUp,
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
  readonly base?: readonly Definition[]
}

export interface DefinitionsReport {
  readonly mapping: MappingRow[]
  readonly warnings: string[]
}

/** Renders the overlay (and the base) with kustomize: no SSM call, no cluster call. */
export async function renderDefinitions(definitions: DefinitionsSettings): Promise<RenderedDefinitions> {
  const overlay = definitionsIn(await renderKustomization('definitions', definitions.overlay, definitions.workspace))
  const base = definitions.base
    ? definitionsIn(await renderKustomization('definitions-base', definitions.base, definitions.workspace))
    : undefined
  return { settings: definitions, overlay, base }
}

/**
 * The definitions check: the rendered ExternalSecrets against the secrets of this run and what SSM
 * holds. Any problem stops the run before the push.
 */
export async function checkDefinitions(
  { target, selector, secrets }: DefinitionsConfig,
  { overlay, base }: RenderedDefinitions,
  deps: { store?: ParameterStore; redact: Redactor; retry?: RetryPolicy }
): Promise<DefinitionsReport> {
  const pushed = new Map(secrets.map(({ key, source }) => [parameterName(target.path, key), source]))
  const lookUp = parametersToLookUp(overlay, target.path, pushed)
  const existing =
    lookUp.length && deps.store
      ? await existingParameters(lookUp, deps.store, deps.redact, deps.retry)
      : new Set<string>()
  const check = checkOverlay(overlay, { target, selector, pushed, existing })
  const problems = [...check.problems, ...(base ? checkBase(base, target.pathPrefix) : [])]
  if (problems.length)
    throw new ActionError('ZT111', 'Nothing was written: the secret definitions have problems.', problems)
  return { mapping: check.mapping, warnings: check.warnings }
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
