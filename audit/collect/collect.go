package collect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
)

// Options say what to investigate.
type Options struct {
	// Alarm is the CloudWatch alarm's name.
	Alarm string
	// At picks the episode that covers it; nil means the latest.
	At *time.Time
	// Lookback is how far before the breach changes, traffic and metrics
	// are read (default 2h: long enough for a change that breaks a tunnel
	// at its next rekey or DPD cycle, short enough to stay cheap).
	Lookback time.Duration
	// After is how far past the alarm (or its recovery) they are read
	// (default 30m).
	After time.Duration
	// Now is the collection's clock: the wall clock live, the bundle's
	// RecordedAt offline. When zero (a bundle without RecordedAt) it is
	// taken as the alarm's last state update plus After, so a replay never
	// depends on the wall clock.
	Now time.Time
	// Region and Account label the evidence when the clients cannot say.
	Region  string
	Account string
	// Progress, if set, receives one line per step.
	Progress func(source, message string)
	// PushDown says where flow logs (and CloudTrail delivered to S3) are
	// aggregated: PushDownAuto chooses from the estimated volume,
	// PushDownAlways hands the work to Logs Insights / Athena, PushDownNever
	// reads the records and aggregates them here. The zero value is
	// PushDownAuto.
	PushDown PushDown
	// Athena names what Athena queries run against (S3-delivered flow logs
	// and CloudTrail); empty fields mean Athena is not used.
	Athena AthenaOptions
}

// PushDown is where aggregation runs; see Options.PushDown.
type PushDown string

// The push-down choices (the --push-down flag's values).
const (
	PushDownAuto   PushDown = "auto"
	PushDownAlways PushDown = "always"
	PushDownNever  PushDown = "never"
)

// AthenaOptions name the Athena workgroup, database and tables vpnaudit
// queries (the table DDL is in the README).
type AthenaOptions struct {
	Workgroup      string
	Database       string
	OutputLocation string
	FlowTable      string
	TrailTable     string
}

const (
	defaultLookback = 2 * time.Hour
	defaultAfter    = 30 * time.Minute
	// maxFlowInterfaces caps the ENIs whose flow logs are read.
	maxFlowInterfaces = 200
)

// collector holds one collection's state.
type collector struct {
	c     Clients
	o     Options
	ev    *audit.Evidence
	mu    sync.Mutex
	tally map[[2]string]int
	// flowInterfaces are the ENIs whose flow logs are read.
	flowInterfaces []audit.Interface
}

// Collect investigates o.Alarm through the clients and returns the
// evidence. Only a missing or unusable alarm is an error; every other
// source that fails is reported in the evidence's coverage and the
// collection goes on.
//
// When ctx ends (Ctrl-C, a timeout) after the incident is known, Collect
// stops promptly and returns the evidence read so far with Interrupted
// set to the context's cause, and no error: a partial report beats none.
// Before that it returns the cause as the error.
func Collect(ctx context.Context, c Clients, o Options) (*audit.Evidence, error) {
	if o.Alarm == "" {
		return nil, errors.New("no alarm name given")
	}
	if o.Lookback <= 0 {
		o.Lookback = defaultLookback
	}
	if o.After <= 0 {
		o.After = defaultAfter
	}
	k := &collector{c: c, o: o, tally: map[[2]string]int{},
		ev: &audit.Evidence{Account: o.Account, Region: o.Region, CollectedAt: o.Now.UTC()}}
	k.identity(ctx)
	if err := k.incident(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w before the alarm %q was read: there is nothing to report", context.Cause(ctx), o.Alarm)
		}
		return nil, err
	}
	ep := k.ev.Incident.Episode
	end := ep.FiredAt
	if ep.RecoveredAt != nil {
		end = *ep.RecoveredAt
	}
	k.ev.Window = audit.Window{Start: ep.BreachStartedAt.Add(-o.Lookback), End: end.Add(o.After)}
	if k.ev.Window.End.After(k.ev.CollectedAt) {
		k.ev.Window.End = k.ev.CollectedAt
	}
	if k.ev.Window.End.Before(ep.FiredAt) {
		k.ev.Window.End = ep.FiredAt
	}
	k.scope(ctx)
	if err := k.checkUnrelatedInstance(); err != nil {
		return nil, err
	}

	// Changes, metrics and traffic are independent of each other: fetch
	// them concurrently (CloudTrail, the scarce API, never waits for the
	// others). Each writes only its own part of the evidence.
	var wg sync.WaitGroup
	var changesCov, metricsCov, trafficCov audit.Coverage
	wg.Add(3)
	go func() { defer wg.Done(); changesCov = k.changes(ctx) }()
	go func() { defer wg.Done(); metricsCov = k.metrics(ctx) }()
	go func() { defer wg.Done(); trafficCov = k.traffic(ctx) }()
	wg.Wait()
	if ctx.Err() != nil && trafficCov.Status == audit.CoverageMissing && k.ev.Traffic.Records > 0 {
		// The records read before the stop are in the evidence: say so.
		trafficCov.Status = audit.CoveragePartial
		trafficCov.Detail = fmt.Sprintf("%d records read before the run was stopped; %s", k.ev.Traffic.Records, trafficCov.Detail)
	}
	k.ev.Coverage = mergeCoverage(append(k.ev.Coverage, changesCov, trafficCov, metricsCov))

	for key, n := range k.tally {
		k.ev.Calls = append(k.ev.Calls, audit.Call{Service: key[0], Operation: key[1], Count: n})
	}
	audit.SortCalls(k.ev.Calls)
	if ctx.Err() != nil {
		k.ev.Interrupted = context.Cause(ctx).Error()
	}
	return k.ev, nil
}

// mergeCoverage makes one entry per source, where the first one stood: a
// source reported by two steps (the window check and the read itself)
// takes the worse status, and its details are joined, so a consumer keyed
// by source never reads "ok" beside a "partial".
func mergeCoverage(cs []audit.Coverage) []audit.Coverage {
	rank := map[string]int{audit.CoverageOK: 0, audit.CoveragePartial: 1, audit.CoverageMissing: 2}
	at := map[string]int{}
	var out []audit.Coverage
	for _, c := range cs {
		i, seen := at[c.Source]
		if !seen {
			at[c.Source] = len(out)
			out = append(out, c)
			continue
		}
		m := &out[i]
		if rank[c.Status] > rank[m.Status] {
			m.Status = c.Status
		}
		switch {
		case m.Detail == "":
			m.Detail = c.Detail
		case c.Detail != "" && c.Detail != m.Detail:
			m.Detail += "; " + c.Detail
		}
	}
	return out
}

// call counts one API call.
func (k *collector) call(service, op string) {
	k.mu.Lock()
	k.tally[[2]string{service, op}]++
	k.mu.Unlock()
}

func (k *collector) progress(source, format string, args ...any) {
	if k.o.Progress != nil {
		k.o.Progress(source, fmt.Sprintf(format, args...))
	}
}

func (k *collector) cover(source, status, format string, args ...any) {
	k.ev.Coverage = append(k.ev.Coverage, audit.Coverage{Source: source, Status: status, Detail: fmt.Sprintf(format, args...)})
}

func (k *collector) identity(ctx context.Context) {
	if k.c.STS == nil || k.ev.Account != "" {
		return
	}
	k.call("sts", "GetCallerIdentity")
	out, err := k.c.STS.GetCallerIdentity(ctx, nil)
	if err != nil || out.Account == nil {
		return
	}
	if k.ev.Account == "" {
		k.ev.Account = *out.Account
	}
}

// why says in a few words why a call failed, naming what a user can act on.
func why(err error) string { return Why(err) }

// Why says in a few words why an AWS call failed, naming what a user can
// act on: for access denied, the IAM action the credentials lack.
func Why(err error) string {
	if bundle.IsNotInBundle(err) {
		return err.Error()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "the run was stopped before this finished"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "Client.UnauthorizedOperation":
			if action := IAMAction(err); action != "" {
				return fmt.Sprintf("access denied: the credentials lack %s (add it to the policy in the README)", action)
			}
			return fmt.Sprintf("access denied (%s)", ae.ErrorMessage())
		}
		return fmt.Sprintf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	var oe *smithy.OperationError
	errors.As(err, &oe)
	var re *awshttp.ResponseError
	if errors.As(err, &re) && oe != nil {
		switch code := re.HTTPStatusCode(); {
		case code == http.StatusNotFound || code == http.StatusNotImplemented || code == http.StatusInternalServerError:
			return fmt.Sprintf("%s %s is not available from this endpoint (HTTP %d): the region or emulator does not offer it", oe.ServiceID, oe.OperationName, code)
		case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests:
			return fmt.Sprintf("%s %s kept failing with HTTP %d after retries (throttled or unavailable)", oe.ServiceID, oe.OperationName, code)
		}
	}
	if oe != nil {
		return fmt.Sprintf("%s %s: %v", oe.ServiceID, oe.OperationName, oe.Err)
	}
	return err.Error()
}

// iamPrefixes maps SDK service IDs to IAM action prefixes.
var iamPrefixes = map[string]string{
	"CloudWatch": "cloudwatch", "CloudTrail": "cloudtrail", "CloudWatch Logs": "logs", "EC2": "ec2",
	"STS": "sts", "Auto Scaling": "autoscaling",
}

// IAMAction names the IAM action of a failed SDK call ("cloudtrail:LookupEvents").
func IAMAction(err error) string {
	var oe *smithy.OperationError
	if !errors.As(err, &oe) {
		return ""
	}
	prefix, ok := iamPrefixes[oe.ServiceID]
	if !ok {
		prefix = strings.ToLower(strings.ReplaceAll(oe.ServiceID, " ", ""))
	}
	return prefix + ":" + oe.OperationName
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
