/**
 * Validates action.yml and every workflow file (.github/workflows/*.yml, examples/*.yml) with
 * @action-validator/cli, and checks that every third-party action is pinned to a full commit SHA
 * with a version comment. `node scripts/validate-workflows.ts` prints every problem and exits 1 on
 * any; __tests__/integration/workflows.test.ts runs the same functions.
 *
 * One known false error is tolerated, and only that one: action-validator 0.6.0 bundles a
 * SchemaStore action schema whose `runs.using` enum stops at node20, so it refuses
 * `using: node24`, which GitHub's runners support. The tolerance applies only to action.yml, only
 * when `runs.using` is node24, and only when the whole result is that single error. It is then
 * proven harmless: the same file with `runs.using` set to node20 must validate with no error at
 * all, so every other rule of the schema is still enforced.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isMap, isScalar, isSeq, parse, parseDocument, type YAMLMap } from 'yaml'

/** The CLI as installed (its package has no exports map, so it is addressed by path). */
export const VALIDATOR_CLI = resolve('node_modules/@action-validator/cli/cli.mjs')

/** The action's own repository: its workflows may use it by a moving tag (`@v1`). */
export const FIRST_PARTY = 'zerotouch/secrets-action'

/** The newest `runs.using` the bundled schema knows; what node24 is checked as. */
export const SCHEMA_NEWEST_NODE = 'node20'

export interface ValidatorError {
  readonly code: string
  readonly path?: string
  readonly title: string
  readonly detail?: string
  readonly states?: ReadonlyArray<{ readonly errors: readonly ValidatorError[] }>
}

export interface ValidatorResult {
  readonly actionType: 'action' | 'workflow'
  readonly errors: readonly ValidatorError[]
}

/** action.yml, then every workflow file, relative to `root`, sorted. */
export function filesToValidate(root = '.'): string[] {
  const yamlIn = (dir: string): string[] =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((name) => /\.ya?ml$/.test(name))
          .sort()
          .map((name) => join(dir, name))
      : []
  return ['action.yml', ...yamlIn('.github/workflows'), ...yamlIn('examples')]
}

/** Runs `action-validator FILE` (the CLI: action type chosen by the file name, as it does). */
export function runValidator(file: string, cwd = '.'): ValidatorResult {
  const run = spawnSync(process.execPath, [VALIDATOR_CLI, file], { cwd, encoding: 'utf8', timeout: 60_000 })
  if (run.error) throw run.error
  const actionType = /(^|\/)action\.ya?ml$/.test(file) ? 'action' : 'workflow'
  if (run.status === 0) return { actionType, errors: [] }
  const text = run.stderr.trim()
  try {
    return JSON.parse(text) as ValidatorResult
  } catch {
    throw new Error(`action-validator ${file} exited ${run.status} without a JSON result: ${text || run.stdout.trim()}`)
  }
}

/**
 * Exactly the known false error: one `one_of` at /runs whose JavaScript-action branch failed only
 * on the `runs.using` enum, for an action whose `runs.using` is node24.
 */
export function isKnownNode24Error(result: ValidatorResult, actionText: string): boolean {
  const action = parse(actionText) as { runs?: { using?: unknown } } | null
  if (result.actionType !== 'action' || action?.runs?.using !== 'node24') return false
  if (result.errors.length !== 1) return false
  const [error] = result.errors
  if (error.code !== 'one_of' || error.path !== '/runs') return false
  return (error.states ?? []).some(
    ({ errors }) =>
      errors.length === 1 && errors[0].code === 'enum' && errors[0].path === '/runs/using' && !errors[0].states?.length
  )
}

/** The action file with `runs.using` replaced, everything else as written. */
export function withRunsUsing(actionText: string, using: string): string {
  const document = parseDocument(actionText)
  document.setIn(['runs', 'using'], using)
  return String(document)
}

export interface FileValidation {
  readonly file: string
  /** Errors left after the one tolerated error; empty: valid. */
  readonly errors: readonly ValidatorError[]
  /** Set when the node24 error was tolerated, saying how it was checked. */
  readonly tolerated?: string
}

/** Validates one file with the CLI, applying the node24 tolerance to action files only. */
export function validateFile(file: string, root = '.'): FileValidation {
  const result = runValidator(file, root)
  if (!result.errors.length) return { file, errors: [] }
  const text = readFileSync(join(root, file), 'utf8')
  if (!isKnownNode24Error(result, text)) return { file, errors: result.errors }
  // Every other rule: the same action with the newest runtime the schema knows must be clean.
  const scratch = mkdtempSync(join(tmpdir(), 'action-validator-'))
  try {
    const copy = join(scratch, basename(file))
    writeFileSync(copy, withRunsUsing(text, SCHEMA_NEWEST_NODE))
    const rest = runValidator(copy, root)
    return {
      file,
      errors: rest.errors,
      tolerated: `runs.using node24 is not in action-validator's bundled enum; the file validated with runs.using ${SCHEMA_NEWEST_NODE} instead`
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

/** One `uses:` line of a file, with its trailing comment. */
export interface UsesLine {
  readonly line: number
  readonly uses: string
  readonly comment: string
}

const USES_LINE = /^\s*(?:-\s+)?uses:\s*(['"]?)([^'"\s#]+)\1\s*(?:#\s*(.*))?$/

export function usesLines(text: string): UsesLine[] {
  return text.split('\n').flatMap((content, index) => {
    const match = USES_LINE.exec(content)
    return match ? [{ line: index + 1, uses: match[2], comment: (match[3] ?? '').trim() }] : []
  })
}

/**
 * Every `uses:` value as written in the file: steps of jobs, reusable-workflow jobs, composite steps.
 * A YAML alias (`- *checkout`, `steps: *steps`) repeats what is written once at its anchor, so it is
 * not counted again, just as the line scan sees that `uses:` line once.
 */
export function usesValues(text: string): string[] {
  const document = parseDocument(text)
  const values: unknown[] = []
  const stepsOf = (node: unknown): YAMLMap[] => (isSeq(node) ? node.items.filter(isMap) : [])
  const usesOf = (node: YAMLMap): void => {
    const uses = node.get('uses', true)
    values.push(isScalar(uses) ? uses.value : uses)
  }
  const jobs = document.get('jobs')
  for (const { value: job } of isMap(jobs) ? jobs.items : []) {
    if (!isMap(job)) continue
    usesOf(job)
    stepsOf(job.get('steps')).forEach(usesOf)
  }
  const runs = document.get('runs')
  if (isMap(runs)) stepsOf(runs.get('steps')).forEach(usesOf)
  return values.filter((value): value is string => typeof value === 'string')
}

const SHA = /^[0-9a-f]{40}$/
const VERSION_COMMENT = /^v\d+(\.\d+){0,2}\b/

/** Third party: neither a local path, nor this repository, nor a Docker image (checked apart). */
export function isThirdParty(uses: string): boolean {
  if (uses.startsWith('./') || uses.startsWith('docker://')) return false
  const [owner, repo] = uses.split('@')[0].split('/')
  return `${owner}/${repo}`.toLowerCase() !== FIRST_PARTY
}

/** Every third-party `uses:` must be `owner/repo[/path]@<40-hex SHA> # vX.Y.Z`; images by digest. */
export function pinningProblems(file: string, text: string): string[] {
  const problems: string[] = []
  const lines = usesLines(text)
  const parsed = usesValues(text).sort()
  const scanned = lines.map(({ uses }) => uses).sort()
  if (JSON.stringify(parsed) !== JSON.stringify(scanned)) {
    problems.push(
      `${file}: write each uses: on one line of its own (found ${parsed.length} uses, ${scanned.length} uses: lines)`
    )
  }
  for (const { line, uses, comment } of lines) {
    if (uses.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(uses))
        problems.push(`${file}:${line}: ${uses} is not pinned by digest (@sha256:...)`)
      continue
    }
    if (!isThirdParty(uses)) continue
    const ref = uses.includes('@') ? uses.slice(uses.lastIndexOf('@') + 1) : ''
    if (!SHA.test(ref)) problems.push(`${file}:${line}: ${uses} is not pinned to a full 40-hex commit SHA`)
    else if (!VERSION_COMMENT.test(comment)) problems.push(`${file}:${line}: ${uses} has no version comment (# vX.Y.Z)`)
  }
  return problems
}

/** The same action pinned to different commits, or one commit given different versions, across files. */
export function pinConsistencyProblems(files: ReadonlyArray<{ file: string; text: string }>): string[] {
  const seen = new Map<string, { pin: string; where: string }>()
  const problems: string[] = []
  for (const { file, text } of files) {
    for (const { line, uses, comment } of usesLines(text)) {
      if (!isThirdParty(uses) || !uses.includes('@')) continue
      const action = uses.slice(0, uses.lastIndexOf('@'))
      const pin = `${uses.slice(uses.lastIndexOf('@') + 1)} # ${comment.split(/\s/)[0]}`
      const first = seen.get(action)
      if (!first) seen.set(action, { pin, where: `${file}:${line}` })
      else if (first.pin !== pin)
        problems.push(`${file}:${line}: ${action} is pinned to ${pin}, but to ${first.pin} at ${first.where}`)
    }
  }
  return problems
}

/** Everything: validator errors (after the one tolerance) and pinning problems, as lines. */
export function validateAll(root = '.'): { problems: string[]; notes: string[] } {
  const problems: string[] = []
  const notes: string[] = []
  const files = filesToValidate(root)
  for (const file of files) {
    const result = validateFile(file, root)
    if (result.tolerated) notes.push(`${file}: ${result.tolerated}`)
    problems.push(...result.errors.map((error) => `${file}: ${describeError(error)}`))
  }
  const texts = files.map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }))
  for (const { file, text } of texts) problems.push(...pinningProblems(file, text))
  problems.push(...pinConsistencyProblems(texts))
  return { problems, notes }
}

/** One validator error as a line: the innermost details when it is a one_of. */
export function describeError(error: ValidatorError): string {
  const where = error.path ? `${error.path}: ` : ''
  const inner = (error.states ?? []).flatMap(({ errors }) =>
    errors.map((nested) => `${nested.path ?? ''} ${nested.detail ?? nested.title}`.trim())
  )
  return `${where}${error.detail ?? error.title}${inner.length ? ` [${[...new Set(inner)].join('; ')}]` : ''}`
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { problems, notes } = validateAll()
  for (const note of notes) console.log(`note: ${note}`)
  for (const problem of problems) console.error(problem)
  const files = filesToValidate()
  console.log(
    problems.length
      ? `${problems.length} problems in ${files.length} files`
      : `${files.length} files valid: ${files.join(', ')}`
  )
  process.exit(problems.length ? 1 : 0)
}
