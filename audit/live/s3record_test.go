package live_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/audit/live"
	"github.com/vpnaudit/vpnaudit/internal/mototest"
)

const s3Key = "vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/111122223333_vpcflowlogs_eu-central-1_fl-0abc_20261103T2155Z_1a2b3c4d.log.gz"

// s3Server answers path-style ListObjectsV2 and GetObject for one object.
func s3Server(t *testing.T, body []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/flow-logs" || r.URL.Path == "/flow-logs/":
			w.Header().Set("Content-Type", "application/xml")
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>flow-logs</Name><Prefix>vpc/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>
<Contents><Key>`+s3Key+`</Key><LastModified>2026-11-03T22:00:12.000Z</LastModified><ETag>"9b2cf535f27731c974343645a3985328"</ETag><Size>`+itoa(len(body))+`</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>`)
		case r.URL.Path == "/flow-logs/"+s3Key:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", itoa(len(body)))
			w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func itoa(n int) string { return strconv.Itoa(n) }

// A recorded run keeps each object it read, byte for byte, under
// s3/BUCKET/KEY, and its listings as s3/ListObjectsV2-NNN.json; the replay
// answers both as the live run saw them. An object not read to its end is
// not kept.
func TestRecordS3Objects(t *testing.T) {
	body := bytes.Repeat([]byte{0x1f, 0x8b, 0, 1, 2, 3, 0xff}, 40_000) // binary, larger than one read
	tests := []struct {
		name     string
		readAll  bool
		wantKept bool
	}{
		{"read to the end", true, true},
		{"closed early", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := s3Server(t, body)
			dir := filepath.Join(t.TempDir(), "bundle")
			rec, err := live.NewRecorder(dir)
			if err != nil {
				t.Fatal(err)
			}
			c := liveClients(t, srv.URL, live.Options{Recorder: rec})
			ctx := context.Background()
			list, err := c.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("vpc/")})
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("flow-logs"), Key: aws.String(s3Key)})
			if err != nil {
				t.Fatal(err)
			}
			if tt.readAll {
				got, err := io.ReadAll(out.Body)
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("live body: %d bytes, %v", len(got), err)
				}
			} else {
				io.ReadFull(out.Body, make([]byte, 100))
			}
			out.Body.Close()
			if err := rec.Close(mototest.Region, mototest.Account, testNow); err != nil {
				t.Fatal(err)
			}

			raw, err := os.ReadFile(filepath.Join(dir, "s3", "flow-logs", filepath.FromSlash(s3Key)))
			if kept := err == nil; kept != tt.wantKept {
				t.Fatalf("object kept: %v, want %v (%v)", kept, tt.wantKept, err)
			}
			if tt.wantKept && !bytes.Equal(raw, body) {
				t.Errorf("recorded object: %d bytes, not the %d delivered", len(raw), len(body))
			}
			if _, err := os.Stat(filepath.Join(dir, "s3", "GetObject-000.json")); err == nil {
				t.Error("GetObject was also recorded as JSON")
			}

			b, err := bundle.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			replayed, err := b.S3().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("vpc/")})
			if err != nil {
				t.Fatal(err)
			}
			keys := func(o *s3.ListObjectsV2Output) (out []string) {
				for _, c := range o.Contents {
					out = append(out, aws.ToString(c.Key)+" "+itoa(int(aws.ToInt64(c.Size))))
				}
				return out
			}
			if diff := cmp.Diff(keys(list), keys(replayed)); diff != "" {
				t.Errorf("replayed listing (-live +replay):\n%s", diff)
			}
			if tt.wantKept {
				obj, err := b.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("flow-logs"), Key: aws.String(s3Key)})
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(obj.Body)
				obj.Body.Close()
				if !bytes.Equal(got, body) {
					t.Errorf("replayed object: %d bytes, not the %d delivered", len(got), len(body))
				}
			}
		})
	}
}
