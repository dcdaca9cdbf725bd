package trail

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
)

// idPrefixes are the EC2 resource ID prefixes that can lie on a VPN's path,
// and a few that tell what a call was about (AMIs, volumes, snapshots,
// launch templates).
const idPrefixes = `i|vpn|cgw|vgw|tgw|tgw-attach|tgw-rtb|eni|eipalloc|eipassoc|sg|sgr|subnet|vpc|vpce|pcx|rtb|rtbassoc|acl|aclassoc|igw|eigw|nat|fl|pl|lt|ami|vol|snap`

var (
	// resourceID matches a resource ID as AWS writes them, wherever it is.
	resourceID = regexp.MustCompile(`^(?:` + idPrefixes + `)-[0-9a-f]{8,17}$`)
	// keyedID matches the looser IDs of hand-written and test events
	// ("i-1", "rtb-EXAMPLE1"), accepted under a key ending in Id or Ids.
	keyedID = regexp.MustCompile(`^(?:` + idPrefixes + `)-[0-9A-Za-z]+$`)
)

// addressKeys hold an IP address that is a resource of the call (an Elastic
// IP, a customer gateway's address, a tunnel's outside address, an ENI's
// private address). Keys are compared case-insensitively.
var addressKeys = []string{"publicIp", "ipAddress", "privateIpAddress", "vpnTunnelOutsideIpAddress"}

// nameKeys hold the name of a resource that has no ID.
var nameKeys = []string{"autoScalingGroupName", "logGroupName", "alarmName", "alarmNames"}

// responseResources reports whether the call's response names the resources
// it made, so that responseElements is read too.
func responseResources(eventName string) bool {
	for _, p := range []string{"Create", "Allocate", "Associate", "Run"} {
		if strings.HasPrefix(eventName, p) {
			return true
		}
	}
	return false
}

// resourceSet collects strings without duplicates, in first-seen order.
type resourceSet struct {
	list []string
	seen map[string]bool
}

func (s *resourceSet) add(v string) {
	v = strings.TrimSpace(v)
	if v == "" || s.seen[v] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[v] = true
	s.list = append(s.list, v)
}

// resourcesOf lists what a record touched: first the ARNs of its resources,
// then what requestParameters (and, for calls that make something,
// responseElements) name.
func resourcesOf(r record, eventName string) []string {
	var set resourceSet
	var items []json.RawMessage
	if raw := r.get("resources"); raw != nil && json.Unmarshal(raw, &items) == nil {
		for _, item := range items {
			arn := asObject(item).text("ARN")
			set.add(arn)
			if id := arn[strings.LastIndexAny(arn, "/:")+1:]; resourceID.MatchString(id) {
				set.add(id)
			}
		}
	}
	walkStrings(r.get("requestParameters"), set.addFound)
	if responseResources(eventName) {
		walkStrings(r.get("responseElements"), set.addFound)
	}
	return set.list
}

// addFound adds v, found under key, when it is a resource.
func (s *resourceSet) addFound(key, v string) {
	lkey := strings.ToLower(key)
	switch {
	case resourceID.MatchString(v):
		s.add(v)
	case (strings.HasSuffix(lkey, "id") || strings.HasSuffix(lkey, "ids")) && keyedID.MatchString(v):
		s.add(v)
	case hasKey(addressKeys, key):
		if _, err := netip.ParseAddr(v); err == nil {
			s.add(v)
		}
	case hasKey(nameKeys, key):
		s.add(v)
	}
}

func hasKey(keys []string, key string) bool {
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// walkStrings calls fn for every string value in the JSON value raw, in
// document order, with the key of the object member it belongs to (for
// array elements, the array's key).
func walkStrings(raw json.RawMessage, fn func(key, value string)) {
	if isNull(raw) {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	_ = walkValue(dec, "", fn)
}

func walkValue(dec *json.Decoder, key string, fn func(key, value string)) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case string:
		fn(key, t)
	case json.Delim:
		switch t {
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if err := walkValue(dec, k, fn); err != nil {
					return err
				}
			}
		case '[':
			for dec.More() {
				if err := walkValue(dec, key, fn); err != nil {
					return err
				}
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return err
		}
	}
	return nil
}
