import { parse } from 'yaml'
import { InputProblem } from '../errors.js'

/**
 * The credential values in a kubeconfig, to mask before the kubeconfig is used. Pure.
 * Covers users[].user: token, password, client-key-data, client-certificate-data, every
 * auth-provider config value whose name says token, secret, password or key, and exec env values
 * and secret-looking arguments.
 */
export function kubeconfigCredentials(content: string): string[] {
  let document: unknown
  try {
    document = parse(content)
  } catch {
    return []
  }
  const found = new Set<string>()
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.trim()) found.add(value.trim())
  }
  for (const entry of asArray(record(document)?.users)) {
    const user = record(record(entry)?.user)
    if (!user) continue
    for (const field of ['token', 'password', 'client-key-data', 'client-certificate-data']) add(user[field])
    const provider = record(record(user['auth-provider'])?.config)
    for (const [name, value] of Object.entries(provider ?? {})) if (SECRET_NAME.test(name)) add(value)
    const exec = record(user.exec)
    for (const variable of asArray(exec?.env)) add(record(variable)?.value)
    execArgumentSecrets(asArray(exec?.args)).forEach(add)
  }
  return [...found]
}

const SECRET_NAME = /token|secret|password|passwd|key|credential/i

/** `--token=x`, `--token x`, `--client-secret x`: the values after secret-looking flags. */
function execArgumentSecrets(args: unknown[]): string[] {
  const values: string[] = []
  args.forEach((arg, index) => {
    if (typeof arg !== 'string' || !arg.startsWith('-')) return
    const [flag, inline] = arg.split(/=(.*)/s, 2)
    if (!SECRET_NAME.test(flag)) return
    const value = inline ?? args[index + 1]
    if (typeof value === 'string' && value && !value.startsWith('-')) values.push(value)
  })
  return values
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

/** Where the kubeconfig comes from, in the order the action looks. */
export type KubeconfigSource =
  | { readonly kind: 'content'; readonly content: string }
  | { readonly kind: 'files'; readonly files: string[] }
  | { readonly kind: 'in-cluster' }
  | { readonly kind: 'none' }

/** Input content, then KUBECONFIG (path list), then ~/.kube/config, then in-cluster. Pure. */
export function kubeconfigSource(
  content: string,
  env: Readonly<Record<string, string | undefined>>,
  home: string | undefined,
  exists: (path: string) => boolean,
  delimiter = ':'
): KubeconfigSource {
  if (content.trim()) return { kind: 'content', content }
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean)
  const files = listed.filter(exists)
  if (files.length) return { kind: 'files', files }
  if (home && exists(`${home}/.kube/config`)) return { kind: 'files', files: [`${home}/.kube/config`] }
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) return { kind: 'in-cluster' }
  return { kind: 'none' }
}

/**
 * Checks, before anything is written, that the sync phase will find a kubeconfig and the context
 * it needs: a wrong kube-context must not be discovered after the push. Pure: `read` gives the
 * content of a kubeconfig file. Messages name inputs and contexts, never content.
 */
export function kubeconfigProblem(source: KubeconfigSource, read: (file: string) => string, context: string): InputProblem | undefined {
  if (source.kind === 'none') {
    return new InputProblem('kubeconfig', 'no kubeconfig: set the kubeconfig input (the file content, e.g. from a secret), or KUBECONFIG, or provide ~/.kube/config, or run the job inside the cluster')
  }
  if (source.kind === 'in-cluster') {
    return context ? new InputProblem('kube-context', `"${context}" cannot be used: there is no kubeconfig, only the in-cluster service account`) : undefined
  }
  const documents: Array<Record<string, unknown> | undefined> = []
  for (const text of source.kind === 'content' ? [source.content] : source.files.map(read)) {
    try {
      documents.push(record(parse(text)))
    } catch {
      return new InputProblem('kubeconfig', `${source.kind === 'content' ? 'the input' : 'a KUBECONFIG file'} is not valid YAML`)
    }
  }
  const contexts = documents.flatMap((document) => asArray(document?.contexts).map((entry) => record(entry)?.name)).filter((name): name is string => typeof name === 'string')
  const available = contexts.length ? contexts.map((name) => `"${name}"`).join(', ') : 'none'
  const wanted = context || documents.map((document) => document?.['current-context']).find((name): name is string => typeof name === 'string' && name !== '')
  if (!wanted) return new InputProblem('kube-context', `the kubeconfig has no current-context: set kube-context to one of: ${available}`)
  if (!contexts.includes(wanted)) return new InputProblem('kube-context', `the kubeconfig has no context "${wanted}"; available contexts: ${available}`)
  return undefined
}
