package live

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
)

// DefaultCloudTrailRate is CloudTrail LookupEvents' documented quota: 2
// requests a second per account and region. The CloudTrail client keeps to
// it on its own side, so the collector's pages are never throttled: the
// SDK's adaptive retry mode only slows down after throttles, and each
// throttle costs a back-off of up to seconds.
const DefaultCloudTrailRate = 2.0

// Pacer is a token bucket that spaces calls: Rate tokens a second, at most
// Burst of them saved up while idle. Wait takes one, sleeping until one is
// there. It is safe for concurrent use; waiters are served in the order
// they arrive.
type Pacer struct {
	rate  float64
	burst float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewPacer returns a pacer of rate calls a second with a burst of burst
// (at least 1). It starts full.
func NewPacer(rate float64, burst int) *Pacer {
	b := math.Max(1, float64(burst))
	return &Pacer{rate: rate, burst: b, tokens: b, now: time.Now}
}

// Wait takes a token, waiting for it if none is there. It returns the
// context's error, without taking a token, when ctx ends first.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	wait := p.reserve(p.now())
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		p.tokens++ // the reservation is given back
		p.mu.Unlock()
		return ctx.Err()
	}
}

// reserve takes a token at now, and returns how long the caller must wait
// for it: below zero tokens, the wait covers the debt.
func (p *Pacer) reserve(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() && now.After(p.last) {
		p.tokens = math.Min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
	}
	if now.After(p.last) {
		p.last = now
	}
	p.tokens--
	if p.tokens >= 0 {
		return 0
	}
	return time.Duration(-p.tokens / p.rate * float64(time.Second))
}

// paceID names the pacing middleware in a client's stack.
const paceID = "vpnaudit.Pace"

// addPacer returns a stack option that makes every attempt of every call
// wait for p: it sits after the retry middleware, so retried attempts are
// paced too.
func addPacer(p *Pacer) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		m := middleware.FinalizeMiddlewareFunc(paceID,
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := p.Wait(ctx); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("waiting for %s's request rate: %w", middleware.GetServiceID(ctx), err)
				}
				return next.HandleFinalize(ctx, in)
			})
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(m, "Retry", middleware.After)
		}
		return stack.Finalize.Add(m, middleware.After)
	}
}

// cloudTrailPacer returns the pacer of the CloudTrail client for rate (0:
// DefaultCloudTrailRate), or nil when rate is negative (pacing off).
func cloudTrailPacer(rate float64) *Pacer {
	switch {
	case rate < 0:
		return nil
	case rate == 0:
		rate = DefaultCloudTrailRate
	}
	return NewPacer(rate, 1)
}
