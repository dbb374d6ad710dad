import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import {
  FIRST_PARTY,
  filesToValidate,
  isKnownNode24Error,
  isThirdParty,
  pinConsistencyProblems,
  pinningProblems,
  runValidator,
  usesLines,
  validateFile,
  withRunsUsing
} from '../../scripts/validate-workflows.ts'
import { actionReferences, pinReusableWorkflow, releaseProblems, releaseTag } from '../../scripts/release-check.ts'

/**
 * action.yml and every workflow (.github/workflows/*.yml, examples/*.yml) through the real
 * @action-validator/cli, pinning of third-party actions, and what the workflows promise: the
 * inputs they give the action exist, the reusable workflow's contract, the project's CI.
 * The single tolerated validator error (node24 in action.yml) is explained in
 * scripts/validate-workflows.ts and pinned down by the tests under "the node24 tolerance".
 */

/** The parts of a workflow that the tests read, as parsed from YAML: the assertions check the shape. */
interface Workflow {
  readonly on?: Record<string, unknown>
  readonly permissions?: Record<string, unknown>
  readonly env?: Record<string, unknown>
  readonly jobs?: Record<string, Job>
}
interface Job {
  readonly uses?: unknown
  readonly with?: Record<string, unknown>
  readonly secrets?: unknown
  readonly permissions?: Record<string, unknown>
  readonly concurrency?: { readonly group?: unknown; readonly 'cancel-in-progress'?: unknown }
  readonly environment?: unknown
  readonly outputs?: Record<string, unknown>
  readonly steps?: Step[]
}
interface Step {
  readonly name?: string
  readonly uses?: string
  readonly run?: string
  readonly with?: Record<string, unknown>
  readonly env?: Record<string, unknown>
  readonly id?: string
  readonly if?: string
  readonly 'continue-on-error'?: unknown
}

const FILES = filesToValidate()
const WORKFLOWS = FILES.filter((file) => file !== 'action.yml')
const read = (file: string): string => readFileSync(file, 'utf8')
const load = <T = Workflow>(file: string): T => parse(read(file)) as T
const action = load<{ inputs: Record<string, { required?: boolean }>; outputs: Record<string, unknown>; runs: { using: string } }>('action.yml')

const declaredInputs = new Set(Object.keys(action.inputs))

const stepsOf = (workflow: Workflow): Array<Step & { job: string }> => Object.entries(workflow.jobs ?? {}).flatMap(([job, spec]) => (spec.steps ?? []).map((step) => ({ ...step, job })))
const isThisAction = (uses: string | undefined): boolean => uses === './' || Boolean(uses?.toLowerCase().startsWith(`${FIRST_PARTY}@`))
const REUSABLE = '.github/workflows/zerotouch-secrets.yml'
const isReusableCall = (uses: unknown): boolean => typeof uses === 'string' && (uses === `./${REUSABLE}` || uses.toLowerCase().startsWith(`${FIRST_PARTY}/${REUSABLE}@`))

it('finds action.yml and the workflow files to check', () => {
  expect(FILES).toEqual(
    expect.arrayContaining(['action.yml', '.github/workflows/ci.yml', '.github/workflows/check-dist.yml', '.github/workflows/e2e.yml', REUSABLE, 'examples/release-pipeline.yml', 'examples/tenant-caller.yml'])
  )
})

describe('action-validator (CLI)', () => {
  it.each(FILES)('%s is valid', (file) => {
    const result = validateFile(file)
    expect(result.errors).toEqual([])
    // Only action.yml may need the tolerance, and only for node24.
    if (result.tolerated) expect([file, action.runs.using]).toEqual(['action.yml', 'node24'])
  })

  it('reports the errors of a broken workflow (the validator really validates)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'workflow-'))
    try {
      writeFileSync(join(dir, 'broken.yml'), 'name: broken\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    permission:\n      contents: read\n    steps:\n      - run: echo\n')
      const result = validateFile('broken.yml', dir)
      expect(result.tolerated).toBeUndefined()
      expect(JSON.stringify(result.errors)).toContain("Additional property 'permission' is not allowed")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the node24 tolerance', () => {
  const text = read('action.yml')
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'action-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const validateVariant = (content: string) => {
    writeFileSync(join(dir, 'action.yml'), content)
    return validateFile('action.yml', dir)
  }

  it('action.yml declares node24, and action-validator 0.6.0 errs on exactly that (or no longer errs at all)', () => {
    expect(action.runs.using).toBe('node24')
    const result = runValidator('action.yml')
    if (result.errors.length) expect(isKnownNode24Error(result, text)).toBe(true)
  })

  it('the same action with runs.using node20 validates with no error, so every other rule holds', () => {
    expect(parse(withRunsUsing(text, 'node20'))).toEqual({ ...(parse(text) as object), runs: { ...action.runs, using: 'node20' } })
    expect(validateVariant(withRunsUsing(text, 'node20'))).toEqual({ file: 'action.yml', errors: [] })
  })

  it('is not applied to another unknown runtime', () => {
    const result = validateVariant(withRunsUsing(text, 'node99'))
    expect(result.tolerated).toBeUndefined()
    expect(result.errors).not.toEqual([])
  })

  it('is not applied when node24 comes with another error in runs', () => {
    const result = validateVariant(text.replace("main: 'dist/index.js'", "main: 'dist/index.js'\n  mian: 'typo.js'"))
    expect(result.tolerated).toBeUndefined()
    expect(JSON.stringify(result.errors)).toContain("Additional property 'mian' is not allowed")
  })

  it('is not applied when node24 comes with an error elsewhere in the file', () => {
    const result = validateVariant(text.replace(/^name: .*\n/m, ''))
    expect(result.tolerated).toBeUndefined()
    expect(JSON.stringify(result.errors)).toContain('/name')
  })

  it('is never applied to a workflow', () => {
    const known = runValidator('action.yml')
    if (!known.errors.length) return
    expect(isKnownNode24Error({ ...known, actionType: 'workflow' }, text)).toBe(false)
  })
})

describe('pinning', () => {
  it.each(FILES)('%s pins every third-party action to a 40-hex commit SHA with a version comment', (file) => {
    expect(pinningProblems(file, read(file))).toEqual([])
  })

  it('pins each action to the same commit and version in every file', () => {
    expect(pinConsistencyProblems(FILES.map((file) => ({ file, text: read(file) })))).toEqual([])
  })

  it('covers the third-party actions the workflows use', () => {
    const thirdParty = new Set(
      FILES.flatMap((file) => usesLines(read(file)))
        .filter(({ uses }) => isThirdParty(uses))
        .map(({ uses }) => uses.split('@')[0])
    )
    // Not vacuous: the check above saw every action these workflows rely on.
    expect([...thirdParty]).toEqual(expect.arrayContaining(['actions/checkout', 'actions/setup-node', 'aws-actions/configure-aws-credentials', 'azure/setup-helm', 'helm/kind-action']))
  })

  it('refuses tags, branches, short SHAs, missing comments and images without digest; allows local and first-party', () => {
    const sha = 'de0fac2e4500dabe0009e67214ff5f5447ce83dd'
    const workflow = (uses: string) => `jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ${uses}\n`
    expect(pinningProblems('w.yml', workflow(`actions/checkout@${sha} # v6.0.2`))).toEqual([])
    expect(pinningProblems('w.yml', workflow('./'))).toEqual([])
    expect(pinningProblems('w.yml', workflow(`${FIRST_PARTY}@v1`))).toEqual([])
    expect(pinningProblems('w.yml', workflow('actions/checkout@v6'))).toEqual(['w.yml:5: actions/checkout@v6 is not pinned to a full 40-hex commit SHA'])
    expect(pinningProblems('w.yml', workflow('actions/checkout@main'))).toHaveLength(1)
    expect(pinningProblems('w.yml', workflow(`actions/checkout@${sha.slice(0, 7)} # v6.0.2`))).toHaveLength(1)
    expect(pinningProblems('w.yml', workflow(`actions/checkout@${sha}`))).toEqual([`w.yml:5: actions/checkout@${sha} has no version comment (# vX.Y.Z)`])
    expect(pinningProblems('w.yml', workflow('docker://alpine:3.20'))).toHaveLength(1)
    expect(pinningProblems('w.yml', `jobs:\n  a:\n    uses: other/repo/.github/workflows/x.yml@main\n`)).toHaveLength(1)
    // A uses: the line scan cannot see (here: a flow mapping) is reported, not skipped.
    expect(pinningProblems('w.yml', `jobs:\n  a:\n    runs-on: x\n    steps: [{uses: actions/checkout@v6}]\n`)).toHaveLength(1)
  })

  it('reports one action pinned to two commits', () => {
    const a = { file: 'a.yml', text: '      - uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2\n' }
    const b = { file: 'b.yml', text: '      - uses: actions/checkout@08eba0b27e820071cde6df949e0beb9ba4906955 # v4.3.0\n' }
    expect(pinConsistencyProblems([a, b])).toHaveLength(1)
  })
})

describe('what the workflows give the action', () => {
  const uses = WORKFLOWS.flatMap((file) =>
    stepsOf(load(file))
      .filter((step) => isThisAction(step.uses))
      .map((step) => ({ file, step }))
  )

  it('the action is used by the examples, the reusable workflow and the e2e', () => {
    expect([...new Set(uses.map(({ file }) => file))]).toEqual(expect.arrayContaining(['examples/release-pipeline.yml', REUSABLE, '.github/workflows/e2e.yml']))
  })

  it.each(uses.map(({ file, step }) => [`${file}: ${step.name ?? step.uses}`, step] as const))('%s: only inputs of action.yml, every required one', (_, step) => {
    const given = Object.keys(step.with ?? {})
    expect(given.filter((input) => !declaredInputs.has(input))).toEqual([])
    const required = Object.entries(action.inputs)
      .filter(([, spec]) => spec.required)
      .map(([input]) => input)
    expect(required.filter((input) => !given.includes(input))).toEqual([])
  })

  it('the release pipeline: OIDC credentials first, then the action with toJSON(secrets), environment, service, namespace and the overlay', () => {
    const workflow = load('examples/release-pipeline.yml')
    expect(workflow.permissions).toMatchObject({ 'id-token': 'write' })
    const steps = stepsOf(workflow)
    const credentials = steps.findIndex((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'))
    const push = steps.findIndex((step) => isThisAction(step.uses))
    expect(credentials).toBeGreaterThanOrEqual(0)
    expect(push).toBeGreaterThan(credentials)
    const inputs = steps[push].with ?? {}
    expect(inputs.secrets).toBe('${{ toJSON(secrets) }}')
    expect(inputs).toMatchObject({ environment: 'prod', service: 'payments-api', namespace: 'payments-api-prod' })
    // The tenant repository's layout is examples/'s: its overlay and base exist here.
    expect(existsSync(join('examples', String(inputs.definitions), 'kustomization.yaml'))).toBe(true)
    expect(existsSync(join('examples', String(inputs['definitions-base']), 'kustomization.yaml'))).toBe(true)
    expect(String(inputs.definitions)).toMatch(/overlays\/prod$/)
    expect(workflow.jobs?.[steps[push].job].environment).toBe('prod')
  })
})

describe('the reusable workflow', () => {
  const workflow = load(REUSABLE)
  const call = workflow.on?.workflow_call as { inputs: Record<string, { required?: boolean; type: string }>; outputs: Record<string, { value: string }> }
  const [[jobName, job]] = Object.entries(workflow.jobs ?? {})
  const steps = job.steps as Step[]
  const push = steps.find((step) => isThisAction(step.uses))!

  it('is called with workflow_call and takes the inputs tenants need', () => {
    expect(Object.keys(call.inputs)).toEqual(expect.arrayContaining(['environment', 'service', 'namespace', 'aws-role-arn', 'aws-region', 'cluster-name', 'definitions', 'dry-run']))
    expect(call.inputs['dry-run'].type).toBe('boolean')
    for (const input of ['environment', 'service', 'aws-role-arn', 'aws-region']) expect(call.inputs[input].required).toBe(true)
  })

  it('uses every input it declares', () => {
    const text = read(REUSABLE)
    expect(Object.keys(call.inputs).filter((input) => !text.includes(`inputs.${input} `) && !text.includes(`inputs.${input} }}`))).toEqual([])
  })

  it('has one job with minimal permissions and one run per service and environment at a time', () => {
    expect(Object.keys(workflow.jobs ?? {})).toHaveLength(1)
    expect(workflow.permissions).toEqual({})
    expect(job.permissions).toEqual({ contents: 'read', 'id-token': 'write' })
    expect(job.concurrency?.['cancel-in-progress']).toBe(false)
    expect(job.concurrency?.group).toContain('${{ inputs.service }}')
    expect(job.concurrency?.group).toContain('${{ inputs.environment }}')
    expect(job.environment).toContain('inputs.environment')
  })

  it('assumes the role by OIDC, reaches the cluster, then runs the action with toJSON(secrets)', () => {
    const order = steps.map((step) => (step.uses ?? step.run ?? '').split('@')[0].split(' ').slice(0, 3).join(' '))
    const credentials = order.indexOf('aws-actions/configure-aws-credentials')
    const cluster = steps.findIndex((step) => step.run?.includes('aws eks update-kubeconfig'))
    expect(credentials).toBeGreaterThanOrEqual(0)
    expect(cluster).toBeGreaterThan(credentials)
    expect(steps.indexOf(push)).toBeGreaterThan(cluster)
    expect(steps[credentials].with?.['role-to-assume']).toBe('${{ inputs.aws-role-arn }}')
    expect(push.with?.secrets).toBe('${{ toJSON(secrets) }}')
    expect(push.with).toMatchObject({
      environment: '${{ inputs.environment }}',
      service: '${{ inputs.service }}',
      namespace: '${{ inputs.namespace }}',
      definitions: '${{ inputs.definitions }}',
      'dry-run': '${{ inputs.dry-run }}'
    })
  })

  it("exposes the action's outputs, by their names", () => {
    for (const [output, { value }] of Object.entries(call.outputs)) {
      expect(Object.keys(action.outputs)).toContain(output)
      expect(value).toBe(`\${{ jobs.${jobName}.outputs.${output} }}`)
      expect(job.outputs?.[output]).toBe(`\${{ steps.${push.id}.outputs.${output} }}`)
    }
  })

  it('is called by examples/tenant-caller.yml with one job, secrets: inherit, declared inputs only and the permissions it needs', () => {
    const caller = load('examples/tenant-caller.yml')
    const jobs = Object.values(caller.jobs ?? {})
    expect(jobs).toHaveLength(1)
    const [callerJob] = jobs
    expect(isReusableCall(callerJob.uses)).toBe(true)
    expect(callerJob.secrets).toBe('inherit')
    const given = Object.keys(callerJob.with ?? {})
    expect(given.filter((input) => !(input in call.inputs))).toEqual([])
    const required = Object.entries(call.inputs)
      .filter(([, spec]) => spec.required)
      .map(([input]) => input)
    expect(required.filter((input) => !given.includes(input))).toEqual([])
    expect({ ...caller.permissions, ...callerJob.permissions }).toMatchObject({ contents: 'read', 'id-token': 'write' })
    expect(existsSync(join('examples', String(callerJob.with?.definitions), 'kustomization.yaml'))).toBe(true)
  })
})

describe("the project's workflows", () => {
  it.each(WORKFLOWS)('%s sets top-level permissions and puts no ${{ }} expression inside a run: script', (file) => {
    const workflow = load(file)
    expect(workflow).toHaveProperty('permissions')
    const runs = stepsOf(workflow).filter((step) => typeof step.run === 'string')
    // Untrusted text in an expression would be pasted into the script: pass values through env.
    expect(runs.filter((step) => step.run!.includes('${{')).map((step) => step.name ?? step.run)).toEqual([])
  })

  it('ci.yml: Node from .node-version, then npm ci, typecheck and npm test', () => {
    const steps = stepsOf(load('.github/workflows/ci.yml'))
    const node = steps.find((step) => step.uses?.startsWith('actions/setup-node@'))
    expect(node?.with?.['node-version-file']).toBe('.node-version')
    expect(read('.node-version').trim()).toBe('24')
    const commands = steps.map((step) => step.run?.trim()).filter(Boolean)
    const order = ['npm ci', 'npm run typecheck', 'npm test'].map((command) => commands.indexOf(command))
    expect(order.every((index) => index >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
  })

  it('check-dist.yml: rebuilds dist/ and fails on any difference', () => {
    const script = stepsOf(load('.github/workflows/check-dist.yml'))
      .map((step) => step.run ?? '')
      .join('\n')
    expect(script).toContain('npm ci')
    expect(script.indexOf('npm run build')).toBeGreaterThanOrEqual(0)
    expect(script.indexOf('git diff --exit-code')).toBeGreaterThan(script.indexOf('npm run build'))
    expect(script).toMatch(/git diff --exit-code[^\n]*dist\//)
  })

  it('e2e.yml: kind, the operator from its chart, LocalStack, the prod overlay, the action from ./, and the new value read back', () => {
    const workflow = load('.github/workflows/e2e.yml')
    const steps = stepsOf(workflow)
    const script = steps.map((step) => step.run ?? '').join('\n')
    expect(steps.some((step) => step.uses?.startsWith('helm/kind-action@'))).toBe(true)
    expect(script).toMatch(/helm install external-secrets external-secrets\/external-secrets/)
    expect(String(workflow.env?.LOCALSTACK_IMAGE)).toMatch(/^localstack\/localstack:\d+\.\d+\.\d+$/)
    expect(script).toContain('kind: ClusterSecretStore')
    expect(script).toContain('kubectl apply -k "$OVERLAY"')
    expect(existsSync(join(String(workflow.env?.OVERLAY), 'kustomization.yaml'))).toBe(true)
    const runs = steps.filter((step) => step.uses === './')
    expect(runs.length).toBeGreaterThanOrEqual(2)
    // After the release that changes values with force-sync, the Secret is read back and compared.
    const forced = steps.findIndex((step) => step.uses === './' && step.with?.namespace && !step.with?.['dry-run'])
    const readBack = steps.findIndex((step, index) => index > forced && /jsonpath=\{\.data\./.test(step.run ?? '') && (step.run ?? '').includes('_V2'))
    expect(forced).toBeGreaterThan(0)
    expect(readBack).toBeGreaterThan(forced)
  })
})

describe('e2e.yml: each check can fail', () => {
  const workflow = load('.github/workflows/e2e.yml')
  const steps = stepsOf(workflow)
  const at = (id: string): number => steps.findIndex((step) => step.id === id)
  const next = (id: string): Step => steps[at(id) + 1]
  const env = (step: Step): string => JSON.stringify(step.env ?? {})

  it('the node24 releases of kind-action and setup-helm (runs.using checked at the tag, see RELEASING.md)', () => {
    const verifiedNode24: Record<string, string> = {
      'helm/kind-action': 'ef37e7f390d99f746eb8b610417061a60e82a6cc # v1.14.0',
      'azure/setup-helm': '9bc31f4ebc9c6b171d7bfbaa5d006ae7abdb4310 # v5.0.1'
    }
    for (const { uses, comment } of usesLines(read('.github/workflows/e2e.yml'))) {
      const [name, ref] = uses.split('@')
      if (name in verifiedNode24) expect(`${ref} # ${comment}`).toBe(verifiedNode24[name])
    }
  })

  it('records every syncedResourceVersion before the force-synced release and checks the Secrets and the versions in the step directly after it', () => {
    const forced = at('second')
    expect(steps[forced].uses).toBe('./')
    expect(steps[forced - 1].run).toContain('.status.syncedResourceVersion')
    const check = next('second').run ?? ''
    expect(check).toContain('_V2')
    expect(check).toContain('syncedResourceVersion did not change')
    expect(check).toContain('before-second.json')
  })

  it('asserts the parameter type SecureString', () => {
    const script = steps.map((step) => step.run ?? '').join('\n')
    expect(script).toContain('--query Parameter.Type')
    expect(script).toMatch(/= SecureString \]/)
  })

  it('the dry run: state recorded right before it, compared right after, synced output []', () => {
    expect(steps[at('dry')].with?.['dry-run']).toBe(true)
    expect(steps[at('dry') - 1].run).toContain('before-dry.json')
    const check = next('dry')
    expect(env(check)).toContain('steps.dry.outputs.synced')
    expect(check.run).toContain(`[ "$SYNCED" = '[]' ]`)
    expect(check.run).toMatch(/cmp -s "\$RUNNER_TEMP\/before-dry.json" "\$RUNNER_TEMP\/after-dry.json"/)
  })

  it('negative control: operator scaled to 0, the action (continue-on-error, short timeout) must have failed, operator scaled back', () => {
    const withContinue = steps.filter((step) => step['continue-on-error'] === true)
    expect(withContinue.map((step) => step.id)).toEqual(['stopped'])
    const stopped = steps[at('stopped')]
    expect(stopped.uses).toBe('./')
    expect(stopped.with?.timeout).toBe('20s')
    expect(stopped.with?.namespace).toBeTruthy()
    expect(steps[at('stopped') - 1].run).toContain('kubectl scale deploy -n external-secrets external-secrets --replicas=0')
    const check = next('stopped')
    expect(check.if).toBeUndefined()
    expect(env(check)).toContain('steps.stopped.outcome')
    expect(check.run).toContain('[ "$OUTCOME" = failure ]')
    const script = check.run ?? ''
    expect(script.indexOf('--replicas=1')).toBeGreaterThan(script.indexOf('"$OUTCOME" = failure'))
    expect(script).toContain('kubectl rollout status deploy -n external-secrets external-secrets')
    // The check must not end before the scale back: failures are collected, then exit "$status".
    expect(script.trim().endsWith('exit "$status"')).toBe(true)
  })

  it('restart: changed, then the running pods are read in the step directly after', () => {
    const restart = steps[at('restart')]
    expect(restart.with).toMatchObject({ restart: 'changed' })
    expect(steps[at('restart') - 1].run).toMatch(/image: busybox[\s\S]*envFrom/)
    const check = next('restart')
    expect(check.run).toContain('printenv STRIPE_API_KEY')
    expect(check.run).toContain('deletionTimestamp == null')
    expect(env(check)).toContain('steps.restart.outputs.restarted')
  })

  it('the gate: a delayed background apply before the action, the new key checked in the step directly after', () => {
    const gate = steps[at('gate')]
    expect(gate.with?.definitions).toBe('e2e-gate')
    expect(gate.with?.['wait-for-definitions']).toBeUndefined() // the default, true
    const schedule = steps[at('gate') - 1].run ?? ''
    expect(schedule).toMatch(/nohup sh -c 'sleep \d+ && kubectl kustomize e2e-gate \| kubectl apply/)
    expect(schedule.trim().endsWith('&')).toBe(true)
    const check = next('gate').run ?? ''
    expect(check).toContain('STRIPE_PUBLISHABLE_KEY')
    expect(check).toContain('[[ "$annotated" > "$applied" ]]')
  })
})

describe('the reusable workflow runs its own release (scripts/release-check.ts)', () => {
  const text = read(REUSABLE)
  const { version } = JSON.parse(read('package.json')) as { version: string }
  const sha = 'de0fac2e4500dabe0009e67214ff5f5447ce83dd'

  it('uses the action once, at the version in package.json', () => {
    expect(actionReferences(text).map(({ ref }) => ref)).toEqual([`v${version}`])
    expect(releaseProblems(text, version)).toEqual([])
  })

  it('refuses a moving tag, another version, and a SHA without the version comment', () => {
    const withRef = (ref: string) => text.replace(`zerotouch/secrets-action@v${version}`, `zerotouch/secrets-action@${ref}`)
    expect(releaseProblems(withRef('v1'), version)).toHaveLength(1)
    expect(releaseProblems(withRef('v9.9.9'), version)).toHaveLength(1)
    expect(releaseProblems(withRef(sha), version)).toHaveLength(1)
    expect(releaseProblems(withRef(`${sha} # v${version}`), version)).toEqual([])
    expect(releaseProblems(withRef(`${sha} # v9.9.9`), version)).toHaveLength(1)
  })

  it('a release commit must name exactly its release, and package.json must say it', () => {
    expect(releaseProblems(text, version, `v${version}`)).toEqual([])
    expect(releaseProblems(text, version, 'v9.9.9').join('\n')).toMatch(/package\.json says[\s\S]*must use zerotouch\/secrets-action@v9\.9\.9/)
    const pinned = pinReusableWorkflow(text, '9.9.9')
    expect(releaseProblems(pinned, '9.9.9', 'v9.9.9')).toEqual([])
    // A SHA is fine between releases, not in the release commit.
    expect(releaseProblems(text.replace(`@v${version}`, `@${sha} # v${version}`), version, `v${version}`)).toHaveLength(1)
  })

  it('--set changes only the reference', () => {
    const pinned = pinReusableWorkflow(text, '9.9.9')
    expect(pinned.split('\n').filter((line, index) => line !== text.split('\n')[index])).toEqual([`        uses: zerotouch/secrets-action@v9.9.9`])
    expect(parse(pinned)).toEqual(parse(text.replace(`@v${version}`, '@v9.9.9')))
  })

  it('knows a release from --release or a v*.*.* tag push, and nothing else', () => {
    expect(releaseTag(['--release', 'v1.2.3'], {})).toBe('v1.2.3')
    expect(releaseTag([], { GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'v1.2.3' })).toBe('v1.2.3')
    expect(releaseTag([], { GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'v1' })).toBeUndefined()
    expect(releaseTag([], { GITHUB_REF_TYPE: 'branch', GITHUB_REF_NAME: 'main' })).toBeUndefined()
  })

  it('ci.yml runs the check before the tests, also on v*.*.* tags', () => {
    const ci = load('.github/workflows/ci.yml')
    expect((ci.on?.push as { tags?: string[] }).tags).toEqual(['v*.*.*'])
    const commands = stepsOf(ci).map((step) => step.run?.trim())
    expect(commands.indexOf('node scripts/release-check.ts')).toBeGreaterThanOrEqual(0)
    expect(commands.indexOf('node scripts/release-check.ts')).toBeLessThan(commands.indexOf('npm test'))
  })
})
