package flowlog_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// seedSample is one flow log's format and a few of its records, from the
// fixtures or the conformance corpus.
type seedSample struct {
	format string   // "" for the default format
	lines  []string // records as delivered
}

// seedSamples gathers FuzzReader's and FuzzParse's seeds: every fixture's
// flow logs (their LogFormat and a few messages of their log group) and the
// AWS documentation's samples in ../shared/conformance, which are skipped
// with a message when absent (and fail the fuzz target under CI=true).
func seedSamples(f *testing.F) []seedSample {
	root := testenv.ModuleRoot(f)
	var out []seedSample
	fixtures, _ := filepath.Glob(filepath.Join(root, "fixtures", "*", "ec2", "DescribeFlowLogs*.json"))
	for _, file := range fixtures {
		bundle := filepath.Dir(filepath.Dir(file))
		for group, format := range groupFormats(f, file) {
			if lines := groupMessages(f, bundle, group, 4); len(lines) > 0 {
				out = append(out, seedSample{format, lines})
			}
		}
	}
	dir := filepath.Join(root, "..", "shared", "conformance", "awsdocs-vpcflow")
	if !exists(dir) {
		if testenv.CI() {
			f.Fatalf("%s not found (the shared/ folder beside the repository); CI=true requires it", dir)
		}
		f.Logf("SKIP seeds: %s not found (the shared/ folder beside the repository)", dir)
		return out
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, file := range logs {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		format := ""
		if b, err := os.ReadFile(strings.TrimSuffix(file, ".log") + ".format"); err == nil {
			format = strings.TrimSpace(string(b))
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		out = append(out, seedSample{format, lines[:min(len(lines), 4)]})
	}
	return out
}

// groupFormats maps each CloudWatch Logs group of a DescribeFlowLogs file
// to its flow log's LogFormat.
func groupFormats(t testing.TB, file string) map[string]string {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Output struct {
			FlowLogs []struct{ LogFormat, LogGroupName string }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	out := map[string]string{}
	for _, fl := range doc.Output.FlowLogs {
		if fl.LogGroupName != "" {
			out[fl.LogGroupName] = fl.LogFormat
		}
	}
	return out
}

// groupMessages returns up to n messages of a log group from a bundle's
// FilterLogEvents files.
func groupMessages(t testing.TB, bundle, group string, n int) []string {
	files, _ := filepath.Glob(filepath.Join(bundle, "logs", "FilterLogEvents*.json"))
	var out []string
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Input  struct{ LogGroupName string }
			Output struct {
				Events []struct{ Message string }
			}
		}
		if err := json.Unmarshal(raw, &doc); err != nil || doc.Input.LogGroupName != group {
			continue
		}
		for _, e := range doc.Output.Events {
			if len(out) == n {
				return out
			}
			out = append(out, e.Message)
		}
	}
	return out
}

// addReaderSeeds adds each sample to FuzzReader as an S3-style object: a
// header line naming the fields, then the records.
func addReaderSeeds(f *testing.F) {
	for _, s := range seedSamples(f) {
		text := strings.Join(s.lines, "\n") + "\n"
		if s.format != "" {
			text = strings.NewReplacer("${", "", "}", "").Replace(s.format) + "\n" + text
		}
		f.Add([]byte(text))
	}
}

// addParseSeeds adds each sample's format and first record to FuzzParse.
func addParseSeeds(f *testing.F) {
	for _, s := range seedSamples(f) {
		format := s.format
		if format == "" {
			format = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
		}
		f.Add(format, s.lines[0])
	}
}
