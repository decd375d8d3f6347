// Package patch reads SCIM PATCH requests (ParseRequest) and applies their operations
// (RFC 7644 §3.5.2) to a resource held as a canonical attribute map (Compile, then
// Program.Apply; Apply does both), or, for a group's members, turns them into the store's
// member operations (SplitGroupOps). Paths and values arrive in the client's spelling
// (any case, dotted or URN-prefixed keys, string booleans); names are resolved and values
// checked against the schemas when compiling, before the resource is read, and the
// compiled program only changes the map.
//
// A request's size is bounded (resources/limits: operations, member ids, path length
// and nesting), a multi-valued attribute holds at most store.MaxMultiValues elements
// after every operation, and applying costs time linear in the elements involved.
//
// The canonical map uses the schema's attribute names exactly: simple attributes hold
// string/bool/int64/float64, complex ones map[string]any, multi-valued ones []any, and an
// extension's attributes live in a nested map under the extension's URN. An attribute that
// is absent, emptied or removed is a missing key.
//
// Decisions where RFC 7644 is silent, ambiguous or contradicted by real IdPs:
//
//   - add/replace on a value-filtered path that matches nothing creates the element,
//     seeded with the filter's eq conditions (Entra sends replace emails[type eq
//     "work"].value for users without a work email). Filters that are not a conjunction
//     of eq comparisons cannot seed an element and give noTarget.
//   - remove on a value-filtered path that matches nothing succeeds as a no-op. RFC 7644
//     §3.5.2.2 is read by some as noTarget, but Okta and Entra retry failed operations
//     every cycle, and "it is already gone" is the state they want.
//   - replace (like add) on a complex value — a single-valued complex attribute or the
//     elements matched by a filter — merges the given sub-attributes and leaves the others
//     unchanged (RFC 7644 §3.5.2.3, complex attributes). A sub-attribute given as null is
//     cleared. To replace a whole multi-valued attribute, target it without a filter.
//   - Removing a required attribute (userName, Group displayName) is invalidValue: the
//     resource would lack a required value (RFC 7644 §3.12).
//   - Removing active deletes the key like any other optional attribute. The handler then
//     applies its default for an absent active (the same as a POST without active); Apply
//     never turns a removal into active=false.
//   - In a path-less value, a key whose value is null removes that attribute (RFC 7643
//     §2.5: null and unassigned are equivalent).
//   - A remove on a whole multi-valued attribute that carries a value list removes only the
//     listed elements (matched by "value" where present), never the whole attribute; this
//     is Entra's member-removal form applied generically.
//   - readOnly attributes (id, meta, groups, ...) named by a path give mutability; in a
//     path-less value the keys id, schemas and meta are ignored (Okta sends id), while
//     other readOnly keys still give mutability. readOnly sub-attributes inside a value
//     (manager.displayName) are dropped silently, as elimity does for POST and PUT.
//   - immutable attributes may be set while unassigned; changing or removing an existing
//     value gives mutability.
//   - At most one element of a multi-valued attribute is primary (RFC 7643 §2.4): when an
//     operation writes an element with primary=true, the others that were primary become
//     primary=false. If one operation writes several primaries, the last one wins.
//
// Unsupported: filters on simple (non-complex) multi-valued attributes (none are served),
// attribute paths inside value filters (emails[type.x eq ...]) and nested value paths.
package patch

import (
	"context"
	stderrors "errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"

	"github.com/townsquare/townsquare/store"
)

const (
	opAdd     = "add"
	opRemove  = "remove"
	opReplace = "replace"
)

// Apply applies ops in order to attrs (mutating it): Compile, then Program.Apply. s is
// the resource's core schema and exts its extension schemas, whose attributes are kept in
// attrs under the extension's ID. The common attributes (id, externalId, meta, schemas)
// are known implicitly.
//
// Apply is atomic: it works on a deep copy and only replaces the contents of attrs when
// every operation succeeded. Lists it rewrites are []any. Every error is an
// errors.ScimError value.
func Apply(attrs map[string]any, ops []Operation, s schema.Schema, exts ...schema.Schema) error {
	return Compile(ops, s, exts...).Apply(context.Background(), attrs)
}

// Program is a PATCH request made ready to apply: every path and key resolved against
// the schemas, every value coerced to its attribute's type. Compiling holds all the work
// that does not depend on the resource, so that a caller can do it before the store's
// write transaction and keep only Apply inside. A Program is not changed by Apply and
// may be applied again (a transaction that lost a race runs again).
type Program struct {
	ops []compiledOp
}

// compiledOp is one operation: the changes it makes, in order, then the error its
// compilation met, if any. The error is reported when Apply reaches it, after the
// earlier changes, so Apply reports the same error for a request whether or not it was
// compiled first.
type compiledOp struct {
	steps []step
	err   error
}

// step is one change to one resolved target. v is the value coerced for the target
// (see prepare); Apply copies it before use, so the Program stays as compiled.
type step struct {
	kind    string
	t       target
	v       any
	dropExt string // set: the step removes this whole extension instead
}

// Compile resolves and coerces ops against s and exts. It does not fail: an operation
// that cannot be compiled fails when Apply reaches it.
func Compile(ops []Operation, s schema.Schema, exts ...schema.Schema) *Program {
	if len(ops) == 0 {
		return &Program{} // a group PATCH of members only: no resolver to build
	}
	r := newResolver(s, exts)
	p := &Program{ops: make([]compiledOp, len(ops))}
	for i, op := range ops {
		c := &p.ops[i]
		c.err = r.compileOp(c, op)
	}
	return p
}

// Apply applies the program to attrs (mutating it), atomically as the package-level
// Apply does. It stops, returning ctx's error, when ctx ends: the client is gone.
func (p *Program) Apply(ctx context.Context, attrs map[string]any) error {
	work := deepCopyMap(attrs)
	for i, op := range p.ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, st := range op.steps {
			if err := st.apply(work); err != nil {
				return atOp(i, err)
			}
		}
		if op.err != nil {
			return atOp(i, op.err)
		}
	}
	if attrs == nil {
		if len(work) == 0 {
			return nil
		}
		// A nil map cannot be filled in place; this is a caller bug, not a client error.
		return errors.ScimError{Status: http.StatusInternalServerError, Detail: "patch: nil attribute map"}
	}
	clear(attrs)
	maps.Copy(attrs, work)
	return nil
}

// LastSet returns the value the program's last change to the core schema's top-level
// attribute name (its canonical name) sets, and false when no change names it or the
// last one removes it. For an attribute the stored resource never holds (the writeOnly
// password), that is the value Apply leaves, known before Apply runs.
func (p *Program) LastSet(name string) (any, bool) {
	var v any
	var set bool
	for _, op := range p.ops {
		for _, st := range op.steps {
			if st.dropExt == "" && st.t.ext == "" && !st.t.container && st.t.sub == nil && st.t.attr.Name() == name {
				v, set = st.v, st.kind != opRemove
			}
		}
	}
	return v, set
}

func (st step) apply(work map[string]any) error {
	if st.dropExt != "" {
		delete(work, st.dropExt)
		return nil
	}
	return applyTarget(work, st.kind, st.t, deepCopy(st.v))
}

// asScimType is err, a ScimError, with another scimType.
func asScimType(err error, t errors.ScimType) error {
	var se errors.ScimError
	if stderrors.As(err, &se) {
		se.ScimType = t
		return se
	}
	return err
}

// atOp prefixes the error detail with the 1-based operation index, so an IdP admin can
// see which operation of a batch failed.
func atOp(i int, err error) error {
	var se errors.ScimError
	if !stderrors.As(err, &se) {
		se = errors.ScimError{Status: http.StatusBadRequest, ScimType: errors.ScimTypeInvalidValue, Detail: err.Error()}
	}
	se.Detail = fmt.Sprintf("operation %d: %s", i+1, se.Detail)
	return se
}

// errf builds a 400 with the given scimType.
func errf(t errors.ScimType, format string, args ...any) error {
	return errors.ScimError{ScimType: t, Status: http.StatusBadRequest, Detail: fmt.Sprintf(format, args...)}
}

// compileOp appends op's steps to c.
func (r *resolver) compileOp(c *compiledOp, op Operation) error {
	kind := strings.ToLower(op.Op)
	switch kind {
	case opAdd, opReplace, opRemove:
	default:
		return errf(errors.ScimTypeInvalidValue, "unknown op %q", op.Op)
	}
	if op.Path == nil {
		if kind == opRemove {
			return errf(errors.ScimTypeNoTarget, "remove needs a path")
		}
		return r.compileValueMap(c, kind, "", true, op.Value)
	}
	t, err := r.resolvePath(*op.Path)
	if err != nil {
		return err
	}
	if t.container {
		// The path is a bare schema URN: the value is that schema's attribute set.
		if kind == opRemove {
			if t.ext == "" {
				return errf(errors.ScimTypeNoTarget, "cannot remove the resource itself")
			}
			if r.readOnlyExt(t.ext) {
				return errf(errors.ScimTypeMutability, "%s is readOnly", t.ext)
			}
			c.steps = append(c.steps, step{dropExt: t.ext})
			return nil
		}
		return r.compileValueMap(c, kind, t.ext, false, op.Value)
	}
	return c.add(kind, t, op.Value)
}

// add appends one change to one target, its value prepared.
func (c *compiledOp) add(kind string, t target, v any) error {
	pv, err := prepare(kind, t, v)
	if err != nil {
		return err
	}
	c.steps = append(c.steps, step{kind: kind, t: t, v: pv})
	return nil
}

// compileValueMap compiles a path-less add/replace: every key of v names an attribute
// (in any case, optionally dotted or URN-prefixed) and is applied as if it were the
// path. scope is "" for the core schema or an extension URN; containers says whether
// keys that are whole schema URNs ({"urn:...:enterprise:2.0:User": {...}}) may appear.
func (r *resolver) compileValueMap(c *compiledOp, kind, scope string, containers bool, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil && scope != "" {
			c.steps = append(c.steps, step{dropExt: scope}) // {"urn:...:User": null}: unassign the whole extension
			return nil
		}
		return errf(errors.ScimTypeInvalidValue, "an operation without a path needs an object value")
	}
	// Sorted keys make the result and the reported error independent of map order.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]string{}
	for _, k := range keys {
		x := m[k]
		if scope == "" && isIgnoredKey(k) {
			continue
		}
		if containers {
			if id, ok := r.schemaURN(k); ok {
				if err := r.compileValueMap(c, kind, id, false, x); err != nil {
					return err
				}
				continue
			}
		}
		t, err := r.resolveKey(k, scope)
		if err != nil {
			// A key of a path-less value names an attribute the value sets: one the
			// schema does not have makes the value invalid (RFC 7644 §3.5.2.1).
			return asScimType(err, errors.ScimTypeInvalidValue)
		}
		if t.container {
			return errf(errors.ScimTypeInvalidPath, "unexpected schema container %q", k)
		}
		if t.filter == nil {
			// Two spellings of one attribute ({"active":true,"ACTIVE":false}) are ambiguous.
			ck := t.ext + ":" + t.attr.Name()
			if t.sub != nil {
				ck += "." + t.sub.Name()
			}
			if prev, dup := seen[ck]; dup {
				return errf(errors.ScimTypeInvalidSyntax, "keys %q and %q name the same attribute", prev, k)
			}
			seen[ck] = k
		}
		opKind := kind
		if x == nil {
			opKind = opRemove // null means unassigned (RFC 7643 §2.5)
		}
		if err := c.add(opKind, t, x); err != nil {
			return err
		}
	}
	return nil
}

// isIgnoredKey reports keys of a path-less value that are not client-writable but are
// routinely echoed by IdPs (Okta sends "id" when renaming a group).
func isIgnoredKey(k string) bool {
	return strings.EqualFold(k, "id") || strings.EqualFold(k, "schemas") || strings.EqualFold(k, "meta")
}

// prepare checks that t may be written and coerces v to what applying kind to t takes:
// nothing for a remove (but a list of elements to remove from a whole multi-valued
// attribute), the elements of a whole multi-valued attribute ([]any), one element or
// sub-attribute of one, or a single value (a map for a complex attribute). These are
// the checks and conversions that do not depend on the resource.
func prepare(kind string, t target, v any) (any, error) {
	if err := t.writable(); err != nil {
		return nil, err
	}
	a := t.attr
	name := a.Name()
	switch {
	case a.MultiValued() && t.match == nil && t.sub == nil: // the whole attribute: emails, members
		if v == nil {
			if kind == opRemove {
				return nil, nil
			}
			return nil, errf(errors.ScimTypeInvalidValue, "%s %s needs a value", kind, name)
		}
		return coerceMulti(a, v)
	case kind == opRemove:
		return nil, nil
	case a.MultiValued(): // a filter, a sub-attribute, or both
		if v == nil {
			return nil, errf(errors.ScimTypeInvalidValue, "%s %s needs a value", kind, name)
		}
		if t.sub != nil {
			return coerceSingle(*t.sub, v)
		}
		return coerceElement(a, v)
	case t.sub != nil:
		if v == nil {
			return nil, errf(errors.ScimTypeInvalidValue, "%s %s.%s needs a value", kind, name, t.sub.Name())
		}
		return coerceSingle(*t.sub, v)
	default:
		if v == nil {
			return nil, errf(errors.ScimTypeInvalidValue, "%s %s needs a value", kind, name)
		}
		if a.AttributeType() == "complex" {
			return coerceComplex(a, v)
		}
		return coerceSimple(a, v)
	}
}

// applyTarget applies one operation to one resolved target; v is prepared (prepare).
func applyTarget(work map[string]any, kind string, t target, v any) error {
	c := work
	if t.ext != "" {
		m, ok := work[t.ext].(map[string]any)
		if !ok {
			if kind == opRemove {
				return nil
			}
			m = map[string]any{}
		}
		c = m
		// Keep the extension key only while it holds something.
		defer func() {
			if len(m) == 0 {
				delete(work, t.ext)
			} else {
				work[t.ext] = m
			}
		}()
	}
	switch {
	case t.attr.MultiValued():
		return applyMulti(c, kind, t, v)
	case t.sub != nil:
		return applySub(c, kind, t.attr, *t.sub, v)
	default:
		return applySingle(c, kind, t.attr, v)
	}
}

// applySingle handles a whole single-valued attribute, simple or complex; v is
// prepared: a map for a complex attribute, else the value.
func applySingle(c map[string]any, kind string, a schema.CoreAttribute, v any) error {
	name := a.Name()
	cur, present := c[name]
	if kind == opRemove {
		if a.Required() {
			return errf(errors.ScimTypeInvalidValue, "%s is required and cannot be removed", name)
		}
		if present && cur != nil && isImmutable(a) {
			return errf(errors.ScimTypeMutability, "%s is immutable", name)
		}
		delete(c, name)
		return nil
	}
	if a.AttributeType() == "complex" {
		nv, _ := v.(map[string]any)
		base, _ := cur.(map[string]any)
		if base == nil {
			base = map[string]any{}
		}
		if err := merge(a, base, nv); err != nil {
			return err
		}
		if len(base) == 0 {
			delete(c, name)
		} else {
			c[name] = base
		}
		return nil
	}
	if present && cur != nil && isImmutable(a) && !equalValues(cur, v) {
		return errf(errors.ScimTypeMutability, "%s is immutable", name)
	}
	c[name] = v
	return nil
}

// applySub handles a sub-attribute of a single-valued complex attribute (name.givenName);
// v is the sub-attribute's value, prepared.
func applySub(c map[string]any, kind string, a, sub schema.CoreAttribute, v any) error {
	name, sn := a.Name(), sub.Name()
	m, _ := c[name].(map[string]any)
	if kind == opRemove {
		if m == nil {
			return nil
		}
		if sub.Required() {
			return errf(errors.ScimTypeInvalidValue, "%s.%s is required and cannot be removed", name, sn)
		}
		if old, ok := m[sn]; ok && old != nil && isImmutable(sub) {
			return errf(errors.ScimTypeMutability, "%s.%s is immutable", name, sn)
		}
		delete(m, sn)
		if len(m) == 0 {
			delete(c, name)
		}
		return nil
	}
	if m == nil {
		m = map[string]any{}
		c[name] = m
	}
	if old, ok := m[sn]; ok && old != nil && isImmutable(sub) && !equalValues(old, v) {
		return errf(errors.ScimTypeMutability, "%s.%s is immutable", name, sn)
	}
	m[sn] = v
	return nil
}

// applyMulti handles every path shape on a multi-valued attribute; v is prepared (the
// elements, for the whole attribute). Its cost is linear in the attribute's elements and
// the operation's: elements are compared by key (elemKey), never pairwise. An attribute
// left with more than store.MaxMultiValues elements is invalidValue, so that no
// operation starts on a longer list.
func applyMulti(c map[string]any, kind string, t target, v any) error {
	a := t.attr
	name := a.Name()
	list := toList(c[name])
	var touched []int // elements written by this op, for the primary rule

	if t.match == nil && t.sub == nil {
		// The whole attribute: emails, members.
		switch kind {
		case opRemove:
			if v == nil {
				delete(c, name)
				return nil
			}
			list = removeItems(a, list, v.([]any))
		case opAdd, opReplace:
			if kind == opReplace {
				list = list[:0:0]
			}
			at := make(map[string]int, len(list))
			for i, e := range list {
				if _, dup := at[elemKey(e)]; !dup {
					at[elemKey(e)] = i
				}
			}
			for _, it := range v.([]any) {
				k := elemKey(it)
				if i, dup := at[k]; dup {
					touched = append(touched, i) // exact duplicate: keep one, still the one written
					continue
				}
				if len(list) >= store.MaxMultiValues {
					return tooMany(name)
				}
				at[k] = len(list)
				list = append(list, it)
				touched = append(touched, len(list)-1)
			}
		}
	} else {
		// A filter (emails[type eq "work"]), a sub-attribute (emails.value), or both.
		match := t.match
		if match == nil {
			match = func(map[string]any) bool { return true }
		}
		var hits []int
		for i, e := range list {
			if m, ok := e.(map[string]any); ok && match(m) {
				hits = append(hits, i)
			}
		}
		if kind == opRemove {
			if len(hits) == 0 {
				return nil // idempotent; see the package comment
			}
			for _, i := range hits {
				m := list[i].(map[string]any)
				if t.sub == nil {
					list[i] = nil
					continue
				}
				sn := t.sub.Name()
				if t.sub.Required() {
					return errf(errors.ScimTypeInvalidValue, "%s.%s is required and cannot be removed", name, sn)
				}
				if old, ok := m[sn]; ok && old != nil && isImmutable(*t.sub) {
					return errf(errors.ScimTypeMutability, "%s.%s is immutable", name, sn)
				}
				delete(m, sn)
			}
		} else {
			x := v
			if len(hits) == 0 {
				// Upsert: see the package comment.
				elem, ok := seedOf(a, t.filter)
				if !ok {
					return errf(errors.ScimTypeNoTarget, "no %s element matches the filter, and the filter is not a conjunction of eq to create one from", name)
				}
				list = append(list, elem)
				hits = []int{len(list) - 1}
			}
			for _, i := range hits {
				m := list[i].(map[string]any)
				if t.sub != nil {
					sn := t.sub.Name()
					if old, ok := m[sn]; ok && old != nil && isImmutable(*t.sub) && !equalValues(old, x) {
						return errf(errors.ScimTypeMutability, "%s.%s is immutable", name, sn)
					}
					m[sn] = x
				} else if err := merge(a, m, x.(map[string]any)); err != nil {
					return err
				}
				touched = append(touched, i)
			}
		}
	}

	fixPrimary(list, touched)
	list = compact(list)
	if len(list) > store.MaxMultiValues {
		return tooMany(name)
	}
	if len(list) == 0 {
		delete(c, name)
	} else {
		c[name] = list
	}
	return nil
}

// fixPrimary enforces RFC 7643 §2.4: if this op wrote an element with primary=true, no
// other element stays primary. Pre-existing violations untouched by the op are left alone.
func fixPrimary(list []any, touched []int) {
	winner := -1
	for _, i := range touched {
		if m, ok := list[i].(map[string]any); ok && m["primary"] == true {
			winner = i
		}
	}
	if winner < 0 {
		return
	}
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && i != winner && m["primary"] == true {
			m["primary"] = false
		}
	}
}

// compact drops nil and empty-map elements (removed or emptied by the op).
func compact(list []any) []any {
	out := list[:0]
	for _, e := range list {
		if e == nil {
			continue
		}
		if m, ok := e.(map[string]any); ok && len(m) == 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}

// merge writes the sub-attributes of src into dst; a nil in src clears that sub-attribute.
// When src changes "value", the readOnly sub-attributes of dst are dropped: they are
// server-derived from the old value (manager.displayName names the old manager).
func merge(a schema.CoreAttribute, dst, src map[string]any) error {
	if nv, ok := src["value"]; ok && !equalValues(dst["value"], nv) {
		for _, sa := range a.SubAttributes() {
			if sa.Mutability() == "readOnly" {
				delete(dst, sa.Name())
			}
		}
	}
	for k, x := range src {
		if sa, ok := findAttr(a.SubAttributes(), k); ok && isImmutable(sa) {
			if old, had := dst[k]; had && old != nil && !equalValues(old, x) {
				return errf(errors.ScimTypeMutability, "%s.%s is immutable", a.Name(), k)
			}
		}
		if x == nil {
			delete(dst, k)
		} else {
			dst[k] = x
		}
	}
	return nil
}

// removeItems removes the elements of list that match one of items: by the "value"
// sub-attribute when the item has one (Entra sends {"value":"id","$ref":null}), honouring
// its caseExact, otherwise by exact equality. Items are looked up by key, so the cost is
// linear in both lists.
func removeItems(a schema.CoreAttribute, list, items []any) []any {
	valueSub, hasValue := findAttr(a.SubAttributes(), "value")
	byValue := map[string]bool{} // the values of the items that name one
	whole := map[string]bool{}   // the other items
	every := map[string]bool{}   // all items, for an element that is no object
	for _, it := range items {
		k := elemKey(it)
		every[k] = true
		if im, ok := it.(map[string]any); ok && hasValue && im["value"] != nil {
			byValue[valueKey(valueSub, im["value"])] = true
		} else {
			whole[k] = true
		}
	}
	out := list[:0:0]
	for _, e := range list {
		var drop bool
		if em, ok := e.(map[string]any); ok {
			drop = whole[elemKey(e)] || len(byValue) > 0 && em["value"] != nil && byValue[valueKey(valueSub, em["value"])]
		} else {
			drop = every[elemKey(e)]
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}

// valueKey is the key of a value of the simple attribute a: two values have the same key
// exactly when they are the same value, strings compared without regard to case unless a
// is caseExact (strings.EqualFold's simple folding).
func valueKey(a schema.CoreAttribute, x any) string {
	if s, ok := x.(string); ok && !a.CaseExact() {
		return "f" + foldKey(s)
	}
	return "=" + elemKey(x)
}

// foldKey maps every character of s to the smallest of the characters it folds with
// (unicode.SimpleFold's orbit), so that two strings have the same key exactly when
// strings.EqualFold holds for them.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z':
			r -= 'a' - 'A' // the smallest of its orbit: the others are 'a'-'z' and, for k and s, above 0x7F
		case r >= utf8.RuneSelf:
			m := r
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				m = min(m, f)
			}
			r = m
		}
		b.WriteRune(r)
	}
	return b.String()
}

// elemKey is a key of a canonical value (what the attribute map holds: strings, booleans,
// numbers, maps and lists of them): two values have the same key exactly when
// equalValues holds for them, so that lists are compared by looking keys up rather than
// element by element.
func elemKey(v any) string {
	var b strings.Builder
	writeKey(&b, v)
	return b.String()
}

func writeKey(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("n")
	case string:
		b.WriteString("s")
		b.WriteString(strconv.Quote(x))
	case bool:
		if x {
			b.WriteString("t")
		} else {
			b.WriteString("f")
		}
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		b.WriteString("{")
		for _, k := range keys {
			b.WriteString(strconv.Quote(k))
			b.WriteString(":")
			writeKey(b, x[k])
			b.WriteString(",")
		}
		b.WriteString("}")
	case []any:
		b.WriteString("[")
		for _, e := range x {
			writeKey(b, e)
			b.WriteString(",")
		}
		b.WriteString("]")
	default: // numbers, and anything else by its type and Go syntax
		fmt.Fprintf(b, "%T:%#v", x, x)
	}
}

// tooMany is the error of a multi-valued attribute left with too many elements.
func tooMany(name string) error {
	return errf(errors.ScimTypeInvalidValue, "%s must not hold more than %d values", name, store.MaxMultiValues)
}

func isImmutable(a schema.CoreAttribute) bool { return a.Mutability() == "immutable" }
