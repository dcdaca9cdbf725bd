package flowlog_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// FuzzReader checks that no input panics the Reader, that every line is
// accounted for, and that every record it yields encodes to valid JSON.
func FuzzReader(f *testing.F) {
	f.Add([]byte(recA + "\n" + recNo + "\n"))
	f.Add([]byte(hdrNAT + "\n" + recNAT + "\nbogus line\n\n"))
	f.Add([]byte(`{"message":"` + recSkip + `"}`))
	f.Add([]byte("version future-field\n5 a\"\\\x01\xff\n"))
	f.Add(gz(f, recA+"\n"))
	addReaderSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := flowlog.NewReader(bytes.NewReader(data), flowlog.ReaderOptions{MaxLineBytes: 4096})
		var buf []byte
		for rd.Next() {
			buf = rd.Record().AppendJSON(buf[:0])
			if !json.Valid(buf) {
				t.Fatalf("line %d: invalid JSON %s", rd.Line(), buf)
			}
		}
		st := rd.Stats()
		if rd.Err() == nil && st.Records+st.Malformed+st.Blank+st.Headers != st.Lines {
			t.Fatalf("lines not accounted for: %+v", st)
		}
		if int64(len(rd.Malformed())) != min(st.Malformed, flowlog.DefaultMaxErrors) {
			t.Fatalf("kept %d errors of %d", len(rd.Malformed()), st.Malformed)
		}
	})
}

// FuzzParse checks Parse against a simple reference: a record parses if and
// only if it has the format's number of fields and its numbers and addresses
// are valid, and then every field's text is the token in its position.
func FuzzParse(f *testing.F) {
	f.Add("version srcaddr srcport type", "2 10.0.0.1 443 IPv4")
	f.Add("version srcaddr srcport type", "2 ::1  - IPv6\r\n")
	f.Add("start end", "1512564058000 -")
	addParseSeeds(f)
	f.Fuzz(func(t *testing.T, format, line string) {
		fm, err := flowlog.ParseFormat(format)
		if err != nil {
			return
		}
		var rec flowlog.Record
		err = flowlog.NewParser(fm).Parse([]byte(line), &rec)
		tokens := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' })
		if len(tokens) != fm.Len() {
			if err == nil {
				t.Fatalf("parsed %d tokens with a %d-field format", len(tokens), fm.Len())
			}
			return
		}
		if err != nil {
			return // a bad number or address; TestParseErrors checks the messages
		}
		for i, name := range fm.Fields() {
			got, ok := rec.Get(name)
			if tokens[i] == "-" {
				if ok {
					t.Fatalf("%s: %q present for -", name, got)
				}
				continue
			}
			if !ok || got != tokens[i] {
				t.Fatalf("%s = %q, %v, want %q", name, got, ok, tokens[i])
			}
		}
		if b := rec.AppendJSON(nil); !json.Valid(b) {
			t.Fatalf("invalid JSON %s", b)
		}
	})
}
