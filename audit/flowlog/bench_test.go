package flowlog_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

func BenchmarkParse(b *testing.B) {
	v5 := mustFormat(b, elasticV5All)
	tests := []struct {
		name   string
		format flowlog.Format
		line   string
	}{
		{"v2", flowlog.DefaultFormat, "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"},
		{"v2-nodata", flowlog.DefaultFormat, "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"},
		{"v2-ipv6", flowlog.DefaultFormat, "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"},
		{"v5", v5, "5 64111117617 eni-069xxxxxb7a490 89.160.20.156 10.200.0.0 50041 33004 17 52 1 164000066 1640000297 REJECT OK vpc-09676f97xxxxxb8a7 subnet-02d645xxxxxxxdbc0 i-0axxxxxx1ad77 1 IPv4 89.160.20.156 10.200.0.80 us-east-1 use1-az5 - - AMAZON CLOUDFRONT ingress 1"},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			line := []byte(tt.line)
			p := flowlog.NewParser(tt.format)
			var rec flowlog.Record
			b.SetBytes(int64(len(line) + 1)) // +1 for the newline it had in a file
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Parse(line, &rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchInput returns about size bytes of default-format records with varied
// values, 1 in 50 of them NODATA.
func benchInput(size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	for buf.Len() < size {
		start := 1700000000 + rng.IntN(86400)
		if rng.IntN(50) == 0 {
			fmt.Fprintf(&buf, "2 123456789010 eni-%017x - - - - - - - %d %d - NODATA\n", rng.Uint64()>>4, start, start+60)
			continue
		}
		action := "ACCEPT"
		if rng.IntN(10) == 0 {
			action = "REJECT"
		}
		fmt.Fprintf(&buf, "2 123456789010 eni-%017x 10.%d.%d.%d 172.31.%d.%d %d %d %d %d %d %d %d %s OK\n",
			rng.Uint64()>>4, rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256), rng.IntN(256),
			rng.IntN(65536), []int{22, 443, 500, 4500, 3389}[rng.IntN(5)], []int{6, 17, 1, 50}[rng.IntN(4)],
			1+rng.IntN(5000), 40+rng.IntN(10_000_000), start, start+rng.IntN(60), action)
	}
	return buf.Bytes()
}

func BenchmarkReader(b *testing.B) {
	data := benchInput(4 << 20)
	inputs := []struct {
		name string
		data []byte
	}{
		{"plain", data},
		{"gzip", gz(b, string(data))},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(data))) // uncompressed bytes
			b.ReportAllocs()
			for b.Loop() {
				rd := flowlog.NewReader(bytes.NewReader(in.data), flowlog.ReaderOptions{})
				n := 0
				for rd.Next() {
					n++
				}
				if rd.Err() != nil || rd.Stats().Malformed != 0 || n == 0 {
					b.Fatalf("%d records, %v, %d malformed", n, rd.Err(), rd.Stats().Malformed)
				}
			}
		})
	}
}

func BenchmarkConvert(b *testing.B) {
	data := benchInput(4 << 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := flowlog.Convert([]flowlog.Input{{Name: "bench", Reader: bytes.NewReader(data)}}, nil, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
