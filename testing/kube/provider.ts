/**
 * The operator's AWS Parameter Store provider: turns an ExternalSecret's `dataFrom` and `data` into Secret data,
 * with external-secrets' own error texts. Reads always decrypt. Each item reads through its store (its
 * `sourceRef.storeRef`, else `spec.secretStoreRef`: pkg/controllers/secretstore/client_manager.go Get), whose
 * `spec.provider.aws.prefix` goes before every `data` and `extract` key, as `pm.prefix + ref.Key`, while a `find`
 * lists its `path` as written, `/` when it has none (providers/v1/aws/parameterstore/parameterstore.go,
 * parameterNameWithVersion and findByName).
 */
import { GetParameterCommand, GetParametersByPathCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm'
import type { ExternalSecretSpec, FindRef, RemoteRef, Rewrite, SourceRef } from './externalsecret.ts'
import { isObject } from './json.ts'

export interface ParameterSource {
  /** The decrypted value, or undefined when the parameter does not exist. */
  get(name: string): Promise<string | undefined>
  /** Every parameter under the path, recursively, decrypted. */
  byPath(path: string): Promise<{ name: string; value: string }[]>
  close(): void
}

export function ssmSource(endpoint: string, region: string): ParameterSource {
  const client = new SSMClient({
    endpoint,
    region,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' }
  })
  return {
    async get(name) {
      try {
        const out = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }))
        return out.Parameter?.Value ?? ''
      } catch (error) {
        if (error instanceof ParameterNotFound) return undefined
        throw error
      }
    },
    async byPath(path) {
      const found: { name: string; value: string }[] = []
      let NextToken: string | undefined
      do {
        const out = await client.send(
          new GetParametersByPathCommand({ Path: path, Recursive: true, WithDecryption: true, NextToken })
        )
        found.push(...(out.Parameters ?? []).map((p) => ({ name: p.Name ?? '', value: p.Value ?? '' })))
        NextToken = out.NextToken
      } while (NextToken)
      return found
    },
    close: () => client.destroy()
  }
}

/** esv1.NoSecretErr. */
class NoSecretError extends Error {
  constructor() {
    super('Secret does not exist')
  }
}

/** Called for a missing provider secret when deletionPolicy is not Retain (the operator records a Normal Event). */
export type OnMissing = (message: string) => void

/**
 * The prefix of the store an item reads through (its `sourceRef`, else the ExternalSecret's store); throws the
 * client manager's error when that store cannot be got.
 */
export type PrefixOf = (sourceRef: SourceRef | undefined) => string

/** `getProviderSecretData`: dataFrom first, then data; the first error stops everything. */
export async function fetchSecretData(
  spec: ExternalSecretSpec,
  source: ParameterSource,
  onMissing: OnMissing,
  prefixOf: PrefixOf
): Promise<Record<string, string>> {
  const data: Record<string, string> = {}
  const retain = (spec.target?.deletionPolicy ?? 'Retain') === 'Retain'
  for (const [i, item] of (spec.dataFrom ?? []).entries()) {
    const where = item.find ? 'find' : 'extract'
    try {
      const prefix = item.find || item.extract ? prefixOf(item.sourceRef) : ''
      const found = item.find
        ? await findAll(item.find, source)
        : item.extract
          ? await extract(item.extract, source, prefix)
          : {}
      Object.assign(data, validateKeys(rewrite(found, item.rewrite ?? [])))
    } catch (error) {
      if (error instanceof NoSecretError && !retain) {
        onMissing(`secret does not exist at provider using spec.dataFrom[${i}]`)
        continue
      }
      throw new Error(`error processing spec.dataFrom[${i}].${where}, err: ${messageOf(error)}`, { cause: error })
    }
  }
  for (const [i, { secretKey, remoteRef, sourceRef }] of (spec.data ?? []).entries()) {
    try {
      data[secretKey] = await getSecret(remoteRef, source, prefixOf(sourceRef))
    } catch (error) {
      if (error instanceof NoSecretError && !retain) {
        onMissing(`secret does not exist at provider using spec.dataFrom[${i}] (key=${remoteRef.key})`)
        continue
      }
      throw new Error(`error processing spec.data[${i}] (key: ${remoteRef.key}), err: ${messageOf(error)}`, {
        cause: error
      })
    }
  }
  return data
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** `GetSecret`: the parameter `prefix + key` (`:version` when pinned); messages name the key as written. */
async function getSecret(ref: RemoteRef, source: ParameterSource, prefix: string): Promise<string> {
  const name = `${prefix}${ref.key}`
  const value = await source.get(ref.version ? `${name}:${ref.version}` : name)
  if (value === undefined) throw new NoSecretError()
  if (!ref.property) return value
  const found = property(value, ref.property)
  if (found === undefined) throw new Error(`key ${ref.property} does not exist in secret ${ref.key}`)
  return found
}

/** gjson-like: the property as one key first (it may contain dots), else as a dotted path. */
function property(value: string, path: string): string | undefined {
  let node: unknown
  try {
    node = JSON.parse(value)
  } catch {
    return undefined
  }
  const found =
    isObject(node) && path in node
      ? node[path]
      : path.split('.').reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), node)
  return found === undefined ? undefined : typeof found === 'string' ? found : JSON.stringify(found)
}

async function extract(ref: RemoteRef, source: ParameterSource, prefix: string): Promise<Record<string, string>> {
  const value = await getSecret(ref, source, prefix)
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (error) {
    throw new Error(`unable to unmarshal secret ${ref.key}: ${messageOf(error)}`, { cause: error })
  }
  if (!isObject(parsed))
    throw new Error(
      `unable to unmarshal secret ${ref.key}: json: cannot unmarshal ${typeof parsed} into Go value of type map[string]json.RawMessage`
    )
  return Object.fromEntries(
    Object.entries(parsed).map(([key, item]) => [key, typeof item === 'string' ? item : JSON.stringify(item)])
  )
}

/**
 * `findByName`: GetParametersByPath (recursive) under `path` as written, without the store's prefix (default "/"),
 * filtered by an unanchored regexp over the full names.
 */
async function findAll(find: FindRef, source: ParameterSource): Promise<Record<string, string>> {
  if (find.tags) throw new Error('error getting all secrets: find by tags is not simulated by the test API server')
  if (!find.name) throw new Error('error getting all secrets: unexpected find operator')
  const matcher = new RegExp(find.name.regexp ?? '')
  const path = find.path ?? '/'
  let found: { name: string; value: string }[]
  try {
    found = await source.byPath(path)
  } catch (error) {
    throw new Error(`error getting all secrets: fetching parameters by path ${path}: ${messageOf(error)}`, {
      cause: error
    })
  }
  return Object.fromEntries(found.filter(({ name }) => matcher.test(name)).map(({ name, value }) => [name, value]))
}

/** `rewrite[].regexp`: Go's ReplaceAllString over each key, in order. */
function rewrite(data: Record<string, string>, rules: Rewrite[]): Record<string, string> {
  return rules.reduce((current, rule) => {
    if (!rule.regexp) return current
    const pattern = new RegExp(rule.regexp.source, 'g')
    const target = rule.regexp.target.replace(/\$\{(\w+)\}/g, (_, name: string) =>
      /^\d+$/.test(name) ? `$${name}` : `$<${name}>`
    )
    return Object.fromEntries(Object.entries(current).map(([key, value]) => [key.replace(pattern, target), value]))
  }, data)
}

/** `utils.ValidateKeys`: empty keys are dropped, others must be letters, digits, '-', '.' or '_' (at most 253). */
function validateKeys(data: Record<string, string>): Record<string, string> {
  const kept = Object.entries(data).filter(([key]) => key !== '')
  for (const [key] of kept) {
    if (key.length > 253)
      throw new Error(
        `invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): key has length ${key.length} but max is 253`
      )
    const bad = [...key].find((char) => !/[\p{L}\p{N}._-]/u.test(char))
    if (bad) {
      throw new Error(
        `invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): key has invalid character ${bad}, only alphanumeric, '-', '.' and '_' are allowed: ${key}`
      )
    }
  }
  return Object.fromEntries(kept)
}
