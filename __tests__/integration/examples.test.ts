import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { checkDefinitions, renderDefinitions } from '../../src/definitions/definitions.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import { serviceTarget } from '../../src/ssm/rules.js'
import type { ExternalSecret } from '../../src/eso/model.js'
import { createRedactor } from '../../src/secrets/redact.js'
import { guardrailProblems } from '../../src/eso/guardrails.js'
import { fieldOf, PLACEHOLDER, referencesOf } from '../../src/eso/model.js'
import { HAS_KUBECTL } from '../../__fixtures__/tools.ts'

/**
 * The example tenant (examples/tenants/payments-api), rendered with the real `kubectl kustomize`
 * exactly as Argo CD renders a tenant: the base keeps the _ENV_ placeholder, each overlay replaces
 * it with its environment, and what comes out is what the action's sync phase accepts.
 */

const TENANT = resolve('examples/tenants/payments-api')
const SERVICE = 'payments-api'
const PREFIX = '/zerotouch'
const ENVIRONMENTS = ['prod', 'stg'] as const
const LABEL = 'zerotouch.io/managed'

if (!HAS_KUBECTL) {
  console.warn(
    'kubectl is not on PATH: the example tenant tests (kubectl kustomize) are skipped. Install kubectl to run them.'
  )
}
const withKubectl = HAS_KUBECTL ? describe : describe.skip

interface Rendered {
  readonly all: Array<Record<string, unknown>>
  readonly externalSecrets: ExternalSecret[]
}

/** `kubectl kustomize DIR`, parsed. Throws with kustomize's message when the build fails. */
function render(dir: string): Rendered {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 })
  if (run.error) throw run.error
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${run.stderr.trim()}`)
  const documents = parseAllDocuments(run.stdout)
  for (const document of documents) if (document.errors.length) throw document.errors[0]
  const all = documents.map((document) => document.toJS() as Record<string, unknown>).filter(Boolean)
  return {
    all,
    externalSecrets: all.filter((object) => object.kind === 'ExternalSecret') as unknown as ExternalSecret[]
  }
}

const keysOf = (externalSecrets: readonly ExternalSecret[]): string[] =>
  externalSecrets.flatMap((es) => referencesOf(es, [])).map(({ key }) => key)
const name = (es: ExternalSecret): string => es.metadata.name

/** What the platform requires of an overlay's output; one line per problem, empty when it is right. */
function overlayProblems(rendered: Rendered, environment: string): string[] {
  const problems: string[] = []
  const servicePath = `${PREFIX}/${environment}/${SERVICE}/`
  if (!rendered.externalSecrets.length) problems.push('no ExternalSecret rendered')
  for (const es of rendered.externalSecrets) {
    if (es.apiVersion !== 'external-secrets.io/v1') problems.push(`${name(es)}: apiVersion ${es.apiVersion}`)
    if (es.metadata.labels?.[LABEL] !== 'true') problems.push(`${name(es)}: no ${LABEL}: "true" label`)
    if (es.metadata.namespace !== `${SERVICE}-${environment}`)
      problems.push(`${name(es)}: namespace ${es.metadata.namespace}`)
    for (const reference of referencesOf(es, [])) {
      if (reference.key.includes(PLACEHOLDER))
        problems.push(`${name(es)}: ${fieldOf(reference)} "${reference.key}" still contains ${PLACEHOLDER}`)
      else if (!reference.key.startsWith(servicePath))
        problems.push(`${name(es)}: ${fieldOf(reference)} "${reference.key}" is not under ${servicePath}`)
      // The action writes <path>/<lower-cased secret name>: only such keys can ever be pushed.
      else if (!/^[a-z0-9_]+$/.test(reference.key.slice(servicePath.length)))
        problems.push(`${name(es)}: ${fieldOf(reference)} "${reference.key}" is no key the action writes`)
    }
  }
  return problems
}

withKubectl('example tenant payments-api (kubectl kustomize)', () => {
  let base: Rendered
  const overlays = new Map<string, Rendered>()
  beforeAll(() => {
    base = render(join(TENANT, 'base'))
    for (const environment of ENVIRONMENTS) overlays.set(environment, render(join(TENANT, 'overlays', environment)))
  })

  it('the base defines two or more labelled ExternalSecrets, every key with the _ENV_ placeholder and no namespace', () => {
    expect(base.externalSecrets.length).toBeGreaterThanOrEqual(2)
    expect(base.all.every((object) => object.kind === 'ExternalSecret')).toBe(true)
    const keys = keysOf(base.externalSecrets)
    expect(keys.length).toBeGreaterThanOrEqual(3)
    for (const key of keys) expect(key).toMatch(new RegExp(`^${PREFIX}/${PLACEHOLDER}/${SERVICE}/[a-z0-9_]+$`))
    for (const es of base.externalSecrets) {
      expect(es.metadata.labels?.[LABEL]).toBe('true')
      expect(es.metadata.namespace).toBeUndefined()
      expect(es.spec?.refreshInterval).toBe('1h')
      expect((es.spec as { secretStoreRef?: unknown } | undefined)?.secretStoreRef).toEqual({
        kind: 'ClusterSecretStore',
        name: 'aws-parameter-store'
      })
    }
  })

  it('the action refuses the base as it is: every reference still holds the placeholder', () => {
    const problems = guardrailProblems(base.externalSecrets, { pathPrefix: PREFIX, environment: 'prod' }, [])
    expect(problems).toHaveLength(keysOf(base.externalSecrets).length)
    for (const problem of problems) expect(problem).toContain(PLACEHOLDER)
  })

  for (const environment of ENVIRONMENTS) {
    describe(`overlays/${environment}`, () => {
      const rendered = (): Rendered => overlays.get(environment)!

      it(`renders every ExternalSecret labelled, in ${SERVICE}-${environment}, with every key under ${PREFIX}/${environment}/${SERVICE}/ and none with ${PLACEHOLDER}`, () => {
        expect(overlayProblems(rendered(), environment)).toEqual([])
      })

      it('keeps every ExternalSecret and every key of the base, only the environment replaced', () => {
        expect(rendered().externalSecrets.map(name).sort()).toEqual(base.externalSecrets.map(name).sort())
        const expected = keysOf(base.externalSecrets).map((key) => key.replace(PLACEHOLDER, environment))
        expect(keysOf(rendered().externalSecrets).sort()).toEqual(expected.sort())
      })

      it('passes the definitions phase of the action as examples/release-pipeline.yml configures it (definitions, definitions-base)', async () => {
        const keys = keysOf(rendered().externalSecrets).map((key) => key.slice(key.lastIndexOf('/') + 1))
        const secrets = keys.map((key) => ({ source: key.toUpperCase(), key, value: `example ${key}` }))
        const definitions = await renderDefinitions({
          overlay: `examples/tenants/payments-api/overlays/${environment}`,
          base: 'examples/tenants/payments-api/base',
          workspace: process.cwd(),
          waitUntilApplied: true
        })
        const report = await checkDefinitions(
          {
            target: serviceTarget(PREFIX, environment, SERVICE),
            selector: parseLabelSelector('label-selector', `${LABEL}=true`),
            secrets
          },
          definitions,
          {
            redact: createRedactor(secrets.map(({ value }) => value))
          }
        )
        expect(report.warnings).toEqual([])
        expect(report.mapping.map(({ parameter, source }) => [parameter, source]).sort()).toEqual(
          keys.map((key) => [`${PREFIX}/${environment}/${SERVICE}/${key}`, key.toUpperCase()]).sort()
        )
      })

      it(`passes the action's reference guardrails for ${environment}, and is a cross-environment reference for any other`, () => {
        expect(guardrailProblems(rendered().externalSecrets, { pathPrefix: PREFIX, environment }, [])).toEqual([])
        const other = environment === 'prod' ? 'stg' : 'prod'
        const problems = guardrailProblems(rendered().externalSecrets, { pathPrefix: PREFIX, environment: other }, [])
        expect(problems).toHaveLength(keysOf(rendered().externalSecrets).length)
        for (const problem of problems) expect(problem).toContain('cross-environment')
      })
    })
  }

  describe('the checks catch a broken overlay', () => {
    let scratch: string
    beforeAll(() => {
      scratch = mkdtempSync(join(tmpdir(), 'zerotouch-overlay-'))
    })
    afterAll(() => rmSync(scratch, { recursive: true, force: true }))

    /** Rewrites one file of a copied overlay. */
    const edit = (file: string, change: (text: string) => string): void =>
      writeFileSync(file, change(readFileSync(file, 'utf8')))

    /** A copy of overlays/prod whose base reference still resolves, changed by `edit`. */
    function brokenOverlay(change: (dir: string) => void): string {
      const dir = mkdtempSync(join(scratch, 'prod-'))
      cpSync(join(TENANT, 'overlays', 'prod'), dir, { recursive: true })
      // kustomize refuses an absolute path to another kustomization: point at the base relatively.
      edit(join(dir, 'kustomization.yaml'), (text) => text.replace('../../base', relative(dir, join(TENANT, 'base'))))
      change(dir)
      return dir
    }

    it('an overlay that forgets one patch leaves _ENV_ in that key, and the checks say so', () => {
      const dir = brokenOverlay((d) =>
        edit(join(d, 'kustomization.yaml'), (text) =>
          text.replace(/ {2}- path: patches\/cache\.yaml\n(?: {4,}.*\n)+/, '')
        )
      )
      const problems = overlayProblems(render(dir), 'prod')
      expect(problems).toEqual([
        `payments-api-cache: spec.data[0].remoteRef.key "${PREFIX}/${PLACEHOLDER}/${SERVICE}/redis_url" still contains ${PLACEHOLDER}`
      ])
    })

    it('an overlay that patches in another environment is refused', () => {
      const dir = brokenOverlay((d) =>
        edit(join(d, 'patches', 'database.yaml'), (text) =>
          text.replace('value: /zerotouch/prod/', 'value: /zerotouch/stg/')
        )
      )
      expect(overlayProblems(render(dir), 'prod')).toEqual([
        `payments-api-database: spec.data[0].remoteRef.key "${PREFIX}/stg/${SERVICE}/database_url" is not under ${PREFIX}/prod/${SERVICE}/`
      ])
    })

    it('the test operations stop a patch from replacing a key that moved in the base', () => {
      // As if the base had swapped its two entries: the patch now expects the webhook secret at index 0.
      const dir = brokenOverlay((d) =>
        edit(join(d, 'patches', 'stripe.yaml'), (text) =>
          text.replace(
            'path: /spec/data/0/remoteRef/key\n  value: /zerotouch/_ENV_/payments-api/stripe_api_key',
            'path: /spec/data/0/remoteRef/key\n  value: /zerotouch/_ENV_/payments-api/stripe_webhook_secret'
          )
        )
      )
      expect(() => render(dir)).toThrow(/test failed|testing value/)
    })
  })
})
