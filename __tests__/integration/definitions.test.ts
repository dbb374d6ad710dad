/** The definitions phase on example tenants rendered by the real kustomize (kubectl kustomize). */
import { beforeEach, describe, expect, it } from '@jest/globals'
import { MemoryStore } from '../../__fixtures__/memory-store.js'
import {
  checkDefinitions,
  renderDefinitions,
  type DefinitionsConfig,
  type DefinitionsSettings
} from '../../src/definitions/definitions.js'
import { serviceTarget } from '../../src/ssm/rules.js'
import { actionErrorOf } from '../../__fixtures__/problems.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import { createRedactor } from '../../src/secrets/redact.js'
import { HAS_KUSTOMIZE } from '../../__fixtures__/tools.ts'

if (!HAS_KUSTOMIZE) console.warn('Neither kustomize nor kubectl is installed: the definitions tests are skipped.')
const describeWithKustomize = HAS_KUSTOMIZE ? describe : describe.skip

const SELECTOR = 'zerotouch.io/managed=true'
const PUSHED = [
  { source: 'DATABASE_URL', key: 'database_url', value: 'postgres://x' },
  { source: 'STRIPE_API_KEY', key: 'stripe_api_key', value: 'sk_x' },
  { source: 'WEBHOOK_SECRET', key: 'webhook_secret', value: 'whsec_x' }
]

let store: MemoryStore
beforeEach(() => {
  store = new MemoryStore()
})

type CheckOptions = Partial<DefinitionsSettings> & Partial<DefinitionsConfig>

async function check({
  secrets = PUSHED,
  target = serviceTarget('/zerotouch', 'prod', 'payments'),
  selector = parseLabelSelector('label-selector', SELECTOR),
  ...definitions
}: CheckOptions) {
  const rendered = await renderDefinitions({
    overlay: 'good/overlays/prod',
    workspace: '__tests__/fixtures/tenants',
    waitUntilApplied: true,
    ...definitions
  })
  return checkDefinitions({ target, selector, secrets }, rendered, { store, redact: createRedactor([]) })
}

async function problemsOf(options: CheckOptions): Promise<readonly string[]> {
  return (await actionErrorOf(check(options))).problems
}

describeWithKustomize('checkDefinitions', () => {
  it('accepts a good tenant and maps each ExternalSecret key to its parameter and source secret', async () => {
    const report = await check({ base: 'good/base' })
    expect(report.mapping).toEqual([
      {
        externalSecret: 'payments-prod/payments-db',
        secretKey: 'DATABASE_URL',
        parameter: '/zerotouch/prod/payments/database_url',
        source: 'DATABASE_URL'
      },
      {
        externalSecret: 'payments-prod/payments-provider',
        secretKey: 'STRIPE_API_KEY',
        parameter: '/zerotouch/prod/payments/stripe_api_key',
        source: 'STRIPE_API_KEY'
      },
      {
        externalSecret: 'payments-prod/payments-provider',
        secretKey: 'WEBHOOK_SECRET',
        parameter: '/zerotouch/prod/payments/webhook_secret',
        source: 'WEBHOOK_SECRET'
      }
    ])
    expect(report.warnings).toEqual([])
    expect(store.calls).toEqual([])
  })

  it('accepts a needed parameter that SSM already holds, looked up without decryption', async () => {
    store.seed('/zerotouch/prod/payments/webhook_secret', 'kept')
    const report = await check({ secrets: PUSHED.slice(0, 2) })
    expect(report.mapping.at(-1)?.source).toBe('(already in SSM)')
    expect(store.calls).toEqual([{ operation: 'getParameters', names: ['/zerotouch/prod/payments/webhook_secret'] }])
  })

  it('warns about each pushed secret no ExternalSecret reads', async () => {
    const report = await check({ secrets: [...PUSHED, { source: 'LEGACY_TOKEN', key: 'legacy_token', value: 'x' }] })
    expect(report.warnings).toEqual([
      'secret LEGACY_TOKEN is pushed to /zerotouch/prod/payments/legacy_token, but no ExternalSecret in the definitions reads it'
    ])
  })

  it('refuses an ExternalSecret the label selector does not reach, naming its file', async () => {
    expect(await problemsOf({ overlay: 'broken/overlays/missing-label' })).toEqual([
      expect.stringMatching(
        /^good\/base\/database\.yaml: ExternalSecret payments-prod\/payments-db does not match the label selector "zerotouch\.io\/managed=true"/
      )
    ])
  })

  it('refuses keys an overlay left with the placeholder', async () => {
    const problems = await problemsOf({ overlay: 'broken/overlays/placeholder' })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toMatch(
      /^good\/base\/payments\.yaml: ExternalSecret payments-prod\/payments-provider: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/_ENV_\/payments\/stripe_api_key" still contains the _ENV_ placeholder/
    )
  })

  it('refuses a cross-environment reference', async () => {
    expect(await problemsOf({ overlay: 'broken/overlays/cross-environment' })).toEqual([
      expect.stringMatching(
        /payments-stg\/payments-db: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/stg\/payments\/database_url" reads environment "stg", not "prod"/
      )
    ])
  })

  it('refuses a key no secret provides and SSM does not hold', async () => {
    expect(await problemsOf({ overlay: 'broken/overlays/unknown-key' })).toEqual([
      expect.stringMatching(
        /ExternalSecret payments-prod\/payments-provider needs \/zerotouch\/prod\/payments\/sentry_dsn, which no secret provides/
      )
    ])
    expect(store.count('getParameters')).toBe(1)
  })

  it('refuses a base that hard-codes an environment', async () => {
    expect(await problemsOf({ base: 'broken/base-hardcoded' })).toEqual([
      expect.stringMatching(
        /^broken\/base-hardcoded\/cache\.yaml: base ExternalSecret payments-cache: spec\.data\[0\]\.remoteRef\.key "\/zerotouch\/prod\/payments\/redis_url" hard-codes an environment/
      )
    ])
  })

  it("fails with kustomize's own message when the overlay does not render", async () => {
    await expect(check({ overlay: 'broken/overlays/does-not-render' })).rejects.toThrow(
      /^definitions: kustomize could not render "broken\/overlays\/does-not-render": .*no-such-file\.yaml/s
    )
  })

  it('names the input when the folder does not exist', async () => {
    await expect(check({ base: 'nowhere' })).rejects.toThrow(
      /^definitions-base: "nowhere" is not a folder in the workspace/
    )
  })

  it('reports every problem at once', async () => {
    const problems = await problemsOf({
      overlay: 'broken/overlays/unknown-key',
      base: 'broken/base-hardcoded',
      secrets: PUSHED.slice(1)
    })
    expect(problems).toHaveLength(3)
  })
})
