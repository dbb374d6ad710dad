import { ActionError } from '../errors.js'
import { classifyFailure } from './retry.js'

interface AwsLikeError {
  name?: string
  message?: string
  $metadata?: { httpStatusCode?: number }
}

/**
 * Turns an SSM or credentials error into a sentence a pipeline owner can act on. The AWS message
 * goes through `redact` first (the run's redactor): validation errors can echo the value that was sent.
 */
export function explainSsmError(error: unknown, redact: (text: string) => string): string {
  const e = (error ?? {}) as AwsLikeError
  const name = e.name ?? 'Error'
  const message = redact(e.message ?? String(error))
  const denied = /perform: (\S+) on resource: (\S+)/.exec(message)
  switch (name) {
    case 'AccessDeniedException':
    case 'AccessDenied':
      return denied
        ? `AWS denied ${denied[1]} on ${denied[2]}: grant ${denied[1]} on that resource to the role the job assumes (see the IAM policy in the README)`
        : `AWS denied the request: ${message}`
    case 'InvalidKeyId':
    case 'KMSNotFoundException':
    case 'KMSInvalidStateException':
    case 'KMSDisabledException':
      return `kms-key-id: the KMS key cannot be used to encrypt (${name}): check that the key exists in this region, is enabled, and that the role may use it (kms:Encrypt)`
    case 'HierarchyTypeMismatchException':
      return `a parameter exists with another type than SecureString, which the action cannot change: ${message}`
    case 'ParameterLimitExceeded':
      return 'the account has reached its Parameter Store limit (10,000 Standard parameters per region): use tier: Advanced, or delete unused parameters'
    case 'ParameterMaxVersionLimitExceeded':
      return 'the parameter already has 100 versions and the oldest carries a label, so SSM refuses a new version: move or delete that label'
    case 'ParameterPatternMismatchException':
      return `SSM refused the parameter name: ${message}`
    case 'ValidationException':
      if (/downgrade/i.test(message)) {
        return 'the parameter is in the Advanced tier and SSM cannot move it back to Standard: set tier: Advanced or Intelligent-Tiering, or delete the parameter so that it is created again as Standard'
      }
      break
    case 'TooManyTagsError':
      return 'the parameter would carry more than 50 tags: reduce the tags input'
    case 'UnrecognizedClientException':
    case 'InvalidClientTokenId':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'CredentialsProviderError':
      return `no valid AWS credentials (${name}): run aws-actions/configure-aws-credentials before this step, or check the role and its session`
  }
  if (e.$metadata?.httpStatusCode === 403)
    return `AWS refused the request (HTTP 403, ${name}): check the credentials and the IAM policy in the README. ${message}`
  switch (classifyFailure(error)) {
    case 'throttled':
      return `still throttled by AWS after retrying (${name}): PutParameter allows about 3 calls a second for the whole account; re-run, or reduce other writers at the same time`
    case 'busy':
      return 'another writer kept updating the same parameter (TooManyUpdates) until the retry window closed: re-run once the other writer is done'
    case 'ambiguous':
      return `SSM could not be reached or kept failing (${name}: ${message})`
    default:
      return `${name}: ${message}`
  }
}

/**
 * Runs SSM reads that must succeed; a failure stops the run (ZT120), its headline saying what has
 * not happened yet and what failed, then the error explained. The SSM side of stopOnKubeError.
 */
export async function stopOnSsmError<T>(
  operation: () => Promise<T>,
  headline: string,
  redact: (text: string) => string
): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (error instanceof ActionError) throw error
    throw new ActionError('ZT120', `${headline} ${explainSsmError(error, redact)}`)
  }
}
