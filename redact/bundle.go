package redact

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// Bundle writes a redacted copy of the evidence bundle in srcDir to
// dstDir, which must not exist or be an empty directory.
//
// Every .json file is decoded (numbers as written, members in order) and
// re-encoded with its strings redacted, also inside strings that are JSON
// themselves (CloudTrailEvent, HistoryData), which are re-encoded
// compactly; the messages of logs/FilterLogEvents files are redacted as
// flow-log records in their log group's LogFormat (from
// ec2/DescribeFlowLogs); bundle.json's AccountId like any account ID.
// Other files (S3 flow-log objects, .log or .log.gz) are redacted line by
// line, their header lines setting the format. File and directory names
// are redacted too (an S3 object's name holds the account ID).
//
// The copy is written into a temporary directory beside dstDir and renamed
// into place at the end, so a failure leaves nothing behind; files are
// 0600, directories 0700. Symbolic links and other non-regular files in
// the bundle are not followed and not copied, as the bundle reader ignores
// them too (srcDir itself may be a link).
//
// Two passes are made: the first learns the account IDs and user names
// from their contexts, the second replaces, so that a name met first in
// free text and only later as a userName is still replaced.
func (r *Redactor) Bundle(srcDir, dstDir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	st, err := os.Stat(srcDir)
	if err != nil {
		return fmt.Errorf("redact bundle: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("redact bundle: %s is not a directory", srcDir)
	}
	// The directory named is followed when it is a link, as the bundle
	// reader follows it; links inside it are not.
	if srcDir, err = filepath.EvalSymlinks(srcDir); err != nil {
		return fmt.Errorf("redact bundle: %w", err)
	}
	if err := checkTarget(srcDir, dstDir); err != nil {
		return err
	}
	files, dirs, err := listBundle(srcDir)
	if err != nil {
		return fmt.Errorf("redact bundle: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("redact bundle: %s holds no files", srcDir)
	}
	if err := r.readFormats(srcDir, files); err != nil {
		return err
	}
	// Pass 1: learn.
	for _, rel := range files {
		if err := r.file(srcDir, rel, true, nil); err != nil {
			return err
		}
	}
	for _, rel := range append(append([]string(nil), dirs...), files...) {
		for _, part := range strings.Split(rel, "/") {
			r.learnText(part)
		}
	}
	// Pass 2: write.
	parent := filepath.Dir(filepath.Clean(dstDir))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("redact bundle: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dstDir))+".redacting-")
	if err != nil {
		return fmt.Errorf("redact bundle: %w", err)
	}
	if err := r.writeBundle(srcDir, tmp, files, dirs); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if st, err := os.Stat(dstDir); err == nil && st.IsDir() {
		os.Remove(dstDir) // the empty directory given as the target; Remove refuses a non-empty one
	}
	if err := os.Rename(tmp, dstDir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("redact bundle: %w", err)
	}
	return nil
}

// checkTarget refuses a target that exists and is not an empty directory,
// or that lies inside the source.
func checkTarget(srcDir, dstDir string) error {
	if st, err := os.Stat(dstDir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("redact bundle: %s exists and is not a directory; choose a new one", dstDir)
		}
		if entries, err := os.ReadDir(dstDir); err != nil || len(entries) > 0 {
			return fmt.Errorf("redact bundle: %s exists and is not empty; choose a new directory", dstDir)
		}
	}
	src, err1 := filepath.Abs(srcDir)
	dst, err2 := filepath.Abs(dstDir)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("redact bundle: %w", err)
	}
	if parent, err := filepath.EvalSymlinks(filepath.Dir(dst)); err == nil {
		dst = filepath.Join(parent, filepath.Base(dst))
	}
	if dst == src || strings.HasPrefix(dst, src+string(filepath.Separator)) {
		return fmt.Errorf("redact bundle: the copy %s cannot be inside the bundle %s", dstDir, srcDir)
	}
	return nil
}

// listBundle returns the regular files and the directories under dir
// (slash-separated, relative, sorted). Symbolic links are skipped.
func listBundle(dir string) (files, dirs []string, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			dirs = append(dirs, rel)
		case d.Type().IsRegular():
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	sort.Strings(dirs)
	return files, dirs, err
}

// readFormats reads the flow logs' formats from ec2/DescribeFlowLogs*.json:
// per CloudWatch Logs group, and under "s3" those delivered to S3.
func (r *Redactor) readFormats(dir string, files []string) error {
	r.formats = map[string][]flowlog.Format{}
	for _, rel := range files {
		if !strings.HasPrefix(rel, "ec2/DescribeFlowLogs") || !strings.HasSuffix(rel, ".json") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return fmt.Errorf("redact bundle: %w", err)
		}
		v, err := decodeJSON(raw)
		if err != nil {
			continue // redacted as text later; no formats from it
		}
		top, ok := v.(*object)
		if !ok {
			continue
		}
		if out, ok := member(top, "Output").(*object); ok {
			top = out
		}
		logs, _ := member(top, "FlowLogs").([]any)
		for _, x := range logs {
			fl, ok := x.(*object)
			if !ok {
				continue
			}
			format := flowlog.DefaultFormat
			if s := fl.text("LogFormat"); s != "" {
				if format, err = flowlog.ParseFormat(s); err != nil {
					continue
				}
			}
			group := fl.text("LogGroupName")
			if group == "" {
				group = groupName("", fl.text("LogDestination"))
			}
			if strings.EqualFold(fl.text("LogDestinationType"), "s3") {
				group = "s3"
			}
			r.addFormat(group, format)
			r.addFormat("", format)
		}
	}
	return nil
}

func (r *Redactor) addFormat(group string, f flowlog.Format) {
	for _, g := range r.formats[group] {
		if g.Equal(f) {
			return
		}
	}
	r.formats[group] = append(r.formats[group], f)
}

// member returns the member named k (case-insensitively), or nil.
func member(o *object, k string) any {
	for i, key := range o.keys {
		if strings.EqualFold(key, k) {
			return o.vals[i]
		}
	}
	return nil
}

// groupName returns a log group's name from a name or an ARN
// (arn:aws:logs:r:a:log-group:NAME:*).
func groupName(name, identifier string) string {
	if name != "" {
		return name
	}
	if i := strings.Index(identifier, ":log-group:"); i >= 0 {
		return strings.TrimSuffix(identifier[i+len(":log-group:"):], ":*")
	}
	return identifier
}

func (r *Redactor) writeBundle(src, tmp string, files, dirs []string) error {
	for _, rel := range dirs {
		if err := os.MkdirAll(filepath.Join(tmp, filepath.FromSlash(r.path(rel))), 0o700); err != nil {
			return fmt.Errorf("redact bundle: %w", err)
		}
	}
	for _, rel := range files {
		if err := r.file(src, rel, false, func(data []byte) error {
			return os.WriteFile(filepath.Join(tmp, filepath.FromSlash(r.path(rel))), data, 0o600)
		}); err != nil {
			return err
		}
	}
	return nil
}

// path redacts each element of a relative path.
func (r *Redactor) path(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = r.text(p, false)
	}
	return strings.Join(parts, "/")
}

// file redacts one file of the bundle and hands the result to write (with
// learn, it only learns from it).
func (r *Redactor) file(dir, rel string, learn bool, write func([]byte) error) error {
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return fmt.Errorf("redact bundle: %w", err)
	}
	var out []byte
	switch {
	case strings.HasSuffix(rel, ".json"):
		out, err = r.jsonFile(rel, raw, learn)
	case strings.HasSuffix(rel, ".gz"):
		out, err = r.gzipFile(raw, learn)
	default:
		out = []byte(r.textLines(string(raw), r.formats["s3"], learn))
	}
	if err != nil {
		return fmt.Errorf("redact bundle: %s: %w", rel, err)
	}
	if learn {
		return nil
	}
	return write(out)
}

// jsonFile redacts a JSON file. A file that is not valid JSON is redacted
// as text, line by line: the bundle reader will reject it, but the copy is
// still redacted.
func (r *Redactor) jsonFile(rel string, raw []byte, learn bool) ([]byte, error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return []byte(r.textLines(string(raw), nil, learn)), nil
	}
	var fc *flowCtx
	if strings.HasPrefix(rel, "logs/") {
		fc = &flowCtx{formats: r.formats[""]}
		if top, ok := v.(*object); ok {
			if in, ok := member(top, "Input").(*object); ok {
				group := groupName(in.text("logGroupName"), in.text("logGroupIdentifier"))
				if fs, ok := r.formats[group]; ok {
					fc.formats = fs
				}
			}
		}
	}
	if learn {
		r.learnJSON(v, "", "", fc)
		return nil, nil
	}
	out := encodeJSON(r.redactJSON(v, "", "", fc), "    ")
	return append(out, '\n'), nil
}

// gzipFile redacts a gzip-compressed text file (an S3 flow-log object).
func (r *Redactor) gzipFile(raw []byte, learn bool) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	text := r.textLines(string(plain), r.formats["s3"], learn)
	if learn {
		return nil, nil
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
