import type { ActionError } from './errors.js'
import type { Redactor } from './secrets/redact.js'
import type { Clock } from './time.js'

/**
 * The phase contract: each phase folder exports a `Phase` (its `phase.ts`), and `main.ts` runs them
 * in order. A phase never prints: it returns what it has to say, and `main.ts` alone logs it (inside
 * the phase's `core.group`), sets the outputs, adds the summary tables and turns a `failure` into the
 * step's error.
 */

/**
 * What a run is for: `release` pushes, syncs and rolls out; `check` only reads, and reports where SSM, the cluster or
 * the pods drifted from what a release would make them (check/). Every phase that asks or does something a check
 * must not reads it.
 */
export const RUN_MODES = ['release', 'check'] as const
export type RunMode = (typeof RUN_MODES)[number]

/** A table of the job summary: its heading, its rows (header first), and a line under it. */
export interface SummaryTable {
  readonly heading: string
  readonly rows: readonly (readonly string[])[]
  readonly footer?: string
}

/** What a phase tells the reader of the step. Pure data: names, counts and reasons, never values. */
export interface PhaseReport {
  readonly lines?: readonly string[]
  /** Worth the reader's attention, not a problem: shown as notices (annotations of the run). */
  readonly notices?: readonly string[]
  readonly warnings?: readonly string[]
  readonly outputs?: Readonly<Record<string, string>>
  /** Its tables in the job summary, in order. */
  readonly summary?: readonly SummaryTable[]
  /** The step's error: the run stops once the report is shown. */
  readonly failure?: ActionError
}

/** What the run hands every phase. */
export interface PhaseContext {
  /**
   * Every wait of the phase reads this clock. It carries the run's cancellation (`clock.cancelled`, aborted on the
   * runner's SIGINT or SIGTERM): its sleeps then end at once, and the SSM and Kubernetes retries start no call.
   */
  readonly clock: Clock
  readonly redact: Redactor
  /** Progress while the phase runs, in its log group (the report has the results). */
  readonly log: (line: string) => void
}

/**
 * One phase of the run. `In` is what it needs of the configuration, of its adapters and of the
 * phases before it; `main.ts` hands it over, or skips the phase when the run does not need it.
 */
export interface Phase<In, Out> {
  /** The heading of its log group. */
  readonly name: string
  /** The line logged when the run skips it; none: it is skipped silently. */
  readonly skipped?: string
  /** Its outputs' values when it does not report (skipped, or the run stopped before it). */
  readonly idleOutputs?: Readonly<Record<string, string>>
  /** Loads what only this phase needs (dynamic imports), then does its work. */
  run(input: In, context: PhaseContext): Promise<Out>
  /** Pure. */
  report(out: Out, input: In): PhaseReport
}
