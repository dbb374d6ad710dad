import { parse } from 'yaml'
import { asArray, asRecord } from '../json.js'

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
  for (const entry of asArray(asRecord(document)?.users)) {
    const user = asRecord(asRecord(entry)?.user)
    if (!user) continue
    for (const field of ['token', 'password', 'client-key-data', 'client-certificate-data']) add(user[field])
    const provider = asRecord(asRecord(user['auth-provider'])?.config)
    for (const [name, value] of Object.entries(provider ?? {})) if (SECRET_NAME.test(name)) add(value)
    const exec = asRecord(user.exec)
    for (const variable of asArray(exec?.env)) add(asRecord(variable)?.value)
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

/** Whether the text parses as YAML. */
export function isYaml(text: string): boolean {
  try {
    parse(text)
    return true
  } catch {
    return false
  }
}
