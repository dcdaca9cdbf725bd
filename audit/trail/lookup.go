package trail

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// LookupEnvelope is one event of a CloudTrail LookupEvents response
// (types.Event in the AWS SDK for Go v2), as plain values: the caller converts
// from the SDK type, dereferencing nil pointers to "".
type LookupEnvelope struct {
	EventID     string
	EventName   string
	ReadOnly    string // "true" or "false"
	AccessKeyID string
	EventTime   time.Time
	EventSource string
	// Username is the envelope's user name: the IAM user's name, or the role
	// session name for an assumed role.
	Username  string
	Resources []LookupResource
	// CloudTrailEvent is the event record as a JSON string, as returned.
	CloudTrailEvent string
}

// LookupResource is one entry of a LookupEvents event's Resources.
type LookupResource struct {
	ResourceType string // AWS::EC2::Instance, …
	ResourceName string // i-0dc0ffee00000a77, …
}

// FromLookup builds the Change for one LookupEvents event: the decoded
// CloudTrailEvent record, with the envelope filling what the record lacks
// (event ID, name and source, time, read-only flag, access key, and the
// actor's name from Username). The envelope's resources come first in
// Resources, followed by those found in the record.
//
// When CloudTrailEvent is empty the Change is built from the envelope alone.
// When it cannot be decoded, FromLookup returns the Change built from the
// envelope alone together with an error saying why; a caller that prefers
// partial evidence to none may keep it. An unreadable eventTime in the record
// is no error when the envelope has a time.
func FromLookup(ev LookupEnvelope) (audit.Change, error) {
	var (
		c           audit.Change
		hasReadOnly bool
		err         error
	)
	if strings.TrimSpace(ev.CloudTrailEvent) != "" {
		// On any error but a bad time, decode returns an empty change.
		c, hasReadOnly, err = decode([]byte(ev.CloudTrailEvent))
		if errors.Is(err, ErrBadTime) && !ev.EventTime.IsZero() {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("trail: LookupEvents event %s: CloudTrailEvent: %w", ev.EventID, err)
		}
	}

	c.EventID = first(c.EventID, ev.EventID)
	c.EventName = first(c.EventName, ev.EventName)
	c.EventSource = first(c.EventSource, ev.EventSource)
	if c.Time.IsZero() && !ev.EventTime.IsZero() {
		c.Time = ev.EventTime.UTC()
	}
	if !hasReadOnly {
		c.ReadOnly = strings.EqualFold(strings.TrimSpace(ev.ReadOnly), "true")
	}
	c.Actor.AccessKeyID = first(c.Actor.AccessKeyID, ev.AccessKeyID)
	c.Actor.Name = first(c.Actor.Name, ev.Username)
	if c.Via == "" {
		c.Via = ClassifyUserAgent(c.UserAgent, c.SourceIP, false, c.Actor.Type)
	}

	var set resourceSet
	for _, r := range ev.Resources {
		set.add(r.ResourceName)
	}
	for _, r := range c.Resources {
		set.add(r)
	}
	c.Resources = set.list
	return c, err
}

// UnmarshalJSON reads an event as LookupEvents returns it in JSON (the AWS
// CLI's output, and vpnaudit's evidence bundles): member names are matched
// case-insensitively, EventTime may be an RFC 3339 string or epoch seconds,
// ReadOnly a string or a boolean.
func (e *LookupEnvelope) UnmarshalJSON(b []byte) error {
	r, err := parseObject(b)
	if err != nil {
		return err
	}
	*e = LookupEnvelope{
		EventID:         r.text("EventId"),
		EventName:       r.text("EventName"),
		ReadOnly:        r.text("ReadOnly"),
		AccessKeyID:     r.text("AccessKeyId"),
		EventSource:     r.text("EventSource"),
		Username:        r.text("Username"),
		CloudTrailEvent: r.text("CloudTrailEvent"),
	}
	if raw := r.get("EventTime"); raw != nil {
		if e.EventTime, err = eventTime(raw); err != nil {
			return fmt.Errorf("trail: LookupEvents event %s: EventTime: %w", e.EventID, err)
		}
	}
	var items []json.RawMessage
	if raw := r.get("Resources"); raw != nil {
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("trail: LookupEvents event %s: Resources is not an array", e.EventID)
		}
	}
	for _, item := range items {
		o := asObject(item)
		e.Resources = append(e.Resources, LookupResource{
			ResourceType: o.text("ResourceType"),
			ResourceName: o.text("ResourceName"),
		})
	}
	return nil
}
