package scimtest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Assert is one expectation about a response. Build them with the functions below;
// string values in them are templates (see template.go).
type Assert struct {
	desc string
	fn   func(r *Response, v vars) error
}

func (a Assert) check(r *Response, v vars) error { return a.fn(r, v) }

// String describes the assertion.
func (a Assert) String() string { return a.desc }

// get looks path up in the body and reports path errors (a bug in a check) loudly.
func get(r *Response, path string) (any, bool, error) {
	v, ok, err := lookup(r.JSON, path)
	if err != nil {
		return nil, false, fmt.Errorf("bad path in check: %w", err)
	}
	return v, ok, nil
}

// normalize turns an expected Go value into what encoding/json would decode it to, so
// 3 and float64(3), or []string and []any, compare equal.
func normalize(x any) any {
	b, err := json.Marshal(x)
	if err != nil {
		return x
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return x
	}
	return out
}

func show(v any, ok bool) string {
	if !ok {
		return "<missing>"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Eq wants the value at path to equal want (after JSON normalisation).
func Eq(path string, want any) Assert {
	return Assert{desc: fmt.Sprintf("%s == %v", path, want), fn: func(r *Response, v vars) error {
		w, got, ok, err := expandAndGet(r, v, path, want)
		if err != nil {
			return err
		}
		if !ok || !reflect.DeepEqual(got, w) {
			return fmt.Errorf("%s: want %s, got %s", path, show(w, true), show(got, ok))
		}
		return nil
	}}
}

// EqFold wants a string at path equal to want, ignoring case.
func EqFold(path string, want string) Assert {
	return Assert{desc: fmt.Sprintf("%s ==(fold) %v", path, want), fn: func(r *Response, v vars) error {
		w, err := v.expand(want, noEscape)
		if err != nil {
			return err
		}
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		s, isStr := got.(string)
		if !ok || !isStr || !strings.EqualFold(s, w) {
			return fmt.Errorf("%s: want %q (any case), got %s", path, w, show(got, ok))
		}
		return nil
	}}
}

// Ne wants the value at path to be present and different from want.
func Ne(path string, want any) Assert {
	return Assert{desc: fmt.Sprintf("%s != %v", path, want), fn: func(r *Response, v vars) error {
		w, got, ok, err := expandAndGet(r, v, path, want)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: missing", path)
		}
		if reflect.DeepEqual(got, w) {
			return fmt.Errorf("%s: want a value other than %s", path, show(w, true))
		}
		return nil
	}}
}

// OptEq wants the value at path to equal want if it is present at all.
func OptEq(path string, want any) Assert {
	return Assert{desc: fmt.Sprintf("%s == %v if present", path, want), fn: func(r *Response, v vars) error {
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		if isAbsent(got, ok) {
			return nil
		}
		return Eq(path, want).fn(r, v)
	}}
}

// Exists wants a value at path that is not null and not an empty array.
func Exists(path string) Assert {
	return Assert{desc: path + " exists", fn: func(r *Response, _ vars) error {
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		if isAbsent(got, ok) {
			return fmt.Errorf("%s: want a value, got %s", path, show(got, ok))
		}
		return nil
	}}
}

// NonEmpty wants a non-empty string at path.
func NonEmpty(path string) Assert {
	return Assert{desc: path + " is a non-empty string", fn: func(r *Response, _ vars) error {
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		if s, isStr := got.(string); !ok || !isStr || strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s: want a non-empty string, got %s", path, show(got, ok))
		}
		return nil
	}}
}

// Absent wants path to be unassigned: missing, null or an empty array (RFC 7643 §2.5).
func Absent(path string) Assert {
	return Assert{desc: path + " is absent", fn: func(r *Response, _ vars) error {
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		if !isAbsent(got, ok) {
			return fmt.Errorf("%s: want it absent, got %s", path, show(got, ok))
		}
		return nil
	}}
}

// Contains wants an array at path with an element equal to want.
func Contains(path string, want any) Assert {
	return Assert{desc: fmt.Sprintf("%s contains %v", path, want), fn: func(r *Response, v vars) error {
		w, got, ok, err := expandAndGet(r, v, path, want)
		if err != nil {
			return err
		}
		arr, isArr := got.([]any)
		if !ok || !isArr {
			return fmt.Errorf("%s: want an array containing %s, got %s", path, show(w, true), show(got, ok))
		}
		for _, e := range arr {
			if reflect.DeepEqual(e, w) {
				return nil
			}
		}
		return fmt.Errorf("%s: want it to contain %s, got %s", path, show(w, true), show(got, ok))
	}}
}

// Set wants the strings at path (usually a [*] path) to be exactly want, in any order,
// each exactly once. A missing value counts as the empty set.
func Set(path string, want ...string) Assert {
	return Assert{desc: fmt.Sprintf("%s is the set %v", path, want), fn: func(r *Response, v vars) error {
		var w []string
		for _, s := range want {
			e, err := v.expand(s, noEscape)
			if err != nil {
				return err
			}
			w = append(w, e)
		}
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		var g []string
		if !isAbsent(got, ok) {
			arr, isArr := got.([]any)
			if !isArr {
				return fmt.Errorf("%s: want an array, got %s", path, show(got, ok))
			}
			for _, e := range arr {
				g = append(g, scalarString(e))
			}
		}
		missing, extra := diffMultiset(w, g)
		if len(missing) == 0 && len(extra) == 0 {
			return nil
		}
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, fmt.Sprintf("missing %q", missing))
		}
		if len(extra) > 0 {
			parts = append(parts, fmt.Sprintf("unexpected %q", extra))
		}
		return fmt.Errorf("%s: want exactly %q, got %q (%s)", path, w, g, strings.Join(parts, ", "))
	}}
}

// diffMultiset returns the elements of want not in got and of got not in want,
// counting duplicates.
func diffMultiset(want, got []string) (missing, extra []string) {
	count := map[string]int{}
	for _, s := range got {
		count[s]++
	}
	for _, s := range want {
		if count[s] > 0 {
			count[s]--
		} else {
			missing = append(missing, s)
		}
	}
	for s, n := range count {
		for ; n > 0; n-- {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	return missing, extra
}

// Len wants an array of n elements at path.
func Len(path string, n int) Assert {
	return Assert{desc: fmt.Sprintf("len(%s) == %d", path, n), fn: func(r *Response, _ vars) error {
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		arr, isArr := got.([]any)
		if !ok || !isArr || len(arr) != n {
			return fmt.Errorf("%s: want an array of %d, got %s", path, n, show(got, ok))
		}
		return nil
	}}
}

// HasHeader wants a non-empty response header.
func HasHeader(name string) Assert {
	return Assert{desc: "header " + name, fn: func(r *Response, _ vars) error {
		if strings.TrimSpace(r.Header.Get(name)) == "" {
			return fmt.Errorf("want a %s header, got none", name)
		}
		return nil
	}}
}

// HeaderEq wants a response header equal to want.
func HeaderEq(name, want string) Assert {
	return Assert{desc: "header " + name + " == " + want, fn: func(r *Response, v vars) error {
		w, err := v.expand(want, noEscape)
		if err != nil {
			return err
		}
		if got := r.Header.Get(name); got != w {
			return fmt.Errorf("header %s: want %q, got %q", name, w, got)
		}
		return nil
	}}
}

// HeaderNe wants a response header present and different from want.
func HeaderNe(name, notWant string) Assert {
	return Assert{desc: "header " + name + " != " + notWant, fn: func(r *Response, v vars) error {
		w, err := v.expand(notWant, noEscape)
		if err != nil {
			return err
		}
		got := r.Header.Get(name)
		if got == "" {
			return fmt.Errorf("want a %s header, got none", name)
		}
		if got == w {
			return fmt.Errorf("header %s: want a value other than %q", name, w)
		}
		return nil
	}}
}

// Func is an assertion written in Go, for what the others cannot say.
func Func(desc string, fn func(r *Response) error) Assert {
	return Assert{desc: desc, fn: func(r *Response, _ vars) error { return fn(r) }}
}

// All groups assertions, so tables can share them.
func All(groups ...[]Assert) []Assert {
	var out []Assert
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// expandAndGet expands the wanted value's variables and reads the value at path: the
// common first step of the comparing assertions.
func expandAndGet(r *Response, v vars, path string, want any) (w, got any, ok bool, err error) {
	if w, err = v.expandValue(normalize(want)); err != nil {
		return nil, nil, false, err
	}
	got, ok, err = get(r, path)
	return w, got, ok, err
}
