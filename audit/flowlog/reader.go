package flowlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Defaults of [ReaderOptions].
const (
	// DefaultMaxLineBytes is the longest line a Reader parses; longer lines
	// are counted as malformed and skipped. Flow-log records are a few
	// hundred bytes at most.
	DefaultMaxLineBytes = 1 << 20
	// DefaultMaxErrors is how many malformed lines a Reader remembers.
	// Stats.Malformed counts them all, and ReaderOptions.OnMalformed sees them all.
	DefaultMaxErrors = 1000
)

// readBufferSize is the size of the Reader's line buffer. Lines longer than
// this are assembled in a separate buffer, up to MaxLineBytes.
const readBufferSize = 64 << 10

// ReaderOptions configures a [Reader]. The zero value is ready to use.
type ReaderOptions struct {
	// Format is the format of the records until a header line names another.
	// The zero Format is DefaultFormat.
	Format Format
	// MaxLineBytes is the longest line parsed; 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// MaxErrors is how many malformed lines Reader.Malformed keeps; 0 means
	// DefaultMaxErrors.
	MaxErrors int
	// OnMalformed, if set, is called for every malformed line, as it is read.
	OnMalformed func(LineError)
}

// LineError is a malformed line: its number (from 1) and why it was rejected.
type LineError struct {
	Line int64
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e LineError) Unwrap() error { return e.Err }

// ErrLineTooLong is the reason for a line longer than ReaderOptions.MaxLineBytes.
var ErrLineTooLong = errors.New("line too long")

// Stats counts what a [Reader] (or [Convert]) read.
type Stats struct {
	Inputs    int   // inputs read (Convert only)
	Lines     int64 // lines read, including blank, header and malformed lines
	Records   int64 // records parsed, including NODATA and SKIPDATA records
	NoData    int64 // records with log-status NODATA
	SkipData  int64 // records with log-status SKIPDATA
	Headers   int64 // header lines (lines of field names)
	Blank     int64 // empty or all-space lines
	Malformed int64 // lines that could not be parsed
}

// Add adds the counts of o to s.
func (s *Stats) Add(o Stats) {
	s.Inputs += o.Inputs
	s.Lines += o.Lines
	s.Records += o.Records
	s.NoData += o.NoData
	s.SkipData += o.SkipData
	s.Headers += o.Headers
	s.Blank += o.Blank
	s.Malformed += o.Malformed
}

// Reader reads flow-log records from a stream, line by line. Use it like a
// bufio.Scanner:
//
//	r := flowlog.NewReader(f, flowlog.ReaderOptions{Format: format})
//	for r.Next() {
//		rec := r.Record()
//		...
//	}
//	if err := r.Err(); err != nil { ... }          // I/O or gzip error
//	for _, e := range r.Malformed() { ... }        // lines that were skipped
//
// Input that starts with the gzip magic bytes is decompressed (concatenated
// gzip members too). Blank lines are skipped. A line that is a JSON object is
// replaced by its "message" string. A line of field names (an S3 object's
// header line) sets the format of the lines after it; it may name fields
// unknown to this package as long as one name is known. Every other line must
// be a record of the current format; lines that are not, including lines
// longer than MaxLineBytes, are malformed: counted, remembered and skipped.
type Reader struct {
	src  io.Reader
	br   *bufio.Reader
	opts ReaderOptions

	parser     Parser
	rec        Record
	lastHeader []byte
	long       []byte // assembles lines longer than the read buffer

	line    int64
	stats   Stats
	errs    []LineError
	err     error
	started bool
	done    bool
	gzipped bool
}

// NewReader returns a Reader of r. Reading starts at the first call to Next.
func NewReader(r io.Reader, opts ReaderOptions) *Reader {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = DefaultMaxErrors
	}
	return &Reader{src: r, opts: opts, parser: Parser{f: opts.Format}}
}

// Next advances to the next record and reports whether there is one. It
// returns false at the end of the input or on a read error (see Err).
func (r *Reader) Next() bool {
	if !r.started {
		r.start()
	}
	for !r.done {
		line, size, ok := r.readLine()
		if !ok {
			r.done = true
			break
		}
		r.line++
		r.stats.Lines++
		if len(line) > r.opts.MaxLineBytes {
			r.malformed(fmt.Errorf("%w: %d bytes, more than the limit of %d", ErrLineTooLong, size, r.opts.MaxLineBytes))
			continue
		}
		if r.process(line) {
			return true
		}
	}
	return false
}

// process handles one line and reports whether it produced a record.
func (r *Reader) process(line []byte) bool {
	text := bytes.TrimSpace(line)
	if len(text) == 0 {
		r.stats.Blank++
		return false
	}
	if text[0] == '{' {
		msg, err := unwrapMessage(text)
		if err != nil {
			r.malformed(err)
			return false
		}
		if text = bytes.TrimSpace(msg); len(text) == 0 {
			r.malformed(errors.New(`JSON line: "message" is empty`))
			return false
		}
	}
	if isHeader(text) {
		if !bytes.Equal(text, r.lastHeader) {
			f, err := NewFormat(strings.Fields(string(text))...)
			if err != nil {
				r.malformed(fmt.Errorf("header line: %w", err))
				return false
			}
			r.parser = Parser{f: f}
			r.lastHeader = append(r.lastHeader[:0], text...)
		}
		r.stats.Headers++
		return false
	}
	if err := r.parser.Parse(text, &r.rec); err != nil {
		r.malformed(err)
		return false
	}
	r.stats.Records++
	if st, ok := r.rec.LogStatus(); ok {
		switch st {
		case LogStatusNoData:
			r.stats.NoData++
		case LogStatusSkipData:
			r.stats.SkipData++
		}
	}
	return true
}

// Record returns the current record. It is reused by the next call to Next.
func (r *Reader) Record() *Record { return &r.rec }

// Line returns the line number (from 1) of the current record.
func (r *Reader) Line() int64 { return r.line }

// Format returns the current format: the initial one, or the last header's.
func (r *Reader) Format() Format { return r.parser.f }

// Err returns the first read or decompression error, or nil at a clean end of input.
func (r *Reader) Err() error { return r.err }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Malformed returns the malformed lines so far, at most ReaderOptions.MaxErrors
// of them; Stats().Malformed counts them all.
func (r *Reader) Malformed() []LineError { return r.errs }

func (r *Reader) malformed(err error) {
	r.stats.Malformed++
	le := LineError{Line: r.line, Err: err}
	if len(r.errs) < r.opts.MaxErrors {
		r.errs = append(r.errs, le)
	}
	if r.opts.OnMalformed != nil {
		r.opts.OnMalformed(le)
	}
}

// start sets up buffering and gzip decompression.
func (r *Reader) start() {
	r.started = true
	br := bufio.NewReaderSize(r.src, readBufferSize)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		r.fail(err)
		return
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			r.gzipped = true
			r.fail(err)
			return
		}
		r.gzipped = true
		br = bufio.NewReaderSize(gz, readBufferSize)
	}
	r.br = br
}

func (r *Reader) fail(err error) {
	if r.gzipped {
		r.err = fmt.Errorf("reading gzip stream: %w", err)
	} else {
		r.err = fmt.Errorf("reading: %w", err)
	}
	r.done = true
}

// readLine returns the next line without its line ending, and the line's
// length in bytes. A line longer than MaxLineBytes is returned truncated (to
// just over the limit) so the caller can reject it without holding it all.
// At the end of the input or on an error it returns ok == false.
func (r *Reader) readLine() (line []byte, size int, ok bool) {
	frag, err := r.br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		if err != nil && err != io.EOF {
			r.fail(err)
			return nil, 0, false
		}
		if len(frag) == 0 {
			return nil, 0, false // io.EOF
		}
		line = trimEOL(frag)
		return line, len(line), true
	}
	// A long line: assemble it, keeping no more than the limit allows
	// (+2 for CR LF, so that a line just over the limit is seen as such).
	r.long = append(r.long[:0], frag...)
	size = len(frag)
	for err == bufio.ErrBufferFull {
		frag, err = r.br.ReadSlice('\n')
		size += len(frag)
		if keep := r.opts.MaxLineBytes + 2 - len(r.long); keep > 0 {
			r.long = append(r.long, frag[:min(keep, len(frag))]...)
		}
	}
	if err != nil && err != io.EOF {
		r.fail(err)
		return nil, 0, false
	}
	size -= len(frag) - len(trimEOL(frag)) // the line ending is not part of the line
	return trimEOL(r.long), size, true
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// unwrapMessage returns the "message" string of a JSON object line, the shape
// in which CloudWatch Logs exports and log forwarders wrap flow-log records.
func unwrapMessage(text []byte) ([]byte, error) {
	var v struct {
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(text, &v); err != nil {
		return nil, fmt.Errorf("JSON line: %w", err)
	}
	if v.Message == nil {
		return nil, errors.New(`JSON line has no "message" string`)
	}
	return []byte(*v.Message), nil
}

// isHeader reports whether text is a line of field names (the header line of
// an S3 object): every token is a field name and at least one is a known
// field, so a header naming fields newer than this package still counts.
// Records cannot look like that: their values are numbers, addresses, "-" or
// ids, and ids such as eni-0abc are not names of fields.
func isHeader(text []byte) bool {
	// Most records start with a number or "-": reject them at the first byte.
	if c := text[0]; c < 'a' || c > 'z' {
		return false
	}
	known := false
	for tok := range bytes.FieldsSeq(text) {
		if !validName(tok) {
			return false
		}
		if !known {
			_, known = fieldByName[string(tok)] // does not allocate
		}
	}
	return known
}
