// Package patch reads SCIM PATCH requests (ParseRequest) and applies their operations
// (RFC 7644 §3.5.2) to a resource held as a canonical attribute map (Apply), or, for a
// group's members, turns them into the store's member operations (SplitGroupOps). Paths
// and values arrive in the client's spelling (any case, dotted or URN-prefixed keys,
// string booleans); names are resolved and values checked against the schemas here.
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
	stderrors "errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"

	"github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
)

const (
	opAdd     = "add"
	opRemove  = "remove"
	opReplace = "replace"
)

// Apply applies ops in order to attrs (mutating it). s is the resource's core schema and
// exts its extension schemas, whose attributes are kept in attrs under the extension's ID.
// The common attributes (id, externalId, meta, schemas) are known implicitly.
//
// Apply is atomic: it works on a deep copy and only replaces the contents of attrs when
// every operation succeeded. Lists it rewrites are []any. Every error is an
// errors.ScimError value.
func Apply(attrs map[string]any, ops []Operation, s schema.Schema, exts ...schema.Schema) error {
	r := newResolver(s, exts)
	work := deepCopyMap(attrs)
	for i, op := range ops {
		if err := r.applyOp(work, op); err != nil {
			return atOp(i, err)
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

func (r *resolver) applyOp(work map[string]any, op Operation) error {
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
		return r.applyValueMap(work, kind, "", true, op.Value)
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
			delete(work, t.ext)
			return nil
		}
		return r.applyValueMap(work, kind, t.ext, false, op.Value)
	}
	return r.applyTarget(work, kind, t, op.Value)
}

// applyValueMap applies a path-less add/replace: every key of v names an attribute (in
// any case, optionally dotted or URN-prefixed) and is applied as if it were the path.
// scope is "" for the core schema or an extension URN; containers says whether keys that
// are whole schema URNs ({"urn:...:enterprise:2.0:User": {...}}) may appear.
func (r *resolver) applyValueMap(work map[string]any, kind, scope string, containers bool, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil && scope != "" {
			delete(work, scope) // {"urn:...:User": null}: unassign the whole extension
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
				if err := r.applyValueMap(work, kind, id, false, x); err != nil {
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
		if err := r.applyTarget(work, opKind, t, x); err != nil {
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

// applyTarget applies one operation to one resolved target.
func (r *resolver) applyTarget(work map[string]any, kind string, t target, v any) error {
	if err := t.writable(); err != nil {
		return err
	}
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

// applySingle handles a whole single-valued attribute, simple or complex.
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
	if v == nil {
		return errf(errors.ScimTypeInvalidValue, "%s %s needs a value", kind, name)
	}
	if a.AttributeType() == "complex" {
		nv, err := coerceComplex(a, v)
		if err != nil {
			return err
		}
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
	x, err := coerceSimple(a, v)
	if err != nil {
		return err
	}
	if present && cur != nil && isImmutable(a) && !equalValues(cur, x) {
		return errf(errors.ScimTypeMutability, "%s is immutable", name)
	}
	c[name] = x
	return nil
}

// applySub handles a sub-attribute of a single-valued complex attribute (name.givenName).
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
	if v == nil {
		return errf(errors.ScimTypeInvalidValue, "%s %s.%s needs a value", kind, name, sn)
	}
	x, err := coerceSingle(sub, v)
	if err != nil {
		return err
	}
	if m == nil {
		m = map[string]any{}
		c[name] = m
	}
	if old, ok := m[sn]; ok && old != nil && isImmutable(sub) && !equalValues(old, x) {
		return errf(errors.ScimTypeMutability, "%s.%s is immutable", name, sn)
	}
	m[sn] = x
	return nil
}

// applyMulti handles every path shape on a multi-valued attribute.
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
			items, err := coerceMulti(a, v)
			if err != nil {
				return err
			}
			list = removeItems(a, list, items)
		case opAdd:
			if v == nil {
				return errf(errors.ScimTypeInvalidValue, "add %s needs a value", name)
			}
			items, err := coerceMulti(a, v)
			if err != nil {
				return err
			}
			for _, it := range items {
				if i := indexOf(list, it); i >= 0 {
					touched = append(touched, i) // exact duplicate: keep one, still the one written
					continue
				}
				list = append(list, it)
				touched = append(touched, len(list)-1)
			}
		case opReplace:
			if v == nil {
				return errf(errors.ScimTypeInvalidValue, "replace %s needs a value", name)
			}
			items, err := coerceMulti(a, v)
			if err != nil {
				return err
			}
			list = list[:0:0]
			for _, it := range items {
				if indexOf(list, it) < 0 {
					list = append(list, it)
					touched = append(touched, len(list)-1)
				}
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
			if v == nil {
				return errf(errors.ScimTypeInvalidValue, "%s %s needs a value", kind, name)
			}
			var x any
			var err error
			if t.sub != nil {
				x, err = coerceSingle(*t.sub, v)
			} else {
				x, err = coerceElement(a, v)
			}
			if err != nil {
				return err
			}
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
// sub-attribute when the item has one (Entra sends {"value":"id","$ref":null}), otherwise
// by exact equality.
func removeItems(a schema.CoreAttribute, list, items []any) []any {
	valueSub, hasValue := findAttr(a.SubAttributes(), "value")
	out := list[:0:0]
	for _, e := range list {
		drop := false
		for _, it := range items {
			im, iok := it.(map[string]any)
			em, eok := e.(map[string]any)
			if iok && eok && hasValue && im["value"] != nil {
				drop = sameScalar(valueSub, em["value"], im["value"])
			} else {
				drop = equalValues(e, it)
			}
			if drop {
				break
			}
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}

// sameScalar compares two values of a simple attribute, honouring caseExact for strings.
func sameScalar(a schema.CoreAttribute, x, y any) bool {
	xs, xok := x.(string)
	ys, yok := y.(string)
	if xok && yok && !a.CaseExact() {
		return strings.EqualFold(xs, ys)
	}
	return equalValues(x, y)
}

func indexOf(list []any, it any) int {
	for i, e := range list {
		if equalValues(e, it) {
			return i
		}
	}
	return -1
}

func isImmutable(a schema.CoreAttribute) bool { return a.Mutability() == "immutable" }
