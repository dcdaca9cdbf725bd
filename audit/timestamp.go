package audit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// timestampLayouts are the timestamp forms AWS APIs and the CLI write,
// tried in order.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700", // CloudWatch: 2026-10-14T02:34:13.123+0000
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05Z0700",
	"2006-01-02T15:04:05.999999999", // no zone: UTC
	"2006-01-02 15:04:05.999999999",
}

// ParseTimestamp reads an API timestamp into UTC: RFC 3339 / ISO 8601 with
// any offset (also `+0000` without a colon, as CloudWatch writes it), or
// epoch seconds / milliseconds as a decimal string.
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return Epoch(f), nil
	}
	return time.Time{}, fmt.Errorf("unreadable timestamp %q (want RFC 3339 or epoch seconds)", s)
}

// Epoch converts epoch seconds, or milliseconds when f is larger than any
// plausible seconds value (1e11 s is the year 5138), to UTC.
func Epoch(f float64) time.Time {
	if math.Abs(f) > 1e11 {
		return time.UnixMilli(int64(f)).UTC()
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}
