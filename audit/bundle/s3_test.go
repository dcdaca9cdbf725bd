package bundle

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
)

// s3Bundle writes files (path → content) into a new bundle directory.
func s3Bundle(t *testing.T, files map[string]string) *Bundle {
	t.Helper()
	dir := t.TempDir()
	files["sts/GetCallerIdentity.json"] = `{"Account": "111122223333"}`
	for p, c := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const flowKey = "AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/111122223333_vpcflowlogs_eu-central-1_fl-0abc_20261103T2155Z_1a2b3c4d.log.gz"

func TestS3ListObjectsV2(t *testing.T) {
	b := s3Bundle(t, map[string]string{
		"s3/flow-logs/vpc/" + flowKey:                                                 "12345",
		"s3/flow-logs/vpc/AWSLogs/other.log":                                          "1",
		"s3/flow-logs/vpc/AWSLogs/x/a.log.gz":                                         "12",
		"s3/other-bucket/vpc/" + flowKey:                                              "123",
		"s3/111122223333_vpcflowlogs_eu-central-1_fl-0def_20261103T2200Z_ffff.log.gz": "123456",
		"s3/notes.txt": "n",
	})
	type obj struct {
		Key  string
		Size int64
	}
	loose := "111122223333_vpcflowlogs_eu-central-1_fl-0def_20261103T2200Z_ffff.log.gz"
	tests := []struct {
		name          string
		in            s3.ListObjectsV2Input
		want          []obj
		wantTruncated bool
		wantNext      string
	}{
		{"a day's folder, with the loose object placed in it",
			s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/")},
			[]obj{{"vpc/" + flowKey, 5}, {"vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/" + loose, 6}}, false, ""},
		{"an hour's folder in the Hive layout holds only the loose object",
			s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=03/hour=22/")},
			[]obj{{"AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-central-1/year=2026/month=11/day=03/hour=22/" + loose, 6}}, false, ""},
		{"another day: nothing",
			s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/04/")},
			nil, false, ""},
		{"pages of MaxKeys, in key order",
			s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("vpc/AWSLogs/"), MaxKeys: aws.Int32(2)},
			[]obj{{"vpc/" + flowKey, 5}, {"vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/" + loose, 6}}, true,
			"vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/" + loose},
		{"the next page",
			s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("vpc/AWSLogs/"), MaxKeys: aws.Int32(2),
				ContinuationToken: aws.String("vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/" + loose)},
			[]obj{{"vpc/AWSLogs/other.log", 1}, {"vpc/AWSLogs/x/a.log.gz", 2}}, false, ""},
		{"StartAfter",
			s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("vpc/AWSLogs/o"), StartAfter: aws.String("vpc/AWSLogs/a")},
			[]obj{{"vpc/AWSLogs/other.log", 1}}, false, ""},
		{"other buckets' objects are not listed",
			s3.ListObjectsV2Input{Bucket: aws.String("other-bucket"), Prefix: aws.String("vpc/AWSLogs/111122223333/vpcflowlogs/")},
			[]obj{{"vpc/" + flowKey, 3}, {"vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/" + loose, 6}}, false, ""},
		{"a loose object with another name is its own key",
			s3.ListObjectsV2Input{Bucket: aws.String("any"), Prefix: aws.String("no")},
			[]obj{{"notes.txt", 1}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := b.S3().ListObjectsV2(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []obj
			for _, o := range out.Contents {
				got = append(got, obj{aws.ToString(o.Key), aws.ToInt64(o.Size)})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if aws.ToBool(out.IsTruncated) != tt.wantTruncated || aws.ToString(out.NextContinuationToken) != tt.wantNext {
				t.Errorf("IsTruncated %v, NextContinuationToken %q; want %v, %q", aws.ToBool(out.IsTruncated), aws.ToString(out.NextContinuationToken), tt.wantTruncated, tt.wantNext)
			}
			if int(aws.ToInt32(out.KeyCount)) != len(got) {
				t.Errorf("KeyCount %d for %d objects", aws.ToInt32(out.KeyCount), len(got))
			}
		})
	}
}

func TestS3ListObjectsV2Recorded(t *testing.T) {
	// A recorded listing answers the same page, objects or not.
	b := s3Bundle(t, map[string]string{
		"s3/ListObjectsV2-000.json": `{"Input": {"Bucket": "flow-logs", "Prefix": "p/"},
			"Output": {"Contents": [{"Key": "p/a.log.gz", "Size": 5000000000}], "IsTruncated": true, "NextContinuationToken": "tok"}}`,
		"s3/ListObjectsV2-001.json": `{"Input": {"Bucket": "flow-logs", "Prefix": "p/", "ContinuationToken": "tok"},
			"Output": {"Contents": [{"Key": "p/b.log.gz", "Size": 7}], "IsTruncated": false}}`,
	})
	var keys []string
	p := s3.NewListObjectsV2Paginator(b.S3(), &s3.ListObjectsV2Input{Bucket: aws.String("flow-logs"), Prefix: aws.String("p/")})
	var size int64
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
			size += aws.ToInt64(o.Size)
		}
	}
	if diff := cmp.Diff([]string{"p/a.log.gz", "p/b.log.gz"}, keys); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if size != 5000000007 {
		t.Errorf("size %d, want 5000000007", size)
	}
	// The listing files are calls, not objects.
	if _, err := b.S3().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("flow-logs"), Key: aws.String("ListObjectsV2-000.json")}); err == nil {
		t.Error("a recorded listing was served as an object")
	}
}

func TestS3GetObject(t *testing.T) {
	b := s3Bundle(t, map[string]string{
		"s3/flow-logs/vpc/" + flowKey: "in its bucket",
		"s3/111122223333_vpcflowlogs_eu-central-1_fl-0def_20261103T2200Z_ffff.log.gz": "loose",
	})
	tests := []struct {
		name, bucket, key string
		want              string
		wantErr           bool
	}{
		{"by bucket and key", "flow-logs", "vpc/" + flowKey, "in its bucket", false},
		{"a loose object by its name, under any key", "flow-logs", "vpc/AWSLogs/111122223333/vpcflowlogs/eu-central-1/2026/11/03/111122223333_vpcflowlogs_eu-central-1_fl-0def_20261103T2200Z_ffff.log.gz", "loose", false},
		{"another bucket's key", "other", "vpc/" + flowKey, "", true},
		{"no such key", "flow-logs", "vpc/none.log.gz", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := b.S3().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(tt.bucket), Key: aws.String(tt.key)})
			if tt.wantErr {
				var nsk *s3types.NoSuchKey
				if !errors.As(err, &nsk) {
					t.Fatalf("err = %v, want NoSuchKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			raw, err := io.ReadAll(out.Body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(raw)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if aws.ToInt64(out.ContentLength) != int64(len(tt.want)) {
				t.Errorf("ContentLength %d, want %d", aws.ToInt64(out.ContentLength), len(tt.want))
			}
		})
	}
}

func TestS3NotInBundle(t *testing.T) {
	b := s3Bundle(t, map[string]string{})
	_, err := b.S3().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("b")})
	if !IsNotInBundle(err) {
		t.Fatalf("err = %v, want a NotInBundleError", err)
	}
	if want := "the bundle has no s3/ directory of delivered objects: the bundle has no s3/ListObjectsV2*.json"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}
