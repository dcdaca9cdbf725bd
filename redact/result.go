package redact

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
	"github.com/vpnaudit/vpnaudit/correlate"
)

// Result returns a deep copy of res with every string redacted (walked by
// reflection: strings, slices, maps, structs and pointers, pointers shared
// in res shared in the copy); res is not changed. Times, numbers and
// booleans are copied as they are, and so are the fields that hold
// vocabulary rather than data (statuses, confidences, kinds, roles, event
// names and sources, event IDs, resource types and sides, flow classes,
// directions and actions, statistics, comparisons, how a call was made),
// so the verdict — status, confidence, cause event, hypotheses and their
// scores — is the same before and after. Request and response parameters
// (JSON) are redacted member by member and re-encoded compactly.
//
// Before replacing anything, Result learns the account IDs and user names
// the whole result shows (each CloudTrail actor by its identity type), so
// a name is replaced in a summary even when the actor it belongs to comes
// later.
func (r *Redactor) Result(res *correlate.Result) *correlate.Result {
	if res == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.learnValue(reflect.ValueOf(res), "")
	w := &copier{r: r, memo: map[memoKey]reflect.Value{}}
	return w.copy(reflect.ValueOf(res), "").Interface().(*correlate.Result)
}

// keptFields are struct fields whose strings are vocabulary (enumerations,
// API operation and service names, resource types) or IDs needed to act on
// a report: they are copied unchanged. A key is a field name, or
// Type.Field where the name alone is ambiguous (Change.Via is a class,
// Resource.Via free text). IDs elsewhere are safe anyway: no rule matches
// them.
var keptFields = map[string]bool{
	"EventID": true, "EventName": true, "EventSource": true, "Change.Via": true, "Kind": true, "Role": true,
	"Status": true, "Confidence": true, "Class": true, "Type": true, "Side": true, "Direction": true,
	"Action": true, "Stat": true, "Namespace": true, "Comparison": true, "TreatMissingData": true,
	"TrafficType": true, "DestinationType": true, "Service": true, "Operation": true, "State": true,
	"Format": true,
}

// fieldKey returns the name under which field f of struct type t is
// looked up in keptFields: Type.Field when that is listed, else the
// field's name.
func fieldKey(t reflect.Type, f reflect.StructField) string {
	if q := t.Name() + "." + f.Name; keptFields[q] {
		return q
	}
	return f.Name
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	actorType = reflect.TypeFor[audit.Actor]()
)

// learnValue walks v and learns the account IDs and user names it shows:
// from every string, and from each CloudTrail actor by its identity type.
func (r *Redactor) learnValue(v reflect.Value, field string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			r.learnValue(v.Elem(), field)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		if v.Type() == actorType {
			r.learnActor(v.Interface().(audit.Actor))
		}
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				r.learnValue(v.Field(i), fieldKey(v.Type(), f))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			r.learnValue(v.Index(i), field)
		}
	case reflect.Map:
		for _, k := range sortedKeys(v) {
			r.learnValue(v.MapIndex(k), field)
		}
	case reflect.String:
		if !keptFields[field] {
			r.learnString(v.String())
		}
	}
}

// learnActor learns the person behind a CloudTrail actor. Name is
// "<role>/<session>" for assumed roles (the session is the person, the
// role stays), "<issuer>/<name>" for federated users, the user's name for
// IAM, Identity Center and web-identity users; root, AWS services and
// accounts are not people.
func (r *Redactor) learnActor(a audit.Actor) {
	r.learnAccount(a.AccountID)
	r.learnText(a.ARN)
	switch a.Type {
	case "Root", "AWSService", "AWSAccount", "":
	case "AssumedRole":
		role, session, ok := strings.Cut(a.Name, "/")
		switch {
		case !ok:
		case strings.HasPrefix(role, "AWSServiceRoleFor"):
			if !r.knownUsers[session] {
				r.keepUsers[session] = true
			}
		default:
			r.learnUser(session)
		}
	case "FederatedUser":
		for _, p := range strings.Split(a.Name, "/") {
			r.learnUser(p)
		}
	default:
		r.learnUser(a.Name)
	}
}

type memoKey struct {
	p uintptr
	t reflect.Type
}

// copier deep-copies a value, redacting its strings; pointers shared in
// the original are shared in the copy.
type copier struct {
	r    *Redactor
	memo map[memoKey]reflect.Value
}

func (w *copier) copy(v reflect.Value, field string) reflect.Value {
	t := v.Type()
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(t)
		}
		k := memoKey{v.Pointer(), t}
		if c, ok := w.memo[k]; ok {
			return c
		}
		c := reflect.New(t.Elem())
		w.memo[k] = c
		c.Elem().Set(w.copy(v.Elem(), field))
		return c
	case reflect.Interface:
		if v.IsNil() {
			return reflect.Zero(t)
		}
		c := reflect.New(t).Elem()
		c.Set(w.copy(v.Elem(), field))
		return c
	case reflect.Struct:
		if t == timeType {
			return v
		}
		c := reflect.New(t).Elem()
		c.Set(v) // unexported fields, as they are
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() {
				c.Field(i).Set(w.copy(v.Field(i), fieldKey(t, f)))
			}
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(t)
		}
		c := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(w.copy(v.Index(i), field))
		}
		return c
	case reflect.Array:
		c := reflect.New(t).Elem()
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(w.copy(v.Index(i), field))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(t)
		}
		c := reflect.MakeMapWithSize(t, v.Len())
		for _, k := range sortedKeys(v) {
			// Keys are attribute names (public-ip, cidr), kept.
			c.SetMapIndex(k, w.copy(v.MapIndex(k), field))
		}
		return c
	case reflect.String:
		if keptFields[field] {
			return v
		}
		c := reflect.New(t).Elem()
		c.SetString(w.r.value(v.String()))
		return c
	}
	return v
}

// sortedKeys returns a map's keys in a stable order, so tokens are handed
// out in the same order on every run.
func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int {
		if a.Kind() == reflect.String && b.Kind() == reflect.String {
			return cmp.Compare(a.String(), b.String())
		}
		return 0
	})
	return keys
}
