import { KEPT_VERSIONS, tierLimit, type ParameterVersion, type Tier } from '../src/ssm/rules.js'
import type { ParameterStatus, ParameterStore, ParameterWrite, StoredParameter } from '../src/ssm/store.js'
import { DOWNGRADE_REFUSAL } from '../testing/ssm-proxy.ts'
import { awsError } from './aws-errors.js'

export type Operation = keyof ParameterStore

interface Held {
  value: string
  type: string
  version: number
  tags: Record<string, string>
  /** SSM never moves an Advanced parameter back to Standard. */
  tier: Tier
}

const HISTORY_PAGE = 50
const DESCRIBE_PAGE = 50

/**
 * An in-memory Parameter Store with the real service's rules that the push relies on
 * (ParameterAlreadyExists, no Tags with Overwrite, a version per put, 10 names a batch, no downgrade
 * from Advanced, 100 versions kept and no new one when the oldest carries a label),
 * a log of every call, and a hook to inject failures before or after a call takes effect.
 */
export class MemoryStore implements ParameterStore {
  readonly parameters = new Map<string, Held>()
  /** Every version kept of each parameter, oldest first; SSM keeps the last 100. */
  private readonly versions = new Map<string, ParameterVersion[]>()
  readonly calls: Array<{ operation: Operation; names: string[] }> = []
  /** Return an error to throw it instead of the call; `after: true` applies the call, then throws. */
  fault?: (operation: Operation, names: string[]) => { error: Error; after?: boolean } | undefined
  /** The time each write is stamped with: a logical clock a second a write unless a test sets it (to a virtual clock). */
  now: () => number = (() => {
    let time = Date.UTC(2026, 10, 30)
    return () => (time += 1000)
  })()

  seed(
    name: string,
    value: string,
    {
      type = 'SecureString',
      tags = {},
      version = 1,
      description,
      tier = 'Standard'
    }: { type?: string; tags?: Record<string, string>; version?: number; description?: string; tier?: Tier } = {}
  ): void {
    this.parameters.set(name, { value, type, version, tags: { ...tags }, tier })
    this.versions.set(name, [{ version, value, modifiedAt: this.now(), description, labels: [], tier }])
  }

  /** LabelParameterVersion: moves each label to that version of the parameter. */
  label(name: string, version: number, labels: readonly string[]): void {
    this.versions.set(
      name,
      this.history(name).map((held) => ({
        ...held,
        labels: [
          ...(held.labels ?? []).filter((label) => !labels.includes(label)),
          ...(held.version === version ? labels : [])
        ]
      }))
    )
  }

  /** A parameter with these versions, oldest first, numbered up to the last. */
  seedHistory(
    name: string,
    versions: ReadonlyArray<Omit<ParameterVersion, 'version'>>,
    { tags = {}, first = 1 }: { tags?: Record<string, string>; first?: number } = {}
  ): void {
    const history = versions.map((version, index) => ({ ...version, version: first + index }))
    const last = history[history.length - 1]
    this.parameters.set(name, {
      value: last.value,
      type: 'SecureString',
      version: last.version,
      tags: { ...tags },
      tier: last.tier ?? 'Standard'
    })
    this.versions.set(name, history)
  }

  /** The versions of a parameter, oldest first. */
  history(name: string): ParameterVersion[] {
    return [...(this.versions.get(name) ?? [])]
  }

  count(operation: Operation): number {
    return this.calls.filter((call) => call.operation === operation).length
  }

  private async call<T>(operation: Operation, names: string[], apply: () => T): Promise<T> {
    this.calls.push({ operation, names })
    await Promise.resolve()
    const fault = this.fault?.(operation, names)
    if (fault && !fault.after) throw fault.error
    const result = apply()
    if (fault) throw fault.error
    return result
  }

  getParameters(names: readonly string[], decrypt: boolean) {
    if (names.length > 10) throw awsError('ValidationException', 400, 'at most 10 names')
    return this.call('getParameters', [...names], () => {
      const found: StoredParameter[] = []
      const missing: string[] = []
      for (const name of names) {
        const held = this.parameters.get(name)
        if (!held) missing.push(name)
        else
          found.push({
            name,
            value: decrypt || held.type !== 'SecureString' ? held.value : 'ENCRYPTED',
            type: held.type,
            version: held.version
          })
      }
      return { found, missing }
    })
  }

  describeParameters(names: readonly string[]) {
    if (names.length > DESCRIBE_PAGE) throw awsError('ValidationException', 400, 'at most 50 filter values')
    return this.call('describeParameters', [...names], () =>
      names.flatMap((name): ParameterStatus[] => {
        const held = this.parameters.get(name)
        const latest = this.history(name).at(-1)
        return held
          ? [
              {
                name,
                tier: held.tier,
                version: held.version,
                description: latest?.description,
                modifiedAt: latest?.modifiedAt
              }
            ]
          : []
      })
    )
  }

  listNames(path: string) {
    return this.call('listNames', [path], () =>
      [...this.parameters.keys()].filter(
        (name) => name.startsWith(`${path}/`) && !name.slice(path.length + 1).includes('/')
      )
    )
  }

  getHistoryPage(name: string, decrypt: boolean, nextToken?: string) {
    return this.call('getHistoryPage', [name], () => {
      if (!this.parameters.has(name)) throw awsError('ParameterNotFound', 400)
      const start = Number(nextToken ?? 0)
      const versions = this.history(name).map((version) => (decrypt ? version : { ...version, value: 'ENCRYPTED' }))
      const next = start + HISTORY_PAGE
      return { versions: versions.slice(start, next), nextToken: next < versions.length ? String(next) : undefined }
    })
  }

  getTags(name: string) {
    return this.call('getTags', [name], () => ({ ...this.held(name).tags }))
  }

  putParameter(write: ParameterWrite) {
    return this.call('putParameter', [write.name], () => {
      if (write.tags && write.overwrite)
        throw awsError('ValidationException', 400, "tags and overwrite can't be used together")
      const held = this.parameters.get(write.name)
      if (held && !write.overwrite) throw awsError('ParameterAlreadyExists', 400)
      if (held && held.type !== 'SecureString') throw awsError('HierarchyTypeMismatchException', 400)
      if (held?.tier === 'Advanced' && write.tier === 'Standard')
        throw awsError(DOWNGRADE_REFUSAL.type, 400, DOWNGRADE_REFUSAL.message)
      const kept = this.history(write.name)
      if (kept.length >= KEPT_VERSIONS && kept[0].labels?.length)
        throw awsError('ParameterMaxVersionLimitExceeded', 400)
      const version = (held?.version ?? 0) + 1
      const tier: Tier =
        held?.tier === 'Advanced' ||
        write.tier === 'Advanced' ||
        Buffer.byteLength(write.value, 'utf8') > tierLimit('Standard')
          ? 'Advanced'
          : 'Standard'
      this.parameters.set(write.name, {
        value: write.value,
        type: 'SecureString',
        version,
        tags: { ...held?.tags, ...write.tags },
        tier
      })
      this.versions.set(
        write.name,
        [
          ...kept,
          { version, value: write.value, modifiedAt: this.now(), description: write.description, labels: [], tier }
        ].slice(-KEPT_VERSIONS)
      )
      return version
    })
  }

  addTags(name: string, tags: Readonly<Record<string, string>>) {
    return this.call('addTags', [name], () => {
      Object.assign(this.held(name).tags, tags)
    })
  }

  deleteParameters(names: readonly string[]) {
    return this.call('deleteParameters', [...names], () => {
      const deleted = names.filter((name) => this.parameters.delete(name) && this.versions.delete(name))
      return { deleted, missing: names.filter((name) => !deleted.includes(name)) }
    })
  }

  private held(name: string): Held {
    const held = this.parameters.get(name)
    if (!held) throw awsError('InvalidResourceId', 400)
    return held
  }
}
