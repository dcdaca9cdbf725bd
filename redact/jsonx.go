package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// object is a JSON object that keeps its members in document order, so a
// redacted file differs from its original only where something was
// replaced.
type object struct {
	keys []string
	vals []any
}

// text returns the string member named k (case-insensitively), or "".
func (o *object) text(k string) string {
	for i, key := range o.keys {
		if strings.EqualFold(key, k) {
			if s, ok := o.vals[i].(string); ok {
				return s
			}
		}
	}
	return ""
}

const maxDepth = 10000

// decodeJSON decodes one JSON value (numbers kept as written) into
// *object, []any, string, json.Number, bool or nil.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := decodeValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

func decodeValue(d *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch delim {
	case '{':
		o := &object{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return nil, err
			}
			k, _ := kt.(string)
			v, err := decodeValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			o.keys = append(o.keys, k)
			o.vals = append(o.vals, v)
		}
		_, err = d.Token()
		return o, err
	case '[':
		arr := []any{}
		for d.More() {
			v, err := decodeValue(d, depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err = d.Token()
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", delim)
}

// nestedJSON decodes s when it is a JSON object or array (CloudTrailEvent,
// HistoryData, requestParameters).
func nestedJSON(s string) (any, bool) {
	t := strings.TrimSpace(s)
	if len(t) < 2 || !(t[0] == '{' && t[len(t)-1] == '}' || t[0] == '[' && t[len(t)-1] == ']') {
		return nil, false
	}
	v, err := decodeJSON([]byte(t))
	return v, err == nil
}

// encodeJSON encodes v, compactly when indent is "", without escaping
// HTML characters (as the AWS CLI writes).
func encodeJSON(v any, indent string) []byte {
	var b bytes.Buffer
	writeJSON(&b, v, indent, 0)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any, indent string, depth int) {
	newline := func(d int) {
		if indent != "" {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat(indent, d))
		}
	}
	switch t := v.(type) {
	case *object:
		if len(t.keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(depth + 1)
			writeString(b, k)
			b.WriteByte(':')
			if indent != "" {
				b.WriteByte(' ')
			}
			writeJSON(b, t.vals[i], indent, depth+1)
		}
		newline(depth)
		b.WriteByte('}')
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, x := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			newline(depth + 1)
			writeJSON(b, x, indent, depth+1)
		}
		newline(depth)
		b.WriteByte(']')
	case string:
		writeString(b, t)
	case json.Number:
		b.WriteString(t.String())
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	default:
		raw, _ := json.Marshal(t)
		b.Write(raw)
	}
}

// writeString writes s as a JSON string, escaping what JSON requires (and
// U+2028, U+2029 as encoding/json does) but not <, > and &.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

// flowCtx carries the flow-log formats that apply to the "message" members
// of a FilterLogEvents file.
type flowCtx struct {
	formats []flowlog.Format
}

// userKeys are members that hold a user or session name. A session
// issuer's userName (an object whose type is Role) is the role's name and
// is kept.
var userKeys = map[string]bool{"username": true, "rolesessionname": true, "sessionname": true}

// redactJSON redacts every string of a decoded JSON value in place (and
// returns it). key is the member the value belongs to (for array elements,
// the array's), parentType the type member of the enclosing object.
func (r *Redactor) redactJSON(v any, key, parentType string, fc *flowCtx) any {
	switch t := v.(type) {
	case *object:
		typ := t.text("type")
		for i, k := range t.keys {
			t.vals[i] = r.redactJSON(t.vals[i], k, typ, fc)
		}
		return t
	case []any:
		for i := range t {
			t[i] = r.redactJSON(t[i], key, parentType, fc)
		}
		return t
	case string:
		lk := strings.ToLower(key)
		switch {
		case userKeys[lk] && parentType != "Role":
			switch {
			case isAccountID(t):
				return r.account(t)
			case accessKey.MatchString(t):
				return r.key(t)
			case strings.HasPrefix(t, "arn:"):
				return r.text(t, false)
			}
			return r.user(t)
		case lk == "message" && fc != nil:
			return r.flowRecord(t, fc.formats, false)
		}
		return r.value(t)
	}
	return v
}

// learnJSON is redactJSON's learning pass: it records the account IDs and
// user names the value shows, replacing nothing.
func (r *Redactor) learnJSON(v any, key, parentType string, fc *flowCtx) {
	switch t := v.(type) {
	case *object:
		typ := t.text("type")
		for i, k := range t.keys {
			r.learnJSON(t.vals[i], k, typ, fc)
		}
	case []any:
		for _, x := range t {
			r.learnJSON(x, key, parentType, fc)
		}
	case string:
		lk := strings.ToLower(key)
		switch {
		case userKeys[lk] && parentType != "Role" && !strings.HasPrefix(t, "arn:"):
			r.learnUser(t)
			r.learnAccount(t)
		case lk == "message" && fc != nil:
			r.flowRecord(t, fc.formats, true)
		default:
			r.learnString(t)
		}
	}
}
