package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/collect"
)

// Recorder writes every call of a run as an evidence bundle. Calls are
// written as they complete into a temporary directory beside the target,
// which Close renames into place: an interrupted run never leaves a
// half-written bundle. Files are 0600, directories 0700.
type Recorder struct {
	target string
	tmp    string

	mu       sync.Mutex
	seq      map[string]int
	failures []bundle.Failure
	err      error
	// interrupted is why the run stopped early, for the manifest.
	interrupted string
}

// NewRecorder prepares recording into dir, which must not exist yet or be
// an empty directory.
func NewRecorder(dir string) (*Recorder, error) {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return nil, fmt.Errorf("--record %s: a file of that name exists; choose a new directory", dir)
		}
		if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
			return nil, fmt.Errorf("--record %s: the directory exists and is not empty; choose a new one", dir)
		}
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("--record %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".recording-")
	if err != nil {
		return nil, fmt.Errorf("--record %s: %w", dir, err)
	}
	return &Recorder{target: dir, tmp: tmp, seq: map[string]int{}}, nil
}

// serviceDirs maps SDK service IDs to the AWS CLI's service names.
var serviceDirs = map[string]string{
	"CloudWatch": "cloudwatch", "CloudTrail": "cloudtrail", "CloudWatch Logs": "logs", "EC2": "ec2",
	"STS": "sts", "Auto Scaling": "autoscaling",
}

func serviceDir(id string) string {
	if d, ok := serviceDirs[id]; ok {
		return d
	}
	return strings.ToLower(strings.ReplaceAll(id, " ", ""))
}

// add is the recording middleware: after the call, its input and output
// (or its failure) are written.
func (r *Recorder) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("vpnaudit.Record",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			id, op := middleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
			service := serviceDir(id)
			if err != nil {
				// A call cut short because the run stopped (Ctrl-C,
				// --timeout) did not fail: it is simply not in the bundle,
				// which notes the interruption (Interrupted).
				if ctx.Err() == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
					// The SDK wraps the error in an OperationError only after
					// the stack returns; wrap it here the same way so the
					// recorded words are those the live run shows.
					r.fail(service, op, &smithy.OperationError{ServiceID: id, OperationName: op, Err: err})
				}
				return out, md, err
			}
			if service == "s3" && op == "GetObject" {
				r.teeObject(in.Parameters, out.Result)
				return out, md, err
			}
			r.write(service, op, in.Parameters, out.Result)
			return out, md, err
		}), middleware.After)
}

func (r *Recorder) fail(service, op string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.failures {
		if f.Service == service && f.Operation == op {
			return
		}
	}
	r.failures = append(r.failures, bundle.Failure{Service: service, Operation: op, Error: collect.Why(err)})
}

func (r *Recorder) write(service, op string, input, output any) {
	doc := map[string]any{"Input": cliJSON(input, service == "logs"), "Output": cliJSON(output, service == "logs")}
	redact(doc)
	raw, err := json.MarshalIndent(doc, "", " ")
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		n := r.seq[service+"/"+op]
		r.seq[service+"/"+op] = n + 1
		dir := filepath.Join(r.tmp, service)
		if err = os.MkdirAll(dir, 0o700); err == nil {
			err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%03d.json", op, n)), append(raw, '\n'), 0o600)
		}
	}
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("record %s %s: %w", service, op, err)
	}
}

// teeObject records an S3 object as it is read: the body the caller reads
// is copied, byte for byte, to s3/BUCKET/KEY in the bundle (the layout the
// replay reads, see the bundle package), so the replay reads exactly what
// the live run read. An object the caller does not read to its end is not
// kept: a truncated copy would not be what S3 holds.
func (r *Recorder) teeObject(input, output any) {
	in, ok := input.(*s3.GetObjectInput)
	out, ok2 := output.(*s3.GetObjectOutput)
	if !ok || !ok2 || out.Body == nil {
		return
	}
	bucket, key := aws.ToString(in.Bucket), aws.ToString(in.Key)
	dir := filepath.Join(r.tmp, "s3", bucket)
	path := filepath.Join(dir, filepath.FromSlash(key))
	if bucket == "" || strings.ContainsAny(bucket, `/\`) || bucket == "." || bucket == ".." ||
		!strings.HasPrefix(path, dir+string(filepath.Separator)) {
		r.setErr(fmt.Errorf("record s3 GetObject: the object s3://%s/%s has no safe file name in a bundle", bucket, key))
		return
	}
	f, err := func() (*os.File, error) {
		r.mu.Lock() // directories are shared with the other calls' files
		defer r.mu.Unlock()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	}()
	if err != nil {
		r.setErr(fmt.Errorf("record s3 GetObject: %w", err))
		return
	}
	out.Body = &teeBody{ReadCloser: out.Body, f: f, r: r}
}

// teeBody copies what is read from an object's body to its bundle file.
type teeBody struct {
	io.ReadCloser
	f    *os.File
	r    *Recorder
	eof  bool
	werr error
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if n > 0 && t.werr == nil {
		_, t.werr = t.f.Write(p[:n])
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

func (t *teeBody) Close() error {
	err := t.ReadCloser.Close()
	if t.f == nil {
		return err
	}
	cerr := t.f.Close()
	if t.werr == nil {
		t.werr = cerr
	}
	if !t.eof || t.werr != nil {
		os.Remove(t.f.Name())
	}
	if t.werr != nil {
		t.r.setErr(fmt.Errorf("record s3 GetObject: %w", t.werr))
	}
	t.f = nil
	return err
}

func (r *Recorder) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// cliJSON converts an SDK input or output into the AWS CLI's JSON form:
// API member names (camelCase for CloudWatch Logs), timestamps in RFC 3339,
// no nulls and no SDK-only metadata.
func cliJSON(v any, camel bool) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return map[string]any{}
	}
	return clean(generic, camel)
}

func clean(v any, camel bool) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if x == nil || k == "ResultMetadata" {
				continue
			}
			if camel && k != "" {
				k = strings.ToLower(k[:1]) + k[1:]
			}
			out[k] = clean(x, camel)
		}
		return out
	case []any:
		for i := range t {
			t[i] = clean(t[i], camel)
		}
	}
	return v
}

// secretKeys are members whose values are secrets (pre-shared keys,
// credentials); they are masked wherever they appear.
var secretKeys = map[string]bool{
	"presharedkey": true, "secretaccesskey": true, "sessiontoken": true, "password": true, "privatekey": true,
}

// droppedKeys are members removed whole: the VPN configuration document
// holds the tunnels' pre-shared keys.
var droppedKeys = map[string]bool{"customergatewayconfiguration": true}

var secretInJSON = regexp.MustCompile(`(?i)("(?:preSharedKey|secretAccessKey|sessionToken|password|privateKey)"\s*:\s*)"[^"]*"`)

const masked = "REDACTED"

// redact removes or masks secrets in place, also inside JSON strings such
// as CloudTrailEvent.
func redact(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			lk := strings.ToLower(k)
			switch {
			case droppedKeys[lk]:
				delete(t, k)
			case secretKeys[lk]:
				t[k] = masked
			default:
				if s, ok := x.(string); ok && strings.Contains(s, "{") {
					t[k] = secretInJSON.ReplaceAllString(s, `${1}"`+masked+`"`)
					continue
				}
				redact(x)
			}
		}
	case []any:
		for _, x := range t {
			redact(x)
		}
	}
}

// Close writes bundle.json and moves the bundle into place. It returns the
// first error met while recording.
func (r *Recorder) Close(region, account string, recordedAt time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		os.RemoveAll(r.tmp)
		return r.err
	}
	m := bundle.Manifest{FormatVersion: bundle.FormatVersion, Region: region, AccountId: account,
		RecordedAt: recordedAt.UTC(), Failures: r.failures, Tool: "vpnaudit", Interrupted: r.interrupted}
	raw, err := json.MarshalIndent(m, "", " ")
	if err == nil {
		err = os.WriteFile(filepath.Join(r.tmp, "bundle.json"), append(raw, '\n'), 0o600)
	}
	if err == nil {
		if st, serr := os.Stat(r.target); serr == nil && st.IsDir() {
			os.Remove(r.target) // an empty directory given as the target; Remove refuses a non-empty one
		}
		err = os.Rename(r.tmp, r.target)
	}
	if err != nil {
		os.RemoveAll(r.tmp)
		return fmt.Errorf("write bundle %s: %w", r.target, err)
	}
	return nil
}

// Interrupted notes in the manifest that the run was stopped early (why),
// so the bundle says it holds only the calls that completed.
func (r *Recorder) Interrupted(why string) {
	r.mu.Lock()
	r.interrupted = why
	r.mu.Unlock()
}

// Target is the directory Close moves the bundle to.
func (r *Recorder) Target() string { return r.target }

// Abort discards what was recorded.
// It is safe to call while Close runs: one waits for the other, so the
// bundle is either complete at its target or gone.
func (r *Recorder) Abort() {
	r.mu.Lock()
	defer r.mu.Unlock()
	os.RemoveAll(r.tmp)
}
