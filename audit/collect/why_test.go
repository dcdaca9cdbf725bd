package collect

import (
	"errors"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
)

func opErr(service, op string, err error) error {
	return &smithy.OperationError{ServiceID: service, OperationName: op, Err: err}
}

func httpErr(code int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: err}}
}

func TestWhy(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"access denied names the IAM action",
			opErr("CloudTrail", "LookupEvents", httpErr(400, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:… is not authorized"})),
			"access denied: the credentials lack cloudtrail:LookupEvents (add it to the policy in the README)"},
		{"EC2's code for it too",
			opErr("EC2", "DescribeFlowLogs", httpErr(403, &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized"})),
			"access denied: the credentials lack ec2:DescribeFlowLogs (add it to the policy in the README)"},
		{"CloudWatch Logs' IAM prefix",
			opErr("CloudWatch Logs", "FilterLogEvents", httpErr(400, &smithy.GenericAPIError{Code: "AccessDeniedException"})),
			"access denied: the credentials lack logs:FilterLogEvents (add it to the policy in the README)"},
		{"an emulator's unimplemented call",
			opErr("CloudWatch", "DescribeAlarmHistory", httpErr(500, errors.New("invalid character '<'"))),
			"CloudWatch DescribeAlarmHistory is not available from this endpoint (HTTP 500): the region or emulator does not offer it"},
		{"throttled to the end",
			opErr("CloudTrail", "LookupEvents", httpErr(503, errors.New("slow down"))),
			"CloudTrail LookupEvents kept failing with HTTP 503 after retries (throttled or unavailable)"},
		{"other API errors keep code and message",
			opErr("EC2", "DescribeVpnConnections", httpErr(400, &smithy.GenericAPIError{Code: "InvalidVpnConnectionID.NotFound", Message: "vpn-1 does not exist"})),
			"InvalidVpnConnectionID.NotFound: vpn-1 does not exist"},
		{"a bundle without the file", &bundle.NotInBundleError{Service: "ec2", Operation: "DescribeVpcs"}, "the bundle has no ec2/DescribeVpcs*.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Why(tt.err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
