import { describe, expect, it } from '@jest/globals'
import type { GateReport } from '../../src/gate/gate.js'
import { gateLogLines, gateSummaryRows } from '../../src/gate/report.js'

const NOT_READ = 'the cluster does not yet read /zerotouch/prod/payments-api/stripe_webhook_secret'

const waited: GateReport = {
  outcomes: [
    { namespace: 'apps', name: 'payments-api-stripe', waitedMs: 3_000, result: 'matched' },
    { namespace: 'apps', name: 'payments-api', waitedMs: 0, result: 'matched' },
    { namespace: 'apps', name: 'payments-api-paypal', waitedMs: 42_400, result: 'matched' }
  ],
  warnings: ['apps/legacy matches the label selector but is not in the definitions (not in Git)']
}

const notWaited: GateReport = {
  outcomes: [
    { namespace: 'apps', name: 'payments-api-stripe', waitedMs: 0, result: 'differs', difference: NOT_READ },
    { namespace: 'apps', name: 'payments-api', waitedMs: 0, result: 'matched' }
  ],
  warnings: []
}

describe('gate report', () => {
  it.each([
    [
      'how long the gate waited for each',
      waited,
      [
        'as in Git apps/payments-api',
        'as in Git apps/payments-api-paypal after 42 s',
        'as in Git apps/payments-api-stripe after 3.0 s',
        '3 of 3 ExternalSecrets in the cluster as in the definitions; waited 42 s.'
      ]
    ],
    [
      'each difference not waited for',
      notWaited,
      [
        'as in Git apps/payments-api',
        `differs   apps/payments-api-stripe: ${NOT_READ} (not waited for)`,
        '1 of 2 ExternalSecrets in the cluster as in the definitions, 1 differ (wait-for-definitions: false); waited 0.0 s.'
      ]
    ]
  ])('logs one line per ExternalSecret, sorted, then the totals: %s', (_, report, lines) => {
    expect(gateLogLines(report)).toEqual(lines)
  })

  it.each([
    [
      'waited',
      waited,
      [
        ['apps/payments-api', 'as in Git', '0.0 s'],
        ['apps/payments-api-paypal', 'as in Git', '42 s'],
        ['apps/payments-api-stripe', 'as in Git', '3.0 s']
      ]
    ],
    [
      'not waited for',
      notWaited,
      [
        ['apps/payments-api', 'as in Git', '0.0 s'],
        ['apps/payments-api-stripe', `differs: ${NOT_READ}`, '0.0 s']
      ]
    ]
  ])('gives the job summary a row per ExternalSecret, header first: %s', (_, report, rows) => {
    expect(gateSummaryRows(report)).toEqual([['ExternalSecret', 'Result', 'Waited'], ...rows])
  })
})
