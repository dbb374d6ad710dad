/**
 * `npm start`: the whole job, locally, on an embedded default. It starts a local SSM (moto_server on
 * a free loopback port) and the project's test Kubernetes API server with its operator simulation,
 * loaded with the example tenant's prod overlay rendered by kustomize; runs the bundled
 * dist/index.js exactly as the GitHub runner does (INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY)
 * with sample secrets; then again with one value changed. It stops everything it started.
 *
 *   npm start                                   embedded SSM and cluster
 *   npm start -- --ssm-endpoint URL             your SSM endpoint (AWS credentials from the environment)
 *   npm start -- --kubeconfig FILE [--namespace NS] [--context NAME]   your cluster
 *   npm start -- ... --apply                    really write and annotate when pointed at your own
 *                                               endpoint or cluster (otherwise dry-run)
 * The same settings as environment variables: ZEROTOUCH_SSM_ENDPOINT, ZEROTOUCH_KUBECONFIG,
 * ZEROTOUCH_NAMESPACE, ZEROTOUCH_KUBE_CONTEXT, ZEROTOUCH_APPLY=true.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runBundledAction, type ActionRun } from '../testing/action.ts'
import { startKubeApiServer, type KubeApiServer } from '../testing/kube/index.ts'
import { MOTO_INSTALL_HINT, motoAvailable, startMoto, type MotoServer } from '../testing/moto.ts'

const TENANT = 'examples/tenants/payments-api'
const SAMPLE = {
  DATABASE_URL: 'postgres://payments:local-only-password@db.local:5432/payments',
  REDIS_URL: 'redis://cache.local:6379/0',
  STRIPE_API_KEY: 'sk_test_local_0000000000',
  STRIPE_WEBHOOK_SECRET: 'whsec_local_0000000000',
  github_token: 'ghs_sample_token_never_pushed'
}

const { values: flags } = parseArgs({
  options: {
    'ssm-endpoint': { type: 'string', default: process.env.ZEROTOUCH_SSM_ENDPOINT },
    kubeconfig: { type: 'string', default: process.env.ZEROTOUCH_KUBECONFIG },
    namespace: { type: 'string', default: process.env.ZEROTOUCH_NAMESPACE ?? 'payments-api-prod' },
    context: { type: 'string', default: process.env.ZEROTOUCH_KUBE_CONTEXT ?? '' },
    apply: { type: 'boolean', default: process.env.ZEROTOUCH_APPLY === 'true' }
  }
})
const external = Boolean(flags['ssm-endpoint'] || flags.kubeconfig)

async function main(): Promise<number> {
  let moto: MotoServer | undefined
  let kube: KubeApiServer | undefined
  const stop = async () => {
    await kube?.close()
    await moto?.stop()
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop().then(() => process.exit(130)))
  try {
    if (!flags['ssm-endpoint'] && !motoAvailable()) {
      console.error(MOTO_INSTALL_HINT)
      return 1
    }
    moto = flags['ssm-endpoint'] ? undefined : await startMoto()
    const ssmEndpoint = flags['ssm-endpoint'] ?? moto!.endpoint
    if (!flags.kubeconfig) {
      kube = await startKubeApiServer({ ssmEndpoint, region: 'us-east-1', reconcileDelayMs: 300 })
      kube.apply(execFileSync('kubectl', ['kustomize', `${TENANT}/overlays/prod`], { encoding: 'utf8' }))
    }
    const kubeconfig = flags.kubeconfig ? readFileSync(flags.kubeconfig, 'utf8') : kube!.kubeconfig()
    const aws: Record<string, string> = flags['ssm-endpoint'] ? awsFromEnvironment() : { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' }
    const inputs = {
      environment: 'prod',
      service: 'payments-api',
      'ssm-endpoint': ssmEndpoint,
      namespace: flags.namespace,
      kubeconfig,
      'kube-context': flags.context,
      definitions: `${TENANT}/overlays/prod`,
      'definitions-base': `${TENANT}/base`,
      tags: 'team=payments',
      timeout: '60s',
      'dry-run': String(external && !flags.apply)
    }
    console.log(`SSM: ${ssmEndpoint}${moto ? ' (embedded moto_server)' : ''}`)
    console.log(`Kubernetes: ${kube ? `${kube.url} (embedded test API server, operator simulation, ${TENANT}/overlays/prod applied)` : flags.kubeconfig}`)
    if (inputs['dry-run'] === 'true') console.log('Pointed at your own endpoint or cluster: dry-run (add --apply to write and annotate).')
    const env = { ...aws, GITHUB_WORKSPACE: process.cwd() }

    const first = await runBundledAction({ ...inputs, secrets: JSON.stringify(SAMPLE) }, env)
    show('Run 1: first release of payments-api to prod', first)
    const second = await runBundledAction({ ...inputs, secrets: JSON.stringify({ ...SAMPLE, REDIS_URL: 'redis://cache.local:6379/1' }) }, env)
    show('Run 2: REDIS_URL changed, everything else the same', second)
    console.log(
      [
        '',
        'Where to look next:',
        '  README.md            inputs, outputs, the IAM policy and the Kubernetes Role',
        `  ${TENANT}   the tenant layout (base with _ENV_, overlays per environment)`,
        '  examples/release-pipeline.yml and examples/tenant-caller.yml   how a tenant repository uses it',
        '  npx @github/local-action run . src/main.ts .env   against your own account (README: "Run it against a real account")'
      ].join('\n')
    )
    return first.exitCode || second.exitCode
  } finally {
    await stop()
  }
}

/** The caller's AWS settings (profile, keys, region), passed on to the action's process. */
function awsFromEnvironment(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith('AWS_') && entry[1] !== undefined))
}

function show(title: string, run: ActionRun): void {
  console.log(`\n=== ${title}: exit code ${run.exitCode} ===`)
  const log = run.stdout
    .split('\n')
    .filter((line) => line && !line.startsWith('::add-mask::') && !line.startsWith('::set-output'))
    .map((line) => `  ${line.replace(/%0A/g, '\n    ')}`)
  console.log(log.join('\n'))
  console.log('\n  Outputs:')
  for (const [name, value] of Object.entries(run.outputs)) console.log(`    ${name.padEnd(9)} = ${value}`)
  console.log('\n  Job summary:')
  console.log(renderSummary(run.summary))
}

/** The job summary's HTML (headings, tables, paragraphs) as aligned text. */
function renderSummary(html: string): string {
  const text = (cell: string) =>
    cell
      .replace(/<[^>]+>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      .trim()
  const lines: string[] = []
  for (const [, tag, body] of html.matchAll(/<(h\d|table|p)>([\s\S]*?)<\/\1>/g)) {
    if (tag === 'table') {
      const rows = [...body.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) => [...row[1].matchAll(/<t[hd]>(.*?)<\/t[hd]>/g)].map((cell) => text(cell[1])))
      const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)))
      for (const row of rows)
        lines.push(
          `    ${row
            .map((cell, column) => cell.padEnd(widths[column]))
            .join('  ')
            .trimEnd()}`
        )
    } else {
      lines.push(`    ${tag === 'p' ? '' : '## '}${text(body)}`)
    }
  }
  return lines.join('\n')
}

process.exitCode = await main()
