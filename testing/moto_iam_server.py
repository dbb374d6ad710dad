"""moto_server whose SSM calls are authorized per parameter ARN, and refused, as AWS does.

moto's IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT) checks SSM actions against the resource "*" only,
so a policy scoped to `parameter/<path>/*` could not be told apart from one that is not; and it refuses
in XML, where SSM answers JSON. This launcher gives each SSM call the ARNs of the parameters it names
(Names, Name, ResourceId, or Path for GetParametersByPath), asks moto's own policy evaluation about each,
and answers a refusal as SSM does: HTTP 400, AccessDeniedException, "... on resource: <arn> ...".
A call that names no parameter (DescribeParameters, whose filters are no resource: it has no resource type in the
Service Authorization Reference for Systems Manager) is authorized against "*", as IAM does, so only a statement
with "Resource": "*" grants it.
The region of each ARN is the request's (`response.region`): with an endpoint that is not `*.amazonaws.com` and a
user agent that names no region (the AWS SDK for JavaScript's does not), moto takes it from the SigV4 credential
scope of the Authorization header (moto/core/responses.py, BaseResponse.get_region_from_url), the region the
request is signed for, as AWS does; and it keeps each region's parameters apart by that region. So a policy
that names the primary's region only is refused in a replica region, as IAM refuses it.
"""
import sys

from moto import server
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.ssm.responses import SimpleSystemManagerResponse

_authorize = SimpleSystemManagerResponse._authenticate_and_authorize_normal_action


def _parameter_arns(response):
    names = response._get_param("Names") or [
        response._get_param("Name") or response._get_param("ResourceId") or response._get_param("Path")
    ]
    prefix = f"arn:{response.partition}:ssm:{response.region}:{response.current_account}:parameter"
    return [f"{prefix}{name if name.startswith('/') else '/' + name}" for name in names if name]


def _authorize_each_parameter(self, resource="*"):
    for arn in _parameter_arns(self) or [resource]:
        try:
            _authorize(self, arn)
        except AccessDeniedError as denied:
            action = f"ssm:{self._get_action()}"
            raise JsonRESTError(
                "AccessDeniedException",
                f"{denied.message} on resource: {arn} because no identity-based policy allows the {action} action",
            ) from denied


SimpleSystemManagerResponse._authenticate_and_authorize_normal_action = _authorize_each_parameter

if __name__ == "__main__":
    server.main(sys.argv[1:])
