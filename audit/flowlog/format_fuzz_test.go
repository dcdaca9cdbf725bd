package flowlog_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// FuzzParseFormat checks ParseFormat, which FuzzParse only calls for its
// records: no input panics it, and an accepted format has at least one
// field, no field twice, only well-formed names, and round-trips through
// String, bare names and NewFormat to an equal Format. It is seeded from
// the fixtures' DescribeFlowLogs and the conformance corpus's formats.
func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{
		flowlog.DefaultFormat.String(),
		"version srcaddr dstaddr",
		"${version} srcaddr ${dstaddr}",
		"${version ${srcaddr}",
		"${} ${Version} ${-x}",
		"version version",
		"\t${a-1}\n${b}\r\n",
		"${${x}}",
	} {
		f.Add(s)
	}
	root := testenv.ModuleRoot(f)
	fixtureFiles, _ := filepath.Glob(filepath.Join(root, "fixtures", "*", "ec2", "DescribeFlowLogs*.json"))
	for _, file := range fixtureFiles {
		for _, lf := range logFormats(f, file) {
			f.Add(lf)
		}
	}
	if dir := filepath.Join(root, "..", "shared", "conformance", "awsdocs-vpcflow"); exists(dir) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.format"))
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(raw))
		}
	} else if testenv.CI() {
		f.Fatalf("%s not found (the shared/ folder beside the repository); CI=true requires it", dir)
	} else {
		f.Logf("SKIP seeds: %s not found (the shared/ folder beside the repository)", dir)
	}

	f.Fuzz(func(t *testing.T, s string) {
		fm, err := flowlog.ParseFormat(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("error with an empty message")
			}
			return
		}
		if fm.Len() == 0 || fm.Len() != len(strings.Fields(s)) {
			t.Fatalf("%d fields from %d tokens", fm.Len(), len(strings.Fields(s)))
		}
		seen := map[string]bool{}
		for i, name := range fm.Fields() {
			if !fieldNameRE.MatchString(name) {
				t.Fatalf("field %d: %q is not a field name", i+1, name)
			}
			if seen[name] {
				t.Fatalf("field %q twice", name)
			}
			seen[name] = true
			if fm.Field(i) != name || fm.Index(name) != i {
				t.Fatalf("Field(%d) = %q, Index(%q) = %d", i, fm.Field(i), name, fm.Index(name))
			}
		}
		for _, form := range []string{fm.String(), strings.Join(fm.Fields(), " ")} {
			again, err := flowlog.ParseFormat(form)
			if err != nil || !again.Equal(fm) {
				t.Fatalf("%q does not parse back to %q: %v", form, fm, err)
			}
		}
		if nf, err := flowlog.NewFormat(fm.Fields()...); err != nil || !nf.Equal(fm) {
			t.Fatalf("NewFormat(%q) = %q, %v", fm.Fields(), nf, err)
		}
		if v := fm.Version(); v < 0 || v > 8 {
			t.Fatalf("Version() = %d", v)
		}
	})
}

var fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// logFormats returns the LogFormat of every flow log in a DescribeFlowLogs
// file of a bundle.
func logFormats(t testing.TB, file string) []string {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Output struct {
			FlowLogs []struct{ LogFormat string }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []string
	for _, fl := range doc.Output.FlowLogs {
		if fl.LogFormat != "" {
			out = append(out, fl.LogFormat)
		}
	}
	return out
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
