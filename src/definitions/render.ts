import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { access, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { parseAllDocuments, parse } from 'yaml'
import { ActionError } from '../errors.js'
import { asRecord, isRecord } from '../json.js'

const run = promisify(execFile)

/** One object of a rendered kustomization, with the workspace file it was defined in when known. */
export interface RenderedObject {
  readonly object: Record<string, unknown>
  readonly origin?: string
}

const ORIGIN = 'config.kubernetes.io/origin'

/**
 * Renders a kustomization with the real kustomize: the `kustomize` binary when on PATH (GitHub's
 * runners have one), else `kubectl kustomize`. It renders through a wrapper kustomization with
 * `buildMetadata: [originAnnotations]`, so each object names the file it came from; should the
 * wrapper fail, the plain render gives kustomize's own message.
 */
export async function renderKustomization(input: string, dir: string, workspace: string): Promise<RenderedObject[]> {
  const root = resolve(workspace, dir)
  const isDirectory = await stat(root).then(
    (info) => info.isDirectory(),
    () => false
  )
  if (!isDirectory) throw new ActionError('ZT110', `${input}: "${dir}" is not a folder in the workspace (${workspace})`)
  const tool = await kustomizeCommand()
  const wrapper = await mkdtemp(join(tmpdir(), 'zerotouch-kustomize-'))
  try {
    await writeFile(
      join(wrapper, 'kustomization.yaml'),
      `resources:\n- ${JSON.stringify(relative(wrapper, root))}\nbuildMetadata: [originAnnotations]\n`
    )
    const withOrigins = await render(tool, wrapper).catch(() => undefined)
    const output =
      withOrigins ??
      (await render(tool, root).catch((error: { stderr?: string; message: string }) => {
        throw new ActionError(
          'ZT110',
          `${input}: kustomize could not render "${dir}": ${(error.stderr || error.message).trim()}`
        )
      }))
    return objectsIn(output).map((object) => ({ object, origin: originOf(object, wrapper, workspace) }))
  } finally {
    await rm(wrapper, { recursive: true, force: true })
  }
}

async function kustomizeCommand(): Promise<[string, string[]]> {
  if (await onPath('kustomize')) return ['kustomize', ['build']]
  if (await onPath('kubectl')) return ['kubectl', ['kustomize']]
  throw new ActionError(
    'ZT110',
    'definitions: neither kustomize nor kubectl is on PATH; install one of them before this step (GitHub-hosted Ubuntu runners have both)'
  )
}

async function onPath(command: string): Promise<boolean> {
  const folders = (process.env.PATH ?? '').split(delimiter).filter(Boolean)
  for (const folder of folders) {
    if (
      await access(join(folder, command), constants.X_OK).then(
        () => true,
        () => false
      )
    )
      return true
  }
  return false
}

async function render([command, args]: [string, string[]], dir: string): Promise<string> {
  const { stdout } = await run(command, [...args, dir], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 })
  return stdout
}

function objectsIn(output: string): Record<string, unknown>[] {
  return parseAllDocuments(output).flatMap((document) => {
    const object: unknown = 'toJSON' in document ? document.toJSON() : undefined
    return isRecord(object) ? [object] : []
  })
}

/** The file kustomize says the object came from, taking its annotation off the object. */
function originOf(object: Record<string, unknown>, wrapper: string, workspace: string): string | undefined {
  const metadata = asRecord(object.metadata)
  const annotations = asRecord(metadata?.annotations)
  const annotation = annotations?.[ORIGIN]
  if (!metadata || !annotations || typeof annotation !== 'string') return undefined
  delete annotations[ORIGIN]
  if (!Object.keys(annotations).length) delete metadata.annotations
  const path = asRecord(parse(annotation))?.path
  return typeof path === 'string' ? relative(workspace, resolve(wrapper, path)) : undefined
}
