package collect

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// Benchmark objects: benchObjects objects of about benchObjectBytes of
// records each (before compression), kept in a cache directory across runs
// (generating them takes a while). Compare with the same files:
//
//	go test ./audit/collect -run XXX -bench S3Objects -benchtime 3x
//	time (zcat DIR/s3/bench/AWSLogs/*/vpcflowlogs/*/*/*/*/*.log.gz | wc -l)
//
// where DIR is the directory the benchmark logs.
const (
	benchObjects     = 8
	benchObjectBytes = 40 << 20
	benchAccount     = "111122223333"
	benchRegion      = "eu-central-1"
)

// benchBundle returns the bundle directory, its object keys and their
// uncompressed size.
func benchBundle(b *testing.B) (string, []string, int64) {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("vpnaudit-bench-s3-%d-%d", benchObjects, benchObjectBytes))
	day := time.Date(2026, 11, 3, 21, 0, 0, 0, time.UTC)
	var keys []string
	var total int64
	for i := range benchObjects {
		t := day.Add(time.Duration(i) * 5 * time.Minute)
		keys = append(keys, fmt.Sprintf("AWSLogs/%s/vpcflowlogs/%s/%s/%s_vpcflowlogs_%s_fl-0bench_%s_%08x.log.gz",
			benchAccount, benchRegion, t.Format("2006/01/02"), benchAccount, benchRegion, t.Format("20060102T1504Z"), i))
	}
	sizeFile := filepath.Join(dir, "size")
	if raw, err := os.ReadFile(sizeFile); err == nil {
		if _, err := fmt.Sscan(string(raw), &total); err == nil {
			return dir, keys, total
		}
	}
	os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "sts"), 0o755)
	os.WriteFile(filepath.Join(dir, "sts", "GetCallerIdentity.json"), []byte(`{"Account": "`+benchAccount+`"}`), 0o644)
	rng := rand.New(rand.NewPCG(3, 4))
	for i, key := range keys {
		p := filepath.Join(dir, "s3", "bench", filepath.FromSlash(key))
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		gz, _ := gzip.NewWriterLevel(f, gzip.DefaultCompression)
		w := bufio.NewWriterSize(gz, 1<<20)
		n, _ := w.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
		written := int64(n)
		start := day.Add(time.Duration(i) * 5 * time.Minute).Unix()
		for written < benchObjectBytes {
			s := start + rng.Int64N(300)
			var line string
			switch eni := rng.IntN(40); {
			case rng.IntN(50) == 0:
				line = fmt.Sprintf("2 %s eni-%017x - - - - - - - %d %d - NODATA\n", benchAccount, eni, s, s+60)
			default:
				action := "ACCEPT"
				if rng.IntN(10) == 0 {
					action = "REJECT"
				}
				line = fmt.Sprintf("2 %s eni-%017x 10.%d.%d.%d 172.31.%d.%d %d %d %d %d %d %d %d %s OK\n", benchAccount, eni,
					rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(65536),
					[]int{22, 443, 500, 4500, 5432}[rng.IntN(5)], []int{6, 17, 50}[rng.IntN(3)],
					1+rng.IntN(5000), 40+rng.IntN(10_000_000), s, s+int64(rng.IntN(60)), action)
			}
			n, _ := w.WriteString(line)
			written += int64(n)
		}
		total += written
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		gz.Close()
		f.Close()
	}
	os.WriteFile(sizeFile, []byte(fmt.Sprint(total)), 0o644)
	return dir, keys, total
}

// BenchmarkS3Objects measures the S3 path's throughput in MB/s of
// decompressed records: objects fetched (here from a bundle), gunzipped,
// parsed and aggregated on every core, partial aggregations merged.
func BenchmarkS3Objects(b *testing.B) {
	dir, keys, total := benchBundle(b)
	b.Logf("objects under %s (%d objects, %d MB decompressed)", dir, len(keys), total>>20)
	bd, err := bundle.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	var ifaces []audit.Interface
	for i := range 10 { // a quarter of the ENIs are on the path
		ifaces = append(ifaces, audit.Interface{ID: fmt.Sprintf("eni-%017x", i), Addresses: []string{fmt.Sprintf("10.0.0.%d", i)}})
	}
	scope := audit.Scope{
		Tunnels:      []audit.Tunnel{{OutsideIP: "3.121.204.17"}, {OutsideIP: "18.156.91.230"}},
		CustomerSide: []string{"10.0.0.0/8"}, AWSSide: []string{"172.31.0.0/16"},
	}
	day := time.Date(2026, 11, 3, 20, 0, 0, 0, time.UTC)
	objs := s3Objects{bucket: "bench", keys: keys}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		k := &collector{c: Clients{S3: bd.S3()}, tally: map[[2]string]int{}, flowInterfaces: ifaces,
			ev: &audit.Evidence{Scope: scope, Window: audit.Window{Start: day, End: day.Add(4 * time.Hour)}}}
		t, failed, err := k.readObjects(context.Background(), objs, flowlog.DefaultFormat, []string{ifaces[0].ID}, "fl-0bench")
		if err != nil || failed != "" || t.Records == 0 || t.MalformedCount != 0 {
			b.Fatalf("%d records, %d malformed, %q, %v", t.Records, t.MalformedCount, failed, err)
		}
	}
}
