import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from '@jest/globals'

/**
 * The layers of src/ (see the README's "How the code is laid out"): an import only points down,
 * or sideways within a layer; phases never import one another. Type-only imports count too: a
 * type is a dependency as much as a function.
 */
const ROOT = resolve(process.cwd(), 'src')

/** The phases: the folders that export one (a phase.ts). Adding a phase folder places it here, with no list to edit. */
const PHASE_FOLDERS = readdirSync(ROOT, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(ROOT, entry.name, 'phase.ts')))
  .map(({ name }) => name)

const LAYERS: ReadonlyArray<readonly [string, RegExp]> = [
  ['ground', /^(errors|time|network|json)\.ts$/],
  ['domain', /^(ssm\/rules|k8s\/label-selector|k8s\/types)\.ts$|^(eso|history|secrets|workloads)\/(?!api\.ts$)/],
  ['adapter', /^(ssm|k8s)\/|^(eso|workloads)\/api\.ts$|^cluster\.ts$|^definitions\/render\.ts$/],
  ['contract', /^phase\.ts$/],
  ['phase', new RegExp(`^(${PHASE_FOLDERS.join('|')})/`)],
  ['configuration', /^inputs\//],
  ['entry', /^(main|index)\.ts$/]
]

function layerOf(file: string): number {
  const index = LAYERS.findIndex(([, pattern]) => pattern.test(file))
  if (index < 0) throw new Error(`${file} belongs to no layer: add it to LAYERS`)
  return index
}

function sources(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [relative(ROOT, join(dir, entry.name))]
        : []
  )
}

function localImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^'"]*?\bfrom\s+['"](\.[^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)
  ]
  const targets = specifiers.map((match) =>
    relative(ROOT, resolve(dirname(join(ROOT, file)), match[1].replace(/\.js$/, '.ts')))
  )
  // Data from outside src/ (package.json's name and version) is no layer of the code.
  return targets.filter((target) => !target.startsWith('..'))
}

const phase = (file: string): string | undefined =>
  LAYERS[layerOf(file)][0] === 'phase' ? file.split('/')[0] : undefined

describe('the layers of src/', () => {
  const files = sources()

  it('place every source file', () => {
    for (const file of files) expect(() => layerOf(file)).not.toThrow()
  })

  it('import only downwards or sideways, and no phase imports another', () => {
    const upwards = files.flatMap((file) =>
      localImports(file)
        .filter(
          (target) => layerOf(target) > layerOf(file) || (phase(file) && phase(target) && phase(file) !== phase(target))
        )
        .map((target) => `${file} (${LAYERS[layerOf(file)][0]}) -> ${target} (${LAYERS[layerOf(target)][0]})`)
    )
    expect(upwards).toEqual([])
  })

  it('keep every pair of folders one-way: no two folders import each other', () => {
    const folder = (file: string): string | undefined => (file.includes('/') ? file.split('/')[0] : undefined)
    const edges = new Set(
      files.flatMap((file) =>
        localImports(file)
          .filter((target) => folder(file) && folder(target) && folder(file) !== folder(target))
          .map((target) => `${folder(file)} -> ${folder(target)}`)
      )
    )
    const mutual = [...edges].filter((edge) => edges.has(edge.split(' -> ').reverse().join(' -> ')))
    expect(mutual).toEqual([])
  })

  it('find each phase folder by the Phase its phase.ts exports: a name, a run and a pure report', async () => {
    expect(PHASE_FOLDERS.length).toBeGreaterThan(0)
    for (const folder of PHASE_FOLDERS) {
      const exported = Object.values((await import(join(ROOT, folder, 'phase.ts'))) as Record<string, unknown>)
      const phases = exported.filter(
        (value) => typeof value === 'object' && value !== null && 'name' in value && 'run' in value && 'report' in value
      )
      expect([folder, phases.length > 0]).toEqual([folder, true])
    }
  })

  it('would see an upward import (the walk reads real imports)', () => {
    expect(localImports('main.ts')).toContain('inputs/config.ts')
    expect(localImports('main.ts')).toContain('k8s/connect.ts')
  })
})
