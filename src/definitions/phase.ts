import type { ExternalSecret, SecretStore } from '../eso/model.js'
import type { Phase } from '../phase.js'
import type { ParameterStore } from '../ssm/store.js'
import type { RetryPolicy } from '../ssm/retry.js'
import {
  checkDefinitions,
  renderDefinitions,
  type DefinitionsConfig,
  type DefinitionsReport,
  type DefinitionsSettings,
  type RenderedDefinitions
} from './definitions.js'
import { definitionsLogLines, definitionsSummaryRows } from './report.js'

/** Renders the overlay (and the base) with kustomize, before the pre-flight: no SSM call, no cluster call. */
export const renderPhase: Phase<DefinitionsSettings, RenderedDefinitions> = {
  name: 'Secret definitions: render',
  run: (settings) => renderDefinitions(settings),
  report: () => ({})
}

/**
 * What the cluster's phases need of the definitions: the overlay's ExternalSecrets and stores as
 * rendered, and wait-for-definitions.
 */
export function forTheCluster({ overlay, stores, settings }: RenderedDefinitions): {
  externalSecrets: ExternalSecret[]
  stores: readonly SecretStore[]
  waitUntilApplied: boolean
} {
  return {
    externalSecrets: overlay.map(({ externalSecret }) => externalSecret),
    stores,
    waitUntilApplied: settings.waitUntilApplied
  }
}

export interface DefinitionsInput {
  readonly config: DefinitionsConfig
  readonly rendered: RenderedDefinitions
  /** Absent when no phase needs SSM: the references then are checked against the secrets given only. */
  readonly store?: ParameterStore
  readonly retry: RetryPolicy
  /** The stores the pre-flight read from the cluster; absent without a cluster. */
  readonly clusterStores?: readonly SecretStore[]
}

/**
 * The rendered ExternalSecrets checked against this run's secrets and SSM; any problem stops the run before the push.
 */
export const definitionsPhase: Phase<DefinitionsInput, DefinitionsReport> = {
  name: 'Secret definitions: check',
  run: ({ config, rendered, store, retry, clusterStores }, { redact }) =>
    checkDefinitions(config, rendered, { store, redact, retry, clusterStores }),
  report: (report, { rendered }) => ({
    lines: definitionsLogLines(report),
    warnings: report.warnings,
    summary: [{ heading: `Secret definitions (${rendered.settings.overlay})`, rows: definitionsSummaryRows(report) }]
  })
}
