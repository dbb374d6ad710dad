/**
 * The README's Kubernetes Role is what the action needs and no more: the test API server enforces
 * exactly its rules, in the target namespace only; the action succeeds with them, and without any
 * one of them fails naming what is missing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { runBundledAction } from '../../testing/action.ts'
import { parameterStore, startKubeApiServer, type KubeApiServer, type RbacRule } from '../../testing/kube/index.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'
import { useTestCluster } from '../../__fixtures__/test-cluster.ts'

const AWS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }
const SECRETS = { DATABASE_URL: 'postgres://x', STRIPE_API_KEY: 'sk_x_123', WEBHOOK_SECRET: 'whsec_x' }

/** A Deployment whose pods read the Secret payments-provider, which the run writes. */
const PAYMENTS_API = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'payments-api', namespace: 'payments-prod' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'payments-api' } },
    template: {
      metadata: { labels: { app: 'payments-api' } },
      spec: { containers: [{ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: 'payments-provider' } }] }] }
    }
  }
}

/** A SecretStore with a prefix, and an ExternalSecret the run selects that reads through it. */
const TENANT_STORE = [
  parameterStore({
    kind: 'SecretStore',
    name: 'payments-ssm',
    namespace: 'payments-prod',
    prefix: '/zerotouch/prod/payments/'
  }),
  {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'payments-cache', namespace: 'payments-prod', labels: { 'zerotouch.io/managed': 'true' } },
    spec: {
      secretStoreRef: { name: 'payments-ssm' },
      target: { name: 'payments-cache' },
      data: [{ secretKey: 'DATABASE_URL', remoteRef: { key: 'database_url' } }]
    }
  }
]

/** An Argo Rollout whose pods read the same Secret: the Role's rule on rollouts is needed where the CRD is served. */
const PAYMENTS_WORKER = {
  ...PAYMENTS_API,
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'payments-worker', namespace: 'payments-prod' },
  spec: { ...PAYMENTS_API.spec, strategy: { canary: {} } }
}

/** A ClusterExternalSecret whose ExternalSecret in payments-prod the selector selects. */
const SHARED = {
  apiVersion: 'external-secrets.io/v1',
  kind: 'ClusterExternalSecret',
  metadata: { name: 'payments-shared' },
  spec: {
    namespaces: ['payments-prod'],
    externalSecretMetadata: { labels: { 'zerotouch.io/managed': 'true' } },
    externalSecretSpec: {
      secretStoreRef: { name: 'aws-parameter-store', kind: 'ClusterSecretStore' },
      data: [{ secretKey: 'STRIPE_API_KEY', remoteRef: { key: '/zerotouch/prod/payments/stripe_api_key' } }]
    }
  }
}

interface Role {
  kind: 'Role' | 'ClusterRole'
  rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>
}

/** The roles of the README section whose heading starts with `heading`. */
function readmeRoles(heading: string): Role[] {
  const section =
    readFileSync('README.md', 'utf8')
      .split(/^### /m)
      .find((part) => part.startsWith(heading)) ?? ''
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => parse(match[1]) as Role)
}

/**
 * The rules as the test server enforces them: the Role's bound in `namespace` only (a RoleBinding), the
 * ClusterRole's everywhere (a ClusterRoleBinding).
 */
function rulesOf(roles: Role[], namespace: string): RbacRule[] {
  return roles.flatMap(({ kind, rules }) =>
    rules.map((rule) => (kind === 'Role' ? { ...rule, namespaces: [namespace] } : rule))
  )
}

/** Each verb on each resource the roles grant, with the scope a refusal of it names. */
function permissionsOf(roles: Role[]): Array<{ resource: string; verb: string; scope: string }> {
  return roles.flatMap(({ kind, rules }) =>
    rules.flatMap((rule) =>
      rule.resources.flatMap((resource) =>
        rule.verbs.map((verb) => ({
          resource,
          verb,
          scope: kind === 'Role' ? 'payments-prod' : 'at the cluster scope'
        }))
      )
    )
  )
}

/** The roles without `verb` on `resource`. */
function without(roles: Role[], resource: string, verb: string): Role[] {
  return roles.map((role) => ({
    ...role,
    rules: role.rules.map((rule) => ({
      ...rule,
      verbs: rule.resources.includes(resource) ? rule.verbs.filter((v) => v !== verb) : rule.verbs
    }))
  }))
}

let moto: MotoServer
const cluster = useTestCluster()
beforeAll(async () => {
  moto = await startMoto()
})
afterAll(async () => moto?.stop())
beforeEach(async () => moto.reset())

/**
 * The payments tenant on a test API server that allows `user` only `rules`; with Argo Rollouts installed (a Rollout
 * reads the Secret too) unless `argoRollouts` is false.
 */
async function tenantCluster(rules: RbacRule[], user: string, argoRollouts: boolean): Promise<KubeApiServer> {
  const kube = cluster.track(
    await startKubeApiServer({
      ssmEndpoint: moto.endpoint,
      region: 'us-east-1',
      reconcileDelayMs: 20,
      rbac: rules,
      user,
      argoRollouts
    })
  )
  kube.apply(readFileSync('__tests__/fixtures/cluster/payments-prod.yaml', 'utf8'))
  kube.apply(TENANT_STORE)
  kube.apply(argoRollouts ? [PAYMENTS_API, PAYMENTS_WORKER] : [PAYMENTS_API])
  return kube
}

/**
 * The run on a cluster with Argo Rollouts installed (a Rollout reads the Secret too), unless `argoRollouts` is false;
 * with `shared`, a ClusterExternalSecret controls one of the selected ExternalSecrets.
 */
async function runWith(rules: RbacRule[], argoRollouts = true, shared = false) {
  const kube = await tenantCluster(rules, 'system:serviceaccount:ci:deployer', argoRollouts)
  if (shared) kube.apply(SHARED)
  // restart: changed, so that the Role's rules on the workloads are needed too.
  return runBundledAction(
    {
      environment: 'prod',
      service: 'payments',
      'ssm-endpoint': moto.endpoint,
      secrets: JSON.stringify(SECRETS),
      namespace: 'payments-prod',
      kubeconfig: kube.kubeconfig(),
      timeout: '20s',
      restart: 'changed',
      'rollout-timeout': '20s'
    },
    AWS
  )
}

const roles = readmeRoles('Kubernetes Role')
/** Only with ClusterExternalSecrets; bound with a ClusterRoleBinding. */
const cesRoles = readmeRoles('Kubernetes ClusterRole')
const permissions = permissionsOf(roles)

describe("the README's Kubernetes Role", () => {
  it('is a Role and a ClusterRole', () => expect(roles.map(({ kind }) => kind)).toEqual(['Role', 'ClusterRole']))

  it('is enough for the whole run', async () => {
    const result = await runWith(rulesOf(roles, 'payments-prod'))
    expect(result.stdout).not.toMatch(/::error::/)
    expect(JSON.parse(result.outputs.synced)).toEqual([
      'payments-prod/payments-cache',
      'payments-prod/payments-db',
      'payments-prod/payments-provider'
    ])
    expect(JSON.parse(result.outputs.restarted)).toEqual([
      'payments-prod/Deployment/payments-api',
      'payments-prod/Rollout/payments-worker'
    ])
  })

  it('is enough without its rule on rollouts where Argo Rollouts is not installed', async () => {
    const [role, ...others] = roles
    const withoutRollouts = role.rules.filter((rule) => !rule.resources.includes('rollouts'))
    expect(withoutRollouts).toHaveLength(role.rules.length - 1)
    const result = await runWith(rulesOf([{ ...role, rules: withoutRollouts }, ...others], 'payments-prod'), false)
    expect(result.stdout).not.toMatch(/::error::/)
    expect(JSON.parse(result.outputs.restarted)).toEqual(['payments-prod/Deployment/payments-api'])
  })

  it('with the ClusterRole of ClusterExternalSecrets, is enough where one controls a selected ExternalSecret', async () => {
    expect(cesRoles.map(({ kind }) => kind)).toEqual(['ClusterRole'])
    const result = await runWith(rulesOf([...roles, ...cesRoles], 'payments-prod'), true, true)
    expect(result.stdout).not.toMatch(/::error::/)
    expect(JSON.parse(result.outputs.synced)).toEqual([
      'payments-prod/payments-cache',
      'payments-prod/payments-db',
      'payments-prod/payments-provider',
      'payments-prod/payments-shared'
    ])
  })

  it("needs that ClusterRole's patch on clusterexternalsecrets there: without it the run fails naming it", async () => {
    const result = await runWith(rulesOf(roles, 'payments-prod'), true, true)
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toMatch(/may not patch clusterexternalsecrets\.external-secrets\.io at the cluster scope/)
  })

  it('is refused in another namespace, naming it', async () => {
    const result = await runWith(rulesOf(roles, 'payments-stg'))
    expect(result.exitCode).not.toBe(0)
    expect(result.stdout).toMatch(
      /cannot list resource "externalsecrets".*namespace "payments-prod"|list.*externalsecrets.*payments-prod/
    )
  })

  it.each(permissions)(
    'needs $verb on $resource ($scope): without it the run fails naming it',
    async ({ resource, verb, scope }) => {
      const result = await runWith(rulesOf(without(roles, resource, verb), 'payments-prod'))
      expect(result.exitCode).not.toBe(0)
      expect(result.stdout).toMatch(new RegExp(`${verb}[^%]*${resource}|${resource}[^%]*${verb}`))
      expect(result.stdout).toContain(scope)
    }
  )
})

/** Check mode on the same cluster (nothing released yet: its findings are no failure with fail-on-drift false). */
async function checkWith(rules: RbacRule[], argoRollouts = true) {
  const kube = await tenantCluster(rules, 'system:serviceaccount:ci:drift-check', argoRollouts)
  return runBundledAction(
    {
      mode: 'check',
      'fail-on-drift': 'false',
      environment: 'prod',
      service: 'payments',
      'ssm-endpoint': moto.endpoint,
      secrets: JSON.stringify(SECRETS),
      namespace: 'payments-prod',
      kubeconfig: kube.kubeconfig()
    },
    AWS
  )
}

const checkRoles = readmeRoles('Read-only Kubernetes Role')
const checkPermissions = permissionsOf(checkRoles)

describe("the README's read-only Kubernetes Role (check mode)", () => {
  it('is a Role and a ClusterRole of list and get only', () => {
    expect(checkRoles.map(({ kind }) => kind)).toEqual(['Role', 'ClusterRole'])
    expect([...new Set(checkPermissions.map(({ verb }) => verb))].sort()).toEqual(['get', 'list'])
  })

  it('is enough for a check, which writes nothing to the cluster', async () => {
    const result = await checkWith(rulesOf(checkRoles, 'payments-prod'))
    expect(result.stdout).not.toMatch(/::error::/)
    // Nothing was released: every selected ExternalSecret is found not Ready, and the keys missing.
    const kinds = (JSON.parse(result.outputs.drift) as Array<{ kind: string }>).map(({ kind }) => kind)
    expect(kinds).toContain('missing')
    expect(kinds).toContain('not-ready')
    expect(
      cluster.current.requests
        .filter(({ method, path }) => method !== 'GET' && !path.endsWith('/selfsubjectaccessreviews'))
        .map(({ method, path }) => `${method} ${path}`)
    ).toEqual([])
  })

  it('is enough without its rule on rollouts where Argo Rollouts is not installed', async () => {
    const [role, ...others] = checkRoles
    const withoutRollouts = role.rules.filter((rule) => !rule.resources.includes('rollouts'))
    expect(withoutRollouts).toHaveLength(role.rules.length - 1)
    const result = await checkWith(rulesOf([{ ...role, rules: withoutRollouts }, ...others], 'payments-prod'), false)
    expect(result.stdout).not.toMatch(/::error::/)
  })

  it.each(checkPermissions)(
    'needs $verb on $resource ($scope): without it the check fails naming it',
    async ({ resource, verb, scope }) => {
      const result = await checkWith(rulesOf(without(checkRoles, resource, verb), 'payments-prod'))
      expect(result.exitCode).not.toBe(0)
      expect(result.stdout).toMatch(new RegExp(`${verb}[^%]*${resource}|${resource}[^%]*${verb}`))
      expect(result.stdout).toContain(scope)
    }
  )
})
