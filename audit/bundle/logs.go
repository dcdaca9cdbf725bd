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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

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
	// skipStream, when set, says which streams' events are not wanted:
	// they are skipped after their stream name (a plain string).
	skipStream func(stream []byte) bool
	// skipTime, when set, says which timestamps are not wanted.
	skipTime func(ts int64) bool
}

// bufPool recycles the scanners' read buffers. It is a short free list
// rather than a sync.Pool: the buffers are few and large, and a Pool drops
// its buffers at every collection, after which each file costs a fresh,
// zeroed megabyte.
var bufPool = bufferList(make(chan []byte, 8))

type bufferList chan []byte

func (l bufferList) Get() []byte {
	select {
	case b := <-l:
		return b
	default:
		return make([]byte, 0, streamBuffer)
	}
}

func (l bufferList) Put(b []byte) {
	if cap(b) > 4*streamBuffer {
		return // grown for one huge value: let it go
	}
	select {
	case l <- b[:0]:
	default:
	}
}

func openCursor(lf logFile, file int) (*logCursor, error) {
	f, err := os.Open(lf.path)
	if err != nil {
		return nil, err
	}
	c := &logCursor{file: file, f: f, s: newJSONStream(f, bufPool.Get())}
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
// the read buffer to use. When member is not nil it sees each element's
// members first, in the same pass (see jsonStream.object for reset).
func eachElement(path, name string, buf []byte, reset func(), member func(name, val []byte) bool, f func(i int, raw []byte) error) error {
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
		var raw []byte
		if member != nil {
			raw, err = s.object(reset, member)
		} else {
			raw, err = s.value()
		}
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
	skipped                  bool // of a stream the cursor was told to skip
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
	raw, err := c.s.object(func() { *ev = rawEvent{} }, func(name, val []byte) bool {
		if len(val) == 4 && string(val) == "null" {
			return true // null leaves the member unset, as decodeValue does
		}
		switch {
		case equalFold(name, "logstreamname"):
			ev.stream, ev.hasStream = plainString(val)
			ev.slow = ev.slow || !ev.hasStream
			if !ev.slow && c.skipStream != nil && c.skipStream(ev.stream) {
				// Another stream's event: the rest of it is not looked at.
				ev.skipped = true
				return false
			}
		case equalFold(name, "timestamp"):
			ev.ts, ev.hasTS = plainInt(val)
			ev.slow = ev.slow || !ev.hasTS
			if !ev.slow && c.skipTime != nil && c.skipTime(ev.ts) {
				ev.skipped = true // outside the time range
				return false
			}
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
		return true
	})
	ev.raw = raw
	if err == nil && raw[0] != '{' {
		ev.slow = true
	}
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
	if ev.slow || !utf8.Valid(ev.stream) || !utf8.Valid(ev.message) || !utf8.Valid(ev.eventID) {
		// encoding/json replaces invalid UTF-8; the general decoder does it.
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
// maximum 10 000). Events come in file order; the next token points into
// the file being read ("file:event").
//
// The group's files are scanned ahead of the pages, a few at a time on all
// cores (see logScan); a scan left unfinished by one page waits, parked,
// for the call that asks for the next.
func (l *Logs) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files, err := l.b.logFiles()
	if err != nil {
		return nil, err
	}
	q, err := newLogQuery(in)
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
	sc := takeScan(l.b, q.key, fileIdx, eventIdx)
	if sc == nil {
		var todo []logFile
		var idx []int
		for i := fileIdx; i < len(files); i++ {
			if files[i].group == "" || files[i].group == q.group {
				todo = append(todo, files[i])
				idx = append(idx, i)
			}
		}
		sc = startScan(q, todo, idx, fileIdx, eventIdx)
	}
	out := &cloudwatchlogs.FilterLogEventsOutput{}
	for len(out.Events) < limit {
		if len(out.Events)%1024 == 0 && ctx.Err() != nil {
			sc.stop()
			return nil, ctx.Err()
		}
		f, ok, err := sc.next(ctx)
		if err != nil {
			sc.stop()
			return nil, err
		}
		if !ok {
			sc.stop()
			return out, nil
		}
		out.Events = append(out.Events, f.ev)
		fileIdx, eventIdx = f.file, f.index+1
	}
	parkScan(l.b, sc, q.key, fileIdx, eventIdx)
	out.NextToken = aws.String(fmt.Sprintf("%d:%d", fileIdx, eventIdx))
	return out, nil
}

// logQuery is a FilterLogEvents question without its paging.
type logQuery struct {
	group      string
	streams    map[string]bool
	prefix     *string
	start, end *int64
	terms      []string
	key        string // identifies the question for parked scans
}

func newLogQuery(in *cloudwatchlogs.FilterLogEventsInput) (*logQuery, error) {
	q := &logQuery{group: groupName(aws.ToString(in.LogGroupName), aws.ToString(in.LogGroupIdentifier)),
		prefix: in.LogStreamNamePrefix, start: in.StartTime, end: in.EndTime}
	if q.group == "" {
		return nil, fmt.Errorf("InvalidParameterException: logGroupName or logGroupIdentifier is required")
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != nil {
		return nil, fmt.Errorf("InvalidParameterException: logStreamNames and logStreamNamePrefix cannot both be given")
	}
	terms, err := filterTerms(aws.ToString(in.FilterPattern))
	if err != nil {
		return nil, err
	}
	q.terms = terms
	q.streams = map[string]bool{}
	for _, s := range in.LogStreamNames {
		q.streams[s] = true
	}
	q.key = fmt.Sprintf("%q|%q|%v|%v|%v|%q", q.group, in.LogStreamNames, ptrString(in.LogStreamNamePrefix), ptrInt(in.StartTime), ptrInt(in.EndTime), aws.ToString(in.FilterPattern))
	return q, nil
}

func ptrString(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return strconv.Quote(*p)
}

func ptrInt(p *int64) string {
	if p == nil {
		return "<nil>"
	}
	return strconv.FormatInt(*p, 10)
}

// skipStream reports whether events of a stream (a plain string) never
// answer the query.
func (q *logQuery) skipStream(stream []byte) bool {
	return len(q.streams) > 0 && !q.streams[string(stream)] || q.prefix != nil && !bytes.HasPrefix(stream, []byte(*q.prefix))
}

// skipTime reports whether events at ts never answer the query.
func (q *logQuery) skipTime(ts int64) bool {
	return q.start != nil && ts < *q.start || q.end != nil && ts > *q.end
}

// matchRaw filters an event on its raw members; only events it keeps are
// built.
func (q *logQuery) matchRaw(ev *rawEvent) bool {
	if len(q.streams) > 0 && !q.streams[string(ev.stream)] || q.prefix != nil && !bytes.HasPrefix(ev.stream, []byte(*q.prefix)) {
		return false
	}
	if q.start != nil && ev.ts < *q.start || q.end != nil && ev.ts > *q.end {
		return false
	}
	return matchTermsBytes(ev.message, q.terms)
}

func (q *logQuery) match(ev *cwltypes.FilteredLogEvent) bool {
	stream := aws.ToString(ev.LogStreamName)
	if len(q.streams) > 0 && !q.streams[stream] || q.prefix != nil && !strings.HasPrefix(stream, *q.prefix) {
		return false
	}
	ts := aws.ToInt64(ev.Timestamp)
	if q.start != nil && ts < *q.start || q.end != nil && ts > *q.end {
		return false
	}
	return matchTerms(aws.ToString(ev.Message), q.terms)
}

// found is one event that answers a query, with its place in the bundle.
type found struct {
	file, index int
	ev          cwltypes.FilteredLogEvent
}

// fileResult is what a file holds for a query.
type fileResult struct {
	events []found
	err    error
}

// scanFile reads one file for a query from event index from on.
func scanFile(ctx context.Context, q *logQuery, lf logFile, file, from int) fileResult {
	c, err := openCursor(lf, file)
	if err != nil {
		return fileResult{err: err}
	}
	defer c.close()
	c.skipStream, c.skipTime = q.skipStream, q.skipTime
	var res fileResult
	var raw rawEvent
	for {
		if c.index%4096 == 0 && ctx.Err() != nil {
			return fileResult{err: ctx.Err()}
		}
		ok, err := c.nextRaw(lf.rel, &raw)
		if err != nil {
			return fileResult{err: err}
		}
		if !ok {
			return res
		}
		i := c.index - 1
		if i < from || raw.skipped || !raw.slow && !q.matchRaw(&raw) {
			continue
		}
		ev, err := raw.event(lf.rel, i)
		if err != nil {
			return fileResult{err: err}
		}
		if q.match(ev) {
			res.events = append(res.events, found{file: file, index: i, ev: *ev})
		}
	}
}

// logScan reads a query's files ahead of the consumer: at most
// scanAhead files are being read or waiting to be consumed at a time, each
// on its own goroutine, so both cores decode while pages are handed out in
// file order. Memory is bounded by scanAhead files' matching events.
type logScan struct {
	ctx     context.Context
	cancel  context.CancelFunc
	results []chan fileResult
	slots   chan struct{}
	pos     int     // next file to consume
	cur     []found // the current file's events not yet handed out
}

// scanAhead is how many files a scan reads ahead: enough to keep every
// core busy while a page is used.
var scanAhead = max(3, runtime.GOMAXPROCS(0)+1)

func startScan(q *logQuery, files []logFile, idx []int, firstFile, firstIndex int) *logScan {
	ctx, cancel := context.WithCancel(context.Background())
	sc := &logScan{ctx: ctx, cancel: cancel, slots: make(chan struct{}, scanAhead)}
	for range files {
		sc.results = append(sc.results, make(chan fileResult, 1))
	}
	go func() {
		for i, lf := range files {
			select {
			case sc.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			from := 0
			if idx[i] == firstFile {
				from = firstIndex
			}
			go func(i, file, from int, lf logFile) {
				sc.results[i] <- scanFile(ctx, q, lf, file, from)
			}(i, idx[i], from, lf)
		}
	}()
	return sc
}

// next returns the next event that answers the query, false at the end.
func (sc *logScan) next(ctx context.Context) (found, bool, error) {
	for len(sc.cur) == 0 {
		if sc.pos == len(sc.results) {
			return found{}, false, nil
		}
		var r fileResult
		select {
		case r = <-sc.results[sc.pos]:
		case <-ctx.Done():
			return found{}, false, ctx.Err()
		}
		<-sc.slots
		sc.pos++
		if r.err != nil {
			return found{}, false, r.err
		}
		sc.cur = r.events
	}
	f := sc.cur[0]
	sc.cur[0] = found{}
	sc.cur = sc.cur[1:]
	return f, true, nil
}

// stop ends the scan's reading.
func (sc *logScan) stop() { sc.cancel() }

// Parked scans, per bundle: a pagination left halfway resumes where its
// scan stands. At most maxParked are kept per bundle; the oldest is stopped
// (its next page then reads from the token's file again).
var (
	parkMu sync.Mutex
	parked = map[*Bundle][]parkedScan{}
)

const maxParked = 16

type parkedScan struct {
	key string
	sc  *logScan
}

func scanKey(query string, file, index int) string {
	return fmt.Sprintf("%s@%d:%d", query, file, index)
}

func parkScan(b *Bundle, sc *logScan, query string, file, index int) {
	parkMu.Lock()
	defer parkMu.Unlock()
	ps := parked[b]
	if len(ps) >= maxParked {
		ps[0].sc.stop()
		ps = ps[1:]
	}
	parked[b] = append(ps, parkedScan{scanKey(query, file, index), sc})
}

func takeScan(b *Bundle, query string, file, index int) *logScan {
	parkMu.Lock()
	defer parkMu.Unlock()
	key := scanKey(query, file, index)
	ps := parked[b]
	for i, p := range ps {
		if p.key == key {
			parked[b] = append(ps[:i:i], ps[i+1:]...)
			if len(parked[b]) == 0 {
				delete(parked, b)
			}
			return p.sc
		}
	}
	return nil
}

// Close stops the scans of unfinished paginations.
func (b *Bundle) Close() error {
	parkMu.Lock()
	defer parkMu.Unlock()
	for _, p := range parked[b] {
		p.sc.stop()
	}
	delete(parked, b)
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
