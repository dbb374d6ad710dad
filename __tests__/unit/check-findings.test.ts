import { describe, expect, it } from '@jest/globals'
import {
  definitionFinding,
  editedOutside,
  extraFindings,
  latestReads,
  needsHistory,
  needsTags,
  notReadyFinding,
  regionFindings,
  stalePodsFinding,
  staleSecretFinding,
  timeText,
  valueFindings
} from '../../src/check/findings.js'
import { FINDING_KINDS, FINDING_MEANINGS, sortFindings, type Finding } from '../../src/check/kinds.js'
import { checkLogLines, checkOutputs, checkSummary } from '../../src/check/report.js'
import { checkPhase, type CheckInput } from '../../src/check/phase.js'
import type { CheckReport } from '../../src/check/check.js'
import { referencesOf, type ExternalSecret } from '../../src/eso/model.js'
import { describeVersion, type Writer } from '../../src/history/provenance.js'
import { parseLabelSelector } from '../../src/k8s/label-selector.js'
import type { KubeEvent } from '../../src/k8s/types.js'
import { serviceTarget } from '../../src/ssm/rules.js'
import type { ParameterStatus } from '../../src/ssm/store.js'
import { DEFAULT_RETRY_POLICY } from '../../src/ssm/retry.js'
import type { Workload } from '../../src/workloads/model.js'

const PATH = '/zerotouch/prod/payments'
const AT = Date.UTC(2026, 11, 7, 10, 0, 5, 250)

const workflow = (runId: number): Writer => ({
  kind: 'workflow',
  run: {
    serverUrl: 'https://github.com',
    owner: 'acme',
    repo: 'payments',
    sha: 'a'.repeat(40),
    workflow: 'release',
    runId,
    runAttempt: 1
  }
})
const LOCAL = describeVersion({ kind: 'local', host: 'laptop' })

function status(version: number, description?: string, extra: Partial<ParameterStatus> = {}): ParameterStatus {
  return {
    name: `${PATH}/api_key`,
    tier: 'Standard',
    version,
    description,
    modifiedAt: AT,
    modifiedBy: 'arn:aws:iam::123456789012:user/jane',
    ...extra
  }
}

function history(...descriptions: Array<string | undefined>) {
  return {
    name: `${PATH}/api_key`,
    versions: descriptions.map((description, index) => ({
      version: index + 1,
      value: 'ENCRYPTED',
      modifiedAt: AT,
      description
    }))
  }
}

function externalSecret(
  ready?: { status: string; reason?: string; message?: string },
  refreshTime?: string
): ExternalSecret {
  return {
    metadata: { name: 'payments-db', namespace: 'payments-prod', uid: 'uid-1' },
    spec: {
      refreshInterval: '1h',
      target: { name: 'payments-db-secret' },
      data: [
        { secretKey: 'URL', remoteRef: { key: `${PATH}/database_url` } },
        { secretKey: 'OLD', remoteRef: { key: `${PATH}/old_url`, version: '3' } }
      ],
      dataFrom: [{ find: { path: PATH, name: { regexp: 'stripe' } } }]
    },
    status: {
      ...(refreshTime && { refreshTime }),
      ...(ready && { conditions: [{ type: 'Ready', ...ready }] })
    }
  }
}

describe('the finding kinds', () => {
  it('each have a meaning, and findings sort by kind, then by name', () => {
    expect(Object.keys(FINDING_MEANINGS)).toEqual([...FINDING_KINDS])
    const found: Finding[] = [
      { kind: 'stale-pods', name: 'a/Deployment/x', detail: '' },
      { kind: 'missing', name: `${PATH}/z`, detail: '' },
      { kind: 'missing', name: `${PATH}/b`, detail: '' },
      { kind: 'differs', name: `${PATH}/a`, detail: '' }
    ]
    expect(sortFindings(found).map(({ kind, name }) => `${kind} ${name}`)).toEqual([
      `missing ${PATH}/b`,
      `missing ${PATH}/z`,
      `differs ${PATH}/a`,
      'stale-pods a/Deployment/x'
    ])
  })

  it('show times to the second, in UTC', () => expect(timeText(AT)).toBe('2026-12-07T10:00:05Z'))
})

describe('missing and differs', () => {
  const secrets = [
    { source: 'API_KEY', key: 'api_key', value: 'secret-one' },
    { source: 'DB_URL', key: 'db_url', value: 'postgres://two' },
    { source: 'TOKEN', key: 'token', value: 'tok-three' },
    { source: 'PLAIN', key: 'plain', value: 'same' }
  ]
  const current = [
    { name: `${PATH}/api_key`, value: 'secret-one', type: 'SecureString', version: 2 },
    { name: `${PATH}/db_url`, value: 'postgres://console', type: 'SecureString', version: 5 },
    { name: `${PATH}/plain`, value: 'same', type: 'String', version: 1 }
  ]
  const found = valueFindings(secrets, PATH, current)

  it('names a key without a parameter, a value that differs and a parameter of another type; an equal value is none', () => {
    expect(found).toEqual([
      {
        kind: 'differs',
        name: `${PATH}/db_url`,
        detail: 'version 5 holds another value than DB_URL: a release writes a new version'
      },
      {
        kind: 'missing',
        name: `${PATH}/token`,
        detail: 'key token (from TOKEN) has no parameter: a release creates it'
      },
      {
        kind: 'differs',
        name: `${PATH}/plain`,
        detail:
          "version 1 is a String parameter; the action writes SecureString, and SSM cannot change a parameter's type: delete it or move it first"
      }
    ])
  })

  it('never shows a value', () => {
    const text = JSON.stringify(found)
    for (const value of ['secret-one', 'postgres://two', 'postgres://console', 'tok-three'])
      expect(text).not.toContain(value)
  })

  it('compares byte for byte: a value differing only in case or trailing space differs', () => {
    const near = [{ ...current[0], value: 'Secret-one' }]
    expect(valueFindings(secrets.slice(0, 1), PATH, near).map(({ kind }) => kind)).toEqual(['differs'])
    const spaced = [{ ...current[0], value: 'secret-one ' }]
    expect(valueFindings(secrets.slice(0, 1), PATH, spaced).map(({ kind }) => kind)).toEqual(['differs'])
  })
})

describe('region-differs', () => {
  const names = ['a', 'b', 'c', 'd', 'e'].map((key) => `${PATH}/${key}`)
  const held = (key: string, value: string, version = 1, type = 'SecureString') => ({
    name: `${PATH}/${key}`,
    value,
    type,
    version
  })
  const primary = {
    region: 'eu-west-1',
    parameters: [held('a', 'same', 3), held('b', 'primary-b', 4), held('c', 'primary-c', 2), held('e', 'plain', 1)]
  }
  const replica = {
    region: 'us-west-2',
    parameters: [
      held('a', 'same', 1),
      held('b', 'replica-b', 2),
      held('d', 'replica-d', 1),
      held('e', 'plain', 1, 'String')
    ]
  }
  const found = regionFindings(names, primary, replica)

  it('names a parameter the replica lacks, holds with another value or type, or holds alone; an equal value is none', () => {
    expect(found).toEqual([
      {
        kind: 'region-differs',
        name: `${PATH}/b`,
        detail:
          "us-west-2's version 2 holds another value than version 4 in eu-west-1, the primary: a release writes the value given in both"
      },
      {
        kind: 'region-differs',
        name: `${PATH}/c`,
        detail: 'us-west-2 has no parameter, while eu-west-1, the primary, holds version 2: a release writes it there'
      },
      {
        kind: 'region-differs',
        name: `${PATH}/d`,
        detail: 'us-west-2 holds version 1, while eu-west-1, the primary, has none'
      },
      {
        kind: 'region-differs',
        name: `${PATH}/e`,
        detail:
          "us-west-2's version 1 holds another value than version 1 in eu-west-1, the primary: a release writes the value given in both"
      }
    ])
  })

  it('compares the values, not the versions (each region numbers its own), and never shows a value', () => {
    expect(regionFindings([`${PATH}/a`], primary, replica)).toEqual([])
    const text = JSON.stringify(found)
    for (const value of ['same', 'primary-b', 'replica-b', 'primary-c', 'replica-d']) expect(text).not.toContain(value)
  })

  it('finds nothing for a name neither region holds', () => {
    expect(regionFindings([`${PATH}/none`], primary, replica)).toEqual([])
  })
})

describe('extra', () => {
  it('names each parameter of the action that secrets no longer has', () => {
    expect(extraFindings([`${PATH}/old`])).toEqual([
      {
        kind: 'extra',
        name: `${PATH}/old`,
        detail: 'tagged managed-by=zerotouch-secrets and no longer in secrets: a release with prune: true deletes it'
      }
    ])
    expect(extraFindings([])).toEqual([])
  })
})

describe('edited-outside', () => {
  const run100 = describeVersion(workflow(100))
  const run101 = describeVersion(workflow(101))
  const restored = describeVersion(workflow(102), { version: 1, asOf: AT })
  const managed = { 'managed-by': 'zerotouch-secrets' }

  it('reads a history only for a version after the first carrying a workflow run record', () => {
    expect(needsHistory(status(2, run101))).toBe(true)
    expect(needsHistory(status(2, restored))).toBe(true)
    expect(needsHistory(status(1, run100))).toBe(false)
    expect(needsHistory(status(2, LOCAL))).toBe(false)
    expect(needsHistory(status(2, 'hotfix'))).toBe(false)
    expect(needsHistory(status(2))).toBe(false)
  })

  it('reads the tags only for a version carrying no record of the action', () => {
    expect(needsTags(status(2, 'hotfix'))).toBe(true)
    expect(needsTags(status(2))).toBe(true)
    expect(needsTags(status(2, run100))).toBe(false)
    expect(needsTags(status(2, LOCAL))).toBe(false)
    expect(needsTags(status(2, restored))).toBe(false)
  })

  it("names a version without the action's record on a parameter of the action, with version, time and user", () => {
    expect(editedOutside(status(3, 'rotated in the incident'), { tags: managed })).toEqual({
      kind: 'edited-outside',
      name: `${PATH}/api_key`,
      detail:
        'version 3 (written at 2026-12-07T10:00:05Z by arn:aws:iam::123456789012:user/jane) carries no record of this action in its Description: it was written outside the action (console or CLI)'
    })
    expect(editedOutside(status(1), { tags: managed })?.kind).toBe('edited-outside')
    expect(
      editedOutside(status(3, 'x', { modifiedAt: undefined, modifiedBy: undefined }), { tags: managed })?.detail
    ).toMatch(/^version 3 \(written at an unknown time by an unknown principal\)/)
  })

  it("leaves a parameter that is not the action's (created by hand with the value given), or whose tags were not read", () => {
    expect(editedOutside(status(1, 'created by hand'), { tags: {} })).toBeUndefined()
    expect(editedOutside(status(1, 'created by hand'), { tags: { 'managed-by': 'external-secrets' } })).toBeUndefined()
    expect(editedOutside(status(1, 'created by hand'), {})).toBeUndefined()
  })

  it("names a workflow run's record that SSM copied from the version before", () => {
    expect(editedOutside(status(2, run100), { history: history(run100, run100) })).toEqual({
      kind: 'edited-outside',
      name: `${PATH}/api_key`,
      detail:
        'version 2 (written at 2026-12-07T10:00:05Z by arn:aws:iam::123456789012:user/jane) has the Description of version 1, which SSM copies onto a version written without one: it was written outside the action (console or CLI)'
    })
    // The version before is the highest below, wherever the history starts (SSM keeps the last 100).
    const kept = {
      name: `${PATH}/api_key`,
      versions: [
        { version: 140, value: '', modifiedAt: AT, description: run101 },
        { version: 141, value: '', modifiedAt: AT, description: run100 },
        { version: 142, value: '', modifiedAt: AT, description: run100 }
      ]
    }
    expect(editedOutside(status(142, run100), { history: kept })?.detail).toMatch(/has the Description of version 141,/)
  })

  it("accepts each run's own record, a restore's, and a version whose predecessor is not kept", () => {
    expect(editedOutside(status(2, run101), { history: history(run100, run101) })).toBeUndefined()
    expect(editedOutside(status(2, restored), { history: history(run100, restored) })).toBeUndefined()
    expect(editedOutside(status(1, run100), {})).toBeUndefined()
    const onlyCurrent = {
      name: `${PATH}/api_key`,
      versions: [{ version: 2, value: '', modifiedAt: AT, description: run100 }]
    }
    expect(editedOutside(status(2, run100), { history: onlyCurrent })).toBeUndefined()
    // A local run's record is the same for every local run on the host: never taken for a copy.
    expect(editedOutside(status(2, LOCAL), { history: history(LOCAL, LOCAL) })).toBeUndefined()
  })
})

describe('not-ready', () => {
  const failure = (reason: string, uid = 'uid-1'): KubeEvent => ({
    metadata: { name: 'payments-db.1', namespace: 'payments-prod' },
    involvedObject: { kind: 'ExternalSecret', name: 'payments-db', namespace: 'payments-prod', uid },
    reason,
    message: 'error processing spec.data[0], err: AccessDeniedException'
  })

  it("names an ExternalSecret whose Ready is not True, with the operator's reason and last error", () => {
    const es = externalSecret({
      status: 'False',
      reason: 'SecretSyncedError',
      message: 'could not get secret data from provider'
    })
    expect(notReadyFinding(es, failure('UpdateFailed'))).toEqual({
      kind: 'not-ready',
      name: 'payments-prod/payments-db',
      detail:
        "Ready is False (SecretSyncedError: could not get secret data from provider); the operator's last error: error processing spec.data[0], err: AccessDeniedException"
    })
    expect(notReadyFinding(es, failure('Updated'))?.detail).toBe(
      'Ready is False (SecretSyncedError: could not get secret data from provider)'
    )
    expect(notReadyFinding(externalSecret({ status: 'Unknown' }))?.detail).toBe('Ready is Unknown')
    expect(notReadyFinding(externalSecret())?.detail).toBe(
      'it has no Ready condition: the operator has not reconciled it'
    )
  })

  it('leaves a Ready one', () => {
    expect(
      notReadyFinding(externalSecret({ status: 'True', reason: 'SecretSynced' }), failure('UpdateFailed'))
    ).toBeUndefined()
  })
})

describe('stale-secret', () => {
  const known = [`${PATH}/database_url`, `${PATH}/stripe_key`, `${PATH}/webhook`]
  const es = (refreshTime?: string, ready = 'True') => externalSecret({ status: ready }, refreshTime)
  const names = latestReads(referencesOf(es(), []), known)
  const statuses = (modifiedAt: number) => new Map(names.map((name) => [name, { ...status(4), name, modifiedAt }]))

  it('looks at the latest version of each key read, and the known parameters a find matches; not at a pinned one', () => {
    expect(names).toEqual([`${PATH}/database_url`, `${PATH}/stripe_key`])
  })

  it('names a Ready ExternalSecret last synced in an earlier second than a version it reads', () => {
    const found = staleSecretFinding(es('2026-12-07T10:00:04Z'), names, statuses(AT))
    expect(found).toEqual({
      kind: 'stale-secret',
      name: 'payments-prod/payments-db',
      detail: `last synced at 2026-12-07T10:00:04Z, before ${PATH}/database_url version 4 (written at 2026-12-07T10:00:05Z), ${PATH}/stripe_key version 4 (written at 2026-12-07T10:00:05Z): Secret payments-db-secret holds older data until the operator's next refresh (refreshInterval 1h) or a release's force-sync`
    })
  })

  it('leaves a sync in the same second or later, one never synced, and one not Ready (not-ready says it)', () => {
    expect(staleSecretFinding(es('2026-12-07T10:00:05Z'), names, statuses(AT))).toBeUndefined()
    expect(staleSecretFinding(es('2026-12-07T10:00:06Z'), names, statuses(AT))).toBeUndefined()
    expect(staleSecretFinding(es(undefined), names, statuses(AT))).toBeUndefined()
    expect(staleSecretFinding(es('2026-12-07T09:00:00Z', 'False'), names, statuses(AT))).toBeUndefined()
    expect(staleSecretFinding(es('2026-12-07T09:00:00Z'), names, new Map())).toBeUndefined()
  })
})

describe('stale-pods', () => {
  const workload = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'payments-api', namespace: 'payments-prod' },
    spec: {}
  } as unknown as Workload
  const data = [{ namespace: 'payments-prod', name: 'payments-db', second: AT - 250, first: false }]

  it('names the workload and the Secret whose data its pods predate, or share the second of', () => {
    const reader = { workload, secrets: ['payments-db'] }
    expect(stalePodsFinding({ reader, freshness: 'stale' }, data)).toEqual({
      kind: 'stale-pods',
      name: 'payments-prod/Deployment/payments-api',
      detail:
        'its pods started before the current data of Secret payments-db (data written at 2026-12-07T10:00:05Z): they may run the old values until restarted (restart: changed does it)'
    })
    expect(stalePodsFinding({ reader, freshness: 'same-second' }, data).detail).toMatch(
      /^its pods started in the same second as the current data of Secret payments-db /
    )
    expect(stalePodsFinding({ reader: { workload, secrets: ['other'] }, freshness: 'stale' }, data).detail).toMatch(
      /current data of Secret other: they may run/
    )
  })
})

describe('definition-not-applied', () => {
  const rendered: ExternalSecret = {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: 'payments-db', namespace: 'payments-prod' },
    spec: { data: [{ secretKey: 'URL', remoteRef: { key: `${PATH}/database_url` } }] }
  }

  it("names a rendered ExternalSecret the cluster lacks or holds otherwise, with the gate's first difference", () => {
    expect(definitionFinding(rendered, undefined)).toEqual({
      kind: 'definition-not-applied',
      name: 'payments-prod/payments-db',
      detail: 'it is not in the cluster yet'
    })
    expect(definitionFinding(rendered, { ...rendered, spec: { data: [] } })?.detail).toBe(
      `the cluster does not yet read ${PATH}/database_url`
    )
    expect(definitionFinding(rendered, rendered)).toBeUndefined()
  })
})

describe('the report', () => {
  const report = (findings: Finding[]): CheckReport => ({
    findings,
    checked: { keys: 3, externalSecrets: 2, workloads: 1, definitions: 0 }
  })
  const found: Finding[] = [
    { kind: 'missing', name: `${PATH}/token`, detail: 'key token (from TOKEN) has no parameter: a release creates it' },
    { kind: 'not-ready', name: 'payments-prod/payments-db', detail: 'Ready is False' }
  ]
  const input = (failOnDrift: boolean): CheckInput => ({
    failOnDrift,
    retry: DEFAULT_RETRY_POLICY,
    config: {
      target: serviceTarget('/zerotouch', 'prod', 'payments'),
      secrets: [],
      write: { prune: false },
      selector: parseLabelSelector('label-selector', 'zerotouch.io/managed=true')
    }
  })

  it('sets drift to [] without findings, says so, and passes', () => {
    expect(checkPhase.idleOutputs).toEqual({ drift: '[]' })
    const clean = checkPhase.report(report([]), input(true))
    expect(clean.outputs).toEqual({ drift: '[]' })
    expect(clean.failure).toBeUndefined()
    expect(clean.warnings).toEqual([])
    expect(clean.lines).toEqual([
      'No drift: 3 keys, 2 selected ExternalSecrets, 1 workload reading their Secrets, 0 rendered ExternalSecrets checked.'
    ])
  })

  it('with findings and fail-on-drift, fails with ZT170 naming each; sets drift as a JSON array of kind, name and detail', () => {
    const shown = checkPhase.report(report(found), input(true))
    expect(JSON.parse(shown.outputs?.drift ?? '')).toEqual(found)
    expect(shown.failure).toMatchObject({
      code: 'ZT170',
      problems: [
        `missing ${PATH}/token: key token (from TOKEN) has no parameter: a release creates it`,
        'not-ready payments-prod/payments-db: Ready is False'
      ]
    })
    expect(shown.failure?.message).toMatch(
      /^Drift found: 2 findings \(fail-on-drift: true\)\. Check mode wrote nothing\. \[ZT170\]/
    )
    expect(shown.warnings).toEqual([])
    expect(checkLogLines(report(found)).slice(2)).toEqual([
      'Kinds found:',
      '  missing: a key given in secrets has no parameter',
      '  not-ready: a selected ExternalSecret is not Ready',
      '2 findings (1 missing, 1 not-ready); 3 keys, 2 selected ExternalSecrets, 1 workload reading their Secrets, 0 rendered ExternalSecrets checked.'
    ])
  })

  it('with fail-on-drift false, warns for each finding and passes', () => {
    const shown = checkPhase.report(report(found), input(false))
    expect(shown.failure).toBeUndefined()
    expect(shown.warnings).toEqual([
      `missing ${PATH}/token: key token (from TOKEN) has no parameter: a release creates it`,
      'not-ready payments-prod/payments-db: Ready is False'
    ])
  })

  it('shows the findings as a table in the job summary', () => {
    expect(checkSummary(report(found), PATH)).toEqual({
      heading: `Drift check of ${PATH} (check mode: nothing written)`,
      rows: [
        ['Kind', 'Name', 'Detail'],
        ['missing', `${PATH}/token`, 'key token (from TOKEN) has no parameter: a release creates it'],
        ['not-ready', 'payments-prod/payments-db', 'Ready is False']
      ],
      footer:
        '2 findings (1 missing, 1 not-ready); 3 keys, 2 selected ExternalSecrets, 1 workload reading their Secrets, 0 rendered ExternalSecrets checked.'
    })
    expect(checkOutputs({ findings: [] })).toEqual({ drift: '[]' })
  })
})
