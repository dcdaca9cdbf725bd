package flowlog_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// Got is what a Reader produced: each record as "LINE: text", each malformed
// line as "LINE: reason", the counts and the final error.
type Got struct {
	Records   []string
	Malformed []string
	Stats     flowlog.Stats
	Err       string
}

func readAll(t testing.TB, r io.Reader, opts flowlog.ReaderOptions) Got {
	t.Helper()
	var got Got
	rd := flowlog.NewReader(r, opts)
	for rd.Next() {
		got.Records = append(got.Records, itoa(rd.Line())+": "+rd.Record().String())
	}
	for _, e := range rd.Malformed() {
		got.Malformed = append(got.Malformed, itoa(e.Line)+": "+e.Err.Error())
	}
	got.Stats = rd.Stats()
	if err := rd.Err(); err != nil {
		got.Err = err.Error()
	}
	return got
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	recA    = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	recNo   = "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"
	recSkip = "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA"
	hdrNAT  = "instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr"
	recNAT  = "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  flowlog.ReaderOptions
		want  Got
	}{
		{
			name:  "default format, blank lines, CRLF, no final newline",
			input: "\n" + recA + "\r\n   \n" + recNo + "\n\t\n" + recSkip,
			want: Got{
				Records: []string{"2: " + recA, "4: " + recNo, "6: " + recSkip},
				Stats:   flowlog.Stats{Lines: 6, Records: 3, NoData: 1, SkipData: 1, Blank: 3},
			},
		},
		{
			name:  "empty input",
			input: "",
			want:  Got{},
		},
		{
			name:  "header lines switch the format mid-stream",
			input: recA + "\n" + hdrNAT + "\n" + recNAT + "\n" + recA + "\nversion account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" + recA + "\n",
			want: Got{
				Records:   []string{"1: " + recA, "3: " + recNAT, "6: " + recA},
				Malformed: []string{"4: wrong number of fields: got 14, the format has 6"},
				Stats:     flowlog.Stats{Lines: 6, Records: 3, Headers: 2, Malformed: 1},
			},
		},
		{
			name:  "repeated identical header lines",
			input: hdrNAT + "\n" + recNAT + "\n" + hdrNAT + "\n" + recNAT + "\n",
			want: Got{
				Records: []string{"2: " + recNAT, "4: " + recNAT},
				Stats:   flowlog.Stats{Lines: 4, Records: 2, Headers: 2},
			},
		},
		{
			name:  "header with unknown names is accepted when one name is known",
			input: "future-field version\nabc 5\n",
			want: Got{
				Records: []string{"2: abc 5"},
				Stats:   flowlog.Stats{Lines: 2, Records: 1, Headers: 1},
			},
		},
		{
			name:  "records made of ids only are not headers",
			input: "interface-id vpc-id subnet-id\neni-0abc vpc-1 subnet-2\n",
			want: Got{
				Records: []string{"2: eni-0abc vpc-1 subnet-2"},
				Stats:   flowlog.Stats{Lines: 2, Records: 1, Headers: 1},
			},
		},
		{
			name:  "a line of unknown names is not a header",
			input: "foo bar\n",
			opts:  flowlog.ReaderOptions{Format: mustFormat(t, "type region")},
			want: Got{
				Records: []string{"1: foo bar"},
				Stats:   flowlog.Stats{Lines: 1, Records: 1},
			},
		},
		{
			name:  "header with a repeated name is malformed and keeps the format",
			input: "version srcaddr version\n" + recA + "\n",
			want: Got{
				Records:   []string{"2: " + recA},
				Malformed: []string{`1: header line: flow-log format: field 3: "version" repeats field 1`},
				Stats:     flowlog.Stats{Lines: 2, Records: 1, Malformed: 1},
			},
		},
		{
			name:  "initial format from the options",
			input: recNAT + "\n",
			opts:  flowlog.ReaderOptions{Format: mustFormat(t, hdrNAT)},
			want: Got{
				Records: []string{"1: " + recNAT},
				Stats:   flowlog.Stats{Lines: 1, Records: 1},
			},
		},
		{
			name:  "JSON-wrapped message",
			input: `{"message":"2 428961148399 eni-0e0bf7be352692297 - - - - - - - 1671029698 1671029728 - NODATA"}` + "\n" + `{"timestamp":1671029728000, "message":"` + recA + `", "ingestionTime":1}` + "\n",
			want: Got{
				Records: []string{"1: 2 428961148399 eni-0e0bf7be352692297 - - - - - - - 1671029698 1671029728 - NODATA", "2: " + recA},
				Stats:   flowlog.Stats{Lines: 2, Records: 2, NoData: 1},
			},
		},
		{
			name:  "JSON-wrapped header",
			input: `{"message":"` + hdrNAT + `"}` + "\n" + `{"message":"` + recNAT + `"}` + "\n",
			want: Got{
				Records: []string{"2: " + recNAT},
				Stats:   flowlog.Stats{Lines: 2, Records: 1, Headers: 1},
			},
		},
		{
			name:  "JSON lines that cannot be unwrapped",
			input: `{"msg":"x"}` + "\n" + `{"message":42}` + "\n" + `{"message":"x"` + "\n" + `{"message":"  "}` + "\n" + `{"message":"bogus line"}` + "\n",
			want: Got{
				Malformed: []string{
					`1: JSON line has no "message" string`,
					"2: JSON line: json: cannot unmarshal number into Go struct field .message of type string",
					"3: JSON line: unexpected end of JSON input",
					`4: JSON line: "message" is empty`,
					"5: wrong number of fields: got 2, the format has 14",
				},
				Stats: flowlog.Stats{Lines: 5, Malformed: 5},
			},
		},
		{
			name:  "malformed lines are counted with their line numbers",
			input: recA + "\nbogus line\n\n2 123456789010 eni-1 10.0.0.1 10.0.0.2 http 22 6 3 400 1 2 ACCEPT OK\n" + recA + "\n",
			want: Got{
				Records: []string{"1: " + recA, "5: " + recA},
				Malformed: []string{
					"2: wrong number of fields: got 2, the format has 14",
					`4: field 6 (srcport): "http": not a number`,
				},
				Stats: flowlog.Stats{Lines: 5, Records: 2, Blank: 1, Malformed: 2},
			},
		},
		{
			name:  "a line over the limit is malformed, the next line is read",
			input: recA + "\n" + strings.Repeat("9", 200) + "\r\n" + recNo + "\n",
			opts:  flowlog.ReaderOptions{MaxLineBytes: 150},
			want: Got{
				Records:   []string{"1: " + recA, "3: " + recNo},
				Malformed: []string{"2: line too long: 200 bytes, more than the limit of 150"},
				Stats:     flowlog.Stats{Lines: 3, Records: 2, NoData: 1, Malformed: 1},
			},
		},
		{
			name:  "a line just at the limit is parsed",
			input: recA + "\n",
			opts:  flowlog.ReaderOptions{MaxLineBytes: len(recA)},
			want: Got{
				Records: []string{"1: " + recA},
				Stats:   flowlog.Stats{Lines: 1, Records: 1},
			},
		},
		{
			name:  "a line longer than bufio.Scanner's 64 KiB limit is parsed",
			input: strings.Repeat(" ", 100<<10) + recA + "\n" + recNo,
			want: Got{
				Records: []string{"1: " + recA, "2: " + recNo},
				Stats:   flowlog.Stats{Lines: 2, Records: 2, NoData: 1},
			},
		},
		{
			name:  "a 3 MiB line is malformed without stopping the reader",
			input: recA + "\n" + strings.Repeat("x", 3<<20) + "\n" + recA,
			want: Got{
				Records:   []string{"1: " + recA, "3: " + recA},
				Malformed: []string{"2: line too long: 3145728 bytes, more than the limit of 1048576"},
				Stats:     flowlog.Stats{Lines: 3, Records: 2, Malformed: 1},
			},
		},
		{
			name:  "a 3 MiB last line without newline",
			input: recA + "\n" + strings.Repeat("x", 3<<20),
			want: Got{
				Records:   []string{"1: " + recA},
				Malformed: []string{"2: line too long: 3145728 bytes, more than the limit of 1048576"},
				Stats:     flowlog.Stats{Lines: 2, Records: 1, Malformed: 1},
			},
		},
		{
			name:  "only the first MaxErrors errors are kept, all are counted",
			input: "a\nb\nc\n" + recA + "\nd\n",
			opts:  flowlog.ReaderOptions{MaxErrors: 2},
			want: Got{
				Records: []string{"4: " + recA},
				Malformed: []string{
					"1: wrong number of fields: got 1, the format has 14",
					"2: wrong number of fields: got 1, the format has 14",
				},
				Stats: flowlog.Stats{Lines: 5, Records: 1, Malformed: 4},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, strings.NewReader(tt.input), tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plain input (-want +got):\n%s", diff)
			}
			// The same input gzipped gives the same result.
			got = readAll(t, bytes.NewReader(gz(t, tt.input)), tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("gzipped input (-want +got):\n%s", diff)
			}
			// And so does reading it one byte at a time.
			got = readAll(t, iotest.OneByteReader(strings.NewReader(tt.input)), tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("one byte at a time (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReaderGzip(t *testing.T) {
	multi := append(gz(t, recA+"\n"+hdrNAT+"\n"), gz(t, recNAT+"\n")...)
	truncated := gz(t, recA+"\n"+recNo+"\n")
	truncated = truncated[:len(truncated)-6]
	corrupt := gz(t, recA+"\n")
	corrupt[len(corrupt)-5] ^= 0xff // the CRC-32 of the content
	tests := []struct {
		name  string
		input []byte
		want  Got
	}{
		{
			name:  "concatenated gzip members (a header in one, records in the next)",
			input: multi,
			want: Got{
				Records: []string{"1: " + recA, "3: " + recNAT},
				Stats:   flowlog.Stats{Lines: 3, Records: 2, Headers: 1},
			},
		},
		{
			name:  "truncated gzip stream",
			input: truncated,
			want: Got{
				Records: []string{"1: " + recA, "2: " + recNo},
				Stats:   flowlog.Stats{Lines: 2, Records: 2, NoData: 1},
				Err:     "reading gzip stream: unexpected EOF",
			},
		},
		{
			name:  "bad checksum",
			input: corrupt,
			want: Got{
				Records: []string{"1: " + recA},
				Stats:   flowlog.Stats{Lines: 1, Records: 1},
				Err:     "reading gzip stream: gzip: invalid checksum",
			},
		},
		{
			name:  "gzip magic without a valid header",
			input: []byte{0x1f, 0x8b, 0x00, 0x01},
			want:  Got{Err: "reading gzip stream: unexpected EOF"},
		},
		{
			name:  "only the first magic byte is plain text",
			input: []byte{0x1f, '\n'},
			want: Got{
				Malformed: []string{"1: wrong number of fields: got 1, the format has 14"},
				Stats:     flowlog.Stats{Lines: 1, Malformed: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, bytes.NewReader(tt.input), flowlog.ReaderOptions{})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReaderReadError(t *testing.T) {
	errBoom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(recA+"\n"+recNo+"\n"), iotest.ErrReader(errBoom))
	rd := flowlog.NewReader(r, flowlog.ReaderOptions{})
	n := 0
	for rd.Next() {
		n++
	}
	if n != 2 || !errors.Is(rd.Err(), errBoom) {
		t.Errorf("got %d records and error %v, want 2 records and %v", n, rd.Err(), errBoom)
	}
	if rd.Next() {
		t.Error("Next() = true after an error")
	}
}

func TestReaderOnMalformedSeesEveryError(t *testing.T) {
	var input strings.Builder
	for range 1500 {
		input.WriteString("bogus line\n")
	}
	input.WriteString(recA + "\n")
	var seen []int64
	rd := flowlog.NewReader(strings.NewReader(input.String()), flowlog.ReaderOptions{
		OnMalformed: func(e flowlog.LineError) { seen = append(seen, e.Line) },
	})
	records := 0
	for rd.Next() {
		records++
	}
	if records != 1 || len(seen) != 1500 || seen[0] != 1 || seen[1499] != 1500 {
		t.Errorf("records = %d, OnMalformed saw %d lines", records, len(seen))
	}
	if got := len(rd.Malformed()); got != flowlog.DefaultMaxErrors {
		t.Errorf("Malformed() kept %d errors, want %d", got, flowlog.DefaultMaxErrors)
	}
	if got := rd.Stats().Malformed; got != 1500 {
		t.Errorf("Stats().Malformed = %d, want 1500", got)
	}
}

func TestReaderFormatAndRecordReuse(t *testing.T) {
	rd := flowlog.NewReader(strings.NewReader(recA+"\n"+hdrNAT+"\n"+recNAT+"\n"), flowlog.ReaderOptions{})
	var formats []string
	var ifaces []string
	for rd.Next() {
		formats = append(formats, rd.Format().String())
		id, _ := rd.Record().InterfaceID()
		ifaces = append(ifaces, id)
		if !rd.Record().Format().Equal(rd.Format()) {
			t.Errorf("line %d: record format %v, reader format %v", rd.Line(), rd.Record().Format(), rd.Format())
		}
	}
	want := []string{flowlog.DefaultFormat.String(), "${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}"}
	if diff := cmp.Diff(want, formats); diff != "" {
		t.Errorf("formats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"eni-1235b8ca123456789", "eni-1235b8ca123456789"}, ifaces); diff != "" {
		t.Errorf("interface ids (-want +got):\n%s", diff)
	}
}
