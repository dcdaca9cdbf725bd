package bundle

import (
	"fmt"
	"path"
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2 filters are evaluated by reflection: a filter name such as
// "attachment.instance-id" is a path of dash-separated member names
// (Attachment → InstanceId), where a segment also matches its plural member
// ("association" → Associations, "entry" → Entries), lists are searched
// element by element, and "tag:KEY" / "tag-key" read the Tags list. Names
// that do not follow that rule are listed per item type in filterAliases. A
// filter that cannot be resolved against the item type is an error, never
// silently ignored.

var filterAliases = map[reflect.Type]map[string]string{
	reflect.TypeOf(ec2types.Instance{}): {
		"instance-state-name": "state.name",
		"instance-state-code": "state.code",
		"ip-address":          "public-ip-address",
		"group-id":            "security-groups.group-id",
		"instance.group-id":   "security-groups.group-id",
	},
	reflect.TypeOf(ec2types.NetworkInterface{}): {
		"addresses.private-ip-address": "private-ip-addresses.private-ip-address",
		"group-id":                     "groups.group-id",
	},
	reflect.TypeOf(ec2types.NetworkAcl{}): {
		"default": "is-default",
	},
	reflect.TypeOf(ec2types.Vpc{}): {
		"cidr":                              "cidr-block",
		"cidr-block-association.cidr-block": "cidr-block-association-set.cidr-block",
		"default":                           "is-default",
	},
	reflect.TypeOf(ec2types.FlowLog{}): {
		"deliver-log-status": "deliver-logs-status",
	},
}

// compiledFilter is one EC2 filter resolved against an item type.
type compiledFilter struct {
	name   string
	path   []int // field indexes; nil for tag filters
	tag    string
	tagKey bool
	values []string
}

func compileFilters(t reflect.Type, filters []ec2types.Filter) ([]compiledFilter, error) {
	var out []compiledFilter
	for _, f := range filters {
		name := aws.ToString(f.Name)
		cf := compiledFilter{name: name, values: f.Values}
		switch {
		case strings.HasPrefix(name, "tag:"):
			cf.tag = strings.TrimPrefix(name, "tag:")
		case name == "tag-key":
			cf.tagKey = true
		default:
			p := name
			if a, ok := filterAliases[t][name]; ok {
				p = a
			}
			idx, err := resolvePath(t, strings.Split(p, "."))
			if err != nil {
				return nil, fmt.Errorf("filter %q cannot be evaluated on %s when replaying a bundle: %w", name, t.Name(), err)
			}
			cf.path = idx
		}
		out = append(out, cf)
	}
	return out, nil
}

func elemStruct(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

func resolvePath(t reflect.Type, segs []string) ([]int, error) {
	var idx []int
	for _, seg := range segs {
		st := elemStruct(t)
		if st.Kind() != reflect.Struct {
			return nil, fmt.Errorf("%q is not a member of a structure", seg)
		}
		fields := fieldsOf(st)
		key := strings.ReplaceAll(seg, "-", "")
		i, ok := fields[key]
		if !ok {
			i, ok = fields[key+"s"]
		}
		if !ok && strings.HasSuffix(key, "y") {
			i, ok = fields[strings.TrimSuffix(key, "y")+"ies"]
		}
		if !ok {
			return nil, fmt.Errorf("no member %q", seg)
		}
		idx = append(idx, i)
		t = st.Field(i).Type
	}
	return idx, nil
}

// values collects the leaf values at path below v, as strings.
func values(v reflect.Value, p []int, out []string) []string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return out
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 {
		for i := 0; i < v.Len(); i++ {
			out = values(v.Index(i), p, out)
		}
		return out
	}
	if len(p) > 0 {
		if v.Kind() != reflect.Struct {
			return out
		}
		return values(v.Field(p[0]), p[1:], out)
	}
	switch v.Kind() {
	case reflect.String:
		return append(out, v.String())
	case reflect.Bool:
		return append(out, strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return append(out, strconv.FormatInt(v.Int(), 10))
	case reflect.Float32, reflect.Float64:
		return append(out, strconv.FormatFloat(v.Float(), 'f', -1, 64))
	}
	return out
}

func tagValues(v reflect.Value, key string, keys bool) []string {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	tf := v.FieldByName("Tags")
	if !tf.IsValid() {
		tf = v.FieldByName("TagSet") // network interfaces
	}
	if !tf.IsValid() {
		return nil
	}
	var out []string
	if tags, ok := tf.Interface().([]ec2types.Tag); ok {
		for _, t := range tags {
			switch {
			case keys:
				out = append(out, aws.ToString(t.Key))
			case aws.ToString(t.Key) == key:
				out = append(out, aws.ToString(t.Value))
			}
		}
	}
	return out
}

// match reports whether item passes every filter (filters AND, values OR;
// values may use the * and ? wildcards).
func match(item reflect.Value, filters []compiledFilter) bool {
	for _, f := range filters {
		var got []string
		switch {
		case f.tag != "" || f.tagKey:
			got = tagValues(item, f.tag, f.tagKey)
		default:
			got = values(item, f.path, nil)
		}
		if !anyMatch(got, f.values) {
			return false
		}
	}
	return true
}

func anyMatch(got, want []string) bool {
	for _, g := range got {
		for _, w := range want {
			if g == w {
				return true
			}
			if strings.ContainsAny(w, "*?") {
				if ok, _ := path.Match(w, g); ok {
					return true
				}
			}
		}
	}
	return false
}
