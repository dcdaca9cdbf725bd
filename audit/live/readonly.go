package live

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/smithy-go/middleware"
)

// readPrefixes are the operation-name prefixes of read calls. AWS names its
// APIs consistently: these never create, change or delete a resource.
var readPrefixes = []string{"Describe", "Get", "List", "Lookup", "Filter", "Search"}

// readExact are reads whose names do not say so: a Logs Insights query
// only reads log events.
var readExact = map[string]bool{"StartQuery": true}

// IsRead reports whether an operation is allowed to leave the process.
func IsRead(operation string) bool {
	if readExact[operation] {
		return true
	}
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
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("vpnaudit is read-only: it refused to call %s %s", e.Service, e.Operation)
}

// readOnlyID names the middleware in client stacks.
const readOnlyID = "vpnaudit.ReadOnly"

// addReadOnly puts the read-only check first in a client's stack, before
// serialization, signing and the transport.
func addReadOnly(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(readOnlyID,
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := middleware.GetOperationName(ctx)
			if !IsRead(op) {
				return middleware.InitializeOutput{}, middleware.Metadata{}, &RefusedError{Service: middleware.GetServiceID(ctx), Operation: op}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}
