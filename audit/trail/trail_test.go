package trail

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vpnaudit/vpnaudit/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want audit.Change
	}{
		{
			name: "IAM user stops an instance from the console",
			in: `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEALICE",
				"arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333",
				"accessKeyId":"ASIAEXAMPLEUSERKEY01","userName":"alice"},
				"eventTime":"2026-10-14T02:32:07Z","eventSource":"ec2.amazonaws.com","eventName":"StopInstances",
				"awsRegion":"ap-northeast-1","sourceIPAddress":"203.0.113.7","userAgent":"AWS Internal",
				"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0dc0ffee00000a77"}]},"force":false},
				"responseElements":{"requestId":"s1","instancesSet":{"items":[{"instanceId":"i-0dc0ffee00000a77"}]}},
				"eventID":"b8ed1736-ac9e-033a-775c-d4bea2319287","readOnly":false,"sessionCredentialFromConsole":"true"}`,
			want: audit.Change{
				EventID:     "b8ed1736-ac9e-033a-775c-d4bea2319287",
				EventName:   "StopInstances",
				EventSource: "ec2.amazonaws.com",
				Time:        mustTime(t, "2026-10-14T02:32:07Z"),
				Region:      "ap-northeast-1",
				Actor: audit.Actor{
					Type: "IAMUser", Name: "alice", ARN: "arn:aws:iam::111122223333:user/alice",
					AccountID: "111122223333", AccessKeyID: "ASIAEXAMPLEUSERKEY01",
				},
				SourceIP:  "203.0.113.7",
				UserAgent: "AWS Internal",
				Via:       ViaConsole,
				Resources: []string{"i-0dc0ffee00000a77"},
				Request:   `{"instancesSet":{"items":[{"instanceId":"i-0dc0ffee00000a77"}]},"force":false}`,
				Response:  `{"requestId":"s1","instancesSet":{"items":[{"instanceId":"i-0dc0ffee00000a77"}]}}`,
			},
		},
		{
			name: "odd types: strings for booleans and numbers, lower-case keys, exporter keys, space-separated time",
			in: `{"p_log_type":"AWS.CloudTrail","p_any_ip_addresses":["203.0.113.7"],"EventName":"DeleteRoute",
				"eventsource":"ec2.amazonaws.com","eventTime":"2026-10-14 02:05:12.250","readOnly":"TRUE",
				"userIdentity":{"type":"IAMUser","accountid":"111122223333","username":"bob"},
				"errorCode":123,"errorMessage":false,
				"requestParameters":{"routeTableId":"rtb-0aa11bb22cc33dd44","destinationCidrBlock":"10.20.0.0/16","count":"5"}}`,
			want: audit.Change{
				EventName:    "DeleteRoute",
				EventSource:  "ec2.amazonaws.com",
				Time:         mustTime(t, "2026-10-14T02:05:12.25Z"),
				ReadOnly:     true,
				Actor:        audit.Actor{Type: "IAMUser", Name: "bob", AccountID: "111122223333"},
				Via:          ViaOther,
				ErrorCode:    "123",
				ErrorMessage: "false",
				Resources:    []string{"rtb-0aa11bb22cc33dd44"},
				Request:      `{"routeTableId":"rtb-0aa11bb22cc33dd44","destinationCidrBlock":"10.20.0.0/16","count":"5"}`,
			},
		},
		{
			name: "nulls and missing keys read as absent",
			in: `{"eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","userIdentity":null,
				"requestParameters":null,"responseElements":null,"eventTime":null,"readOnly":null,"errorMessage":"Failed authentication"}`,
			want: audit.Change{
				EventName:    "ConsoleLogin",
				EventSource:  "signin.amazonaws.com",
				Via:          ViaOther,
				ErrorMessage: "Failed authentication",
			},
		},
		{
			name: "userIdentity of the wrong type is ignored",
			in:   `{"eventName":"X","userIdentity":"alice","resources":"none","requestParameters":"text"}`,
			want: audit.Change{EventName: "X", Via: ViaOther, Request: `"text"`},
		},
		{
			name: "offset time is converted to UTC",
			in:   `{"eventName":"X","eventTime":"2026-10-14T11:32:07+09:00"}`,
			want: audit.Change{EventName: "X", Time: mustTime(t, "2026-10-14T02:32:07Z"), Via: ViaOther},
		},
		{
			name: "failed call keeps its error code and message",
			in: `{"eventName":"StopInstances","errorCode":"Client.UnauthorizedOperation","errorMessage":"You are not authorized",
				"userAgent":"aws-sdk-go-v2/1.30.3 os/linux","requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0dc0ffee00000a77"}]}},
				"responseElements":null}`,
			want: audit.Change{
				EventName: "StopInstances", UserAgent: "aws-sdk-go-v2/1.30.3 os/linux", Via: ViaSDK,
				ErrorCode: "Client.UnauthorizedOperation", ErrorMessage: "You are not authorized",
				Resources: []string{"i-0dc0ffee00000a77"},
				Request:   `{"instancesSet":{"items":[{"instanceId":"i-0dc0ffee00000a77"}]}}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
			if got.Time.Location() != time.UTC {
				t.Errorf("Time %v is in %v, want UTC", got.Time, got.Time.Location())
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		badTime bool // the error wraps ErrBadTime and the rest is decoded
	}{
		{name: "empty", in: ""},
		{name: "spaces", in: " \n\t"},
		{name: "null", in: "null"},
		{name: "array", in: `[{"eventName":"X"}]`},
		{name: "number", in: "42"},
		{name: "string", in: `"eventName"`},
		{name: "truncated", in: `{"eventName":"X"`},
		{name: "two objects", in: `{"eventName":"X"} {"eventName":"Y"}`},
		{name: "member fragment", in: `"userIdentity": {"type": "IAMUser"}`},
		{name: "raw newline in a string", in: "{\"eventName\":\"X\nY\"}"},
		{name: "log file", in: `{"Records":[{"eventName":"X"}]}`},
		{name: "unreadable time", in: `{"eventName":"X","eventTime":"redacted"}`, badTime: true},
		{name: "time as object", in: `{"eventName":"X","eventTime":{"t":1}}`, badTime: true},
		{name: "time as boolean", in: `{"eventName":"X","eventTime":true}`, badTime: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode(%q) = %+v, want an error", tt.in, got)
			}
			if errors.Is(err, ErrBadTime) != tt.badTime {
				t.Errorf("Decode(%q) error %q: wraps ErrBadTime = %v, want %v", tt.in, err, !tt.badTime, tt.badTime)
			}
			if tt.badTime && got.EventName != "X" {
				t.Errorf("with a bad time, EventName = %q, want the rest decoded (X)", got.EventName)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339, "" for an error
	}{
		{"2026-10-14T02:34:13Z", "2026-10-14T02:34:13Z"},
		{"2026-10-14T02:34:13.123456Z", "2026-10-14T02:34:13.123456Z"},
		{"2026-10-14T11:34:13+09:00", "2026-10-14T02:34:13Z"},
		{"2026-10-14T02:34:13.123+0000", "2026-10-14T02:34:13.123Z"},
		{"2026-10-14T02:34:13", "2026-10-14T02:34:13Z"},
		{"2026-10-14 02:34:13", "2026-10-14T02:34:13Z"},
		{"2026-10-14 02:34:13.000000000", "2026-10-14T02:34:13Z"},
		{"2026-10-14 02:34:13.5", "2026-10-14T02:34:13.5Z"},
		{"2026-10-14 02:34:13-05:00", "2026-10-14T07:34:13Z"},
		{"1791945253", "2026-10-14T02:34:13Z"},
		{"1791945253.25", "2026-10-14T02:34:13.25Z"},
		{"1791945253000", "2026-10-14T02:34:13Z"},
		{"1791945253250", "2026-10-14T02:34:13.25Z"},
		{"1424476529.0", "2015-02-20T23:55:29Z"},
		{"redacted", ""},
		{"...", ""},
		{"2026-10-14", ""},
		{"14/10/26 02:33:00", ""},
		{"-1791945253", ""},
		{"17919452530000000", ""},
		{"1.791945253e9", ""},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("parseTime(%q) = %v, want an error", tt.in, got)
		case tt.want == "":
		case err != nil:
			t.Errorf("parseTime(%q): %v", tt.in, err)
		default:
			if diff := cmp.Diff(mustTime(t, tt.want), got); diff != "" {
				t.Errorf("parseTime(%q) (-want +got):\n%s", tt.in, diff)
			}
			if got.Location() != time.UTC {
				t.Errorf("parseTime(%q) is in %v, want UTC", tt.in, got.Location())
			}
		}
	}
}

func TestActor(t *testing.T) {
	tests := []struct {
		name  string
		ui    string // userIdentity
		extra string // additionalEventData
		want  audit.Actor
	}{
		{
			name: "IAM user",
			ui:   `{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/ops/alice","accountId":"111122223333","accessKeyId":"AKIAX","userName":"alice"}`,
			want: audit.Actor{Type: "IAMUser", Name: "alice", ARN: "arn:aws:iam::111122223333:user/ops/alice", AccountID: "111122223333", AccessKeyID: "AKIAX"},
		},
		{
			name: "IAM user without userName: the ARN's last segment",
			ui:   `{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/ops/alice"}`,
			want: audit.Actor{Type: "IAMUser", Name: "alice", ARN: "arn:aws:iam::111122223333:user/ops/alice"},
		},
		{
			name: "IAM user with only a principal",
			ui:   `{"type":"IAMUser","principalId":"AIDAEXAMPLE"}`,
			want: audit.Actor{Type: "IAMUser", Name: "AIDAEXAMPLE"},
		},
		{
			name: "assumed role: role/session",
			ui: `{"type":"AssumedRole","principalId":"AROAX:gha-8812","arn":"arn:aws:sts::111122223333:assumed-role/ci-deployer/gha-8812",
				"accountId":"111122223333","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","userName":"ci-deployer",
				"arn":"arn:aws:iam::111122223333:role/ci-deployer"}}}`,
			want: audit.Actor{Type: "AssumedRole", Name: "ci-deployer/gha-8812", ARN: "arn:aws:sts::111122223333:assumed-role/ci-deployer/gha-8812", AccountID: "111122223333", AccessKeyID: "ASIAX"},
		},
		{
			name: "SSO role",
			ui: `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_NetworkAdmin_0123abcd/dana@example.com",
				"sessionContext":{"sessionIssuer":{"userName":"AWSReservedSSO_NetworkAdmin_0123abcd",
				"arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_NetworkAdmin_0123abcd"}}}`,
			want: audit.Actor{Type: "AssumedRole", Name: "AWSReservedSSO_NetworkAdmin_0123abcd/dana@example.com", ARN: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_NetworkAdmin_0123abcd/dana@example.com"},
		},
		{
			name: "assumed role without session context: both from the ARN",
			ui:   `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin/user@example.com"}`,
			want: audit.Actor{Type: "AssumedRole", Name: "AWSReservedSSO_Admin/user@example.com", ARN: "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin/user@example.com"},
		},
		{
			name: "assumed role without ARN: issuer and principal",
			ui:   `{"type":"AssumedRole","principalId":"AROAX:i-0123456789abcdef0","sessionContext":{"sessionIssuer":{"userName":"app-role"}}}`,
			want: audit.Actor{Type: "AssumedRole", Name: "app-role/i-0123456789abcdef0"},
		},
		{
			name: "service-linked role acting for Auto Scaling",
			ui: `{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling",
				"sessionContext":{"sessionIssuer":{"userName":"AWSServiceRoleForAutoScaling"}},"invokedBy":"autoscaling.amazonaws.com"}`,
			want: audit.Actor{Type: "AssumedRole", Name: "AWSServiceRoleForAutoScaling/AutoScaling", ARN: "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling", InvokedBy: "autoscaling.amazonaws.com"},
		},
		{
			name: "root",
			ui:   `{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}`,
			want: audit.Actor{Type: "Root", Name: "root", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333"},
		},
		{
			name: "AWS service",
			ui:   `{"type":"AWSService","invokedBy":"autoscaling.amazonaws.com"}`,
			want: audit.Actor{Type: "AWSService", Name: "autoscaling.amazonaws.com", InvokedBy: "autoscaling.amazonaws.com"},
		},
		{
			name: "AWS service without invokedBy",
			ui:   `{"type":"AWSService"}`,
			want: audit.Actor{Type: "AWSService", Name: "awsservice"},
		},
		{
			name: "federated user with its issuing user",
			ui: `{"type":"FederatedUser","principalId":"111122223333:netops-bob","arn":"arn:aws:sts::111122223333:federated-user/netops-bob",
				"sessionContext":{"sessionIssuer":{"type":"IAMUser","userName":"sso-broker"}}}`,
			want: audit.Actor{Type: "FederatedUser", Name: "sso-broker/netops-bob", ARN: "arn:aws:sts::111122223333:federated-user/netops-bob"},
		},
		{
			name: "federated user alone",
			ui:   `{"type":"FederatedUser","principalId":"111122223333:netops-bob"}`,
			want: audit.Actor{Type: "FederatedUser", Name: "netops-bob"},
		},
		{
			name: "Identity Center user with userName",
			ui:   `{"type":"IdentityCenterUser","userName":"dana@example.com","onBehalfOf":{"userId":"9448-uuid"}}`,
			want: audit.Actor{Type: "IdentityCenterUser", Name: "dana@example.com"},
		},
		{
			name:  "Identity Center user named in additionalEventData",
			ui:    `{"type":"IdentityCenterUser","arn":"","accessKeyId":"","onBehalfOf":{"userId":"9448-uuid"}}`,
			extra: `{"UserName":"dana@example.com"}`,
			want:  audit.Actor{Type: "IdentityCenterUser", Name: "dana@example.com"},
		},
		{
			name: "Identity Center user known by its ID only",
			ui:   `{"type":"IdentityCenterUser","onBehalfOf":{"userId":"94482488-3041-7026-18f3-be45837cd0e4"}}`,
			want: audit.Actor{Type: "IdentityCenterUser", Name: "94482488-3041-7026-18f3-be45837cd0e4"},
		},
		{
			name: "another account",
			ui:   `{"type":"AWSAccount","principalId":"AROAX:session-name","accountId":"444455556666"}`,
			want: audit.Actor{Type: "AWSAccount", Name: "444455556666", AccountID: "444455556666"},
		},
		{
			name: "AWS's own service event has no type",
			ui:   `{"accountId":"111122223333","invokedBy":"AWS Internal"}`,
			want: audit.Actor{Name: "AWS Internal", AccountID: "111122223333", InvokedBy: "AWS Internal"},
		},
		{
			name: "unknown with a user name",
			ui:   `{"type":"Unknown","principalId":"111122223333","accountId":"111122223333","userName":"dana@example.com"}`,
			want: audit.Actor{Type: "Unknown", Name: "dana@example.com", AccountID: "111122223333"},
		},
		{
			name: "unknown with nothing else",
			ui:   `{"type":"Unknown"}`,
			want: audit.Actor{Type: "Unknown", Name: "unknown"},
		},
		{
			name: "web identity user",
			ui:   `{"type":"WebIdentityUser","principalId":"accounts.google.com:1234","userName":"1234"}`,
			want: audit.Actor{Type: "WebIdentityUser", Name: "1234"},
		},
		{
			name: "empty identity",
			ui:   `{}`,
			want: audit.Actor{},
		},
		{
			name: "odd spacing in ARNs (as in the CloudTrail guide)",
			ui:   `{"type":"AssumedRole","arn":"arn: aws: sts: : 123456789012: assumed-role/DevRole/Dev1","sessionContext":{"sessionIssuer":{"userName":"DevRole"}}}`,
			want: audit.Actor{Type: "AssumedRole", Name: "DevRole/Dev1", ARN: "arn: aws: sts: : 123456789012: assumed-role/DevRole/Dev1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := actorFrom(asObject(json.RawMessage(tt.ui)), asObject(json.RawMessage(tt.extra)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("actor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassifyUserAgent(t *testing.T) {
	const (
		tf      = "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.2 ua/2.1 os/linux lang/go#1.22.7"
		tfOld   = "aws-sdk-go/1.29.7 (go1.13.7; darwin; amd64) APN/1.0 HashiCorp/1.0 Terraform/0.12.24 (+https://www.terraform.io)"
		cli     = "aws-cli/2.17.60 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#x86_64 lang/python#3.12.6 md/command#ec2.stop-instances"
		shell   = "aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/ec2.stop-instances"
		goSDK   = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.172.0"
		boto    = "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#5.10 lang/python#3.12.6 Botocore/1.35.36"
		java    = "aws-sdk-java/1.12.770 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS java/17.0.12"
		firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
		s3con   = "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11.666 Linux/4.9.184-0.1.ac.235.83.329.metal1.x86_64]"
		backend = "aws-internal/3 aws-sdk-java/1.12.124 Linux/4.9.273-0.1.ac.226.84.332.metal1.x86_64 OpenJDK_64-Bit_Server_VM/25.312-b07"
	)
	tests := []struct {
		ua, src      string
		fromConsole  bool
		identityType string
		want         string
	}{
		{tf, "192.0.2.50", false, "AssumedRole", ViaTerraform},
		{tfOld, "100.1.114.142", false, "IAMUser", ViaTerraform},
		{"terraform-provider-aws/5.70.0", "192.0.2.50", false, "IAMUser", ViaTerraform},
		{"cloudformation.amazonaws.com", "cloudformation.amazonaws.com", false, "AssumedRole", ViaCloudFormation},
		{"", "cloudformation.amazonaws.com", false, "AssumedRole", ViaCloudFormation},
		{"ec2.amazonaws.com", "ec2.amazonaws.com", false, "AWSService", ViaAWSService},
		{"", "", false, "AWSService", ViaAWSService},
		{cli, "203.0.113.7", false, "IAMUser", ViaCLI},
		{shell, "192.0.2.0", true, "IAMUser", ViaCLI},
		{firefox, "198.51.100.24", false, "AssumedRole", ViaConsole},
		{"[" + firefox + "]", "1.2.3.4", false, "AssumedRole", ViaConsole},
		{s3con, "157.130.196.214", false, "", ViaConsole},
		{"console.amazonaws.com", "203.0.113.7", false, "AssumedRole", ViaConsole},
		{"console.ec2.amazonaws.com", "111.111.111.111", false, "AssumedRole", ViaConsole},
		{"signin.amazonaws.com", "127.0.0.1", false, "IAMUser", ViaConsole},
		{"autoscaling.amazonaws.com", "autoscaling.amazonaws.com", false, "AssumedRole", ViaAWSService},
		{"AWS Internal", "autoscaling.amazonaws.com", false, "AssumedRole", ViaAWSService},
		{"", "lambda.amazonaws.com", false, "AssumedRole", ViaAWSService},
		{"AWS Internal", "203.0.113.7", true, "IAMUser", ViaConsole},
		{"AWS Internal", "AWS Internal", true, "AssumedRole", ViaConsole},
		{"aws internal", "AWS Internal", false, "AssumedRole", ViaConsole},
		{"AWS Internal", "AWS Internal", false, "", ViaAWSService},
		{"SampleUserAgent", "1.2.3.4", true, "AssumedRole", ViaConsole},
		{backend, "40.185.186.6", true, "IAMUser", ViaConsole},
		{backend, "72.21.217.97", false, "IAMUser", ViaSDK},
		{goSDK, "35.72.10.9", false, "AssumedRole", ViaSDK},
		{boto, "3.112.5.19", false, "AssumedRole", ViaSDK},
		{"Boto3/1.9.201 Python/2.7.12 Linux/4.15.0 Botocore/1.12.201", "1.2.3.4", false, "IAMUser", ViaSDK},
		{java, "10.0.0.1", false, "AssumedRole", ViaSDK},
		{"AWSPowerShell.Common/4.1.90.0 .NET_Core/6.0.5", "10.0.0.1", false, "IAMUser", ViaSDK},
		{"amazon-ssm-agent/3.2.0", "10.0.1.50", false, "AssumedRole", ViaOther},
		{"python-requests/2.31.0", "10.0.1.50", false, "AssumedRole", ViaOther},
		{"", "", false, "", ViaOther},
		{"", "", false, "IAMUser", ViaOther},
	}
	for _, tt := range tests {
		got := ClassifyUserAgent(tt.ua, tt.src, tt.fromConsole, tt.identityType)
		if got != tt.want {
			t.Errorf("ClassifyUserAgent(%q, %q, %v, %q) = %q, want %q", tt.ua, tt.src, tt.fromConsole, tt.identityType, got, tt.want)
		}
	}
}

func TestResources(t *testing.T) {
	tests := []struct {
		name string
		in   string // an event record
		want []string
	}{
		{
			name: "IDs anywhere in the request, in document order, without duplicates",
			in: `{"eventName":"ModifyInstanceAttribute","requestParameters":{"instanceId":"i-0dc0ffee00000a77",
				"groupSet":{"items":[{"groupId":"sg-0b22bbbb00000002"},{"groupId":"sg-0b22bbbb00000003"},{"groupId":"sg-0b22bbbb00000002"}]},
				"note":"vpc-0a1b2c3d4e5f60720"}}`,
			want: []string{"i-0dc0ffee00000a77", "sg-0b22bbbb00000002", "sg-0b22bbbb00000003", "vpc-0a1b2c3d4e5f60720"},
		},
		{
			name: "CIDR blocks are not resources",
			in:   `{"eventName":"DeleteRoute","requestParameters":{"routeTableId":"rtb-0aa11bb22cc33dd44","destinationCidrBlock":"10.20.0.0/16"}}`,
			want: []string{"rtb-0aa11bb22cc33dd44"},
		},
		{
			name: "addresses under address keys, in any case",
			in: `{"eventName":"ModifyVpnTunnelOptions","requestParameters":{"ModifyVpnTunnelOptionsRequest":{"VpnConnectionId":"vpn-0a1b2c3d4e5f60718",
				"VpnTunnelOutsideIpAddress":"52.68.10.1","TunnelOptions":{"PreSharedKey":"HIDDEN_DUE_TO_SECURITY_REASONS"}}}}`,
			want: []string{"vpn-0a1b2c3d4e5f60718", "52.68.10.1"},
		},
		{
			name: "an address key that holds no address",
			in:   `{"eventName":"DisassociateAddress","requestParameters":{"publicIp":"not-an-ip","associationId":"eipassoc-0c0ffee000000c3d4"}}`,
			want: []string{"eipassoc-0c0ffee000000c3d4"},
		},
		{
			name: "IPv6 and private addresses",
			in:   `{"eventName":"AssignPrivateIpAddresses","requestParameters":{"networkInterfaceId":"eni-0123456789abcdef0","privateIpAddressesSet":{"items":[{"privateIpAddress":"10.0.1.20"}]},"ipAddress":"2001:db8::1"}}`,
			want: []string{"eni-0123456789abcdef0", "10.0.1.20", "2001:db8::1"},
		},
		{
			name: "names of resources without IDs",
			in:   `{"eventName":"SetDesiredCapacity","eventSource":"autoscaling.amazonaws.com","requestParameters":{"autoScalingGroupName":"cgw-appliance-asg","desiredCapacity":0}}`,
			want: []string{"cgw-appliance-asg"},
		},
		{
			name: "alarm names and log groups",
			in:   `{"eventName":"DisableAlarmActions","requestParameters":{"alarmNames":["VPN-Down","VPN-Tunnel2-Down"]},"responseElements":null}`,
			want: []string{"VPN-Down", "VPN-Tunnel2-Down"},
		},
		{
			name: "instance IDs in a list",
			in:   `{"eventName":"DetachInstances","requestParameters":{"instanceIds":["i-0dc0ffee00000a77","i-0c5e1f00d0000c9d4"],"autoScalingGroupName":"asg"}}`,
			want: []string{"i-0dc0ffee00000a77", "i-0c5e1f00d0000c9d4", "asg"},
		},
		{
			name: "placeholder IDs count under ID keys only",
			in:   `{"eventName":"CreateRoute","requestParameters":{"routeTableId":"rtb-1","gatewayId":"igw-EXAMPLE","description":"sg-1"}}`,
			want: []string{"rtb-1", "igw-EXAMPLE"},
		},
		{
			name: "the response of a call that makes something",
			in: `{"eventName":"AllocateAddress","requestParameters":{"domain":"vpc"},
				"responseElements":{"requestId":"r1","publicIp":"54.250.33.44","allocationId":"eipalloc-0c0ffee000000a1b2","domain":"vpc"}}`,
			want: []string{"54.250.33.44", "eipalloc-0c0ffee000000a1b2"},
		},
		{
			name: "the response of other calls is not read",
			in: `{"eventName":"AuthorizeSecurityGroupIngress","requestParameters":{"groupId":"sg-0f63fecfa17ef4fee"},
				"responseElements":{"securityGroupRuleSet":{"items":[{"securityGroupRuleId":"sgr-027eb7c59241731e0"}]}}}`,
			want: []string{"sg-0f63fecfa17ef4fee"},
		},
		{
			name: "the record's resources list: ARNs and the IDs they end with",
			in: `{"eventName":"StopInstances","resources":[{"ARN":"arn:aws:ec2:ap-northeast-1:111122223333:instance/i-0dc0ffee00000a77"},
				{"arn":"arn:aws:iam::111122223333:role/x"},{"type":"no ARN"},"junk"],
				"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0dc0ffee00000a77"}]}}}`,
			want: []string{"arn:aws:ec2:ap-northeast-1:111122223333:instance/i-0dc0ffee00000a77", "i-0dc0ffee00000a77", "arn:aws:iam::111122223333:role/x"},
		},
		{
			name: "IDs of other shapes are not resources",
			in:   `{"eventName":"X","requestParameters":{"a":"i-0123","b":"vpc-0123456789ABCDEF0","c":"x-0123456789abcdef0","d":"sg-0123456789abcdef0123","e":"ami-12345678"}}`,
			want: []string{"ami-12345678"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Resources); diff != "" {
				t.Errorf("Resources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRecords(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string // event names
		wantErr bool
	}{
		{name: "log file", in: `{"Records":[{"eventName":"StartInstances"},{"eventName":"StopInstances"}]}`, want: []string{"StartInstances", "StopInstances"}},
		{name: "empty log file", in: `{"Records":[]}`, want: []string{}},
		{name: "single event", in: `{"eventName":"StopInstances","eventTime":"2026-10-14T02:32:07Z"}`, want: []string{"StopInstances"}},
		{name: "Records is not an array", in: `{"Records":{"eventName":"X"}}`, wantErr: true},
		{name: "a record that is not an object", in: `{"Records":[{"eventName":"A"},"B"]}`, want: []string{"A"}, wantErr: true},
		{name: "not JSON", in: `Records`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changes, err := DecodeRecords([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("DecodeRecords error = %v, want error %v", err, tt.wantErr)
			}
			got := []string{}
			for _, c := range changes {
				got = append(got, c.EventName)
			}
			if tt.want == nil {
				tt.want = []string{}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("event names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromLookup(t *testing.T) {
	at := mustTime(t, "2026-10-14T02:33:05Z")
	record := `{"eventID":"e-1","eventName":"DeleteVpnConnection","eventSource":"ec2.amazonaws.com","eventTime":"2026-10-14T02:33:05Z",
		"userIdentity":{"type":"IAMUser","userName":"alice","accessKeyId":"ASIAREC"},"userAgent":"aws-cli/2.17.60",
		"sourceIPAddress":"203.0.113.7","readOnly":false,"requestParameters":{"vpnConnectionId":"vpn-0a1b2c3d4e5f60718"}}`
	envelope := LookupEnvelope{
		EventID: "e-1", EventName: "DeleteVpnConnection", ReadOnly: "true", AccessKeyID: "ASIAENV",
		EventTime: at, EventSource: "ec2.amazonaws.com", Username: "envelope-user",
		Resources: []LookupResource{{ResourceType: "AWS::EC2::VPNConnection", ResourceName: "vpn-0a1b2c3d4e5f60718"}, {ResourceType: "AWS::EC2::CustomerGateway", ResourceName: "cgw-0a1b2c3d4e5f60719"}},
	}
	with := func(ev LookupEnvelope, cloudTrailEvent string) LookupEnvelope {
		ev.CloudTrailEvent = cloudTrailEvent
		return ev
	}
	fromEnvelope := audit.Change{
		EventID: "e-1", EventName: "DeleteVpnConnection", EventSource: "ec2.amazonaws.com", Time: at, ReadOnly: true,
		Actor: audit.Actor{Name: "envelope-user", AccessKeyID: "ASIAENV"}, Via: ViaOther,
		Resources: []string{"vpn-0a1b2c3d4e5f60718", "cgw-0a1b2c3d4e5f60719"},
	}
	tests := []struct {
		name    string
		ev      LookupEnvelope
		want    audit.Change
		wantErr error // nil: no error; ErrBadTime or errAny
	}{
		{
			name: "the record wins, the envelope adds its resources first",
			ev:   with(envelope, record),
			want: audit.Change{
				EventID: "e-1", EventName: "DeleteVpnConnection", EventSource: "ec2.amazonaws.com", Time: at,
				Actor:    audit.Actor{Type: "IAMUser", Name: "alice", AccessKeyID: "ASIAREC"},
				SourceIP: "203.0.113.7", UserAgent: "aws-cli/2.17.60", Via: ViaCLI,
				Resources: []string{"vpn-0a1b2c3d4e5f60718", "cgw-0a1b2c3d4e5f60719"},
				Request:   `{"vpnConnectionId":"vpn-0a1b2c3d4e5f60718"}`,
			},
		},
		{
			name: "no record: the envelope alone",
			ev:   envelope,
			want: fromEnvelope,
		},
		{
			name: "a partial record is filled from the envelope",
			ev: with(envelope, `{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ci-deployer/gha-8812"},
				"userAgent":"Terraform/1.9.5 aws-sdk-go-v2/1.32.2","requestParameters":{"customerGatewayId":"cgw-0a1b2c3d4e5f60719","x":"vgw-0a1b2c3d4e5f60721"}}`),
			want: audit.Change{
				EventID: "e-1", EventName: "DeleteVpnConnection", EventSource: "ec2.amazonaws.com", Time: at, ReadOnly: true,
				Actor:     audit.Actor{Type: "AssumedRole", Name: "ci-deployer/gha-8812", ARN: "arn:aws:sts::111122223333:assumed-role/ci-deployer/gha-8812", AccessKeyID: "ASIAENV"},
				UserAgent: "Terraform/1.9.5 aws-sdk-go-v2/1.32.2", Via: ViaTerraform,
				Resources: []string{"vpn-0a1b2c3d4e5f60718", "cgw-0a1b2c3d4e5f60719", "vgw-0a1b2c3d4e5f60721"},
				Request:   `{"customerGatewayId":"cgw-0a1b2c3d4e5f60719","x":"vgw-0a1b2c3d4e5f60721"}`,
			},
		},
		{
			name: "a record's readOnly wins over the envelope's, even when false",
			ev:   with(envelope, `{"readOnly":"false"}`),
			want: func() audit.Change { c := fromEnvelope; c.ReadOnly = false; return c }(),
		},
		{
			name:    "a record that is not JSON: the envelope alone, and an error",
			ev:      with(envelope, "{\"eventName\":\"DeleteVpnConnection\",\n\"eventTime\":\"2026-10-14T02:33:05Z\""),
			want:    fromEnvelope,
			wantErr: errAny,
		},
		{
			name: "an unreadable record time is replaced by the envelope's",
			ev:   with(envelope, `{"eventTime":"redacted","userIdentity":{"type":"Root"}}`),
			want: func() audit.Change {
				c := fromEnvelope
				c.Actor = audit.Actor{Type: "Root", Name: "root", AccessKeyID: "ASIAENV"}
				return c
			}(),
		},
		{
			name: "an unreadable record time without an envelope time is an error",
			ev:   LookupEnvelope{EventID: "e-2", CloudTrailEvent: `{"eventName":"X","eventTime":"redacted"}`},
			want: audit.Change{EventID: "e-2", EventName: "X", Via: ViaOther},
			// the rest of the record is still there
			wantErr: ErrBadTime,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromLookup(tt.ev)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("FromLookup: %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("FromLookup: no error, want one")
			case tt.wantErr == ErrBadTime && !errors.Is(err, ErrBadTime):
				t.Fatalf("FromLookup: %v, want an error wrapping ErrBadTime", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromLookup (-want +got):\n%s", diff)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestLookupEnvelopeUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    LookupEnvelope
		wantErr bool
	}{
		{
			name: "as the AWS CLI prints it",
			in: `{"EventId":"e-1","EventName":"StopInstances","ReadOnly":"false","AccessKeyId":"ASIAX","EventTime":"2026-10-14T11:32:07+09:00",
				"EventSource":"ec2.amazonaws.com","Username":"alice","Resources":[{"ResourceType":"AWS::EC2::Instance","ResourceName":"i-0dc0ffee00000a77"}],
				"CloudTrailEvent":"{\"eventName\":\"StopInstances\"}"}`,
			want: LookupEnvelope{
				EventID: "e-1", EventName: "StopInstances", ReadOnly: "false", AccessKeyID: "ASIAX",
				EventTime: mustTime(t, "2026-10-14T02:32:07Z"), EventSource: "ec2.amazonaws.com", Username: "alice",
				Resources:       []LookupResource{{ResourceType: "AWS::EC2::Instance", ResourceName: "i-0dc0ffee00000a77"}},
				CloudTrailEvent: `{"eventName":"StopInstances"}`,
			},
		},
		{
			name: "epoch seconds, other spellings, a boolean ReadOnly, no resources",
			in:   `{"eventid":"e-2","EVENTNAME":"ConsoleLogin","ReadOnly":false,"EventTime":1424476529.0,"Resources":null}`,
			want: LookupEnvelope{EventID: "e-2", EventName: "ConsoleLogin", ReadOnly: "false", EventTime: mustTime(t, "2015-02-20T23:55:29Z")},
		},
		{name: "bad time", in: `{"EventId":"e-3","EventTime":"yesterday"}`, wantErr: true},
		{name: "resources not a list", in: `{"EventId":"e-4","Resources":"i-1"}`, wantErr: true},
		{name: "not an object", in: `["e-5"]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got LookupEnvelope
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Unmarshal (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGolden decodes every input under testdata/events (with Decode) and
// testdata/lookup (with FromLookup) and compares the result with its golden
// file under testdata/golden. Run with -update to rewrite the golden files.
func TestGolden(t *testing.T) {
	for _, kind := range []string{"events", "lookup"} {
		inputs, err := filepath.Glob(filepath.Join("testdata", kind, "*.json"))
		if err != nil || len(inputs) == 0 {
			t.Fatalf("no inputs under testdata/%s (%v)", kind, err)
		}
		for _, in := range inputs {
			name := filepath.Base(in)
			golden := filepath.Join("testdata", "golden", kind, name)
			t.Run(kind+"/"+strings.TrimSuffix(name, ".json"), func(t *testing.T) {
				raw, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				var got audit.Change
				switch kind {
				case "events":
					got, err = Decode(raw)
				case "lookup":
					var ev LookupEnvelope
					if err := json.Unmarshal(raw, &ev); err != nil {
						t.Fatal(err)
					}
					got, err = FromLookup(ev)
				}
				if err != nil {
					t.Fatalf("%s: %v", in, err)
				}
				if got.Time.Location() != time.UTC {
					t.Errorf("Time %v is in %v, want UTC", got.Time, got.Time.Location())
				}
				if *update {
					b, err := json.MarshalIndent(got, "", "  ")
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				b, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
				}
				var want audit.Change
				if err := json.Unmarshal(b, &want); err != nil {
					t.Fatalf("%s: %v", golden, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", golden, diff)
				}
			})
		}
		// A golden file whose input is gone is stale.
		goldens, _ := filepath.Glob(filepath.Join("testdata", "golden", kind, "*.json"))
		for _, g := range goldens {
			if _, err := os.Stat(filepath.Join("testdata", kind, filepath.Base(g))); err != nil {
				if *update {
					os.Remove(g)
					continue
				}
				t.Errorf("%s has no input under testdata/%s", g, kind)
			}
		}
	}
}
