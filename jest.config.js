/**
 * Native ESM jest: run with NODE_OPTIONS=--experimental-vm-modules (see `npm test`).
 *
 * Three projects, run together by `npm test`, alone by `npm run test:unit` / `test:kube` / `test:integration`:
 * - unit: pure and in-memory tests (__tests__/unit), seconds in all;
 * - kube: the test Kubernetes API server's own tests (__tests__/kube): that it behaves as a real cluster does,
 *   against the real kubectl and @kubernetes/client-node;
 * - integration: the product through its real boundaries, every other folder (moto_server, the test API server,
 *   dist/index.js in a child process, kubectl/kustomize, the action-validator CLI).
 * Each test file belongs to exactly one project, by its folder.
 */

const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
  roots: ['<rootDir>/__tests__']
}

export default {
  // A global option: jest-circus reads the timeout from the global config, not from a project's.
  testTimeout: 60000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    { ...shared, displayName: 'kube', testMatch: ['<rootDir>/__tests__/kube/**/*.test.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/__tests__/*.test.ts', '<rootDir>/__tests__/!(unit|kube)/**/*.test.ts']
    }
  ]
}
