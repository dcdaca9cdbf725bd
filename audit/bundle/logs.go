package bundle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// logFile is one FilterLogEvents file: its log group (from the recorded
// Input; "" for a bare dump, which answers for any group).
type logFile struct {
	path  string
	rel   string
	group string
}

// Logs answers FilterLogEvents from a bundle, streaming: events are decoded
// one at a time from the files, never a whole log group at once.
type Logs struct {
	b *Bundle
}

// Logs returns the bundle's CloudWatch Logs client.
func (b *Bundle) Logs() *Logs { return &Logs{b} }

// logFiles indexes the FilterLogEvents files (their Input only).
func (b *Bundle) logFiles() ([]logFile, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.logsOK {
		return b.logs, nil
	}
	paths := b.files["logs/FilterLogEvents"]
	if len(paths) == 0 {
		return nil, b.failure("logs", "FilterLogEvents")
	}
	var files []logFile
	for _, p := range paths {
		in, err := readLogInput(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", b.rel(p), err)
		}
		lf := logFile{path: p, rel: b.rel(p)}
		if in != nil {
			var v struct{ LogGroupName, LogGroupIdentifier string }
			if err := decodeValue(reflect.ValueOf(&v).Elem(), in, lf.rel+": Input"); err != nil {
				return nil, err
			}
			lf.group = groupName(v.LogGroupName, v.LogGroupIdentifier)
		}
		files = append(files, lf)
	}
	b.logs, b.logsOK = files, true
	return files, nil
}

// groupName returns the log group's name from a name or an identifier
// (a name or an ARN such as arn:aws:logs:r:a:log-group:NAME:*).
func groupName(name, identifier string) string {
	if name != "" {
		return name
	}
	if i := strings.Index(identifier, ":log-group:"); i >= 0 {
		return strings.TrimSuffix(identifier[i+len(":log-group:"):], ":*")
	}
	return identifier
}

// readLogInput returns a file's Input, reading no further than needed.
func readLogInput(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	d.UseNumber()
	if err := expectDelim(d, '{'); err != nil {
		return nil, err
	}
	for d.More() {
		key, err := objectKey(d)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(key, "Input") {
			var in map[string]any
			if err := d.Decode(&in); err != nil {
				return nil, fmt.Errorf("Input: %w", err)
			}
			return in, nil
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil, nil
}

// logCursor streams the events array of one file.
type logCursor struct {
	file  int
	index int // index of the next event
	f     *os.File
	s     *jsonStream
	done  bool
}

// bufPool recycles the cursors' read buffers.
var bufPool = sync.Pool{New: func() any { return make([]byte, 0, streamBuffer) }}

func openCursor(lf logFile, file int) (*logCursor, error) {
	f, err := os.Open(lf.path)
	if err != nil {
		return nil, err
	}
	c := &logCursor{file: file, f: f, s: newJSONStream(f, bufPool.Get().([]byte))}
	if err := c.seekEvents(); err != nil {
		c.close()
		return nil, fmt.Errorf("read %s: %w", lf.rel, err)
	}
	return c, nil
}

// seekEvents positions the stream inside Output.events (or the top-level
// events of a bare dump).
func (c *logCursor) seekEvents() error {
	found, err := seekArray(c.s, "events")
	c.done = !found
	return err
}

// seekArray positions s inside the array member name of the file's Output
// (or of the top level, for a bare dump), matched case-insensitively. It
// reports false when there is none.
func seekArray(s *jsonStream, name string) (bool, error) {
	if err := s.expect('{'); err != nil {
		return false, err
	}
	inOutput := false
	for {
		more, err := s.next('}')
		if err != nil {
			return false, err
		}
		if !more {
			if !inOutput {
				return false, nil
			}
			inOutput = false
			continue
		}
		key, err := s.key()
		if err != nil {
			return false, err
		}
		switch {
		case strings.EqualFold(key, name):
			if c, err := s.peek(); err == nil && c == 'n' { // null
				_, err := s.value()
				return false, err
			}
			if err := s.expect('['); err != nil {
				return false, fmt.Errorf("%s: %w", key, err)
			}
			return true, nil
		case !inOutput && strings.EqualFold(key, "Output"):
			if err := s.expect('{'); err != nil {
				return false, fmt.Errorf("Output: %w", err)
			}
			inOutput = true
		default:
			if err := s.skip(); err != nil {
				return false, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
}

// eachElement streams the file at path and calls f with the index and raw
// bytes of each element of the array member name (see seekArray). buf is
// the read buffer to use.
func eachElement(path, name string, buf []byte, f func(i int, raw []byte) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	s := newJSONStream(fh, buf)
	found, err := seekArray(s, name)
	if err != nil || !found {
		return err
	}
	for i := 0; ; i++ {
		more, err := s.next(']')
		if err != nil || !more {
			return err
		}
		raw, err := s.value()
		if err != nil {
			return fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		if err := f(i, raw); err != nil {
			return err
		}
	}
}

// rawEvent is one event's members as found, before it is materialised.
type rawEvent struct {
	stream, message, eventID []byte // plain strings (no escapes)
	ts, ingestion            int64
	hasStream, hasTS         bool
	hasMessage, hasEventID   bool
	hasIngestion             bool
	slow                     bool // a member needs the general decoder
	raw                      []byte
}

// nextRaw reads the next event's extent and its members, without
// allocating. It returns false at the end of the array.
func (c *logCursor) nextRaw(rel string, ev *rawEvent) (bool, error) {
	if c.done {
		return false, nil
	}
	more, err := c.s.next(']')
	if err != nil {
		return false, fmt.Errorf("read %s: event %d: %w", rel, c.index, err)
	}
	if !more {
		c.done = true
		return false, nil
	}
	raw, err := c.s.value()
	if err != nil {
		return false, fmt.Errorf("read %s: event %d: %w", rel, c.index, err)
	}
	*ev = rawEvent{raw: raw}
	if raw[0] != '{' {
		ev.slow = true
		c.index++
		return true, nil
	}
	err = members(raw, func(name, val []byte) {
		if len(val) == 4 && string(val) == "null" {
			return // null leaves the member unset, as decodeValue does
		}
		switch {
		case equalFold(name, "logstreamname"):
			ev.stream, ev.hasStream = plainString(val)
			ev.slow = ev.slow || !ev.hasStream
		case equalFold(name, "timestamp"):
			ev.ts, ev.hasTS = plainInt(val)
			ev.slow = ev.slow || !ev.hasTS
		case equalFold(name, "message"):
			ev.message, ev.hasMessage = plainString(val)
			ev.slow = ev.slow || !ev.hasMessage
		case equalFold(name, "eventid"):
			ev.eventID, ev.hasEventID = plainString(val)
			ev.slow = ev.slow || !ev.hasEventID
		case equalFold(name, "ingestiontime"):
			ev.ingestion, ev.hasIngestion = plainInt(val)
			ev.slow = ev.slow || !ev.hasIngestion
		}
	})
	if err != nil {
		return false, fmt.Errorf("read %s: event %d: %w", rel, c.index, err)
	}
	c.index++
	return true, nil
}

// event materialises a raw event; events with escapes or values of
// another JSON type go through the general decoder.
func (ev *rawEvent) event(rel string, index int) (*cwltypes.FilteredLogEvent, error) {
	var out cwltypes.FilteredLogEvent
	if ev.slow {
		if err := decodeRaw(&out, ev.raw, fmt.Sprintf("%s: event %d", rel, index)); err != nil {
			return nil, err
		}
		return &out, nil
	}
	if ev.hasStream {
		out.LogStreamName = aws.String(string(ev.stream))
	}
	if ev.hasTS {
		out.Timestamp = aws.Int64(ev.ts)
	}
	if ev.hasMessage {
		out.Message = aws.String(string(ev.message))
	}
	if ev.hasIngestion {
		out.IngestionTime = aws.Int64(ev.ingestion)
	}
	if ev.hasEventID {
		out.EventId = aws.String(string(ev.eventID))
	}
	return &out, nil
}

func (c *logCursor) next(rel string) (*cwltypes.FilteredLogEvent, error) {
	var ev rawEvent
	ok, err := c.nextRaw(rel, &ev)
	if !ok || err != nil {
		return nil, err
	}
	return ev.event(rel, c.index-1)
}

func (c *logCursor) close() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
	if c.s != nil {
		bufPool.Put(c.s.buf[:0])
		c.s = nil
	}
}

func expectDelim(d *json.Decoder, want json.Delim) error {
	t, err := d.Token()
	if err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if t != want {
		return fmt.Errorf("want %q, got %v", want, t)
	}
	return nil
}

func objectKey(d *json.Decoder) (string, error) {
	t, err := d.Token()
	if err != nil {
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	k, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("want an object key, got %v", t)
	}
	return k, nil
}

// FilterLogEvents implements the API's filtering over the bundle's files
// for the asked group: log stream names or prefix, the inclusive
// startTime/endTime range (epoch ms), a filter pattern of plain terms (every
// term must occur in the message), and pages of Limit events (default and
// maximum 10 000). The next token points into the file being read.
func (l *Logs) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files, err := l.b.logFiles()
	if err != nil {
		return nil, err
	}
	group := groupName(aws.ToString(in.LogGroupName), aws.ToString(in.LogGroupIdentifier))
	if group == "" {
		return nil, fmt.Errorf("InvalidParameterException: logGroupName or logGroupIdentifier is required")
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != nil {
		return nil, fmt.Errorf("InvalidParameterException: logStreamNames and logStreamNamePrefix cannot both be given")
	}
	terms, err := filterTerms(aws.ToString(in.FilterPattern))
	if err != nil {
		return nil, err
	}
	limit := int(aws.ToInt32(in.Limit))
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	fileIdx, eventIdx := 0, 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		a, b, ok := strings.Cut(tok, ":")
		fi, err1 := strconv.Atoi(a)
		ei, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || fi < 0 || fi >= len(files) || ei < 0 {
			return nil, fmt.Errorf("InvalidParameterException: invalid nextToken %q", tok)
		}
		fileIdx, eventIdx = fi, ei
	}
	streams := map[string]bool{}
	for _, s := range in.LogStreamNames {
		streams[s] = true
	}
	out := &cloudwatchlogs.FilterLogEventsOutput{}
	var raw rawEvent
	for ; fileIdx < len(files); fileIdx, eventIdx = fileIdx+1, 0 {
		lf := files[fileIdx]
		if lf.group != "" && lf.group != group {
			continue
		}
		c, err := l.b.takeCursor(lf, fileIdx, eventIdx)
		if err != nil {
			return nil, err
		}
		for {
			if err := ctx.Err(); err != nil {
				c.close()
				return nil, err
			}
			if len(out.Events) == limit {
				l.b.parkCursor(c)
				out.NextToken = aws.String(fmt.Sprintf("%d:%d", c.file, c.index))
				return out, nil
			}
			ok, err := c.nextRaw(lf.rel, &raw)
			if err != nil {
				c.close()
				return nil, err
			}
			if !ok {
				break
			}
			if !raw.slow {
				// Filter on the raw members; only answers are built.
				if len(streams) > 0 && !streams[string(raw.stream)] || in.LogStreamNamePrefix != nil && !bytes.HasPrefix(raw.stream, []byte(*in.LogStreamNamePrefix)) {
					continue
				}
				if in.StartTime != nil && raw.ts < *in.StartTime || in.EndTime != nil && raw.ts > *in.EndTime {
					continue
				}
				if !matchTermsBytes(raw.message, terms) {
					continue
				}
			}
			ev, err := raw.event(lf.rel, c.index-1)
			if err != nil {
				c.close()
				return nil, err
			}
			stream := aws.ToString(ev.LogStreamName)
			if len(streams) > 0 && !streams[stream] || in.LogStreamNamePrefix != nil && !strings.HasPrefix(stream, *in.LogStreamNamePrefix) {
				continue
			}
			ts := aws.ToInt64(ev.Timestamp)
			if in.StartTime != nil && ts < *in.StartTime || in.EndTime != nil && ts > *in.EndTime {
				continue
			}
			if !matchTerms(aws.ToString(ev.Message), terms) {
				continue
			}
			out.Events = append(out.Events, *ev)
		}
		c.close()
	}
	return out, nil
}

// takeCursor resumes a parked cursor at (file, index) or opens the file and
// skips to index.
func (b *Bundle) takeCursor(lf logFile, file, index int) (*logCursor, error) {
	key := fmt.Sprintf("%d:%d", file, index)
	b.mu.Lock()
	c := b.cursors[key]
	delete(b.cursors, key)
	b.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := openCursor(lf, file)
	if err != nil {
		return nil, err
	}
	var raw rawEvent
	for c.index < index {
		ok, err := c.nextRaw(lf.rel, &raw)
		if err != nil {
			c.close()
			return nil, err
		}
		if !ok {
			break
		}
	}
	return c, nil
}

// parkCursor keeps an open cursor for the next page. At most a few are kept;
// an abandoned pagination costs one open file until it is evicted.
func (b *Bundle) parkCursor(c *logCursor) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cursors == nil {
		b.cursors = map[string]*logCursor{}
	}
	if len(b.cursors) >= 16 {
		for k, old := range b.cursors {
			old.close()
			delete(b.cursors, k)
			break
		}
	}
	b.cursors[fmt.Sprintf("%d:%d", c.file, c.index)] = c
}

// Close releases files held open by unfinished paginations.
func (b *Bundle) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, c := range b.cursors {
		c.close()
		delete(b.cursors, k)
	}
	return nil
}

// filterTerms reads a CloudWatch Logs filter pattern made of plain terms
// and quoted phrases. Other syntax (JSON or space-delimited field
// selectors, ?OR terms, -exclusions) is refused rather than misread.
func filterTerms(p string) ([]string, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil, nil
	}
	if strings.ContainsAny(p, "{}[]?") || strings.HasPrefix(p, "-") || strings.Contains(p, " -") {
		return nil, fmt.Errorf("InvalidParameterException: filter pattern %q is not supported when replaying a bundle (plain terms and quoted phrases only)", p)
	}
	var terms []string
	for p != "" {
		if p[0] == '"' {
			end := strings.IndexByte(p[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("InvalidParameterException: unterminated quote in filter pattern")
			}
			terms = append(terms, p[1:1+end])
			p = strings.TrimSpace(p[end+2:])
			continue
		}
		f, rest, _ := strings.Cut(p, " ")
		terms = append(terms, f)
		p = strings.TrimSpace(rest)
	}
	return terms, nil
}

func matchTermsBytes(msg []byte, terms []string) bool {
	for _, t := range terms {
		if !bytes.Contains(msg, []byte(t)) {
			return false
		}
	}
	return true
}

func matchTerms(msg string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	return true
}

var _ io.Closer = (*Bundle)(nil)
