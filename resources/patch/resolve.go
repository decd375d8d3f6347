package patch

import (
	"strings"
	"sync"

	"github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	fp "github.com/scim2/filter-parser/v2"
)

// commonAttributes is built once: schema.CommonAttributes compiles a regexp per attribute.
var commonAttributes = sync.OnceValue(schema.CommonAttributes)

// resolver maps client spellings of attribute names (any case, URN-prefixed, dotted) to
// the schema's attributes. It is the only place names are resolved.
type resolver struct {
	coreID string
	core   []schema.CoreAttribute // the core schema's attributes plus the common ones
	exts   []schema.Schema
}

func newResolver(s schema.Schema, exts []schema.Schema) *resolver {
	core := append([]schema.CoreAttribute(nil), s.Attributes...)
	for _, c := range commonAttributes() {
		if _, dup := findAttr(core, c.Name()); !dup {
			core = append(core, c)
		}
	}
	return &resolver{coreID: s.ID, core: core, exts: exts}
}

// target is a resolved PATCH path.
type target struct {
	ext       string // "" for the core schema, else the extension URN (its key in attrs)
	container bool   // the path is a bare schema URN: the op's value is an attribute set
	attr      schema.CoreAttribute
	sub       *schema.CoreAttribute // name.givenName, emails[...].value
	filter    fp.Expression         // emails[type eq "work"]
	match     predicate             // compiled filter; nil when filter is nil
}

// readOnlyExt reports whether every attribute of the extension id is readOnly (such as
// Townsquare's own, which the server derives): removing it is then a mutability error,
// as writing any of its attributes is.
func (r *resolver) readOnlyExt(id string) bool {
	for _, e := range r.exts {
		if e.ID != id {
			continue
		}
		for _, a := range e.Attributes {
			if a.Mutability() != "readOnly" {
				return false
			}
		}
		return len(e.Attributes) > 0
	}
	return false
}

// writable rejects operations on readOnly attributes (id, meta, groups, ...).
func (t target) writable() error {
	if t.container {
		return nil
	}
	if t.attr.Mutability() == "readOnly" {
		return errf(errors.ScimTypeMutability, "%s is readOnly", t.attr.Name())
	}
	if t.sub != nil && t.sub.Mutability() == "readOnly" {
		return errf(errors.ScimTypeMutability, "%s.%s is readOnly", t.attr.Name(), t.sub.Name())
	}
	return nil
}

func findAttr(attrs []schema.CoreAttribute, name string) (schema.CoreAttribute, bool) {
	for _, a := range attrs {
		if strings.EqualFold(a.Name(), name) {
			return a, true
		}
	}
	return schema.CoreAttribute{}, false
}

// schemaURN reports whether k is (in any case) the core schema's or an extension's URN,
// returning the canonical URN ("" meaning the core schema, whose attributes sit at the
// top level of attrs).
func (r *resolver) schemaURN(k string) (string, bool) {
	if r.coreID != "" && strings.EqualFold(k, r.coreID) {
		return "", true
	}
	for _, e := range r.exts {
		if strings.EqualFold(k, e.ID) {
			return e.ID, true
		}
	}
	return "", false
}

// resolvePath resolves a parsed PATCH path against the schemas.
func (r *resolver) resolvePath(p fp.Path) (target, error) {
	ap := p.AttributePath
	uri := ap.URI()
	// The parser splits a bare URN at its last colon ("...:2.0" + "User"): recognise it.
	if uri != "" && ap.SubAttribute == nil && p.ValueExpression == nil && p.SubAttribute == nil {
		if id, ok := r.schemaURN(uri + ":" + ap.AttributeName); ok {
			return target{ext: id, container: true}, nil
		}
	}
	var t target
	attrs := r.core
	if uri != "" {
		id, ok := r.schemaURN(uri)
		if !ok {
			return t, errf(errors.ScimTypeInvalidPath, "unknown schema %q", uri)
		}
		if id != "" {
			for _, e := range r.exts {
				if e.ID == id {
					attrs = e.Attributes
				}
			}
		}
		t.ext = id
	}
	a, ok := findAttr(attrs, ap.AttributeName)
	if !ok {
		return t, errf(errors.ScimTypeInvalidPath, "unknown attribute %q", p.String())
	}
	t.attr = a

	subName, hasSub := "", false
	if ap.SubAttribute != nil {
		subName, hasSub = *ap.SubAttribute, true
	}
	if p.SubAttribute != nil {
		if hasSub {
			return t, errf(errors.ScimTypeInvalidPath, "invalid path %q", p.String())
		}
		subName, hasSub = *p.SubAttribute, true
	}
	if p.ValueExpression != nil {
		if !a.MultiValued() || !a.HasSubAttributes() || ap.SubAttribute != nil {
			return t, errf(errors.ScimTypeInvalidPath, "%q: value filters apply only to multi-valued complex attributes", p.String())
		}
		m, err := compileFilter(a, p.ValueExpression)
		if err != nil {
			return t, err
		}
		t.filter, t.match = p.ValueExpression, m
	}
	if hasSub {
		sa, ok := findAttr(a.SubAttributes(), subName)
		if !ok {
			return t, errf(errors.ScimTypeInvalidPath, "unknown sub-attribute %q", p.String())
		}
		t.sub = &sa
	}
	return t, nil
}

// resolveKey resolves a key of a path-less value: "displayName", "NAME.GivenName",
// "urn:...:enterprise:2.0:User:employeeNumber", or (rarely) a full path with a filter.
// scope is the extension whose container the key sits in, "" at the top level.
func (r *resolver) resolveKey(k, scope string) (target, error) {
	if strings.ContainsAny(k, "[]") {
		p, err := ParsePath(k)
		if err != nil {
			return target{}, err
		}
		if p.AttributePath.URIPrefix == nil && scope != "" {
			s := scope
			p.AttributePath.URIPrefix = &s
		}
		return r.resolvePath(p)
	}
	// Split off a URN prefix by matching the known schema IDs rather than parsing, since
	// URNs contain colons and dots.
	uri, rest := "", k
	ids := []string{r.coreID}
	for _, e := range r.exts {
		ids = append(ids, e.ID)
	}
	for _, id := range ids {
		if id != "" && len(k) > len(id) && k[len(id)] == ':' && strings.EqualFold(k[:len(id)], id) {
			uri, rest = id, k[len(id)+1:]
			break
		}
	}
	if scope != "" {
		if uri == "" {
			uri = scope
		} else if !strings.EqualFold(uri, scope) {
			return target{}, errf(errors.ScimTypeInvalidPath, "%q is not an attribute of %s", k, scope)
		}
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if name == "" || strings.Contains(name, ":") || (hasSub && (sub == "" || strings.Contains(sub, "."))) {
		return target{}, errf(errors.ScimTypeInvalidPath, "invalid attribute name %q", k)
	}
	p := fp.Path{AttributePath: fp.AttributePath{AttributeName: name}}
	if uri != "" {
		p.AttributePath.URIPrefix = &uri
	}
	if hasSub {
		p.AttributePath.SubAttribute = &sub
	}
	return r.resolvePath(p)
}
