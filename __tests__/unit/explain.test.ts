import { describe, expect, it } from '@jest/globals'
import { awsError } from '../../__fixtures__/aws-errors.js'
import { createRedactor } from '../../src/secrets/redact.js'
import { explainSsmError } from '../../src/ssm/explain.js'

const redact = createRedactor(['hunter2-secret'])

describe('explainSsmError', () => {
  it.each([
    [
      awsError(
        'AccessDeniedException',
        400,
        'User: arn:aws:sts::1:assumed-role/ci/x is not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:eu-west-1:1:parameter/zerotouch/prod/a/b because no identity-based policy allows the ssm:PutParameter action'
      ),
      /^AWS denied ssm:PutParameter on arn:aws:ssm:eu-west-1:1:parameter\/zerotouch\/prod\/a\/b: grant ssm:PutParameter/
    ],
    [
      awsError('InvalidKeyId', 400, 'Invalid keyId alias/missing'),
      /^kms-key-id: the KMS key cannot be used to encrypt \(InvalidKeyId\)/
    ],
    [awsError('HierarchyTypeMismatchException', 400, 'type mismatch'), /another type than SecureString/],
    [awsError('ParameterLimitExceeded', 400), /10,000 Standard parameters per region\): use tier: Advanced/],
    [awsError('ParameterMaxVersionLimitExceeded', 400), /100 versions/],
    [
      awsError('ExpiredTokenException', 400, 'The security token included in the request is expired'),
      /^no valid AWS credentials \(ExpiredTokenException\): run aws-actions\/configure-aws-credentials/
    ],
    [
      awsError('CredentialsProviderError', 400, 'Could not load credentials from any providers'),
      /^no valid AWS credentials/
    ],
    [awsError('ThrottlingException', 400, 'Rate exceeded'), /^still throttled by AWS after retrying/],
    [awsError('TooManyUpdates', 400), /another writer kept updating the same parameter/],
    [
      awsError(
        'ValidationException',
        400,
        "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier."
      ),
      /^the parameter is in the Advanced tier and SSM cannot move it back to Standard: set tier: Advanced/
    ],
    [
      awsError('InternalServerError', 503, 'oops'),
      /^SSM could not be reached or kept failing \(InternalServerError: oops\)/
    ],
    [awsError('SyntaxError', 403, 'Unexpected token <'), /^AWS refused the request \(HTTP 403, SyntaxError\)/]
  ])('explains %p', (error, expected) => expect(explainSsmError(error, redact)).toMatch(expected))

  it('scrubs a value the error echoes, known or not', () => {
    const message = explainSsmError(
      awsError(
        'ValidationException',
        400,
        "Value 'hunter2-secret' at 'value' failed to satisfy constraint; also hunter2-secret"
      ),
      redact
    )
    expect(message).toBe("ValidationException: Value '***' at 'value' failed to satisfy constraint; also ***")
  })
})
