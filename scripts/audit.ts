/**
 * Supply chain check for .ci/run: `npm audit --omit=dev` must find nothing of high or critical
 * severity in the runtime dependencies. Where the registry offers no audit endpoint (some mirrors
 * answer 405), it says so plainly and does not pass that off as a clean audit.
 */
import { spawnSync } from 'node:child_process'

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' })
const report = JSON.parse(run.stdout || '{}') as {
  statusCode?: number
  message?: string
  metadata?: { vulnerabilities?: Record<string, number> }
}

if (!report.metadata?.vulnerabilities) {
  console.log(
    `npm audit: NOT RUN, the registry has no audit endpoint here (${report.statusCode ?? '?'}: ${report.message ?? run.stderr.trim()})`
  )
} else {
  const { high = 0, critical = 0 } = report.metadata.vulnerabilities
  console.log(`npm audit (runtime dependencies): ${critical} critical, ${high} high`)
  if (high + critical > 0) {
    console.error('npm audit found high or critical vulnerabilities: run `npm audit --omit=dev` and update them')
    process.exitCode = 1
  }
}
