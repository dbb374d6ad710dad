/**
 * The pre-flight and the GitOps gate through the bundled action, as the runner runs it, against the
 * project's test API server over TLS (a CA made in the test) and moto behind the recording proxy:
 * every cluster problem the pre-flight can see stops the run before any SSM request, and the action
 * annotates only once the cluster runs the definitions it checked.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments, stringify } from 'yaml'
import { errorOf, startBundledAction, runBundledAction, type ActionRun } from '../../testing/action.ts'
import {
  createCertificateAuthority,
  startKubeApiServer,
  type KubeApiServer,
  type KubeApiServerOptions,
  type KubeconfigOptions
} from '../../testing/kube/index.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { LOCAL_AWS, useSsmBehindProxy } from '../../__fixtures__/ssm-harness.ts'
import { argoCdSync, type ApplyMode } from '../../__fixtures__/argocd.ts'
import { HAS_KUBECTL, HAS_KUSTOMIZE } from '../../__fixtures__/tools.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const SECRETS = {
  DATABASE_URL: 'postgres://payments:s3cret-pass@db:5432/payments',
  STRIPE_API_KEY: 'sk_live_abcdef123456',
  WEBHOOK_SECRET: 'whsec_0123456789'
}
const CLUSTER = readFileSync('__tests__/fixtures/cluster/payments-prod.yaml', 'utf8')
const TENANTS = join(process.cwd(), '__tests__/fixtures/tenants')
if (!HAS_KUBECTL)
  console.warn('kubectl is not installed: the GitOps gate cases that apply as Argo CD does are skipped.')
if (!HAS_KUSTOMIZE)
  console.warn(
    'Neither kustomize nor kubectl is installed: the GitOps gate tests (they render the definitions) are skipped.'
  )

const harness = useSsmBehindProxy()
const cluster = useTestCluster()
let dir: string | undefined

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

async function startCluster(options: KubeApiServerOptions = {}, manifests = CLUSTER): Promise<KubeApiServer> {
  const kube = await startKubeApiServer({
    ssmEndpoint: harness.moto.endpoint,
    region: 'us-east-1',
    reconcileDelayMs: 50,
    retryBaseMs: 60_000,
    tls: true,
    authenticate: true,
    ...options
  })
  kube.apply(manifests)
  return cluster.track(kube)
}

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    environment: 'prod',
    service: 'payments',
    'ssm-endpoint': harness.proxy.endpoint,
    secrets: JSON.stringify(SECRETS),
    namespace: 'payments-prod',
    timeout: '20s',
    ...extra
  }
}

function run(extra: Record<string, string> = {}, env: Record<string, string> = {}): Promise<ActionRun> {
  return runBundledAction(inputs({ kubeconfig: cluster.current.kubeconfig(), ...extra }), { ...LOCAL_AWS, ...env })
}

const patched = (): string[] =>
  cluster.current.requests.filter(({ method }) => method === 'PATCH').map(({ path }) => path)

function expectNothingDone(result: ActionRun, code: string): void {
  expect(result.exitCode).not.toBe(0)
  expect(errorOf(result)).toContain(`[${code}]`)
  expect(harness.proxy.calls).toEqual([])
  expect(patched()).toEqual([])
  expect(findRunLeaks(result, [...Object.values(SECRETS), cluster.current.token])).toEqual([])
}

describe('the pre-flight, before any SSM request', () => {
  const CASES: Array<{
    what: string
    server?: KubeApiServerOptions
    kubeconfig?: () => KubeconfigOptions
    extra?: Record<string, string>
    code: string
    says: RegExp
  }> = [
    {
      what: 'a TLS certificate that does not verify',
      kubeconfig: () => ({ caData: createCertificateAuthority('another-ca').cert }),
      code: 'ZT140',
      says: /^::error::Nothing was written: cannot connect to the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+: its TLS certificate was refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/
    },
    {
      what: 'a wrong or expired token',
      kubeconfig: () => ({ token: 'expired-token-0000' }),
      code: 'ZT140',
      says: /rejected the credentials \(401 Unauthorized\)/
    },
    {
      what: 'a client certificate of a CA the server does not trust',
      kubeconfig: () => ({ auth: 'client-cert', issuer: createCertificateAuthority('rogue-ca') }),
      code: 'ZT140',
      says: /rejected the credentials \(401 Unauthorized\)/
    },
    {
      what: 'a namespace that does not exist',
      extra: { namespace: 'payments-prod,payments-gone' },
      code: 'ZT143',
      says: /namespace "payments-gone" does not exist in the cluster/
    },
    {
      what: 'no patch permission on ExternalSecrets',
      server: { rbac: [{ verbs: ['get', 'list', 'watch'], resources: ['*'] }] },
      code: 'ZT142',
      says: /may not patch externalsecrets\.external-secrets\.io in namespace "payments-prod"\. Grant verb "patch"/
    },
    {
      what: 'a label selector that matches nothing',
      extra: { 'label-selector': 'team=nobody' },
      code: 'ZT143',
      says: /no ExternalSecret matches label selector "team=nobody" in namespace "payments-prod"/
    }
  ]

  it.each(CASES)(
    '$what: fails naming the cause, with no SSM request and nothing annotated',
    async ({ server, kubeconfig, extra = {}, code, says }) => {
      const kube = await startCluster(server)
      const result = await run({ kubeconfig: kube.kubeconfig(kubeconfig?.() ?? {}), ...extra })
      expectNothingDone(result, code)
      expect(errorOf(result)).toMatch(says)
    }
  )

  it('runs in a dry run too', async () => {
    await startCluster({ rbac: [{ verbs: ['list', 'watch', 'patch'], resources: ['externalsecrets'] }] })
    const result = await run({ 'dry-run': 'true' })
    expectNothingDone(result, 'ZT142')
    expect(errorOf(result)).toMatch(/may not list events in namespace "payments-prod"/)
  })
})

describe('clusters as people run them', () => {
  /** Writes the texts into files of a fresh folder, in order, and gives their paths. */
  function files(...texts: string[]): string[] {
    const folder = mkdtempSync(join(tmpdir(), 'zerotouch-kubeconfig-'))
    dir = folder
    return texts.map((text, index) => {
      const path = join(folder, `file-${index}.yaml`)
      writeFileSync(path, text)
      return path
    })
  }

  /** The kubeconfig split in two files, clusters and contexts in one, the user in the other, as KUBECONFIG=a:b holds them. */
  function split(kubeconfig: string): [string, string] {
    const [document] = parseAllDocuments(kubeconfig).map((parsed) => parsed.toJS() as Record<string, unknown>)
    const { users, ...rest } = document
    return [JSON.stringify(rest), JSON.stringify({ apiVersion: 'v1', kind: 'Config', users })]
  }

  const CASES: Array<{ what: string; kubeconfig: () => { input?: string; env?: Record<string, string> } }> = [
    {
      what: 'https with certificate-authority-data and a client certificate (kind)',
      kubeconfig: () => ({ input: cluster.current.kubeconfig({ auth: 'client-cert' }) })
    },
    {
      what: 'https with an exec credential plugin (aws eks get-token)',
      kubeconfig: () => ({ input: cluster.current.kubeconfig({ auth: 'exec' }) })
    },
    {
      what: 'certificate-authority as a file',
      kubeconfig: () => ({ input: cluster.current.kubeconfig({ caFile: files(cluster.current.ca ?? '')[0] }) })
    },
    {
      what: 'KUBECONFIG naming several files',
      kubeconfig: () => ({ input: '', env: { KUBECONFIG: files(...split(cluster.current.kubeconfig())).join(':') } })
    }
  ]

  it.each(CASES)('$what: pushes, annotates and returns after the fresh syncs', async ({ kubeconfig }) => {
    await startCluster({
      rbac: [
        { verbs: ['list', 'watch', 'patch'], resources: ['externalsecrets', 'events'] },
        { verbs: ['get'], resources: ['clustersecretstores'] }
      ]
    })
    const { input = '', env = {} } = kubeconfig()
    const result = await run({ kubeconfig: input }, env)
    expect(errorOf(result)).toBe('')
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.outputs.synced)).toEqual(['payments-prod/payments-db', 'payments-prod/payments-provider'])
    expect(result.stdout).toMatch(
      /Cluster checked: external-secrets\.io\/v1; namespaces payments-prod exist \(or may not be read\); every permission the run needs is granted\./
    )
  })
})

/** The good tenant's prod ExternalSecrets as Argo CD applied them before this release: payments-provider does not read webhook_secret yet. */
function beforeTheRelease(): string {
  return CLUSTER.replace(
    / {2}- remoteRef:\n {6}key: \/zerotouch\/prod\/payments\/webhook_secret\n {4}secretKey: WEBHOOK_SECRET\n/,
    ''
  )
}

;(HAS_KUSTOMIZE ? describe : describe.skip)('the GitOps gate', () => {
  const definitions = { definitions: 'good/overlays/prod', timeout: '30s' }
  const env = { GITHUB_WORKSPACE: TENANTS }
  /** The keys of the Secret payments-provider, decoded. */
  const providerData = (): Record<string, string> => {
    const data = cluster.current.get('Secret', 'payments-prod', 'payments-provider')?.data
    const entries = data && typeof data === 'object' ? Object.entries(data) : []
    return Object.fromEntries(entries.map(([key, value]) => [key, Buffer.from(String(value), 'base64').toString()]))
  }

  it('waits for the definition Argo CD applies 3 s after the start, then annotates, and the Secret holds the new key', async () => {
    const kube = await startCluster({}, beforeTheRelease())
    const { finished } = startBundledAction(inputs({ kubeconfig: kube.kubeconfig(), ...definitions }), {
      ...LOCAL_AWS,
      ...env
    })
    // As Argo CD would, 3 s in; the requests the server had seen by then.
    const seenBeforeApply = new Promise<number>((resolve) =>
      setTimeout(() => {
        const seen = kube.requests.length
        kube.apply(CLUSTER)
        resolve(seen)
      }, 3_000)
    )
    const result = await finished
    expect(errorOf(result)).toBe('')
    const before = kube.requests.slice(0, await seenBeforeApply)
    expect(before.filter(({ method }) => method === 'PATCH')).toEqual([])
    expect(patched()).toHaveLength(2)
    expect(result.stdout).toContain(
      'payments-prod/payments-provider: the cluster does not yet read /zerotouch/prod/payments/webhook_secret'
    )
    expect(providerData().WEBHOOK_SECRET).toBe(SECRETS.WEBHOOK_SECRET)
    expect(result.summary).toMatch(/Definitions in the cluster \(GitOps gate\)/)
  })

  it('fails after the timeout when the definition is never applied, naming the ExternalSecret and the missing reference, with nothing annotated', async () => {
    await startCluster({}, beforeTheRelease())
    const result = await run({ ...definitions, timeout: '3s' }, env)
    expect(result.exitCode).not.toBe(0)
    expect(errorOf(result)).toMatch(/\[ZT145\]/)
    expect(errorOf(result)).toMatch(
      /payments-prod\/payments-provider: the cluster does not yet read \/zerotouch\/prod\/payments\/webhook_secret/
    )
    expect(errorOf(result)).toMatch(
      /The SSM values are already written, but the cluster has not applied the definitions within 3\.0 s \(GitOps sync pending or failed/
    )
    expect(patched()).toEqual([])
  })

  it('matches a live object the API server and the operator filled with defaults, without waiting', async () => {
    await startCluster()
    const result = await run(definitions, env)
    expect(errorOf(result)).toBe('')
    expect(result.stdout).not.toContain('does not yet read')
    expect(JSON.parse(result.outputs.synced)).toEqual(['payments-prod/payments-db', 'payments-prod/payments-provider'])
  })

  it('with wait-for-definitions false, warns about the difference and goes on', async () => {
    await startCluster({}, beforeTheRelease())
    const result = await run({ ...definitions, 'wait-for-definitions': 'false' }, env)
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toMatch(
      /::warning::payments-prod\/payments-provider is not yet as in the definitions: the cluster does not yet read \/zerotouch\/prod\/payments\/webhook_secret/
    )
    expect(patched().length).toBe(2)
  })
})

/** The cluster's manifests with payments-provider as an earlier commit had it. */
function previousCommit(change: (provider: ProviderSpec) => void): string {
  return parseAllDocuments(CLUSTER)
    .map((document) => document.toJS() as { metadata: { name: string; namespace: string }; spec: ProviderSpec })
    .map((object) => {
      if (object.metadata.name === 'payments-provider' && object.metadata.namespace === 'payments-prod')
        change(object.spec)
      return stringify(object)
    })
    .join('---\n')
}

interface ProviderSpec {
  target: Record<string, unknown>
  data: { secretKey: string; remoteRef: Record<string, string> }[]
}

/** Only the prod ExternalSecrets the Application holds (the other fixtures are not Argo CD's). */
const managedOnly = (manifests: string): string =>
  parseAllDocuments(manifests)
    .map((document) => document.toJS() as { metadata: { labels?: Record<string, string>; namespace: string } })
    .filter(({ metadata }) => metadata.namespace === 'payments-prod' && metadata.labels?.['zerotouch.io/managed'])
    .map((object) => stringify(object))
    .join('---\n')

;(HAS_KUSTOMIZE && HAS_KUBECTL ? describe : describe.skip)('the GitOps gate is exact, as Argo CD applies', () => {
  /** The overlay renders app.kubernetes.io/instance: payments; Argo CD's label tracking sets the Application's name. */
  const definitions = { definitions: 'good/overlays/prod-argocd', timeout: '30s' }
  const env = { GITHUB_WORKSPACE: TENANTS }
  const APP = 'payments-prod'
  /** The action's own patches (kubectl's carry a field manager). */
  const annotations = (from = 0) =>
    cluster.current.requests.slice(from).filter(({ method, query }) => method === 'PATCH' && !query.fieldManager)

  const REMOVED: Array<{ what: string; change: (spec: ProviderSpec) => void; says: string }> = [
    {
      what: 'a remoteRef.property',
      change: (spec) => void (spec.data[1].remoteRef.property = 'signing'),
      says: 'removed in Git but still in the cluster: spec.data[1].remoteRef.property'
    },
    {
      what: 'a data entry',
      change: (spec) =>
        void spec.data.push({ secretKey: 'LEGACY_TOKEN', remoteRef: { key: '/zerotouch/prod/payments/legacy_token' } }),
      says: 'removed in Git but still in the cluster: spec.data[2] (reads /zerotouch/prod/payments/legacy_token)'
    },
    {
      what: 'a template',
      change: (spec) =>
        void (spec.target.template = { type: 'Opaque', data: { WEBHOOK_SECRET: '{{ .WEBHOOK_SECRET }}' } }),
      says: 'removed in Git but still in the cluster: spec.target.template'
    }
  ]
  const CASES = (['client-side', 'server-side'] as const).flatMap((mode) =>
    REMOVED.map((removed) => ({ mode, ...removed }))
  )

  it.each(CASES)(
    'waits while $what removed in Git is still in the cluster ($mode apply), and annotates once Argo CD applies the commit',
    async ({ mode, change, says }) => {
      const kube = await startCluster()
      await argoCdSync(kube.kubeconfig(), managedOnly(previousCommit(change)), { app: APP, mode })
      const { finished } = startBundledAction(inputs({ kubeconfig: kube.kubeconfig(), ...definitions }), {
        ...LOCAL_AWS,
        ...env
      })
      // Argo CD applies the commit 3 s in; the requests the server had seen by then.
      const applied = new Promise<number>((resolve, reject) =>
        setTimeout(() => {
          const seen = kube.requests.length
          argoCdSync(kube.kubeconfig(), managedOnly(CLUSTER), { app: APP, mode }).then(() => resolve(seen), reject)
        }, 3_000)
      )
      const result = await finished
      expect(errorOf(result)).toBe('')
      const seen = await applied
      expect(result.stdout).toContain(`payments-prod/payments-provider: ${says}`)
      expect(annotations().length).toBe(2)
      expect(annotations(seen).length).toBe(2)
      expect(findRunLeaks(result, [...Object.values(SECRETS), kube.token])).toEqual([])
    }
  )

  it.each(['client-side', 'server-side'] as const)(
    "does not wait for Argo CD's label tracking and the CRD's defaults (%s apply)",
    async (mode: ApplyMode) => {
      const kube = await startCluster()
      await argoCdSync(kube.kubeconfig(), managedOnly(CLUSTER), { app: APP, mode })
      const live = kube.get('ExternalSecret', 'payments-prod', 'payments-provider')
      expect(live?.metadata.labels?.['app.kubernetes.io/instance']).toBe(APP)
      const result = await run(definitions, env)
      expect(errorOf(result)).toBe('')
      expect(result.stdout).not.toContain('for the cluster to apply the definitions')
      expect(JSON.parse(result.outputs.synced)).toEqual([
        'payments-prod/payments-db',
        'payments-prod/payments-provider'
      ])
    }
  )
})
