package trail

import (
	"regexp"
	"strings"
)

// Values of audit.Change.Via.
const (
	ViaConsole        = "console"
	ViaCLI            = "cli"
	ViaSDK            = "sdk"
	ViaTerraform      = "terraform"
	ViaCloudFormation = "cloudformation"
	ViaAWSService     = "aws-service"
	ViaOther          = "other"
)

// ClassifyUserAgent says how a call was made, from the record's userAgent,
// sourceIPAddress, sessionCredentialFromConsole and userIdentity.type. The
// first rule that matches wins (text matches ignore case):
//
//  1. terraform: the user agent contains "Terraform/" or
//     "terraform-provider-aws" (it also names the Go SDK it is built on, so
//     this comes before sdk).
//  2. cloudformation: the user agent or source is cloudformation.amazonaws.com.
//  3. aws-service: the identity type is AWSService.
//  4. cli: the user agent contains "aws-cli/" (CloudShell included, although
//     its credentials come from the console session).
//  5. console: the user agent is a browser ("Mozilla/"), the S3 console
//     ("S3Console/"), or a console or sign-in host (console.amazonaws.com,
//     console.ec2.amazonaws.com, signin.amazonaws.com), in the user agent or
//     the source.
//  6. aws-service: the user agent or the source is an AWS service host
//     (ec2.amazonaws.com, autoscaling.amazonaws.com, …): a service called on
//     the principal's behalf.
//  7. console: the user agent is "AWS Internal" — except when the identity
//     has no type and the source is "AWS Internal" too, which is AWS's own
//     service event (key rotation and the like): aws-service.
//  8. console: sessionCredentialFromConsole is true.
//  9. sdk: the user agent names an AWS SDK ("aws-sdk-" — Go, Java, JS, …,
//     "Boto3/", "botocore/", "AWSPowerShell", "aws-powershell").
//  10. other: anything else, an empty user agent included.
func ClassifyUserAgent(ua, sourceIP string, fromConsole bool, identityType string) string {
	lua := strings.ToLower(strings.TrimSpace(ua))
	lsrc := strings.ToLower(strings.TrimSpace(sourceIP))
	containsAny := func(s string, subs ...string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
	switch {
	case containsAny(lua, "terraform/", "terraform-provider-aws"):
		return ViaTerraform
	case containsAny(lua, "cloudformation.amazonaws.com") || lsrc == "cloudformation.amazonaws.com":
		return ViaCloudFormation
	case identityType == "AWSService":
		return ViaAWSService
	case strings.Contains(lua, "aws-cli/"):
		return ViaCLI
	case containsAny(lua, "mozilla/", "s3console/") ||
		consoleHost.MatchString(lua) || consoleHost.MatchString(lsrc):
		return ViaConsole
	case serviceHost.MatchString(lua) || serviceHost.MatchString(lsrc):
		return ViaAWSService
	case lua == "aws internal":
		if identityType == "" && lsrc == "aws internal" && !fromConsole {
			return ViaAWSService
		}
		return ViaConsole
	case fromConsole:
		return ViaConsole
	case containsAny(lua, "aws-sdk-", "boto3/", "botocore/", "awspowershell", "aws-powershell"):
		return ViaSDK
	}
	return ViaOther
}

var (
	// consoleHost matches the console's and sign-in's own hosts anywhere in
	// a (lower-cased) user agent or source.
	consoleHost = regexp.MustCompile(`(?:^|[^a-z0-9.-])(?:console(?:\.[a-z0-9-]+)?|signin)\.amazonaws\.com\b`)
	// serviceHost matches a whole (lower-cased) user agent or source that is
	// an AWS service host.
	serviceHost = regexp.MustCompile(`^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$`)
)
