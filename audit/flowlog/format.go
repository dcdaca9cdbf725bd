package flowlog

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Format is the ordered list of fields of a flow log's records, as given by the
// LogFormat of DescribeFlowLogs or by the header line of an S3 object.
//
// A Format is immutable and cheap to copy. The zero Format is [DefaultFormat].
type Format struct {
	d *formatData
}

type formatData struct {
	names []string
	ids   []fieldID
	kinds []kind
	// limits is the largest valid value of each numeric field.
	limits []int64
	index  map[string]int
	// pos is the position of each known field in the format, or -1.
	pos [numFieldIDs]int16
	// keys holds the JSON object key of each field, with its separator:
	// `{"version":` for the first field and `,"srcaddr":` for the others.
	keys []string
	str  string
}

// DefaultFormat is the format of flow logs created without a custom format:
// the version-2 fields in the order of the AWS field table.
var DefaultFormat = mustFormat("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status")

// defaultData backs the zero Format.
var defaultData = DefaultFormat.d

func mustFormat(s string) Format {
	f, err := ParseFormat(s)
	if err != nil {
		panic(err)
	}
	return f
}

// ErrEmptyFormat is returned by [ParseFormat] for a format without fields.
var ErrEmptyFormat = errors.New("flow-log format has no fields")

// ParseFormat parses a flow-log format. It accepts the DescribeFlowLogs form
// "${version} ${account-id} ..." and bare names "version account-id ...",
// separated by whitespace (the two forms may be mixed). A name must be a
// lowercase letter followed by lowercase letters, digits and dashes; names
// this package does not know are accepted as text fields.
func ParseFormat(s string) (Format, error) {
	tokens := strings.Fields(s)
	names := make([]string, len(tokens))
	for i, tok := range tokens {
		name := tok
		if strings.HasPrefix(tok, "${") {
			if !strings.HasSuffix(tok, "}") {
				return Format{}, fmt.Errorf("flow-log format: field %d: %q: unterminated ${...}", i+1, tok)
			}
			name = tok[2 : len(tok)-1]
		}
		if !validName(name) {
			return Format{}, fmt.Errorf("flow-log format: field %d: %q is not a field name (want lowercase letters, digits and dashes, e.g. ${srcaddr})", i+1, tok)
		}
		names[i] = name
	}
	return newFormat(names)
}

// NewFormat returns the Format with the given field names, in order.
func NewFormat(names ...string) (Format, error) {
	for i, name := range names {
		if !validName(name) {
			return Format{}, fmt.Errorf("flow-log format: field %d: %q is not a field name (want lowercase letters, digits and dashes)", i+1, name)
		}
	}
	return newFormat(append([]string(nil), names...))
}

// newFormat builds a Format from validated names; it takes ownership of names.
func newFormat(names []string) (Format, error) {
	if len(names) == 0 {
		return Format{}, ErrEmptyFormat
	}
	if len(names) > maxFields {
		return Format{}, fmt.Errorf("flow-log format: %d fields, more than the %d supported", len(names), maxFields)
	}
	d := &formatData{
		names:  names,
		ids:    make([]fieldID, len(names)),
		kinds:  make([]kind, len(names)),
		limits: make([]int64, len(names)),
		index:  make(map[string]int, len(names)),
		keys:   make([]string, len(names)),
	}
	for i := range d.pos {
		d.pos[i] = -1
	}
	var sb strings.Builder
	for i, name := range names {
		if j, dup := d.index[name]; dup {
			return Format{}, fmt.Errorf("flow-log format: field %d: %q repeats field %d", i+1, name, j+1)
		}
		d.index[name] = i
		d.limits[i] = math.MaxInt64
		if id, ok := fieldByName[name]; ok {
			d.ids[i] = id
			d.kinds[i] = knownFields[id].kind
			d.pos[id] = int16(i)
			if m := knownFields[id].max; m > 0 {
				d.limits[i] = m
			}
		}
		sep := ","
		if i == 0 {
			sep = "{"
		} else {
			sb.WriteByte(' ')
		}
		// Names are lowercase letters, digits and dashes: no JSON escaping needed.
		d.keys[i] = sep + strconv.Quote(name) + ":"
		sb.WriteString("${")
		sb.WriteString(name)
		sb.WriteByte('}')
	}
	d.str = sb.String()
	return Format{d}, nil
}

// maxFields bounds the number of fields of a format; positions are stored in
// int16. AWS formats have at most a few dozen fields.
const maxFields = 1024

func (f Format) data() *formatData {
	if f.d == nil {
		return defaultData
	}
	return f.d
}

// Fields returns the field names in order.
func (f Format) Fields() []string {
	return append([]string(nil), f.data().names...)
}

// Len returns the number of fields.
func (f Format) Len() int { return len(f.data().names) }

// Field returns the name of the i-th field (from 0).
func (f Format) Field(i int) string { return f.data().names[i] }

// Index returns the position of the named field, or -1.
func (f Format) Index(name string) int {
	if i, ok := f.data().index[name]; ok {
		return i
	}
	return -1
}

// IsNumeric reports whether the named field is in the format and holds a
// number (version, ports, protocol, packets, bytes, start, end, tcp-flags,
// traffic-path, packets-lost-*). account-id is text.
func (f Format) IsNumeric(name string) bool {
	i := f.Index(name)
	return i >= 0 && f.data().kinds[i] == kindNumber
}

// Version returns the flow-log version the format needs: the highest version
// among its known fields (AWS writes this number in the version field).
func (f Format) Version() int {
	v := 0
	for _, id := range f.data().ids {
		if id != fieldUnknown && knownFields[id].version > v {
			v = knownFields[id].version
		}
	}
	return v
}

// String returns the format in the DescribeFlowLogs form "${version} ${account-id} ...".
func (f Format) String() string { return f.data().str }

// Equal reports whether f and g have the same fields in the same order.
func (f Format) Equal(g Format) bool {
	return f.data() == g.data() || f.data().str == g.data().str
}
