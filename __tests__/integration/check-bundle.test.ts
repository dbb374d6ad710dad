/**
 * Check mode through the bundled action, as the runner runs it: after a release of the payments service (moto, the
 * test API server with its operator, workload controllers and pods), someone drifts one thing (a console edit, a
 * failing ExternalSecret, a release with restart: none, a definition not applied) and the check names it. Every
 * check writes nothing: no SSM write reaches the proxy, and the cluster sees no write (its only POSTs are the
 * pre-flight's SelfSubjectAccessReviews, which change nothing).
 */
import { describe, expect, it } from '@jest/globals'
import { PutParameterCommand } from '@aws-sdk/client-ssm'
import { join } from 'node:path'
import { errorOf, runBundledAction, type ActionRun } from '../../testing/action.ts'
import type { KubeApiServer } from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { writeCalls } from '../../testing/ssm-proxy.ts'
import {
  deployment,
  firstRelease,
  NS,
  paymentsCluster,
  release,
  ROTATED,
  SECRETS
} from '../../__fixtures__/rollout-harness.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { HAS_KUSTOMIZE } from '../../__fixtures__/tools.ts'
import { untilSecondAfter } from '../../__fixtures__/until.ts'
import { workflowRun } from '../../__fixtures__/workflow-run.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const harness = useSsmBehindProxy()
const cluster = useTestCluster()

const PATH = '/zerotouch/prod/payments'
const TENANTS = join(process.cwd(), '__tests__/fixtures/tenants')
/** Values a console edit writes: never to be shown either. */
const EDITED = 'postgres://payments:console-hotfix@db:5432/payments'

/** The cluster after a first release (from workflow run 100): Secrets written, two Deployments running on them. */
async function released(): Promise<KubeApiServer> {
  const kube = cluster.track(await paymentsCluster(harness, []))
  await firstRelease(harness, kube, [
    deployment('payments-api', 'payments-provider'),
    deployment('payments-migrator', 'payments-db', { key: 'DATABASE_URL' })
  ])
  forget()
  return kube
}

/** Forgets the requests and SSM calls so far: what the check does is what is logged next. */
function forget(): void {
  cluster.current.clearRequests()
  harness.proxy.calls.length = 0
}

function check(
  secrets: Record<string, string> = SECRETS,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {}
): Promise<ActionRun> {
  return runBundledAction(
    {
      mode: 'check',
      environment: 'prod',
      service: 'payments',
      'ssm-endpoint': harness.proxy.endpoint,
      secrets: JSON.stringify(secrets),
      namespace: NS,
      kubeconfig: cluster.current.kubeconfig(),
      ...inputs
    },
    { ...LOCAL_AWS, ...env }
  )
}

interface Finding {
  kind: string
  name: string
  detail: string
}

function drift(result: ActionRun): Finding[] {
  return JSON.parse(result.outputs.drift) as Finding[]
}

/** Every request that could change the cluster: anything but reads and the access reviews. */
function clusterWrites(): string[] {
  return cluster.current.requests
    .filter(
      ({ method, path }) => method !== 'GET' && !(method === 'POST' && path.endsWith('/selfsubjectaccessreviews'))
    )
    .map(({ method, path }) => `${method} ${path}`)
}

/** The check wrote nothing anywhere, and showed no value (the ones given, the ones in SSM, the cluster's token). */
function expectReadOnly(result: ActionRun, values: readonly string[] = []): void {
  expect(writeCalls(harness.proxy.calls)).toEqual([])
  expect(clusterWrites()).toEqual([])
  expect(
    findRunLeaks(result, [
      ...Object.values(SECRETS),
      ...Object.values(ROTATED),
      EDITED,
      ...values,
      cluster.current.token
    ])
  ).toEqual([])
}

/** A console edit of a parameter: PutParameter with Overwrite, with or without a Description. */
async function consoleEdit(name: string, value: string, description?: string): Promise<void> {
  await harness.ssm.send(
    new PutParameterCommand({
      Name: name,
      Value: value,
      Type: 'SecureString',
      Overwrite: true,
      Description: description
    })
  )
}

describe('check mode', () => {
  it('finds nothing right after a release: drift is [], the step passes, nothing is written', async () => {
    const kube = await released()
    const result = await check()
    expect(errorOf(result)).toBe('')
    expect(result.exitCode).toBe(0)
    expect(result.outputs.drift).toBe('[]')
    expect(result.stdout).toMatch(
      /No drift: 3 keys, 2 selected ExternalSecrets, 2 workloads reading their Secrets, 0 rendered ExternalSecrets checked\./
    )
    expect(result.summary).toMatch(/Drift check of \/zerotouch\/prod\/payments \(check mode: nothing written\)/)
    // Reads batched: one GetParameters for the 3 keys, one DescribeParameters for every name.
    expect(harness.proxy.count('GetParameters')).toBe(1)
    expect(harness.proxy.count('DescribeParameters')).toBe(1)
    // Read verbs only, and no patch is even asked about.
    const reviews = kube.requests
      .filter(({ path }) => path.endsWith('/selfsubjectaccessreviews'))
      .map(({ body }) => (typeof body === 'string' ? body : JSON.stringify(body)))
    expect(reviews.length).toBeGreaterThan(0)
    expect(reviews.filter((review) => !/"verb":"(list|get)"/.test(review))).toEqual([])
    expectReadOnly(result)
  })

  it('names a key without a parameter (missing) and a value that differs (differs), and fails with ZT170 naming each', async () => {
    await released()
    const result = await check({ ...SECRETS, STRIPE_API_KEY: ROTATED.STRIPE_API_KEY, NEW_TOKEN: 'tok_0123456789' })
    expect(result.exitCode).not.toBe(0)
    expect(drift(result)).toEqual([
      {
        kind: 'missing',
        name: `${PATH}/new_token`,
        detail: 'key new_token (from NEW_TOKEN) has no parameter: a release creates it'
      },
      {
        kind: 'differs',
        name: `${PATH}/stripe_api_key`,
        detail: 'version 1 holds another value than STRIPE_API_KEY: a release writes a new version'
      }
    ])
    const error = errorOf(result)
    expect(error).toMatch(
      /^::error::Drift found: 2 findings \(fail-on-drift: true\)\. Check mode wrote nothing\. \[ZT170\]/
    )
    expect(error).toContain(`  - missing ${PATH}/new_token: key new_token (from NEW_TOKEN) has no parameter`)
    expect(error).toContain(`  - differs ${PATH}/stripe_api_key: version 1 holds another value than STRIPE_API_KEY`)
    expect(result.summary).toContain(`${PATH}/new_token`)
    expectReadOnly(result, ['tok_0123456789'])
  })

  it('with replica-regions, names each parameter a replica lacks or holds with another value (region-differs), reading each region once', async () => {
    await released()
    const west = harness.ssmIn('us-west-2')
    const put = (key: keyof typeof SECRETS, value: string) =>
      west.send(new PutParameterCommand({ Name: `${PATH}/${key.toLowerCase()}`, Value: value, Type: 'SecureString' }))
    await put('DATABASE_URL', SECRETS.DATABASE_URL)
    await put('STRIPE_API_KEY', ROTATED.STRIPE_API_KEY)
    forget()
    const result = await check(SECRETS, { 'replica-regions': 'us-west-2' })
    expect(drift(result)).toEqual([
      {
        kind: 'region-differs',
        name: `${PATH}/stripe_api_key`,
        detail:
          "us-west-2's version 1 holds another value than version 1 in us-east-1, the primary: a release writes the value given in both"
      },
      {
        kind: 'region-differs',
        name: `${PATH}/webhook_secret`,
        detail: 'us-west-2 has no parameter, while us-east-1, the primary, holds version 1: a release writes it there'
      }
    ])
    expect(errorOf(result)).toMatch(/^::error::Drift found: 2 findings/)
    const reads = harness.proxy.calls
      .filter(({ operation }) => operation === 'GetParameters')
      .map(({ region }) => region)
      .sort()
    expect(reads).toEqual(['us-east-1', 'us-west-2'])
    expectReadOnly(result)
  })

  it('with fail-on-drift: false, warns for each finding and passes', async () => {
    await released()
    const result = await check({ ...SECRETS, NEW_TOKEN: 'tok_0123456789' }, { 'fail-on-drift': 'false' })
    expect(errorOf(result)).toBe('')
    expect(result.exitCode).toBe(0)
    expect(drift(result).map(({ kind, name }) => `${kind} ${name}`)).toEqual([`missing ${PATH}/new_token`])
    expect(result.stdout).toContain(
      `::warning::missing ${PATH}/new_token: key new_token (from NEW_TOKEN) has no parameter`
    )
    expectReadOnly(result, ['tok_0123456789'])
  })

  it('with prune, names a parameter of the action that secrets no longer has (extra); without prune, does not', async () => {
    await released()
    const { WEBHOOK_SECRET: _dropped, ...fewer } = SECRETS
    const pruning = await check(fewer, { prune: 'true' })
    expect(drift(pruning)).toEqual([
      {
        kind: 'extra',
        name: `${PATH}/webhook_secret`,
        detail: 'tagged managed-by=zerotouch-secrets and no longer in secrets: a release with prune: true deletes it'
      }
    ])
    expectReadOnly(pruning)
    forget()
    const keeping = await check(fewer)
    expect(keeping.outputs.drift).toBe('[]')
    expectReadOnly(keeping)
  })

  it('names a console edit (edited-outside, with version, date and user), the value that differs, and the ExternalSecret that synced before it (stale-secret)', async () => {
    const kube = cluster.track(await paymentsCluster(harness, []))
    const first = await runBundledAction(
      {
        environment: 'prod',
        service: 'payments',
        'ssm-endpoint': harness.proxy.endpoint,
        secrets: JSON.stringify(SECRETS),
        namespace: NS,
        kubeconfig: kube.kubeconfig(),
        timeout: '30s'
      },
      { ...LOCAL_AWS, ...workflowRun(100) }
    )
    expect(errorOf(first)).toBe('')
    await kube.operator.idle()
    // Both ExternalSecrets read an edited parameter; each may have synced in its own second.
    const synced = Math.max(
      ...['payments-db', 'payments-provider'].map((name) =>
        Date.parse(
          String((kube.get('ExternalSecret', NS, name) as { status?: { refreshTime?: string } }).status?.refreshTime)
        )
      )
    )
    // The edit lands in a later second than the last sync, as an incident's does.
    await untilSecondAfter(synced)
    // The CLI without --description: SSM copies version 1's record onto version 2.
    await consoleEdit(`${PATH}/database_url`, EDITED)
    // The console with a description of its own.
    await consoleEdit(`${PATH}/webhook_secret`, 'whsec_console_777', 'rotated during the incident')
    forget()
    const result = await check()
    expect(result.exitCode).not.toBe(0)
    const found = drift(result)
    expect(found.map(({ kind, name }) => `${kind} ${name}`)).toEqual([
      `differs ${PATH}/database_url`,
      `differs ${PATH}/webhook_secret`,
      `edited-outside ${PATH}/database_url`,
      `edited-outside ${PATH}/webhook_secret`,
      `stale-secret ${NS}/payments-db`,
      `stale-secret ${NS}/payments-provider`
    ])
    const detail = (kind: string, name: string) => found.find((f) => f.kind === kind && f.name === name)?.detail
    expect(detail('edited-outside', `${PATH}/database_url`)).toMatch(
      /^version 2 \(written at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by \S+\) has the Description of version 1, which SSM copies onto a version written without one: it was written outside the action \(console or CLI\)$/
    )
    expect(detail('edited-outside', `${PATH}/webhook_secret`)).toMatch(
      /^version 2 \(written at .+\) carries no record of this action in its Description: it was written outside the action \(console or CLI\)$/
    )
    expect(detail('stale-secret', `${NS}/payments-db`)).toMatch(
      /^last synced at \S+Z, before \/zerotouch\/prod\/payments\/database_url version 2 \(written at \S+Z\): Secret payments-db holds older data until the operator's next refresh \(refreshInterval 1h\) or a release's force-sync$/
    )
    // Only the keys whose record could have been copied have their history read.
    expect(
      harness.proxy.calls.filter(({ operation }) => operation === 'GetParameterHistory').map(({ body }) => body.Name)
    ).toEqual([`${PATH}/database_url`])
    expectReadOnly(result, ['whsec_console_777'])
  })

  it("names an ExternalSecret that is not Ready, with the operator's reason and its last error (not-ready)", async () => {
    const kube = await released()
    kube.operator.failWith(
      NS,
      'payments-db',
      'error processing spec.data[0] (key: /zerotouch/prod/payments/database_url), err: AccessDeniedException'
    )
    // A release force-syncs it: the operator's sync fails, Ready turns False and an UpdateFailed Event says why.
    const failing = await release(harness, kube, SECRETS, { timeout: '5s' })
    expect(errorOf(failing)).toMatch(/\[ZT150\]/)
    forget()
    const result = await check()
    expect(drift(result)).toEqual([
      {
        kind: 'not-ready',
        name: `${NS}/payments-db`,
        detail: expect.stringMatching(
          /^Ready is False \(SecretSyncedError: .+\); the operator's last error: error processing spec\.data\[0\] \(key: \/zerotouch\/prod\/payments\/database_url\), err: AccessDeniedException$/
        )
      }
    ])
    expectReadOnly(result)
  })

  it('names a workload whose pods started before the current data of a Secret they read (stale-pods)', async () => {
    const kube = await released()
    const rotated = await release(harness, kube, ROTATED)
    expect(errorOf(rotated)).toBe('')
    forget()
    const result = await check(ROTATED)
    expect(drift(result)).toEqual([
      {
        kind: 'stale-pods',
        name: `${NS}/Deployment/payments-api`,
        detail: expect.stringMatching(
          /^its pods started before the current data of Secret payments-provider \(data written at \S+Z\): they may run the old values until restarted \(restart: changed does it\)$/
        )
      }
    ])
    expectReadOnly(result)
  })

  ;(HAS_KUSTOMIZE ? it : it.skip)(
    'with definitions, names a rendered ExternalSecret the cluster does not hold as Git has it (definition-not-applied)',
    async () => {
      const kube = await released()
      // Argo CD has not applied the commit that added webhook_secret to payments-provider.
      const live = kube.get('ExternalSecret', NS, 'payments-provider')!
      const spec = live.spec as { data: unknown[] }
      kube.apply({ ...live, spec: { ...spec, data: spec.data.slice(0, 1) } })
      forget()
      const result = await check(SECRETS, { definitions: 'good/overlays/prod' }, { GITHUB_WORKSPACE: TENANTS })
      expect(drift(result)).toEqual([
        // The operator wrote payments-provider's Secret again without webhook_secret: its pods predate that data.
        {
          kind: 'stale-pods',
          name: `${NS}/Deployment/payments-api`,
          detail: expect.stringMatching(/^its pods started before the current data of Secret payments-provider /)
        },
        {
          kind: 'definition-not-applied',
          name: `${NS}/payments-provider`,
          detail: 'the cluster does not yet read /zerotouch/prod/payments/webhook_secret'
        }
      ])
      expectReadOnly(result)
    }
  )

  it('refuses an unknown mode with ZT100 naming the input, before any request', async () => {
    const kube = cluster.track(await paymentsCluster(harness, []))
    forget()
    const result = await check(SECRETS, { mode: 'audit' })
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toMatch(
      /Invalid inputs; nothing was written\. \[ZT100\]\n {2}- mode: "audit" is not one of release, check/
    )
    expect(harness.proxy.calls).toEqual([])
    expect(kube.requests).toEqual([])
    expect(result.outputs.drift).toBe('[]')
  })
})
