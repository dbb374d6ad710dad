import { afterEach } from '@jest/globals'
import type { KubeApiServer } from '../testing/kube/index.ts'

/**
 * The test API servers (testing/kube) of the running test: each test starts its own, hands it to `track`, and the
 * fixture closes it after the test, so no server outlives the test that started it.
 */
export interface TestCluster {
  /** Closes `server` after the running test; returns it. */
  track(server: KubeApiServer): KubeApiServer
  /** The server the running test started last (for helpers); throws when the test has started none. */
  readonly current: KubeApiServer
  /** The server the running test started last, if it started one. */
  readonly started: KubeApiServer | undefined
  /** Closes the running test's servers now (what afterEach does; for a test of a cluster that went away). */
  close(): Promise<void>
}

/** Call once at the top of a test file (or describe block): registers the afterEach that closes the servers. */
export function useTestCluster(): TestCluster {
  const servers: KubeApiServer[] = []
  const close = async (): Promise<void> => {
    await Promise.all(servers.splice(0).map((server) => server.close()))
  }
  afterEach(close)
  return {
    track(server) {
      servers.push(server)
      return server
    },
    get current() {
      const server = servers.at(-1)
      if (!server) throw new Error('this test has started no test API server: start one (and track it) first')
      return server
    },
    get started() {
      return servers.at(-1)
    },
    close
  }
}
