/**
 * The self reviews, answered at once and never stored: a SelfSubjectReview (`kubectl auth whoami`) tells who the
 * request is from; a SelfSubjectAccessReview (`kubectl auth can-i`) whether RBAC allows that user an action (reason
 * and denied stay unset, as the RBAC authorizer leaves them). The body is JSON or, as kubectl sends it, protobuf;
 * the answer is JSON, which kubectl accepts too.
 */
import { allows, type AuthOptions, type UserInfo } from './auth.ts'
import { badRequest, invalid, type RequestAttributes } from './errors.ts'
import { isObject, type JsonObject } from './json.ts'
import { decodeProtobuf, PROTOBUF_CONTENT_TYPE } from './protobuf.ts'
import { apiVersionOf, SELF_SUBJECT_REVIEWS, type ResourceType } from './resources.ts'

export function review(
  type: ResourceType,
  version: string,
  body: Buffer,
  contentType: string,
  user: UserInfo,
  auth: AuthOptions
): Record<string, unknown> {
  const apiVersion = apiVersionOf(type, version)
  const object =
    contentType.split(';')[0].trim() === PROTOBUF_CONTENT_TYPE
      ? decodeProtobuf(body, type.kind)
      : parse(body.toString('utf8'))
  const sent = object.apiVersion
  if (typeof sent === 'string' && sent !== '' && sent !== apiVersion) {
    throw badRequest(`the API version in the data (${sent}) does not match the expected API version (${apiVersion})`)
  }
  const answer = { kind: type.kind, apiVersion, metadata: { creationTimestamp: null } }
  if (type === SELF_SUBJECT_REVIEWS) return { ...answer, status: { userInfo: user } }
  const spec = isObject(object.spec) ? object.spec : {}
  const { resourceAttributes, nonResourceAttributes } = spec
  if (isObject(resourceAttributes))
    return { ...answer, spec, status: { allowed: allows(auth, attributesOf(resourceAttributes)) } }
  // Non-resource paths (discovery, health) are served to any authenticated user, for GET only.
  if (isObject(nonResourceAttributes))
    return { ...answer, spec, status: { allowed: !auth.rbac || nonResourceAttributes.verb === 'get' } }
  throw invalid(
    type,
    'spec.resourceAttributes',
    'exactly one of nonResourceAttributes or resourceAttributes must be specified'
  )
}

function parse(body: string): JsonObject {
  let object: unknown
  try {
    object = JSON.parse(body)
  } catch (error) {
    throw badRequest(
      `couldn't get version/kind; json parse error: ${error instanceof Error ? error.message : String(error)}`
    )
  }
  if (!isObject(object)) throw badRequest(`couldn't get version/kind; json parse error: not an object: ${body}`)
  return object
}

/** Unset and empty fields alike: an empty namespace is every namespace (cluster scope), an empty name any name. */
function attributesOf(attributes: JsonObject): RequestAttributes {
  const text = (field: string) => {
    const value = attributes[field]
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  return {
    verb: text('verb') ?? '',
    group: text('group') ?? '',
    resource: text('resource') ?? '',
    subresource: text('subresource'),
    namespace: text('namespace'),
    name: text('name')
  }
}
