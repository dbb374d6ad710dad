import { describe, expect, it } from '@jest/globals'
import { problemOf } from '../../__fixtures__/problems.js'
import { matchesLabelSelector, parseLabelSelector } from '../../src/k8s/label-selector.js'
import {
  parseBoolean,
  parseDuration,
  parseEndpoint,
  parseList,
  parseNamespace,
  parsePathPrefix,
  parsePathSegment,
  parseQualifiedName,
  parseRegion,
  parseReplicaRegions,
  parseTags,
  parseTier
} from '../../src/inputs/parsers.js'

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    [' false ', false],
    ['False', false]
  ])('reads %p', (raw, expected) => expect(parseBoolean('prune', raw)).toBe(expected))

  it.each(['yes', '1', '', 'on'])('refuses %p naming the input', (raw) => {
    const problem = problemOf(() => parseBoolean('dry-run', raw))
    expect(problem.input).toBe('dry-run')
    expect(problem.message).toMatch(/^dry-run: expected true or false/)
  })
})

describe('parseList', () => {
  it('splits on commas and new lines, trims and drops empty items', () => {
    expect(parseList(' A_*, B \n\nC,')).toEqual(['A_*', 'B', 'C'])
  })
  it('is empty for blank text', () => expect(parseList('  \n ')).toEqual([]))
})

describe('parsePathSegment', () => {
  it.each(['prod', 'stg', 'payments-api', 'a_1'])('accepts %p', (raw) =>
    expect(parsePathSegment('service', raw)).toBe(raw)
  )
  it.each(['Prod', 'pay/ments', 'a b', 'é', 'a.b'])('refuses %p', (raw) => {
    expect(problemOf(() => parsePathSegment('environment', raw)).message).toMatch(
      /^environment: .* may contain only lower-case/
    )
  })
  it('requires a value', () =>
    expect(problemOf(() => parsePathSegment('service', '  ')).message).toBe('service: is required'))
})

describe('parsePathPrefix', () => {
  it.each([
    ['/zerotouch', '/zerotouch'],
    ['/zerotouch/', '/zerotouch'],
    ['/a/b.c/d-e_f', '/a/b.c/d-e_f']
  ])('accepts %p', (raw, expected) => expect(parsePathPrefix('path-prefix', raw)).toBe(expected))

  it.each(['zerotouch', '/', '//x', '/a//b', '/a b', '/a!'])('refuses the malformed %p', (raw) => {
    expect(problemOf(() => parsePathPrefix('path-prefix', raw)).input).toBe('path-prefix')
  })

  it('refuses a prefix that leaves no room for environment, service and key within 15 levels', () => {
    expect(parsePathPrefix('path-prefix', '/a/b/c/d/e/f/g/h/i/j/k/l')).toBe('/a/b/c/d/e/f/g/h/i/j/k/l')
    expect(problemOf(() => parsePathPrefix('path-prefix', '/a/b/c/d/e/f/g/h/i/j/k/l/m')).message).toMatch(
      /has 13 levels: .* would have 16, and SSM allows 15/
    )
  })

  it.each(['/aws', '/AWS/x', '/ssm', '/Ssm-x', '/awsome'])('refuses %p, reserved by AWS', (raw) => {
    expect(problemOf(() => parsePathPrefix('path-prefix', raw)).message).toMatch(
      /may not begin with "\/aws" or "\/ssm"/
    )
  })
})

describe('parseTier', () => {
  it.each([
    ['standard', 'Standard'],
    ['Advanced', 'Advanced'],
    ['intelligent-tiering', 'Intelligent-Tiering']
  ])('reads %p', (raw, expected) => expect(parseTier('tier', raw)).toBe(expected))
  it('refuses an unknown tier', () =>
    expect(problemOf(() => parseTier('tier', 'Premium')).message).toMatch(/^tier: "Premium" is not one of/))
})

describe('parseTags', () => {
  it('reads key=value lines, keeping "=" in values', () => {
    expect(parseTags('tags', 'team=payments\n  cost-center = 42 \n\nexpr=a=b')).toEqual({
      team: 'payments',
      'cost-center': '42',
      expr: 'a=b'
    })
  })
  it('refuses the reserved managed-by tag in any case', () => {
    expect(problemOf(() => parseTags('tags', 'Managed-By=me')).message).toMatch(/set by the action itself/)
  })
  it.each(['novalue', '=x', 'aws:x=1', 'a=b\na=c', `${'k'.repeat(129)}=v`, `k=${'v'.repeat(257)}`, 'k=v!'])(
    'refuses %p',
    (raw) => {
      expect(problemOf(() => parseTags('tags', raw)).input).toBe('tags')
    }
  )
  it('allows at most 49 tags', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `t${i}=v`).join('\n')
    expect(problemOf(() => parseTags('tags', lines)).message).toMatch(/at most 49 tags/)
  })
})

describe('parseEndpoint and parseRegion', () => {
  it('accepts http and https URLs and nothing', () => {
    expect(parseEndpoint('ssm-endpoint', 'http://127.0.0.1:5000')).toBe('http://127.0.0.1:5000')
    expect(parseEndpoint('ssm-endpoint', '')).toBeUndefined()
  })
  it.each(['localhost:5000', 'ftp://x', 'not a url'])('refuses the endpoint %p', (raw) => {
    expect(problemOf(() => parseEndpoint('ssm-endpoint', raw)).input).toBe('ssm-endpoint')
  })
  it('accepts a region and explains a missing one', () => {
    expect(parseRegion('aws-region', 'eu-west-1')).toBe('eu-west-1')
    expect(problemOf(() => parseRegion('aws-region', '')).message).toMatch(/AWS_REGION/)
    expect(problemOf(() => parseRegion('aws-region', 'Europe')).input).toBe('aws-region')
    expect(problemOf(() => parseRegion('aws-region', 'eu-west-12')).input).toBe('aws-region')
  })
})

describe('parseReplicaRegions', () => {
  it.each([
    ['', []],
    ['us-west-2', ['us-west-2']],
    ['us-west-2, ap-south-1', ['us-west-2', 'ap-south-1']],
    ['us-west-2 ap-south-1', ['us-west-2', 'ap-south-1']],
    ['us-west-2\nap-south-1\n', ['us-west-2', 'ap-south-1']],
    [' us-gov-west-1 ,\n\tap-southeast-7', ['us-gov-west-1', 'ap-southeast-7']]
  ])('reads %p as %p, in order', (raw, regions) => {
    expect(parseReplicaRegions('replica-regions', raw, 'eu-west-1')).toEqual(regions)
  })
  it.each([
    ['us-west', /"us-west" is not an AWS region name/],
    ['US-WEST-2', /"US-WEST-2" is not an AWS region name/],
    ['us-west-2;ap-south-1', /"us-west-2;ap-south-1" is not an AWS region name/],
    ['us-west-22', /"us-west-22" is not an AWS region name/],
    ['us-west-2, us-west-2', /"us-west-2" is given twice/],
    ['us-west-2, eu-west-1', /"eu-west-1" is aws-region, the primary/]
  ])('refuses %p, naming replica-regions and the value', (raw, message) => {
    const problem = problemOf(() => parseReplicaRegions('replica-regions', raw, 'eu-west-1'))
    expect(problem.input).toBe('replica-regions')
    expect(problem.message).toMatch(message)
  })
  it('names every bad value at once', () => {
    expect(problemOf(() => parseReplicaRegions('replica-regions', 'x, eu-west-1', 'eu-west-1')).message).toBe(
      'replica-regions: "x" is not an AWS region name such as us-west-2; "eu-west-1" is aws-region, the primary: list only the other regions'
    )
  })
})

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['300', 300_000],
    ['1.5', 1_500]
  ])('reads %p', (raw, expected) => expect(parseDuration('timeout', raw)).toBe(expected))
  it.each(['', 'soon', '0', '-5s', '5 parsecs', '0s', '30d', '2147484'])('refuses %p', (raw) =>
    expect(problemOf(() => parseDuration('timeout', raw)).input).toBe('timeout')
  )
})

describe('parseLabelSelector', () => {
  it.each([
    'zerotouch.io/managed=true',
    'app==web',
    'tier!=db',
    'app in (a, b)',
    'env notin (prod)',
    'legacy',
    '!legacy',
    'a=b,c in (d),!e',
    'empty='
  ])('accepts %p', (raw) =>
    expect(parseLabelSelector('label-selector', raw)).toMatchObject({
      text: raw.trim(),
      requirements: expect.arrayContaining([expect.anything()])
    })
  )
  it.each(['a in (b', 'a b', '=x', 'a=b=c', 'a=b,,c', '-bad=x', 'a=-bad-', 'a in b', ''])('refuses %p', (raw) => {
    expect(problemOf(() => parseLabelSelector('label-selector', raw)).message).toMatch(
      /^label-selector: .*not a valid label selector/
    )
  })
})

describe('parseQualifiedName and parseNamespace', () => {
  it.each(['force-sync', 'zerotouch.io/force-sync', 'a', 'A_b.c'])('accepts the key %p', (raw) =>
    expect(parseQualifiedName('annotation-key', raw)).toBe(raw)
  )
  it.each(['-x', 'x-', 'a/b/c', 'UPPER.io/x', `${'a'.repeat(64)}`, 'sp ace'])('refuses the key %p', (raw) => {
    expect(problemOf(() => parseQualifiedName('annotation-key', raw)).input).toBe('annotation-key')
  })
  it.each(['payments', 'a-1'])('accepts the namespace %p', (raw) => expect(parseNamespace('namespace', raw)).toBe(raw))
  it.each(['Payments', '-a', 'a_b', 'a.b'])('refuses the namespace %p', (raw) =>
    expect(problemOf(() => parseNamespace('namespace', raw)).input).toBe('namespace')
  )
})

describe('matchesLabelSelector', () => {
  const labels = { 'zerotouch.io/managed': 'true', app: 'web', tier: 'front' }
  it.each([
    ['zerotouch.io/managed=true', true],
    ['zerotouch.io/managed==true', true],
    ['zerotouch.io/managed=false', false],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (db, web)', true],
    ['app notin (db, web)', false],
    ['missing notin (x)', true],
    ['missing in (x)', false],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=web,tier=back', false],
    ['app=web,tier=front,!legacy', true]
  ])('%p matches: %p', (selector, expected) => {
    expect(matchesLabelSelector(parseLabelSelector('label-selector', selector), labels)).toBe(expected)
  })
  it('treats no labels as an empty set', () => {
    expect(matchesLabelSelector(parseLabelSelector('label-selector', '!a'), undefined)).toBe(true)
    expect(matchesLabelSelector(parseLabelSelector('label-selector', 'a'), undefined)).toBe(false)
  })
})
