package trail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// ErrBadTime is wrapped by the error Decode returns when an event's eventTime
// is present but cannot be read as a time.
var ErrBadTime = errors.New("eventTime is not a time")

// Decode decodes one CloudTrail event record into a Change.
//
// Fields are read case-insensitively and leniently: a missing key leaves its
// field empty, strings, numbers and booleans are accepted for one another,
// null reads as absent, unknown keys are ignored. eventTime may be RFC 3339,
// "2006-01-02 15:04:05[.fraction]" (read as UTC), or epoch seconds or
// milliseconds; it is returned in UTC. A record without eventTime has a zero
// Time.
//
// Resources lists, without duplicates and in first-seen order: the ARNs of
// the record's "resources" (and the resource ID an ARN ends with); every
// string in requestParameters that looks like an EC2 resource ID (i-…, vpn-…,
// cgw-…, eni-…, eipalloc-…, sg-…, rtb-…, tgw-attach-…, … followed by 8 to 17
// hex digits; under a key ending in Id or Ids, by any letters and digits);
// the addresses under publicIp, ipAddress, privateIpAddress and
// vpnTunnelOutsideIpAddress; the names under autoScalingGroupName,
// logGroupName and alarmName(s). For Create*, Allocate*, Associate* and Run*
// calls responseElements is read the same way, since that is where the new
// resource's ID is. CIDR blocks (destinationCidrBlock, cidrIp) are not
// resources.
//
// Decode fails when raw is not a single JSON object; a log file
// ({"Records": […]}) is refused, use DecodeRecords for those. When eventTime
// cannot be read, Decode returns the Change with every other field filled in
// and an error wrapping ErrBadTime.
func Decode(raw []byte) (audit.Change, error) {
	c, _, err := decode(raw)
	return c, err
}

// DecodeRecords decodes a CloudTrail log file ({"Records": […]}) into its
// changes, in file order. A single event record is accepted too and yields
// one change. It stops at the first record that fails to decode and returns
// the changes before it with the error.
func DecodeRecords(raw []byte) ([]audit.Change, error) {
	r, err := parseObject(raw)
	if err != nil {
		return nil, err
	}
	if !isLogFile(r) {
		c, _, err := decodeRecord(r)
		if err != nil {
			return nil, err
		}
		return []audit.Change{c}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(r.get("Records"), &items); err != nil {
		return nil, fmt.Errorf("trail: Records is not an array: %w", err)
	}
	changes := make([]audit.Change, 0, len(items))
	for i, item := range items {
		c, _, err := decode(item)
		if err != nil {
			return changes, fmt.Errorf("trail: record %d: %w", i, err)
		}
		changes = append(changes, c)
	}
	return changes, nil
}

// decode is Decode that also reports whether the record had a readOnly key,
// so that FromLookup knows whether the envelope's ReadOnly must fill it.
func decode(raw []byte) (audit.Change, bool, error) {
	r, err := parseObject(raw)
	if err != nil {
		return audit.Change{}, false, err
	}
	if isLogFile(r) {
		return audit.Change{}, false, errors.New(`trail: this is a CloudTrail log file ({"Records": […]}), not one event; use DecodeRecords`)
	}
	return decodeRecord(r)
}

// isLogFile reports whether r is a log file ({"Records": […]}) rather than
// an event.
func isLogFile(r record) bool {
	return r.get("Records") != nil && r.get("eventName") == nil && r.get("eventTime") == nil
}

func decodeRecord(r record) (audit.Change, bool, error) {
	ui := r.object("userIdentity")
	c := audit.Change{
		EventID:      r.text("eventID"),
		EventName:    r.text("eventName"),
		EventSource:  r.text("eventSource"),
		Region:       r.text("awsRegion"),
		Actor:        actorFrom(ui, r.object("additionalEventData")),
		SourceIP:     r.text("sourceIPAddress"),
		UserAgent:    r.text("userAgent"),
		ErrorCode:    r.text("errorCode"),
		ErrorMessage: r.text("errorMessage"),
		Request:      compact(r.get("requestParameters")),
		Response:     compact(r.get("responseElements")),
	}
	readOnly, hasReadOnly := boolean(r.get("readOnly"))
	c.ReadOnly = readOnly
	fromConsole, _ := boolean(r.get("sessionCredentialFromConsole"))
	c.Via = ClassifyUserAgent(c.UserAgent, c.SourceIP, fromConsole, c.Actor.Type)
	c.Resources = resourcesOf(r, c.EventName)

	var err error
	if raw := r.get("eventTime"); raw != nil {
		c.Time, err = eventTime(raw)
	}
	return c, hasReadOnly, err
}

// record is one JSON object with its members undecoded.
type record map[string]json.RawMessage

// parseObject decodes raw as one JSON object.
func parseObject(raw []byte) (record, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, errors.New("trail: empty input, want a CloudTrail event (a JSON object)")
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("trail: input starts with %q, want a CloudTrail event (a JSON object)", preview(trimmed))
	}
	var r record
	if err := json.Unmarshal(trimmed, &r); err != nil {
		return nil, fmt.Errorf("trail: not a JSON object: %w", err)
	}
	return r, nil
}

func preview(b []byte) string {
	const n = 20
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// get returns the member named key, matched exactly or else
// case-insensitively; nil when absent or null.
func (r record) get(key string) json.RawMessage {
	v, ok := r[key]
	if !ok {
		for k, kv := range r {
			if strings.EqualFold(k, key) {
				v, ok = kv, true
				break
			}
		}
	}
	if !ok || isNull(v) {
		return nil
	}
	return v
}

func (r record) text(key string) string { return text(r.get(key)) }

// object returns the member named key as a record, or nil when it is absent
// or not an object.
func (r record) object(key string) record { return asObject(r.get(key)) }

func asObject(raw json.RawMessage) record {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var o record
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	return o
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// text reads a JSON scalar as a string: strings as themselves, numbers and
// booleans as written, null, objects and arrays as "".
func text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	case '{', '[', 'n':
		return ""
	}
	return string(raw)
}

// boolean reads a JSON boolean, or a string or number standing for one; ok
// reports whether raw held one.
func boolean(raw json.RawMessage) (v, ok bool) {
	s := strings.TrimSpace(text(raw))
	switch {
	case strings.EqualFold(s, "true") || s == "1":
		return true, true
	case strings.EqualFold(s, "false") || s == "0":
		return false, true
	}
	return false, false
}

// compact renders a JSON value without insignificant space; "" for null or
// absent.
func compact(raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return ""
	}
	return b.String()
}

// eventTime reads an eventTime value: a string in one of the layouts below,
// or a number of epoch seconds (milliseconds when it is that large). An empty
// string is a missing time.
func eventTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	s := strings.TrimSpace(text(raw))
	if s == "" {
		if len(raw) > 0 && raw[0] != '"' {
			return time.Time{}, fmt.Errorf("trail: %w: %s", ErrBadTime, preview(raw))
		}
		return time.Time{}, nil
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("trail: %w: %q", ErrBadTime, s)
	}
	return t, nil
}

// timeLayouts are the eventTime layouts seen in CloudTrail records and in
// the exports of tools that store them. A layout without a zone is UTC.
// (Parsing accepts fractional seconds after the seconds field even when the
// layout has none.)
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05Z0700",
	"2006-01-02 15:04:05 Z0700",
	"2006-01-02 15:04:05",
}

// parseTime reads a time as CloudTrail and its exporters write it, in UTC.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if isEpoch(s) {
		whole, frac, _ := strings.Cut(s, ".")
		n, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if len(whole) >= 12 { // milliseconds
			return time.UnixMilli(n).Add(time.Duration(ns / 1000)).UTC(), nil
		}
		return time.Unix(n, ns).UTC(), nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown time layout: %q", s)
}

// isEpoch reports whether s is an unsigned decimal number of at most 13
// integer digits.
func isEpoch(s string) bool {
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			if !dot {
				digits++
			}
		case s[i] == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return digits > 0 && digits <= 13
}
