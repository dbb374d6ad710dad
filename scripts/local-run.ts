/**
 * `npm start`: runs the bundled action locally, exactly as the GitHub runner runs it, against an
 * embedded SSM (moto_server on a free loopback port) with a sample set of secrets; then a second
 * run with one value changed, to show that only that key is written. Cleans up what it started.
 */
import { runBundledAction, type ActionRun } from '../testing/action.ts'
import { MOTO_INSTALL_HINT, motoAvailable, startMoto } from '../testing/moto.ts'

const SAMPLE = {
  DATABASE_URL: 'postgres://payments:local-only-password@db.local:5432/payments',
  REDIS_URL: 'redis://cache.local:6379/0',
  STRIPE_API_KEY: 'sk_test_local_0000000000',
  github_token: 'ghs_sample_token_never_pushed'
}

function show(title: string, run: ActionRun): void {
  console.log(`\n=== ${title} (exit code ${run.exitCode}) ===`)
  const log = run.stdout
    .split('\n')
    .filter((line) => line && !line.startsWith('::add-mask::'))
    .map((line) => `  ${line}`)
  console.log(log.join('\n'))
  console.log('\n  Outputs:')
  for (const [name, value] of Object.entries(run.outputs)) console.log(`    ${name} = ${value}`)
  console.log('\n  Job summary:')
  console.log(renderSummary(run.summary))
}

/** The job summary's HTML as aligned text. */
function renderSummary(html: string): string {
  const text = (cell: string) => cell.replace(/<[^>]+>/g, '').trim()
  const lines: string[] = []
  for (const block of html.split(/(?=<h\d>|<table>)/)) {
    const heading = /<h\d>(.*?)<\/h\d>/.exec(block)
    if (heading) lines.push(`    ${text(heading[1])}`)
    const rows = [...block.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) => [...row[1].matchAll(/<t[hd]>(.*?)<\/t[hd]>/g)].map((cell) => text(cell[1])))
    if (rows.length) {
      const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)))
      for (const row of rows) lines.push(`    ${row.map((cell, column) => cell.padEnd(widths[column])).join('  ')}`)
    }
    const rest = text(block.replace(/<h\d>.*?<\/h\d>|<table>.*<\/table>/gs, ''))
    if (rest) lines.push(`    ${rest}`)
  }
  return lines.join('\n')
}

async function main(): Promise<number> {
  if (!motoAvailable()) {
    console.error(MOTO_INSTALL_HINT)
    return 1
  }
  const moto = await startMoto()
  const stop = () => void moto.stop()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    const aws = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' }
    const inputs = { environment: 'prod', service: 'payments', 'ssm-endpoint': moto.endpoint, tags: 'team=payments' }
    console.log(`Embedded SSM (moto_server) at ${moto.endpoint}; running dist/index.js as the GitHub runner does.`)
    const first = await runBundledAction({ ...inputs, secrets: JSON.stringify(SAMPLE) }, aws)
    show('Run 1: first push', first)
    const second = await runBundledAction({ ...inputs, secrets: JSON.stringify({ ...SAMPLE, REDIS_URL: 'redis://cache.local:6379/1' }) }, aws)
    show('Run 2: REDIS_URL changed, everything else the same', second)
    console.log('\nNext: the inputs and the IAM policy are in README.md; point the action at your own account with `npx @github/local-action` (README: "Run it against a real account").')
    return first.exitCode || second.exitCode
  } finally {
    await moto.stop()
  }
}

process.exitCode = await main()
