package bundle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 objects in a bundle.
//
// The object s3://BUCKET/KEY is the file s3/BUCKET/KEY, byte for byte as
// delivered (a flow log's .log.gz stays gzipped): that is what --record
// writes. A file placed directly under s3/, without a bucket directory, is
// an object of every bucket, matched by its file name: a name in the form
// AWS gives flow-log objects
// (ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_YYYYMMDDTHHmmZ_HASH.log.gz) is
// listed under the key that delivery would have given it, in whichever of
// the four layouts (plain or Hive-compatible prefixes, daily or hourly) the
// listing's prefix asks for (plain daily when it does not say), under
// whatever bucket prefix it asks for; any other name is the key itself.

// A recorded run also writes its listings, s3/ListObjectsV2*.json: those
// files are calls, not objects, and a listing asked again is answered from
// them when one matches (bucket, prefix, continuation token, start-after),
// so a replay sees the objects and sizes the live run saw even for objects
// it never read (push-down reads none).
func init() {
	operations["s3"] = []string{"ListObjectsV2"}
}

// s3MaxKeys is ListObjectsV2's page size limit (and default).
const s3MaxKeys = 1000

// S3 answers ListObjectsV2 and GetObject from the bundle's s3/ directory.
type S3 struct {
	b *Bundle

	once    sync.Once
	err     error
	objects map[string]map[string]s3Object // bucket → key → object
	loose   []looseObject                  // files directly under s3/
}

type s3Object struct {
	path string
	size int64
}

// looseObject is a file directly under s3/, and what its name says when it
// is a flow-log object's name.
type looseObject struct {
	s3Object
	name string
	// flowLog is the flow log's ID when name is a flow-log object's name;
	// the other fields are then what the name says.
	flowLog, account, region string
	year, month, day, hour   string
}

// S3 returns the bundle's S3 client.
func (b *Bundle) S3() *S3 { return &S3{b: b} }

// flowObjectName matches the name AWS gives a flow-log object:
// ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_YYYYMMDDTHHmmZ_HASH.log[.gz].
var flowObjectName = regexp.MustCompile(`^(\d{12})_vpcflowlogs_([a-z0-9-]+)_(fl-[0-9a-f]+)_(\d{4})(\d{2})(\d{2})T(\d{2})\d{2}Z_[0-9a-zA-Z]+\.log(?:\.gz)?$`)

// index walks s3/ once. Symlinks are not followed.
func (c *S3) index() error {
	c.once.Do(func() {
		root := filepath.Join(c.b.Dir, "s3")
		c.objects = map[string]map[string]s3Object{}
		if _, err := os.Stat(root); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				c.err = fmt.Errorf("read %s: %w", root, err)
			}
			return
		}
		c.err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			obj := s3Object{path: p, size: info.Size()}
			bucket, key, ok := strings.Cut(filepath.ToSlash(rel), "/")
			if !ok && strings.HasPrefix(bucket, "ListObjectsV2") && strings.HasSuffix(bucket, ".json") {
				return nil // a recorded listing
			}
			if !ok {
				c.loose = append(c.loose, newLoose(obj, bucket))
				return nil
			}
			if c.objects[bucket] == nil {
				c.objects[bucket] = map[string]s3Object{}
			}
			c.objects[bucket][key] = obj
			return nil
		})
		if c.err != nil {
			c.err = fmt.Errorf("read the bundle's s3/ directory: %w", c.err)
		}
	})
	return c.err
}

func newLoose(obj s3Object, name string) looseObject {
	l := looseObject{s3Object: obj, name: name}
	if m := flowObjectName.FindStringSubmatch(name); m != nil {
		l.account, l.region = m[1], m[2]
		l.year, l.month, l.day, l.hour = m[4], m[5], m[6], m[7]
		l.flowLog = m[3]
	}
	return l
}

// keys returns the keys a loose object may have under the listing prefix:
// its delivery keys in each layout (plain daily first), after the prefix's
// part before AWSLogs/.
func (l looseObject) keys(prefix string) []string {
	if l.flowLog == "" {
		return []string{l.name}
	}
	base := ""
	if i := strings.Index(prefix, "AWSLogs/"); i >= 0 {
		base = prefix[:i]
	}
	plain := fmt.Sprintf("%sAWSLogs/%s/vpcflowlogs/%s/%s/%s/%s/", base, l.account, l.region, l.year, l.month, l.day)
	hive := fmt.Sprintf("%sAWSLogs/aws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/year=%s/month=%s/day=%s/", base, l.account, l.region, l.year, l.month, l.day)
	return []string{
		plain + l.name,
		plain + l.hour + "/" + l.name,
		hive + l.name,
		hive + "hour=" + l.hour + "/" + l.name,
	}
}

// has reports whether the bundle holds any S3 object or listing.
func (c *S3) has() bool {
	return len(c.objects) > 0 || len(c.loose) > 0 || c.b.Has("s3", "ListObjectsV2")
}

// recordedListing returns the recorded page of the same listing, if any.
func (c *S3) recordedListing(in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
	if !c.b.Has("s3", "ListObjectsV2") {
		return nil, nil
	}
	outs, rs, err := outputs[s3.ListObjectsV2Output](c.b, "s3", "ListObjectsV2")
	if err != nil {
		return nil, err
	}
	for i, r := range rs {
		var rin s3.ListObjectsV2Input
		if err := decodeInput(r, &rin); err != nil {
			return nil, err
		}
		if aws.ToString(rin.Bucket) == aws.ToString(in.Bucket) && aws.ToString(rin.Prefix) == aws.ToString(in.Prefix) &&
			aws.ToString(rin.ContinuationToken) == aws.ToString(in.ContinuationToken) && aws.ToString(rin.StartAfter) == aws.ToString(in.StartAfter) {
			return outs[i], nil
		}
	}
	return nil, nil
}

// noObjects is the error for a bundle without s3/.
func (c *S3) noObjects(op string) error {
	if err := c.b.failure("s3", op); !IsNotInBundle(err) {
		return err
	}
	return fmt.Errorf("the bundle has no s3/ directory of delivered objects: %w", &NotInBundleError{Service: "s3", Operation: op})
}

// ListObjectsV2 answers a recorded listing of the same page when the
// bundle has one; otherwise it lists the objects of in.Bucket under
// in.Prefix in key order, in pages of MaxKeys (at most 1000) with continuation tokens, and
// honours StartAfter. Delimiter is not supported (vpnaudit lists whole
// prefixes).
func (c *S3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	if !c.has() {
		return nil, c.noObjects("ListObjectsV2")
	}
	bucket, prefix := aws.ToString(in.Bucket), aws.ToString(in.Prefix)
	if bucket == "" {
		return nil, errors.New("ListObjectsV2: Bucket is required")
	}
	if out, err := c.recordedListing(in); out != nil || err != nil {
		return out, err
	}
	sizes := map[string]int64{}
	for key, o := range c.objects[bucket] {
		if strings.HasPrefix(key, prefix) {
			sizes[key] = o.size
		}
	}
	for _, l := range c.loose {
		// The first layout the prefix allows: the one the listing asks for,
		// else the plain daily one.
		for _, key := range l.keys(prefix) {
			if strings.HasPrefix(key, prefix) {
				if _, dup := sizes[key]; !dup {
					sizes[key] = l.size
				}
				break
			}
		}
	}
	keys := make([]string, 0, len(sizes))
	after := aws.ToString(in.StartAfter)
	if t := aws.ToString(in.ContinuationToken); t != "" {
		after = t // tokens are the last key of the previous page
	}
	for k := range sizes {
		if k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	limit := s3MaxKeys
	if in.MaxKeys != nil && *in.MaxKeys >= 0 && *in.MaxKeys < s3MaxKeys {
		limit = int(*in.MaxKeys)
	}
	out := &s3.ListObjectsV2Output{Name: in.Bucket, Prefix: in.Prefix, MaxKeys: aws.Int32(int32(limit)),
		ContinuationToken: in.ContinuationToken, StartAfter: in.StartAfter, IsTruncated: aws.Bool(false)}
	if len(keys) > limit {
		keys = keys[:limit]
		out.IsTruncated = aws.Bool(true)
		out.NextContinuationToken = aws.String(keys[len(keys)-1])
	}
	for _, k := range keys {
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k), Size: aws.Int64(sizes[k]), StorageClass: s3types.ObjectStorageClassStandard})
	}
	out.KeyCount = aws.Int32(int32(len(out.Contents)))
	return out, nil
}

// GetObject opens the object's file: s3/BUCKET/KEY, else a file directly
// under s3/ named like the key's last element. The caller closes Body.
func (c *S3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	if !c.has() {
		return nil, c.noObjects("GetObject")
	}
	bucket, key := aws.ToString(in.Bucket), aws.ToString(in.Key)
	o, ok := c.objects[bucket][key]
	if !ok {
		for _, l := range c.loose {
			if l.name == path.Base(key) {
				o, ok = l.s3Object, true
				break
			}
		}
	}
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String(fmt.Sprintf("the bundle has no s3/%s/%s", bucket, key))}
	}
	f, err := os.Open(o.path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.b.rel(o.path), err)
	}
	return &s3.GetObjectOutput{Body: f, ContentLength: aws.Int64(o.size)}, nil
}
