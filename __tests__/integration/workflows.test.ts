import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAlias, parse, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml'
import {
  FIRST_PARTY,
  filesToValidate,
  isKnownNode24Error,
  isThirdParty,
  pinConsistencyProblems,
  pinningProblems,
  runValidator,
  usesLines,
  usesValues,
  validateFile,
  withRunsUsing
} from '../../scripts/validate-workflows.ts'
import { actionReferences, pinReusableWorkflow, releaseProblems, releaseTag } from '../../scripts/release-check.ts'
import { describeVersion } from '../../src/history/provenance.js'

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
  readonly if?: string
  readonly name?: string
  readonly needs?: unknown
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
const action = load<{
  inputs: Record<string, { required?: boolean }>
  outputs: Record<string, unknown>
  runs: { using: string }
}>('action.yml')

const declaredInputs = new Set(Object.keys(action.inputs))

const stepsOf = (workflow: Workflow): Array<Step & { job: string }> =>
  Object.entries(workflow.jobs ?? {}).flatMap(([job, spec]) => (spec.steps ?? []).map((step) => ({ ...step, job })))
const isThisAction = (uses: string | undefined): boolean =>
  uses === './' || Boolean(uses?.toLowerCase().startsWith(`${FIRST_PARTY}@`))
const REUSABLE = '.github/workflows/zerotouch-secrets.yml'
/** The reusable workflow's job for this repository's own CI (the action of the commit, not the release). */
const FROM_CHECKOUT = 'from-checkout'
const isReusableCall = (uses: unknown): boolean =>
  typeof uses === 'string' && (uses === `./${REUSABLE}` || uses.toLowerCase().startsWith(`${FIRST_PARTY}/${REUSABLE}@`))

it('finds action.yml and the workflow files to check', () => {
  expect(FILES).toEqual(
    expect.arrayContaining([
      'action.yml',
      '.github/workflows/ci.yml',
      '.github/workflows/check-dist.yml',
      '.github/workflows/e2e.yml',
      REUSABLE,
      'examples/release-pipeline.yml',
      'examples/restore-caller.yml',
      'examples/standby-cluster.yml',
      'examples/tenant-caller.yml',
      'examples/drift-check.yml'
    ])
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
      writeFileSync(
        join(dir, 'broken.yml'),
        'name: broken\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    permission:\n      contents: read\n    steps:\n      - run: echo\n'
      )
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
    expect(parse(withRunsUsing(text, 'node20'))).toEqual({
      ...(parse(text) as object),
      runs: { ...action.runs, using: 'node20' }
    })
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
    expect([...thirdParty]).toEqual(
      expect.arrayContaining([
        'actions/checkout',
        'actions/setup-node',
        'aws-actions/configure-aws-credentials',
        'azure/setup-helm',
        'helm/kind-action'
      ])
    )
  })

  it('refuses tags, branches, short SHAs, missing comments and images without digest; allows local and first-party', () => {
    const sha = 'de0fac2e4500dabe0009e67214ff5f5447ce83dd'
    const workflow = (uses: string) => `jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ${uses}\n`
    expect(pinningProblems('w.yml', workflow(`actions/checkout@${sha} # v6.0.2`))).toEqual([])
    expect(pinningProblems('w.yml', workflow('./'))).toEqual([])
    expect(pinningProblems('w.yml', workflow(`${FIRST_PARTY}@v1`))).toEqual([])
    expect(pinningProblems('w.yml', workflow('actions/checkout@v6'))).toEqual([
      'w.yml:5: actions/checkout@v6 is not pinned to a full 40-hex commit SHA'
    ])
    expect(pinningProblems('w.yml', workflow('actions/checkout@main'))).toHaveLength(1)
    expect(pinningProblems('w.yml', workflow(`actions/checkout@${sha.slice(0, 7)} # v6.0.2`))).toHaveLength(1)
    expect(pinningProblems('w.yml', workflow(`actions/checkout@${sha}`))).toEqual([
      `w.yml:5: actions/checkout@${sha} has no version comment (# vX.Y.Z)`
    ])
    expect(pinningProblems('w.yml', workflow('docker://alpine:3.20'))).toHaveLength(1)
    expect(pinningProblems('w.yml', `jobs:\n  a:\n    uses: other/repo/.github/workflows/x.yml@main\n`)).toHaveLength(1)
    // A uses: the line scan cannot see (here: a flow mapping) is reported, not skipped.
    expect(
      pinningProblems('w.yml', `jobs:\n  a:\n    runs-on: x\n    steps: [{uses: actions/checkout@v6}]\n`)
    ).toHaveLength(1)
  })

  it('counts a uses: repeated by a YAML alias once, as the line scan sees it; reports an alias as a uses: value', () => {
    const sha = 'de0fac2e4500dabe0009e67214ff5f5447ce83dd'
    const anchored = `jobs:\n  a:\n    runs-on: x\n    steps:\n      - &checkout\n        uses: actions/checkout@${sha} # v6.0.2\n  b:\n    runs-on: x\n    steps:\n      - *checkout\n`
    expect(usesValues(anchored)).toEqual([`actions/checkout@${sha}`])
    expect(pinningProblems('w.yml', anchored)).toEqual([])
    expect(
      pinningProblems(
        'w.yml',
        `x: &ref actions/checkout@v6\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: *ref\n`
      )
    ).not.toEqual([])
  })

  it('reports one action pinned to two commits', () => {
    const a = {
      file: 'a.yml',
      text: '      - uses: actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2\n'
    }
    const b = {
      file: 'b.yml',
      text: '      - uses: actions/checkout@08eba0b27e820071cde6df949e0beb9ba4906955 # v4.3.0\n'
    }
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
    expect([...new Set(uses.map(({ file }) => file))]).toEqual(
      expect.arrayContaining(['examples/release-pipeline.yml', REUSABLE, '.github/workflows/e2e.yml'])
    )
  })

  it.each(uses.map(({ file, step }) => [`${file}: ${step.name ?? step.uses}`, step] as const))(
    '%s: only inputs of action.yml, every required one',
    (_, step) => {
      const given = Object.keys(step.with ?? {})
      expect(given.filter((input) => !declaredInputs.has(input))).toEqual([])
      const required = Object.entries(action.inputs)
        .filter(([, spec]) => spec.required)
        .map(([input]) => input)
      expect(required.filter((input) => !given.includes(input))).toEqual([])
    }
  )

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
  const call = workflow.on?.workflow_call as {
    inputs: Record<string, { required?: boolean; type: string; default?: unknown }>
    outputs: Record<string, { value: string }>
  }
  const jobs = workflow.jobs ?? {}
  /** The job every caller runs, with the release; the job this repository's CI runs, with ./ */
  const { secrets: job, [FROM_CHECKOUT]: fromCheckout } = jobs
  const steps = job.steps as Step[]
  const push = steps.find((step) => isThisAction(step.uses))!
  const local = (fromCheckout.steps ?? []).find((step) => step.uses === './')!
  /** Inputs the steps around the action use; every other input goes to the action under its own name. */
  const AROUND_THE_ACTION: Record<string, (job: Job) => unknown> = {
    'aws-role-arn': (spec) =>
      spec.steps?.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'))?.with?.[
        'role-to-assume'
      ],
    'cluster-name': (spec) =>
      spec.steps?.find((step) => step.run?.includes('aws eks update-kubeconfig'))?.env?.CLUSTER_NAME,
    'github-environment': (spec) => spec.environment
  }

  it('is called with workflow_call and takes the inputs tenants need', () => {
    expect(Object.keys(call.inputs)).toEqual(
      expect.arrayContaining([
        'environment',
        'service',
        'namespace',
        'aws-role-arn',
        'aws-region',
        'cluster-name',
        'definitions',
        'dry-run',
        'restart',
        'restore-to',
        'prune',
        'replica-regions'
      ])
    )
    expect(call.inputs['dry-run'].type).toBe('boolean')
    expect(call.inputs.prune.type).toBe('boolean')
    for (const input of ['environment', 'service', 'aws-region']) expect(call.inputs[input].required).toBe(true)
    // Optional so that this repository's CI can call it with no AWS role (the OIDC step is then skipped).
    expect(call.inputs['aws-role-arn']).toMatchObject({ type: 'string', default: '' })
    expect(call.inputs['aws-role-arn'].required).toBeFalsy()
  })

  it('uses every input it declares', () => {
    const text = read(REUSABLE)
    expect(
      Object.keys(call.inputs).filter(
        (input) => !text.includes(`inputs.${input} `) && !text.includes(`inputs.${input} }}`)
      )
    ).toEqual([])
  })

  it('passes every input to the action under its own name, except those the steps around it use', () => {
    const toAction = Object.keys(call.inputs).filter((input) => !(input in AROUND_THE_ACTION))
    expect(toAction.filter((input) => push.with?.[input] !== `\${{ inputs.${input} }}`)).toEqual([])
    for (const [input, usedBy] of Object.entries(AROUND_THE_ACTION))
      expect(String(usedBy(job))).toContain(`inputs.${input}`)
    // Nothing else reaches the action: each of its inputs is one of the workflow's, or the secrets.
    expect(Object.keys(push.with ?? {}).filter((input) => input !== 'secrets' && !toAction.includes(input))).toEqual([])
    expect(Object.keys(push.with ?? {}).filter((input) => !declaredInputs.has(input))).toEqual([])
  })

  it('passes toJSON(secrets) to the action, and no secrets at all with restore-to (the action refuses both)', () => {
    expect(push.with?.secrets).toBe("${{ inputs.restore-to == '' && toJSON(secrets) || '' }}")
    expect(push.with?.['restore-to']).toBe('${{ inputs.restore-to }}')
  })

  it('has two jobs with the same minimal permissions and one run per service and environment at a time', () => {
    expect(Object.keys(jobs).sort()).toEqual([FROM_CHECKOUT, 'secrets'].sort())
    expect(workflow.permissions).toEqual({})
    for (const spec of [job, fromCheckout]) {
      expect(spec.permissions).toEqual({ contents: 'read', 'id-token': 'write' })
      expect(spec.concurrency?.['cancel-in-progress']).toBe(false)
      expect(spec.concurrency?.group).toContain('${{ inputs.service }}')
      expect(spec.concurrency?.group).toContain('${{ inputs.environment }}')
      expect(spec.environment).toBe('${{ inputs.github-environment || inputs.environment }}')
    }
  })

  it('assumes the role by OIDC when one is given, reaches the cluster when named, then runs the action', () => {
    const credentials = steps.findIndex((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'))
    const cluster = steps.findIndex((step) => step.run?.includes('aws eks update-kubeconfig'))
    expect(credentials).toBeGreaterThanOrEqual(0)
    expect(cluster).toBeGreaterThan(credentials)
    expect(steps.indexOf(push)).toBeGreaterThan(cluster)
    expect(steps[credentials].with?.['role-to-assume']).toBe('${{ inputs.aws-role-arn }}')
    expect(steps[credentials].if).toBe("inputs.aws-role-arn != ''")
    expect(steps[cluster].if).toBe("inputs.cluster-name != ''")
  })

  it('exposes every output of the action, by its name, from whichever job ran', () => {
    expect(Object.keys(call.outputs).sort()).toEqual(Object.keys(action.outputs).sort())
    for (const [output, { value }] of Object.entries(call.outputs)) {
      expect(value).toBe(`\${{ jobs.secrets.outputs.${output} || jobs.${FROM_CHECKOUT}.outputs.${output} }}`)
      expect(job.outputs?.[output]).toBe(`\${{ steps.${push.id}.outputs.${output} }}`)
    }
    expect(fromCheckout.outputs).toEqual(job.outputs)
    expect(local.id).toBe(push.id)
  })

  describe('exactly one of its two jobs runs', () => {
    it("callers get the job with the release; this repository's own CI gets the one with the action of its commit", () => {
      // Complementary conditions on the caller's repository (github.* is the caller's context).
      expect(job.if).toBe(`github.repository != '${FIRST_PARTY}'`)
      expect(fromCheckout.if).toBe(`github.repository == '${FIRST_PARTY}'`)
      // A caller's ./ is the caller's own repository: never in the callers' job. And no release in
      // from-checkout: the runner downloads a skipped step's action too, and the release the file
      // names may not be published yet (see the comment at the top of the workflow).
      expect((job.steps ?? []).filter((step) => step.uses?.startsWith('./'))).toEqual([])
      expect(isThisAction(push.uses) && push.uses !== './').toBe(true)
      expect((fromCheckout.steps ?? []).filter((step) => step.uses?.toLowerCase().startsWith(FIRST_PARTY))).toEqual([])
    })

    it('the two jobs are the same but for if, name and the action reference', () => {
      const comparable = (spec: Job & { if?: unknown; name?: unknown }) => {
        const { if: _if, name: _name, ...rest } = spec
        return {
          ...rest,
          steps: (rest.steps ?? []).map((step) => (isThisAction(step.uses) ? { ...step, uses: 'the action' } : step))
        }
      }
      expect(comparable(fromCheckout)).toEqual(comparable(job))
    })

    it('from-checkout is written as aliases of the first job (YAML anchors), so the two cannot drift apart', () => {
      const document = parseDocument(read(REUSABLE))
      const second = document.getIn(['jobs', FROM_CHECKOUT]) as YAMLMap
      for (const key of ['environment', 'permissions', 'concurrency', 'outputs'])
        expect(isAlias(second.get(key, true))).toBe(true)
      const items = (second.get('steps') as YAMLSeq).items
      expect(items.slice(0, -1).every(isAlias)).toBe(true)
      const last = items.at(-1) as YAMLMap
      expect(last.get('uses')).toBe('./')
      expect(isAlias(last.get('with', true))).toBe(true)
    })
  })

  const callers = ['examples/tenant-caller.yml', 'examples/restore-caller.yml']
  it.each(callers)(
    'is called by %s with one job, declared inputs only, every required one and the permissions it needs',
    (file) => {
      const caller = load(file)
      const callerJobs = Object.values(caller.jobs ?? {})
      expect(callerJobs).toHaveLength(1)
      const [callerJob] = callerJobs
      expect(isReusableCall(callerJob.uses)).toBe(true)
      const given = Object.keys(callerJob.with ?? {})
      expect(given.filter((input) => !(input in call.inputs))).toEqual([])
      const required = Object.entries(call.inputs)
        .filter(([, spec]) => spec.required)
        .map(([input]) => input)
      expect(required.filter((input) => !given.includes(input))).toEqual([])
      expect({ ...caller.permissions, ...callerJob.permissions }).toMatchObject({
        contents: 'read',
        'id-token': 'write'
      })
      expect(callerJob.with?.['aws-role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\//)
    }
  )

  it('examples/tenant-caller.yml pushes: secrets: inherit, and definitions that exist', () => {
    const [callerJob] = Object.values(load('examples/tenant-caller.yml').jobs ?? {})
    expect(callerJob.secrets).toBe('inherit')
    expect(callerJob.with?.['restore-to']).toBeUndefined()
    expect(existsSync(join('examples', String(callerJob.with?.definitions), 'kustomization.yaml'))).toBe(true)
  })

  it('examples/drift-check.yml checks hourly: mode check with declared inputs, a read-only role, the secrets to compare, and an alert when it fails', () => {
    const caller = load('examples/drift-check.yml')
    const schedule = caller.on?.schedule as Array<{ cron: string }>
    expect(schedule).toHaveLength(1)
    // Minute fixed, every hour of every day.
    expect(schedule[0].cron).toMatch(/^\d{1,2} \* \* \* \*$/)
    const { drift, alert } = caller.jobs ?? {}
    expect(isReusableCall(drift.uses)).toBe(true)
    expect(drift.with?.mode).toBe('check')
    expect(call.inputs.mode).toMatchObject({ type: 'string', default: 'release' })
    expect(call.inputs['fail-on-drift']).toMatchObject({ type: 'boolean', default: true })
    expect(Object.keys(drift.with ?? {}).filter((input) => !(input in call.inputs))).toEqual([])
    const required = Object.entries(call.inputs)
      .filter(([, spec]) => spec.required)
      .map(([input]) => input)
    expect(required.filter((input) => !(input in (drift.with ?? {})))).toEqual([])
    expect(drift.with?.['aws-role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\/.*check/)
    expect(drift.secrets).toBe('inherit')
    expect(caller.permissions).toEqual({ contents: 'read', 'id-token': 'write' })
    // The alert: only when the check failed, with its findings (names, never values) and the run's URL.
    expect(alert.needs).toBe('drift')
    expect(alert.if).toBe('failure()')
    const [post] = alert.steps ?? []
    expect(post.env?.DRIFT).toBe('${{ needs.drift.outputs.drift }}')
    expect(post.run).toContain('$RUN_URL')
    // A check never queues in (nor replaces a release pending in) the release's concurrency group.
    expect(job.concurrency?.group).toContain("${{ inputs.mode == 'check' && '-check' || '' }}")
  })

  it('examples/restore-caller.yml restores: by hand, to a point it is given, a dry run unless told otherwise, and inherits no secrets (a restore pushes none)', () => {
    const caller = load('examples/restore-caller.yml')
    const dispatch = caller.on?.workflow_dispatch as {
      inputs: Record<string, { required?: boolean; type: string; default?: unknown }>
    }
    expect(Object.keys(caller.on ?? {})).toEqual(['workflow_dispatch'])
    expect(dispatch.inputs['restore-to']).toMatchObject({ type: 'string', required: true })
    expect(dispatch.inputs['dry-run']).toMatchObject({ type: 'boolean', default: true })
    const [callerJob] = Object.values(caller.jobs ?? {})
    expect(callerJob.with).toMatchObject({
      'restore-to': '${{ inputs.restore-to }}',
      'dry-run': '${{ inputs.dry-run }}',
      prune: '${{ inputs.prune }}'
    })
    expect(callerJob.secrets).toBeUndefined()
  })

  describe('examples/standby-cluster.yml: a standby cluster in a replica region, synced by a job that pushes nothing', () => {
    const file = 'examples/standby-cluster.yml'
    const { secrets: release, standby } = load(file).jobs ?? {}
    const standbySteps = standby.steps ?? []
    const sync = standbySteps.find((step) => isThisAction(step.uses))!
    const given = release.with?.['replica-regions']
    const replicas = (typeof given === 'string' ? given : '').split(/[\s,]+/).filter(Boolean)

    it('pushes with the reusable workflow, to the primary and the replica regions, with declared inputs only', () => {
      expect(isReusableCall(release.uses)).toBe(true)
      expect(release.secrets).toBe('inherit')
      expect(Object.keys(release.with ?? {}).filter((input) => !(input in call.inputs))).toEqual([])
      expect(replicas.length).toBeGreaterThan(0)
      expect(replicas).not.toContain(release.with?.['aws-region'])
    })

    it('then syncs the standby cluster in its own region: after the push, no secrets, the same service and namespace', () => {
      expect([standby.needs].flat()).toEqual(['secrets'])
      expect(sync.with?.secrets).toBeUndefined()
      expect(sync.with?.['replica-regions']).toBeUndefined()
      expect(sync.with?.['restore-to']).toBeUndefined()
      expect(replicas).toContain(sync.with?.['aws-region'])
      for (const input of ['environment', 'service', 'namespace', 'definitions'])
        expect([input, sync.with?.[input]]).toEqual([input, release.with?.[input]])
      expect(existsSync(join('examples', String(sync.with?.definitions), 'kustomization.yaml'))).toBe(true)
    })

    it("reaches the standby's region and cluster, not the primary's, before the action, from a checkout", () => {
      const at = (found: (step: Step) => boolean): number => standbySteps.findIndex(found)
      const checkout = at((step) => Boolean(step.uses?.startsWith('actions/checkout@')))
      const credentials = at((step) => Boolean(step.uses?.startsWith('aws-actions/configure-aws-credentials@')))
      const cluster = at((step) => Boolean(step.run?.includes('aws eks update-kubeconfig')))
      expect(checkout).toBe(0)
      expect(credentials).toBeGreaterThan(checkout)
      expect(cluster).toBeGreaterThan(credentials)
      expect(standbySteps.indexOf(sync)).toBeGreaterThan(cluster)
      expect(standbySteps[credentials].with?.['aws-region']).toBe(sync.with?.['aws-region'])
      expect(standbySteps[credentials].with?.['role-to-assume']).toBe(release.with?.['aws-role-arn'])
      const [, name, region] = /--name (\S+) --region (\S+)/.exec(standbySteps[cluster].run ?? '') ?? []
      expect(region).toBe(sync.with?.['aws-region'])
      expect(name).toBeDefined()
      expect(name).not.toBe(release.with?.['cluster-name'])
      expect(standby.concurrency?.['cancel-in-progress']).toBe(false)
    })
  })
})

describe('ci.yml calls the reusable workflow from this commit (a dry run, no AWS)', () => {
  const ci = load('.github/workflows/ci.yml')
  const call = load(REUSABLE).on?.workflow_call as {
    inputs: Record<string, { required?: boolean }>
    outputs: Record<string, unknown>
  }
  const reusable = load(REUSABLE).jobs ?? {}
  const [callerName, caller] = Object.entries(ci.jobs ?? {}).find(([, job]) => job.uses === `./${REUSABLE}`) ?? []

  it('a job calls ./.github/workflows/zerotouch-secrets.yml with dry-run, declared inputs only, every required one', () => {
    expect(caller).toBeDefined()
    const given = Object.keys(caller?.with ?? {})
    expect(given.filter((input) => !(input in call.inputs))).toEqual([])
    const required = Object.entries(call.inputs)
      .filter(([, spec]) => spec.required)
      .map(([input]) => input)
    expect(required.filter((input) => !given.includes(input))).toEqual([])
    expect(caller?.with?.['dry-run']).toBe(true)
  })

  it('grants exactly what the called job asks for, and passes no secrets, no AWS role and nothing that needs AWS or a cluster', () => {
    expect(caller?.permissions).toEqual(reusable.secrets.permissions)
    expect(caller?.secrets).toBeUndefined()
    for (const input of ['aws-role-arn', 'cluster-name', 'namespace', 'definitions', 'definitions-base', 'restore-to'])
      expect(caller?.with?.[input]).toBeUndefined()
  })

  it('runs in a concurrency group of its own (the service name holds the run id), so runs of other branches never queue behind it', () => {
    expect(String(caller?.with?.service)).toContain('${{ github.run_id }}')
  })

  it('in this repository the called workflow runs its from-checkout job, the action of this commit', () => {
    expect(reusable[FROM_CHECKOUT].if).toBe(`github.repository == '${FIRST_PARTY}'`)
    expect(reusable[FROM_CHECKOUT].steps?.some((step) => step.uses === './')).toBe(true)
  })

  it('a job after it checks every output of the reusable workflow, by name', () => {
    const [check] = Object.values(ci.jobs ?? {}).filter((job) => job.needs === callerName)
    expect(check).toBeDefined()
    const [step] = check.steps ?? []
    const env = step.env ?? {}
    for (const output of Object.keys(call.outputs)) {
      const variable = Object.keys(env).find((name) => env[name] === `\${{ needs.${callerName}.outputs.${output} }}`)
      expect([output, variable]).toEqual([output, expect.any(String)])
      expect(step.run).toContain(`expect ${output} "$${variable}" `)
    }
    expect(step.run?.trim().endsWith('exit "$status"')).toBe(true)
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
    const readBack = steps.findIndex(
      (step, index) => index > forced && /jsonpath=\{\.data\./.test(step.run ?? '') && (step.run ?? '').includes('_V2')
    )
    expect(forced).toBeGreaterThan(0)
    expect(readBack).toBeGreaterThan(forced)
  })
})

describe('e2e.yml: each check can fail', () => {
  const text = read('.github/workflows/e2e.yml')
  const workflow = load('.github/workflows/e2e.yml')
  const steps = stepsOf(workflow)
  const at = (id: string): number => steps.findIndex((step) => step.id === id)
  const next = (id: string): Step => steps[at(id) + 1]
  const env = (step: Step): string => JSON.stringify(step.env ?? {})
  const actionRuns = steps.filter((step) => step.uses === './')

  it('checks every run of the action in the step directly after it, with the reasoning written above that step', () => {
    expect(actionRuns.length).toBeGreaterThanOrEqual(9)
    const lines = text.split('\n')
    for (const run of actionRuns) {
      expect(run.id).toEqual(expect.any(String))
      const check = next(run.id!)
      expect([run.id, check.uses, typeof check.run]).toEqual([run.id, undefined, 'string'])
      // What it checks is this run's: its outputs, or the cluster it just synced.
      expect([
        run.id,
        env(check).includes(`steps.${run.id}.`) || (Boolean(run.with?.namespace) && check.run!.includes('kubectl'))
      ]).toEqual([run.id, true])
      const named = lines.flatMap((line, index) => (line === `      - name: ${check.name}` ? [index] : []))
      expect([check.name, named.length]).toEqual([check.name, 1])
      expect([check.name, lines[named[0] - 1].trim().startsWith('#')]).toEqual([check.name, true])
    }
  })

  it('PROVENANCE is what the action records in a version it writes, for this run (src/history/provenance.ts)', () => {
    const run = {
      serverUrl: 'https://github.example',
      owner: 'octo',
      repo: 'secrets',
      sha: 'f'.repeat(40),
      workflow: 'e2e',
      runId: 123,
      runAttempt: 2
    }
    const values: Record<string, string> = {
      repository: 'octo/secrets',
      sha: run.sha,
      workflow: run.workflow,
      run_id: '123',
      run_attempt: '2',
      server_url: run.serverUrl
    }
    const evaluated = String(workflow.env?.PROVENANCE).replace(
      /\$\{\{ github\.(\w+) \}\}/g,
      (_, name: string) => values[name]
    )
    expect(evaluated).toBe(describeVersion({ kind: 'workflow', run }))
    expect(describeVersion({ kind: 'workflow', run }, { version: 2, asOf: Date.UTC(2026, 10, 30, 12) })).toMatch(
      /^restored from version 2 \(as of [^)]+\); zerotouch-secrets: /
    )
  })

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

  it('asserts the parameter type SecureString, every version after the second release, and the run recorded in the version written', () => {
    const check = steps[at('second') + 2].run ?? ''
    expect(check).toContain('--query Parameter.Type')
    expect(check).toMatch(/= SecureString \]/)
    expect(check).toContain(`[ "$versions" = '2 1 2 1' ]`)
    expect(check).toContain('[ "$description" = "$PROVENANCE" ]')
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
    expect(withContinue.map((step) => step.id)).toEqual(['stopped', 'paused'])
    const stopped = steps[at('stopped')]
    expect(stopped.uses).toBe('./')
    expect(stopped.with?.timeout).toBe('20s')
    expect(stopped.with?.namespace).toBeTruthy()
    expect(steps[at('stopped') - 1].run).toContain(
      'kubectl scale deploy -n external-secrets external-secrets --replicas=0'
    )
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

  it('restart: the rollout is slow (minReadySeconds, maxUnavailable 0), so old pods still run if the action returns early', () => {
    const manifest = steps[at('restart') - 1].run ?? ''
    expect(Number(/minReadySeconds: (\d+)/.exec(manifest)?.[1])).toBeGreaterThanOrEqual(10)
    expect(manifest).toContain('maxUnavailable: 0')
  })

  it('a re-run converges: the reader paused, a release fails (continue-on-error, outcome failure), resumed, the same release re-run restarts it and its pods hold the new key', () => {
    expect(steps[at('paused') - 1].run).toContain('kubectl -n "$NAMESPACE" rollout pause deploy/secret-reader')
    const paused = steps[at('paused')]
    expect(paused['continue-on-error']).toBe(true)
    expect(paused.with).toMatchObject({ restart: 'changed' })
    const check = next('paused')
    expect(env(check)).toContain('steps.paused.outcome')
    expect(check.run).toContain('[ "$OUTCOME" = failure ]')
    const script = check.run ?? ''
    expect(script.indexOf('rollout resume deploy/secret-reader')).toBeGreaterThan(
      script.indexOf('"$OUTCOME" = failure')
    )
    const rerun = steps[at('rerun')]
    expect(at('rerun')).toBe(at('paused') + 2)
    expect(rerun.with).toEqual(paused.with)
    expect(rerun['continue-on-error']).toBeUndefined()
    const after = next('rerun')
    expect(env(after)).toContain('steps.rerun.outputs.restarted')
    expect(env(after)).toContain('steps.rerun.outputs.changed')
    expect(after.run).toContain('[ "$CHANGED" = false ]')
    expect(after.run).toContain('printenv STRIPE_API_KEY')
    expect(after.run).toContain('deletionTimestamp == null')
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

describe('e2e.yml: restore-to', () => {
  const workflow = load('.github/workflows/e2e.yml')
  const steps = stepsOf(workflow)
  const at = (id: string): number => steps.findIndex((step) => step.id === id)
  const point = steps.findIndex((step) => step.run?.includes('RESTORE_POINT='))
  /** The env variable a release step gives DATABASE_URL, e.g. DATABASE_URL_V2. */
  const databaseUrl = (step: Step): string | undefined =>
    /DATABASE_URL: \$\{\{ toJSON\(env\.(\w+)\) \}\}/.exec(
      typeof step.with?.secrets === 'string' ? step.with.secrets : ''
    )?.[1]
  const writes = steps.filter(
    (step) => step.uses === './' && !step.with?.['dry-run'] && step['continue-on-error'] !== true && databaseUrl(step)
  )
  const restore = steps[at('restore')]

  it('records the point with whole seconds, with a pause on either side, between two releases', () => {
    expect(point).toBeGreaterThan(0)
    expect((steps[point].run ?? '').trim()).toMatch(
      /^sleep [1-9]\n[\s\S]*date -u \+%Y-%m-%dT%H:%M:%SZ[\s\S]*\nsleep [1-9]$/
    )
    expect(writes.some((step) => steps.indexOf(step) < point)).toBe(true)
    expect(at('sixth')).toBeGreaterThan(point)
    expect(at('restore')).toBeGreaterThan(at('sixth'))
  })

  it('restores by that time, without secrets, with force-sync', () => {
    expect(restore.uses).toBe('./')
    expect(restore.with?.['restore-to']).toBe('${{ env.RESTORE_POINT }}')
    expect(restore.with?.secrets).toBeUndefined()
    expect(restore.with?.namespace).toBeTruthy()
  })

  it('the value to undo is confirmed in the Secret before; the value at the point, and its version, right after', () => {
    const before = writes.filter((step) => steps.indexOf(step) < point).map(databaseUrl)
    const after = databaseUrl(steps[at('sixth')])
    expect(after).toBeDefined()
    expect(before).not.toContain(after)
    // SSM versions of database_url: one per change of value, then the sixth release's, then the restore's.
    const version = before.filter((name, index) => name !== before[index - 1]).length
    expect(steps[at('restore') - 1].run).toContain(`"$${after}"`)
    expect(steps[at('restore') - 1].run).toContain(`[ "$version" = ${version + 1} ]`)
    const check = steps[at('restore') + 1].run ?? ''
    expect(check).toContain(`[ "$value" = "$${before.at(-1)}" ]`)
    expect(check).toContain(`restored from version ${version} (as of `)
    expect(check).toContain('$PROVENANCE')
    expect(check).toContain(`= ${version + 2} ]`)
    expect(check).toContain(`(.database_url | tostring) == "${version + 2}"`)
  })
})

describe('the reusable workflow runs its own release (scripts/release-check.ts)', () => {
  const text = read(REUSABLE)
  const { version } = JSON.parse(read('package.json')) as { version: string }
  const sha = 'de0fac2e4500dabe0009e67214ff5f5447ce83dd'

  it("uses the action once, at the version in package.json, in the callers' job", () => {
    expect(actionReferences(text).map(({ ref }) => ref)).toEqual([`v${version}`])
    expect(releaseProblems(text, version)).toEqual([])
    expect((load(REUSABLE).jobs?.secrets.steps ?? []).map((step) => step.uses)).toContain(`${FIRST_PARTY}@v${version}`)
  })

  it('refuses a moving tag, another version, and a SHA without the version comment', () => {
    const withRef = (ref: string) =>
      text.replace(`zerotouch/secrets-action@v${version}`, `zerotouch/secrets-action@${ref}`)
    expect(releaseProblems(withRef('v1'), version)).toHaveLength(1)
    expect(releaseProblems(withRef('v9.9.9'), version)).toHaveLength(1)
    expect(releaseProblems(withRef(sha), version)).toHaveLength(1)
    expect(releaseProblems(withRef(`${sha} # v${version}`), version)).toEqual([])
    expect(releaseProblems(withRef(`${sha} # v9.9.9`), version)).toHaveLength(1)
  })

  it('a release commit must name exactly its release, and package.json must say it', () => {
    expect(releaseProblems(text, version, `v${version}`)).toEqual([])
    expect(releaseProblems(text, version, 'v9.9.9').join('\n')).toMatch(
      /package\.json says[\s\S]*must use zerotouch\/secrets-action@v9\.9\.9/
    )
    const pinned = pinReusableWorkflow(text, '9.9.9')
    expect(releaseProblems(pinned, '9.9.9', 'v9.9.9')).toEqual([])
    // A SHA is fine between releases, not in the release commit.
    expect(releaseProblems(text.replace(`@v${version}`, `@${sha} # v${version}`), version, `v${version}`)).toHaveLength(
      1
    )
  })

  it('--set changes only the reference', () => {
    const pinned = pinReusableWorkflow(text, '9.9.9')
    expect(pinned.split('\n').filter((line, index) => line !== text.split('\n')[index])).toEqual([
      `        uses: zerotouch/secrets-action@v9.9.9`
    ])
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
