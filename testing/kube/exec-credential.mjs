// A client-go credential plugin for tests, as `aws eks get-token` is one: prints an ExecCredential with the token
// given as the first argument. Plain JavaScript, so that any `node` on PATH runs it.
const credential = {
  apiVersion: 'client.authentication.k8s.io/v1beta1',
  kind: 'ExecCredential',
  status: { token: process.argv[2] }
}
process.stdout.write(`${JSON.stringify(credential)}\n`)
