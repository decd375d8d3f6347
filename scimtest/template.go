package scimtest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Templates are plain strings with ${name} placeholders. A placeholder may carry one or
// more transforms: ${name|upper}, ${name|lower}, ${name|raw}. Names are letters, digits,
// '_' and '.'. An unknown name is an error, never an empty string.
//
// Where a template is used decides how a value is escaped:
//   - request bodies: JSON string escaping (placeholders sit inside JSON strings), unless |raw;
//   - the path part of a URL: path escaping; query values: query escaping;
//   - headers and expected values: no escaping.

type vars map[string]string

type escaper func(string) string

func noEscape(s string) string { return s }

// jsonEscape escapes s for use inside a JSON string literal.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// queryEscape is url.QueryEscape with spaces as %20, as Okta and Entra send them.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func (v vars) expand(tmpl string, esc escaper) (string, error) {
	if !strings.Contains(tmpl, "${") {
		return tmpl, nil
	}
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("template %q: unterminated ${", tmpl)
		}
		expr := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		parts := strings.Split(expr, "|")
		name := strings.TrimSpace(parts[0])
		val, ok := v[name]
		if !ok {
			return "", fmt.Errorf("template %q: variable ${%s} is not defined", tmpl, name)
		}
		e := esc
		for _, t := range parts[1:] {
			switch strings.TrimSpace(t) {
			case "upper":
				val = strings.ToUpper(val)
			case "lower":
				val = strings.ToLower(val)
			case "raw":
				e = noEscape
			default:
				return "", fmt.Errorf("template %q: unknown transform %q", tmpl, t)
			}
		}
		b.WriteString(e(val))
	}
}

// expandURL expands a "path?query" template: placeholders in the path are path-escaped;
// the query is split into key=value pairs at '&' and '=' before expansion, and each part
// is query-escaped after, so a filter can hold quotes, spaces and '='.
func (v vars) expandURL(tmpl string) (string, error) {
	p, q, hasQuery := strings.Cut(tmpl, "?")
	path, err := v.expand(p, url.PathEscape)
	if err != nil {
		return "", err
	}
	if !hasQuery {
		return path, nil
	}
	var parts []string
	for _, pair := range strings.Split(q, "&") {
		if pair == "" {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		ek, err := v.expand(k, noEscape)
		if err != nil {
			return "", err
		}
		ev, err := v.expand(val, noEscape)
		if err != nil {
			return "", err
		}
		parts = append(parts, queryEscape(ek)+"="+queryEscape(ev))
	}
	if len(parts) == 0 {
		return path, nil
	}
	return path + "?" + strings.Join(parts, "&"), nil
}

// expandValue expands every string inside an expected value (strings, lists, maps).
func (v vars) expandValue(x any) (any, error) {
	switch t := x.(type) {
	case string:
		return v.expand(t, noEscape)
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			e, err := v.expand(s, noEscape)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			ee, err := v.expandValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = ee
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			ee, err := v.expandValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = ee
		}
		return out, nil
	}
	return x, nil
}
