package collect

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/trail"
)

// changes reads the window's mutating management events. One lookup
// attribute (ReadOnly=false) covers every change to every resource on the
// path with the fewest LookupEvents calls: read-only events, the bulk of
// a busy trail, are never fetched.
func (k *collector) changes(ctx context.Context) audit.Coverage {
	w := k.ev.Window
	in := &cloudtrail.LookupEventsInput{
		StartTime:        aws.Time(w.Start),
		EndTime:          aws.Time(w.End),
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyReadOnly, AttributeValue: aws.String("false")}},
		MaxResults:       aws.Int32(50),
	}
	p := cloudtrail.NewLookupEventsPaginator(k.c.CloudTrail, in)
	guard := newPageGuard("CloudTrail", "LookupEvents")
	var changes []audit.Change
	undecodable := 0
	pages := 0
	athenaNote := "" // why the trail table was not used when the volume called for it (athena.go)
	for p.HasMorePages() {
		k.call("cloudtrail", "LookupEvents")
		out, err := p.NextPage(ctx)
		if err != nil {
			k.ev.Changes = sortChanges(changes)
			if pages == 0 {
				return audit.Coverage{Source: "cloudtrail", Status: audit.CoverageMissing,
					Detail: fmt.Sprintf("LookupEvents failed: %s; changes to the path are unknown", why(err))}
			}
			return audit.Coverage{Source: "cloudtrail", Status: audit.CoveragePartial,
				Detail: fmt.Sprintf("LookupEvents failed after %d pages (%d changes read): %s", pages, len(changes), why(err))}
		}
		pages++
		if pages == 1 {
			if cov, done := k.trailPushDown(ctx, out, p, &athenaNote); done {
				return cov
			}
		}
		for _, e := range out.Events {
			c, err := trail.FromLookup(envelope(e))
			if err != nil {
				undecodable++
			}
			if c.EventID == "" && c.EventName == "" {
				continue
			}
			changes = append(changes, c)
		}
		k.progress("cloudtrail", "%d pages, %d changes", pages, len(changes))
		if err := guard.check(len(out.Events), out.NextToken); err != nil {
			k.ev.Changes = sortChanges(changes)
			return audit.Coverage{Source: "cloudtrail", Status: audit.CoveragePartial,
				Detail: fmt.Sprintf("%v (%d changes read in %d pages)", err, len(changes), pages)}
		}
	}
	k.ev.Changes = sortChanges(changes)
	detail := fmt.Sprintf("%d changes (ReadOnly=false) from %s to %s in %d LookupEvents pages", len(changes),
		w.Start.Format("2006-01-02 15:04"), w.End.Format("15:04 MST"), pages) + athenaNote
	if undecodable > 0 {
		return audit.Coverage{Source: "cloudtrail", Status: audit.CoveragePartial,
			Detail: detail + fmt.Sprintf("; %d events had an unreadable CloudTrailEvent and are known only by their summary", undecodable)}
	}
	return audit.Coverage{Source: "cloudtrail", Status: audit.CoverageOK, Detail: detail}
}

func envelope(e cttypes.Event) trail.LookupEnvelope {
	env := trail.LookupEnvelope{
		EventID: aws.ToString(e.EventId), EventName: aws.ToString(e.EventName), ReadOnly: aws.ToString(e.ReadOnly),
		AccessKeyID: aws.ToString(e.AccessKeyId), EventTime: aws.ToTime(e.EventTime).UTC(), EventSource: aws.ToString(e.EventSource),
		Username: aws.ToString(e.Username), CloudTrailEvent: aws.ToString(e.CloudTrailEvent),
	}
	for _, r := range e.Resources {
		env.Resources = append(env.Resources, trail.LookupResource{ResourceType: aws.ToString(r.ResourceType), ResourceName: aws.ToString(r.ResourceName)})
	}
	return env
}

// sortChanges orders changes oldest first, ties by event ID, and drops
// duplicates (a page boundary can repeat an event).
func sortChanges(cs []audit.Change) []audit.Change {
	sort.SliceStable(cs, func(i, j int) bool {
		if !cs[i].Time.Equal(cs[j].Time) {
			return cs[i].Time.Before(cs[j].Time)
		}
		return cs[i].EventID < cs[j].EventID
	})
	out := cs[:0]
	for i, c := range cs {
		if i > 0 && c.EventID != "" && c.EventID == cs[i-1].EventID {
			continue
		}
		out = append(out, c)
	}
	return out
}
