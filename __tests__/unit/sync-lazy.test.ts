import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, it } from '@jest/globals'

/**
 * The push-only path must never load @kubernetes/client-node: only src/k8s/connect.ts may import it
 * (through src/k8s/client.ts), and the main reaches the phase with a dynamic import. This walks the
 * static imports (`import ... from`, `export ... from`; not `import()`) of the sources.
 */
const ROOT = resolve(process.cwd(), 'src')
const CLIENT = '@kubernetes/client-node'

function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?[^'"]*?\bfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)
  ]
  // type-only imports are erased
  return specifiers.filter((match) => !/^\s*(?:import|export)\s+type\s/.test(match[0])).map((match) => match[1])
}

function reaches(entry: string, target: string): string[] | undefined {
  const seen = new Set<string>()
  const walk = (file: string, trail: string[]): string[] | undefined => {
    if (seen.has(file)) return undefined
    seen.add(file)
    for (const specifier of staticImports(file)) {
      if (specifier === target || specifier.startsWith(`${target}/`)) return [...trail, file, specifier]
      if (!specifier.startsWith('.')) continue
      const next = join(dirname(file), specifier.replace(/\.js$/, '.ts'))
      if (existsSync(next)) {
        const found = walk(next, [...trail, file])
        if (found) return found
      }
    }
    return undefined
  }
  return walk(join(ROOT, entry), [])
}

describe('loading the Kubernetes client only for the sync phase', () => {
  it.each([
    'main.ts',
    'index.ts',
    'phase.ts',
    'sync/report.ts',
    'sync/phase.ts',
    'preflight/phase.ts',
    'gate/phase.ts',
    'rollout/phase.ts',
    'sync/sync.ts',
    'sync/wait.ts',
    'preflight/preflight.ts',
    'gate/gate.ts',
    'eso/guardrails.ts',
    'eso/model.ts',
    'inputs/config.ts',
    'k8s/api.ts',
    'eso/api.ts',
    'workloads/api.ts',
    'cluster.ts',
    'k8s/errors.ts',
    'k8s/types.ts'
  ])('%s does not load it statically', (entry) => expect(reaches(entry, CLIENT)).toBeUndefined())

  it('the phase entry does (so the walk can find it)', () => {
    expect(reaches('k8s/connect.ts', CLIENT)).toEqual([
      join(ROOT, 'k8s/connect.ts'),
      join(ROOT, 'k8s/client.ts'),
      CLIENT
    ])
  })
})
