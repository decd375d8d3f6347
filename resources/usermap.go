package resources

import (
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/store"
)

// The canonical attribute map is the one shape every SCIM-facing step works on: POST and
// PUT bodies are decoded into it (decodeResource: canonical names, types checked), the
// PATCH applier edits it, projection filters it, and responses are rendered from it.
// These functions are the only place where it meets the typed store model.

// userToAttributes renders u as a canonical attribute map, leaving out unassigned
// attributes, the password hash (never returned), and id/externalId/meta (render adds
// those).
func userToAttributes(u *store.User) map[string]any {
	m := map[string]any{"userName": u.UserName, "active": u.Active}
	for _, a := range store.UserStrings {
		if v := *a.Field(u); v != "" {
			setPath(m, a, v)
		}
	}
	if l := multiValuesToList(u.Emails); l != nil {
		m["emails"] = l
	}
	if l := multiValuesToList(u.PhoneNumbers); l != nil {
		m["phoneNumbers"] = l
	}
	if len(u.Addresses) > 0 {
		l := make([]any, len(u.Addresses))
		for i, a := range u.Addresses {
			e := map[string]any{}
			putStrings(e, map[string]string{
				"formatted": a.Formatted, "streetAddress": a.StreetAddress, "locality": a.Locality,
				"region": a.Region, "postalCode": a.PostalCode, "country": a.Country, "type": a.Type,
			})
			putPrimary(e, a.Primary, a.PrimaryFalse)
			l[i] = e
		}
		m["addresses"] = l
	}
	if len(u.Groups) > 0 {
		l := make([]any, len(u.Groups))
		for i, g := range u.Groups {
			// RFC 7643 §4.1.2: "direct", or "indirect" through nested groups.
			typ := "direct"
			if g.Indirect {
				typ = "indirect"
			}
			l[i] = map[string]any{"value": g.ID, "display": g.DisplayName, "type": typ}
		}
		m["groups"] = l
	}
	if a := &u.Account; a.Username != "" {
		m[store.TownsquareUserSchema] = accountToAttributes(a)
	}
	return m
}

// accountToAttributes renders the Townsquare extension of an account: roles and guest
// always (every account has a role string), the lists when they are not empty. Its cost
// does not grow with the roles: the role strings and booleans are boxed once
// (systemRolesValues, and Go boxes booleans without allocating), and the map holds its at
// most eight keys in its first allocation.
func accountToAttributes(a *store.Account) map[string]any {
	ts := make(map[string]any, 8)
	ts["username"] = a.Username
	ts["status"] = a.Status
	ts["roles"] = systemRolesValue(a.SystemAdmin, a.Guest)
	ts["guest"] = a.Guest
	for _, l := range []struct {
		key string
		v   []string
	}{{"teams", a.Teams}, {"channels", a.Channels}, {"teamAdmin", a.TeamAdmin}, {"channelAdmin", a.ChannelAdmin}} {
		if len(l.v) > 0 {
			ts[l.key] = stringsToList(l.v)
		}
	}
	return ts
}

// systemRolesValues are store.SystemRoles' answers as interface values, by admin (bit 0)
// and guest (bit 1).
var systemRolesValues = [4]any{
	store.SystemRoles(false, false), store.SystemRoles(true, false),
	store.SystemRoles(false, true), store.SystemRoles(true, true),
}

func systemRolesValue(admin, guest bool) any {
	i := 0
	if admin {
		i |= 1
	}
	if guest {
		i |= 2
	}
	return systemRolesValues[i]
}

// setPath puts v at a's place in a canonical map: under the extension's URN for an
// extension attribute, under its parent for a sub-attribute.
func setPath(m map[string]any, a store.StringAttribute, v string) {
	if a.Schema != "" {
		ext, _ := m[a.Schema].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			m[a.Schema] = ext
		}
		m = ext
	}
	parent, sub, ok := strings.Cut(a.Name, ".")
	if !ok {
		m[parent] = v
		return
	}
	c, _ := m[parent].(map[string]any)
	if c == nil {
		c = map[string]any{}
		m[parent] = c
	}
	c[sub] = v
}

func stringsToList(ss []string) []any {
	l := make([]any, len(ss))
	for i, s := range ss {
		l[i] = s
	}
	return l
}

func putStrings(m map[string]any, kv map[string]string) {
	for k, v := range kv {
		if v != "" {
			m[k] = v
		}
	}
}

// putPrimary renders an element's primary as the client sent it: true, false, or absent
// (store.MultiValue).
func putPrimary(e map[string]any, primary, explicitFalse bool) {
	if primary {
		e["primary"] = true
	} else if explicitFalse {
		e["primary"] = false
	}
}

func multiValuesToList(vs []store.MultiValue) []any {
	if len(vs) == 0 {
		return nil
	}
	l := make([]any, len(vs))
	for i, v := range vs {
		e := map[string]any{}
		putStrings(e, map[string]string{"value": v.Value, "display": v.Display, "type": v.Type})
		putPrimary(e, v.Primary, v.PrimaryFalse)
		l[i] = e
	}
	return l
}

// userFromAttributes reads a canonical attribute map into the writable fields of a
// store.User (id, meta, groups and the password are the caller's business). An absent
// "active" means true: a user pushed without it is an active user (RFC 7643 leaves the
// default to the server, and both Okta and Entra treat it so).
func userFromAttributes(m map[string]any) (store.User, error) {
	r := attrReader{}
	u := store.User{UserName: r.str(m, "userName"), ExternalID: r.str(m, "externalId"), Active: true}
	for _, a := range store.UserStrings {
		*a.Field(&u) = r.path(m, a)
	}
	if v, ok := m["active"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			r.fail("active", v)
		}
		u.Active = b
	}
	u.Emails = r.multiValues(m, "emails")
	u.PhoneNumbers = r.multiValues(m, "phoneNumbers")
	for _, e := range r.list(m, "addresses") {
		a := store.Address{
			Formatted: r.str(e, "formatted"), StreetAddress: r.str(e, "streetAddress"),
			Locality: r.str(e, "locality"), Region: r.str(e, "region"), PostalCode: r.str(e, "postalCode"),
			Country: r.str(e, "country"), Type: r.str(e, "type"),
		}
		a.Primary, a.PrimaryFalse = r.primary(e)
		u.Addresses = append(u.Addresses, a)
	}
	if err := r.err; err != nil {
		return store.User{}, err
	}
	if strings.TrimSpace(u.UserName) == "" {
		return store.User{}, badRequest(scimerrors.ScimTypeInvalidValue, "userName is required and must not be empty")
	}
	if err := checkPrimaries(map[string][]bool{
		"emails": primaries(u.Emails), "phoneNumbers": primaries(u.PhoneNumbers), "addresses": addressPrimaries(u.Addresses),
	}); err != nil {
		return store.User{}, err
	}
	return u, nil
}

func primaries(vs []store.MultiValue) []bool {
	out := make([]bool, len(vs))
	for i, v := range vs {
		out[i] = v.Primary
	}
	return out
}

func addressPrimaries(as []store.Address) []bool {
	out := make([]bool, len(as))
	for i, a := range as {
		out[i] = a.Primary
	}
	return out
}

// checkPrimaries enforces RFC 7643 §2.4: at most one element of a multi-valued
// attribute may be primary.
func checkPrimaries(lists map[string][]bool) error {
	for attr, ps := range lists {
		n := 0
		for _, p := range ps {
			if p {
				n++
			}
		}
		if n > 1 {
			return badRequest(scimerrors.ScimTypeInvalidValue, "%s: at most one value may be primary", attr)
		}
	}
	return nil
}

// attrReader reads typed values out of a canonical map, remembering the first type error
// so the mapping code reads straight through.
type attrReader struct{ err error }

func (r *attrReader) fail(attr string, v any) {
	if r.err == nil {
		r.err = badRequest(scimerrors.ScimTypeInvalidValue, "attribute %q has a value of the wrong type (%T)", attr, v)
	}
}

func (r *attrReader) str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		r.fail(k, v)
		return ""
	}
}

// path reads the string at a's place in a canonical map (see setPath).
func (r *attrReader) path(m map[string]any, a store.StringAttribute) string {
	if a.Schema != "" {
		if m = r.obj(m, a.Schema); m == nil {
			return ""
		}
	}
	parent, sub, ok := strings.Cut(a.Name, ".")
	if !ok {
		return r.str(m, parent)
	}
	if m = r.obj(m, parent); m == nil {
		return ""
	}
	return r.str(m, sub)
}

func (r *attrReader) boolean(m map[string]any, k string) bool {
	switch v := m[k].(type) {
	case nil:
		return false
	case bool:
		return v
	case string: // "True"/"False" from Entra, which the schemas' validation lets through
		switch strings.ToLower(v) {
		case "true":
			return true
		case "false":
			return false
		}
	}
	r.fail(k, m[k])
	return false
}

// primary reads an element's primary sub-attribute in its three states (store.MultiValue):
// true; false as sent (explicitFalse); or absent, which null is too (RFC 7643 §2.5: null
// is unassigned).
func (r *attrReader) primary(e map[string]any) (primary, explicitFalse bool) {
	if e["primary"] == nil {
		return false, false
	}
	p := r.boolean(e, "primary")
	return p, !p
}

func (r *attrReader) obj(m map[string]any, k string) map[string]any {
	switch v := m[k].(type) {
	case nil:
		return nil
	case map[string]any:
		return v
	default:
		r.fail(k, v)
		return nil
	}
}

// list reads a multi-valued complex attribute; a single object is taken as a list of
// one, since the schemas' validation passes `"emails": {...}` through as a map.
func (r *attrReader) list(m map[string]any, k string) []map[string]any {
	var items []any
	switch v := m[k].(type) {
	case nil:
		return nil
	case []any:
		items = v
	case map[string]any:
		items = []any{v}
	default:
		r.fail(k, v)
		return nil
	}
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		e, ok := it.(map[string]any)
		if !ok {
			r.fail(k, it)
			return nil
		}
		out = append(out, e)
	}
	return out
}

func (r *attrReader) multiValues(m map[string]any, k string) []store.MultiValue {
	var out []store.MultiValue
	for _, e := range r.list(m, k) {
		v := store.MultiValue{Value: r.str(e, "value"), Display: r.str(e, "display"), Type: r.str(e, "type")}
		v.Primary, v.PrimaryFalse = r.primary(e)
		out = append(out, v)
	}
	return out
}
