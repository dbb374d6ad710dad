/** An error shaped as the AWS SDK v3 throws it: a name and the HTTP status in $metadata. */
export function awsError(name: string, httpStatusCode: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode },
    $fault: httpStatusCode >= 500 ? 'server' : 'client'
  })
}
