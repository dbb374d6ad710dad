/**
 * The bad-input corpus (__fixtures__/bad-input.ts) through run() in-process, @actions/core mocked:
 * each case fails ZT100 with an error naming the input, sends no request (the store is never called,
 * the cluster never reached) and shows the value nowhere. A few cases also run through the bundle
 * (__tests__/faults/bad-input.test.ts) for what only the process shows.
 */
import { beforeEach, describe, expect, it, jest } from '@jest/globals'
import * as core from '../../__fixtures__/core.js'
import { CASES, VALID, VALUE } from '../../__fixtures__/bad-input.js'
import { MemoryStore } from '../../__fixtures__/memory-store.js'
import { findLeaks } from '../../testing/leaks.ts'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../../src/main.js')

const AWS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' }

beforeEach(() => core.reset())

describe('bad input', () => {
  it('has a corpus of at least 50 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(50))

  it.each(CASES)('refuses %s, naming %s, with no request sent', async (_what, input, inputs, env = {}) => {
    const store = new MemoryStore()
    core.setInputs({ ...VALID, 'ssm-endpoint': 'http://127.0.0.1:1', ...inputs })
    await run({ createStore: () => store, env: { ...AWS, ...env } })
    const [error = ''] = core.failures()
    expect(core.failures()).toHaveLength(1)
    expect(error).toContain(`${input}: `)
    expect(error).toContain('[ZT100]')
    expect(store.calls).toEqual([])
    expect(findLeaks(core.visibleText(), [VALUE])).toEqual([])
  })
})
