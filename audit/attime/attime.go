// Package attime reads the time given to vpnaudit's --at flag: the moment an
// alarm fired, as the on-call engineer has it at hand.
//
// Parse accepts RFC 3339, a date and time with an optional zone, epoch
// seconds or milliseconds, the Timestamp line of CloudWatch's alarm e-mail
// and the event time CloudTrail's console shows (see Usage). A time without
// a zone is read as UTC, and the note Parse returns says so.
//
// The alarm e-mail that CloudWatch sends through SNS carries the time of the
// state change in its first paragraph and in its "Alarm Details" block:
//
//	You are receiving this email because your Amazon CloudWatch Alarm "VPN-Down" in the
//	Asia Pacific (Tokyo) region has entered the ALARM state, because "Threshold Crossed: …"
//	at "Wednesday 14 October, 2026 02:34:13 UTC".
//	…
//	- Timestamp:                  Wednesday 14 October, 2026 02:34:13 UTC
//
// that is, "<weekday> <day> <month>, <year> <hh:mm:ss> UTC". Parse takes the
// whole Timestamp line, the quoted phrase, or the time alone; besides UTC it
// takes a numeric offset or an IANA zone name there, for mails that were
// reformatted to a local zone.
//
// The weekday is checked against the date: when they disagree the date wins
// and the note says so. A date and time are both explicit while the weekday is
// derived from them; a mismatch means the text was edited by hand, and
// refusing the input would stop an investigation over the least informative
// part of it.
package attime

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA zone names work on machines without a zoneinfo database
)

// NoZoneNote is the note Parse returns for a time given without a zone.
const NoZoneNote = "no time zone given; read as UTC"

// format is one accepted input format, with examples for the help text.
type format struct {
	name     string
	examples []string
}

var formats = []format{
	{"RFC 3339", []string{"2026-10-14T02:34:13Z", "2026-10-14T11:34:13.5+09:00"}},
	{"date and time, optional zone", []string{"2026-10-14 02:34", "2026-10-14 11:34:13 +0900", "2026-10-14T11:34 Asia/Tokyo", "2026-10-14 02:34:13 UTC"}},
	{"epoch seconds", []string{"1791945253", "1791945253.5"}},
	{"epoch milliseconds", []string{"1791945253000"}},
	{"CloudWatch alarm e-mail", []string{"Timestamp: Wednesday 14 October, 2026 02:34:13 UTC"}},
	{"CloudTrail console", []string{"October 14, 2026, 11:34:13 (UTC+09:00)"}},
}

// Usage lists the accepted formats with examples, one format a line.
func Usage() string {
	var b strings.Builder
	b.WriteString("accepted formats (a time without a zone is UTC):")
	for _, f := range formats {
		fmt.Fprintf(&b, "\n  %-30s %s", f.name, strings.Join(f.examples, "   "))
	}
	return b.String()
}

// Error reports an input Parse cannot read.
type Error struct {
	Input  string // as given
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("cannot read %q as a time: %s\n%s", e.Input, e.Reason, Usage())
}

// Parse reads s as a point in time and returns it in UTC. note says what
// Parse assumed or noticed ("no time zone given; read as UTC", a weekday
// that does not match the date, a local time that daylight saving skips or
// repeats, a time after now); it is "" when there is nothing to say. now is
// the current time; a zero now skips the check for times in the future.
func Parse(s string, now time.Time) (t time.Time, note string, err error) {
	in := clean(s)
	fail := func(format string, args ...any) (time.Time, string, error) {
		return time.Time{}, "", &Error{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	if in == "" {
		return fail("it is empty")
	}

	var notes []string
	switch {
	case epochRE.MatchString(in):
		t, err = epoch(in)
	default:
		p, ok := match(in)
		if !ok {
			return fail("it is none of the accepted formats")
		}
		t, notes, err = p.time()
	}
	if err != nil {
		return fail("%v", err)
	}
	if y := t.Year(); y < 1970 || y > 9999 {
		return fail("it is in the year %d (UTC), outside 1970–9999", y)
	}
	if !now.IsZero() && t.After(now.Add(time.Minute)) {
		notes = append(notes, fmt.Sprintf("%s is %s after the current time (%s); check the time zone",
			t.Format(time.RFC3339), span(t.Sub(now)), now.UTC().Format(time.RFC3339)))
	}
	return t, strings.Join(notes, "; "), nil
}

// span renders a positive duration for a person: "2h5m0s", "9 days".
func span(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.Round(time.Second).String()
}

// clean removes what surrounds the time when it is pasted from the alarm
// e-mail: the "- Timestamp:" label, `at "…".`, quotes, repeated spaces.
func clean(s string) string {
	const label = "timestamp:"
	hasLabel := func(s string) bool { return len(s) >= len(label) && strings.EqualFold(s[:len(label)], label) }
	s = strings.Join(strings.Fields(s), " ")
	if rest := strings.TrimSpace(strings.TrimPrefix(s, "-")); strings.HasPrefix(s, "- ") || hasLabel(rest) {
		s = rest // the e-mail's "- Timestamp:" list item, not a negative number
	}
	if hasLabel(s) {
		s = strings.TrimSpace(s[len(label):])
	}
	if len(s) > 4 && strings.EqualFold(s[:3], "at ") && strings.ContainsAny(s[3:4], "\"'") {
		s = s[3:]
	}
	s = strings.TrimSuffix(s, ".")
	for _, q := range []string{`"`, `'`, "`"} {
		if len(s) >= 2 && strings.HasPrefix(s, q) && strings.HasSuffix(s, q) {
			s = strings.TrimSpace(s[1 : len(s)-1])
		}
	}
	return s
}

var epochRE = regexp.MustCompile(`^(\d+)(?:\.(\d+))?$`)

// epoch reads epoch seconds (10 digits, optionally with a fraction) or
// milliseconds (13 digits).
func epoch(s string) (time.Time, error) {
	m := epochRE.FindStringSubmatch(s)
	whole, frac := m[1], m[2]
	switch {
	case len(whole) == 10 && len(frac) > 9:
		return time.Time{}, fmt.Errorf("epoch seconds take at most 9 decimals")
	case len(whole) == 10:
		n, _ := strconv.ParseInt(whole, 10, 64)
		ns, _ := strconv.Atoi((frac + "000000000")[:9])
		return time.Unix(n, int64(ns)).UTC(), nil
	case len(whole) == 13 && frac != "":
		return time.Time{}, fmt.Errorf("epoch milliseconds take no decimals")
	case len(whole) == 13:
		n, _ := strconv.ParseInt(whole, 10, 64)
		return time.UnixMilli(n).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("a number of %d digits is neither epoch seconds (10 digits) nor epoch milliseconds (13 digits)", len(whole))
}

// parts are the fields of a written date and time.
type parts struct {
	year, month, day     int
	hour, min, sec, nsec int
	monthName            string // as written, when the month is a name
	weekday              string // as written; "" for none
	zone                 string // as written; "" for none
}

var (
	// 2026-10-14T02:34:13.5+09:00, 2026-10-14 02:34 Asia/Tokyo, …
	numericRE = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt]| )(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)? ?(.*)$`)
	// [Wednesday[,]] 14 October, 2026 02:34:13 UTC (the alarm e-mail)
	emailRE = regexp.MustCompile(`^(?:([A-Za-z]+),? )?(\d{1,2}) ([A-Za-z]+)\.?,? (\d{4}),? (\d{1,2}):(\d{2})(?::(\d{2}))? ?(.*)$`)
	// October 14, 2026, 11:34:13 (UTC+09:00) (the CloudTrail console)
	consoleRE = regexp.MustCompile(`^([A-Za-z]+)\.? (\d{1,2}),? (\d{4}),? (\d{1,2}):(\d{2})(?::(\d{2}))? ?(.*)$`)
)

// match splits s into parts by the first format it fits.
func match(s string) (parts, bool) {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m := numericRE.FindStringSubmatch(s); m != nil {
		p := parts{year: atoi(m[1]), month: atoi(m[2]), day: atoi(m[3]), hour: atoi(m[4]), min: atoi(m[5]), sec: atoi(m[6]), zone: m[8]}
		if m[7] != "" {
			p.nsec = atoi((m[7] + "000000000")[:9])
		}
		return p, true
	}
	if m := emailRE.FindStringSubmatch(s); m != nil {
		return parts{weekday: m[1], day: atoi(m[2]), monthName: m[3], year: atoi(m[4]), hour: atoi(m[5]), min: atoi(m[6]), sec: atoi(m[7]), zone: m[8]}, true
	}
	if m := consoleRE.FindStringSubmatch(s); m != nil {
		return parts{monthName: m[1], day: atoi(m[2]), year: atoi(m[3]), hour: atoi(m[4]), min: atoi(m[5]), sec: atoi(m[6]), zone: m[7]}, true
	}
	return parts{}, false
}

// time builds the time the parts describe, in UTC, with notes on what was
// assumed or noticed.
func (p parts) time() (time.Time, []string, error) {
	if p.monthName != "" {
		m, ok := monthByName(p.monthName)
		if !ok {
			return time.Time{}, nil, fmt.Errorf("%q is not a month", p.monthName)
		}
		p.month = int(m)
	}
	if p.month < 1 || p.month > 12 {
		return time.Time{}, nil, fmt.Errorf("month %d is out of range", p.month)
	}
	if last := time.Date(p.year, time.Month(p.month)+1, 0, 0, 0, 0, 0, time.UTC).Day(); p.day < 1 || p.day > last {
		return time.Time{}, nil, fmt.Errorf("%s %d has no day %d", time.Month(p.month), p.year, p.day)
	}
	if p.hour > 23 || p.min > 59 || p.sec > 59 {
		return time.Time{}, nil, fmt.Errorf("%02d:%02d:%02d is not a time of day", p.hour, p.min, p.sec)
	}
	var notes []string
	loc, err := zone(p.zone)
	if err != nil {
		return time.Time{}, nil, err
	}
	if loc == nil {
		loc = time.UTC
		notes = append(notes, NoZoneNote)
	}
	t := time.Date(p.year, time.Month(p.month), p.day, p.hour, p.min, p.sec, p.nsec, loc)

	wall := fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", p.year, p.month, p.day, p.hour, p.min, p.sec)
	if t.Format("2006-01-02 15:04:05") != wall {
		notes = append(notes, fmt.Sprintf("%s does not exist in %s (daylight saving skips it); read as %s",
			wall, loc, t.UTC().Format(time.RFC3339)))
	} else {
		for _, d := range []time.Duration{-time.Hour, time.Hour, -30 * time.Minute, 30 * time.Minute} {
			if u := t.Add(d); u.In(loc).Format("2006-01-02 15:04:05") == wall {
				notes = append(notes, fmt.Sprintf("%s occurs twice in %s (daylight saving ends); read as %s, not %s",
					wall, loc, t.UTC().Format(time.RFC3339), u.UTC().Format(time.RFC3339)))
				break
			}
		}
	}

	if p.weekday != "" {
		wd, ok := weekdayByName(p.weekday)
		if !ok {
			return time.Time{}, nil, fmt.Errorf("%q is not a day of the week", p.weekday)
		}
		if wd != t.Weekday() {
			notes = append(notes, fmt.Sprintf("%s is a %s, not a %s; the date was used",
				t.Format("2 January 2006"), t.Weekday(), wd))
		}
	}
	return t.UTC(), notes, nil
}

var (
	offsetRE = regexp.MustCompile(`^(?i:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?$`)
	abbrevRE = regexp.MustCompile(`^[A-Z]{2,5}$`)
	ianaRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*$`)
)

// zone reads a zone as written after a time: UTC, GMT or Z; a numeric
// offset (+0900, -05:00, UTC+9); an IANA name (Asia/Tokyo). It returns nil
// for no zone. Abbreviations other than UTC and GMT (JST, EST, CET, IST) are
// refused: several mean different offsets, and EST-style names in the IANA
// database ignore daylight saving.
func zone(z string) (*time.Location, error) {
	z = strings.TrimSpace(z)
	if strings.HasPrefix(z, "(") && strings.HasSuffix(z, ")") {
		z = strings.TrimSpace(z[1 : len(z)-1])
	}
	if z == "" {
		return nil, nil
	}
	switch strings.ToUpper(z) {
	case "Z", "UTC", "GMT", "UT":
		return time.UTC, nil
	case "LOCAL":
		return nil, fmt.Errorf("time zone %q depends on the machine; name the zone (+0900, Asia/Tokyo)", z)
	}
	if m := offsetRE.FindStringSubmatch(z); m != nil {
		h, _ := strconv.Atoi(m[2])
		mins, _ := strconv.Atoi(m[3])
		if h > 14 || mins > 59 {
			return nil, fmt.Errorf("offset %q is out of range", z)
		}
		off := h*3600 + mins*60
		if m[1] == "-" {
			off = -off
		}
		if off == 0 {
			return time.UTC, nil
		}
		return time.FixedZone(fmt.Sprintf("UTC%s%02d:%02d", m[1], h, mins), off), nil
	}
	if abbrevRE.MatchString(z) {
		return nil, fmt.Errorf("time zone abbreviation %q is ambiguous; give an offset (+0900) or an IANA name (Asia/Tokyo)", z)
	}
	if !ianaRE.MatchString(z) {
		return nil, fmt.Errorf("%q is not a time zone", z)
	}
	loc, err := time.LoadLocation(z)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Asia/Tokyo)", z)
	}
	return loc, nil
}

func monthByName(s string) (time.Month, bool) {
	for m := time.January; m <= time.December; m++ {
		name := m.String()
		if strings.EqualFold(s, name) || strings.EqualFold(s, name[:3]) || (m == time.September && strings.EqualFold(s, "Sept")) {
			return m, true
		}
	}
	return 0, false
}

func weekdayByName(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := d.String()
		if strings.EqualFold(s, name) || strings.EqualFold(s, name[:3]) {
			return d, true
		}
	}
	return 0, false
}
