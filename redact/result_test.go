package redact

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

// TestResultFields checks, on a small result, which fields are redacted
// and which are kept: an IAM user named like a user-agent class keeps the
// class intact, times and scores are copied, IDs stay.
func TestResultFields(t *testing.T) {
	at := time.Date(2026, 11, 3, 21, 52, 41, 0, time.UTC)
	change := audit.Change{
		EventID: "8f131e9a-bd9b-464d-98cc-d7230f5d6a10", EventName: "StopInstances", EventSource: "ec2.amazonaws.com", Time: at,
		Actor: audit.Actor{Type: "IAMUser", Name: "terraform", ARN: "arn:aws:iam::123456789012:user/terraform",
			AccountID: "123456789012", AccessKeyID: "AKIAIOSFODNN7EXAMPLE"},
		SourceIP: "203.0.113.25", UserAgent: "Terraform/1.9.5 terraform-provider-aws/5.70.0", Via: "terraform",
		Resources: []string{"i-0d7632e693e938e41", "18.198.77.14"},
		Request:   `{"publicIp":"18.198.77.14","userName":"terraform"}`,
	}
	ev := &audit.Evidence{Account: "123456789012", CollectedAt: at, Changes: []audit.Change{change},
		Scope: audit.Scope{Resources: []audit.Resource{{ID: "eipalloc-0f93aa1b735f7cbd7", Type: audit.TypeElasticIP,
			Relation: "holds the customer gateway's Elastic IP 18.198.77.14", Attrs: map[string]string{"public-ip": "18.198.77.14"}}}}}
	res := &correlate.Result{
		Evidence: ev,
		Verdict: correlate.Verdict{Status: correlate.StatusRootCause, Confidence: correlate.High,
			Summary: "StopInstances on i-0d7632e693e938e41 by terraform (Terraform) at 21:52:41",
			Cause:   &correlate.Cause{Kind: "api_call", Change: change, Class: "appliance-stopped"}},
		Hypotheses: []correlate.Hypothesis{{Rank: 1, Change: change, Score: 0.93, Why: []string{"it touches elastic-ip 18.198.77.14"}}},
	}
	r := New(testSeed)
	got := r.Result(res)

	user, acct := r.user("terraform"), r.account("123456789012")
	ip := r.addr(mustAddr("18.198.77.14")).String()
	want := change
	want.Actor = audit.Actor{Type: "IAMUser", Name: user, ARN: "arn:aws:iam::" + acct + ":user/" + user, AccountID: acct,
		AccessKeyID: "AKIAREDACTED00000001"}
	want.SourceIP = r.addr(mustAddr("203.0.113.25")).String()
	want.Resources = []string{"i-0d7632e693e938e41", ip}
	want.Request = `{"publicIp":"` + ip + `","userName":"` + user + `"}`
	if diff := cmp.Diff(want, got.Verdict.Cause.Change); diff != "" {
		t.Errorf("cause (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got.Evidence.Changes[0]); diff != "" {
		t.Errorf("evidence change (-want +got):\n%s", diff)
	}
	if s, want := got.Verdict.Summary, "StopInstances on i-0d7632e693e938e41 by "+user+" (Terraform) at 21:52:41"; s != want {
		t.Errorf("summary %q, want %q", s, want)
	}
	if a := got.Evidence.Scope.Resources[0].Attrs["public-ip"]; a != ip {
		t.Errorf("public-ip %q, want %q", a, ip)
	}
	if got.Hypotheses[0].Score != 0.93 || got.Verdict.Status != correlate.StatusRootCause || got.Evidence.Account != acct {
		t.Errorf("score %v, status %q, account %q", got.Hypotheses[0].Score, got.Verdict.Status, got.Evidence.Account)
	}
	if res.Verdict.Cause.Change.Actor.Name != "terraform" || ev.Changes[0].SourceIP != "203.0.113.25" {
		t.Error("Result changed its argument")
	}
	if New(testSeed).Result(nil) != nil {
		t.Error("Result(nil) is not nil")
	}
}
