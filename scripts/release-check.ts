/**
 * The reusable workflow (.github/workflows/zerotouch-secrets.yml) must run the release it belongs
 * to. A caller that pins the workflow to `@v1.2.3` or to a commit SHA gets the workflow file of
 * that commit; the action it runs is whatever the file's `uses: zerotouch/secrets-action@<ref>`
 * names. With a moving ref (`@v1`) that would be the newest v1 release on the day of the run, not
 * the release the caller pinned. So the ref is an exact version tag, the one in package.json:
 *
 * - release (a `v*.*.*` tag is being checked, or `--release vX.Y.Z`): package.json says X.Y.Z and
 *   the workflow uses exactly `zerotouch/secrets-action@vX.Y.Z`; anything else fails;
 * - any other commit: the workflow uses `@v<package.json version>` (between releases, the last
 *   release: package.json is bumped only in the release commit), or a full 40-hex commit SHA with
 *   a `# v<package.json version>` comment.
 *
 * `node scripts/release-check.ts` checks (in CI the tag comes from GITHUB_REF_TYPE/GITHUB_REF_NAME);
 * `node scripts/release-check.ts --set X.Y.Z` rewrites the reference to `@vX.Y.Z` (RELEASING.md,
 * step 3). __tests__/integration/workflows.test.ts runs the same functions.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FIRST_PARTY, usesLines } from './validate-workflows.ts'

export const REUSABLE_WORKFLOW = '.github/workflows/zerotouch-secrets.yml'

const VERSION = /^\d+\.\d+\.\d+$/
const SHA = /^[0-9a-f]{40}$/

/** Every `uses: zerotouch/secrets-action@<ref>` in a file, with its comment. */
export function actionReferences(text: string): Array<{ line: number; ref: string; comment: string }> {
  return usesLines(text)
    .filter(({ uses }) => uses.toLowerCase().startsWith(`${FIRST_PARTY}@`))
    .map(({ line, uses, comment }) => ({ line, ref: uses.slice(uses.indexOf('@') + 1), comment }))
}

/** The release tag being checked, from the arguments or GitHub's environment; undefined: not a release. */
export function releaseTag(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const index = argv.indexOf('--release')
  if (index >= 0) return argv[index + 1]
  if (env.GITHUB_REF_TYPE === 'tag' && /^v\d+\.\d+\.\d+$/.test(env.GITHUB_REF_NAME ?? '')) return env.GITHUB_REF_NAME
  return undefined
}

/** What is wrong with the reusable workflow's action reference; empty: nothing. */
export function releaseProblems(workflowText: string, packageVersion: string, release?: string): string[] {
  if (!VERSION.test(packageVersion)) return [`package.json version ${packageVersion} is not X.Y.Z`]
  const references = actionReferences(workflowText)
  if (references.length !== 1)
    return [`${REUSABLE_WORKFLOW} must use ${FIRST_PARTY} exactly once (found ${references.length})`]
  const [{ line, ref, comment }] = references
  const where = `${REUSABLE_WORKFLOW}:${line}`
  const expected = `v${packageVersion}`
  if (release !== undefined) {
    const problems: string[] = []
    if (release !== expected)
      problems.push(
        `release ${release}: package.json says ${packageVersion} (run npm version ${release.replace(/^v/, '')} --no-git-tag-version)`
      )
    if (ref !== release)
      problems.push(
        `${where}: release ${release} must use ${FIRST_PARTY}@${release}, not @${ref} (run node scripts/release-check.ts --set ${release.replace(/^v/, '')})`
      )
    return problems
  }
  if (ref === expected) return []
  if (SHA.test(ref))
    return comment.split(/\s/)[0] === expected
      ? []
      : [`${where}: ${FIRST_PARTY}@${ref} needs the comment # ${expected} (the version in package.json)`]
  return [
    `${where}: ${FIRST_PARTY}@${ref} must name the release in package.json (@${expected}) or a full commit SHA with # ${expected}`
  ]
}

/** The workflow text with its action reference set to `@vX.Y.Z`, everything else as written. */
export function pinReusableWorkflow(workflowText: string, version: string): string {
  if (!VERSION.test(version)) throw new Error(`${version} is not X.Y.Z`)
  const references = actionReferences(workflowText)
  if (references.length !== 1)
    throw new Error(`${REUSABLE_WORKFLOW} must use ${FIRST_PARTY} exactly once (found ${references.length})`)
  const lines = workflowText.split('\n')
  const index = references[0].line - 1
  lines[index] = lines[index].replace(/(uses:\s*['"]?)([^'"\s@]+)@[^'"\s#]+(['"]?)(\s*#.*)?$/, `$1$2@v${version}$3`)
  return lines.join('\n')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const text = readFileSync(REUSABLE_WORKFLOW, 'utf8')
  const set = args.indexOf('--set')
  if (set >= 0) {
    writeFileSync(REUSABLE_WORKFLOW, pinReusableWorkflow(text, args[set + 1] ?? ''))
    console.log(`${REUSABLE_WORKFLOW}: ${FIRST_PARTY}@v${args[set + 1]}`)
    process.exit(0)
  }
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
  const release = releaseTag(args, process.env)
  const problems = releaseProblems(text, version, release)
  for (const problem of problems) console.error(problem)
  console.log(
    problems.length
      ? `${problems.length} problems`
      : `${REUSABLE_WORKFLOW} runs ${FIRST_PARTY} ${release ? `at release ${release}` : `as package.json ${version}`}`
  )
  process.exit(problems.length ? 1 : 0)
}
