import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { startMoto, type MotoServer } from '../../testing/moto.ts'

let moto: MotoServer
beforeAll(async () => {
  moto = await startMoto()
})
afterAll(async () => moto?.stop())

it('starts moto on loopback', () => expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/))
