/**
 * Bad input, run through the bundled action: each case fails with an error naming the input,
 * exits non-zero, and sends no request at all (asserted on the proxy's request log).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { runBundledAction } from '../../testing/action.ts'
import { findLeaks } from '../../testing/leaks.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'
import { startSsmProxy, type SsmProxy } from '../../testing/ssm-proxy.ts'

const AWS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' }
const VALUE = 'correct-horse-battery-staple'

let moto: MotoServer
let proxy: SsmProxy
beforeAll(async () => {
  moto = await startMoto()
  proxy = await startSsmProxy(moto.endpoint)
})
afterAll(async () => {
  await proxy?.close()
  await moto?.stop()
})

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: ci, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: ci, user: { token: ${VALUE} } }]
contexts: [{ name: ci, context: { cluster: ci, user: ci } }]
current-context: ci
`
const json = (secrets: Record<string, unknown>) => JSON.stringify(secrets)
const levels = (count: number) => `/${Array.from({ length: count }, (_, i) => `l${i}`).join('/')}`

/** [what, the input expected in the error, the inputs that differ from a valid run, the environment] */
const CASES: Array<[string, string, Record<string, string>, Record<string, string>?]> = [
  ['malformed JSON', 'secrets', { secrets: `{"A": "${VALUE}"` }],
  ['a JSON array', 'secrets', { secrets: `["${VALUE}"]` }],
  ['a JSON string', 'secrets', { secrets: `"${VALUE}"` }],
  ['a nested object', 'secrets', { secrets: json({ A: { inner: VALUE } }) }],
  ['a number value', 'secrets', { secrets: '{"PORT": 5432}' }],
  ['a null value', 'secrets', { secrets: '{"A": null}' }],
  ['a boolean value', 'secrets', { secrets: '{"A": true}' }],
  ['a list value', 'secrets', { secrets: json({ A: [VALUE] }) }],
  ['a YAML list', 'secrets', { secrets: `- ${VALUE}\n- b` }],
  ['malformed YAML', 'secrets', { secrets: `A: [${VALUE}` }],
  ['a YAML name given twice', 'secrets', { secrets: `A: ${VALUE}\nA: other` }],
  ['a JSON name given twice', 'secrets', { secrets: `{"A": "${VALUE}", "B": "x", "A": "other"}` }],
  ['YAML text that is no mapping', 'secrets', { secrets: VALUE }],
  ['names equal after lower-casing', 'secrets', { secrets: json({ DATABASE_URL: VALUE, database_url: 'x' }) }],
  ['a hyphen in a name', 'secrets', { secrets: json({ 'DB-URL': VALUE }) }],
  ['a dot in a name', 'secrets', { secrets: json({ 'DB.URL': VALUE }) }],
  ['a space in a name', 'secrets', { secrets: json({ 'DB URL': VALUE }) }],
  ['a non-ASCII name', 'secrets', { secrets: json({ CAFÉ: VALUE }) }],
  ['an emoji name', 'secrets', { secrets: json({ 'KEY_🔑': VALUE }) }],
  ['a slash in a name', 'secrets', { secrets: json({ 'A/B': VALUE }) }],
  ['an empty value', 'secrets', { secrets: json({ A: '' }) }],
  ['a whitespace-only value', 'secrets', { secrets: json({ A: '  \t ' }) }],
  ['a newline-only value', 'secrets', { secrets: json({ A: '\n\n' }) }],
  ['4,097 bytes in Standard', 'secrets', { secrets: json({ A: 'x'.repeat(4097) }) }],
  ['4,098 bytes of multi-byte characters in Standard', 'secrets', { secrets: json({ A: '€'.repeat(1366) }) }],
  ['8,193 bytes in Advanced', 'secrets', { secrets: json({ A: 'x'.repeat(8193) }), tier: 'Advanced' }],
  ['8,193 bytes in Intelligent-Tiering', 'secrets', { secrets: json({ A: 'y'.repeat(8193) }), tier: 'Intelligent-Tiering' }],
  ['48 KB, a GitHub secret no tier holds', 'secrets', { secrets: json({ A: 'z'.repeat(48 * 1024) }), tier: 'Advanced' }],
  ['a name that strip-prefix leaves empty', 'secrets', { secrets: json({ PROD_: VALUE, PROD_A: 'x' }), 'strip-prefix': 'prod_' }],
  ['strip-prefix selecting nothing', 'include', { 'strip-prefix': 'STG_' }],
  ['include selecting nothing', 'include', { include: 'NOPE_*' }],
  ['exclude excluding everything', 'include', { exclude: '*' }],
  ['no environment', 'environment', { environment: '' }],
  ['an upper-case environment', 'environment', { environment: 'Prod' }],
  ['a slash in the environment', 'environment', { environment: 'prod/eu' }],
  ['no service', 'service', { service: '' }],
  ['a dot in the service', 'service', { service: 'payments.api' }],
  ['a path prefix under /aws', 'path-prefix', { 'path-prefix': '/aws' }],
  ['a path prefix under /ssm', 'path-prefix', { 'path-prefix': '/ssm/secrets' }],
  ['a path prefix under /AWS in capitals', 'path-prefix', { 'path-prefix': '/AWS-config' }],
  ['a path prefix without a leading slash', 'path-prefix', { 'path-prefix': 'zerotouch' }],
  ['a path prefix with an empty segment', 'path-prefix', { 'path-prefix': '/zero//touch' }],
  ['a path prefix with a space', 'path-prefix', { 'path-prefix': '/zero touch' }],
  ['16 levels of path', 'path-prefix', { 'path-prefix': levels(13) }],
  ['an unknown tier', 'tier', { tier: 'Premium' }],
  ['a tag line without "="', 'tags', { tags: 'team' }],
  ['the reserved managed-by tag', 'tags', { tags: 'managed-by=me' }],
  ['an aws: tag key', 'tags', { tags: 'aws:team=x' }],
  ['prune: yes', 'prune', { prune: 'yes' }],
  ['dry-run: 1', 'dry-run', { 'dry-run': '1' }],
  ['wait: maybe', 'wait', { wait: 'maybe', namespace: 'payments' }],
  ['verify-references: nope', 'verify-references', { 'verify-references': 'nope' }],
  ['timeout: soon', 'timeout', { timeout: 'soon' }],
  ['a negative timeout', 'timeout', { timeout: '-5s' }],
  ['a zero timeout', 'timeout', { timeout: '0' }],
  ['an unclosed label selector set', 'label-selector', { 'label-selector': 'app in (web' }],
  ['a label selector without a key', 'label-selector', { 'label-selector': '=x' }],
  ['an invalid label value', 'label-selector', { 'label-selector': 'app=-web' }],
  ['an invalid annotation key', 'annotation-key', { 'annotation-key': '-force-sync' }],
  ['an upper-case namespace', 'namespace', { namespace: 'Payments' }],
  ['an SSM endpoint that is no http URL', 'ssm-endpoint', { 'ssm-endpoint': 'ftp://127.0.0.1:1' }],
  ['no AWS region anywhere', 'aws-region', {}, { AWS_REGION: '' }],
  ['a malformed region', 'aws-region', { 'aws-region': 'Europe' }],
  ['definitions-base without definitions', 'definitions-base', { 'definitions-base': 'tenants/payments/base' }],
  ['an unknown kube context', 'kube-context', { namespace: 'payments', kubeconfig: KUBECONFIG, 'kube-context': 'prod-cluster' }],
  ['a kubeconfig without a current context', 'kube-context', { namespace: 'payments', kubeconfig: KUBECONFIG.replace('current-context: ci', '') }],
  ['a kubeconfig that is no YAML', 'kubeconfig', { namespace: 'payments', kubeconfig: `token: [${VALUE}` }],
  ['no kubeconfig anywhere', 'kubeconfig', { namespace: 'payments' }, { HOME: '/nonexistent', KUBECONFIG: '' }]
]

describe('bad input', () => {
  it('has a corpus of at least 50 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(50))

  it.each(CASES)('refuses %s, naming %s, with no request sent', async (_what, input, inputs, env = {}) => {
    proxy.calls.length = 0
    const valid = { environment: 'prod', service: 'payments', secrets: json({ PROD_DATABASE_URL: VALUE }), 'ssm-endpoint': proxy.endpoint }
    const result = await runBundledAction({ ...valid, ...inputs }, { ...AWS, ...env })
    expect(result.exitCode).not.toBe(0)
    const error = result.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? ''
    expect(error).toContain(`${input}: `)
    expect(error).toContain('[ZT100]')
    expect(proxy.calls).toEqual([])
    expect(findLeaks({ stdout: result.stdout, stderr: result.stderr, outputs: JSON.stringify(result.outputs), summary: result.summary }, [VALUE])).toEqual([])
  })
})
