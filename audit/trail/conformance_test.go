package trail

// Conformance tests over the corpus of other projects' CloudTrail samples in
// shared/conformance (beside the repository root; see its README, sections
// 4–6). The expectations are read from the literal JSON (and, for Panther,
// from its INDEX.tsv) by code that shares nothing with the decoder.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// conformance returns the corpus directory, or skips the test when it is
// absent — unless CI=true, where its absence is a failure.
func conformance(t *testing.T) string { return testenv.Shared(t, "conformance") }

// facts are what the conformance tests compare for each event.
type facts struct {
	EventName    string
	EventSource  string
	Region       string
	Time         time.Time
	BadTime      bool // eventTime present but not a time: Decode must say so
	ActorType    string
	ActorARN     string
	ActorAccount string
	ActorName    string // "" when the literal does not say it plainly
	SourceIP     string
	ErrorCode    string
	ErrorMessage string
}

// literal is an event as plain JSON values; keys are looked up
// case-insensitively, as some exporters lower-case them.
type literal map[string]any

func (l literal) get(key string) any {
	if v, ok := l[key]; ok {
		return v
	}
	for k, v := range l {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func (l literal) str(key string) string {
	switch v := l.get(key).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	}
	return ""
}

func (l literal) obj(key string) literal {
	m, _ := l.get(key).(map[string]any)
	return m
}

func parseLiteral(t *testing.T, raw []byte) literal {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var l literal
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("the corpus itself does not parse: %v", err)
	}
	return l
}

// literalTimeLayouts are the eventTime layouts the corpus uses.
var literalTimeLayouts = []string{"2006-01-02T15:04:05Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"}

// expect reads the facts from the literal JSON.
func expect(l literal) facts {
	ui := l.obj("userIdentity")
	f := facts{
		EventName:    l.str("eventName"),
		EventSource:  l.str("eventSource"),
		Region:       l.str("awsRegion"),
		ActorType:    ui.str("type"),
		ActorARN:     ui.str("arn"),
		ActorAccount: ui.str("accountId"),
		SourceIP:     l.str("sourceIPAddress"),
		ErrorCode:    l.str("errorCode"),
		ErrorMessage: l.str("errorMessage"),
	}
	if s := l.str("eventTime"); s != "" {
		f.BadTime = true
		for _, layout := range literalTimeLayouts {
			if tm, err := time.Parse(layout, s); err == nil {
				f.Time, f.BadTime = tm.UTC(), false
				break
			}
		}
	}
	arn := f.ActorARN
	switch f.ActorType {
	case "Root":
		f.ActorName = "root"
	case "IAMUser":
		f.ActorName = ui.str("userName")
	case "AssumedRole":
		// arn:aws:sts::<account>:assumed-role/<role>/<session>
		issuer := ui.obj("sessionContext").obj("sessionIssuer").str("userName")
		_, path, ok := strings.Cut(arn, ":assumed-role/")
		if parts := strings.Split(path, "/"); issuer != "" && ok && len(parts) == 2 {
			f.ActorName = issuer + "/" + parts[1]
		}
	case "AWSService":
		f.ActorName = ui.str("invokedBy")
	case "AWSAccount":
		f.ActorName = ui.str("accountId")
	}
	return f
}

// observed reads the same facts from a decoded change; the actor's name only
// where the literal says it plainly.
func observed(c audit.Change, want facts, badTime bool) facts {
	f := facts{
		EventName:    c.EventName,
		EventSource:  c.EventSource,
		Region:       c.Region,
		Time:         c.Time,
		BadTime:      badTime,
		ActorType:    c.Actor.Type,
		ActorARN:     c.Actor.ARN,
		ActorAccount: c.Actor.AccountID,
		SourceIP:     c.SourceIP,
		ErrorCode:    c.ErrorCode,
		ErrorMessage: c.ErrorMessage,
	}
	if want.ActorName != "" {
		f.ActorName = c.Actor.Name
	}
	return f
}

var vias = map[string]bool{ViaConsole: true, ViaCLI: true, ViaSDK: true, ViaTerraform: true, ViaCloudFormation: true, ViaAWSService: true, ViaOther: true}

// checkEvent decodes one event and compares it with its literal JSON.
func checkEvent(t *testing.T, where string, raw []byte) audit.Change {
	t.Helper()
	want := expect(parseLiteral(t, raw))
	got, err := Decode(raw)
	badTime := errors.Is(err, ErrBadTime)
	if err != nil && !badTime {
		t.Errorf("%s: Decode: %v", where, err)
		return got
	}
	if diff := cmp.Diff(want, observed(got, want, badTime)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", where, diff)
	}
	checkInvariants(t, where, got)
	return got
}

// checkInvariants holds for every decoded change.
func checkInvariants(t *testing.T, where string, c audit.Change) {
	t.Helper()
	if c.Time.Location() != time.UTC {
		t.Errorf("%s: Time %v is not UTC", where, c.Time)
	}
	if !vias[c.Via] {
		t.Errorf("%s: Via %q is not one of the classes", where, c.Via)
	}
	if c.Actor.Type != "" && c.Actor.Name == "" {
		t.Errorf("%s: actor of type %s has no name", where, c.Actor.Type)
	}
	seen := map[string]bool{}
	for _, r := range c.Resources {
		if r == "" || seen[r] {
			t.Errorf("%s: Resources %q has an empty or repeated entry %q", where, c.Resources, r)
		}
		seen[r] = true
	}
	for _, s := range []string{c.Request, c.Response} {
		if s != "" && !json.Valid([]byte(s)) {
			t.Errorf("%s: %q is not JSON", where, s)
		}
		if strings.ContainsAny(s, "\n\t") {
			t.Errorf("%s: %q is not compact", where, s)
		}
	}
}

// readLines returns the non-empty lines of a file, with their 1-based numbers.
func readLines(t *testing.T, path string) (lines [][]byte, numbers []int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 8<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		lines = append(lines, bytes.Clone(sc.Bytes()))
		numbers = append(numbers, n)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines, numbers
}

// touches lists resources the corpus's events must name (file or line → IDs).
var touches = map[string][]string{
	"test-terminate-instances-json.log:1":              {"i-00000000000000000"},
	"test-authorize-security-group-ingress-json.log:1": {"sg-0f63fecfa17ef4fee"},
	"test-delete-network-acl-entry-json.log:1":         {"acl-0af9cb843511d66d4"},
	"cloudtrail-log-file-examples.01.json:0":           {"i-ebeaf9e2"},
	"cloudtrail-log-file-examples.02.json:0":           {"i-ebeaf9e2"},
	"events.jsonl:100":                                 {"sg-04f0b44316f7d2471"},
	"events.jsonl:103":                                 {"sg-0d921df5d84f7270a"},
	"events.jsonl:119":                                 {"rtb-1", "igw-1"},
	"events.jsonl:126":                                 {"i-EXAMPLE56126103cb", "i-EXAMPLEaff4840c22"},
	"events.jsonl:216":                                 {"i-0d9853f67e40ab80b"},
	"events.jsonl:435":                                 {"fl-0ef673ef70c4f07cc"},
}

func checkTouches(t *testing.T, key string, c audit.Change, checked map[string]bool) {
	t.Helper()
	ids, ok := touches[key]
	if !ok {
		return
	}
	checked[key] = true
	for _, id := range ids {
		if !c.Touches(id) {
			t.Errorf("%s: Resources %q lack %s", key, c.Resources, id)
		}
	}
}

func TestConformanceElastic(t *testing.T) {
	dir := filepath.Join(conformance(t), "elastic-cloudtrail")
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no elastic-cloudtrail/*.log in %s (%v)", dir, err)
	}
	checked := map[string]bool{}
	events := 0
	for _, file := range files {
		lines, numbers := readLines(t, file)
		for i, line := range lines {
			where := fmt.Sprintf("%s:%d", filepath.Base(file), numbers[i])
			c := checkEvent(t, where, line)
			checkTouches(t, where, c, checked)
			events++
		}
	}
	if events != 12 {
		t.Errorf("decoded %d elastic events, the corpus README lists 12", events)
	}
	for key := range touches {
		if strings.HasSuffix(strings.Split(key, ":")[0], ".log") && !checked[key] {
			t.Errorf("%s: no such event in the corpus", key)
		}
	}
}

func TestConformanceAWSDocs(t *testing.T) {
	dir := filepath.Join(conformance(t), "awsdocs-cloudtrail", "extracted")
	index := readTSV(t, filepath.Join(dir, "INDEX.tsv"))
	checked := map[string]bool{}
	jsonFiles, txtFiles := 0, 0
	for _, row := range index {
		file := row["file"]
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(file, ".txt") {
			// Doc fragments that are not JSON must be refused, not half-read.
			txtFiles++
			if c, err := Decode(raw); err == nil {
				t.Errorf("%s: Decode accepted a fragment: %+v", file, c)
			}
			if _, err := DecodeRecords(raw); err == nil {
				t.Errorf("%s: DecodeRecords accepted a fragment", file)
			}
			continue
		}
		jsonFiles++
		var logFile struct{ Records []json.RawMessage }
		if err := json.Unmarshal(raw, &logFile); err != nil {
			t.Fatalf("%s: the corpus itself does not parse: %v", file, err)
		}
		var records [][]byte
		if logFile.Records != nil {
			for _, r := range logFile.Records {
				records = append(records, r)
			}
			if _, err := Decode(raw); err == nil {
				t.Errorf("%s: Decode accepted a log file as one event", file)
			}
		} else {
			records = [][]byte{raw}
		}
		changes, err := DecodeRecords(raw)
		if err != nil {
			t.Errorf("%s: DecodeRecords: %v", file, err)
		}
		if len(changes) != len(records) {
			t.Errorf("%s: DecodeRecords gave %d changes, the file has %d records", file, len(changes), len(records))
		}
		for i, rec := range records {
			where := fmt.Sprintf("%s:%d", file, i)
			c := checkEvent(t, where, rec)
			checkTouches(t, where, c, checked)
			if i < len(changes) {
				if diff := cmp.Diff(c, changes[i]); diff != "" {
					t.Errorf("%s: DecodeRecords and Decode differ (-Decode +DecodeRecords):\n%s", where, diff)
				}
			}
		}
		// The index's columns describe single-record files.
		if len(records) == 1 {
			c := changes[0]
			want := []string{row["eventName"], row["eventSource"], row["userIdentity.type"], row["errorCode"]}
			got := []string{c.EventName, c.EventSource, c.Actor.Type, c.ErrorCode}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: against INDEX.tsv [eventName eventSource userIdentity.type errorCode] (-want +got):\n%s", file, diff)
			}
			if msg := row["errorMessage(if no errorCode)"]; msg != "" && c.ErrorMessage != msg {
				t.Errorf("%s: ErrorMessage %q, INDEX.tsv says %q", file, c.ErrorMessage, msg)
			}
		}
	}
	if jsonFiles == 0 || txtFiles == 0 {
		t.Errorf("read %d .json and %d .txt files, want some of each", jsonFiles, txtFiles)
	}
	for key := range touches {
		if strings.HasPrefix(key, "cloudtrail-") && !checked[key] {
			t.Errorf("%s: no such event in the corpus", key)
		}
	}
}

func TestConformancePanther(t *testing.T) {
	dir := filepath.Join(conformance(t), "panther-cloudtrail")
	lines, numbers := readLines(t, filepath.Join(dir, "events.jsonl"))
	index := readTSV(t, filepath.Join(dir, "INDEX.tsv"))
	if len(lines) != 453 || len(index) != 453 {
		t.Fatalf("events.jsonl has %d events and INDEX.tsv %d rows, the corpus README says 453", len(lines), len(index))
	}
	checked := map[string]bool{}
	badTimes := 0
	for i, line := range lines {
		row := index[i]
		where := fmt.Sprintf("events.jsonl:%d", numbers[i])
		if row["line"] != fmt.Sprint(numbers[i]) {
			t.Fatalf("%s: INDEX.tsv row %d is for line %s", where, i+1, row["line"])
		}
		c := checkEvent(t, where, line)
		want := []string{row["eventName"], row["eventSource"], row["userIdentity.type"], row["errorCode"]}
		got := []string{c.EventName, c.EventSource, c.Actor.Type, c.ErrorCode}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (%s): against INDEX.tsv [eventName eventSource userIdentity.type errorCode] (-want +got):\n%s", where, row["test_name"], diff)
		}
		if _, err := Decode(line); errors.Is(err, ErrBadTime) {
			badTimes++
		}
		checkTouches(t, where, c, checked)
	}
	// Two fixtures have placeholder times ("redacted", "...").
	if badTimes != 2 {
		t.Errorf("%d events have an unreadable eventTime, want 2", badTimes)
	}
	for key := range touches {
		if strings.HasPrefix(key, "events.jsonl:") && !checked[key] {
			t.Errorf("%s: no such event in the corpus", key)
		}
	}
}

// readTSV reads a tab-separated file with a header row into one map per row.
func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	header := strings.Split(rows[0], "\t")
	var out []map[string]string
	for _, r := range rows[1:] {
		cells := strings.Split(r, "\t")
		m := map[string]string{}
		for i, h := range header {
			if i < len(cells) {
				m[h] = cells[i]
			}
		}
		out = append(out, m)
	}
	return out
}

// FuzzDecode checks that no input makes Decode, DecodeRecords or FromLookup
// panic, and that whatever they accept satisfies the invariants. It is
// seeded from the conformance corpus when it is there.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"Records":[{}]}`, `{"eventTime":1791945253000,"readOnly":"true"}`,
		`{"userIdentity":{"type":"AssumedRole","arn":"assumed-role/"},"requestParameters":{"a":[["i-0123456789abcdef0"]]}}`,
		`{"eventName":"CreateX","responseElements":{"publicIp":"::1","k":{"alarmNames":[1,null,"a"]}}}`,
	} {
		f.Add([]byte(s))
	}
	addFixtureSeeds(f)
	dir := filepath.Join(testenv.ModuleRoot(f), "..", "shared", "conformance")
	if _, err := os.Stat(dir); err == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "elastic-cloudtrail", "*.log"))
		more, _ := filepath.Glob(filepath.Join(dir, "awsdocs-cloudtrail", "extracted", "*.*"))
		files = append(files, more...)
		files = append(files, filepath.Join(dir, "panther-cloudtrail", "events.jsonl"))
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil || strings.HasSuffix(file, ".tsv") {
				continue
			}
			if strings.HasSuffix(file, ".json") || strings.HasSuffix(file, ".txt") {
				f.Add(raw)
				continue
			}
			for i, line := range bytes.Split(raw, []byte("\n")) {
				if i%16 == 0 && len(bytes.TrimSpace(line)) > 0 { // a sample keeps the seed corpus quick
					f.Add(line)
				}
			}
		}
	} else if testenv.CI() {
		f.Fatalf("%s not found (the shared/ folder beside the repository); CI=true requires it", dir)
	} else {
		f.Logf("SKIP seeds: %s not found (the shared/ folder beside the repository)", dir)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if c, err := Decode(raw); err == nil || errors.Is(err, ErrBadTime) {
			checkInvariants(t, "Decode", c)
		}
		if changes, err := DecodeRecords(raw); err == nil {
			for _, c := range changes {
				checkInvariants(t, "DecodeRecords", c)
			}
		}
		c, err := FromLookup(LookupEnvelope{EventID: "e", EventTime: time.Unix(1791945253, 0), CloudTrailEvent: string(raw)})
		if err == nil {
			checkInvariants(t, "FromLookup", c)
			if c.EventID == "" || c.Time.IsZero() {
				t.Errorf("FromLookup lost the envelope's ID or time: %+v", c)
			}
		}
		var ev LookupEnvelope
		_ = json.Unmarshal(raw, &ev)
	})
}
