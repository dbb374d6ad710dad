/**
 * The bad-input corpus: each case is a run that must fail ZT100 with an error naming the input,
 * before any request, never showing VALUE. __tests__/unit/bad-input.test.ts runs every case
 * through run() in-process; __tests__/faults/bad-input.test.ts runs a few through the bundle.
 */
import { tokenKubeconfig } from './kubeconfig.js'

/** The one secret value of the corpus: it must appear nowhere a reader of the step can see. */
export const VALUE = 'correct-horse-battery-staple'

/** The inputs of a valid push-only run; each case changes some of them. */
export const VALID = { environment: 'prod', service: 'payments', secrets: JSON.stringify({ PROD_DATABASE_URL: VALUE }) }

const KUBECONFIG = tokenKubeconfig(VALUE)
const json = (secrets: Record<string, unknown>) => JSON.stringify(secrets)
const levels = (count: number) => `/${Array.from({ length: count }, (_, i) => `l${i}`).join('/')}`

/** [what, the input expected in the error, the inputs that differ from a valid run, the environment] */
export const CASES: Array<[string, string, Record<string, string>, Record<string, string>?]> = [
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
  [
    '8,193 bytes in Intelligent-Tiering',
    'secrets',
    { secrets: json({ A: 'y'.repeat(8193) }), tier: 'Intelligent-Tiering' }
  ],
  [
    '48 KB, a GitHub secret no tier holds',
    'secrets',
    { secrets: json({ A: 'z'.repeat(48 * 1024) }), tier: 'Advanced' }
  ],
  [
    'a name that strip-prefix leaves empty',
    'secrets',
    { secrets: json({ PROD_: VALUE, PROD_A: 'x' }), 'strip-prefix': 'prod_' }
  ],
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
  ['an unknown mode', 'mode', { mode: 'audit' }],
  ['a fail-on-drift that is no boolean', 'fail-on-drift', { 'fail-on-drift': 'maybe' }],
  [
    'restore-to in check mode',
    'restore-to',
    { mode: 'check', secrets: '', namespace: 'payments', 'restore-to': 'run:42' }
  ],
  [
    'definitions in check mode without a namespace',
    'definitions',
    { mode: 'check', definitions: 'tenants/payments/overlays/prod' }
  ],
  [
    'an unknown kube context',
    'kube-context',
    { namespace: 'payments', kubeconfig: KUBECONFIG, 'kube-context': 'prod-cluster' }
  ],
  [
    'a kubeconfig without a current context',
    'kube-context',
    { namespace: 'payments', kubeconfig: KUBECONFIG.replace('current-context: ci', '') }
  ],
  ['a kubeconfig that is no YAML', 'kubeconfig', { namespace: 'payments', kubeconfig: `token: [${VALUE}` }],
  ['no kubeconfig anywhere', 'kubeconfig', { namespace: 'payments' }, { HOME: '/nonexistent', KUBECONFIG: '' }]
]
