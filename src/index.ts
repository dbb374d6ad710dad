import { run } from './main.js'

// A cancelled job: the runner sends SIGINT, waits 7.5 s, sends SIGTERM, waits 2.5 s, then kills the process tree
// (actions/runner src/Runner.Sdk/ProcessInvoker.cs, `_sigintTimeout`, `_sigtermTimeout`, CancelAndKillProcessTree).
// Either signal cancels the run: no new write starts, the writes in flight finish, the outputs and the job summary
// are written, and the step fails.
const cancel = new AbortController()
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => cancel.abort(signal))
await run({ cancel: cancel.signal })
// Whatever a cancelled run leaves open (a watch's connection) must not hold the process past the runner's grace.
if (cancel.signal.aborted) process.exit()
