package redact

import (
	"net/netip"
	"strings"

	"github.com/vpnaudit/vpnaudit/audit/flowlog"
)

// addrFields are the flow-log fields that hold addresses.
var addrFields = map[string]bool{"srcaddr": true, "dstaddr": true, "pkt-srcaddr": true, "pkt-dstaddr": true}

// flowRecord redacts one flow-log record, field by field in the first of
// formats (or the default format) that fits it: the account-id fields
// (account-id, tgw-src-vpc-account-id, …) are account IDs by position, so a
// 12-digit byte count is never taken for one; every field that is an IP
// address is mapped; ECS ARNs are scanned; the other fields (ports,
// counts, times, IDs, actions) are kept. A message no format fits is not a
// flow record and is redacted as any other string. With learn, only the
// account IDs are recorded.
func (r *Redactor) flowRecord(msg string, formats []flowlog.Format, learn bool) string {
	toks := strings.Split(msg, " ")
	f, ok := pickFormat(toks, formats)
	if !ok {
		if learn {
			r.learnString(msg)
			return msg
		}
		return r.value(msg)
	}
	for i, t := range toks {
		name := f.Field(i)
		switch {
		case strings.HasSuffix(name, "account-id") && isAccountID(t):
			if learn {
				r.learnAccount(t)
			} else {
				toks[i] = r.account(t)
			}
		case learn:
		case strings.ContainsAny(t, ".:"):
			if a, err := netip.ParseAddr(t); err == nil {
				toks[i] = r.addr(a).String()
			} else if strings.HasSuffix(name, "-arn") {
				toks[i] = r.text(t, true)
			}
		}
	}
	if learn {
		return msg
	}
	return strings.Join(toks, " ")
}

// pickFormat returns the first format (then the default one) that has as
// many fields as the record and whose address and account fields hold
// addresses, account IDs or "-".
func pickFormat(toks []string, formats []flowlog.Format) (flowlog.Format, bool) {
	for _, f := range append(formats[:len(formats):len(formats)], flowlog.DefaultFormat) {
		if f.Len() != len(toks) {
			continue
		}
		ok := true
		for i, t := range toks {
			name := f.Field(i)
			switch {
			case t == "-":
			case addrFields[name]:
				_, err := netip.ParseAddr(t)
				ok = err == nil
			case strings.HasSuffix(name, "account-id"):
				ok = isAccountID(t) || t == "unknown"
			}
			if !ok {
				break
			}
		}
		if ok {
			return f, true
		}
	}
	return flowlog.Format{}, false
}

// headerFormat returns the format a line of field names (an S3 object's
// header) sets: every token a field name, at least one a known field.
func headerFormat(line string) (flowlog.Format, bool) {
	if line == "" || line[0] < 'a' || line[0] > 'z' {
		return flowlog.Format{}, false
	}
	known := false
	for _, tok := range strings.Fields(line) {
		known = known || flowlog.IsKnownField(tok)
	}
	if !known {
		return flowlog.Format{}, false
	}
	f, err := flowlog.ParseFormat(line)
	return f, err == nil
}

// textLines redacts (or, with learn, learns from) a text file line by
// line: flow-log records in the format of the last header line, else of
// the bundle's S3 flow logs; any other line as free text. Line endings are
// kept.
func (r *Redactor) textLines(data string, formats []flowlog.Format, learn bool) string {
	var b strings.Builder
	current := formats
	for len(data) > 0 {
		line := data
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		body := strings.TrimRight(line, "\r\n")
		end := line[len(body):]
		if f, ok := headerFormat(body); ok {
			current = []flowlog.Format{f}
			b.WriteString(line)
			continue
		}
		if body == "" {
			b.WriteString(line)
			continue
		}
		b.WriteString(r.flowRecord(body, current, learn))
		b.WriteString(end)
	}
	return b.String()
}
