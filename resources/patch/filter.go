package patch

import (
	"strings"
	"time"

	"github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	fp "github.com/scim2/filter-parser/v2"
)

// predicate tests one element of a multi-valued complex attribute.
type predicate func(map[string]any) bool

// compileFilter compiles the value filter of a path such as emails[type eq "work"] against
// the sub-attributes of a. It is our own evaluator: elimity's PassesFilter panics on
// unexpected value types and mis-handles multi-valued attributes. Names resolve in any
// case, string comparisons honour the sub-attribute's caseExact, and elements whose
// values have an unexpected type simply do not match.
func compileFilter(a schema.CoreAttribute, e fp.Expression) (predicate, error) {
	switch x := e.(type) {
	case *fp.AttributeExpression:
		if x != nil {
			return compileCompare(a, x)
		}
	case *fp.LogicalExpression:
		if x == nil {
			break
		}
		l, err := compileFilter(a, x.Left)
		if err != nil {
			return nil, err
		}
		r, err := compileFilter(a, x.Right)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(string(x.Operator)) {
		case "and":
			return func(m map[string]any) bool { return l(m) && r(m) }, nil
		case "or":
			return func(m map[string]any) bool { return l(m) || r(m) }, nil
		}
	case *fp.NotExpression:
		if x == nil {
			break
		}
		in, err := compileFilter(a, x.Expression)
		if err != nil {
			return nil, err
		}
		return func(m map[string]any) bool { return !in(m) }, nil
	}
	return nil, errf(errors.ScimTypeInvalidPath, "unsupported expression in the %s filter", a.Name())
}

// filterSub resolves the attribute of a comparison inside a value filter.
func filterSub(a schema.CoreAttribute, x *fp.AttributeExpression) (schema.CoreAttribute, error) {
	ap := x.AttributePath
	if ap.URIPrefix != nil || ap.SubAttribute != nil {
		return schema.CoreAttribute{}, errf(errors.ScimTypeInvalidPath, "invalid attribute %q in the %s filter", ap.String(), a.Name())
	}
	sa, ok := findAttr(a.SubAttributes(), ap.AttributeName)
	if !ok {
		return sa, errf(errors.ScimTypeInvalidPath, "unknown attribute %q in the %s filter", ap.AttributeName, a.Name())
	}
	return sa, nil
}

func compileCompare(a schema.CoreAttribute, x *fp.AttributeExpression) (predicate, error) {
	sa, err := filterSub(a, x)
	if err != nil {
		return nil, err
	}
	name := sa.Name()
	value := func(m map[string]any) any { return m[name] }
	if name == "primary" && sa.AttributeType() == "boolean" {
		// RFC 7643 §2.4: "If not specified, the value of "primary" SHALL be assumed to be
		// "false"", so an element without it is primary false to a filter, as the list
		// filters of sqlstore read it (docs/conformance.md).
		value = func(m map[string]any) any {
			if v := m[name]; v != nil {
				return v
			}
			return false
		}
	}
	op := strings.ToLower(string(x.Operator))
	bad := func() (predicate, error) {
		return nil, errf(errors.ScimTypeInvalidPath, "cannot apply %q with %v to %s.%s (%s)", op, shorten(x.CompareValue), a.Name(), name, sa.AttributeType())
	}
	if op == "pr" {
		return func(m map[string]any) bool { return present(value(m)) }, nil
	}
	if x.CompareValue == nil { // "eq null": unassigned
		switch op {
		case "eq":
			return func(m map[string]any) bool { return !present(value(m)) }, nil
		case "ne":
			return func(m map[string]any) bool { return present(value(m)) }, nil
		}
		return bad()
	}

	// cmp compares an element's value with the filter's: ok is false when the element
	// has no comparable value.
	var cmp func(v any) (c int, ok bool)
	textual := false
	switch sa.AttributeType() {
	case "boolean":
		want, ok := toBool(x.CompareValue)
		if !ok || (op != "eq" && op != "ne") {
			return bad()
		}
		cmp = func(v any) (int, bool) {
			got, ok := toBool(v)
			if got == want {
				return 0, ok
			}
			return 1, ok
		}
	case "integer", "decimal":
		want, ok := toFloat(x.CompareValue)
		if _, isStr := x.CompareValue.(string); !ok || isStr {
			return bad()
		}
		cmp = func(v any) (int, bool) {
			if _, isStr := v.(string); isStr {
				return 0, false
			}
			got, ok := toFloat(v)
			return compareOrdered(got, want), ok
		}
	case "dateTime":
		want, ok := x.CompareValue.(string)
		if !ok {
			return bad()
		}
		wt, werr := time.Parse(time.RFC3339Nano, want)
		textual = true
		cmp = func(v any) (int, bool) {
			got, ok := v.(string)
			if !ok {
				return 0, false
			}
			if gt, err := time.Parse(time.RFC3339Nano, got); err == nil && werr == nil {
				return gt.Compare(wt), true
			}
			return strings.Compare(got, want), true
		}
	default: // string, reference, binary
		want, ok := x.CompareValue.(string)
		if !ok {
			return bad()
		}
		textual = true
		fold := !sa.CaseExact()
		if fold {
			want = strings.ToLower(want)
		}
		cmp = func(v any) (int, bool) {
			got, ok := v.(string)
			if fold {
				got = strings.ToLower(got)
			}
			return strings.Compare(got, want), ok
		}
	}

	switch op {
	case "eq":
		return func(m map[string]any) bool { c, ok := cmp(value(m)); return ok && c == 0 }, nil
	case "ne":
		return func(m map[string]any) bool { c, ok := cmp(value(m)); return !ok || c != 0 }, nil
	case "gt":
		return func(m map[string]any) bool { c, ok := cmp(value(m)); return ok && c > 0 }, nil
	case "ge":
		return func(m map[string]any) bool { c, ok := cmp(value(m)); return ok && c >= 0 }, nil
	case "lt":
		return func(m map[string]any) bool { c, ok := cmp(value(m)); return ok && c < 0 }, nil
	case "le":
		return func(m map[string]any) bool { c, ok := cmp(value(m)); return ok && c <= 0 }, nil
	case "co", "sw", "ew":
		if !textual {
			return bad()
		}
		want := x.CompareValue.(string)
		fold := !sa.CaseExact()
		if fold {
			want = strings.ToLower(want)
		}
		test := map[string]func(s, sub string) bool{"co": strings.Contains, "sw": strings.HasPrefix, "ew": strings.HasSuffix}[op]
		return func(m map[string]any) bool {
			got, ok := value(m).(string)
			if fold {
				got = strings.ToLower(got)
			}
			return ok && test(got, want)
		}, nil
	}
	return bad()
}

func compareOrdered(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// present is RFC 7644's "pr": assigned, not null, not an empty string or list/object.
func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// seedOf returns the element an add/replace creates when its filter matches nothing:
// the filter's eq conditions (type eq "work" and primary eq true gives
// {"type":"work","primary":true}). Only a conjunction of eq comparisons with values of
// the right type can seed; ok is false otherwise. A nil filter (emails.value) seeds an
// empty element.
func seedOf(a schema.CoreAttribute, e fp.Expression) (map[string]any, bool) {
	switch x := e.(type) {
	case nil:
		return map[string]any{}, true
	case *fp.AttributeExpression:
		if x == nil || !strings.EqualFold(string(x.Operator), "eq") || x.CompareValue == nil {
			return nil, false
		}
		sa, err := filterSub(a, x)
		if err != nil {
			return nil, false
		}
		v, err := coerceSimple(sa, x.CompareValue)
		if err != nil {
			return nil, false
		}
		return map[string]any{sa.Name(): v}, true
	case *fp.LogicalExpression:
		if x == nil || !strings.EqualFold(string(x.Operator), "and") {
			return nil, false
		}
		l, ok := seedOf(a, x.Left)
		if !ok {
			return nil, false
		}
		r, ok := seedOf(a, x.Right)
		if !ok {
			return nil, false
		}
		for k, v := range r {
			if old, dup := l[k]; dup && !equalValues(old, v) {
				return nil, false // type eq "work" and type eq "home"
			}
			l[k] = v
		}
		return l, true
	}
	return nil, false
}
