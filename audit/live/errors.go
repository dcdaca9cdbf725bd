package live

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// Explain turns the SDK's credential and configuration failures into one
// paragraph a user can act on; other errors are returned unchanged.
func Explain(err error, profile string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	low := strings.ToLower(msg)
	login := "aws sso login"
	if profile != "" {
		login += " --profile " + profile
	}
	var ae smithy.APIError
	errors.As(err, &ae)
	code := ""
	if ae != nil {
		code = ae.ErrorCode()
	}
	switch {
	case strings.Contains(low, "sso") && (strings.Contains(low, "expired") || strings.Contains(low, "invalidgrant") || strings.Contains(low, "refresh cached sso token")):
		return fmt.Errorf("your AWS SSO session has expired or was never started: run `%s` and try again (%w)", login, err)
	case code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired" || strings.Contains(low, "security token included in the request is expired"):
		return fmt.Errorf("the AWS credentials have expired: refresh them (for SSO: `%s`; for assumed roles: assume the role again) and try again (%w)", login, err)
	case code == "InvalidClientTokenId" || code == "UnrecognizedClientException" || code == "SignatureDoesNotMatch":
		return fmt.Errorf("AWS rejected the credentials (%s): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile's keys, and that they belong to this partition (%w)", code, err)
	case strings.Contains(low, "failed to retrieve credentials") || strings.Contains(low, "no ec2 imds role found") ||
		strings.Contains(low, "failed to refresh cached credentials") || strings.Contains(low, "get credentials"):
		return fmt.Errorf("no AWS credentials were found: set AWS_PROFILE (or --profile), run `aws configure` or `%s`, or run where an instance or container role is available (%w)", login, err)
	case strings.Contains(low, "failed to get shared config profile") || strings.Contains(low, "sharedconfigprofilenotexist"):
		return fmt.Errorf("the AWS profile %q does not exist in ~/.aws/config or ~/.aws/credentials (%w)", profile, err)
	case strings.Contains(low, "no such host") || strings.Contains(low, "dial tcp"):
		return fmt.Errorf("AWS could not be reached (%v): check the region name, the network, and AWS_ENDPOINT_URL if you point vpnaudit at an emulator", err)
	}
	return err
}
