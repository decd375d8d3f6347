package patch

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
)

// Values reach Apply either canonical (from the attribute map: booleans already bool) or
// raw from the client (json.Number, string booleans, keys in any case). The coerce
// functions turn both into the canonical form, driven by the schema.

// coerceSingle converts one value of attribute a (one element if a is multi-valued).
func coerceSingle(a schema.CoreAttribute, v any) (any, error) {
	if a.AttributeType() == "complex" {
		return coerceComplex(a, v)
	}
	return coerceSimple(a, v)
}

// coerceMulti converts the value of a multi-valued attribute to a list. A single value is
// a one-element list (Entra sends Add members {"value":"id"}); null and empty elements are
// dropped.
func coerceMulti(a schema.CoreAttribute, v any) ([]any, error) {
	var raw []any
	switch x := v.(type) {
	case []any:
		raw = x
	case []map[string]any:
		for _, m := range x {
			raw = append(raw, m)
		}
	default:
		raw = []any{x}
	}
	out := make([]any, 0, len(raw))
	for _, e := range raw {
		if e == nil {
			continue
		}
		ce, err := coerceSingle(a, e)
		if err != nil {
			return nil, err
		}
		if m, ok := ce.(map[string]any); ok {
			dropNils(m)
			if len(m) == 0 {
				continue
			}
		}
		out = append(out, ce)
	}
	return out, nil
}

// coerceElement converts the value for a filtered multi-valued path without a
// sub-attribute (emails[type eq "work"]): one element, possibly wrapped in a list.
func coerceElement(a schema.CoreAttribute, v any) (map[string]any, error) {
	if l, ok := v.([]any); ok {
		if len(l) != 1 {
			return nil, errf(errors.ScimTypeInvalidValue, "%s: a filtered path takes a single value", a.Name())
		}
		v = l[0]
	}
	return coerceComplex(a, v)
}

// coerceComplex converts a complex value to a map keyed by canonical sub-attribute names.
// Unknown sub-attributes are ignored and readOnly ones dropped, as elimity does for
// POST/PUT. A null sub-attribute is kept as nil, meaning "clear it" to merge. A bare
// scalar is taken as the "value" sub-attribute: Entra sends manager as "271".
func coerceComplex(a schema.CoreAttribute, v any) (map[string]any, error) {
	subs := a.SubAttributes()
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, sv := range x {
			sa, ok := findAttr(subs, k)
			if !ok || sa.Mutability() == "readOnly" {
				continue
			}
			if _, dup := out[sa.Name()]; dup {
				return nil, errf(errors.ScimTypeInvalidSyntax, "%s: sub-attribute %q given twice", a.Name(), sa.Name())
			}
			if sv == nil {
				out[sa.Name()] = nil
				continue
			}
			cv, err := coerceSimple(sa, sv)
			if err != nil {
				return nil, errf(errors.ScimTypeInvalidValue, "%s.%s: %s", a.Name(), sa.Name(), detail(err))
			}
			out[sa.Name()] = cv
		}
		return out, nil
	case []any, []map[string]any, nil:
		return nil, errf(errors.ScimTypeInvalidValue, "%s needs an object value", a.Name())
	default:
		vs, ok := findAttr(subs, "value")
		if !ok {
			return nil, errf(errors.ScimTypeInvalidValue, "%s needs an object value", a.Name())
		}
		cv, err := coerceSimple(vs, x)
		if err != nil {
			return nil, errf(errors.ScimTypeInvalidValue, "%s.value: %s", a.Name(), detail(err))
		}
		return map[string]any{vs.Name(): cv}, nil
	}
}

// coerceSimple converts a value of a non-complex attribute.
func coerceSimple(a schema.CoreAttribute, v any) (any, error) {
	bad := func() error {
		return errf(errors.ScimTypeInvalidValue, "%s: %v is not a valid %s", a.Name(), shorten(v), a.AttributeType())
	}
	switch a.AttributeType() {
	case "boolean":
		if b, ok := toBool(v); ok {
			return b, nil
		}
		return nil, bad()
	case "integer":
		switch x := v.(type) {
		case json.Number:
			if i, err := x.Int64(); err == nil {
				return i, nil
			}
		case int:
			return int64(x), nil
		case int64:
			return x, nil
		}
		if f, ok := toFloat(v); ok && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return int64(f), nil
		}
		return nil, bad()
	case "decimal":
		if f, ok := toFloat(v); ok {
			return f, nil
		}
		return nil, bad()
	case "complex":
		return nil, bad()
	default: // string, reference, binary, dateTime
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, bad()
	}
}

// toBool accepts booleans and, for Entra, the strings "true"/"false" in any case.
func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch {
		case strings.EqualFold(x, "true"):
			return true, true
		case strings.EqualFold(x, "false"):
			return false, true
		}
	}
	return false, false
}

// toFloat accepts JSON numbers in every form the decoders produce, and numeric strings
// (elimity's SetAllowStringValues relaxes numbers for Entra too).
func toFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func dropNils(m map[string]any) {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
}

// toList returns a fresh []any holding the elements of a stored multi-valued attribute.
func toList(cur any) []any {
	switch x := cur.(type) {
	case nil:
		return nil
	case []any:
		return append([]any(nil), x...)
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out
	case map[string]any:
		return []any{x}
	}
	rv := reflect.ValueOf(cur)
	if rv.Kind() != reflect.Slice {
		return []any{cur}
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out
}

// deepCopyMap copies the maps and lists of a canonical attribute map, so Apply can work
// on the copy and leave attrs untouched on error. Other values are immutable or replaced
// wholesale, never modified in place.
func deepCopyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = deepCopyMap(e)
		}
		return out
	default:
		return v
	}
}

func equalValues(x, y any) bool { return reflect.DeepEqual(x, y) }

// detail extracts a ScimError's detail for nesting in another message.
func detail(err error) string {
	if se, ok := err.(errors.ScimError); ok {
		return se.Detail
	}
	return err.Error()
}

// shorten keeps client values in error details short.
func shorten(v any) any {
	if s, ok := v.(string); ok && len(s) > 64 {
		return strconv.Quote(s[:64] + "...")
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return v
}
