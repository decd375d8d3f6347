package scimtest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/townsquare/townsquare/store"
)

// ---- nested groups (RFC 7643 §4.2: a Group's members are Users or Groups; §4.1.2: a
// User's groups are direct or indirect) ----

// groupWith is a Group body with the given displayName and member objects.
func groupWith(displayName string, members ...string) string {
	return `{"schemas":["` + store.GroupSchema + `"],"displayName":"` + displayName + `","members":[` + strings.Join(members, ",") + `]}`
}

// postCapture POSTs body to collection, wants 201 and captures the id and
// meta.location as "<name>.id" and "<name>.loc".
func postCapture(name, collection, body string, want ...Assert) Step {
	return Step{Name: "create " + name, Method: http.MethodPost, Path: collection, Body: body,
		Status: http.StatusCreated, Capture: map[string]string{name + ".id": "id", name + ".loc": "meta.location"}, Want: want}
}

// elemWhere wants the element of the array at path whose "value" is id (a template) to
// have key equal to want (a template). Keys match case-insensitively (RFC 7643 §2.1).
func elemWhere(path, id, key, want string) Assert {
	return Assert{desc: fmt.Sprintf("%s[value=%s].%s == %s", path, id, key, want), fn: func(r *Response, v vars) error {
		idv, err := v.expand(id, noEscape)
		if err != nil {
			return err
		}
		w, err := v.expand(want, noEscape)
		if err != nil {
			return err
		}
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		arr, _ := got.([]any)
		for _, e := range arr {
			m, _ := e.(map[string]any)
			if m["value"] != idv {
				continue
			}
			for k, x := range m {
				if strings.EqualFold(k, key) {
					if x != w {
						return fmt.Errorf("%s[value=%s].%s: want %q, got %s", path, idv, key, w, show(x, true))
					}
					return nil
				}
			}
			return fmt.Errorf("%s[value=%s] has no %s: %s", path, idv, key, show(e, true))
		}
		return fmt.Errorf("%s: no element with value %s, got %s", path, idv, show(got, ok))
	}}
}

// noElemWith wants no element of the array at path to have "value" id (a template).
func noElemWith(path, id string) Assert {
	return Assert{desc: fmt.Sprintf("no %s[value=%s]", path, id), fn: func(r *Response, v vars) error {
		idv, err := v.expand(id, noEscape)
		if err != nil {
			return err
		}
		got, ok, err := get(r, path)
		if err != nil {
			return err
		}
		arr, _ := got.([]any)
		for _, e := range arr {
			if m, _ := e.(map[string]any); m["value"] == idv {
				return fmt.Errorf("%s: want no element with value %s, got %s", path, idv, show(got, ok))
			}
		}
		return nil
	}}
}

// nestStep adds the group id (a template) to the members of the group at path, as a
// member of type Group (RFC 7644 §3.5.2.1).
func nestStep(name, path, id string) Step {
	return patchStep(name, path, `{"op":"add","path":"members","value":[{"value":"`+id+`","type":"Group"}]}`)
}

func nestedGroupChecks() []Check {
	invalid := withDetail(scimError(http.StatusBadRequest, "invalidValue"))
	return []Check{
		{Name: "nested-groups-members", Steps: []Step{
			// RFC 7643 §7: /Schemas gives the canonical values of members.type (§4.2)
			// and of a User's groups.type (§4.1.2).
			getStep("GET /Schemas/<Group URN>", "/Schemas/"+store.GroupSchema,
				Contains("attributes[name=members].subAttributes[name=type].canonicalValues", "User"),
				Contains("attributes[name=members].subAttributes[name=type].canonicalValues", "Group")),
			getStep("GET /Schemas/<User URN>", "/Schemas/"+store.UserSchema,
				Contains("attributes[name=groups].subAttributes[name=type].canonicalValues", "direct"),
				Contains("attributes[name=groups].subAttributes[name=type].canonicalValues", "indirect")),
			// RFC 7643 §4.2: members[].type is "User" or "Group", and $ref the member's
			// URI; a group nested in another is listed as a member of type Group.
			postCapture("u", "/Users", simpleUser("${p}nested@example.com", "")),
			postCapture("child", "/Groups", groupWith("${p}Child", `{"value":"${u.id}"}`)),
			postCapture("parent", "/Groups", groupWith("${p}Parent", `{"value":"${child.id}","type":"Group"}`),
				Len("members", 1), elemWhere("members", "${child.id}", "type", "Group"),
				elemWhere("members", "${child.id}", "$ref", "${child.loc}"), elemWhere("members", "${child.id}", "display", "${p}Child")),
			getStep("GET the parent", "/Groups/${parent.id}", Len("members", 1),
				elemWhere("members", "${child.id}", "type", "Group"), elemWhere("members", "${child.id}", "$ref", "${child.loc}")),
			// A group's members are its direct members: the child lists its user, the
			// parent does not.
			getStep("GET the child", "/Groups/${child.id}", Len("members", 1),
				elemWhere("members", "${u.id}", "type", "User"), elemWhere("members", "${u.id}", "$ref", "${u.loc}")),
			// RFC 7644 §3.4.2.2: members.value and members.type are filterable like any
			// sub-attribute.
			getStep("filter members by a group's id", `/Groups?filter=members[value eq "${child.id}"] and displayName sw "${p}"`,
				listOf("${parent.id}")...),
			getStep(`filter members[type eq "Group"]`, `/Groups?filter=members[type eq "Group"] and displayName sw "${p}"`,
				listOf("${parent.id}")...),
		}},
		{Name: "nested-groups-user-groups", Steps: []Step{
			// RFC 7643 §4.1.2: a User's groups hold the groups it is in "either directly or
			// indirectly through nested groups", type "direct" or "indirect", each with
			// its $ref.
			postCapture("u", "/Users", simpleUser("${p}indirect@example.com", "")),
			postCapture("child", "/Groups", groupWith("${p}Child", `{"value":"${u.id}"}`)),
			postCapture("parent", "/Groups", groupWith("${p}Parent")),
			nestStep("PATCH the parent: add the child", "/Groups/${parent.id}", "${child.id}"),
			getStep("the user's groups", "/Users/${u.id}",
				elemWhere("groups", "${child.id}", "type", "direct"), elemWhere("groups", "${parent.id}", "type", "indirect"),
				elemWhere("groups", "${parent.id}", "$ref", "${parent.loc}"), elemWhere("groups", "${parent.id}", "display", "${p}Parent")),
			getStep("groups.value sees indirect groups", `/Users?filter=groups.value eq "${parent.id}"`, listOf("${u.id}")...),
			getStep(`groups[type eq "indirect"]`, `/Users?filter=groups[value eq "${parent.id}" and type eq "indirect"]`, listOf("${u.id}")...),
			getStep(`groups[type eq "direct"] does not`, `/Users?filter=groups[value eq "${parent.id}" and type eq "direct"]`, emptyList()...),
		}},
		{Name: "nested-groups-cycle", Steps: []Step{
			// RFC 7644 §3.12: a value the server cannot accept is 400 invalidValue; a group
			// containing itself, directly or through another, would be a member of itself.
			postCapture("a", "/Groups", groupWith("${p}A")),
			postCapture("b", "/Groups", groupWith("${p}B")),
			nestStep("PATCH A: add B", "/Groups/${a.id}", "${b.id}"),
			{Name: "PATCH B: add A (a cycle)", Method: http.MethodPatch, Path: "/Groups/${b.id}",
				Body:   patchBody(`{"op":"add","path":"members","value":[{"value":"${a.id}","type":"Group"}]}`),
				Status: http.StatusBadRequest, Want: invalid},
			{Name: "PUT B with A (a cycle)", Method: http.MethodPut, Path: "/Groups/${b.id}",
				Body: groupWith("${p}B", `{"value":"${a.id}","type":"Group"}`), Status: http.StatusBadRequest, Want: invalid},
			{Name: "PATCH A: add A itself", Method: http.MethodPatch, Path: "/Groups/${a.id}",
				Body:   patchBody(`{"op":"add","path":"members","value":[{"value":"${a.id}"}]}`),
				Status: http.StatusBadRequest, Want: invalid},
			getStep("B's members are unchanged", "/Groups/${b.id}", Absent("members")),
			getStep("A's members are unchanged", "/Groups/${a.id}", Len("members", 1), elemWhere("members", "${b.id}", "type", "Group")),
		}},
		{Name: "nested-groups-unnest", Steps: []Step{
			// RFC 7644 §3.5.2.2: removing the nested group removes what it brought; so does
			// deleting it (RFC 7644 §3.6).
			postCapture("u", "/Users", simpleUser("${p}unnest@example.com", "")),
			postCapture("child", "/Groups", groupWith("${p}Child", `{"value":"${u.id}"}`)),
			postCapture("parent", "/Groups", groupWith("${p}Parent", `{"value":"${child.id}","type":"Group"}`)),
			getStep("the user is in the parent", "/Users/${u.id}", elemWhere("groups", "${parent.id}", "type", "indirect")),
			patchStep("PATCH the parent: remove the child", "/Groups/${parent.id}",
				`{"op":"remove","path":"members[value eq \"${child.id}\"]"}`),
			getStep("the user is no longer in the parent", "/Users/${u.id}",
				noElemWith("groups", "${parent.id}"), elemWhere("groups", "${child.id}", "type", "direct")),
			getStep("the parent has no member", "/Groups/${parent.id}", Absent("members")),
			getStep("no user is in the parent", `/Users?filter=groups.value eq "${parent.id}"`, emptyList()...),
			nestStep("PATCH the parent: add the child again", "/Groups/${parent.id}", "${child.id}"),
			{Name: "DELETE the child", Method: http.MethodDelete, Path: "/Groups/${child.id}", Status: http.StatusNoContent},
			getStep("the parent lists it no more", "/Groups/${parent.id}", Absent("members")),
			getStep("the user is in no group", "/Users/${u.id}", Absent("groups")),
		}},
		{Name: "nested-groups-provisioning", Func: nestedProvisioningCheck},
	}
}

// nestedProvisioningCheck: what a group grants (the teams and channels of Townsquare's
// User extension) reaches the members of a group nested in it, and leaves them when it
// is un-nested. It asks nothing of the mapping: whatever the parent gives its own member,
// beyond what a user in no group has, the child's member must get; it checks nothing on a
// server without the extension (RFC 7643 §3.3).
func nestedProvisioningCheck(ctx context.Context, s *Session) error {
	r, err := s.Do(ctx, getStep("GET /Schemas", "/Schemas"))
	if err != nil {
		return err
	}
	if _, ok := r.Get("Resources[id=" + store.TownsquareUserSchema + "].id"); !ok {
		return nil
	}
	for _, st := range []Step{
		postCapture("own", "/Users", simpleUser("${p}own@example.com", "")),
		postCapture("nested", "/Users", simpleUser("${p}nested@example.com", "")),
		postCapture("none", "/Users", simpleUser("${p}none@example.com", "")),
		postCapture("child", "/Groups", groupWith("${p}Child", `{"value":"${nested.id}"}`)),
		postCapture("parent", "/Groups", groupWith("${p}Parent", `{"value":"${own.id}"}`)),
	} {
		if _, err := s.Do(ctx, st); err != nil {
			return err
		}
	}
	type grants struct{ teams, channels []string }
	read := func(who string) (grants, *Response, error) {
		r, err := s.Do(ctx, getStep("GET "+who, "/Users/${"+who+".id}"))
		if err != nil {
			return grants{}, nil, err
		}
		list := func(key string) []string {
			v, _ := r.Get(tsExt + "." + key)
			var out []string
			for _, x := range asList(v) {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
			slices.Sort(out)
			return out
		}
		return grants{list("teams"), list("channels")}, r, nil
	}
	none, _, err := read("none")
	if err != nil {
		return err
	}
	own, _, err := read("own")
	if err != nil {
		return err
	}
	before, _, err := read("nested")
	if err != nil {
		return err
	}
	if _, err := s.Do(ctx, nestStep("PATCH the parent: add the child", "/Groups/${parent.id}", "${child.id}")); err != nil {
		return err
	}
	nested, r, err := read("nested")
	if err != nil {
		return err
	}
	for _, c := range []struct {
		what         string
		parent, base []string
		got          []string
	}{{"teams", own.teams, none.teams, nested.teams}, {"channels", own.channels, none.channels, nested.channels}} {
		for _, x := range c.parent {
			if !slices.Contains(c.base, x) && !slices.Contains(c.got, x) {
				return r.Errorf("the parent grants its own member %s %q, and a member of the group nested in it lacks it (its %s: %v)",
					c.what, x, c.what, c.got)
			}
		}
	}
	if _, err := s.Do(ctx, patchStep("PATCH the parent: remove the child", "/Groups/${parent.id}",
		`{"op":"remove","path":"members[value eq \"${child.id}\"]"}`)); err != nil {
		return err
	}
	after, r, err := read("nested")
	if err != nil {
		return err
	}
	if !slices.Equal(after.teams, before.teams) || !slices.Equal(after.channels, before.channels) {
		return r.Errorf("un-nested, the child's member should be where it was before: teams %v, channels %v; want %v, %v",
			after.teams, after.channels, before.teams, before.channels)
	}
	return nil
}

// asList is v as a JSON array, or nothing.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
