package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// FormatVersion is the bundle format version this package reads and writes.
const FormatVersion = 1

// Manifest is bundle.json.
type Manifest struct {
	FormatVersion int
	Region        string
	AccountId     string
	RecordedAt    time.Time
	// Failures are calls the recorded run made that failed: a replay answers
	// them with the same failure, so it reaches the same report.
	Failures []Failure `json:",omitempty"`
	// Tool names what wrote the bundle.
	Tool string `json:",omitempty"`
	// Interrupted, when set, says the recording run was stopped before
	// every source was read ("interrupted by Ctrl-C"): the bundle holds the
	// calls that completed, and a replay's report is marked partial too.
	Interrupted string `json:",omitempty"`
}

// Failure is one recorded failed call.
type Failure struct {
	Service   string
	Operation string
	Error     string
}

// RecordedFailure is a recorded call's failure, returned by a replay.
type RecordedFailure struct{ Failure }

func (e *RecordedFailure) Error() string { return e.Failure.Error }

// failure returns the recorded failure of service/op, if the bundle has one
// and no file for it.
func (b *Bundle) failure(service, op string) error {
	for _, f := range b.Manifest.Failures {
		if f.Service == service && f.Operation == op {
			return &RecordedFailure{f}
		}
	}
	return &NotInBundleError{Service: service, Operation: op, Misnamed: b.misnamed(service, op)}
}

// misnamed lists the files of service/ that are not read but whose names
// look like op's (describealarms.json, DescribeAlarm.json): a hand-made
// bundle's typo should be named, not leave the operation silently missing.
func (b *Bundle) misnamed(service, op string) []string {
	var out []string
	for _, p := range b.Unknown {
		rel := b.rel(p)
		svc, name, ok := strings.Cut(filepath.ToSlash(rel), "/")
		if !ok || svc != service {
			continue
		}
		squashed := strings.NewReplacer("-", "", "_", "", " ", "").Replace(name)
		if n := min(len(squashed), len(op)-1); n > 0 && strings.EqualFold(squashed[:n], op[:n]) {
			out = append(out, display(svc+"/"+name))
		}
	}
	return out
}

// operations are the API operations a bundle may hold, per service (the AWS
// CLI's service names). A file's operation is the longest of these its name
// starts with, so any suffix is allowed.
var operations = map[string][]string{
	"cloudwatch":  {"DescribeAlarms", "DescribeAlarmHistory", "GetMetricData"},
	"cloudtrail":  {"LookupEvents"},
	"logs":        {"FilterLogEvents"},
	"sts":         {"GetCallerIdentity"},
	"autoscaling": {"DescribeAutoScalingInstances", "DescribeAutoScalingGroups"},
	"ec2": {
		"DescribeVpnConnections", "DescribeCustomerGateways", "DescribeVpnGateways",
		"DescribeAddresses", "DescribeNetworkInterfaces", "DescribeInstances",
		"DescribeSecurityGroups", "DescribeSubnets", "DescribeVpcs", "DescribeRouteTables",
		"DescribeNetworkAcls", "DescribeFlowLogs", "DescribeTransitGatewayAttachments",
		"DescribeTransitGatewayRouteTables", "DescribeTransitGateways",
	},
}

// Bundle is an evidence bundle opened for replay. It is safe for
// concurrent use.
type Bundle struct {
	Dir      string
	Manifest Manifest
	// HasManifest reports whether bundle.json was present.
	HasManifest bool

	files map[string][]string // "service/Operation" → file paths, sorted
	// Unknown lists files whose name is not an operation this reader knows.
	Unknown []string

	mu      sync.Mutex
	cache   map[string][]record // parsed small files
	logs    []logFile           // FilterLogEvents files, indexed lazily
	logsOK  bool
	cursors map[string]*logCursor // parked FilterLogEvents paginations
}

// record is one file: the call's Input and Output as generic JSON.
type record struct {
	file   string
	input  map[string]any
	output map[string]any
}

// NotInBundleError says a bundle holds no file for an operation.
type NotInBundleError struct {
	Service, Operation string
	// Misnamed lists files whose names look like the operation's but are
	// not read (a different case, a letter missing).
	Misnamed []string
}

func (e *NotInBundleError) Error() string {
	msg := fmt.Sprintf("the bundle has no %s/%s*.json", e.Service, e.Operation)
	if len(e.Misnamed) > 0 {
		msg += fmt.Sprintf(" (%s is not read: rename it to start with %s exactly, e.g. %s/%s.json)",
			strings.Join(e.Misnamed, ", "), e.Operation, e.Service, e.Operation)
	}
	return msg
}

// IsNotInBundle reports whether err says the bundle lacks an operation.
func IsNotInBundle(err error) bool {
	var e *NotInBundleError
	return errors.As(err, &e)
}

// Open indexes the bundle in dir. It reads bundle.json (optional) and the
// names of the files; each file is parsed when first asked for.
//
// Symbolic links are never followed, neither to files nor to service
// directories: a bundle is a self-contained attachment, and a link could
// make a replay read whatever it points to. A link (or a directory, or any
// other non-regular entry) named like an operation's file, or a linked
// service directory, makes Open fail with a message that names it, rather
// than the operation being answered silently from the remaining files.
func Open(dir string) (*Bundle, error) {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open bundle: %s does not exist (a bundle is a directory of <service>/<Operation>.json files)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open bundle: %s is not a directory (a bundle is a directory of <service>/<Operation>.json files)", dir)
	}
	b := &Bundle{Dir: dir, files: map[string][]string{}, cache: map[string][]record{}}
	m, ok, err := openManifest(dir)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	b.Manifest, b.HasManifest = m, ok
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	var irregular []*IrregularFileError
	for _, e := range entries {
		service := e.Name()
		ops, known := operations[service]
		if !e.IsDir() {
			if known && e.Type()&fs.ModeSymlink != 0 {
				irregular = append(irregular, &IrregularFileError{Path: service + "/", What: irregularLink})
			}
			continue
		}
		sub, err := os.ReadDir(filepath.Join(dir, service))
		if err != nil {
			return nil, fmt.Errorf("open bundle: read the directory %s/: %w", service, pathErrCause(err))
		}
		for _, f := range sub {
			name := f.Name()
			path := filepath.Join(dir, service, name)
			op := ""
			if known && strings.HasSuffix(name, ".json") {
				op = matchOperation(strings.TrimSuffix(name, ".json"), ops)
			}
			if op == "" {
				if !f.IsDir() {
					b.Unknown = append(b.Unknown, path)
				}
				continue
			}
			if !f.Type().IsRegular() {
				// Symlinks are not followed: a bundle is a self-contained
				// attachment.
				what := irregularOther
				switch {
				case f.Type()&fs.ModeSymlink != 0:
					what = irregularLink
				case f.IsDir():
					what = irregularDir
				}
				irregular = append(irregular, &IrregularFileError{Path: display(service + "/" + name), What: what})
				continue
			}
			key := service + "/" + op
			b.files[key] = append(b.files[key], path)
		}
	}
	if len(irregular) > 0 {
		sort.Slice(irregular, func(i, j int) bool { return irregular[i].Path < irregular[j].Path })
		if n := len(irregular) - 1; n > 0 {
			return nil, fmt.Errorf("open bundle: %w (and %d more %s)", irregular[0], n, plural(n, "entry", "entries"))
		}
		return nil, fmt.Errorf("open bundle: %w", irregular[0])
	}
	for k := range b.files {
		sort.Strings(b.files[k])
	}
	if len(b.files) == 0 && len(b.Manifest.Failures) == 0 {
		for _, e := range entries {
			if sub := filepath.Join(dir, e.Name()); e.IsDir() && fileExists(filepath.Join(sub, "bundle.json")) {
				return nil, fmt.Errorf("open bundle: %s holds no <service>/<Operation>.json files, but %s looks like a bundle: pass that directory", dir, sub)
			}
		}
		return nil, fmt.Errorf("open bundle: %s holds no <service>/<Operation>.json files", dir)
	}
	return b, nil
}

// The kinds of entry a bundle does not read.
const (
	irregularLink  = "is a symbolic link, which vpnaudit does not follow (a bundle must be self-contained): replace the link with a copy of what it points to"
	irregularDir   = "is a directory, not a file: move its files up into the service directory or remove it"
	irregularOther = "is not a regular file: replace it with the JSON file of the call"
)

// IrregularFileError says an entry of the bundle named like an operation's
// file (or a service directory) is a symbolic link, a directory or another
// non-regular file, which the bundle does not read.
type IrregularFileError struct {
	// Path is the entry's path inside the bundle ("cloudtrail/LookupEvents-000.json", "logs/").
	Path string
	What string
}

func (e *IrregularFileError) Error() string { return e.Path + " " + e.What }

// openManifest reads bundle.json, which is optional. It is not followed
// when it is a symbolic link.
func openManifest(dir string) (Manifest, bool, error) {
	path := filepath.Join(dir, "bundle.json")
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, fmt.Errorf("bundle.json: %w", pathErrCause(err))
	}
	if !st.Mode().IsRegular() {
		what := irregularOther
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			what = irregularLink
		case st.IsDir():
			what = "is a directory, not the bundle's manifest file: remove it (bundle.json is optional)"
		}
		return Manifest{}, false, &IrregularFileError{Path: "bundle.json", What: what}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, false, fmt.Errorf("bundle.json: %w", pathErrCause(err))
	}
	m, err := readManifest(raw)
	if err != nil {
		return Manifest{}, false, fmt.Errorf("bundle.json: %w", err)
	}
	return m, true, nil
}

// pathErrCause drops the absolute path an *fs.PathError carries: messages
// name files by their path inside the bundle.
// A permission error says what to do.
func pathErrCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: make it readable to the user running vpnaudit", err)
	}
	return err
}

func fileExists(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode().IsRegular()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func readManifest(raw []byte) (Manifest, error) {
	var generic map[string]any
	if err := unmarshalGeneric(raw, &generic); err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := decodeValue(reflect.ValueOf(&m).Elem(), generic, "bundle.json"); err != nil {
		// decodeValue names the member "bundle.json.RecordedAt"; the
		// caller names the file.
		if rest, ok := strings.CutPrefix(err.Error(), "bundle.json."); ok {
			return Manifest{}, errors.New(rest)
		}
		return Manifest{}, err
	}
	if m.FormatVersion != 0 && m.FormatVersion != FormatVersion {
		return Manifest{}, fmt.Errorf("FormatVersion %d is not supported (this vpnaudit reads version %d): replay it with the vpnaudit that wrote it, or a newer one", m.FormatVersion, FormatVersion)
	}
	return m, nil
}

func matchOperation(stem string, ops []string) string {
	best := ""
	for _, op := range ops {
		if strings.HasPrefix(stem, op) && len(op) > len(best) {
			best = op
		}
	}
	return best
}

// Has reports whether the bundle holds any file for service/op.
func (b *Bundle) Has(service, op string) bool { return len(b.files[service+"/"+op]) > 0 }

// Operations lists "service/Operation" keys present, sorted.
func (b *Bundle) Operations() []string {
	var out []string
	for k := range b.files {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// records parses (once) and returns every file of service/op.
func (b *Bundle) records(service, op string) ([]record, error) {
	key := service + "/" + op
	b.mu.Lock()
	defer b.mu.Unlock()
	if rs, ok := b.cache[key]; ok {
		return rs, nil
	}
	paths := b.files[key]
	if len(paths) == 0 {
		return nil, b.failure(service, op)
	}
	var rs []record
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", b.rel(p), pathErrCause(err))
		}
		r, err := parseRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", b.rel(p), err)
		}
		r.file = b.rel(p)
		rs = append(rs, r)
	}
	b.cache[key] = rs
	return rs, nil
}

// rel is p's path inside the bundle, for messages.
func (b *Bundle) rel(p string) string {
	r, err := filepath.Rel(b.Dir, p)
	if err != nil {
		r = p
	}
	return display(r)
}

// display returns a file name for a message: quoted with escapes when it is
// not printable UTF-8, so a hostile name cannot drive the terminal.
func display(name string) string {
	for _, r := range name {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(name)
		}
	}
	return name
}

// parseRecord reads {"Input":…, "Output":…} or a bare output dump.
func parseRecord(raw []byte) (record, error) {
	var top map[string]any
	if err := unmarshalGeneric(raw, &top); err != nil {
		return record{}, err
	}
	out, hasOut := lookup(top, "Output")
	if !hasOut {
		return record{output: top}, nil
	}
	r := record{}
	if in, ok := lookup(top, "Input"); ok && in != nil {
		m, ok := in.(map[string]any)
		if !ok {
			return record{}, fmt.Errorf("Input is %s, want an object", jsonKind(in))
		}
		r.input = m
	}
	m, ok := out.(map[string]any)
	if !ok {
		return record{}, fmt.Errorf("Output is %s, want an object", jsonKind(out))
	}
	r.output = m
	return r, nil
}

func unmarshalGeneric(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("the file holds a JSON %s, want an object", te.Value)
		case errors.Is(err, io.EOF):
			return errors.New("not valid JSON: the file is empty")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return errors.New("not valid JSON: the file ends in the middle of a value (truncated?)")
		case errors.As(err, &se):
			return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)
		}
		return fmt.Errorf("not valid JSON: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return fmt.Errorf("not valid JSON: data after the top-level value at byte %d", d.InputOffset())
	}
	return nil
}

// outputs decodes every file's Output of service/op into new values of
// type T, in file order.
func outputs[T any](b *Bundle, service, op string) ([]*T, []record, error) {
	rs, err := b.records(service, op)
	if err != nil {
		return nil, nil, err
	}
	var out []*T
	for _, r := range rs {
		v := new(T)
		if err := decodeValue(reflect.ValueOf(v).Elem(), r.output, r.file+": Output"); err != nil {
			return nil, nil, err
		}
		out = append(out, v)
	}
	return out, rs, nil
}
