import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ActionError } from '../../src/errors.js'
import { INPUT_DEFAULTS, loadConfig } from '../../src/inputs/config.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'

const BASE = { environment: 'prod', service: 'payments', 'aws-region': 'eu-west-1' }

function load(inputs: Record<string, string>, env: Record<string, string> = {}) {
  const masked: string[] = []
  const get = (name: string) => inputs[name] ?? ''
  try {
    return { loaded: loadConfig(get, env, (value) => masked.push(value), '/runner/work'), masked }
  } catch (error) {
    return { error: error as ActionError, masked }
  }
}

describe('loadConfig', () => {
  it('applies the documented defaults when inputs are absent', () => {
    const { loaded } = load({ ...BASE, secrets: '{"DATABASE_URL": "x"}' })
    expect(loaded).toEqual({
      mode: 'release',
      failOnDrift: true,
      target: { pathPrefix: '/zerotouch', environment: 'prod', service: 'payments', path: '/zerotouch/prod/payments' },
      secrets: [{ source: 'DATABASE_URL', key: 'database_url', value: 'x' }],
      write: { tier: 'Standard', kmsKeyId: undefined, tags: {}, prune: false },
      dryRun: false,
      aws: { region: 'eu-west-1', endpoint: undefined, replicaRegions: [] },
      selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true'),
      definitions: undefined,
      cluster: undefined,
      sync: { annotationKey: 'force-sync', wait: true, timeoutMs: 300_000, verifyReferences: true },
      rollout: { restart: 'none', timeoutMs: 600_000 }
    })
  })

  it('has the same defaults as action.yml, and every input of action.yml', () => {
    const action = parse(readFileSync('action.yml', 'utf8')) as {
      inputs: Record<string, { default?: string; required?: boolean }>
    }
    expect(Object.keys(action.inputs).sort()).toEqual(Object.keys(INPUT_DEFAULTS).sort())
    for (const [name, spec] of Object.entries(action.inputs))
      expect([name, spec.default ?? '']).toEqual([name, INPUT_DEFAULTS[name]])
  })

  it('masks every value before it validates anything, even when the input is refused', () => {
    const { error, masked } = load({ ...BASE, environment: 'PROD', secrets: '{"A-B": "first\\nsecond", "PORT": 5432}' })
    expect(error).toBeInstanceOf(ActionError)
    expect(masked.sort()).toEqual(['5432', 'first\nsecond'])
  })

  it('reports every problem of every input at once', () => {
    const { error } = load({
      secrets: '{"DB-URL": "x", "EMPTY": ""}',
      environment: 'Prod',
      service: '',
      'path-prefix': '/aws/x',
      tier: 'gold',
      prune: 'yes',
      'dry-run': 'maybe',
      tags: 'broken',
      'ssm-endpoint': 'ftp://x',
      timeout: 'soon',
      wait: 'perhaps',
      'label-selector': 'a in (b',
      'annotation-key': '-bad-',
      namespace: 'Payments'
    })
    const inputs = [
      'secrets',
      'environment',
      'service',
      'path-prefix',
      'tier',
      'prune',
      'dry-run',
      'tags',
      'ssm-endpoint',
      'aws-region',
      'timeout',
      'wait',
      'label-selector',
      'annotation-key',
      'namespace'
    ]
    for (const input of inputs) expect(error?.problems.some((problem) => problem.startsWith(`${input}: `))).toBe(true)
    expect(error?.message).toMatch(/^Invalid inputs; nothing was written\./)
  })

  it('takes the region from AWS_REGION, then AWS_DEFAULT_REGION', () => {
    const input = { environment: 'prod', service: 'svc', secrets: 'A: x' }
    expect(load(input, { AWS_REGION: 'us-east-2', AWS_DEFAULT_REGION: 'eu-west-1' }).loaded?.aws?.region).toBe(
      'us-east-2'
    )
    expect(load(input, { AWS_DEFAULT_REGION: 'eu-west-1' }).loaded?.aws?.region).toBe('eu-west-1')
    expect(load(input).error?.problems).toEqual([expect.stringMatching(/^aws-region: no AWS region/)])
  })

  it('reads replica-regions, refusing the primary region however it was given (ZT100)', () => {
    const input = { environment: 'prod', service: 'svc', secrets: 'A: x', 'replica-regions': 'us-west-2, ap-south-1' }
    expect(load(input, { AWS_REGION: 'eu-west-1' }).loaded?.aws).toEqual({
      region: 'eu-west-1',
      endpoint: undefined,
      replicaRegions: ['us-west-2', 'ap-south-1']
    })
    const { error } = load(input, { AWS_REGION: 'us-west-2' })
    expect(error?.code).toBe('ZT100')
    expect(error?.problems).toEqual([expect.stringMatching(/^replica-regions: "us-west-2" is aws-region/)])
  })

  it('skips the push phase for an empty input or one holding only github_token, without needing a region', () => {
    for (const secrets of ['', '{}', '{"github_token": "ghs_x"}']) {
      const { loaded } = load({ environment: 'prod', service: 'svc', secrets })
      expect(loaded?.secrets).toEqual([])
    }
  })

  it('refuses an input where include, exclude and strip-prefix select nothing', () => {
    const { error } = load({ ...BASE, secrets: '{"A": "x", "B": "y"}', 'strip-prefix': 'PROD_' })
    expect(error?.problems).toEqual([expect.stringMatching(/^include: none of the 2 secrets given was selected/)])
  })

  it('reads the sync inputs', () => {
    const { loaded } = load({
      ...BASE,
      namespace: 'payments, payments-jobs\nbilling',
      timeout: '90',
      wait: 'false',
      'label-selector': 'app in (a,b),!legacy',
      'kube-context': 'prod'
    })
    expect(loaded?.cluster).toEqual({
      namespaces: ['payments', 'payments-jobs', 'billing'],
      kubeconfig: '',
      kubeContext: 'prod'
    })
    expect(loaded?.sync).toMatchObject({ timeoutMs: 90_000, wait: false })
    expect(loaded?.selector).toEqual({
      text: 'app in (a,b),!legacy',
      requirements: [
        { key: 'app', operator: 'in', values: ['a', 'b'] },
        { key: 'legacy', operator: 'absent' }
      ]
    })
  })

  it('reads the definitions folders against the workspace, and needs a region for their SSM check', () => {
    const inputs = {
      environment: 'prod',
      service: 'svc',
      definitions: 'tenants/svc/overlays/prod',
      'definitions-base': 'tenants/svc/base'
    }
    expect(load(inputs, { GITHUB_WORKSPACE: '/ws', AWS_REGION: 'eu-west-1' }).loaded?.definitions).toEqual({
      overlay: 'tenants/svc/overlays/prod',
      base: 'tenants/svc/base',
      workspace: '/ws',
      waitUntilApplied: true
    })
    expect(
      load({ ...inputs, 'wait-for-definitions': 'false' }, { AWS_REGION: 'eu-west-1' }).loaded?.definitions
        ?.waitUntilApplied
    ).toBe(false)
    expect(load({ ...inputs, 'wait-for-definitions': 'soon' }, { AWS_REGION: 'eu-west-1' }).error?.problems).toEqual([
      expect.stringMatching(/^wait-for-definitions: expected true or false/)
    ])
    expect(load(inputs, { AWS_REGION: 'eu-west-1' }).loaded?.definitions?.workspace).toBe('/runner/work')
    expect(load(inputs).error?.problems).toEqual([expect.stringMatching(/^aws-region: /)])
    expect(load({ ...inputs, definitions: '' }).error?.problems).toEqual([
      expect.stringMatching(/^definitions-base: is checked together with the overlay/)
    ])
  })

  it('needs no region when nothing reads SSM: no secrets, no definitions, references not verified', () => {
    const { loaded } = load({ environment: 'prod', service: 'svc', namespace: 'apps', 'verify-references': 'false' })
    expect(loaded?.aws).toBeUndefined()
    expect(load({ environment: 'prod', service: 'svc', namespace: 'apps' }).error?.problems).toEqual([
      expect.stringMatching(/^aws-region: /)
    ])
  })

  describe('check mode', () => {
    const SECRET = { secrets: '{"DATABASE_URL": "postgres://x"}' }

    it('reads mode (any case) and fail-on-drift', () => {
      expect(load({ ...BASE, ...SECRET, mode: 'Check', 'fail-on-drift': 'false' }).loaded).toMatchObject({
        mode: 'check',
        failOnDrift: false
      })
      expect(load({ ...BASE, ...SECRET, mode: ' release ' }).loaded).toMatchObject({
        mode: 'release',
        failOnDrift: true
      })
    })

    it('refuses any other mode and a fail-on-drift that is not a boolean, naming each input', () => {
      const { error } = load({ ...BASE, ...SECRET, mode: 'audit', 'fail-on-drift': 'sometimes' })
      expect(error).toMatchObject({
        code: 'ZT100',
        problems: [
          'mode: "audit" is not one of release, check',
          'fail-on-drift: expected true or false, got "sometimes"'
        ]
      })
    })

    it('refuses a check with nothing to compare, restore-to, and definitions without a namespace', () => {
      expect(load({ ...BASE, mode: 'check' }).error?.problems).toEqual([
        'mode: check has nothing to compare: give secrets (the values to compare with SSM), namespace (the cluster), or both'
      ])
      expect(load({ ...BASE, mode: 'check', namespace: 'apps', 'restore-to': 'run:42' }).error?.problems).toEqual([
        'restore-to: is a release: check mode writes nothing; leave restore-to empty or set mode: release'
      ])
      expect(
        load({ ...BASE, ...SECRET, mode: 'check', definitions: 'tenants/payments/overlays/prod' }).error?.problems
      ).toEqual(['definitions: check mode compares the definitions with the cluster: set namespace too'])
    })

    it('needs a region for a check of the cluster alone (when each parameter was written is read from SSM)', () => {
      const clusterOnly = { environment: 'prod', service: 'payments', mode: 'check', namespace: 'apps' }
      expect(load(clusterOnly).error?.problems).toEqual([expect.stringMatching(/^aws-region: no AWS region/)])
      expect(load(clusterOnly, { AWS_REGION: 'eu-west-1' }).loaded).toMatchObject({
        mode: 'check',
        aws: { region: 'eu-west-1' },
        secrets: []
      })
      // A release of the cluster alone without verify-references reads no SSM.
      expect(load({ ...clusterOnly, mode: 'release', 'verify-references': 'false' }).loaded).toMatchObject({
        aws: undefined
      })
    })
  })

  it('reads restore-to, which needs a region and no secrets', () => {
    const restore = { environment: 'prod', service: 'svc', 'restore-to': 'run:4242' }
    const { loaded } = load(restore, { AWS_REGION: 'eu-west-1' })
    expect(loaded).toMatchObject({ restore: { kind: 'run', runId: '4242' }, secrets: [], aws: { region: 'eu-west-1' } })
    expect(
      load({ ...restore, 'restore-to': '2026-11-30T12:00:00Z' }, { AWS_REGION: 'eu-west-1' }).loaded?.restore
    ).toEqual({ kind: 'time', at: Date.UTC(2026, 10, 30, 12) })
    expect(
      load({ ...restore, secrets: '{"github_token": "ghs_x"}' }, { AWS_REGION: 'eu-west-1' }).loaded?.restore
    ).toEqual({ kind: 'run', runId: '4242' })
    expect(load(restore).error?.problems).toEqual([expect.stringMatching(/^aws-region: /)])
    expect(
      load({ environment: 'prod', service: 'svc', secrets: '{"A": "x"}', 'aws-region': 'eu-west-1' }).loaded?.restore
    ).toBeUndefined()
  })

  it('refuses restore-to together with secrets, and a malformed one, naming the input', () => {
    const refused = load({ ...BASE, secrets: '{"DATABASE_URL": "postgres://x"}', 'restore-to': '2026-11-30T12:00:00Z' })
    expect(refused.error?.problems).toEqual([
      'restore-to: is refused together with secrets: a restore writes back the values the parameters held at that point; leave secrets empty'
    ])
    expect(load({ ...BASE, 'restore-to': '30/11/2026' }).error?.problems).toEqual([
      'restore-to: "30/11/2026" is neither an ISO-8601 UTC time (2026-11-30T12:00:00Z) nor run:<run id>'
    ])
  })
})
