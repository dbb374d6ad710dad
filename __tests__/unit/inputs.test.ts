import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ActionError } from '../../src/errors.js'
import { loadInputs } from '../../src/inputs/load.js'
import { INPUT_DEFAULTS } from '../../src/inputs/read.js'

const BASE = { environment: 'prod', service: 'payments', 'aws-region': 'eu-west-1' }

function load(inputs: Record<string, string>, env: Record<string, string> = {}) {
  const masked: string[] = []
  const get = (name: string) => inputs[name] ?? ''
  try {
    return { loaded: loadInputs(get, env, (value) => masked.push(value)), masked }
  } catch (error) {
    return { error: error as ActionError, masked }
  }
}

describe('loadInputs', () => {
  it('applies the documented defaults when inputs are absent', () => {
    const { loaded } = load({ ...BASE, secrets: '{"DATABASE_URL": "x"}' })
    expect(loaded?.inputs).toMatchObject({
      pathPrefix: '/zerotouch',
      tier: 'Standard',
      prune: false,
      dryRun: false,
      tags: {},
      selection: { include: ['*'], exclude: [], stripPrefix: '' },
      aws: { region: 'eu-west-1' },
      sync: { namespaces: [], labelSelector: 'zerotouch.io/managed=true', annotationKey: 'force-sync', wait: true, timeoutMs: 300_000, verifyReferences: true }
    })
    expect(loaded?.path).toBe('/zerotouch/prod/payments')
    expect(loaded?.secrets).toEqual([{ source: 'DATABASE_URL', key: 'database_url', value: 'x' }])
  })

  it('has the same defaults as action.yml, and every input of action.yml', () => {
    const action = parse(readFileSync('action.yml', 'utf8')) as { inputs: Record<string, { default?: string; required?: boolean }> }
    expect(Object.keys(action.inputs).sort()).toEqual(Object.keys(INPUT_DEFAULTS).sort())
    for (const [name, spec] of Object.entries(action.inputs)) expect([name, spec.default ?? '']).toEqual([name, INPUT_DEFAULTS[name]])
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
    const inputs = ['secrets', 'environment', 'service', 'path-prefix', 'tier', 'prune', 'dry-run', 'tags', 'ssm-endpoint', 'aws-region', 'timeout', 'wait', 'label-selector', 'annotation-key', 'namespace']
    for (const input of inputs) expect(error?.problems.some((problem) => problem.startsWith(`${input}: `))).toBe(true)
    expect(error?.message).toMatch(/^Invalid inputs; nothing was written\./)
  })

  it('takes the region from AWS_REGION, then AWS_DEFAULT_REGION', () => {
    const input = { environment: 'prod', service: 'svc', secrets: 'A: x' }
    expect(load(input, { AWS_REGION: 'us-east-2', AWS_DEFAULT_REGION: 'eu-west-1' }).loaded?.inputs.aws.region).toBe('us-east-2')
    expect(load(input, { AWS_DEFAULT_REGION: 'eu-west-1' }).loaded?.inputs.aws.region).toBe('eu-west-1')
    expect(load(input).error?.problems).toEqual([expect.stringMatching(/^aws-region: no AWS region/)])
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
    const { loaded } = load({ ...BASE, namespace: 'payments, payments-jobs\nbilling', timeout: '90', wait: 'false', 'label-selector': 'app in (a,b),!legacy' })
    expect(loaded?.inputs.sync).toMatchObject({ namespaces: ['payments', 'payments-jobs', 'billing'], timeoutMs: 90_000, wait: false, labelSelector: 'app in (a,b),!legacy' })
  })
})
