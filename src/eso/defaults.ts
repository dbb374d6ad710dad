import { parseGoDuration } from './duration.js'

/**
 * The ExternalSecret CRD's OpenAPI defaults: the values the API server writes into a field a manifest leaves out.
 * Read from external-secrets/external-secrets `config/crds/bases/external-secrets.io_externalsecrets.yaml`, the
 * served versions (v1, v1beta1) of every release from v0.9.0 to v2.9.0 together: a cluster may run any of them, and a
 * field holding its default means to the operator what its absence means (v2.9.0 dropped the strategy defaults,
 * 6965e61ed "stop defaulting optional ExternalSecret strategy fields", and reads an empty strategy as the default).
 * `[]` stands for any index of a list. Pure.
 */
const DEFAULTS: Readonly<Record<string, string>> = {
  'spec.refreshInterval': '1h',
  'spec.target.creationPolicy': 'Owner',
  'spec.target.deletionPolicy': 'Retain',
  'spec.target.template.engineVersion': 'v2',
  'spec.target.template.mergePolicy': 'Replace',
  'spec.target.template.templateFrom[].target': 'Data',
  'spec.target.template.templateFrom[].valuesDecodingStrategy': 'None',
  'spec.target.template.templateFrom[].configMap.items[].templateAs': 'Values',
  'spec.target.template.templateFrom[].secret.items[].templateAs': 'Values',
  'spec.data[].remoteRef.conversionStrategy': 'Default',
  'spec.data[].remoteRef.decodingStrategy': 'None',
  'spec.data[].remoteRef.metadataPolicy': 'None',
  'spec.data[].remoteRef.nullBytePolicy': 'Ignore',
  'spec.data[].sourceRef.generatorRef.apiVersion': 'generators.external-secrets.io/v1alpha1',
  'spec.dataFrom[].extract.conversionStrategy': 'Default',
  'spec.dataFrom[].extract.decodingStrategy': 'None',
  'spec.dataFrom[].extract.metadataPolicy': 'None',
  'spec.dataFrom[].extract.nullBytePolicy': 'Ignore',
  'spec.dataFrom[].find.conversionStrategy': 'Default',
  'spec.dataFrom[].find.decodingStrategy': 'None',
  'spec.dataFrom[].find.nullBytePolicy': 'Ignore',
  'spec.dataFrom[].rewrite[].merge.conflictPolicy': 'Error',
  'spec.dataFrom[].rewrite[].merge.into': '',
  'spec.dataFrom[].rewrite[].merge.priorityPolicy': 'Strict',
  'spec.dataFrom[].rewrite[].merge.strategy': 'Extract',
  'spec.dataFrom[].sourceRef.generatorRef.apiVersion': 'generators.external-secrets.io/v1alpha1'
}

/** The paths whose value is a Go duration (metav1.Duration): compared by value, as ESO reads them. */
const DURATIONS: ReadonlySet<string> = new Set(['spec.refreshInterval'])

/** `spec.data[].remoteRef.key` for ['spec', 'data', 0, 'remoteRef', 'key']. */
export function schemaPath(path: ReadonlyArray<string | number>): string {
  return path
    .map((segment) => (typeof segment === 'number' ? '[]' : `.${segment}`))
    .join('')
    .slice(1)
}

/** Whether two values of a field are the same: by text, or by value for a duration. */
export function sameValue(path: ReadonlyArray<string | number>, a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (!DURATIONS.has(schemaPath(path)) || typeof a !== 'string' || typeof b !== 'string') return false
  const duration = parseGoDuration(a)
  return duration !== undefined && duration === parseGoDuration(b)
}

/**
 * Whether a field the cluster holds where the manifest has nothing is what the API server fills in: its CRD default.
 * The server fills in no list.
 */
export function isCrdDefault(path: ReadonlyArray<string | number>, value: unknown): boolean {
  const wanted = DEFAULTS[schemaPath(path)]
  return wanted !== undefined && sameValue(path, wanted, value)
}
