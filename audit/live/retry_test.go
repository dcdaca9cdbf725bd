package live_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
)

// AWS_MAX_ATTEMPTS bounds the attempts of a call that keeps failing (the
// SDK ignores it once a retryer is configured, so live.LoadConfig reads it).
func TestRetryAttempts(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	tests := []struct {
		env  string
		want int32
	}{
		{"1", 1},
		{"3", 3},
	}
	for _, tt := range tests {
		t.Run("AWS_MAX_ATTEMPTS="+tt.env, func(t *testing.T) {
			mototest.Isolate(t, srv.URL, "eu-west-1")
			t.Setenv("AWS_MAX_ATTEMPTS", tt.env)
			hits.Store(0)
			cfg, err := live.LoadConfig(context.Background(), live.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = live.Clients(cfg, live.Options{}).EC2.DescribeVpnConnections(context.Background(), &ec2.DescribeVpnConnectionsInput{})
			if err == nil {
				t.Fatal("a call answered by HTTP 500 succeeded")
			}
			if got := hits.Load(); got != tt.want {
				t.Errorf("%d attempts, want %d", got, tt.want)
			}
		})
	}
}
