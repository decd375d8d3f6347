package resources

import (
	"net/url"
	"strings"

	"github.com/townsquare/townsquare/store"
)

// projection is a request's attributes / excludedAttributes (RFC 7644 §3.4.2.5), parsed
// once per request and applied to each canonical attribute map it returns.
type projection struct {
	include []attrRef // non-empty: return only these (plus what is always returned)
	exclude []attrRef
}

// attrRef is one entry of attributes= or excludedAttributes=: a top-level key of the
// canonical map (an extension URN for extension attributes) and an optional sub-path.
type attrRef struct {
	container string // "" for core attributes, else the extension URN
	attr      string
	sub       string
}

// parseProjection reads attributes and excludedAttributes from a query. Names are
// matched without regard to case, as RFC 7643 §2.1 asks; unknown names select nothing.
func parseProjection(q url.Values) projection {
	return projection{include: parseAttrList(q.Get("attributes")), exclude: parseAttrList(q.Get("excludedAttributes"))}
}

func parseAttrList(s string) []attrRef {
	var out []attrRef
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		// attributes takes attribute names, not filters; Microsoft's reference tests send
		// emails[type eq "work"], which is read as emails.
		if open := strings.IndexByte(raw, '['); open >= 0 {
			if end := strings.IndexByte(raw[open:], ']'); end >= 0 {
				raw = raw[:open] + raw[open+end+1:]
			} else {
				raw = raw[:open]
			}
		}
		var ref attrRef
		for _, urn := range []string{store.EnterpriseUserSchema, store.TownsquareUserSchema, store.UserSchema, store.GroupSchema} {
			ext := urn == store.EnterpriseUserSchema || urn == store.TownsquareUserSchema
			if len(raw) > len(urn) && strings.EqualFold(raw[:len(urn)], urn) && raw[len(urn)] == ':' {
				if ext {
					ref.container = urn
				}
				raw = raw[len(urn)+1:]
				break
			}
			if strings.EqualFold(raw, urn) && ext {
				ref.container, raw = urn, ""
				break
			}
		}
		ref.attr, ref.sub, _ = strings.Cut(raw, ".")
		out = append(out, ref)
	}
	return out
}

// excludes reports whether a top-level core attribute (such as "members") is left out, so
// that handlers can skip reading it at all.
func (p projection) excludes(attr string) bool {
	if len(p.include) > 0 {
		for _, r := range p.include {
			if r.container == "" && strings.EqualFold(r.attr, attr) {
				return false
			}
		}
		return true
	}
	for _, r := range p.exclude {
		if r.container == "" && r.sub == "" && strings.EqualFold(r.attr, attr) {
			return true
		}
	}
	return false
}

// apply filters m in place. "id" and "schemas" are not in m (they are always returned);
// neither is the password (never returned).
func (p projection) apply(m map[string]any) {
	if len(p.include) > 0 {
		kept := map[string]any{}
		for _, r := range p.include {
			copyRef(kept, m, r)
		}
		for k := range m {
			delete(m, k)
		}
		for k, v := range kept {
			m[k] = v
		}
		return
	}
	for _, r := range p.exclude {
		removeRef(m, r)
	}
}

// lookup finds a key in m without regard to case.
func lookup(m map[string]any, name string) (string, any, bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}

func copyRef(dst, src map[string]any, r attrRef) {
	if r.container != "" {
		ext, ok := src[r.container].(map[string]any)
		if !ok {
			return
		}
		d, _ := dst[r.container].(map[string]any)
		if d == nil {
			d = map[string]any{}
		}
		if r.attr == "" {
			dst[r.container] = ext
			return
		}
		copyRef(d, ext, attrRef{attr: r.attr, sub: r.sub})
		if len(d) > 0 {
			dst[r.container] = d
		}
		return
	}
	k, v, ok := lookup(src, r.attr)
	if !ok {
		return
	}
	if r.sub == "" {
		dst[k] = v
		return
	}
	switch v := v.(type) {
	case map[string]any:
		d, _ := dst[k].(map[string]any)
		if d == nil {
			d = map[string]any{}
		}
		if sk, sv, ok := lookup(v, r.sub); ok {
			d[sk] = sv
			dst[k] = d
		}
	case []any:
		// multi-valued: keep the sub-attribute of every element (merging with other
		// sub-attributes of the same attribute asked for in the same request)
		prev, _ := dst[k].([]any)
		out := make([]any, len(v))
		for i, el := range v {
			e, _ := el.(map[string]any)
			d := map[string]any{}
			if i < len(prev) {
				if pm, ok := prev[i].(map[string]any); ok {
					d = pm
				}
			}
			if sk, sv, ok := lookup(e, r.sub); ok {
				d[sk] = sv
			}
			out[i] = d
		}
		dst[k] = out
	}
}

func removeRef(m map[string]any, r attrRef) {
	target := m
	if r.container != "" {
		ext, ok := m[r.container].(map[string]any)
		if !ok {
			return
		}
		if r.attr == "" {
			delete(m, r.container)
			return
		}
		target = ext
		defer func() {
			if len(ext) == 0 {
				delete(m, r.container)
			}
		}()
	}
	k, v, ok := lookup(target, r.attr)
	if !ok {
		return
	}
	if r.sub == "" {
		delete(target, k)
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if sk, _, ok := lookup(v, r.sub); ok {
			delete(v, sk)
		}
	case []any:
		for _, el := range v {
			if e, ok := el.(map[string]any); ok {
				if sk, _, ok := lookup(e, r.sub); ok {
					delete(e, sk)
				}
			}
		}
	}
}

// wantsExternalID reports whether externalId (a common attribute, which render adds
// outside the map) should be returned.
func (p projection) wantsExternalID() bool { return !p.excludes("externalId") }
