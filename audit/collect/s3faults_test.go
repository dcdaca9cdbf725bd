package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/audit/bundle"
	"github.com/vpnaudit/vpnaudit/internal/testenv"
)

// faultyS3 answers from a bundle's replay client and injects the faults a
// live S3 connection can have: an object whose body breaks off part way
// (the SDK has returned by then, so it does not retry), an object that
// cannot be fetched at all, listings cut into pages whose continuation
// token repeats.
type faultyS3 struct {
	S3API
	// breakKey's body fails after half its bytes with breakErr, the first
	// breaks times it is fetched (-1: every time).
	breakKey string
	breakErr error
	breaks   int
	// missingKey's GetObject fails as a deleted object's does.
	missingKey string
	// pageSize > 0 cuts listings into pages of that many objects; the page
	// at repeatAt (from 1) returns the token of the page before it.
	pageSize, repeatAt int
	// noObjects lists nothing.
	noObjects bool

	mu      sync.Mutex
	fetched map[string]int
	open    map[string]bool // a body of the key is not closed yet
	overlap []string        // keys fetched again before their body was closed
}

func (f *faultyS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if f.noObjects {
		return &s3.ListObjectsV2Output{Name: in.Bucket, Prefix: in.Prefix}, nil
	}
	if f.pageSize == 0 {
		return f.S3API.ListObjectsV2(ctx, in, opts...)
	}
	all := *in
	all.ContinuationToken = nil
	out, err := f.S3API.ListObjectsV2(ctx, &all, opts...)
	if err != nil || len(out.Contents) <= f.pageSize {
		return out, err
	}
	page := 1
	if t := aws.ToString(in.ContinuationToken); t != "" {
		page, _ = strconv.Atoi(t)
	}
	lo := min((page-1)*f.pageSize, len(out.Contents))
	hi := min(lo+f.pageSize, len(out.Contents))
	res := *out
	res.Contents, res.NextContinuationToken = out.Contents[lo:hi], nil
	res.KeyCount, res.IsTruncated = aws.Int32(int32(hi-lo)), aws.Bool(hi < len(out.Contents))
	if hi < len(out.Contents) {
		next := page + 1
		if page == f.repeatAt {
			next = page // the token of this page again
		}
		res.NextContinuationToken = aws.String(strconv.Itoa(next))
	}
	return &res, nil
}

func (f *faultyS3) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	f.mu.Lock()
	f.fetched[key]++
	n := f.fetched[key]
	if f.open[key] {
		f.overlap = append(f.overlap, key)
	}
	f.mu.Unlock()
	if key == f.missingKey {
		return nil, errors.New("NoSuchKey: The specified key does not exist.")
	}
	out, err := f.S3API.GetObject(ctx, in, opts...)
	if err != nil {
		return out, err
	}
	raw, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return nil, err
	}
	var r io.Reader = strings.NewReader(string(raw))
	if key == f.breakKey && (f.breaks < 0 || n <= f.breaks) {
		r = io.MultiReader(strings.NewReader(string(raw[:len(raw)/2])), errReader{f.breakErr})
	}
	f.mu.Lock()
	f.open[key] = true
	f.mu.Unlock()
	out.Body = &trackedBody{Reader: r, close: func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.open[key] = false
	}}
	return out, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type trackedBody struct {
	io.Reader
	close func()
}

func (b *trackedBody) Close() error { b.close(); return nil }

// collectS3 runs the collector over the bundle in dir with its S3 client
// wrapped in f.
func collectS3(t *testing.T, dir string, f *faultyS3) *audit.Evidence {
	t.Helper()
	b, err := bundle.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := BundleClients(b)
	f.S3API, f.fetched, f.open = c.S3, map[string]int{}, map[string]bool{}
	c.S3 = f
	ev, err := Collect(context.Background(), c, Options{Alarm: "VPN-Down", Now: b.Manifest.RecordedAt, Region: b.Manifest.Region,
		Account: b.Manifest.AccountId, PushDown: PushDownNever})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// biggestObject is the key of the largest object of the bundle in dir.
func biggestObject(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(dir, "s3", s3Bucket)
	var key string
	var size int64
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Size() > size {
			rel, _ := filepath.Rel(root, p)
			key, size = filepath.ToSlash(rel), fi.Size()
		}
		return nil
	})
	if key == "" {
		t.Fatal("the bundle holds no object")
	}
	return key
}

// An object whose body breaks off is fetched again, its partial records
// discarded: broken once, the run gives the traffic of a clean read;
// broken every time, the object is named as not read after 3 attempts and
// the traffic is that of a run without it (what the replay of a recorded
// run, which keeps only objects read to the end, gives). The body is
// closed before the object is fetched again, so a recorder settles it
// first.
func TestS3ObjectBreaksOff(t *testing.T) {
	dir := toS3Bundle(t, testenv.Fixture(t, "lab-console-stop"), true)
	key := biggestObject(t, dir)
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	clean := collectS3(t, dir, &faultyS3{})
	without := collectS3(t, dir, &faultyS3{missingKey: key})
	if cmp.Equal(clean.Traffic, without.Traffic) {
		t.Fatalf("%s holds no record that counts: the test would prove nothing", key)
	}
	tests := []struct {
		name        string
		err         error
		breaks      int
		want        *audit.Evidence
		wantFetched int
		wantStatus  string
		wantDetail  string
	}{
		{"connection reset once", reset, 1, clean, 2, audit.CoverageOK, ""},
		{"cut short twice", io.ErrUnexpectedEOF, 2, clean, 3, audit.CoverageOK, ""},
		{"connection reset every time", reset, -1, without, objectAttempts, audit.CoveragePartial,
			"1 of 34 objects could not be read (first: " + key + ": broke off after line "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &faultyS3{breakKey: key, breakErr: tt.err, breaks: tt.breaks}
			got := collectS3(t, dir, f)
			if diff := cmp.Diff(tt.want.Traffic, got.Traffic); diff != "" {
				t.Errorf("traffic (-want +got):\n%s", diff)
			}
			if f.fetched[key] != tt.wantFetched {
				t.Errorf("%s fetched %d times, want %d", key, f.fetched[key], tt.wantFetched)
			}
			if len(f.overlap) > 0 {
				t.Errorf("fetched again before the body was closed: %v", f.overlap)
			}
			cov := coverageOf(got, "flow-logs")
			if cov.Status != tt.wantStatus || !strings.Contains(cov.Detail, tt.wantDetail) {
				t.Errorf("coverage %s, want %s with %q:\n%s", cov.Status, tt.wantStatus, tt.wantDetail, cov.Detail)
			}
			if tt.breaks < 0 && !strings.Contains(cov.Detail, fmt.Sprintf("(%d attempts)", objectAttempts)) {
				t.Errorf("coverage does not say how often the object was tried:\n%s", cov.Detail)
			}
		})
	}
}

// A flow log with no object delivered for the window is not read: its
// ENIs are not covered and the coverage says where nothing was found.
func TestS3FlowLogNoObject(t *testing.T) {
	dir := toS3Bundle(t, testenv.Fixture(t, "lab-console-stop"), true)
	got := collectS3(t, dir, &faultyS3{noObjects: true})
	for _, fl := range got.Traffic.FlowLogs {
		if fl.Read || fl.ReadBy != "" {
			t.Errorf("%s counted as read (%q)", fl.ID, fl.ReadBy)
		}
	}
	cov := coverageOf(got, "flow-logs")
	want := "fl-06dcb34173cf09939: no object delivered to s3://" + s3Bucket + "/" + s3Prefix +
		"/AWSLogs/444455556666/vpcflowlogs/eu-central-1/ for the window (check the prefix, the account, or delivery lag)"
	if cov.Status == audit.CoverageOK || !strings.Contains(cov.Detail, want) {
		t.Errorf("coverage %s, want not ok with %q:\n%s", cov.Status, want, cov.Detail)
	}
	if got.Traffic.Records != 0 {
		t.Errorf("%d records", got.Traffic.Records)
	}
}

// A listing whose continuation token repeats is stopped there: the objects
// listed so far are read and the coverage is partial.
func TestS3ListingTokenRepeats(t *testing.T) {
	dir := toS3Bundle(t, testenv.Fixture(t, "lab-console-stop"), true)
	clean := collectS3(t, dir, &faultyS3{})
	f := &faultyS3{pageSize: 10, repeatAt: 2}
	got := collectS3(t, dir, f)
	var keys []string
	for k := range f.fetched {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 2*10 { // the two pages before the token repeats
		t.Errorf("%d objects read, want 20: %v", len(keys), keys)
	}
	read := 0
	for _, fl := range got.Traffic.FlowLogs {
		if fl.Read {
			read++
		}
	}
	if read == 0 || got.Traffic.Records == 0 || got.Traffic.Records >= clean.Traffic.Records {
		t.Errorf("%d flow logs read, %d records (%d in a full listing)", read, got.Traffic.Records, clean.Traffic.Records)
	}
	cov := coverageOf(got, "flow-logs")
	want := "S3 ListObjectsV2 returned the pagination token it returned before (page 2): stopping; the results so far are used"
	if cov.Status != audit.CoveragePartial || !strings.Contains(cov.Detail, want) {
		t.Errorf("coverage %s, want partial with %q:\n%s", cov.Status, want, cov.Detail)
	}
}

// repagedAthena re-pages an Athena's results 10 rows at a time, the
// token of the page before coming back at repeatAt (from 1).
type repagedAthena struct {
	AthenaAPI
	repeatAt int
	pages    int
}

func (a *repagedAthena) GetQueryResults(ctx context.Context, in *athena.GetQueryResultsInput, opts ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error) {
	var all []athenatypes.Row
	inner := &athena.GetQueryResultsInput{QueryExecutionId: in.QueryExecutionId}
	for {
		out, err := a.AthenaAPI.GetQueryResults(ctx, inner, opts...)
		if err != nil {
			return nil, err
		}
		all = append(all, out.ResultSet.Rows...)
		if out.NextToken == nil {
			break
		}
		inner.NextToken = out.NextToken
	}
	page := 1
	if t := aws.ToString(in.NextToken); t != "" {
		page, _ = strconv.Atoi(t)
	}
	a.pages++
	lo := min((page-1)*10, len(all))
	hi := min(lo+10, len(all))
	out := &athena.GetQueryResultsOutput{ResultSet: &athenatypes.ResultSet{Rows: all[lo:hi]}}
	if hi < len(all) {
		next := page + 1
		if page == a.repeatAt {
			next = page
		}
		out.NextToken = aws.String(strconv.Itoa(next))
	}
	return out, nil
}

// Athena's result pages whose token repeats are stopped there: the rows
// read so far make the traffic, and the coverage is partial.
func TestAthenaResultsTokenRepeats(t *testing.T) {
	dir := toS3Bundle(t, testenv.Fixture(t, "lab-console-stop"), true)
	run := func(repeatAt int) (*audit.Evidence, *repagedAthena) {
		b, err := bundle.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		c := BundleClients(b)
		scope := collectBundle(t, dir, "VPN-Down", Options{PushDown: PushDownNever}).Scope
		a := &repagedAthena{AthenaAPI: &evalAthena{t: t, dir: dir, scope: scope, results: map[string][][]string{}, polls: map[string]int{}}, repeatAt: repeatAt}
		c.Athena = a
		ev, err := Collect(context.Background(), c, Options{Alarm: "VPN-Down", Now: b.Manifest.RecordedAt, Region: b.Manifest.Region,
			Account: b.Manifest.AccountId, PushDown: PushDownAlways, Athena: athenaOptions})
		if err != nil {
			t.Fatal(err)
		}
		return ev, a
	}
	full, _ := run(0)
	got, a := run(2)
	if a.pages == 0 {
		t.Fatal("no result page was read")
	}
	if got.Traffic.Records == 0 || got.Traffic.Records >= full.Traffic.Records {
		t.Errorf("%d records, want some but fewer than the full result's %d", got.Traffic.Records, full.Traffic.Records)
		t.Logf("coverage: %s", coverageOf(got, "flow-logs").Detail)
	}
	for _, fl := range got.Traffic.FlowLogs {
		if !fl.Read || fl.ReadBy != "athena:StartQueryExecution" {
			t.Errorf("%s read %v by %q", fl.ID, fl.Read, fl.ReadBy)
		}
	}
	cov := coverageOf(got, "flow-logs")
	want := "Athena GetQueryResults returned the pagination token it returned before (page 2): stopping; the results so far are used"
	if cov.Status != audit.CoveragePartial || !strings.Contains(cov.Detail, want) {
		t.Errorf("coverage %s, want partial with %q:\n%s", cov.Status, want, cov.Detail)
	}
}

// pagedAthena answers one succeeded query with fixed result pages: page i
// (from 0) holds rows[i] and the token tokens[i].
type pagedAthena struct {
	rows   [][]string
	tokens []string
}

func (a *pagedAthena) StartQueryExecution(context.Context, *athena.StartQueryExecutionInput, ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error) {
	return &athena.StartQueryExecutionOutput{QueryExecutionId: aws.String("q-1")}, nil
}

func (a *pagedAthena) GetQueryExecution(context.Context, *athena.GetQueryExecutionInput, ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error) {
	return &athena.GetQueryExecutionOutput{QueryExecution: &athenatypes.QueryExecution{
		Status: &athenatypes.QueryExecutionStatus{State: athenatypes.QueryExecutionStateSucceeded}}}, nil
}

func (a *pagedAthena) GetQueryResults(_ context.Context, in *athena.GetQueryResultsInput, _ ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error) {
	page := 0
	if t := aws.ToString(in.NextToken); t != "" {
		page, _ = strconv.Atoi(strings.TrimPrefix(t, "t"))
	}
	out := &athena.GetQueryResultsOutput{ResultSet: &athenatypes.ResultSet{}}
	for _, v := range a.rows[page] {
		out.ResultSet.Rows = append(out.ResultSet.Rows, athenatypes.Row{Data: []athenatypes.Datum{{VarCharValue: aws.String(v)}}})
	}
	if a.tokens[page] != "" {
		out.NextToken = aws.String(a.tokens[page])
	}
	return out, nil
}

// runQuery keeps the rows of the pages read when a token repeats, whether
// it returns them or hands them to a callback page by page.
func TestRunQueryTokenRepeats(t *testing.T) {
	a := &pagedAthena{
		rows:   [][]string{{"header", "r1", "r2"}, {"r3"}, {"r4", "r5"}},
		tokens: []string{"t1", "t2", "t1"}, // page 3 points back at page 2
	}
	want := [][]string{{"r1"}, {"r2"}, {"r3"}, {"r4"}, {"r5"}}
	for _, paged := range []bool{false, true} {
		t.Run(fmt.Sprintf("paged=%v", paged), func(t *testing.T) {
			k := &collector{c: Clients{Athena: a}, o: Options{Athena: athenaOptions}, tally: map[[2]string]int{}}
			var handed [][]string
			var each func([][]string) error
			if paged {
				each = func(rows [][]string) error { handed = append(handed, rows...); return nil }
			}
			rows, _, err := k.runQuery(context.Background(), "flow-logs", "SELECT 1", each)
			var pe *PagingError
			if !errors.As(err, &pe) || pe.Page != 3 {
				t.Fatalf("err = %v, want a PagingError on page 3", err)
			}
			got := rows
			if paged {
				got = handed
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}
