package bundle

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// CloudWatch answers CloudWatch calls from a bundle.
type CloudWatch struct {
	b *Bundle

	mu      sync.Mutex
	metrics []metricFile // the GetMetricData files' queries, read once
}

// metricFile is one GetMetricData file's queries by Id (none for a bare
// dump, whose results cannot be told apart).
type metricFile struct {
	path, rel string
	queries   map[string]*cwtypes.MetricStat
}

// CloudWatch returns the bundle's CloudWatch client.
func (b *Bundle) CloudWatch() *CloudWatch { return &CloudWatch{b: b} }

// DescribeAlarms filters by AlarmNames, AlarmNamePrefix, StateValue and
// AlarmTypes, as the API does; everything is returned in one page.
func (c *CloudWatch) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, _, err := outputs[cloudwatch.DescribeAlarmsOutput](c.b, "cloudwatch", "DescribeAlarms")
	if err != nil {
		return nil, err
	}
	want := func(name string) bool {
		if len(in.AlarmNames) > 0 && !slices.Contains(in.AlarmNames, name) {
			return false
		}
		return in.AlarmNamePrefix == nil || strings.HasPrefix(name, *in.AlarmNamePrefix)
	}
	wantType := func(t cwtypes.AlarmType) bool {
		if len(in.AlarmTypes) == 0 {
			return t == cwtypes.AlarmTypeMetricAlarm
		}
		for _, x := range in.AlarmTypes {
			if x == t {
				return true
			}
		}
		return false
	}
	res := &cloudwatch.DescribeAlarmsOutput{}
	seen := map[string]bool{}
	for _, o := range outs {
		for _, a := range o.MetricAlarms {
			name := aws.ToString(a.AlarmName)
			if seen[name] || !want(name) || !wantType(cwtypes.AlarmTypeMetricAlarm) || (in.StateValue != "" && a.StateValue != in.StateValue) {
				continue
			}
			seen[name] = true
			res.MetricAlarms = append(res.MetricAlarms, a)
		}
		for _, a := range o.CompositeAlarms {
			name := aws.ToString(a.AlarmName)
			if seen[name] || !want(name) || !wantType(cwtypes.AlarmTypeCompositeAlarm) || (in.StateValue != "" && a.StateValue != in.StateValue) {
				continue
			}
			seen[name] = true
			res.CompositeAlarms = append(res.CompositeAlarms, a)
		}
	}
	return res, nil
}

// DescribeAlarmHistory filters by AlarmName, HistoryItemType and the
// inclusive StartDate/EndDate range, sorts by ScanBy (newest first by
// default) and pages by MaxRecords (default 100).
func (c *CloudWatch) DescribeAlarmHistory(ctx context.Context, in *cloudwatch.DescribeAlarmHistoryInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmHistoryOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, _, err := outputs[cloudwatch.DescribeAlarmHistoryOutput](c.b, "cloudwatch", "DescribeAlarmHistory")
	if err != nil {
		return nil, err
	}
	var items []cwtypes.AlarmHistoryItem
	seen := map[string]bool{}
	for _, o := range outs {
		for _, it := range o.AlarmHistoryItems {
			t := aws.ToTime(it.Timestamp)
			key := aws.ToString(it.AlarmName) + "|" + t.String() + "|" + string(it.HistoryItemType) + "|" + aws.ToString(it.HistorySummary)
			if seen[key] {
				continue
			}
			seen[key] = true
			if in.AlarmName != nil && aws.ToString(it.AlarmName) != *in.AlarmName {
				continue
			}
			if in.HistoryItemType != "" && it.HistoryItemType != in.HistoryItemType {
				continue
			}
			if in.StartDate != nil && t.Before(*in.StartDate) || in.EndDate != nil && t.After(*in.EndDate) {
				continue
			}
			items = append(items, it)
		}
	}
	asc := in.ScanBy == cwtypes.ScanByTimestampAscending
	sort.SliceStable(items, func(i, j int) bool {
		a, b := aws.ToTime(items[i].Timestamp), aws.ToTime(items[j].Timestamp)
		if asc {
			return a.Before(b)
		}
		return a.After(b)
	})
	page, next, err := paginate(items, in.NextToken, int(aws.ToInt32(in.MaxRecords)), 100, 100)
	if err != nil {
		return nil, err
	}
	return &cloudwatch.DescribeAlarmHistoryOutput{AlarmHistoryItems: page, NextToken: next}, nil
}

// recordedSeries is one metric's datapoints as found in the bundle.
type recordedSeries struct {
	stat   *cwtypes.MetricStat
	label  string
	points map[int64]float64
}

// GetMetricData answers each MetricStat query with the datapoints the
// bundle holds for the same metric (namespace, name, dimension set) and
// statistic, clipped to [StartTime, EndTime) and ordered by ScanBy (newest
// first by default). Metric math is not evaluated: such queries come back
// with StatusCode InternalError and a message.
func (c *CloudWatch) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil {
		return nil, fmt.Errorf("GetMetricData: StartTime and EndTime are required")
	}
	if len(in.MetricDataQueries) > 500 {
		return nil, fmt.Errorf("GetMetricData: %d queries; the API takes at most 500", len(in.MetricDataQueries))
	}
	recorded, err := c.recorded(ctx, in.MetricDataQueries)
	if err != nil {
		return nil, err
	}
	res := &cloudwatch.GetMetricDataOutput{}
	start, end := in.StartTime.UTC(), in.EndTime.UTC()
	for _, q := range in.MetricDataQueries {
		r := cwtypes.MetricDataResult{Id: q.Id, Label: q.Label, StatusCode: cwtypes.StatusCodeComplete}
		if q.MetricStat == nil {
			r.StatusCode = cwtypes.StatusCodeInternalError
			r.Messages = []cwtypes.MessageData{{Code: aws.String("Unsupported"), Value: aws.String("metric math is not evaluated when replaying a bundle")}}
			res.MetricDataResults = append(res.MetricDataResults, r)
			continue
		}
		if s := findSeries(recorded, q.MetricStat); s != nil {
			if r.Label == nil {
				r.Label = aws.String(s.label)
			}
			var ts []int64
			for t := range s.points {
				tt := time.Unix(t, 0)
				if !tt.Before(start) && tt.Before(end) {
					ts = append(ts, t)
				}
			}
			sort.Slice(ts, func(i, j int) bool {
				if in.ScanBy == cwtypes.ScanByTimestampAscending {
					return ts[i] < ts[j]
				}
				return ts[i] > ts[j]
			})
			for _, t := range ts {
				r.Timestamps = append(r.Timestamps, time.Unix(t, 0).UTC())
				r.Values = append(r.Values, s.points[t])
			}
		}
		if r.Label == nil && q.MetricStat.Metric != nil {
			r.Label = q.MetricStat.Metric.MetricName
		}
		res.MetricDataResults = append(res.MetricDataResults, r)
	}
	return res, nil
}

// metricFiles indexes the GetMetricData files by their queries, reading
// each file's Input only.
func (c *CloudWatch) metricFiles() ([]metricFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.metrics != nil {
		return c.metrics, nil
	}
	paths := c.b.files["cloudwatch/GetMetricData"]
	if len(paths) == 0 {
		return nil, c.b.failure("cloudwatch", "GetMetricData")
	}
	buf := bufPool.Get()
	defer func() { bufPool.Put(buf[:0]) }()
	files := make([]metricFile, 0, len(paths))
	for _, p := range paths {
		mf := metricFile{path: p, rel: c.b.rel(p), queries: map[string]*cwtypes.MetricStat{}}
		raw, err := readMember(p, "Input", buf)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", mf.rel, err)
		}
		if raw != nil {
			var in struct{ MetricDataQueries []cwtypes.MetricDataQuery }
			if err := decodeRaw(&in, raw, mf.rel+": Input"); err != nil {
				return nil, err
			}
			for _, q := range in.MetricDataQueries {
				mf.queries[aws.ToString(q.Id)] = q.MetricStat
			}
		}
		files = append(files, mf)
	}
	c.metrics = files
	return files, nil
}

// recorded returns the bundle's series of the metrics asked, in the order
// the files hold them, files merged. Only the results whose query matches
// one asked are decoded; a file holding none is not read past its Input.
func (c *CloudWatch) recorded(ctx context.Context, asked []cwtypes.MetricDataQuery) ([]*recordedSeries, error) {
	files, err := c.metricFiles()
	if err != nil {
		return nil, err
	}
	buf := bufPool.Get()
	defer func() { bufPool.Put(buf[:0]) }()
	var recorded []*recordedSeries
	for _, mf := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want := map[string]bool{}
		for id, st := range mf.queries {
			for _, q := range asked {
				if st != nil && sameMetricStat(st, q.MetricStat) {
					want[id] = true
					break
				}
			}
		}
		if len(want) == 0 {
			continue
		}
		var id []byte
		reset := func() { id = nil }
		member := func(name, val []byte) bool {
			if equalFold(name, "id") {
				if id, _ = plainString(val); !utf8.Valid(id) {
					id = nil // the decoder's reading decides
				}
			}
			return true
		}
		err := eachElement(mf.path, "MetricDataResults", buf, reset, member, func(i int, raw []byte) error {
			if id != nil && !want[string(id)] {
				return nil
			}
			var r cwtypes.MetricDataResult
			if err := decodeRaw(&r, raw, fmt.Sprintf("%s: Output.MetricDataResults[%d]", mf.rel, i)); err != nil {
				return err
			}
			st := mf.queries[aws.ToString(r.Id)]
			if st == nil || !want[aws.ToString(r.Id)] {
				return nil // a result whose query the file does not say, or not asked
			}
			s := findExact(recorded, st)
			if s == nil {
				s = &recordedSeries{stat: st, label: aws.ToString(r.Label), points: map[int64]float64{}}
				recorded = append(recorded, s)
			}
			for j, t := range r.Timestamps {
				if j < len(r.Values) {
					s.points[t.Unix()] = r.Values[j]
				}
			}
			return nil
		})
		if err != nil {
			if strings.HasPrefix(err.Error(), mf.rel+":") {
				return nil, err
			}
			return nil, fmt.Errorf("read %s: %w", mf.rel, err)
		}
	}
	return recorded, nil
}

// readMember returns the raw value of the file's top-level member name,
// skipping the members before it without holding them; nil when absent.
func readMember(path, name string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := newJSONStream(f, buf)
	if err := s.expect('{'); err != nil {
		return nil, err
	}
	for {
		more, err := s.next('}')
		if err != nil || !more {
			return nil, err
		}
		key, err := s.key()
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(key, name) {
			v, err := s.value()
			if err != nil {
				return nil, err
			}
			return append([]byte(nil), v...), nil
		}
		if err := s.skip(); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
}

// findSeries returns the recorded series of the same metric and statistic,
// at the asked period when the bundle has it, else at the period it has.
func findSeries(rs []*recordedSeries, st *cwtypes.MetricStat) *recordedSeries {
	var any *recordedSeries
	for _, r := range rs {
		if sameMetricStat(r.stat, st) {
			if aws.ToInt32(r.stat.Period) == aws.ToInt32(st.Period) {
				return r
			}
			if any == nil {
				any = r
			}
		}
	}
	return any
}

// findExact returns the recorded series of the same metric, statistic and
// period, for merging the files of one series.
func findExact(rs []*recordedSeries, st *cwtypes.MetricStat) *recordedSeries {
	for _, r := range rs {
		if sameMetricStat(r.stat, st) && aws.ToInt32(r.stat.Period) == aws.ToInt32(st.Period) {
			return r
		}
	}
	return nil
}

// sameMetricStat compares metric identity and statistic (not the period).
func sameMetricStat(a, b *cwtypes.MetricStat) bool {
	if a == nil || b == nil || a.Metric == nil || b.Metric == nil {
		return false
	}
	if aws.ToString(a.Stat) != aws.ToString(b.Stat) ||
		aws.ToString(a.Metric.Namespace) != aws.ToString(b.Metric.Namespace) ||
		aws.ToString(a.Metric.MetricName) != aws.ToString(b.Metric.MetricName) ||
		len(a.Metric.Dimensions) != len(b.Metric.Dimensions) {
		return false
	}
	for _, d := range a.Metric.Dimensions {
		found := false
		for _, e := range b.Metric.Dimensions {
			if aws.ToString(d.Name) == aws.ToString(e.Name) && aws.ToString(d.Value) == aws.ToString(e.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
