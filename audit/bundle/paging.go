package bundle

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// paginate returns the page of items that token points at, at most limit
// long (def when limit is 0, capped at max), and the token of the next page
// (nil on the last page). Tokens are offsets, opaque to callers.
func paginate[T any](items []T, token *string, limit, def, max int) ([]T, *string, error) {
	if limit <= 0 {
		limit = def
	}
	if limit > max {
		limit = max
	}
	off := 0
	if token != nil && *token != "" {
		n, err := strconv.Atoi(*token)
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, fmt.Errorf("invalid NextToken %q", *token)
		}
		off = n
	}
	end := off + limit
	if end >= len(items) {
		return items[off:], nil, nil
	}
	return items[off:end], aws.String(strconv.Itoa(end)), nil
}

// decodeInput decodes a record's Input into v.
func decodeInput(r record, v any) error {
	return decodeValue(reflect.ValueOf(v).Elem(), r.input, r.file+": Input")
}
