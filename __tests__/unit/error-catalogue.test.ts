/** Every error the action raises has a stable code and an entry in the README's Troubleshooting. */
import { expect, it } from '@jest/globals'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ERROR_CODES } from '../../src/errors.js'

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [readFileSync(join(dir, entry.name), 'utf8')]
        : []
  )
}

const src = sources('src').join('\n')
const troubleshooting =
  readFileSync('README.md', 'utf8')
    .split(/^## /m)
    .find((part) => part.startsWith('Troubleshooting')) ?? ''

it('gives every ActionError in src/ a code from the catalogue', () => {
  const constructed = src.match(/new ActionError\(/g)?.length ?? 0
  // A literal code, or one chosen among typed ErrorCodes (a Kubernetes failure's, the first problem's).
  const coded = [...src.matchAll(/new ActionError\(\s*(kubeErrorCode\(|problems\[0\]\.code|'(ZT\d{3})')/g)]
  expect(coded).toHaveLength(constructed)
  for (const [literal] of src.matchAll(/'ZT\d{3}'/g)) expect(Object.keys(ERROR_CODES)).toContain(literal.slice(1, -1))
})

it('throws nothing but ActionErrors and InputProblems at the step', () => {
  expect(src).not.toMatch(/throw new Error\(/)
})

it('uses every code of the catalogue', () => {
  for (const code of Object.keys(ERROR_CODES)) expect([code, src.includes(`'${code}'`)]).toEqual([code, true])
})

it('has a README entry, with what it means and how to fix it, for every code and no other', () => {
  const entries = [...troubleshooting.matchAll(/^### (ZT\d{3}) (.+)\n([\s\S]*?)(?=^### |$(?![\s\S]))/gm)]
  expect(entries.map(([, code]) => code).sort()).toEqual(Object.keys(ERROR_CODES).sort())
  for (const [, code, title, body] of entries) {
    expect([code, title]).toEqual([code, ERROR_CODES[code as keyof typeof ERROR_CODES]])
    expect(body.trim().length).toBeGreaterThan(80)
  }
})
