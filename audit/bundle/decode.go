package bundle

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpnaudit/vpnaudit/audit"
)

// decodeValue stores the generic JSON value src (as produced by a
// json.Decoder with UseNumber) into dst, an SDK type. It implements the
// bundle format's reading rules:
//   - member names match exported field names case-insensitively, so the
//     CLI's PascalCase and CloudWatch Logs' camelCase both fit the SDK types;
//     unknown members are ignored;
//   - timestamps are RFC 3339 / ISO 8601 strings with any offset (also
//     `+0000` without a colon, as CloudWatch writes them) or epoch numbers
//     (seconds, or milliseconds when larger than 1e11);
//   - numbers may be given as strings and vice versa, booleans as "true";
//   - null leaves the zero value; interface-typed members (documents,
//     unions) are left nil.
//
// path names the position for error messages.
func decodeValue(dst reflect.Value, src any, path string) error {
	if src == nil {
		return nil
	}
	t := dst.Type()
	if t == timeType {
		tm, err := parseTime(src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		dst.Set(reflect.ValueOf(tm))
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		v := reflect.New(t.Elem())
		if err := decodeValue(v.Elem(), src, path); err != nil {
			return err
		}
		dst.Set(v)
	case reflect.Interface:
		// Documents and unions are not needed by the collector.
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", path, jsonKind(src))
		}
		fields := fieldsOf(t)
		for k, v := range m {
			idx, ok := fields[strings.ToLower(k)]
			if !ok {
				continue
			}
			if err := decodeValue(dst.Field(idx), v, path+"."+k); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := src.(string)
			if !ok {
				return fmt.Errorf("%s: want a base64 string, got %s", path, jsonKind(src))
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			dst.SetBytes(b)
			return nil
		}
		a, ok := src.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %s", path, jsonKind(src))
		}
		s := reflect.MakeSlice(t, len(a), len(a))
		for i, e := range a {
			if err := decodeValue(s.Index(i), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			return fmt.Errorf("%s: want an object, got %s", path, jsonKind(src))
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for k, v := range m {
			e := reflect.New(t.Elem()).Elem()
			if err := decodeValue(e, v, path+"."+k); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		dst.Set(out)
	case reflect.String:
		switch v := src.(type) {
		case string:
			dst.SetString(v)
		case json.Number:
			dst.SetString(v.String())
		case bool:
			dst.SetString(strconv.FormatBool(v))
		default:
			return fmt.Errorf("%s: want a string, got %s", path, jsonKind(src))
		}
	case reflect.Bool:
		switch v := src.(type) {
		case bool:
			dst.SetBool(v)
		case string:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: want a boolean, got %q", path, v)
			}
			dst.SetBool(b)
		default:
			return fmt.Errorf("%s: want a boolean, got %s", path, jsonKind(src))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, err := number(src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if f != math.Trunc(f) || dst.OverflowInt(int64(f)) {
			return fmt.Errorf("%s: %v does not fit an integer", path, src)
		}
		dst.SetInt(int64(f))
	case reflect.Float32, reflect.Float64:
		f, err := number(src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		dst.SetFloat(f)
	default:
		return fmt.Errorf("%s: cannot decode into %s", path, t)
	}
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

var fieldCache sync.Map // reflect.Type → map[string]int

// fieldsOf maps the lower-cased names of t's exported fields to their index.
func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() {
			m[strings.ToLower(f.Name)] = i
		}
	}
	fieldCache.Store(t, m)
	return m
}

func number(src any) (float64, error) {
	switch v := src.(type) {
	case json.Number:
		return v.Float64()
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("want a number, got %q", v)
		}
		return f, nil
	case float64:
		return v, nil
	case bool:
		return 0, fmt.Errorf("want a number, got %v", v)
	}
	return 0, fmt.Errorf("want a number, got %s", jsonKind(src))
}

// parseTime reads a bundle timestamp into UTC.
func parseTime(src any) (time.Time, error) {
	switch v := src.(type) {
	case string:
		return audit.ParseTimestamp(v)
	case json.Number, float64:
		f, err := number(v)
		if err != nil {
			return time.Time{}, err
		}
		return audit.Epoch(f), nil
	}
	return time.Time{}, fmt.Errorf("want a timestamp, got %s", jsonKind(src))
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// lookup returns m's member named key, matched case-insensitively.
func lookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
