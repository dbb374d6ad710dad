import { expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

interface ActionSpec {
  inputs: Record<string, { default?: string; required?: boolean }>
  outputs: Record<string, unknown>
}

const action = parse(readFileSync('action.yml', 'utf8')) as ActionSpec
const readme = readFileSync('README.md', 'utf8')

function tableRows(heading: string): string[][] {
  const section = readme.split(/^## /m).find((part) => part.startsWith(heading)) ?? ''
  return section
    .split('\n')
    .filter((line) => /^\| `/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim())
    )
}

it('documents every input of action.yml, with its default, and no other', () => {
  const rows = tableRows('Inputs')
  expect(rows.map(([name]) => name.replace(/`/g, '')).sort()).toEqual(Object.keys(action.inputs).sort())
  for (const [name, documented] of rows) {
    const spec = action.inputs[name.replace(/`/g, '')]
    const expected = spec.required ? 'required' : spec.default ? `\`${spec.default}\`` : /^\((empty|env)\)$/
    if (typeof expected === 'string') expect([name, documented]).toEqual([name, expected])
    else expect(documented).toMatch(expected)
  }
})

it('documents every output of action.yml, and no other', () => {
  expect(
    tableRows('Outputs')
      .map(([name]) => name.replace(/`/g, ''))
      .sort()
  ).toEqual(Object.keys(action.outputs).sort())
})

it('declares the runtime the tests run on', () => {
  expect(readFileSync('.node-version', 'utf8').trim()).toBe('24')
  expect(readme).toContain('`npm ci && npm test`')
  expect(readme).toContain('`npm ci && npm start`')
})
