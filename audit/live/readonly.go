package live

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/smithy-go/middleware"
)

// readPrefixes are the operation-name prefixes of read calls. AWS names its
// APIs consistently: these never create, change or delete a resource.
var readPrefixes = []string{"Describe", "Get", "List", "Lookup", "Filter", "Search"}

// readExact are reads whose names do not say so: a Logs Insights query
// only reads log events; an Athena query execution reads data the account
// already holds (its results go to the workgroup's output location), and
// is let through only when its query is a single SELECT (checkAthenaQuery).
// They are tied to their service (SDK service ID): another service's
// StartQuery is not let through.
var readExact = map[[2]string]bool{{"CloudWatch Logs", "StartQuery"}: true, {"Athena", "StartQueryExecution"}: true}

// IsRead reports whether an operation is a read by its name alone, or one
// of the named reads of some service (see IsReadOf).
func IsRead(operation string) bool {
	for k := range readExact {
		if k[1] == operation {
			return true
		}
	}
	return readName(operation)
}

// IsReadOf reports whether service's operation is allowed to leave the
// process: what the read-only middleware asks.
func IsReadOf(service, operation string) bool {
	return readExact[[2]string{service, operation}] || readName(operation)
}

func readName(operation string) bool {
	for _, p := range readPrefixes {
		if strings.HasPrefix(operation, p) && len(operation) > len(p) {
			return true
		}
	}
	return false
}

// RefusedError is returned for an operation that is not a read.
type RefusedError struct {
	Service, Operation string
	// Reason, when set, says why a read-named call was refused.
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("vpnaudit is read-only: it refused to call %s %s: %s", e.Service, e.Operation, e.Reason)
	}
	return fmt.Sprintf("vpnaudit is read-only: it refused to call %s %s", e.Service, e.Operation)
}

// CheckAthenaQuery accepts a query only if it is one SELECT statement:
// after comments, it starts with SELECT and holds no semicolon outside
// string literals and quoted identifiers other than one at its end. DDL,
// INSERT, CREATE TABLE AS, UNLOAD, MERGE and several statements are
// refused.
func CheckAthenaQuery(q string) error {
	var code strings.Builder // the query without comments and literals
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			for i < len(q) && q[i] != '\n' {
				i++
			}
			code.WriteByte(' ')
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return errors.New("the Athena query has an unterminated comment")
			}
			i += 2 + end + 1
			code.WriteByte(' ')
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for ; j < len(q); j++ {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // a doubled quote is part of the literal
						j++
						continue
					}
					break
				}
			}
			if j >= len(q) {
				return errors.New("the Athena query has an unterminated quoted string")
			}
			i = j
			code.WriteString(" x ")
		default:
			code.WriteByte(c)
		}
	}
	text := strings.TrimSpace(code.String())
	text = strings.TrimSpace(strings.TrimSuffix(text, ";"))
	if strings.Contains(text, ";") {
		return errors.New("the Athena query holds more than one statement")
	}
	words := strings.FieldsFunc(text, func(r rune) bool { return r == '(' || r == ')' || r == ' ' || r == '\t' || r == '\r' || r == '\n' })
	first := ""
	if len(words) > 0 {
		first = strings.ToUpper(words[0])
	}
	if first != "SELECT" {
		return fmt.Errorf("the Athena query is not a SELECT (it starts with %q)", first)
	}
	return nil
}

// readOnlyID names the middleware in client stacks.
const readOnlyID = "vpnaudit.ReadOnly"

// addReadOnly puts the read-only check first in a client's stack, before
// serialization, signing and the transport.
func addReadOnly(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(readOnlyID,
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := middleware.GetOperationName(ctx)
			if !IsReadOf(middleware.GetServiceID(ctx), op) {
				return middleware.InitializeOutput{}, middleware.Metadata{}, &RefusedError{Service: middleware.GetServiceID(ctx), Operation: op}
			}
			if in, ok := in.Parameters.(*athena.StartQueryExecutionInput); ok {
				if err := CheckAthenaQuery(aws.ToString(in.QueryString)); err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, &RefusedError{Service: middleware.GetServiceID(ctx), Operation: op, Reason: err.Error()}
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}
