/**
 * Resolves once `condition` holds (it reads e.g. the test API server's request log, checked every 2 ms), or fails after
 * `timeoutMs`: an unbounded loop would outlive a failed test and keep polling through the rest of the suite.
 */
export async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/**
 * Resolves once the second after the one holding `ms` (ms since the epoch; now by default) has begun: for tests of
 * rules that compare whole-second times (a restore point, managedFields, a pod's startTime), a condition on the clock
 * rather than a guess of how long a step takes.
 */
export async function untilSecondAfter(ms = Date.now()): Promise<void> {
  const next = Math.floor(ms / 1000) * 1000 + 1000
  await until(() => Date.now() >= next)
}

/**
 * A restore point strictly between two runs, in a second of its own: after the second of the writes before it began,
 * and a second before the writes after it (moto stamps LastModifiedDate to the millisecond; the second on each side
 * keeps the point clear of both runs' writes whatever precision they are compared at).
 */
export async function pointBetweenRuns(): Promise<string> {
  await untilSecondAfter()
  const point = new Date().toISOString()
  await untilSecondAfter()
  return point
}

/** `promise`, or a rejection naming `what` once `ms` have passed (the timer cleared either way). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))
  )
  try {
    return await Promise.race([promise, bound])
  } finally {
    clearTimeout(timer)
  }
}
