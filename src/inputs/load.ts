import { ProblemCollector, InputProblem } from '../errors.js'
import { readSecretEntries, toSecretInputs, valuesToMask, type SecretEntries } from '../secrets/document.js'
import { normalizeSecrets, type Secret } from '../secrets/keys.js'
import { onlyAlwaysExcluded, selectSecrets } from '../secrets/select.js'
import { servicePath } from '../ssm/store.js'
import { readInputs, type ActionInputs, type InputReader } from './read.js'

export interface LoadedInputs {
  readonly inputs: ActionInputs
  /** `/<prefix>/<environment>/<service>` */
  readonly path: string
  /** The secrets to push; empty when the push phase is skipped. */
  readonly secrets: readonly Secret[]
}

/**
 * Reads and validates all inputs. Every secret value is handed to `mask` as soon as the `secrets`
 * text is parsed, before anything else can be logged; then every problem is reported at once.
 */
export function loadInputs(getInput: InputReader, env: Readonly<Record<string, string | undefined>>, mask: (value: string) => void): LoadedInputs {
  const problems = new ProblemCollector()
  const entries = problems.attempt(() => readSecretEntries(getInput('secrets'))) ?? []
  valuesToMask(entries).forEach(mask)
  const pushing = !onlyAlwaysExcluded(entries.map(([name]) => name))
  const inputs = readInputs(getInput, env, problems, { pushing })
  const path = inputs.pathPrefix && inputs.environment && inputs.service ? servicePath(inputs.pathPrefix, inputs.environment, inputs.service) : undefined
  const secrets = pushing ? (problems.attempt(() => prepareSecrets(entries, inputs, path)) ?? []) : []
  problems.throwIfAny('Invalid inputs; nothing was written.')
  return { inputs: inputs as ActionInputs, path: path!, secrets }
}

/** Selects and normalizes the secrets; with an invalid tier or path, checks what it still can. */
function prepareSecrets(entries: SecretEntries, inputs: Partial<ActionInputs>, path: string | undefined): Secret[] {
  const selected = selectSecrets(toSecretInputs(entries), inputs.selection!)
  if (!selected.length) {
    throw new InputProblem('include', `none of the ${entries.length} secrets given was selected: check include, exclude and strip-prefix`)
  }
  return normalizeSecrets(selected, { tier: inputs.tier ?? 'Intelligent-Tiering', path })
}
