package bundle

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
)

// Athena queries in a bundle: athena/StartQueryExecution*.json,
// athena/GetQueryExecution*.json and athena/GetQueryResults*.json, each
// {"Input": …, "Output": …} as the AWS CLI writes them.
//
//   - StartQueryExecution answers the file whose Input.QueryString is the
//     query asked (compared with runs of white space as one space).
//   - GetQueryExecution answers the files whose Input.QueryExecutionId is
//     the one asked, in file order, one per call, repeating the last: a
//     recorded poll (QUEUED, RUNNING, SUCCEEDED) replays as it happened.
//     Once they run out on a state that is not final (QUEUED, RUNNING: the
//     recording run was interrupted) the call fails with a
//     NotInBundleError, rather than the collector polling forever.
//   - GetQueryResults answers the file whose Input has the
//     QueryExecutionId and NextToken asked (no NextToken: the first page).
func init() {
	operations["athena"] = []string{"StartQueryExecution", "GetQueryExecution", "GetQueryResults"}
}

// Athena answers the Athena calls of push-down from a bundle.
type Athena struct {
	b *Bundle

	mu    sync.Mutex
	polls map[string]int // QueryExecutionId → GetQueryExecution calls so far
}

// Athena returns the bundle's Athena client.
func (b *Bundle) Athena() *Athena { return &Athena{b: b, polls: map[string]int{}} }

// Replaying tells the collector that answers come from a recording, so
// it polls the recorded states without waiting between them.
func (c *Athena) Replaying() bool { return true }

// normalizeQuery makes queries that differ only in white space equal.
func normalizeQuery(q string) string { return strings.Join(strings.Fields(q), " ") }

// StartQueryExecution returns the recorded execution of the same query.
func (c *Athena) StartQueryExecution(ctx context.Context, in *athena.StartQueryExecutionInput, _ ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, rs, err := outputs[athena.StartQueryExecutionOutput](c.b, "athena", "StartQueryExecution")
	if err != nil {
		return nil, err
	}
	want := normalizeQuery(aws.ToString(in.QueryString))
	for i, r := range rs {
		var rin athena.StartQueryExecutionInput
		if err := decodeInput(r, &rin); err != nil {
			return nil, err
		}
		if normalizeQuery(aws.ToString(rin.QueryString)) == want {
			return outs[i], nil
		}
	}
	return nil, fmt.Errorf("the bundle has no athena/StartQueryExecution*.json for this query (%d recorded queries differ): %w",
		len(rs), &NotInBundleError{Service: "athena", Operation: "StartQueryExecution"})
}

// GetQueryExecution returns the recorded states of the execution in turn.
func (c *Athena) GetQueryExecution(ctx context.Context, in *athena.GetQueryExecutionInput, _ ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, rs, err := outputs[athena.GetQueryExecutionOutput](c.b, "athena", "GetQueryExecution")
	if err != nil {
		return nil, err
	}
	id := aws.ToString(in.QueryExecutionId)
	var mine []*athena.GetQueryExecutionOutput
	for i, r := range rs {
		var rin athena.GetQueryExecutionInput
		if err := decodeInput(r, &rin); err != nil {
			return nil, err
		}
		recorded := aws.ToString(rin.QueryExecutionId)
		if recorded == "" && outs[i].QueryExecution != nil {
			recorded = aws.ToString(outs[i].QueryExecution.QueryExecutionId) // a bare --output json dump
		}
		if recorded == id {
			mine = append(mine, outs[i])
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("the bundle has no athena/GetQueryExecution*.json for query execution %s: %w",
			id, &NotInBundleError{Service: "athena", Operation: "GetQueryExecution"})
	}
	c.mu.Lock()
	n := c.polls[id]
	c.polls[id] = n + 1
	c.mu.Unlock()
	out := mine[min(n, len(mine)-1)]
	if n >= len(mine) {
		// Answering the last poll again would have the collector poll
		// forever unless its state is final: else the recording run was
		// interrupted.
		var state athenatypes.QueryExecutionState
		if out.QueryExecution != nil && out.QueryExecution.Status != nil {
			state = out.QueryExecution.Status.State
		}
		switch state {
		case athenatypes.QueryExecutionStateSucceeded, athenatypes.QueryExecutionStateFailed, athenatypes.QueryExecutionStateCancelled:
		default:
			return nil, &noRecording{msg: fmt.Sprintf("the recording ends while Athena query execution %s was %s (the recording run was stopped before it finished)",
				display(id), display(string(state))), op: "GetQueryExecution", service: "athena"}
		}
	}
	return out, nil
}

// GetQueryResults returns the recorded page of the execution's results.
func (c *Athena) GetQueryResults(ctx context.Context, in *athena.GetQueryResultsInput, _ ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, rs, err := outputs[athena.GetQueryResultsOutput](c.b, "athena", "GetQueryResults")
	if err != nil {
		return nil, err
	}
	id, token := aws.ToString(in.QueryExecutionId), aws.ToString(in.NextToken)
	for i, r := range rs {
		var rin athena.GetQueryResultsInput
		if err := decodeInput(r, &rin); err != nil {
			return nil, err
		}
		if aws.ToString(rin.QueryExecutionId) == id && aws.ToString(rin.NextToken) == token {
			return outs[i], nil
		}
	}
	what := "first page"
	if token != "" {
		what = fmt.Sprintf("page %q", token)
	}
	return nil, fmt.Errorf("the bundle has no athena/GetQueryResults*.json with the %s of query execution %s: %w",
		what, id, &NotInBundleError{Service: "athena", Operation: "GetQueryResults"})
}
