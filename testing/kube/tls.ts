/**
 * Certificates for the test API server's TLS, made by the openssl CLI (OpenSSL 3) in a temporary folder, EC P-256:
 * a CA, a server certificate for 127.0.0.1 and localhost, client certificates whose CN is the user and whose O
 * entries are the groups, as the API server reads them.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface KeyPair {
  /** PEM */
  readonly cert: string
  /** PEM */
  readonly key: string
}

export interface CertificateAuthority extends KeyPair {
  /** A server certificate for 127.0.0.1 and localhost. */
  serverCertificate(): KeyPair
  /** A client certificate: CN the user, one O per group. */
  clientCertificate(user: string, groups?: readonly string[]): KeyPair
}

/** A new CA, unrelated to any other (each server makes its own; a test makes a second one to see it refused). */
export function createCertificateAuthority(name = 'zerotouch-test-ca'): CertificateAuthority {
  const ca = generate(subject([['CN', name]]), [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign'
  ])
  const leaf = (names: [string, string][], usage: string, extensions: string[] = []) =>
    generate(
      subject(names),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        `extendedKeyUsage=${usage}`,
        ...extensions
      ],
      ca
    )
  return {
    ...ca,
    serverCertificate: () =>
      leaf([['CN', 'kube-apiserver']], 'serverAuth', ['subjectAltName=IP:127.0.0.1,DNS:localhost']),
    clientCertificate: (user, groups = []) =>
      leaf([['CN', user], ...groups.map((group): [string, string] => ['O', group])], 'clientAuth')
  }
}

/** `/CN=.../O=...`, with the characters openssl's -subj parses escaped. */
function subject(names: [string, string][]): string {
  return names.map(([type, value]) => `/${type}=${value.replace(/[\\/+]/g, '\\$&')}`).join('')
}

/** A key and a certificate: self-signed, or signed by the issuer. */
function generate(subjectName: string, extensions: string[], issuer?: KeyPair): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), 'kube-tls-'))
  const file = (name: string, content?: string) => {
    const path = join(dir, name)
    if (content !== undefined) writeFileSync(path, content)
    return path
  }
  try {
    const signer = issuer ? ['-CA', file('ca.crt', issuer.cert), '-CAkey', file('ca.key', issuer.key)] : []
    const [key, cert] = [file('tls.key'), file('tls.crt')]
    const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key]
    const addExtensions = extensions.flatMap((extension) => ['-addext', extension])
    execFileSync(
      'openssl',
      ['req', '-x509', ...signer, ...newKey, '-out', cert, '-days', '2', '-subj', subjectName, ...addExtensions],
      { stdio: ['ignore', 'ignore', 'pipe'] }
    )
    return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
