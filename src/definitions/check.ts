import { ownedReferences, pinnedVersionProblems, referenceProblem } from '../eso/guardrails.js'
import {
  describeReference,
  describeStore,
  isExternalSecret,
  missingStores,
  PLACEHOLDER,
  reads,
  referencesOf,
  type ExternalSecret,
  type SecretStore
} from '../eso/model.js'
import { matchesLabelSelector, type LabelSelector } from '../k8s/label-selector.js'
import { qualifiedName } from '../k8s/types.js'
import type { ServiceTarget } from '../ssm/rules.js'
import type { RenderedObject } from './render.js'

/** An ExternalSecret from the rendered definitions, with the file it came from when known. */
export interface Definition {
  readonly externalSecret: ExternalSecret
  readonly origin?: string
}

export interface OverlayContext {
  readonly target: ServiceTarget
  readonly selector: LabelSelector
  /** Parameter name -> the secret being pushed to it in this run. */
  readonly pushed: ReadonlyMap<string, string>
  /** Parameters the definitions need, not pushed, that SSM already holds. */
  readonly existing: ReadonlySet<string>
  /** The stores the ExternalSecrets read through: rendered, then the cluster's. */
  readonly stores: readonly SecretStore[]
}

/** One line of the job summary: ExternalSecret key -> parameter -> source secret. */
export interface MappingRow {
  readonly externalSecret: string
  readonly secretKey: string
  readonly parameter: string
  readonly source: string
}

export interface OverlayCheck {
  readonly problems: string[]
  readonly warnings: string[]
  readonly mapping: MappingRow[]
}

/** The ExternalSecrets among rendered objects, of any external-secrets.io version. */
export function definitionsIn(objects: readonly RenderedObject[]): Definition[] {
  return objects.flatMap(({ object, origin }) => (isExternalSecret(object) ? [{ externalSecret: object, origin }] : []))
}

/** A parameter under the service's path that one definition reads by name: each needs a value. */
interface NeededParameter {
  /** `namespace/name` of the ExternalSecret */
  readonly externalSecret: string
  readonly origin?: string
  /** The Secret key it fills, or `(all keys)` for a dataFrom extract. */
  readonly secretKey: string
  readonly key: string
}

function neededReferences(
  definitions: readonly Definition[],
  stores: readonly SecretStore[],
  servicePath: string
): NeededParameter[] {
  return definitions.flatMap(({ externalSecret, origin }) =>
    referencesOf(externalSecret, stores).flatMap((reference) =>
      reference.kind === 'find' || !reference.key.startsWith(`${servicePath}/`)
        ? []
        : [
            {
              externalSecret: qualifiedName(externalSecret),
              origin,
              key: reference.key,
              secretKey: reference.kind === 'data' ? reference.secretKey : '(all keys)'
            }
          ]
    )
  )
}

/** The parameters to look up in SSM: needed, and not provided by the secrets being pushed. */
export function parametersToLookUp(
  definitions: readonly Definition[],
  stores: readonly SecretStore[],
  servicePath: string,
  pushed: ReadonlyMap<string, string>
): string[] {
  return [...new Set(neededReferences(definitions, stores, servicePath).map(({ key }) => key))]
    .filter((key) => !pushed.has(key))
    .sort()
}

/** Every check of the overlay's ExternalSecrets. Pure. */
export function checkOverlay(definitions: readonly Definition[], context: OverlayContext): OverlayCheck {
  const problems: string[] = []
  const pinned: string[] = []
  const pushedNames = new Set(context.pushed.keys())
  if (!definitions.length)
    problems.push('definitions: the overlay renders no ExternalSecret (external-secrets.io); check the path')
  for (const { externalSecret, origin } of definitions) {
    const at = origin ? `${origin}: ` : ''
    if (!matchesLabelSelector(context.selector, externalSecret.metadata.labels)) {
      problems.push(
        `${at}ExternalSecret ${qualifiedName(externalSecret)} does not match the label selector "${context.selector.text}", so force-sync would never reach it: add the label`
      )
    }
    const references = ownedReferences(externalSecret, context.stores)
    for (const owned of references) {
      const problem = referenceProblem(owned, context.target)
      if (problem) problems.push(`${at}ExternalSecret ${problem}`)
    }
    pinned.push(...pinnedVersionProblems(references, pushedNames).map((warning) => `${at}ExternalSecret ${warning}`))
  }
  const needed = neededReferences(definitions, context.stores, context.target.path)
  for (const reference of needed) {
    if (!context.pushed.has(reference.key) && !context.existing.has(reference.key)) {
      problems.push(
        `${reference.origin ? `${reference.origin}: ` : ''}ExternalSecret ${reference.externalSecret} needs ${reference.key}, which no secret provides (none is pushed under that name and SSM does not hold it)`
      )
    }
  }
  return {
    problems,
    warnings: [...pinned, ...deadValueWarnings(definitions, context)],
    mapping: mappingOf(needed, context)
  }
}

function deadValueWarnings(definitions: readonly Definition[], { pushed, stores }: OverlayContext): string[] {
  const references = definitions.flatMap(({ externalSecret }) => referencesOf(externalSecret, stores))
  const used = (name: string) => references.some((reference) => reads(reference, name))
  return [...pushed]
    .filter(([name]) => !used(name))
    .map(([name, source]) => `secret ${source} is pushed to ${name}, but no ExternalSecret in the definitions reads it`)
}

function mappingOf(needed: readonly NeededParameter[], { pushed, existing }: OverlayContext): MappingRow[] {
  return needed.map((reference) => ({
    externalSecret: reference.externalSecret,
    secretKey: reference.secretKey,
    parameter: reference.key,
    source: pushed.get(reference.key) ?? (existing.has(reference.key) ? '(already in SSM)' : '(missing)')
  }))
}

/**
 * The base must keep the placeholder in every key under the path prefix: it is what stops a
 * failed overlay from reading another environment, production above all. Pure.
 */
export function checkBase(
  definitions: readonly Definition[],
  pathPrefix: string,
  stores: readonly SecretStore[]
): string[] {
  if (!definitions.length)
    return ['definitions-base: the base renders no ExternalSecret (external-secrets.io); check the path']
  return definitions.flatMap(({ externalSecret, origin }) =>
    referencesOf(externalSecret, stores)
      .filter(({ key }) => key.startsWith(`${pathPrefix}/`) && !key.startsWith(`${pathPrefix}/${PLACEHOLDER}/`))
      .map(
        (reference) =>
          `${origin ? `${origin}: ` : ''}base ExternalSecret ${externalSecret.metadata.name}: ${describeReference(reference)} hard-codes an environment; write ${pathPrefix}/${PLACEHOLDER}/... and let each overlay replace ${PLACEHOLDER}`
      )
  )
}

/**
 * Without a cluster, a store the overlay names but does not render cannot be read: its prefix is
 * unknown, so its keys are checked as written. Said in the log, not refused nor warned: most
 * overlays read through a platform's ClusterSecretStore they do not render, and the definitions may
 * be checked where no cluster is reachable.
 */
export function unknownStoreNotes(definitions: readonly Definition[], stores: readonly SecretStore[]): string[] {
  return definitions.flatMap(({ externalSecret, origin }) =>
    missingStores(externalSecret, stores).map(
      (ref) =>
        `${origin ? `${origin}: ` : ''}ExternalSecret ${qualifiedName(externalSecret)} reads through ${describeStore(ref)}, which the definitions do not render and no cluster was given to read: its keys are checked as written (a prefix of that store is not known)`
    )
  )
}
