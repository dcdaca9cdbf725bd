package bundle

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// The CloudWatch Logs operations of push-down to Logs Insights: a bundle
// may hold logs/StartQuery*.json, logs/GetQueryResults*.json and
// logs/DescribeLogGroups*.json.
func init() {
	operations["logs"] = append(operations["logs"], "StartQuery", "GetQueryResults", "DescribeLogGroups")
}

// Insights answers Logs Insights calls (and DescribeLogGroups) from a
// bundle. A live run polls GetQueryResults until the query finishes and the
// recorder writes every answer, so a replay serves a query's recordings in
// file order, one per call (the last one again once they run out, unless
// its status is not final: then the recording was interrupted and the call
// fails with a NotInBundleError): the replayed run makes the same calls and
// reads the same statuses.
// StartQuery is matched by log group(s), time range and query string
// (whitespace aside), GetQueryResults by queryId. It is safe for concurrent
// use.
type Insights struct {
	b *Bundle

	mu     sync.Mutex
	served map[string]int
	// The recordings, indexed once by their keys.
	starts, looseStarts, results map[string][]record
}

// indexStarts indexes the StartQuery recordings by startKey and looseKey.
func (c *Insights) indexStarts() (exact, loose map[string][]record, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.starts != nil {
		return c.starts, c.looseStarts, nil
	}
	rs, err := c.b.records("logs", "StartQuery")
	if err != nil {
		return nil, nil, err
	}
	exact, loose = map[string][]record{}, map[string][]record{}
	for _, r := range rs {
		var in cloudwatchlogs.StartQueryInput
		if err := decodeInput(r, &in); err != nil {
			return nil, nil, err
		}
		exact[startKey(&in)] = append(exact[startKey(&in)], r)
		loose[looseKey(&in)] = append(loose[looseKey(&in)], r)
	}
	c.starts, c.looseStarts = exact, loose
	return exact, loose, nil
}

// indexResults indexes the GetQueryResults recordings by query ID and
// next token.
func (c *Insights) indexResults() (map[string][]record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.results != nil {
		return c.results, nil
	}
	rs, err := c.b.records("logs", "GetQueryResults")
	if err != nil {
		return nil, err
	}
	idx := map[string][]record{}
	for _, r := range rs {
		var in cloudwatchlogs.GetQueryResultsInput
		if err := decodeInput(r, &in); err != nil {
			return nil, err
		}
		idx[resultsKey(&in)] = append(idx[resultsKey(&in)], r)
	}
	c.results = idx
	return idx, nil
}

func resultsKey(in *cloudwatchlogs.GetQueryResultsInput) string {
	return aws.ToString(in.QueryId) + "\x00" + aws.ToString(in.NextToken)
}

// Insights returns the bundle's Logs Insights client. Each client serves
// the recordings from the start.
func (b *Bundle) Insights() *Insights { return &Insights{b: b, served: map[string]int{}} }

// Replaying tells the collector that answers come from a recording, so
// polling need not wait between calls.
func (c *Insights) Replaying() bool { return true }

// nth returns the recording to serve for the n-th call of key, and
// whether the recordings had run out (it is the last one again).
func (c *Insights) nth(key string, rs []record) (r record, again bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.served[key]
	c.served[key] = n + 1
	return rs[min(n, len(rs)-1)], n >= len(rs)
}

// noRecording is a call the bundle has files for, none of them this one's
// (or a recording that ends too early): a NotInBundleError that says which
// call.
type noRecording struct {
	msg string
	op  string
	// service is the operation's; "logs" when empty.
	service string
}

func (e *noRecording) Error() string { return e.msg }
func (e *noRecording) Unwrap() error {
	svc := e.service
	if svc == "" {
		svc = "logs"
	}
	return &NotInBundleError{Service: svc, Operation: e.op}
}

// startKey identifies a StartQuery call: its log groups, time range and
// query string with runs of white space folded.
func startKey(in *cloudwatchlogs.StartQueryInput) string {
	return fmt.Sprintf("%s|%d|%d|%s", strings.Join(groupsOf(in), ","), aws.ToInt64(in.StartTime), aws.ToInt64(in.EndTime),
		strings.Join(strings.Fields(aws.ToString(in.QueryString)), " "))
}

// looseKey is startKey with the query's words sorted: quoted strings,
// names and numbers, and each punctuation mark.
func looseKey(in *cloudwatchlogs.StartQueryInput) string {
	words := queryWord.FindAllString(aws.ToString(in.QueryString), -1)
	sort.Strings(words)
	return fmt.Sprintf("%s|%d|%d|%s", strings.Join(groupsOf(in), ","), aws.ToInt64(in.StartTime), aws.ToInt64(in.EndTime), strings.Join(words, "\x00"))
}

var queryWord = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|[\w@.*/:-]+|[^\s\w]`)

// groupsOf returns the names of the log groups a StartQuery asks about,
// sorted.
func groupsOf(in *cloudwatchlogs.StartQueryInput) []string {
	var groups []string
	if g := aws.ToString(in.LogGroupName); g != "" {
		groups = append(groups, g)
	}
	groups = append(groups, in.LogGroupNames...)
	for _, g := range in.LogGroupIdentifiers {
		groups = append(groups, groupName("", g))
	}
	sort.Strings(groups)
	return slices.Compact(groups)
}

// StartQuery returns the recorded query ID of the same query.
func (c *Insights) StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error) {
	exact, loose, err := c.indexStarts()
	if err != nil {
		return nil, err
	}
	// Exactly the same query first; else the same words in any order: a
	// redacted bundle maps addresses without keeping their order, so the
	// lists of a query generated from it come in another order than the
	// recorded one's.
	want := startKey(in)
	match := exact[want]
	if len(match) == 0 {
		want = looseKey(in)
		match = loose[want]
	}
	if len(match) == 0 {
		return nil, &noRecording{msg: fmt.Sprintf("the bundle records no StartQuery of this query over %s from %s to %s", display(strings.Join(groupsOf(in), ", ")),
			time.Unix(aws.ToInt64(in.StartTime), 0).UTC().Format(time.RFC3339), time.Unix(aws.ToInt64(in.EndTime), 0).UTC().Format(time.RFC3339)), op: "StartQuery"}
	}
	r, _ := c.nth("start "+want, match)
	out := new(cloudwatchlogs.StartQueryOutput)
	if err := decodeRecordOutput(r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetQueryResults returns the query's next recorded answer.
func (c *Insights) GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error) {
	idx, err := c.indexResults()
	if err != nil {
		return nil, err
	}
	id := aws.ToString(in.QueryId)
	match := idx[resultsKey(in)]
	if len(match) == 0 {
		return nil, &noRecording{msg: fmt.Sprintf("the bundle records no GetQueryResults of query %s", display(id)), op: "GetQueryResults"}
	}
	r, again := c.nth("results "+resultsKey(in), match)
	out := new(cloudwatchlogs.GetQueryResultsOutput)
	if err := decodeRecordOutput(r, out); err != nil {
		return nil, err
	}
	if again && !insightsFinal(out.Status) {
		// Answering the last poll again would have the collector poll
		// forever: the recording run was interrupted.
		return nil, &noRecording{msg: fmt.Sprintf("the recording ends while Logs Insights query %s was %s (the recording run was stopped before it finished)",
			display(id), display(string(out.Status))), op: "GetQueryResults"}
	}
	return out, nil
}

// insightsFinal reports whether a Logs Insights query status is final:
// polling it again would not change it.
func insightsFinal(s cwltypes.QueryStatus) bool {
	switch s {
	case cwltypes.QueryStatusComplete, cwltypes.QueryStatusFailed, cwltypes.QueryStatusCancelled, cwltypes.QueryStatusTimeout:
		return true
	}
	return false
}

// DescribeLogGroups lists the recorded log groups by name, filtered by
// logGroupNamePrefix, logGroupNamePattern (a case-insensitive substring) or
// logGroupIdentifiers, in pages of limit (default and maximum 50).
func (c *Insights) DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	outs, _, err := outputs[cloudwatchlogs.DescribeLogGroupsOutput](c.b, "logs", "DescribeLogGroups")
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, g := range in.LogGroupIdentifiers {
		ids = append(ids, groupName("", g))
	}
	seen := map[string]bool{}
	var groups []cwltypes.LogGroup
	for _, o := range outs {
		for _, g := range o.LogGroups {
			name := aws.ToString(g.LogGroupName)
			switch {
			case seen[name],
				in.LogGroupNamePrefix != nil && !strings.HasPrefix(name, *in.LogGroupNamePrefix),
				in.LogGroupNamePattern != nil && !strings.Contains(strings.ToLower(name), strings.ToLower(*in.LogGroupNamePattern)),
				len(ids) > 0 && !slices.Contains(ids, name):
				continue
			}
			seen[name] = true
			groups = append(groups, g)
		}
	}
	sort.Slice(groups, func(i, j int) bool {
		return aws.ToString(groups[i].LogGroupName) < aws.ToString(groups[j].LogGroupName)
	})
	page, next, err := paginate(groups, in.NextToken, int(aws.ToInt32(in.Limit)), 50, 50)
	if err != nil {
		return nil, fmt.Errorf("InvalidParameterException: %w", err)
	}
	return &cloudwatchlogs.DescribeLogGroupsOutput{LogGroups: page, NextToken: next}, nil
}

// decodeRecordOutput decodes a record's Output into v.
func decodeRecordOutput(r record, v any) error {
	return decodeValue(reflect.ValueOf(v).Elem(), r.output, r.file+": Output")
}
