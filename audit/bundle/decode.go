package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// decodeValue stores the generic JSON value src (as produced by a
// json.Decoder with UseNumber) into dst, an SDK type. It implements the
// bundle format's reading rules:
//   - member names match exported field names case-insensitively, so the
//     CLI's PascalCase and CloudWatch Logs' camelCase both fit the SDK types;
//     unknown members are ignored;
//   - timestamps are RFC 3339 / ISO 8601 strings with any offset (also
//     `+0000` without a colon, as CloudWatch writes them) or epoch numbers
//     (seconds, or milliseconds when larger than 1e11);
//   - numbers may be given as strings and vice versa, booleans as "true";
//   - null leaves the zero value; interface-typed members (documents,
//     unions) are left nil.
//
// path names the position for error messages.
func decodeValue(dst reflect.Value, src any, path string) error {
	if src == nil {
		return nil
	}
	t := dst.Type()
	if t == timeType {
		tm, err := parseTime(src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		dst.Set(reflect.ValueOf(tm))
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		v := reflect.New(t.Elem())
		if err := decodeValue(v.Elem(), src, path); err != nil {
			return err
		}
		dst.Set(v)
	case reflect.Interface:
		// Documents and unions are not needed by the collector.
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", path, jsonKind(src))
		}
		fields := fieldsOf(t)
		for k, v := range m {
			idx, ok := fields[strings.ToLower(k)]
			if !ok {
				continue
			}
			if err := decodeValue(dst.Field(idx), v, path+"."+k); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := src.(string)
			if !ok {
				return fmt.Errorf("%s: want a base64 string, got %s", path, jsonKind(src))
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			dst.SetBytes(b)
			return nil
		}
		a, ok := src.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %s", path, jsonKind(src))
		}
		s := reflect.MakeSlice(t, len(a), len(a))
		for i, e := range a {
			if err := decodeValue(s.Index(i), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			return fmt.Errorf("%s: want an object, got %s", path, jsonKind(src))
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for k, v := range m {
			e := reflect.New(t.Elem()).Elem()
			if err := decodeValue(e, v, path+"."+k); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		dst.Set(out)
	case reflect.String:
		switch v := src.(type) {
		case string:
			dst.SetString(v)
		case json.Number:
			dst.SetString(v.String())
		case bool:
			dst.SetString(strconv.FormatBool(v))
		default:
			return fmt.Errorf("%s: want a string, got %s", path, jsonKind(src))
		}
	case reflect.Bool:
		switch v := src.(type) {
		case bool:
			dst.SetBool(v)
		case string:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: want a boolean, got %q", path, v)
			}
			dst.SetBool(b)
		default:
			return fmt.Errorf("%s: want a boolean, got %s", path, jsonKind(src))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, err := number(src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if f != math.Trunc(f) || dst.OverflowInt(int64(f)) {
			return fmt.Errorf("%s: %v does not fit an integer", path, src)
		}
		dst.SetInt(int64(f))
	case reflect.Float32, reflect.Float64:
		f, err := number(src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		dst.SetFloat(f)
	default:
		return fmt.Errorf("%s: cannot decode into %s", path, t)
	}
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

var fieldCache sync.Map // reflect.Type → map[string]int

// fieldsOf maps the lower-cased names of t's exported fields to their index.
func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() {
			m[strings.ToLower(f.Name)] = i
		}
	}
	fieldCache.Store(t, m)
	return m
}

func number(src any) (float64, error) {
	switch v := src.(type) {
	case json.Number:
		return v.Float64()
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("want a number, got %q", v)
		}
		return f, nil
	case float64:
		return v, nil
	case bool:
		return 0, fmt.Errorf("want a number, got %v", v)
	}
	return 0, fmt.Errorf("want a number, got %s", jsonKind(src))
}

// parseTime reads a bundle timestamp into UTC.
func parseTime(src any) (time.Time, error) {
	switch v := src.(type) {
	case string:
		return audit.ParseTimestamp(v)
	case json.Number, float64:
		f, err := number(v)
		if err != nil {
			return time.Time{}, err
		}
		return audit.Epoch(f), nil
	}
	return time.Time{}, fmt.Errorf("want a timestamp, got %s", jsonKind(src))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// lookup returns m's member named key, matched case-insensitively.
func lookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// The fast path. The large files of a bundle (FilterLogEvents,
// LookupEvents and GetMetricData pages) are read with a byte-level scanner
// instead of decoding every member into generic values: it finds each
// array element's extent, looks at the few members a question filters on
// without allocating, and hands only the elements that answer the question
// to the decoder above (decodeValue), so what is materialised keeps exactly
// the reading rules of the rest of the bundle. Elements that are skipped are
// checked for balanced brackets and terminated strings only.

// jsonStream reads JSON from r through a sliding buffer: memory is bounded
// by the largest single value asked for, not by the file.
type jsonStream struct {
	r   io.Reader
	buf []byte
	pos int // next unread byte
	eof bool
	err error
}

const streamBuffer = 1 << 20

func newJSONStream(r io.Reader, buf []byte) *jsonStream {
	if cap(buf) < streamBuffer {
		buf = make([]byte, 0, streamBuffer)
	}
	return &jsonStream{r: r, buf: buf[:0]}
}

// fill moves the unread bytes to the front and reads more, growing the
// buffer when it is full of one value. It reports whether bytes were added.
func (s *jsonStream) fill() bool {
	if s.eof {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:])
		s.buf = s.buf[:n]
		s.pos = 0
	}
	if len(s.buf) == cap(s.buf) {
		nb := make([]byte, len(s.buf), 2*cap(s.buf))
		copy(nb, s.buf)
		s.buf = nb
	}
	for {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// peek returns the next byte that is not white space, without consuming it.
func (s *jsonStream) peek() (byte, error) {
	for {
		for s.pos < len(s.buf) {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, nil
			}
		}
		if !s.fill() {
			return 0, s.eofError()
		}
	}
}

func (s *jsonStream) eofError() error {
	if s.err != nil {
		return s.err
	}
	return errors.New("not valid JSON: unexpected end of file")
}

// expect consumes the next non-space byte, which must be c.
func (s *jsonStream) expect(c byte) error {
	got, err := s.peek()
	if err != nil {
		return err
	}
	if got != c {
		return fmt.Errorf("not valid JSON: want %q, got %q", c, got)
	}
	s.pos++
	return nil
}

// value consumes the next value and returns its bytes, valid until the
// next call.
func (s *jsonStream) value() ([]byte, error) {
	if _, err := s.peek(); err != nil {
		return nil, err
	}
	for {
		end, err := valueEnd(s.buf, s.pos, s.eof)
		if err == errShort {
			if !s.fill() {
				return nil, s.eofError()
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		v := s.buf[s.pos:end]
		s.pos = end
		return v, nil
	}
}

// key consumes an object member's name and the colon after it.
func (s *jsonStream) key() (string, error) {
	c, err := s.peek()
	if err != nil {
		return "", err
	}
	if c != '"' {
		return "", fmt.Errorf("not valid JSON: want an object key, got %q", c)
	}
	raw, err := s.value()
	if err != nil {
		return "", err
	}
	k, err := unquote(raw)
	if err != nil {
		return "", err
	}
	return k, s.expect(':')
}

// next positions the stream at the next element of an array or member of
// an object being read: it consumes a separating comma and reports false at
// the closing bracket (consumed).
func (s *jsonStream) next(close byte) (bool, error) {
	c, err := s.peek()
	if err != nil {
		return false, err
	}
	if c == ',' {
		s.pos++
		if c, err = s.peek(); err != nil {
			return false, err
		}
	}
	if c == close {
		s.pos++
		return false, nil
	}
	return true, nil
}

// skip consumes the next value without holding it whole in the buffer.
func (s *jsonStream) skip() error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c != '{' && c != '[' {
		_, err := s.value()
		return err
	}
	depth, inString := 0, false
	for {
		b := s.buf
		for i := s.pos; i < len(b); i++ {
			switch c := b[i]; {
			case inString:
				switch c {
				case '\\':
					if i+1 == len(b) { // the escaped byte is in the next read
						s.pos = i
						goto more
					}
					i++
				case '"':
					inString = false
				}
			case c == '"':
				inString = true
				j := bytes.IndexByte(b[i+1:], '"')
				if j >= 0 && bytes.IndexByte(b[i+1:i+1+j], '\\') < 0 {
					i += j + 1
					inString = false
				}
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					s.pos = i + 1
					return nil
				}
			}
		}
		s.pos = len(b)
	more:
		if !s.fill() {
			return s.eofError()
		}
	}
}

var (
	errShort        = errors.New("short buffer")
	errUnterminated = errors.New("not valid JSON: unterminated object")
)

// valueEnd returns the end of the JSON value starting at b[i] (after white
// space), or errShort when b ends first and more may come (eof false).
func valueEnd(b []byte, i int, eof bool) (int, error) {
	switch b[i] {
	case '"':
		return stringEnd(b, i, eof)
	case '{', '[':
		if end, err := restEnd(b, i+1, eof); err != errShort {
			return end, err
		}
	default:
		for j := i; j < len(b); j++ {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if j == i {
					return 0, fmt.Errorf("not valid JSON: unexpected %q", b[j])
				}
				return j, nil
			}
		}
		if eof && len(b) > i {
			return len(b), nil
		}
	}
	if eof {
		return 0, errors.New("not valid JSON: unexpected end of file")
	}
	return 0, errShort
}

// stringEnd returns the end of the string starting at b[i] == '"'.
func stringEnd(b []byte, i int, eof bool) (int, error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			if eof {
				return 0, errors.New("not valid JSON: unterminated string")
			}
			return 0, errShort
		}
		q := j + k
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1, nil
		}
		j = q + 1
	}
}

// object consumes the next value and returns its bytes (valid until the
// next call), calling f with each member on the way when it is an object,
// so an element is read in one pass; f returns false when it has seen
// enough (the rest is skipped). When the buffer has to be refilled
// the object is read again: reset is called before each attempt, and the
// slices f was given before it are no longer valid.
func (s *jsonStream) object(reset func(), f func(name, val []byte) bool) ([]byte, error) {
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	if c != '{' {
		return s.value()
	}
	for {
		reset()
		end, err := objectEnd(s.buf, s.pos, s.eof, f)
		if err == errShort {
			if !s.fill() {
				return nil, s.eofError()
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		v := s.buf[s.pos:end]
		s.pos = end
		return v, nil
	}
}

// objectEnd reads the object starting at b[i] == '{', calling f with each
// member, and returns its end, or errShort when b ends first and more may
// come (eof false). When f returns false the rest of the object is only
// skipped to its end.
func objectEnd(b []byte, i int, eof bool, f func(name, val []byte) bool) (int, error) {
	short := errUnterminated
	if !eof {
		short = errShort
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, short
		}
		switch b[i] {
		case '}':
			return i + 1, nil
		case ',':
			i++
			continue
		case '"':
		default:
			return 0, fmt.Errorf("not valid JSON: want an object key, got %q", b[i])
		}
		kend, err := stringEnd(b, i, eof)
		if err != nil {
			return 0, err
		}
		name := b[i+1 : kend-1]
		i = skipSpace(b, kend)
		if i >= len(b) {
			return 0, short
		}
		if b[i] != ':' {
			return 0, errors.New("not valid JSON: want a colon after an object key")
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return 0, short
		}
		vend, err := valueEnd(b, i, eof)
		if err != nil {
			return 0, err
		}
		if !f(name, b[i:vend]) {
			return restEnd(b, vend, eof)
		}
		i = vend
	}
}

// restEnd returns the end of the object or array whose inside b[i:] is,
// or errShort.
func restEnd(b []byte, i int, eof bool) (int, error) {
	depth := 1
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, err := stringEnd(b, j, eof)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	if eof {
		return 0, errUnterminated
	}
	return 0, errShort
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainString returns the contents of a JSON string without escapes, or
// false for anything else.
func plainString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
		return nil, false
	}
	return raw[1 : len(raw)-1], true
}

// unquote returns the string a JSON string literal holds.
func unquote(raw []byte) (string, error) {
	if s, ok := plainString(raw); ok {
		return string(s), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	return s, nil
}

// plainInt parses a JSON integer literal (no fraction or exponent).
func plainInt(raw []byte) (int64, bool) {
	if len(raw) == 0 || len(raw) > 18 {
		return 0, false
	}
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
		if len(raw) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// decodeRaw decodes one raw JSON value into dst with the bundle's reading
// rules (decodeValue).
func decodeRaw(dst any, raw []byte, path string) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var generic any
	if err := d.Decode(&generic); err != nil {
		return fmt.Errorf("%s: not valid JSON: %w", path, err)
	}
	return decodeValue(reflect.ValueOf(dst).Elem(), generic, path)
}

// equalFold reports whether the raw member name matches name (lower case)
// case-insensitively.
func equalFold(raw []byte, lower string) bool {
	if len(raw) != len(lower) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
