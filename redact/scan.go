package redact

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// value redacts a whole string value: a string that is exactly an account
// ID is one, a string that is a JSON object or array is redacted as JSON
// and re-encoded compactly, anything else is scanned as text.
func (r *Redactor) value(s string) string {
	if isAccountID(s) {
		return r.account(s)
	}
	if v, ok := nestedJSON(s); ok {
		return string(encodeJSON(r.redactJSON(v, "", "", nil), ""))
	}
	return r.text(s, false)
}

// learnString learns the account IDs and user names a whole string value
// shows (see learnText), looking into nested JSON.
func (r *Redactor) learnString(s string) {
	if isAccountID(s) {
		r.learnAccount(s)
		return
	}
	if v, ok := nestedJSON(s); ok {
		r.learnJSON(v, "", "", nil)
		return
	}
	if m := principalRE.FindStringSubmatch(s); m != nil {
		r.learnAccount(m[1])
		r.learnUser(m[2])
	}
	r.learnText(s)
}

// principalRE matches a principal ID with a session or federated name
// (AROAEXAMPLE:dana@example.com, 123456789012:bob), whole.
var principalRE = regexp.MustCompile(`^(A[A-Z0-9]{15,31}|[0-9]{12}):([^:\s/]+)$`)

// text scans free text and replaces, left to right, at the start of each
// word: ARNs (account part and user or session names), access key and
// unique IDs, e-mail addresses, EC2 host names that embed an address
// (ip-10-1-2-3, ec2-52-1-2-3), IPv6 and IPv4 addresses and CIDRs, account
// IDs (see accountAt) and the user names learned so far. inARN relaxes the
// rule that keeps product versions ("Linux/5.10.1.2") from being read as
// addresses, for the resource part of an ARN ("elastic-ip/52.1.2.3").
func (r *Redactor) text(s string, inARN bool) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if !wordStart(s, i) {
			continue
		}
		n, rep := r.match(s, i, inARN)
		if n == 0 {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = i + n
		i = last - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// learnText learns from free text: the account and user or session names
// of ARNs, and account IDs in an account context.
func (r *Redactor) learnText(s string) {
	for i := 0; i < len(s); i++ {
		if !wordStart(s, i) {
			continue
		}
		if s[i] == 'a' && strings.HasPrefix(s[i:], "arn:") {
			if m := arnRE.FindStringSubmatch(s[i:]); m != nil {
				r.learnAccount(m[4])
				r.learnARNResource(m[2], strings.TrimRight(m[5], "."))
				i += len(m[0]) - 1
				continue
			}
		}
		if s[i] == 'A' {
			// A role's unique ID and its session: AROA…:session.
			if m := roleSessionAt.FindStringSubmatch(s[i:]); m != nil && !isNameChar(at(s, i+len(m[0]))) {
				r.learnUser(m[1])
				i += len(m[0]) - 1
				continue
			}
		}
		if j := digitsEnd(s, i); j-i == 12 && accountBounds(s, i, j) && accountContext(s, i, j) {
			r.learnAccount(s[i:j])
			i = j - 1
		}
	}
}

// match tries every rule at s[i]; it returns the length matched and its
// replacement, or 0.
func (r *Redactor) match(s string, i int, inARN bool) (int, string) {
	rest := s[i:]
	c := s[i]
	if c == 'a' && strings.HasPrefix(rest, "arn:") {
		if m := arnRE.FindStringSubmatch(rest); m != nil {
			res := strings.TrimRight(m[5], ".")
			n := len(m[0]) - (len(m[5]) - len(res))
			acct := m[4]
			if isAccountID(acct) {
				acct = r.account(acct)
			}
			return n, "arn:" + m[1] + ":" + m[2] + ":" + m[3] + ":" + acct + ":" + r.arnResource(m[2], res)
		}
	}
	if c == 'A' {
		if m := accessKeyAt.FindString(rest); m != "" && !isAlnum(at(s, i+len(m))) {
			return len(m), r.key(m)
		}
	}
	if isAlnum(c) {
		if m := emailAt.FindString(rest); m != "" && !isAlnum(at(s, i+len(m))) {
			return len(m), r.user(m)
		}
	}
	if c == 'i' || c == 'e' {
		if m := hostAt.FindStringSubmatch(rest); m != nil && !isAlnum(at(s, i+len(m[0]))) && at(s, i+len(m[0])) != '-' {
			if a, err := netip.ParseAddr(m[2] + "." + m[3] + "." + m[4] + "." + m[5]); err == nil {
				return len(m[0]), m[1] + "-" + strings.ReplaceAll(r.addr(a).String(), ".", "-")
			}
		}
	}
	if isHex(c) || c == ':' {
		if n, rep := r.ipv6At(s, i); n > 0 {
			return n, rep
		}
	}
	if isDigit(c) {
		if n, rep := r.ipv4At(s, i, inARN); n > 0 {
			return n, rep
		}
		if j := digitsEnd(s, i); j-i == 12 && accountBounds(s, i, j) &&
			(r.knownAccounts[s[i:j]] || accountContext(s, i, j)) {
			return 12, r.account(s[i:j])
		}
	}
	if nameStart(s, i) {
		for _, name := range r.nameIndex()[c] {
			if strings.HasPrefix(rest, name) && nameEnd(s, i+len(name)) {
				return len(name), r.user(name)
			}
		}
	}
	return 0, ""
}

var (
	// arnRE matches an ARN: partition, service, region, account (12 digits,
	// "aws", "*" or empty) and resource, which ends at white space, quotes,
	// brackets and the like.
	arnRE = regexp.MustCompile("^arn:(aws[a-z-]*):([a-zA-Z0-9-]*):([a-z0-9-]*):([0-9]{12}|aws|\\*|):([^\\s\"'<>(),;\\[\\]{}\\\\|`]+)")
	// accessKeyAt matches access key IDs (AKIA…, ASIA…) and the unique IDs
	// of users, roles, groups and policies (AIDA…, AROA…, …).
	accessKeyAt = regexp.MustCompile(`^(?:AKIA|ASIA|AIDA|AROA|AIPA|AGPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{12,28}`)
	accessKey   = regexp.MustCompile(`^(?:AKIA|ASIA|AIDA|AROA|AIPA|AGPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{12,28}$`)
	// roleSessionAt matches a role's unique ID and a session name, as
	// CloudTrail's principalId has them (AROAEXAMPLE:dana@example.com).
	roleSessionAt = regexp.MustCompile(`^AROA[A-Z0-9]{12,28}:([A-Za-z0-9_+=,.@-]+)`)
	emailAt       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}`)
	hostAt        = regexp.MustCompile(`^(ip|ec2)-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})-([0-9]{1,3})`)
)

// arnResource redacts the resource part of an ARN: IAM user names, STS
// session and federated user names become user tokens (role names stay);
// anything else is scanned as text.
func (r *Redactor) arnResource(service, res string) string {
	if service == "iam" || service == "sts" {
		parts := strings.Split(res, "/")
		last := len(parts) - 1
		switch {
		case (parts[0] == "user" || parts[0] == "federated-user") && last >= 1:
			parts[last] = r.user(parts[last])
			return strings.Join(parts, "/")
		case parts[0] == "assumed-role" && last >= 2:
			parts[last] = r.user(parts[last])
			return strings.Join(parts, "/")
		}
	}
	return r.text(res, true)
}

// learnARNResource learns the user and session names of an ARN's resource
// part. Sessions of service-linked roles (AWSServiceRoleFor…) are AWS's
// own and are kept.
func (r *Redactor) learnARNResource(service, res string) {
	if service != "iam" && service != "sts" {
		r.learnText(res)
		return
	}
	parts := strings.Split(res, "/")
	last := len(parts) - 1
	switch {
	case (parts[0] == "user" || parts[0] == "federated-user") && last >= 1:
		r.learnUser(parts[last])
	case parts[0] == "assumed-role" && last >= 2:
		if strings.HasPrefix(parts[1], "AWSServiceRoleFor") {
			if !r.knownUsers[parts[last]] {
				r.keepUsers[parts[last]] = true
			}
			return
		}
		r.learnUser(parts[last])
	}
}

// ipv4At matches a dotted-quad IPv4 address, with an optional /n, at s[i].
// It is not read after a dot (the tail of a longer dotted number), nor
// after "word/" outside ARNs (a product version in a user agent,
// "Linux/5.10.1.2"); nor when a dot and a digit follow.
func (r *Redactor) ipv4At(s string, i int, inARN bool) (int, string) {
	if prev := at(s, i-1); prev == '.' || prev == '/' && !inARN && isAlnum(at(s, i-2)) {
		return 0, ""
	}
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if at(s, j) != '.' {
				return 0, ""
			}
			j++
		}
		k := j
		for k < len(s) && k-j < 3 && isDigit(s[k]) {
			k++
		}
		if k == j {
			return 0, ""
		}
		j = k
	}
	if isAlnum(at(s, j)) || at(s, j) == '.' && isDigit(at(s, j+1)) {
		return 0, ""
	}
	a, err := netip.ParseAddr(s[i:j])
	if err != nil || !a.Is4() {
		return 0, ""
	}
	if n, bits := prefixLen(s, j, 32); n > 0 {
		return j + n - i, r.prefix(a, bits).String()
	}
	return j - i, r.addr(a).String()
}

// ipv6At matches an IPv6 address (with an optional zone and /n) at s[i]:
// a run of hex digits, colons and dots with at least two colons that
// netip parses, not followed by a letter or digit. "AWS::EC2::EIP" is not
// one: a run right after "word::" is a type name.
func (r *Redactor) ipv6At(s string, i int) (int, string) {
	if at(s, i-1) == ':' && at(s, i-2) == ':' && isAlnum(at(s, i-3)) {
		return 0, ""
	}
	j := i
	colons := 0
	for j < len(s) && (isHex(s[j]) || s[j] == ':' || s[j] == '.') {
		if s[j] == ':' {
			colons++
		}
		j++
	}
	if colons < 2 {
		return 0, ""
	}
	run := s[i:j]
	for _, cand := range []string{run, strings.TrimRight(run, "."), strings.TrimRight(run, ".:")} {
		if cand == "" {
			continue
		}
		a, err := netip.ParseAddr(cand)
		if err != nil || a.Is4() {
			continue
		}
		end := i + len(cand)
		if at(s, end) == '%' { // a zone
			k := end + 1
			for k < len(s) && (isAlnum(s[k]) || s[k] == '_' || s[k] == '-' || s[k] == '.') {
				k++
			}
			if z, err := netip.ParseAddr(s[i:k]); err == nil && k > end+1 {
				a, end = z, k
			}
		}
		if isAlnum(at(s, end)) || at(s, end) == '_' {
			return 0, ""
		}
		if n, bits := prefixLen(s, end, 128); n > 0 && a.Zone() == "" {
			return end + n - i, r.prefix(a, bits).String()
		}
		return end - i, r.addr(a).String()
	}
	return 0, ""
}

// prefixLen reads "/n" (n ≤ max) at s[j]; it returns its length and n.
func prefixLen(s string, j, max int) (int, int) {
	if at(s, j) != '/' {
		return 0, 0
	}
	k := j + 1
	for k < len(s) && k-j <= 3 && isDigit(s[k]) {
		k++
	}
	if k == j+1 || isAlnum(at(s, k)) || at(s, k) == '.' && isDigit(at(s, k+1)) {
		return 0, 0
	}
	n, err := strconv.Atoi(s[j+1 : k])
	if err != nil || n > max || k-j > 2 && s[j+1] == '0' {
		return 0, 0
	}
	return k - j, n
}

// accountBounds reports whether the 12 digits s[i:j] stand alone: no letter
// or digit on either side, and not part of a decimal number.
func accountBounds(s string, i, j int) bool {
	if isAlnum(at(s, i-1)) || isAlnum(at(s, j)) {
		return false
	}
	if at(s, i-1) == '.' && isDigit(at(s, i-2)) || at(s, j) == '.' && isDigit(at(s, j+1)) {
		return false
	}
	return true
}

// accountContext reports whether 12 digits at s[i:j] are in an account
// context in free text: the words account, acct or owner shortly before
// (AccountId, "account 123456789012", OwnerId), the S3 log prefix AWSLogs/,
// or a delivered log object's name (123456789012_vpcflowlogs_…). Elsewhere
// a 12-digit number is an account ID only when the Redactor has met it in
// an account context (an ARN, an account member, a flow record's
// account-id field) or when it is a whole value.
func accountContext(s string, i, j int) bool {
	before := strings.ToLower(s[max(0, i-24):i])
	for _, w := range []string{"account", "acct", "owner", "awslogs/"} {
		if strings.Contains(before, w) {
			return true
		}
	}
	after := s[j:]
	for _, w := range []string{"_vpcflowlogs", "_cloudtrail", "_elasticloadbalancing", "_networkfirewall"} {
		if strings.HasPrefix(after, w) {
			return true
		}
	}
	return false
}

func digitsEnd(s string, i int) int {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j
}

// wordStart reports whether a rule may match at s[i]: a letter, digit or
// colon that does not continue a word.
func wordStart(s string, i int) bool {
	c := s[i]
	if !isAlnum(c) && c != ':' {
		return false
	}
	p := at(s, i-1)
	return !isAlnum(p) && !(c == ':' && p == ':')
}

// Name boundaries: user names are made of letters, digits and _ - . @ +;
// a known name is replaced only where it stands alone, so the session name
// "cw-exporter" is not replaced inside the role name "eks-cw-exporter". A
// dot right after a name ends it when no name character follows (the end
// of a sentence).
func isNameChar(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.' || c == '@' || c == '+'
}

func nameStart(s string, i int) bool { return i == 0 || !isNameChar(s[i-1]) }

func nameEnd(s string, k int) bool {
	c := at(s, k)
	if c == '.' {
		return !isNameChar(at(s, k+1))
	}
	return !isNameChar(c)
}

// at returns s[i], or 0 outside s.
func at(s string, i int) byte {
	if i < 0 || i >= len(s) {
		return 0
	}
	return s[i]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
