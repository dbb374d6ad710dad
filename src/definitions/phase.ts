import { ActionError } from '../errors.js'
import type { LabelSelector } from '../inputs/label-selector.js'
import type { Secret } from '../secrets/keys.js'
import type { Redactor } from '../secrets/redact.js'
import { explainSsmError } from '../ssm/explain.js'
import { missingParameters } from '../ssm/read.js'
import type { RetryPolicy } from '../ssm/retry.js'
import { parameterName, type ParameterStore } from '../ssm/store.js'
import { checkBase, checkOverlay, definitionsIn, parametersToLookUp, type MappingRow } from './check.js'
import { renderKustomization } from './render.js'

export interface DefinitionsOptions {
  /** The overlay folder, relative to the workspace. */
  readonly overlay: string
  readonly base?: string
  readonly workspace: string
  readonly pathPrefix: string
  readonly environment: string
  readonly servicePath: string
  readonly selector: LabelSelector
  readonly selectorText: string
  readonly secrets: readonly Secret[]
}

export interface DefinitionsReport {
  readonly mapping: MappingRow[]
  readonly warnings: string[]
}

/**
 * The definitions phase: render the overlay (and the base) with kustomize and check them against
 * the secrets of this run and what SSM holds. Any problem stops the run before the push.
 */
export async function checkDefinitions(
  options: DefinitionsOptions,
  deps: { store?: ParameterStore; redact: Redactor; retry?: RetryPolicy }
): Promise<DefinitionsReport> {
  const overlay = definitionsIn(await renderKustomization('definitions', options.overlay, options.workspace))
  const base = options.base ? definitionsIn(await renderKustomization('definitions-base', options.base, options.workspace)) : undefined
  const pushed = new Map(options.secrets.map(({ key, source }) => [parameterName(options.servicePath, key), source]))
  const lookUp = parametersToLookUp(overlay, options.servicePath, pushed)
  const existing = lookUp.length && deps.store ? await existingParameters(lookUp, deps.store, deps.redact, deps.retry) : new Set<string>()
  const scope = { pathPrefix: options.pathPrefix, environment: options.environment }
  const check = checkOverlay(overlay, { scope, servicePath: options.servicePath, selector: options.selector, selectorText: options.selectorText, pushed, existing })
  const problems = [...check.problems, ...(base ? checkBase(base, options.pathPrefix) : [])]
  if (problems.length) throw new ActionError('ZT111', 'Nothing was written: the secret definitions have problems.', problems)
  return { mapping: check.mapping, warnings: check.warnings }
}

/** Which of the names SSM holds, read without decryption. */
async function existingParameters(names: readonly string[], store: ParameterStore, redact: Redactor, retry?: RetryPolicy): Promise<Set<string>> {
  try {
    const missing = await missingParameters(store, names, retry)
    return new Set(names.filter((name) => !missing.has(name)))
  } catch (error) {
    throw new ActionError('ZT120', `Nothing was written: checking the definitions' parameters in SSM failed. ${explainSsmError(error, redact)}`)
  }
}
