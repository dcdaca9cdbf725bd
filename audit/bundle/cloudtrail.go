package bundle

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// CloudTrail answers LookupEvents from a bundle.
type CloudTrail struct{ b *Bundle }

// CloudTrail returns the bundle's CloudTrail client.
func (b *Bundle) CloudTrail() *CloudTrail { return &CloudTrail{b} }

// LookupEvents implements the API's semantics over every LookupEvents file:
// events deduplicated by EventId; both time bounds inclusive; at most one
// lookup attribute; newest first; pages of MaxResults (default and maximum
// 50).
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
	outs, _, err := outputs[cloudtrail.LookupEventsOutput](c.b, "cloudtrail", "LookupEvents")
	if err != nil {
		return nil, err
	}
	var match func(cttypes.Event) bool
	if len(in.LookupAttributes) == 1 {
		match, err = attributeMatcher(in.LookupAttributes[0])
		if err != nil {
			return nil, err
		}
	}
	var events []cttypes.Event
	seen := map[string]bool{}
	for _, o := range outs {
		for _, e := range o.Events {
			id := aws.ToString(e.EventId)
			if id != "" && seen[id] {
				continue
			}
			seen[id] = true
			t := aws.ToTime(e.EventTime)
			if in.StartTime != nil && t.Before(*in.StartTime) || in.EndTime != nil && t.After(*in.EndTime) {
				continue
			}
			if match != nil && !match(e) {
				continue
			}
			events = append(events, e)
		}
	}
	sort.SliceStable(events, func(i, j int) bool {
		return aws.ToTime(events[i].EventTime).After(aws.ToTime(events[j].EventTime))
	})
	page, next, err := paginate(events, in.NextToken, int(aws.ToInt32(in.MaxResults)), 50, 50)
	if err != nil {
		return nil, err
	}
	return &cloudtrail.LookupEventsOutput{Events: page, NextToken: next}, nil
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
