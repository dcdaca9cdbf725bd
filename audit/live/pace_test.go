package live

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The pacer's bucket, on a made-up clock: each reservation's wait.
func TestPacerReservations(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 21, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	tests := []struct {
		name        string
		rate        float64
		burst       int
		calls       []time.Time
		wantWaitsMS []int
	}{
		{"2/s burst 1: a burst is spread 500 ms apart", 2, 1, at(0, 0, 0, 0), []int{0, 500, 1000, 1500}},
		{"2/s burst 1: calls 500 ms apart never wait", 2, 1, at(0, 500, 1000, 1500), []int{0, 0, 0, 0}},
		{"2/s burst 1: a call 200 ms after waits 300 ms", 2, 1, at(0, 200), []int{0, 300}},
		{"2/s burst 2: two at once, the third waits", 2, 2, at(0, 0, 0), []int{0, 0, 500}},
		{"idle time refills up to the burst only", 2, 2, at(0, 10000, 10000, 10000), []int{0, 0, 0, 500}},
		{"10/s", 10, 1, at(0, 0, 0), []int{0, 100, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPacer(tt.rate, tt.burst)
			var got []int
			for _, c := range tt.calls {
				got = append(got, int(p.reserve(c).Round(time.Millisecond)/time.Millisecond))
			}
			if diff := cmp.Diff(tt.wantWaitsMS, got); diff != "" {
				t.Errorf("waits in ms (-want +got):\n%s", diff)
			}
		})
	}
}

// A wait ends with the context, and gives its token back.
func TestPacerCancel(t *testing.T) {
	p := NewPacer(0.001, 1) // one token, then one every 1000 s
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Wait(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait returned %v, want context.Canceled", err)
	}
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := p.Wait(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a canceled context returned %v", err)
	}
	// The canceled reservations were given back: the debt is one token.
	p.mu.Lock()
	tokens := p.tokens
	p.mu.Unlock()
	if tokens < -0.01 || tokens > 0.01 {
		t.Errorf("%.3f tokens after a canceled wait, want 0 (the token given back)", tokens)
	}
}
