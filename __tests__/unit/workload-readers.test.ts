import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { isWorkload, type Workload } from '../../src/workloads/model.js'
import { reloaderRestartsFor, secretsRead } from '../../src/workloads/readers.js'

/** Which Secrets a workload's pod template reads, and whether stakater/Reloader restarts it on a change. */

type Json = Record<string, unknown>

/** A workload as the API server hands it back, through the guard the client uses (extra fields and all). */
function workload(
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet',
  podSpec: Json = {},
  annotations?: Json,
  templateAnnotations?: Json
): Workload {
  const object = {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: 'payments-api', namespace: 'payments', generation: 1, ...(annotations && { annotations }) },
    spec: {
      selector: { matchLabels: { app: 'payments-api' } },
      template: {
        metadata: { labels: { app: 'payments-api' }, ...(templateAnnotations && { annotations: templateAnnotations }) },
        spec: podSpec
      }
    }
  }
  if (!isWorkload(object)) throw new Error('not a workload')
  return object
}

const container = (fields: Json = {}): Json => ({ name: 'app', image: 'registry.example/app:1', ...fields })
const envFrom = (name: string, fields: Json = {}): Json => ({ secretRef: { name, ...fields } })
const secretKeyRef = (name: string, fields: Json = {}): Json => ({
  name: 'VALUE',
  valueFrom: { secretKeyRef: { name, key: 'value', ...fields } }
})
const secretVolume = (volume: string, secretName: string, fields: Json = {}): Json => ({
  name: volume,
  secret: { secretName, ...fields }
})
const projectedVolume = (volume: string, sources: Json[]): Json => ({ name: volume, projected: { sources } })
const mount = (volume: string): Json => ({ name: volume, mountPath: `/etc/${volume}`, readOnly: true })

const read = (podSpec: Json): string[] => [...secretsRead(workload('Deployment', podSpec))].sort()

describe('secretsRead', () => {
  it('reads envFrom[].secretRef', () => {
    expect(read({ containers: [container({ envFrom: [envFrom('db')] })] })).toEqual(['db'])
  })

  it('reads env[].valueFrom.secretKeyRef', () => {
    expect(read({ containers: [container({ env: [{ name: 'PLAIN', value: 'x' }, secretKeyRef('stripe')] })] })).toEqual(
      ['stripe']
    )
  })

  it('reads volumes[].secret, mounted or not', () => {
    expect(
      read({
        containers: [container({ volumeMounts: [mount('tls')] })],
        volumes: [secretVolume('tls', 'tls-cert'), secretVolume('spare', 'unmounted')]
      })
    ).toEqual(['tls-cert', 'unmounted'])
  })

  it('reads the Secret sources of projected volumes, and only those', () => {
    const volume = projectedVolume('bundle', [
      { secret: { name: 'one', items: [{ key: 'a', path: 'a' }] } },
      { configMap: { name: 'settings' } },
      { serviceAccountToken: { path: 'token' } },
      { secret: { name: 'two' } }
    ])
    expect(read({ containers: [container()], volumes: [volume] })).toEqual(['one', 'two'])
  })

  it('reads the references of init containers', () => {
    expect(
      read({
        initContainers: [
          container({ name: 'migrate', envFrom: [envFrom('migrations')], env: [secretKeyRef('admin')] })
        ],
        containers: [container()]
      })
    ).toEqual(['admin', 'migrations'])
  })

  it('counts optional references: once the Secret exists, the pods read it', () => {
    const podSpec = {
      containers: [
        container({ envFrom: [envFrom('a', { optional: true })], env: [secretKeyRef('b', { optional: true })] })
      ],
      volumes: [
        secretVolume('c', 'c', { optional: true }),
        projectedVolume('d', [{ secret: { name: 'd', optional: true } }])
      ]
    }
    expect(read(podSpec)).toEqual(['a', 'b', 'c', 'd'])
  })

  it('reads nothing from ConfigMaps, plain values, field references or other volume types', () => {
    const podSpec = {
      containers: [
        container({
          envFrom: [{ configMapRef: { name: 'settings' } }, { prefix: 'X_', configMapRef: { name: 'more' } }],
          env: [
            { name: 'A', value: 'a' },
            { name: 'B', valueFrom: { configMapKeyRef: { name: 'settings', key: 'b' } } },
            { name: 'C', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }
          ]
        })
      ],
      volumes: [
        { name: 'cache', emptyDir: {} },
        { name: 'settings', configMap: { name: 'settings' } },
        projectedVolume('token', [{ serviceAccountToken: { path: 'token' } }])
      ]
    }
    expect(read(podSpec)).toEqual([])
  })

  it('reads nothing from a pod template without a spec, or without references', () => {
    const bare = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bare' }, spec: { template: {} } }
    if (!isWorkload(bare)) throw new Error('not a workload')
    expect(secretsRead(bare).size).toBe(0)
    expect(read({ containers: [container()] })).toEqual([])
  })

  it('ignores references without a name: they name no Secret', () => {
    expect(
      read({
        containers: [
          container({ envFrom: [envFrom('')], env: [{ name: 'X', valueFrom: { secretKeyRef: { key: 'x' } } }] })
        ],
        volumes: [{ name: 'v', secret: {} }]
      })
    ).toEqual([])
  })

  it('reads several Secrets once each, across containers and ways of reading', () => {
    const podSpec = {
      initContainers: [container({ name: 'init', envFrom: [envFrom('db')] })],
      containers: [
        container({ envFrom: [envFrom('db')], env: [secretKeyRef('stripe'), secretKeyRef('db')] }),
        container({ name: 'sidecar', env: [secretKeyRef('stripe')] })
      ],
      volumes: [
        secretVolume('db', 'db'),
        projectedVolume('all', [{ secret: { name: 'stripe' } }, { secret: { name: 'tls' } }])
      ]
    }
    expect(read(podSpec)).toEqual(['db', 'stripe', 'tls'])
  })

  it('does not read ephemeral containers: a template never holds them', () => {
    expect(
      read({
        containers: [container()],
        ephemeralContainers: [container({ name: 'debug', envFrom: [envFrom('debug')] })]
      })
    ).toEqual([])
  })

  it.each(['StatefulSet', 'DaemonSet'] as const)('reads the pod template of a %s', (kind) => {
    const podSpec = { containers: [container({ envFrom: [envFrom('db')] })], volumes: [secretVolume('tls', 'tls')] }
    expect([...secretsRead(workload(kind, podSpec))].sort()).toEqual(['db', 'tls'])
  })

  it('reads exactly the Secrets a template built from random references names', () => {
    const name = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,30}[a-z0-9])?$/)
    const reference = fc.record({
      way: fc.constantFrom('envFrom', 'env', 'volume', 'projected'),
      name,
      init: fc.boolean()
    })
    fc.assert(
      fc.property(fc.array(reference, { maxLength: 12 }), (references) => {
        const inContainer = (init: boolean) =>
          container({
            envFrom: references.filter((r) => r.way === 'envFrom' && r.init === init).map((r) => envFrom(r.name)),
            env: references.filter((r) => r.way === 'env' && r.init === init).map((r) => secretKeyRef(r.name))
          })
        const volumes = references.flatMap((r, index) => {
          if (r.way === 'volume') return [secretVolume(`v${index}`, r.name)]
          return r.way === 'projected' ? [projectedVolume(`v${index}`, [{ secret: { name: r.name } }])] : []
        })
        const names = secretsRead(
          workload('Deployment', { initContainers: [inContainer(true)], containers: [inContainer(false)], volumes })
        )
        expect([...names].sort()).toEqual([...new Set(references.map((r) => r.name))].sort())
      })
    )
  })
})

/** A Deployment whose app container reads the Secret `db` from its environment. */
const readsDb = { containers: [container({ envFrom: [envFrom('db')] })] }

describe('reloaderRestartsFor', () => {
  describe('auto mode', () => {
    it.each([
      ['reloader.stakater.com/auto', 'true', true],
      ['secret.reloader.stakater.com/auto', 'true', true],
      ['reloader.stakater.com/auto', 'false', false],
      ['secret.reloader.stakater.com/auto', 'false', false],
      // Go's strconv.ParseBool
      ['reloader.stakater.com/auto', 'True', true],
      ['reloader.stakater.com/auto', 'TRUE', true],
      ['reloader.stakater.com/auto', '1', true],
      ['reloader.stakater.com/auto', 't', true],
      ['reloader.stakater.com/auto', 'yes', false],
      ['reloader.stakater.com/auto', ' true', false],
      ['reloader.stakater.com/auto', '', false],
      ['configmap.reloader.stakater.com/auto', 'true', false]
    ])('%s: "%s" on the workload → %s', (key, value, restarts) => {
      expect(reloaderRestartsFor(workload('Deployment', readsDb, { [key]: value }), 'db')).toBe(restarts)
    })

    it('reads the pod template annotations when the workload has none of its own', () => {
      expect(
        reloaderRestartsFor(workload('Deployment', readsDb, undefined, { 'reloader.stakater.com/auto': 'true' }), 'db')
      ).toBe(true)
      expect(
        reloaderRestartsFor(
          workload('StatefulSet', readsDb, { team: 'payments' }, { 'secret.reloader.stakater.com/auto': 'true' }),
          'db'
        )
      ).toBe(true)
    })

    it('ignores the pod template when the workload carries any Reloader opt-in annotation, even a false one', () => {
      const template = { 'reloader.stakater.com/auto': 'true' }
      for (const own of [
        { 'reloader.stakater.com/auto': 'false' },
        { 'secret.reloader.stakater.com/auto': '' },
        { 'secret.reloader.stakater.com/reload': 'other' },
        { 'reloader.stakater.com/search': 'true' }
      ]) {
        expect(reloaderRestartsFor(workload('Deployment', readsDb, own, template), 'db')).toBe(false)
      }
    })

    it('still reads the pod template when the workload only has other annotations (ConfigMap ones included)', () => {
      const own = { 'configmap.reloader.stakater.com/reload': 'settings', 'deployment.kubernetes.io/revision': '3' }
      expect(
        reloaderRestartsFor(workload('Deployment', readsDb, own, { 'reloader.stakater.com/auto': 'true' }), 'db')
      ).toBe(true)
    })

    it('reads the Secret\'s own annotations as ShouldReload does: ignore ("true" only), and match for search mode', () => {
      const auto = workload('Deployment', readsDb, { 'reloader.stakater.com/auto': 'true' })
      expect(reloaderRestartsFor(auto, 'db', { 'reloader.stakater.com/ignore': 'true' })).toBe(false)
      expect(reloaderRestartsFor(auto, 'db', { 'reloader.stakater.com/ignore': 'True' })).toBe(true)
      const search = workload('Deployment', readsDb, { 'reloader.stakater.com/search': 'true' })
      expect(reloaderRestartsFor(search, 'db')).toBe(false)
      expect(reloaderRestartsFor(search, 'db', { 'reloader.stakater.com/match': 'true' })).toBe(true)
      expect(reloaderRestartsFor(search, 'db', { 'reloader.stakater.com/match': '1' })).toBe(false)
      // Search mode finds the Secret only where the pods use it, as auto mode does.
      expect(reloaderRestartsFor(search, 'stripe', { 'reloader.stakater.com/match': 'true' })).toBe(false)
      const searchingTemplate = workload('Deployment', readsDb, undefined, { 'reloader.stakater.com/search': 'true' })
      expect(reloaderRestartsFor(searchingTemplate, 'db', { 'reloader.stakater.com/match': 'true' })).toBe(true)
    })

    it('covers only the Secrets the pods use', () => {
      const auto = { 'reloader.stakater.com/auto': 'true' }
      expect(reloaderRestartsFor(workload('Deployment', readsDb, auto), 'stripe')).toBe(false)
      expect(reloaderRestartsFor(workload('Deployment', {}, auto), 'db')).toBe(false)
    })

    it.each([
      ['envFrom', { containers: [container({ envFrom: [envFrom('db')] })] }, true],
      ['env', { containers: [container({ env: [secretKeyRef('db')] })] }, true],
      [
        'an init container',
        { initContainers: [container({ name: 'init', env: [secretKeyRef('db')] })], containers: [container()] },
        true
      ],
      [
        'a mounted volume',
        { containers: [container({ volumeMounts: [mount('db')] })], volumes: [secretVolume('db', 'db')] },
        true
      ],
      [
        'a volume an init container mounts',
        {
          initContainers: [container({ volumeMounts: [mount('db')] })],
          containers: [container()],
          volumes: [secretVolume('db', 'db')]
        },
        true
      ],
      [
        'a mounted projected volume',
        {
          containers: [container({ volumeMounts: [mount('all')] })],
          volumes: [projectedVolume('all', [{ configMap: { name: 'x' } }, { secret: { name: 'db' } }])]
        },
        true
      ],
      [
        'a volume no container mounts',
        {
          containers: [container({ volumeMounts: [mount('other')] })],
          volumes: [secretVolume('db', 'db'), secretVolume('other', 'other')]
        },
        false
      ],
      // Reloader looks at the first volume naming the Secret only.
      [
        'a second volume naming it, the first unmounted',
        {
          containers: [container({ volumeMounts: [mount('second')] })],
          volumes: [secretVolume('first', 'db'), secretVolume('second', 'db')]
        },
        false
      ],
      [
        'an unmounted volume and an env reference',
        { containers: [container({ env: [secretKeyRef('db')] })], volumes: [secretVolume('first', 'db')] },
        true
      ]
    ])('uses the Secret through %s → %s', (_way, podSpec, restarts) => {
      expect(reloaderRestartsFor(workload('DaemonSet', podSpec, { 'reloader.stakater.com/auto': 'true' }), 'db')).toBe(
        restarts
      )
    })
  })

  describe('secret.reloader.stakater.com/reload', () => {
    const named = (list: string, secret: string, onTemplate = false) =>
      reloaderRestartsFor(
        workload(
          'Deployment',
          readsDb,
          onTemplate ? undefined : { 'secret.reloader.stakater.com/reload': list },
          onTemplate ? { 'secret.reloader.stakater.com/reload': list } : undefined
        ),
        secret
      )

    it.each([
      ['db', 'db', true],
      ['db', 'db-old', false],
      ['db', 'old-db', false],
      ['db-.*', 'db-old', true],
      ['db-.*', 'db', false],
      ['.*-db', 'payments-db', true],
      ['stripe,db', 'db', true],
      ['stripe, db ,tls', 'db', true],
      ['  db  ', 'db', true],
      ['stripe,tls', 'db', false],
      ['', 'db', false],
      ['DB', 'db', false],
      // Each entry is written between ^ and $, as Reloader does: `a|b` reads `^a|b$`.
      ['db|cache', 'db-old', true],
      ['db|cache', 'old-cache', true],
      ['(db|cache)', 'db-old', false],
      // An entry that does not compile is skipped, the others still count.
      ['db[,db', 'db', true],
      ['db[', 'db[', false]
    ])('"%s" and Secret %s → %s', (list, secret, restarts) => {
      expect(named(list, secret)).toBe(restarts)
    })

    it('is read from the pod template too', () => {
      expect(named('db', 'db', true)).toBe(true)
      expect(named('db', 'stripe', true)).toBe(false)
    })

    it('restarts the workload even when its pods do not read the Secret', () => {
      expect(named('unread', 'unread')).toBe(true)
    })

    it('wins over an auto annotation set to false', () => {
      expect(
        reloaderRestartsFor(
          workload('Deployment', readsDb, {
            'secret.reloader.stakater.com/reload': 'db',
            'reloader.stakater.com/auto': 'false'
          }),
          'db'
        )
      ).toBe(true)
    })

    it('restarts for exactly the names it lists (names without regular expression syntax)', () => {
      const name = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/)
      fc.assert(
        fc.property(fc.array(name, { minLength: 1, maxLength: 5 }), name, (listed, secret) => {
          expect(named(listed.join(', '), secret)).toBe(listed.includes(secret))
        })
      )
    })
  })

  describe('secrets.exclude.reloader.stakater.com/reload', () => {
    it('excludes the Secrets it lists, in auto mode and by name', () => {
      const exclude = { 'secrets.exclude.reloader.stakater.com/reload': 'stripe, db' }
      expect(
        reloaderRestartsFor(workload('Deployment', readsDb, { ...exclude, 'reloader.stakater.com/auto': 'true' }), 'db')
      ).toBe(false)
      expect(
        reloaderRestartsFor(
          workload('Deployment', readsDb, { ...exclude, 'secret.reloader.stakater.com/reload': 'db' }),
          'db'
        )
      ).toBe(false)
      expect(
        reloaderRestartsFor(workload('Deployment', readsDb, exclude, { 'reloader.stakater.com/auto': 'true' }), 'db')
      ).toBe(false)
    })

    it('lists exact names, not patterns', () => {
      expect(
        reloaderRestartsFor(
          workload('Deployment', readsDb, {
            'secrets.exclude.reloader.stakater.com/reload': 'd.*',
            'reloader.stakater.com/auto': 'true'
          }),
          'db'
        )
      ).toBe(true)
    })

    it('is read from the workload only, not from its pod template', () => {
      const template = { 'secrets.exclude.reloader.stakater.com/reload': 'db', 'reloader.stakater.com/auto': 'true' }
      expect(reloaderRestartsFor(workload('Deployment', readsDb, undefined, template), 'db')).toBe(true)
    })
  })

  it('does nothing without an annotation, or with ConfigMap ones only', () => {
    expect(reloaderRestartsFor(workload('Deployment', readsDb), 'db')).toBe(false)
    expect(
      reloaderRestartsFor(
        workload('Deployment', readsDb, {
          'configmap.reloader.stakater.com/reload': 'db',
          'configmap.reloader.stakater.com/auto': 'true'
        }),
        'db'
      )
    ).toBe(false)
  })

  it('leaves search mode out: the match annotation is on the Secret, which the action never reads', () => {
    expect(reloaderRestartsFor(workload('Deployment', readsDb, { 'reloader.stakater.com/search': 'true' }), 'db')).toBe(
      false
    )
  })
})
