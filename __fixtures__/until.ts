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
