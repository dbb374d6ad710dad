import { matchesLabelSelector, type LabelSelector } from '../inputs/label-selector.js'
import { qualifiedName, type ExternalSecret } from '../k8s/types.js'
import { PLACEHOLDER, pinnedVersionProblems, referenceProblem, referencesOf, type Reference, type Scope } from '../sync/guardrails.js'
import type { RenderedObject } from './render.js'

/** An ExternalSecret from the rendered definitions, with the file it came from when known. */
export interface Definition {
  readonly externalSecret: ExternalSecret
  readonly origin?: string
}

export interface OverlayContext {
  readonly scope: Scope
  /** `/<prefix>/<environment>/<service>` */
  readonly servicePath: string
  readonly selector: LabelSelector
  readonly selectorText: string
  /** Parameter name -> the secret being pushed to it in this run. */
  readonly pushed: ReadonlyMap<string, string>
  /** Parameters the definitions need, not pushed, that SSM already holds. */
  readonly existing: ReadonlySet<string>
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
  return objects
    .filter(({ object }) => object.kind === 'ExternalSecret' && String(object.apiVersion ?? '').startsWith('external-secrets.io/'))
    .map(({ object, origin }) => ({ externalSecret: object as unknown as ExternalSecret, origin }))
}

/** Single parameters under the service's path that the definitions read: each needs a value. */
function neededReferences(definitions: readonly Definition[], servicePath: string): Array<Reference & { origin?: string; secretKey: string }> {
  return definitions.flatMap(({ externalSecret, origin }) =>
    referencesOf(externalSecret)
      .filter((reference) => !reference.field.endsWith('find.path') && reference.key.startsWith(`${servicePath}/`))
      .map((reference) => ({ ...reference, origin, secretKey: secretKeyOf(externalSecret, reference) }))
  )
}

/** The parameters to look up in SSM: needed, and not provided by the secrets being pushed. */
export function parametersToLookUp(definitions: readonly Definition[], servicePath: string, pushed: ReadonlyMap<string, string>): string[] {
  return [...new Set(neededReferences(definitions, servicePath).map(({ key }) => key))].filter((key) => !pushed.has(key)).sort()
}

/** Every check of the overlay's ExternalSecrets. Pure. */
export function checkOverlay(definitions: readonly Definition[], context: OverlayContext): OverlayCheck {
  const problems: string[] = []
  const pinned: string[] = []
  if (!definitions.length) problems.push('definitions: the overlay renders no ExternalSecret (external-secrets.io); check the path')
  for (const { externalSecret, origin } of definitions) {
    const at = origin ? `${origin}: ` : ''
    if (!matchesLabelSelector(context.selector, externalSecret.metadata.labels)) {
      problems.push(`${at}ExternalSecret ${qualifiedName(externalSecret)} does not match the label selector "${context.selectorText}", so force-sync would never reach it: add the label`)
    }
    const references = referencesOf(externalSecret)
    for (const reference of references) {
      const problem = referenceProblem(reference, context.scope)
      if (problem) problems.push(`${at}ExternalSecret ${problem}`)
    }
    pinned.push(...pinnedVersionProblems(references, new Set(context.pushed.keys())).map((warning) => `${at}ExternalSecret ${warning}`))
  }
  const needed = neededReferences(definitions, context.servicePath)
  for (const reference of needed) {
    if (!context.pushed.has(reference.key) && !context.existing.has(reference.key)) {
      problems.push(`${reference.origin ? `${reference.origin}: ` : ''}ExternalSecret ${reference.externalSecret} needs ${reference.key}, which no secret provides (none is pushed under that name and SSM does not hold it)`)
    }
  }
  return { problems, warnings: [...pinned, ...deadValueWarnings(definitions, context)], mapping: mappingOf(needed, context) }
}

function deadValueWarnings(definitions: readonly Definition[], { pushed }: OverlayContext): string[] {
  const references = definitions.flatMap(({ externalSecret }) => referencesOf(externalSecret))
  const used = (name: string) =>
    references.some(({ key, field }) => (field.endsWith('find.path') ? name.startsWith(key.endsWith('/') ? key : `${key}/`) : key === name))
  return [...pushed]
    .filter(([name]) => !used(name))
    .map(([name, source]) => `secret ${source} is pushed to ${name}, but no ExternalSecret in the definitions reads it`)
}

function mappingOf(needed: ReturnType<typeof neededReferences>, { pushed, existing }: OverlayContext): MappingRow[] {
  return needed.map((reference) => ({
    externalSecret: reference.externalSecret,
    secretKey: reference.secretKey,
    parameter: reference.key,
    source: pushed.get(reference.key) ?? (existing.has(reference.key) ? '(already in SSM)' : '(missing)')
  }))
}

function secretKeyOf(externalSecret: ExternalSecret, reference: Reference): string {
  const index = /^spec\.data\[(\d+)\]/.exec(reference.field)?.[1]
  return index === undefined ? '(all keys)' : (externalSecret.spec?.data?.[Number(index)]?.secretKey ?? '')
}

/**
 * The base must keep the placeholder in every key under the path prefix: it is what stops a
 * failed overlay from reading another environment, production above all. Pure.
 */
export function checkBase(definitions: readonly Definition[], pathPrefix: string): string[] {
  if (!definitions.length) return ['definitions-base: the base renders no ExternalSecret (external-secrets.io); check the path']
  return definitions.flatMap(({ externalSecret, origin }) =>
    referencesOf(externalSecret)
      .filter(({ key }) => key.startsWith(`${pathPrefix}/`) && !key.startsWith(`${pathPrefix}/${PLACEHOLDER}/`))
      .map(
        ({ key, field }) =>
          `${origin ? `${origin}: ` : ''}base ExternalSecret ${externalSecret.metadata.name}: ${field} "${key}" hard-codes an environment; write ${pathPrefix}/${PLACEHOLDER}/... and let each overlay replace ${PLACEHOLDER}`
      )
  )
}
