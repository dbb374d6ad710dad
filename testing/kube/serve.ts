/**
 * Runs the test API server from the command line (Node 24 strips the types):
 *
 *   node testing/kube/serve.ts [--ssm-endpoint URL] [--port N] [--versions v1,v1beta1] [--delay MS] [--tls]
 *                              [--kubeconfig FILE] [manifest.yaml ...]
 *
 * Without --ssm-endpoint it starts moto_server itself. It applies the manifests, writes the kubeconfig (default
 * ./kubeconfig.test.yaml; with --tls, HTTPS and the server's CA in it) and serves until interrupted.
 */
import { writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { startMoto } from '../moto.ts'
import { startKubeApiServer } from './index.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'ssm-endpoint': { type: 'string' },
    port: { type: 'string', default: '0' },
    versions: { type: 'string', default: 'v1' },
    delay: { type: 'string', default: '50' },
    tls: { type: 'boolean', default: false },
    kubeconfig: { type: 'string', default: 'kubeconfig.test.yaml' }
  }
})

const moto = values['ssm-endpoint'] ? undefined : await startMoto()
const kube = await startKubeApiServer({
  ssmEndpoint: values['ssm-endpoint'] ?? moto?.endpoint,
  port: Number(values.port),
  versions: values.versions.split(',').filter((version) => version !== ''),
  reconcileDelayMs: Number(values.delay),
  tls: values.tls
})
for (const file of positionals) kube.apply(await readFile(file, 'utf8'))
writeFileSync(values.kubeconfig, kube.kubeconfig())
console.log(
  `Kubernetes API ${kube.url} (kubeconfig: ${values.kubeconfig}; SSM: ${values['ssm-endpoint'] ?? moto?.endpoint})`
)

async function shutdown(): Promise<void> {
  await kube.close()
  await moto?.stop()
  process.exit(0)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    shutdown().catch((error: unknown) => {
      console.error(error)
      process.exit(1)
    })
  })
}
