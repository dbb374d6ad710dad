/** A kubeconfig of one cluster (a loopback port nothing listens on) whose user authenticates with `token`. */
export function tokenKubeconfig(token: string): string {
  return `apiVersion: v1
kind: Config
clusters: [{ name: ci, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: ci, user: { token: ${token} } }]
contexts: [{ name: ci, context: { cluster: ci, user: ci } }]
current-context: ci
`
}
