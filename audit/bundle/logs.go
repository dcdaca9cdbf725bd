package bundle

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

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
	d     *json.Decoder
	done  bool
}

func openCursor(lf logFile, file int) (*logCursor, error) {
	f, err := os.Open(lf.path)
	if err != nil {
		return nil, err
	}
	c := &logCursor{file: file, f: f, d: json.NewDecoder(bufio.NewReaderSize(f, 256<<10))}
	c.d.UseNumber()
	if err := c.seekEvents(); err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", lf.rel, err)
	}
	return c, nil
}

// seekEvents positions the decoder inside Output.events (or the top-level
// events of a bare dump).
func (c *logCursor) seekEvents() error {
	d := c.d
	if err := expectDelim(d, '{'); err != nil {
		return err
	}
	inOutput := false
	for {
		if !d.More() {
			if !inOutput {
				c.done = true
				return nil
			}
			if _, err := d.Token(); err != nil { // end of Output
				return err
			}
			inOutput = false
			continue
		}
		key, err := objectKey(d)
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(key, "events"):
			return expectDelim(d, '[')
		case !inOutput && strings.EqualFold(key, "Output"):
			if err := expectDelim(d, '{'); err != nil {
				return fmt.Errorf("Output: %w", err)
			}
			inOutput = true
		default:
			var skip json.RawMessage
			if err := d.Decode(&skip); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
}

func (c *logCursor) next(rel string) (*cwltypes.FilteredLogEvent, error) {
	if c.done || !c.d.More() {
		c.done = true
		return nil, nil
	}
	var raw map[string]any
	if err := c.d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("read %s: event %d: %w", rel, c.index, err)
	}
	var ev cwltypes.FilteredLogEvent
	if err := decodeValue(reflect.ValueOf(&ev).Elem(), raw, fmt.Sprintf("%s: event %d", rel, c.index)); err != nil {
		return nil, err
	}
	c.index++
	return &ev, nil
}

func (c *logCursor) close() {
	if c.f != nil {
		c.f.Close()
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
			ev, err := c.next(lf.rel)
			if err != nil {
				c.close()
				return nil, err
			}
			if ev == nil {
				break
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
	for c.index < index {
		ev, err := c.next(lf.rel)
		if err != nil {
			c.close()
			return nil, err
		}
		if ev == nil {
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

func matchTerms(msg string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	return true
}

var _ io.Closer = (*Bundle)(nil)
