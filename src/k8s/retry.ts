import { stopIfCancelled } from '../errors.js'
import { backoffMs, type Backoff, type Clock } from '../time.js'
import { isRetryable } from './errors.js'

/** Patches refused with 409, 429, 5xx or a network error are tried again, this many times in all. */
const ATTEMPTS = 5
const BACKOFF: Backoff = { baseMs: 100, capMs: 2_000 }

/**
 * Runs an idempotent call (a patch that sets a value), again after a failure a repeat may cure. Once the run is
 * cancelled (the clock's `cancelled`) it starts no attempt: an annotation or a restart is a write, and none starts
 * after the signal.
 */
export async function withKubeRetry<T>(operation: () => Promise<T>, clock: Clock, attempts = ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    stopIfCancelled(clock.cancelled, 'before a Kubernetes write')
    try {
      return await operation()
    } catch (error) {
      if (!isRetryable(error) || attempt >= attempts) throw error
      await clock.sleep(backoffMs(BACKOFF, attempt))
    }
  }
}
