package live

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/collect"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// The IAM policy in the README lists exactly the operations the collector's
// client interfaces can call (GetCallerIdentity needs no permission), and
// every one of them is a read.
func TestREADMEPolicyMatchesClients(t *testing.T) {
	prefixes := map[reflect.Type]string{
		reflect.TypeOf((*collect.CloudWatchAPI)(nil)).Elem():  "cloudwatch",
		reflect.TypeOf((*collect.CloudTrailAPI)(nil)).Elem():  "cloudtrail",
		reflect.TypeOf((*collect.LogsAPI)(nil)).Elem():        "logs",
		reflect.TypeOf((*collect.InsightsAPI)(nil)).Elem():    "logs",
		reflect.TypeOf((*collect.EC2API)(nil)).Elem():         "ec2",
		reflect.TypeOf((*collect.AutoScalingAPI)(nil)).Elem(): "autoscaling",
		reflect.TypeOf((*collect.S3API)(nil)).Elem():          "s3",
		reflect.TypeOf((*collect.AthenaAPI)(nil)).Elem():      "athena",
	}
	// IAM actions not named like their operation.
	actions := map[string]string{"s3:ListObjectsV2": "s3:ListBucket"}
	// What Athena does with the caller's credentials while running a query:
	// read the table's definition and write the results to the output
	// location (the policy's second statement).
	athenaImplied := []string{"glue:GetDatabase", "glue:GetTable", "s3:GetBucketLocation", "s3:PutObject"}
	want := append([]string(nil), athenaImplied...)
	for typ, prefix := range prefixes {
		for i := 0; i < typ.NumMethod(); i++ {
			op := typ.Method(i).Name
			if !IsRead(op) {
				t.Errorf("%s:%s is not a read", prefix, op)
			}
			action := prefix + ":" + op
			if a, ok := actions[action]; ok {
				action = a
			}
			want = append(want, action)
		}
	}
	sort.Strings(want)

	raw, err := os.ReadFile(filepath.Join(testenv.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```json\n(\\{\n  \"Version\": \"2012-10-17\".*?)```").FindSubmatch(raw)
	if block == nil {
		t.Fatal("README has no IAM policy block")
	}
	var policy struct{ Statement []struct{ Action []string } }
	if err := json.Unmarshal(block[1], &policy); err != nil {
		t.Fatalf("README policy is not valid JSON: %v", err)
	}
	var got []string
	for _, s := range policy.Statement {
		got = append(got, s.Action...)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README IAM policy vs the collector's clients (-want +got):\n%s", diff)
	}
}
