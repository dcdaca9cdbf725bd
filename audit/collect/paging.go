package collect

import (
	"errors"
	"fmt"
)

// maxEmptyPages bounds how many pages in a row may come back empty yet
// carry a pagination token. CloudWatch Logs and CloudTrail do return empty
// pages while they scan (FilterLogEvents documents it), so a few are
// followed; fifty in a row (25 s of CloudTrail's quota) is a service, a
// proxy or an emulator that will not end the loop.
const maxEmptyPages = 50

// maxEmptyLogPages is the bound for FilterLogEvents, which returns an
// empty page (with a token) for each slice of a large log group it scans
// without a match: over a day of a busy group that can be hundreds, each
// answered in milliseconds.
const maxEmptyLogPages = 2000

// PagingError says a paginated read was stopped because the service's
// pagination tokens would have made it loop for ever: a token it returned
// before (the SDK paginators notice only the same token twice in a row, and
// only with StopOnDuplicateToken set, and then stop silently), or too many
// empty pages in a row. What was read
// before is kept; the source is reported partial.
type PagingError struct {
	Service, Operation string
	// Page is the page (from 1) whose token stopped the loop.
	Page int
	// Empty says the loop stopped after Limit empty pages in a row, not on
	// a repeated token.
	Empty bool
	Limit int
}

func (e *PagingError) Error() string {
	if e.Empty {
		return fmt.Sprintf("%s %s returned %d empty pages in a row, each with a pagination token (page %d): stopping; the results so far are used",
			e.Service, e.Operation, e.Limit, e.Page)
	}
	return fmt.Sprintf("%s %s returned the pagination token it returned before (page %d): stopping; the results so far are used",
		e.Service, e.Operation, e.Page)
}

// isPaging reports whether err is a PagingError: the pages read before it
// are good.
func isPaging(err error) bool {
	var pe *PagingError
	return errors.As(err, &pe)
}

// pageGuard watches one paginated loop's tokens.
type pageGuard struct {
	service, op string
	seen        map[string]bool
	pages       int
	empty       int
	maxEmpty    int
}

func newPageGuard(service, op string) *pageGuard {
	g := &pageGuard{service: service, op: op, seen: map[string]bool{}, maxEmpty: maxEmptyPages}
	if op == "FilterLogEvents" {
		g.maxEmpty = maxEmptyLogPages
	}
	return g
}

// check is called with each page's item count and next token, after the
// page's items are used. It returns a *PagingError when the loop must
// stop: the token was returned before, or the page is the maxEmptyPages-th
// empty one in a row that still carries a token.
func (g *pageGuard) check(items int, next *string) error {
	g.pages++
	if next == nil || *next == "" {
		return nil
	}
	if g.seen[*next] {
		return &PagingError{Service: g.service, Operation: g.op, Page: g.pages}
	}
	g.seen[*next] = true
	if items > 0 {
		g.empty = 0
		return nil
	}
	g.empty++
	if g.empty >= g.maxEmpty {
		return &PagingError{Service: g.service, Operation: g.op, Page: g.pages, Empty: true, Limit: g.maxEmpty}
	}
	return nil
}
