package attime

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// now is the clock the tests run at: after the lab incident of 2026-10-14.
var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParse(t *testing.T) {
	const fired = "2026-10-14T02:34:13Z" // the lab alarm's OK→ALARM transition
	tests := []struct {
		in   string
		want string // RFC 3339
		note string
	}{
		// RFC 3339
		{"2026-10-14T02:34:13Z", fired, ""},
		{"2026-10-14t02:34:13z", fired, ""},
		{"2026-10-14T11:34:13+09:00", fired, ""},
		{"2026-10-13T21:34:13-05:00", fired, ""},
		{"2026-10-14T02:34:13.123456789Z", "2026-10-14T02:34:13.123456789Z", ""},
		{"2026-10-14T11:34:13.5+09:00", "2026-10-14T02:34:13.5Z", ""},
		{"  2026-10-14T02:34:13Z\n", fired, ""},
		// CloudWatch's own writing (stateReasonData, the SNS JSON message)
		{"2026-10-14T02:34:13.123+0000", "2026-10-14T02:34:13.123Z", ""},
		// date and time, with or without a zone
		{"2026-10-14 02:34", "2026-10-14T02:34:00Z", NoZoneNote},
		{"2026-10-14 02:34:13", fired, NoZoneNote},
		{"2026-10-14T02:34:13", fired, NoZoneNote},
		{"2026-10-14 2:34", "2026-10-14T02:34:00Z", NoZoneNote},
		{"2026-10-14 02:34:13,250", "2026-10-14T02:34:13.25Z", NoZoneNote},
		{"2026-10-14 11:34:13 +0900", fired, ""},
		{"2026-10-14 11:34:13+0900", fired, ""},
		{"2026-10-14 11:34:13 +09:00", fired, ""},
		{"2026-10-13 21:34:13 -0500", fired, ""},
		{"2026-10-13 21:34:13 -05:00", fired, ""},
		{"2026-10-14 11:34:13 +9", fired, ""},
		{"2026-10-14 08:04:13 +0530", fired, ""},
		{"2026-10-14 11:34:13 UTC+9", fired, ""},
		{"2026-10-14 11:34:13 GMT+09:00", fired, ""},
		{"2026-10-14 02:34:13 +0000", fired, ""},
		{"2026-10-14 02:34:13 -00:00", fired, ""},
		{"2026-10-14 11:34:13 Asia/Tokyo", fired, ""},
		{"2026-10-14T11:34:13 Asia/Tokyo", fired, ""},
		{"2026-10-13 22:34:13 America/New_York", fired, ""},
		{"2026-10-14 04:34:13 Europe/Berlin", fired, ""},
		{"2026-10-14 02:34:13 Etc/UTC", fired, ""},
		{"2026-10-14 02:34:13 UTC", fired, ""},
		{"2026-10-14 02:34:13 utc", fired, ""},
		{"2026-10-14 02:34:13 GMT", fired, ""},
		{"2026-10-14 02:34:13Z", fired, ""},
		// epoch seconds and milliseconds
		{"1791945253", fired, ""},
		{"1791945253.5", "2026-10-14T02:34:13.5Z", ""},
		{"1791945253.000001", "2026-10-14T02:34:13.000001Z", ""},
		{"1791945253000", fired, ""},
		{"1791945253123", "2026-10-14T02:34:13.123Z", ""},
		// the CloudWatch alarm e-mail
		{"Wednesday 14 October, 2026 02:34:13 UTC", fired, ""},
		{"- Timestamp:                  Wednesday 14 October, 2026 02:34:13 UTC", fired, ""},
		{"Timestamp: Wednesday 14 October, 2026 02:34:13 UTC", fired, ""},
		{"timestamp:Wednesday 14 October, 2026 02:34:13 UTC", fired, ""},
		{"-Timestamp: Wednesday 14 October, 2026 02:34:13 UTC", fired, ""},
		{"- 2026-10-14T02:34:13Z", fired, ""},
		{`at "Wednesday 14 October, 2026 02:34:13 UTC".`, fired, ""},
		{`"Wednesday 14 October, 2026 02:34:13 UTC"`, fired, ""},
		{"Wed 14 Oct, 2026 02:34:13 UTC", fired, ""},
		{"Wednesday, 14 October 2026 02:34:13 UTC", fired, ""},
		{"14 October, 2026 02:34:13 UTC", fired, ""},
		{"Wednesday 14 October, 2026 02:34:13", fired, NoZoneNote},
		{"Wednesday 14 October, 2026 11:34:13 +0900", fired, ""},
		{"Wednesday 14 October, 2026 11:34:13 Asia/Tokyo", fired, ""},
		{"Tuesday 13 October, 2026 22:34:13 America/New_York", fired, ""},
		{"WEDNESDAY 14 OCTOBER, 2026 02:34:13 UTC", fired, ""},
		// samples of the e-mail published by others (see the package comment)
		{"Monday 07 September, 2020 04:01:21 UTC", "2020-09-07T04:01:21Z", ""},
		{"- Timestamp:                   Thursday 20 August, 2026 09:47:12 UTC", "2026-08-20T09:47:12Z", ""},
		{"Sunday 15 June, 2025 12:07:17 UTC", "2025-06-15T12:07:17Z", ""},
		{"Friday 17 April, 2015 03:13:09 UTC", "2015-04-17T03:13:09Z", ""},
		{"Wednesday 04 August, 2021 02:31:45 UTC", "2021-08-04T02:31:45Z", ""},
		// a weekday that does not match the date: the date wins, the note says so
		{"Monday 14 October, 2026 02:34:13 UTC", fired, "14 October 2026 is a Wednesday, not a Monday; the date was used"},
		{"Tue 14 October, 2026 11:34:13 Asia/Tokyo", fired, "14 October 2026 is a Wednesday, not a Tuesday; the date was used"},
		// the CloudTrail console's event time
		{"October 14, 2026, 11:34:13 (UTC+09:00)", fired, ""},
		{"October 14, 2026, 02:34:13 (UTC)", fired, ""},
		{"Oct 14, 2026 02:34:13 UTC", fired, ""},
		{"October 14, 2026, 02:34:13", fired, NoZoneNote},
		// daylight saving: a skipped and a repeated local time
		{"2026-03-08 02:30 America/New_York", "2026-03-08T06:30:00Z",
			"2026-03-08 02:30:00 does not exist in America/New_York (daylight saving skips it); read as 2026-03-08T06:30:00Z"},
		{"2026-11-01 01:30 America/New_York", "2026-11-01T05:30:00Z",
			"2026-11-01 01:30:00 occurs twice in America/New_York (daylight saving ends); read as 2026-11-01T05:30:00Z, not 2026-11-01T06:30:00Z"},
		// after now
		{"2026-11-22 09:00", "2026-11-22T09:00:00Z",
			NoZoneNote + "; 2026-11-22T09:00:00Z is 9h0m0s after the current time (2026-11-22T00:00:00Z); check the time zone"},
		{"2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z",
			"2027-01-01T00:00:00Z is 40 days after the current time (2026-11-22T00:00:00Z); check the time zone"},
		{"2026-11-22T00:00:30Z", "2026-11-22T00:00:30Z", ""}, // within a minute of now
		// leap day
		{"2028-02-29 12:00 UTC", "2028-02-29T12:00:00Z", "2028-02-29T12:00:00Z is 464 days after the current time (2026-11-22T00:00:00Z); check the time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, note, err := Parse(tt.in, now)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(utc(tt.want), got); diff != "" {
				t.Errorf("Parse(%q) time (-want +got):\n%s", tt.in, diff)
			}
			if got.Location() != time.UTC {
				t.Errorf("Parse(%q) is in %v, want UTC", tt.in, got.Location())
			}
			if diff := cmp.Diff(tt.note, note); diff != "" {
				t.Errorf("Parse(%q) note (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseZeroNow(t *testing.T) {
	got, note, err := Parse("2099-01-01T00:00:00Z", time.Time{})
	if err != nil || note != "" || !got.Equal(utc("2099-01-01T00:00:00Z")) {
		t.Errorf("Parse with a zero now = %v, %q, %v; want the time, no note, no error", got, note, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in     string
		reason string
	}{
		{"", "it is empty"},
		{"   ", "it is empty"},
		{"- Timestamp:", "it is empty"},
		{"-", "it is none of the accepted formats"},
		{"yesterday", "it is none of the accepted formats"},
		{"2026-10-14", "it is none of the accepted formats"},
		{"02:34:13", "it is none of the accepted formats"},
		{"14/10/26 02:33:00", "it is none of the accepted formats"},
		{"2026/10/14 02:34", "it is none of the accepted formats"},
		{"-1791945253", "it is none of the accepted formats"},
		{"20261014", "a number of 8 digits is neither epoch seconds (10 digits) nor epoch milliseconds (13 digits)"},
		{"179194525", "a number of 9 digits is neither"},
		{"17919452530", "a number of 11 digits is neither"},
		{"179194525300000000000000", "a number of 24 digits is neither"},
		{"1791945253000.5", "epoch milliseconds take no decimals"},
		{"1791945253.1234567891", "epoch seconds take at most 9 decimals"},
		{"2026-13-14 02:34", "month 13 is out of range"},
		{"2026-02-30 02:34", "February 2026 has no day 30"},
		{"2026-02-29 02:34", "February 2026 has no day 29"},
		{"2026-10-00 02:34", "October 2026 has no day 0"},
		{"2026-10-14 24:00", "24:00:00 is not a time of day"},
		{"2026-10-14 02:60", "02:60:00 is not a time of day"},
		{"2026-10-14 02:34:60Z", "02:34:60 is not a time of day"},
		{"2026-10-14 02:34 JST", `time zone abbreviation "JST" is ambiguous; give an offset (+0900) or an IANA name (Asia/Tokyo)`},
		{"2026-10-14 02:34 EST", `time zone abbreviation "EST" is ambiguous`},
		{"2026-10-14 02:34 IST", `time zone abbreviation "IST" is ambiguous`},
		{"2026-10-14 02:34 Local", `time zone "Local" depends on the machine`},
		{"2026-10-14 02:34 Mars/Olympus_Mons", `unknown time zone "Mars/Olympus_Mons"`},
		{"2026-10-14 02:34 ../../etc/passwd", `"../../etc/passwd" is not a time zone`},
		{"2026-10-14 02:34 +1500", `offset "+1500" is out of range`},
		{"2026-10-14 02:34 +09:75", `offset "+09:75" is out of range`},
		{"2026-10-14 02:34:135", `"5" is not a time zone`},
		{"2026-10-14 02:34 in the morning", `"in the morning" is not a time zone`},
		{"Wednesday 14 Octember, 2026 02:34:13 UTC", `"Octember" is not a month`},
		{"Moonday 14 October, 2026 02:34:13 UTC", `"Moonday" is not a day of the week`},
		{"Wednesday 31 September, 2026 02:34:13 UTC", "September 2026 has no day 31"},
		{"9999-12-31T23:59:59-14:00", "it is in the year 10000 (UTC), outside 1970–9999"},
		{"1969-12-31T23:59:59Z", "it is in the year 1969 (UTC), outside 1970–9999"},
		{"-2026-10-14 02:34", "it is none of the accepted formats"},
		{"October 14, 2026, 11:34:13 (JST)", `time zone abbreviation "JST" is ambiguous`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, note, err := Parse(tt.in, now)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, %q; want an error", tt.in, got, note)
			}
			if !got.IsZero() || note != "" {
				t.Errorf("Parse(%q) failed but returned %v, %q", tt.in, got, note)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error %T, want *Error", tt.in, err)
			}
			if diff := cmp.Diff(tt.in, e.Input); diff != "" {
				t.Errorf("Error.Input (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(e.Reason, tt.reason) {
				t.Errorf("Parse(%q) reason %q, want it to start with %q", tt.in, e.Reason, tt.reason)
			}
			// The message names the input and lists every format with an example.
			msg := err.Error()
			if !strings.Contains(msg, `"`+strings.ReplaceAll(tt.in, `"`, `\"`)+`"`) {
				t.Errorf("error %q does not quote the input", msg)
			}
			for _, f := range formats {
				if !strings.Contains(msg, f.name) || !strings.Contains(msg, f.examples[0]) {
					t.Errorf("error %q lacks the format %q with its example", msg, f.name)
				}
			}
		})
	}
}

// TestUsageExamples keeps the help text honest: every example parses, and
// each format's examples name the same instant as the lab alarm or a
// fraction of a second after it.
func TestUsageExamples(t *testing.T) {
	fired := utc("2026-10-14T02:34:13Z")
	for _, f := range formats {
		for _, ex := range f.examples {
			got, _, err := Parse(ex, now)
			if err != nil {
				t.Errorf("%s example %q: %v", f.name, ex, err)
				continue
			}
			if d := got.Sub(fired); d < -13*time.Second || d >= time.Second {
				t.Errorf("%s example %q = %v, want about %v", f.name, ex, got, fired)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, fm := range formats {
		for _, ex := range fm.examples {
			f.Add(ex)
		}
	}
	for _, s := range []string{"", "-", "at \"", "Timestamp:", "2026-10-14 02:34 (", "9999-12-31T23:59:59.999999999-14:00",
		"Wednesday 14 October, 2026 02:34:13 Asia/Tokyo", "2026-10-14 02:34 UTC+14:59", "0000-01-01 00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, note, err := Parse(s, now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Input != s {
				t.Fatalf("Parse(%q): error %v does not carry the input", s, err)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Errorf("Parse(%q) = %v, not UTC", s, got)
		}
		// What Parse accepts, it accepts again in RFC 3339, to the nanosecond.
		again, _, err := Parse(got.Format(time.RFC3339Nano), time.Time{})
		if err != nil || !again.Equal(got) {
			t.Errorf("Parse(%q) = %v (note %q), but its RFC 3339 form reads as %v, %v", s, got, note, again, err)
		}
	})
}
