import { ActionError, runCancelled } from '../errors.js'
import { liveDifference } from '../eso/drift.js'
import type { ExternalSecret } from '../eso/model.js'
import type { ClusterSettings } from '../k8s/api.js'
import { watchExternalSecrets, type ExternalSecretsApi, type ExternalSecretsRef } from '../eso/api.js'
import { stopOnKubeError } from '../k8s/errors.js'
import { inNamespace, refOf } from '../k8s/types.js'
import { matchesLabelSelector, type LabelSelector } from '../k8s/label-selector.js'
import type { Redactor } from '../secrets/redact.js'
import { watchUntilSettled } from '../k8s/watch.js'
import { formatSeconds, type Clock } from '../time.js'

/**
 * The GitOps gate: before anything is annotated, wait until the cluster holds every
 * ExternalSecret as the definitions render it. Annotating earlier would force-sync the old
 * definition (the GitOps race): the operator reports success and a key the release added
 * arrives only at the next refresh. Watches, never polls.
 */

export interface GateConfig {
  /** The ExternalSecrets rendered from the definitions. */
  readonly rendered: readonly ExternalSecret[]
  /** The namespace input (never empty): the first is where a rendered ExternalSecret naming none goes. */
  readonly cluster: Pick<ClusterSettings, 'namespaces'>
  /** external-secrets.io version, from discoverVersion(). */
  readonly version: string
  readonly selector: LabelSelector
  readonly timeoutMs: number
  /** The wait-for-definitions input: false only warns about differences. */
  readonly wait: boolean
}

export interface GateDependencies {
  readonly kube: ExternalSecretsApi
  readonly clock: Clock
  /** Progress lines while the gate waits. */
  readonly log: (line: string) => void
  readonly redact: Redactor
}

export type GateOutcome = {
  readonly namespace: string
  readonly name: string
  /** From the start of the gate until the cluster held it as rendered; 0 when it already did or was not waited for. */
  readonly waitedMs: number
} & ({ readonly result: 'matched' } | { readonly result: 'differs'; readonly difference: string })

export interface GateReport {
  /** One per rendered ExternalSecret. */
  readonly outcomes: readonly GateOutcome[]
  readonly warnings: readonly string[]
}

interface Target {
  readonly namespace: string
  readonly name: string
  readonly rendered: ExternalSecret
}

/** One namespace's selected live ExternalSecrets by name, as listed, then kept current by its watch. */
interface Namespace {
  readonly ref: ExternalSecretsRef
  readonly resourceVersion: string
  readonly live: Map<string, ExternalSecret>
}

type Differences = Map<Target, string | undefined>

const NOT_YET = 'The SSM values are written; nothing was annotated'

export async function waitForDefinitions(config: GateConfig, deps: GateDependencies): Promise<GateReport> {
  const start = deps.clock.now()
  const targets = config.rendered.map((es): Target => ({
    ...refOf(inNamespace(es, config.cluster.namespaces[0])),
    rendered: es
  }))
  const namespaces = await stopOnKubeError(() => listNamespaces(config, targets, deps.kube), NOT_YET, deps.redact)
  const judge = (target: Target): string | undefined => {
    const difference = liveDifference(target.rendered, namespaces.get(target.namespace)?.live.get(target.name))
    return difference && deps.redact(difference)
  }
  const differences: Differences = new Map(targets.map((target) => [target, judge(target)]))
  const notInGit = () => notInGitWarnings(namespaces, targets, config)

  if (allMatch(differences)) return { outcomes: targets.map((target) => matched(target, 0)), warnings: notInGit() }
  if (!config.wait) {
    const outcomes = targets.map((target): GateOutcome => {
      const difference = differences.get(target)
      return difference === undefined
        ? matched(target, 0)
        : { namespace: target.namespace, name: target.name, waitedMs: 0, result: 'differs', difference }
    })
    const warnings = outcomes.flatMap((outcome) =>
      outcome.result === 'differs'
        ? [
            `${outcome.namespace}/${outcome.name} is not yet as in the definitions: ${outcome.difference} (not waited for: wait-for-definitions is false)`
          ]
        : []
    )
    return { outcomes, warnings: [...warnings, ...notInGit()] }
  }

  const matchedAt = await stopOnKubeError(
    () => watchUntilMatched([...namespaces.values()], differences, judge, config, deps, start),
    NOT_YET,
    deps.redact
  )
  return {
    outcomes: targets.map((target) => matched(target, (matchedAt.get(target) ?? start) - start)),
    warnings: notInGit()
  }
}

function matched({ namespace, name }: Target, waitedMs: number): GateOutcome {
  return { namespace, name, waitedMs, result: 'matched' }
}

function allMatch(differences: Differences): boolean {
  return [...differences.values()].every((difference) => difference === undefined)
}

function nameOf({ namespace, name }: Target): string {
  return `${namespace}/${name}`
}

/** Each namespace involved once: the namespace input's (for what is not in Git) and the rendered ones'. */
async function listNamespaces(
  config: GateConfig,
  targets: readonly Target[],
  kube: ExternalSecretsApi
): Promise<Map<string, Namespace>> {
  const names = [...new Set([...config.cluster.namespaces, ...targets.map(({ namespace }) => namespace)])]
  const listed = await Promise.all(
    names.map(async (namespace): Promise<Namespace> => {
      const ref = { version: config.version, namespace, labelSelector: config.selector.text }
      const { items, resourceVersion } = await kube.listExternalSecrets(ref)
      return {
        ref,
        resourceVersion,
        live: new Map(selected(items, namespace, config.selector).map((es) => [es.metadata.name, es]))
      }
    })
  )
  return new Map(listed.map((entry) => [entry.ref.namespace, entry]))
}

/** The server filtered by namespace and selector; filter again, as the sync phase does. */
function selected(items: readonly ExternalSecret[], namespace: string, selector: LabelSelector): ExternalSecret[] {
  return items.filter(
    (es) => (es.metadata.namespace ?? namespace) === namespace && matchesLabelSelector(selector, es.metadata.labels)
  )
}

function notInGitWarnings(
  namespaces: ReadonlyMap<string, Namespace>,
  targets: readonly Target[],
  config: GateConfig
): string[] {
  return config.cluster.namespaces.flatMap((namespace) =>
    [...(namespaces.get(namespace)?.live.keys() ?? [])]
      .filter((name) => !targets.some((target) => target.namespace === namespace && target.name === name))
      .sort()
      .map((name) => `${namespace}/${name} matches the label selector but is not in the definitions (not in Git)`)
  )
}

/**
 * Watches every namespace until each target matches, logging each difference once and again
 * when it changes. Resolves with when each target last came to match; rejects on the timeout
 * (an ActionError) or with the KubeError that ended a watch.
 */
async function watchUntilMatched(
  namespaces: readonly Namespace[],
  initial: Differences,
  judge: (target: Target) => string | undefined,
  config: GateConfig,
  { kube, clock, log }: GateDependencies,
  start: number
): Promise<Map<Target, number>> {
  const differences: Differences = new Map(initial)
  const matchedAt = new Map(
    [...differences].flatMap(([target, difference]) => (difference === undefined ? [[target, start] as const] : []))
  )
  log(`Waiting up to ${formatSeconds(config.timeoutMs / 1000)} s for the cluster to apply the definitions:`)
  for (const [target, difference] of differences)
    if (difference !== undefined) log(`  ${nameOf(target)}: ${difference}`)

  let failure: Error | undefined
  await watchUntilSettled({
    clock,
    timeoutMs: config.timeoutMs - (clock.now() - start),
    settled: () => allMatch(differences),
    onTimeout: () => (failure = timedOut(differences, config.timeoutMs)),
    onCancel: () => (failure = clock.cancelled && runCancelled(clock.cancelled, 'while waiting for the definitions')),
    start: (loop) => {
      const update = (namespace: string): void => {
        for (const [target, before] of differences) {
          if (target.namespace !== namespace) continue
          const difference = judge(target)
          if (difference === before) continue
          differences.set(target, difference)
          if (difference === undefined) {
            matchedAt.set(target, clock.now())
            log(`  ${nameOf(target)}: as in the definitions after ${formatSeconds((clock.now() - start) / 1000)} s`)
          } else log(`  ${nameOf(target)}: ${difference}`)
        }
        loop.check()
      }
      return namespaces.map((namespace) => {
        const { ref, live } = namespace
        return watchExternalSecrets(kube, namespace, loop.sleep, {
          onEvent: ({ type, object }) => {
            // An object that stops matching the selector comes as DELETED.
            if (type === 'DELETED') live.delete(object.metadata.name)
            else live.set(object.metadata.name, object)
            update(ref.namespace)
          },
          onRelisted: (items) => {
            live.clear()
            for (const es of selected(items, ref.namespace, config.selector)) live.set(es.metadata.name, es)
            update(ref.namespace)
          },
          onFatal: (error) => {
            failure = error
            loop.end()
          }
        })
      })
    }
  })
  if (failure) throw failure
  return matchedAt
}

function timedOut(differences: Differences, timeoutMs: number): ActionError {
  const problems = [...differences].flatMap(([target, difference]) =>
    difference === undefined ? [] : [`${nameOf(target)}: ${difference}`]
  )
  return new ActionError(
    'ZT145',
    `The SSM values are already written, but the cluster has not applied the definitions within ${formatSeconds(timeoutMs / 1000)} s (GitOps sync pending or failed: check the Argo CD application). Nothing was annotated.`,
    problems
  )
}
