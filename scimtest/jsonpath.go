package scimtest

import (
	"fmt"
	"strconv"
	"strings"
)

// A path picks a value out of a decoded JSON document. The language is small on purpose:
//
//	name.givenName               object keys, dot-separated
//	emails[0].value              array index
//	["urn:…:2.0:User"].manager   quoted key (for keys holding dots, such as schema URNs)
//	emails[type=work].value      first array element whose key equals the value
//	Resources[*].id              every element: the result is a list
//	Resources.#                  length of an array (or number of keys of an object)
//
// Object keys match exactly first and then case-insensitively, because SCIM attribute
// names are case-insensitive (RFC 7643 §2.1). Filter values ([type=work]) match exactly.

type segKind int

const (
	segKey segKind = iota
	segIndex
	segAll
	segFilter
	segLen
)

type segment struct {
	kind  segKind
	key   string // segKey: the key; segFilter: the element key
	value string // segFilter: the wanted value
	index int
}

func parsePath(p string) ([]segment, error) {
	if p == "" {
		return nil, nil // the whole document
	}
	var segs []segment
	i := 0
	first := true
	for i < len(p) {
		switch {
		case p[i] == '[':
			end, seg, err := parseBracket(p, i)
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
			i = end
		case p[i] == '.' && !first:
			i++
			if i >= len(p) || p[i] == '.' || p[i] == '[' {
				return nil, fmt.Errorf("path %q: empty name at offset %d", p, i)
			}
			fallthrough
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				if p[j] == ']' {
					return nil, fmt.Errorf("path %q: stray ']' at offset %d", p, j)
				}
				j++
			}
			if j == i {
				return nil, fmt.Errorf("path %q: empty name at offset %d", p, i)
			}
			name := p[i:j]
			if name == "#" {
				segs = append(segs, segment{kind: segLen})
			} else {
				segs = append(segs, segment{kind: segKey, key: name})
			}
			i = j
		}
		first = false
		if len(segs) > 0 && segs[len(segs)-1].kind == segLen && i < len(p) {
			return nil, fmt.Errorf("path %q: '#' must come last", p)
		}
	}
	return segs, nil
}

// parseBracket parses the bracket starting at p[i] == '['.
func parseBracket(p string, i int) (int, segment, error) {
	body := p[i+1:]
	if strings.HasPrefix(body, `"`) {
		end := strings.Index(body[1:], `"]`)
		if end < 0 {
			return 0, segment{}, fmt.Errorf("path %q: unterminated quoted key", p)
		}
		return i + 1 + 1 + end + 2, segment{kind: segKey, key: body[1 : 1+end]}, nil
	}
	end := strings.IndexByte(body, ']')
	if end < 0 {
		return 0, segment{}, fmt.Errorf("path %q: unterminated '['", p)
	}
	sel := body[:end]
	next := i + 1 + end + 1
	switch {
	case sel == "*":
		return next, segment{kind: segAll}, nil
	case strings.Contains(sel, "="):
		k, v, _ := strings.Cut(sel, "=")
		if k == "" {
			return 0, segment{}, fmt.Errorf("path %q: empty key in [%s]", p, sel)
		}
		return next, segment{kind: segFilter, key: k, value: v}, nil
	default:
		n, err := strconv.Atoi(sel)
		if err != nil || n < 0 {
			return 0, segment{}, fmt.Errorf("path %q: bad selector [%s]", p, sel)
		}
		return next, segment{kind: segIndex, index: n}, nil
	}
}

// lookup evaluates path against doc. ok is false when the value is not there; a JSON
// null is returned as (nil, true).
func lookup(doc any, path string) (any, bool, error) {
	segs, err := parsePath(path)
	if err != nil {
		return nil, false, err
	}
	v, ok := eval(doc, segs)
	return v, ok, nil
}

func eval(v any, segs []segment) (any, bool) {
	if len(segs) == 0 {
		return v, true
	}
	s, rest := segs[0], segs[1:]
	switch s.kind {
	case segKey:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		child, ok := getKey(m, s.key)
		if !ok {
			return nil, false
		}
		return eval(child, rest)
	case segIndex:
		a, ok := v.([]any)
		if !ok || s.index >= len(a) {
			return nil, false
		}
		return eval(a[s.index], rest)
	case segFilter:
		a, ok := v.([]any)
		if !ok {
			return nil, false
		}
		for _, e := range a {
			m, ok := e.(map[string]any)
			if !ok {
				continue
			}
			if got, ok := getKey(m, s.key); ok && scalarString(got) == s.value {
				return eval(e, rest)
			}
		}
		return nil, false
	case segAll:
		out := []any{}
		a, ok := v.([]any)
		if !ok {
			if v == nil {
				return out, true // absent or null list: no elements
			}
			return nil, false
		}
		for _, e := range a {
			if r, ok := eval(e, rest); ok {
				out = append(out, r)
			}
		}
		return out, true
	case segLen:
		switch t := v.(type) {
		case []any:
			return float64(len(t)), true
		case map[string]any:
			return float64(len(t)), true
		}
		return nil, false
	}
	return nil, false
}

func getKey(m map[string]any, key string) (any, bool) {
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

// scalarString renders a JSON scalar the way a path filter value is written.
func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	default:
		return fmt.Sprint(t)
	}
}

// isAbsent reports whether a looked-up value counts as unassigned: missing, null, or an
// empty array are equivalent (RFC 7643 §2.5).
func isAbsent(v any, ok bool) bool {
	if !ok || v == nil {
		return true
	}
	if a, isArr := v.([]any); isArr && len(a) == 0 {
		return true
	}
	return false
}
