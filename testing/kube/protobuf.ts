/**
 * The protobuf that client-go sends for built-in types (kubectl's `auth can-i` and `auth whoami` create their
 * reviews so): the `k8s\0` envelope around a runtime.Unknown, whose raw bytes are the object. Decodes the fields of
 * the self reviews into the object's JSON form; other fields are skipped.
 */
import { badRequest } from './errors.ts'
import type { JsonObject } from './json.ts'

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf'

/** Field number to JSON name and type: a string or a message. */
interface Schema {
  readonly [field: number]: readonly [name: string, type: 'string' | Schema]
}

const TYPE_META: Schema = { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] }

const RESOURCE_ATTRIBUTES: Schema = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string']
}

const NON_RESOURCE_ATTRIBUTES: Schema = { 1: ['path', 'string'], 2: ['verb', 'string'] }

const OBJECTS: Readonly<Record<string, Schema>> = {
  SelfSubjectAccessReview: {
    2: [
      'spec',
      { 1: ['resourceAttributes', RESOURCE_ATTRIBUTES], 2: ['nonResourceAttributes', NON_RESOURCE_ATTRIBUTES] }
    ]
  },
  SelfSubjectReview: {}
}

const MAGIC = Buffer.from('k8s\u0000', 'latin1')

/** A protobuf body as the JSON of the object: apiVersion and kind from the envelope, then the object's fields. */
export function decodeProtobuf(body: Buffer, kind: string): JsonObject {
  if (!body.subarray(0, MAGIC.length).equals(MAGIC))
    throw badRequest('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]')
  const unknown = new Map(fields(body.subarray(MAGIC.length)))
  const raw = unknown.get(2) ?? Buffer.alloc(0)
  return { ...message(unknown.get(1) ?? Buffer.alloc(0), TYPE_META), ...message(raw, OBJECTS[kind] ?? {}) }
}

function message(bytes: Buffer, schema: Schema): JsonObject {
  const object: JsonObject = {}
  for (const [field, value] of fields(bytes)) {
    const [name, type] = schema[field] ?? []
    if (name !== undefined && type !== undefined)
      object[name] = type === 'string' ? value.toString('utf8') : message(value, type)
  }
  return object
}

/** The length-delimited fields of a message (strings, bytes, messages), by field number; numbers are skipped. */
function fields(bytes: Buffer): [number, Buffer][] {
  const found: [number, Buffer][] = []
  let offset = 0
  const varint = (): number => {
    let value = 0
    for (let shift = 0; ; shift += 7) {
      if (offset >= bytes.length) throw badRequest('unexpected EOF in protobuf message')
      const byte = bytes[offset++]
      value += (byte & 0x7f) * 2 ** shift
      if (byte < 0x80) return value
    }
  }
  while (offset < bytes.length) {
    const key = varint()
    const wireType = key % 8
    if (wireType === 0) varint()
    else if (wireType === 1) offset += 8
    else if (wireType === 5) offset += 4
    else if (wireType === 2) {
      const length = varint()
      found.push([Math.floor(key / 8), bytes.subarray(offset, offset + length)])
      offset += length
    } else throw badRequest(`protobuf wire type ${wireType} is not supported`)
  }
  return found
}
