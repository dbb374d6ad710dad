/**
 * `npm start`: the whole job, locally, on an embedded default. It starts a local SSM (moto_server on
 * a free loopback port) and the project's test Kubernetes API server with its operator simulation,
 * loaded with the example tenant's prod overlay rendered by kustomize (its ExternalSecrets and the two
 * Deployments that read their Secrets); runs the bundled dist/index.js exactly as the GitHub runner
 * does (INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) with sample secrets and `restart: changed`
 * (`restart: none` on your own cluster: a warning per reader, nothing restarted), into us-east-1 and, on the
 * embedded SSM, a replica region, us-west-2 (`replica-regions`: a standby cluster's region); then again with one
 * value changed, which restarts only the workload that reads it. After each run it prints the
 * workloads restarted; after the second, what the running pods of each workload started with and what SSM
 * holds in each region (the first 8 hex of each value's SHA-256, never a value). It stops everything it started.
 *
 *   npm start                                   embedded SSM and cluster
 *   npm start -- --ssm-endpoint URL             your SSM endpoint (AWS credentials from the environment)
 *   npm start -- --kubeconfig FILE [--namespace NS] [--context NAME]   your cluster
 *   npm start -- ... --apply                    really write and annotate when pointed at your own
 *                                               endpoint or cluster (otherwise dry-run)
 * The same settings as environment variables: ZEROTOUCH_SSM_ENDPOINT, ZEROTOUCH_KUBECONFIG,
 * ZEROTOUCH_NAMESPACE, ZEROTOUCH_KUBE_CONTEXT, ZEROTOUCH_APPLY=true.
 */
import { GetParametersByPathCommand, SSMClient, type Parameter } from '@aws-sdk/client-ssm'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runBundledAction, type ActionRun } from '../testing/action.ts'
import {
  SECRET_DATA_ANNOTATION,
  secretValueHash,
  parameterStore,
  startKubeApiServer,
  type KubeApiServer,
  type Pod,
  type WorkloadKind
} from '../testing/kube/index.ts'
import { MOTO_INSTALL_HINT, motoAvailable, startMoto, type MotoServer } from '../testing/moto.ts'
import { summaryTables } from '../testing/summary.ts'

const TENANT = 'examples/tenants/payments-api'
const SAMPLE = {
  DATABASE_URL: 'postgres://payments:local-only-password@db.local:5432/payments',
  REDIS_URL: 'redis://cache.local:6379/0',
  STRIPE_API_KEY: 'sk_test_local_0000000000',
  STRIPE_WEBHOOK_SECRET: 'whsec_local_0000000000',
  github_token: 'ghs_sample_token_never_pushed'
}
/** The second release: one value changed, read by one workload only (payments-worker reads payments-api-cache). */
const SECOND = { ...SAMPLE, REDIS_URL: 'redis://cache.local:6379/1' }
const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet']
/** The embedded SSM's regions: the primary (aws-region) and a replica, as a standby cluster's region would be. */
const PRIMARY_REGION = 'us-east-1'
const REPLICA_REGION = 'us-west-2'
const LOCAL_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }

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
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void stop().then(() => process.exit(130)))
  try {
    if (!flags['ssm-endpoint'] && !motoAvailable()) {
      console.error(MOTO_INSTALL_HINT)
      return 1
    }
    moto = flags['ssm-endpoint'] ? undefined : await startMoto()
    const ssmEndpoint = flags['ssm-endpoint'] ?? moto!.endpoint
    if (!flags.kubeconfig) {
      kube = await startKubeApiServer({ ssmEndpoint, region: PRIMARY_REGION, reconcileDelayMs: 300 })
      // The platform's ClusterSecretStore, which the tenant's ExternalSecrets read through (no prefix).
      kube.apply(parameterStore({ name: 'aws-parameter-store' }))
      kube.apply(execFileSync('kubectl', ['kustomize', `${TENANT}/overlays/prod`], { encoding: 'utf8' }))
    }
    const kubeconfig = flags.kubeconfig ? readFileSync(flags.kubeconfig, 'utf8') : kube!.kubeconfig()
    const aws: Record<string, string> = flags['ssm-endpoint']
      ? awsFromEnvironment()
      : { ...LOCAL_CREDENTIALS, AWS_REGION: PRIMARY_REGION }
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
      // Your own cluster: warn about the readers of a changed Secret, restart none of your workloads.
      restart: kube ? 'changed' : 'none',
      'rollout-timeout': '60s',
      'dry-run': String(external && !flags.apply),
      // The embedded SSM keeps each region apart, as Parameter Store does: every write goes to both regions.
      'replica-regions': moto ? REPLICA_REGION : ''
    }
    console.log(
      `SSM: ${ssmEndpoint}${moto ? ` (embedded moto_server; regions ${PRIMARY_REGION}, the primary, and ${REPLICA_REGION}, a replica)` : ''}`
    )
    console.log(
      `Kubernetes: ${kube ? `${kube.url} (embedded test API server, operator simulation, ${TENANT}/overlays/prod applied)` : flags.kubeconfig}`
    )
    if (inputs['dry-run'] === 'true')
      console.log('Pointed at your own endpoint or cluster: dry-run (add --apply to write and annotate).')
    const env = { ...aws, GITHUB_WORKSPACE: process.cwd() }

    const first = await runBundledAction({ ...inputs, secrets: JSON.stringify(SAMPLE) }, env)
    show('Run 1: first release of payments-api to prod', first)
    const second = await runBundledAction({ ...inputs, secrets: JSON.stringify(SECOND) }, env)
    show('Run 2: REDIS_URL changed, everything else the same', second)
    if (kube) await showPods(kube, flags.namespace, second)
    if (moto) await showRegions(moto.endpoint, `/zerotouch/${inputs.environment}/${inputs.service}`)
    console.log(
      [
        '',
        'Where to look next:',
        '  README.md            inputs, outputs, the IAM policy and the Kubernetes Role',
        `  ${TENANT}   the tenant layout (base with _ENV_, overlays per environment with the Deployments that read the Secrets)`,
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
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[0].startsWith('AWS_') && entry[1] !== undefined
    )
  )
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
  console.log(`\n  Restarted: ${restartedBy(run).join(', ') || 'none'}`)
}

/** The `restarted` output: `namespace/Kind/name` of each workload whose rollout the run confirmed. */
function restartedBy(run: ActionRun): string[] {
  try {
    const restarted: unknown = JSON.parse(run.outputs.restarted ?? '[]')
    return Array.isArray(restarted) ? restarted.map(String) : []
  } catch {
    return []
  }
}

/**
 * After the second run, on the embedded cluster: per workload, its pods and, per Secret key they read, which value
 * they started with, from the simulated kubelet's annotation (the SHA-256 of each value, never the value itself):
 * "new" is the second run's value, "old" the first run's one, "unchanged" a value both runs gave.
 */
async function showPods(kube: KubeApiServer, namespace: string, second: ActionRun): Promise<void> {
  await kube.controllers.idle()
  const restarted = new Set(restartedBy(second))
  const hashIn = (values: Record<string, string>, key: string): string | undefined =>
    key in values ? secretValueHash(values[key]) : undefined
  const label = (key: string, hash: string): string => {
    const [before, after] = [hashIn(SAMPLE, key), hashIn(SECOND, key)]
    if (hash === after) return before === after ? 'unchanged' : 'new'
    return hash === before ? 'old' : 'other'
  }
  console.log(`\n=== The pods in ${namespace} after run 2: what each workload's pods started with ===`)
  console.log(
    '  Per Secret key: the first 8 hex of the SHA-256 of the value the pods read when they started (never the value).'
  )
  const workloads = WORKLOAD_KINDS.flatMap((kind) =>
    kube.list(kind, namespace).map(({ metadata }) => ({
      kind,
      name: metadata.name,
      pods: kube.controllers.podsOf(kind, namespace, metadata.name)
    }))
  )
  const hashesOf = (pod: Pod): Record<string, string> =>
    JSON.parse(pod.metadata.annotations?.[SECRET_DATA_ANNOTATION] ?? '{}') as Record<string, string>
  const width = Math.max(
    0,
    ...workloads.flatMap(({ pods }) =>
      pods.flatMap((pod) => Object.keys(hashesOf(pod)).map((secretKey) => secretKey.length))
    )
  )
  for (const { kind, name, pods } of workloads) {
    const started = pods.filter((pod) => pod.metadata.annotations?.[SECRET_DATA_ANNOTATION])
    const state = restarted.has(`${namespace}/${kind}/${name}`) ? 'restarted by run 2' : 'not restarted by run 2'
    console.log(
      `  ${kind}/${name}: ${pods.length} pods, ${state}${started.length < pods.length ? `, ${pods.length - started.length} not started (waiting for a Secret)` : ''}`
    )
    // Per `<secret>/<key>`: how many of the pods started with each value (by its hash).
    const seen = new Map<string, Map<string, number>>()
    for (const pod of started) {
      for (const [secretKey, hash] of Object.entries(hashesOf(pod))) {
        const counts = seen.get(secretKey) ?? new Map<string, number>()
        counts.set(hash, (counts.get(hash) ?? 0) + 1)
        seen.set(secretKey, counts)
      }
    }
    for (const [secretKey, counts] of [...seen].sort(([a], [b]) => a.localeCompare(b))) {
      const key = secretKey.slice(secretKey.indexOf('/') + 1)
      for (const [hash, count] of counts)
        console.log(
          `    ${secretKey.padEnd(width)}  ${hash.slice(0, 8)}  ${label(key, hash).padEnd(9)}  ${count} of ${pods.length} pods`
        )
    }
  }
}

/**
 * After the second run, on the embedded SSM: what each region holds under the service's path, per parameter its
 * version and the first 8 hex of its value's SHA-256 (never the value), the same in both regions.
 */
async function showRegions(endpoint: string, path: string): Promise<void> {
  console.log(`\n=== What SSM holds under ${path} in each region after run 2 ===`)
  console.log('  Per parameter: its version and the first 8 hex of the SHA-256 of its value (never the value).')
  for (const region of [PRIMARY_REGION, REPLICA_REGION]) {
    const parameters = await parametersIn(endpoint, region, path)
    const width = Math.max(0, ...parameters.map(({ Name }) => String(Name).length))
    console.log(`  ${region} (${region === PRIMARY_REGION ? 'primary' : 'replica'}):`)
    for (const { Name, Version, Value } of parameters.sort((a, b) => String(a.Name).localeCompare(String(b.Name))))
      console.log(`    ${String(Name).padEnd(width)}  version ${Version}  ${secretValueHash(Value ?? '').slice(0, 8)}`)
  }
}

/** The parameters under `path` in `region` of the embedded SSM, with their values. */
async function parametersIn(endpoint: string, region: string, path: string): Promise<Parameter[]> {
  const ssm = new SSMClient({
    region,
    endpoint,
    credentials: {
      accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
      secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY
    }
  })
  try {
    const parameters: Parameter[] = []
    let NextToken: string | undefined
    do {
      const page = await ssm.send(new GetParametersByPathCommand({ Path: path, WithDecryption: true, NextToken }))
      parameters.push(...(page.Parameters ?? []))
      NextToken = page.NextToken
    } while (NextToken)
    return parameters
  } finally {
    ssm.destroy()
  }
}

/** The job summary's tables (heading, rows, footer) as aligned text. */
function renderSummary(html: string): string {
  return summaryTables(html)
    .flatMap(({ heading, rows, footer }) => {
      const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)))
      const aligned = rows.map((row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column]))
          .join('  ')
          .trimEnd()
      )
      return [`## ${heading}`, ...aligned, ...(footer ? [footer] : [])]
    })
    .map((line) => `    ${line}`)
    .join('\n')
}

process.exitCode = await main()
