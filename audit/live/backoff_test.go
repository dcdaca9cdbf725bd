package live

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// The back-off's ceilings: throttles on a 1 s base, other failures on
// 50 ms, both doubling per attempt up to 5 s.
func TestBackoff(t *testing.T) {
	var so retry.StandardOptions
	retry.NewStandard(func(o *retry.StandardOptions) { retryOptions(o, 6); so = *o })
	b := so.Backoff
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	failed := &smithy.GenericAPIError{Code: "InternalFailure"}
	tests := []struct {
		name    string
		err     error
		attempt int
		ceiling time.Duration
	}{
		{"throttled, first retry", throttled, 1, 2 * time.Second},
		{"throttled, second retry", throttled, 2, 4 * time.Second},
		{"throttled, later", throttled, 5, maxBackoff},
		{"5xx, first retry", failed, 1, 100 * time.Millisecond},
		{"5xx, third retry", failed, 3, 400 * time.Millisecond},
		{"5xx, much later", failed, 40, maxBackoff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var top time.Duration
			for i := 0; i < 500; i++ {
				d, err := b.BackoffDelay(tt.attempt, tt.err)
				if err != nil {
					t.Fatal(err)
				}
				if d < 0 || d > tt.ceiling {
					t.Fatalf("delay %s, want within [0, %s]", d, tt.ceiling)
				}
				top = max(top, d)
			}
			// Full jitter: 500 draws come near the ceiling.
			if top < tt.ceiling/2 {
				t.Errorf("largest of 500 delays %s, want the jitter to reach past %s", top, tt.ceiling/2)
			}
		})
	}
	if so.MaxAttempts != 6 || so.MaxBackoff != maxBackoff {
		t.Errorf("attempts %d, max back-off %s", so.MaxAttempts, so.MaxBackoff)
	}
}
