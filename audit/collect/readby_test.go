package collect

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
)

// withoutReadBy returns t without the calls its flow logs were read
// through, for comparing the traffic of two reading paths, and checks that
// every flow log read says it was read by want.
func withoutReadBy(tb testing.TB, t audit.Traffic, want string) audit.Traffic {
	tb.Helper()
	logs := append([]audit.FlowLog(nil), t.FlowLogs...)
	var got, wantAll []string
	for i := range logs {
		if logs[i].Read {
			got, wantAll = append(got, logs[i].ReadBy), append(wantAll, want)
		}
		logs[i].ReadBy = ""
	}
	if diff := cmp.Diff(wantAll, got); diff != "" {
		tb.Errorf("flow logs read by (-want +got):\n%s", diff)
	}
	t.FlowLogs = logs
	return t
}
