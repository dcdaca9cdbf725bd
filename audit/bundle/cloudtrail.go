package bundle

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/vpnaudit/vpnaudit/audit"
)

// CloudTrail answers LookupEvents from a bundle.
type CloudTrail struct {
	b *Bundle

	mu      sync.Mutex
	answers []lookupAnswer // the latest lookups' events, for their next pages
}

// lookupAnswer is every event one lookup matches, newest first.
type lookupAnswer struct {
	key    string
	events []cttypes.Event
}

// CloudTrail returns the bundle's CloudTrail client.
func (b *Bundle) CloudTrail() *CloudTrail { return &CloudTrail{b: b} }

// LookupEvents implements the API's semantics over every LookupEvents file:
// events deduplicated by EventId; both time bounds inclusive; at most one
// lookup attribute; newest first; pages of MaxResults (default and maximum
// 50).
//
// The files are streamed: an event is decoded only when its raw EventTime
// and attribute member do not already rule it out (a lookup with
// ReadOnly=false skips the read-only bulk of a trail without building it),
// and the matching events of the latest lookups are kept for their next
// pages, so memory grows with the answer, not with the trail.
func (c *CloudTrail) LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(in.LookupAttributes) > 1 {
		return nil, fmt.Errorf("InvalidLookupAttributesException: LookupEvents takes at most one lookup attribute, got %d", len(in.LookupAttributes))
	}
	if in.StartTime != nil && in.EndTime != nil && in.StartTime.After(*in.EndTime) {
		return nil, fmt.Errorf("InvalidTimeRangeException: StartTime %s is after EndTime %s", in.StartTime, in.EndTime)
	}
	events, err := c.matching(ctx, in)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(events, in.NextToken, int(aws.ToInt32(in.MaxResults)), 50, 50)
	if err != nil {
		return nil, err
	}
	return &cloudtrail.LookupEventsOutput{Events: page, NextToken: next}, nil
}

// matching returns every event the lookup matches, newest first, from the
// cache of recent lookups or by reading the files.
func (c *CloudTrail) matching(ctx context.Context, in *cloudtrail.LookupEventsInput) ([]cttypes.Event, error) {
	key := fmt.Sprint(in.StartTime, "|", in.EndTime)
	for _, a := range in.LookupAttributes {
		key += fmt.Sprintf("|%s=%q", a.AttributeKey, aws.ToString(a.AttributeValue))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.answers {
		if a.key == key {
			return a.events, nil
		}
	}
	paths := c.b.files["cloudtrail/LookupEvents"]
	if len(paths) == 0 {
		return nil, c.b.failure("cloudtrail", "LookupEvents")
	}
	var match func(cttypes.Event) bool
	var pre eventPrefilter
	pre.start, pre.end = in.StartTime, in.EndTime
	if len(in.LookupAttributes) == 1 {
		var err error
		match, err = attributeMatcher(in.LookupAttributes[0])
		if err != nil {
			return nil, err
		}
		pre.attr = rawMember[in.LookupAttributes[0].AttributeKey]
		pre.value = aws.ToString(in.LookupAttributes[0].AttributeValue)
	}
	var events []cttypes.Event
	seen := map[string]bool{}
	buf := bufPool.Get()
	defer func() { bufPool.Put(buf[:0]) }()
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rel := c.b.rel(p)
		err := eachElement(p, "Events", buf, pre.reset, pre.member, func(i int, raw []byte) error {
			if !pre.maybe() {
				return nil
			}
			var e cttypes.Event
			if err := decodeRaw(&e, raw, fmt.Sprintf("Output.Events[%d]", i)); err != nil {
				return err
			}
			t := aws.ToTime(e.EventTime)
			if in.StartTime != nil && t.Before(*in.StartTime) || in.EndTime != nil && t.After(*in.EndTime) {
				return nil
			}
			if match != nil && !match(e) {
				return nil
			}
			id := aws.ToString(e.EventId)
			if id != "" && seen[id] {
				return nil
			}
			seen[id] = true
			events = append(events, e)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", rel, err)
		}
	}
	sort.SliceStable(events, func(i, j int) bool {
		return aws.ToTime(events[i].EventTime).After(aws.ToTime(events[j].EventTime))
	})
	if len(c.answers) == 4 {
		c.answers = c.answers[1:]
	}
	c.answers = append(c.answers, lookupAnswer{key, events})
	return events, nil
}

// rawMember is the event member each lookup attribute compares (in lower
// case); the resource attributes look into an array and are not prefiltered.
var rawMember = map[cttypes.LookupAttributeKey]string{
	cttypes.LookupAttributeKeyEventId:     "eventid",
	cttypes.LookupAttributeKeyEventName:   "eventname",
	cttypes.LookupAttributeKeyEventSource: "eventsource",
	cttypes.LookupAttributeKeyUsername:    "username",
	cttypes.LookupAttributeKeyAccessKeyId: "accesskeyid",
	cttypes.LookupAttributeKeyReadOnly:    "readonly",
}

// eventPrefilter rules events out from their raw members: an EventTime
// outside the range, or a plain-string attribute member (absent counts as
// "") other than the value. Whatever it cannot tell is decoded and judged
// by the API's rules. It sees the members as the element is read (reset,
// member), then judges (maybe).
type eventPrefilter struct {
	start, end  *time.Time
	attr, value string
	tRaw, aRaw  []byte
}

func (p *eventPrefilter) reset() { p.tRaw, p.aRaw = nil, nil }

func (p *eventPrefilter) member(name, val []byte) bool {
	switch {
	case equalFold(name, "eventtime"):
		p.tRaw = val
	case p.attr != "" && equalFold(name, p.attr):
		p.aRaw = val
	}
	return true
}

func (p *eventPrefilter) maybe() bool {
	if p.attr != "" {
		if p.aRaw == nil || string(p.aRaw) == "null" {
			if p.value != "" {
				return false
			}
		} else if s, ok := plainString(p.aRaw); ok && string(s) != p.value {
			return false
		}
	}
	if (p.start != nil || p.end != nil) && p.tRaw != nil {
		if s, ok := plainString(p.tRaw); ok {
			if t, err := audit.ParseTimestamp(string(s)); err == nil {
				if p.start != nil && t.Before(*p.start) || p.end != nil && t.After(*p.end) {
					return false
				}
			}
		}
	}
	return true
}

func attributeMatcher(a cttypes.LookupAttribute) (func(cttypes.Event) bool, error) {
	v := aws.ToString(a.AttributeValue)
	field := func(get func(cttypes.Event) *string) func(cttypes.Event) bool {
		return func(e cttypes.Event) bool { return aws.ToString(get(e)) == v }
	}
	switch a.AttributeKey {
	case cttypes.LookupAttributeKeyEventId:
		return field(func(e cttypes.Event) *string { return e.EventId }), nil
	case cttypes.LookupAttributeKeyEventName:
		return field(func(e cttypes.Event) *string { return e.EventName }), nil
	case cttypes.LookupAttributeKeyEventSource:
		return field(func(e cttypes.Event) *string { return e.EventSource }), nil
	case cttypes.LookupAttributeKeyUsername:
		return field(func(e cttypes.Event) *string { return e.Username }), nil
	case cttypes.LookupAttributeKeyAccessKeyId:
		return field(func(e cttypes.Event) *string { return e.AccessKeyId }), nil
	case cttypes.LookupAttributeKeyReadOnly:
		return field(func(e cttypes.Event) *string { return e.ReadOnly }), nil
	case cttypes.LookupAttributeKeyResourceName, cttypes.LookupAttributeKeyResourceType:
		byName := a.AttributeKey == cttypes.LookupAttributeKeyResourceName
		return func(e cttypes.Event) bool {
			for _, r := range e.Resources {
				got := r.ResourceType
				if byName {
					got = r.ResourceName
				}
				if aws.ToString(got) == v {
					return true
				}
			}
			return false
		}, nil
	}
	return nil, fmt.Errorf("InvalidLookupAttributesException: unknown attribute key %q", a.AttributeKey)
}
