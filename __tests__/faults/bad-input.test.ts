/**
 * Bad input, run through the bundled action: the process-level contract, on a few cases of the
 * corpus (__fixtures__/bad-input.ts; every case runs in-process in __tests__/unit/bad-input.test.ts):
 * the step fails with an `::error::` naming the input, exits non-zero, sends no request at all
 * (asserted on the proxy's request log), and shows the value nowhere.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CASES, VALID, VALUE } from '../../__fixtures__/bad-input.ts'
import { runBundledAction } from '../../testing/action.ts'
import { findRunLeaks } from '../../testing/leaks.ts'
import { startMoto, type MotoServer } from '../../testing/moto.ts'
import { startSsmProxy, type SsmProxy } from '../../testing/ssm-proxy.ts'

const AWS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' }

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

/** One case of each kind: the secrets document, a value too large, a path input, the environment, the kubeconfig. */
const BUNDLE_CASES = [
  'malformed JSON',
  'a hyphen in a name',
  '4,097 bytes in Standard',
  'no AWS region anywhere',
  'a kubeconfig that is no YAML'
]

describe('bad input', () => {
  it.each(CASES.filter(([what]) => BUNDLE_CASES.includes(what)))(
    'refuses %s, naming %s, with no request sent',
    async (_what, input, inputs, env = {}) => {
      proxy.calls.length = 0
      const valid = { ...VALID, 'ssm-endpoint': proxy.endpoint }
      const result = await runBundledAction({ ...valid, ...inputs }, { ...AWS, ...env })
      expect(result.exitCode).not.toBe(0)
      const error = result.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? ''
      expect(error).toContain(`${input}: `)
      expect(error).toContain('[ZT100]')
      expect(proxy.calls).toEqual([])
      expect(findRunLeaks(result, [VALUE])).toEqual([])
    }
  )

  it('runs every case it names', () =>
    expect(CASES.filter(([what]) => BUNDLE_CASES.includes(what)).length).toBe(BUNDLE_CASES.length))
})
