package collect

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// Flow logs delivered to S3.
//
// AWS writes a flow log's records as objects named
// ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_YYYYMMDDTHHmmZ_HASH.log.gz under
// [PREFIX/]AWSLogs/ACCOUNT/vpcflowlogs/REGION/YYYY/MM/DD/ (with an HH/
// folder when partitioned per hour, and key=value folders when the
// prefixes are Hive-compatible), one object per flow log every 5 minutes
// (sooner at 75 MB), each starting with a header line naming the fields.
//
// vpnaudit lists only the day (or hour) folders that can hold the window,
// keeps the objects of the flow log whose delivery time (in the name) lies
// within [window start - 5m, window end + interval + 15m] — records arrive
// late — and then either reads them here (readObjects: every core
// decompresses, parses and aggregates whole objects, each object into its
// own partial aggregation, merged in key order so the result does not
// depend on scheduling) or, when the volume is large, hands the
// aggregation to Athena (athena.go). Records starting outside the window
// are dropped, as FilterLogEvents drops them on the CloudWatch Logs path.

// objectLateness is how long after a record's start its object may be
// delivered, beyond the aggregation interval.
const objectLateness = 15 * time.Minute

// autoPushDownBytes is the listed (compressed) size of a flow log's objects
// for the window above which --push-down auto hands the aggregation to
// Athena: about 5 to 10 GB of records, a minute or more to download and
// read here.
var autoPushDownBytes int64 = 1 << 30

// s3Objects are one flow log's objects for the window.
type s3Objects struct {
	bucket string
	// root is the folder the flow log delivers to in bucket (the
	// destination's prefix, AWSLogs, account, service and region), named
	// when no object is found.
	root  string
	keys  []string
	bytes int64 // their listed sizes, summed
}

// s3Read is what reading one S3-destination flow log produced.
type s3Read struct {
	traffic audit.Traffic
	// notes go into the coverage detail; problems make the coverage partial.
	notes, problems []string
	// readBy names the call the records came through (audit.FlowLog.ReadBy).
	readBy string
	// unread says nothing was read although there was no error: no object
	// was delivered for the window. The flow log is not counted as read.
	unread bool
}

// readS3 reads one S3-destination flow log for the window, here or with
// Athena. An error means nothing could be read.
func (k *collector) readS3(ctx context.Context, fl ec2types.FlowLog, info audit.FlowLog, enis []string) (s3Read, error) {
	var res s3Read
	if k.c.S3 == nil {
		return res, errors.New("S3 is not available to this run")
	}
	format, err := flowlog.DefaultFormat, error(nil)
	if info.Format != "" {
		if format, err = flowlog.ParseFormat(info.Format); err != nil {
			return res, fmt.Errorf("a LogFormat vpnaudit cannot read: %w", err)
		}
	}
	var hive, perHour, parquet bool
	if o := fl.DestinationOptions; o != nil {
		hive, perHour = aws.ToBool(o.HiveCompatiblePartitions), aws.ToBool(o.PerHourPartition)
		parquet = o.FileFormat == ec2types.DestinationFileFormatParquet
	}
	objs, err := k.listFlowObjects(ctx, info, hive, perHour)
	if err != nil {
		if !isPaging(err) {
			return res, err
		}
		// The listing was stopped: the objects listed so far are read.
		res.problems = append(res.problems, info.ID+": "+why(err))
	}
	noObject := func() (s3Read, error) {
		res.unread = true
		res.problems = append(res.problems, fmt.Sprintf("%s: no object delivered to s3://%s/%s for the window (check the prefix, the account, or delivery lag)", info.ID, objs.bucket, objs.root))
		return res, nil
	}
	athenaReady := k.c.Athena != nil && k.o.Athena.Database != "" && k.o.Athena.FlowTable != ""
	large := objs.bytes > autoPushDownBytes
	push := k.o.PushDown == PushDownAlways || k.o.PushDown != PushDownNever && (large || parquet)
	volume := fmt.Sprintf("%s in %d objects", mb(objs.bytes), len(objs.keys))
	if push && athenaReady {
		if len(objs.keys) == 0 && !parquet && k.o.PushDown != PushDownAlways {
			return noObject()
		}
		t, scanned, err := k.athenaFlows(ctx, info, format, enis)
		if err == nil || isPaging(err) {
			res.traffic, res.readBy = t, "athena:StartQueryExecution"
			if err != nil { // the result pages read are used
				res.problems = append(res.problems, info.ID+": "+why(err))
			}
			res.notes = append(res.notes, fmt.Sprintf("%s: pushed down to Athena (%s listed; Athena scanned %s)", info.ID, volume, mb(scanned)))
			return res, nil
		}
		if parquet {
			return res, fmt.Errorf("the Athena query failed: %s", why(err))
		}
		res.problems = append(res.problems, fmt.Sprintf("%s: the Athena push-down failed (%s), so its %s were read here", info.ID, why(err), volume))
	} else if parquet {
		return res, errors.New("it delivers Parquet objects, which vpnaudit reads only through Athena: set --athena-database and --athena-flow-table (see Push-down in the README)")
	} else if push || large {
		res.notes = append(res.notes, fmt.Sprintf("%s: %s read here; Athena is not configured (--athena-database, --athena-flow-table) to push this down", info.ID, volume))
	}
	if len(objs.keys) == 0 {
		return noObject()
	}
	t, failed, err := k.readObjects(ctx, objs, format, enis, info.ID)
	if err != nil {
		return res, err
	}
	res.traffic, res.readBy = t, "s3:GetObject"
	if failed != "" {
		res.problems = append(res.problems, info.ID+": "+failed)
	}
	res.notes = append(res.notes, fmt.Sprintf("%s: %s read from s3://%s", info.ID, volume, objs.bucket))
	return res, nil
}

// mb writes a byte count for people.
func mb(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// s3Location splits an S3 destination ARN (arn:aws:s3:::BUCKET[/PREFIX])
// into the bucket and the key prefix ("" or ending in "/").
func s3Location(arn string) (bucket, prefix string, err error) {
	i := strings.Index(arn, ":s3:::")
	if i < 0 {
		return "", "", fmt.Errorf("%q is not an S3 bucket ARN", arn)
	}
	bucket, prefix, _ = strings.Cut(arn[i+len(":s3:::"):], "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q names no bucket", arn)
	}
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// flowPrefixes are the folders that can hold objects delivered between
// from and to.
func flowPrefixes(base, account, region string, from, to time.Time, hive, perHour bool) []string {
	step := 24 * time.Hour
	if perHour {
		step = time.Hour
	}
	root := flowRoot(base, account, region, hive)
	var out []string
	for t := from.UTC().Truncate(step); !t.After(to); t = t.Add(step) {
		var p string
		if hive {
			p = fmt.Sprintf("%syear=%04d/month=%02d/day=%02d/", root, t.Year(), t.Month(), t.Day())
			if perHour {
				p += fmt.Sprintf("hour=%02d/", t.Hour())
			}
		} else {
			p = fmt.Sprintf("%s%04d/%02d/%02d/", root, t.Year(), t.Month(), t.Day())
			if perHour {
				p += fmt.Sprintf("%02d/", t.Hour())
			}
		}
		out = append(out, p)
	}
	return out
}

// flowRoot is the folder under which a flow log delivers its dated
// folders: [PREFIX/]AWSLogs/ACCOUNT/vpcflowlogs/REGION/, or its
// Hive-compatible form.
func flowRoot(base, account, region string, hive bool) string {
	if hive {
		return fmt.Sprintf("%sAWSLogs/aws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/", base, account, region)
	}
	return fmt.Sprintf("%sAWSLogs/%s/vpcflowlogs/%s/", base, account, region)
}

// objectTime returns the flow-log ID and delivery time an object's name
// gives (ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_YYYYMMDDTHHmmZ_HASH.log.gz).
func objectTime(key string) (flowLog string, t time.Time, ok bool) {
	parts := strings.Split(path.Base(key), "_")
	if len(parts) != 6 || parts[1] != "vpcflowlogs" {
		return "", time.Time{}, false
	}
	t, err := time.Parse("20060102T1504Z", parts[4])
	if err != nil {
		return "", time.Time{}, false
	}
	return parts[3], t, true
}

// listFlowObjects lists the flow log's objects that can hold records of
// the window. When a folder's listing had to be stopped (a *PagingError),
// the other folders are still listed, and the objects listed are returned
// with the first such error.
func (k *collector) listFlowObjects(ctx context.Context, info audit.FlowLog, hive, perHour bool) (s3Objects, error) {
	bucket, base, err := s3Location(info.Destination)
	if err != nil {
		return s3Objects{}, err
	}
	objs := s3Objects{bucket: bucket, root: base}
	if k.ev.Account == "" || k.ev.Region == "" {
		return objs, errors.New("the account or region is unknown, so the objects' folder is too")
	}
	objs.root = flowRoot(base, k.ev.Account, k.ev.Region, hive)
	var stopped error
	w := k.ev.Window
	interval := time.Duration(info.Interval) * time.Second
	from, to := w.Start.Add(-5*time.Minute), w.End.Add(interval+objectLateness)
	for _, prefix := range flowPrefixes(base, k.ev.Account, k.ev.Region, from, to, hive, perHour) {
		p := s3.NewListObjectsV2Paginator(k.c.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
		guard := newPageGuard("S3", "ListObjectsV2")
		for p.HasMorePages() {
			k.call("s3", "ListObjectsV2")
			out, err := p.NextPage(ctx)
			if err != nil {
				return objs, s3Error(err, "s3:ListBucket on "+bucket)
			}
			for _, o := range out.Contents {
				key := aws.ToString(o.Key)
				id, t, ok := objectTime(key)
				if !ok || id != info.ID || t.Before(from) || t.After(to) {
					continue
				}
				objs.keys = append(objs.keys, key)
				objs.bytes += aws.ToInt64(o.Size)
			}
			if err := guard.check(len(out.Contents), out.NextContinuationToken); err != nil {
				if stopped == nil {
					stopped = err
				}
				break // this page's objects are kept
			}
		}
	}
	sort.Strings(objs.keys)
	return objs, stopped
}

// s3Error names the IAM permission an access denial lacks: S3's actions
// are not named like its operations (ListObjectsV2 needs s3:ListBucket).
func s3Error(err error, permission string) error {
	if strings.Contains(why(err), "access denied") {
		return fmt.Errorf("access denied: the credentials lack %s (add it to the policy in the README)", permission)
	}
	return err
}

// readObjects reads, parses and aggregates the objects on every core. It
// returns the merged traffic and, when some objects could not be fetched,
// a sentence saying so; it fails only when none could.
func (k *collector) readObjects(ctx context.Context, objs s3Objects, format flowlog.Format, enis []string, flowLogID string) (audit.Traffic, string, error) {
	parts := make([]audit.Traffic, len(objs.keys))
	errs := make([]error, len(objs.keys))
	var next, done atomic.Int64
	workers := min(runtime.GOMAXPROCS(0), len(objs.keys))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(objs.keys) {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[i] = err
					continue
				}
				parts[i], errs[i] = k.readObject(ctx, objs.bucket, objs.keys[i], format, enis, flowLogID)
				k.progress("flow-logs", "%s: %d/%d objects", flowLogID, done.Add(1), len(objs.keys))
			}
		}()
	}
	wg.Wait()
	var ok []audit.Traffic
	var first error
	firstKey, failed := "", 0
	for i, err := range errs {
		if err != nil {
			if first == nil {
				first, firstKey = err, objs.keys[i]
			}
			failed++
			continue
		}
		ok = append(ok, parts[i])
	}
	if len(ok) == 0 && first != nil {
		return audit.Traffic{}, "", first
	}
	t := mergeTraffic(audit.Traffic{}, ok...)
	if failed > 0 {
		return t, fmt.Sprintf("%d of %d objects could not be read (first: %s: %s)", failed, len(objs.keys), firstKey, why(first)), nil
	}
	return t, "", nil
}

// objectAttempts bounds how many times one object is fetched when its
// body cannot be read to the end. The SDK retries GetObject only until the
// response starts: a connection reset or a short read while the body
// streams reaches vpnaudit, which discards what it aggregated of the
// object and fetches it again. After objectAttempts the object is reported
// as not read and none of its records are used — as in the replay of a
// recorded run, which keeps only objects read to the end.
const objectAttempts = 3

// bodyError is an object's body failing while it is read (a connection
// cut, a short read, a stream that does not decompress), as opposed to
// lines that do not parse, which are counted as malformed records.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// retryRead reports whether fetching the object again may read it: its
// body failed, and not because the run was stopped or because the bytes
// S3 holds do not decompress (the same bytes would come again).
func retryRead(err error) bool {
	var be *bodyError
	if !errors.As(err, &be) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var corrupt flate.CorruptInputError
	return !errors.As(err, &corrupt) && !errors.Is(err, gzip.ErrChecksum) && !errors.Is(err, gzip.ErrHeader)
}

// readObject reads one object into its own aggregation, fetching it again
// (up to objectAttempts in all) when its body fails part way.
func (k *collector) readObject(ctx context.Context, bucket, key string, format flowlog.Format, enis []string, flowLogID string) (audit.Traffic, error) {
	for attempt := 1; ; attempt++ {
		t, err := k.readObjectOnce(ctx, bucket, key, format, enis, flowLogID)
		if err == nil {
			return t, nil
		}
		if !retryRead(err) || ctx.Err() != nil {
			return audit.Traffic{}, err
		}
		if attempt == objectAttempts {
			return audit.Traffic{}, fmt.Errorf("%w (%d attempts)", err, attempt)
		}
		k.progress("flow-logs", "%s: s3://%s/%s broke off (%s): fetching it again", flowLogID, bucket, key, why(err))
	}
}

// readObjectOnce fetches one object and aggregates all of it, or returns
// the error that stopped it (a *bodyError when its body failed). The body
// is closed before it returns, so a recorder has settled the object before
// it is fetched again.
func (k *collector) readObjectOnce(ctx context.Context, bucket, key string, format flowlog.Format, enis []string, flowLogID string) (audit.Traffic, error) {
	k.call("s3", "GetObject")
	out, err := k.c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return audit.Traffic{}, s3Error(err, "s3:GetObject on "+bucket)
	}
	defer out.Body.Close()
	agg := audit.NewFlowAggregator(k.ev.Scope, k.flowInterfaces)
	for _, e := range enis {
		agg.SetFlowLog(e, flowLogID)
	}
	interest := make(map[string]bool, len(k.flowInterfaces))
	for _, i := range k.flowInterfaces {
		interest[i.ID] = true
	}
	where := "s3://" + bucket + "/" + key
	unrelated, err := aggregateObject(out.Body, format, k.ev.Window, agg, interest, where)
	if err != nil {
		return audit.Traffic{}, err
	}
	t := agg.Traffic()
	t.Records += unrelated
	t.Unrelated += unrelated
	return t, nil
}

// aggregateObject parses one delivered object (gzipped or not, header
// line first) into agg, keeping the records that start within w. Lines
// that do not parse are malformed records; a body that cannot be read to
// its end (a read or decompression error) is returned as a *bodyError,
// and agg then holds only part of the object.
//
// When interest is given (the aggregator's interfaces), records of other
// interfaces are only counted, and returned as unrelated, without going
// through agg: most of a VPC's records are not on the path, and the
// aggregator would make a string of each one's interface ID.
func aggregateObject(body io.Reader, format flowlog.Format, w audit.Window, agg *audit.FlowAggregator, interest map[string]bool, where string) (unrelated int64, err error) {
	r := flowlog.NewReader(body, flowlog.ReaderOptions{
		Format:    format,
		MaxErrors: 1, // the aggregator keeps them
		OnMalformed: func(e flowlog.LineError) {
			agg.Malformed(fmt.Sprintf("%s line %d", where, e.Line), e.Err.Error())
		},
	})
	// FilterLogEvents keeps events whose millisecond timestamp (the
	// record's start) lies within the window, both ends included.
	lo, hi := (w.Start.UnixMilli()+999)/1000, w.End.UnixMilli()/1000
	var cur flowlog.Format
	idx, known := -1, false
	for r.Next() {
		rec := r.Record()
		if start, ok := rec.Start(); ok && (start.Unix() < lo || start.Unix() > hi) {
			continue
		}
		if interest != nil {
			if f := rec.Format(); !known || !f.Equal(cur) { // a header line may change it
				cur, idx, known = f, f.Index("interface-id"), true
			}
			if idx >= 0 {
				if v, _ := rec.Value(idx); !interest[string(v)] {
					unrelated++
					continue
				}
			}
		}
		agg.Add(rec, "")
	}
	if err := r.Err(); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return unrelated, err
		}
		return unrelated, &bodyError{fmt.Errorf("broke off after line %d: %w", r.Line(), err)}
	}
	return unrelated, nil
}

// maxMalformedKept matches the aggregator's bound on kept malformed records.
const maxMalformedKept = 100

// mergeTraffic adds the partial aggregations parts to t, as if one
// aggregator had seen all their records: counts and buckets are summed,
// interface activity widened, NODATA/SKIPDATA windows joined when they
// touch within a minute. With no parts t is returned as it is.
func mergeTraffic(t audit.Traffic, parts ...audit.Traffic) audit.Traffic {
	if len(parts) == 0 {
		return t
	}
	series := map[audit.FlowKey]map[int64]*audit.FlowBucket{}
	ifaces := map[string]*audit.InterfaceActivity{}
	var keys []audit.FlowKey
	var names []string
	add := func(p audit.Traffic) {
		for _, s := range p.Series {
			bs := series[s.Key]
			if bs == nil {
				bs = map[int64]*audit.FlowBucket{}
				series[s.Key] = bs
				keys = append(keys, s.Key)
			}
			for _, b := range s.Buckets {
				have := bs[b.Start.Unix()]
				if have == nil {
					b := b
					bs[b.Start.Unix()] = &b
					continue
				}
				have.Records += b.Records
				have.Packets += b.Packets
				have.Bytes += b.Bytes
				if b.LastEnd.After(have.LastEnd) {
					have.LastEnd = b.LastEnd
				}
			}
		}
		for _, a := range p.Interfaces {
			have := ifaces[a.Interface]
			if have == nil {
				a := a
				a.NoData = append([]audit.Window(nil), a.NoData...)
				a.SkipData = append([]audit.Window(nil), a.SkipData...)
				ifaces[a.Interface] = &a
				names = append(names, a.Interface)
				continue
			}
			if have.FlowLog == "" {
				have.FlowLog = a.FlowLog
			}
			have.Records += a.Records
			if !a.First.IsZero() && (have.First.IsZero() || a.First.Before(have.First)) {
				have.First = a.First
			}
			if a.Last.After(have.Last) {
				have.Last = a.Last
			}
			have.NoData = joinWindows(have.NoData, a.NoData)
			have.SkipData = joinWindows(have.SkipData, a.SkipData)
		}
		t.Records += p.Records
		t.NoData += p.NoData
		t.SkipData += p.SkipData
		t.Unrelated += p.Unrelated
		t.MalformedCount += p.MalformedCount
		for _, m := range p.Malformed {
			if len(t.Malformed) < maxMalformedKept {
				t.Malformed = append(t.Malformed, m)
			}
		}
	}
	base := t
	t.Records, t.NoData, t.SkipData, t.Unrelated, t.MalformedCount, t.Malformed = 0, 0, 0, 0, 0, nil
	add(base)
	for _, p := range parts {
		add(p)
	}
	t.Series = nil
	for _, k := range keys {
		s := audit.FlowSeries{Key: k}
		for _, b := range series[k] {
			s.Buckets = append(s.Buckets, *b)
		}
		sort.Slice(s.Buckets, func(i, j int) bool { return s.Buckets[i].Start.Before(s.Buckets[j].Start) })
		t.Series = append(t.Series, s)
	}
	sort.Slice(t.Series, func(i, j int) bool { return audit.LessFlowKey(t.Series[i].Key, t.Series[j].Key) })
	t.Interfaces = nil
	sort.Strings(names)
	for _, n := range names {
		t.Interfaces = append(t.Interfaces, *ifaces[n])
	}
	return t
}

// joinWindows merges two sorted window lists, joining windows that touch
// or overlap within a minute (the aggregator's rule).
func joinWindows(a, b []audit.Window) []audit.Window {
	if len(b) == 0 {
		return a
	}
	all := append(append([]audit.Window(nil), a...), b...)
	sort.Slice(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	out := all[:1]
	for _, w := range all[1:] {
		last := &out[len(out)-1]
		if !w.Start.After(last.End.Add(time.Minute)) {
			if w.End.After(last.End) {
				last.End = w.End
			}
			continue
		}
		out = append(out, w)
	}
	return out
}
