import type { ParameterStore, ParameterWrite, StoredParameter } from '../src/ssm/store.js'
import { awsError } from './aws-errors.js'

export type Operation = keyof ParameterStore

interface Held {
  value: string
  type: string
  version: number
  tags: Record<string, string>
}

/**
 * An in-memory Parameter Store with the real service's rules that the push relies on
 * (ParameterAlreadyExists, no Tags with Overwrite, a version per put, 10 names a batch),
 * a log of every call, and a hook to inject failures before or after a call takes effect.
 */
export class MemoryStore implements ParameterStore {
  readonly parameters = new Map<string, Held>()
  readonly calls: Array<{ operation: Operation; names: string[] }> = []
  /** Return an error to throw it instead of the call; `after: true` applies the call, then throws. */
  fault?: (operation: Operation, names: string[]) => { error: Error; after?: boolean } | undefined

  seed(name: string, value: string, { type = 'SecureString', tags = {}, version = 1 }: { type?: string; tags?: Record<string, string>; version?: number } = {}): void {
    this.parameters.set(name, { value, type, version, tags: { ...tags } })
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
        else found.push({ name, value: decrypt || held.type !== 'SecureString' ? held.value : 'ENCRYPTED', type: held.type, version: held.version })
      }
      return { found, missing }
    })
  }

  listNames(path: string) {
    return this.call('listNames', [path], () => [...this.parameters.keys()].filter((name) => name.startsWith(`${path}/`) && !name.slice(path.length + 1).includes('/')))
  }

  getTags(name: string) {
    return this.call('getTags', [name], () => ({ ...this.held(name).tags }))
  }

  putParameter(write: ParameterWrite) {
    return this.call('putParameter', [write.name], () => {
      if (write.tags && write.overwrite) throw awsError('ValidationException', 400, "tags and overwrite can't be used together")
      const held = this.parameters.get(write.name)
      if (held && !write.overwrite) throw awsError('ParameterAlreadyExists', 400)
      if (held && held.type !== 'SecureString') throw awsError('HierarchyTypeMismatchException', 400)
      const version = (held?.version ?? 0) + 1
      this.parameters.set(write.name, { value: write.value, type: 'SecureString', version, tags: { ...held?.tags, ...write.tags } })
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
      const deleted = names.filter((name) => this.parameters.delete(name))
      return { deleted, missing: names.filter((name) => !deleted.includes(name)) }
    })
  }

  private held(name: string): Held {
    const held = this.parameters.get(name)
    if (!held) throw awsError('InvalidResourceId', 400)
    return held
  }
}
