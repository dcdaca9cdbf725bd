package cli

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// --redact keeps the verdict and removes the account ID, the addresses and
// the user names from every format.
func TestRedactedReport(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	plain := run(t, nil, "why", "--alarm", "VPN-Down", "--from", lab, "--format", "json")
	for _, format := range []string{"json", "markdown", "text"} {
		r := run(t, nil, "why", "--alarm", "VPN-Down", "--from", lab, "--format", format, "--redact")
		if r.code != ExitOK {
			t.Fatalf("%s: exit %d: %s", format, r.code, r.stderr)
		}
		for _, secret := range []string{"444455556666", "198.51.100.23", "18.198.77.14", "dana.kowalski", "192.168.1.10", "marco"} {
			if strings.Contains(r.stdout, secret) {
				t.Errorf("%s report still contains %q", format, secret)
			}
		}
		if format == "json" {
			want, got := verdictOf(t, plain.stdout), verdictOf(t, r.stdout)
			want.CauseActor, got.CauseActor = "", "" // the actor's name is redacted
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("redaction changed the verdict (-plain +redacted):\n%s", diff)
			}
		}
	}
}

// vpnaudit redact writes a copy that replays to the same verdict, and
// refuses to overwrite.
func TestRedactCommand(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	dst := filepath.Join(t.TempDir(), "shared-bundle")
	if r := run(t, nil, "redact", lab, dst); r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	plain := verdictOf(t, run(t, nil, "why", "--alarm", "VPN-Down", "--from", lab, "--format", "json").stdout)
	replay := verdictOf(t, run(t, nil, "why", "--alarm", "VPN-Down", "--from", dst, "--format", "json").stdout)
	plain.CauseActor, replay.CauseActor = "", ""
	if diff := cmp.Diff(plain, replay); diff != "" {
		t.Errorf("the redacted bundle replays differently (-original +redacted):\n%s", diff)
	}
	err := filepath.Walk(dst, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, secret := range []string{"444455556666", "dana.kowalski", "198.51.100.23"} {
			if strings.Contains(string(b), secret) {
				return errors.New(p + " still contains " + secret)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if r := run(t, nil, "redact", lab, dst); r.code != ExitUsage || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("redact onto an existing bundle: exit %d, %q", r.code, r.stderr)
	}
}

// --chart writes a well-formed SVG, and the Markdown report links it
// relative to itself.
func TestChartFlag(t *testing.T) {
	lab := testenv.Fixture(t, "lab-console-stop")
	dir := t.TempDir()
	chart, out := filepath.Join(dir, "img", "vpn-down.svg"), filepath.Join(dir, "postmortem.md")
	os.MkdirAll(filepath.Dir(chart), 0o755)
	r := run(t, nil, "why", "--alarm", "VPN-Down", "--from", lab, "--format", "markdown", "--output", out, "--chart", chart)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(chart)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := xml.NewDecoder(f)
	var root string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("the chart's root element is %q, want svg", root)
	}
	md, _ := os.ReadFile(out)
	if !strings.Contains(string(md), "](img/vpn-down.svg)") {
		t.Errorf("the report does not link the chart as img/vpn-down.svg")
	}
}
