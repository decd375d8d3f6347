package patch_test

import (
	stderrors "errors"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"

	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

func TestMain(m *testing.M) {
	// As the server does for Entra (elimity-scim report §5): accept "False" for booleans.
	schema.SetAllowStringValues(true)
	os.Exit(m.Run())
}

// memHandler is a minimal in-memory handler of one resource type that applies PATCH as
// the server does: ParseRequest, then SplitGroupOps for groups, then Apply.
type memHandler struct {
	s       schema.Schema
	exts    []schema.Schema
	group   bool
	store   map[string]map[string]any
	members []store.MemberOp
}

func (h *memHandler) patch(id string, body []byte) error {
	ops, err := patch.ParseRequest(body)
	if err != nil {
		return err
	}
	attrs, ok := h.store[id]
	if !ok {
		return errors.ScimErrorResourceNotFound(id)
	}
	if h.group {
		members, rest, err := patch.SplitGroupOps(ops)
		if err != nil {
			return err
		}
		h.members = append(h.members, members...)
		ops = rest
	}
	return patch.Apply(attrs, ops, h.s, h.exts...)
}

func newPipeline(t *testing.T) (map[string]*memHandler, *memHandler, *memHandler) {
	t.Helper()
	users := &memHandler{s: userSchema, exts: []schema.Schema{entSchema}, store: map[string]map[string]any{"u1": alice(), "u2": bare()}}
	groups := &memHandler{s: groupSchema, group: true, store: map[string]map[string]any{"g1": {"displayName": "Eng"}}}
	return map[string]*memHandler{"Users": users, "Groups": groups}, users, groups
}

// patchReq sends a PATCH body of ops to path (/Users/u1, /Groups/g1) and returns the
// status and scimType the server would answer.
func patchReq(t *testing.T, h map[string]*memHandler, path, ops string) (int, string) {
	t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + ops + `}`
	kind, id, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	err := h[kind].patch(id, []byte(body))
	if err == nil {
		return http.StatusOK, ""
	}
	var se errors.ScimError
	if !stderrors.As(err, &se) {
		t.Fatalf("not a ScimError: %#v", err)
	}
	return se.Status, string(se.ScimType)
}

// TestPipeline sends the real Entra and Okta payloads through ParseRequest into
// SplitGroupOps and Apply, as the server does.
func TestPipeline(t *testing.T) {
	cases := []struct {
		name, path, ops string
		status          int
		scimType        string
		want            func(users, groups *memHandler) (got, want any)
	}{
		{name: "entra update_user", path: "/Users/u1", status: 200,
			ops: `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
				{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"},
				{"op":"Replace","path":"userName","value":"5b50642d@testuser.com"},
				{"op":"Replace","path":"active","value":"False"}]`,
			want: func(u, _ *memHandler) (any, any) {
				w := alice()
				email(w, 0)["value"] = "updatedEmail@microsoft.com"
				w["name"].(map[string]any)["familyName"] = "updatedFamilyName"
				w["userName"] = "5b50642d@testuser.com"
				w["active"] = false
				return u.store["u1"], w
			}},
		{name: "okta deactivate", path: "/Users/u1", status: 200, ops: `[{"op":"replace","value":{"active":false}}]`,
			want: func(u, _ *memHandler) (any, any) { return u.store["u1"]["active"], false }},
		{name: "entra upsert on a bare user", path: "/Users/u2", status: 200,
			ops: `[{"op":"Add","path":"emails[type eq \"work\"].value","value":"w@x"},{"op":"Add","path":"ACTIVE","value":"True"}]`,
			want: func(u, _ *memHandler) (any, any) {
				w := bare()
				w["emails"] = []any{map[string]any{"type": "work", "value": "w@x"}}
				w["active"] = true
				return u.store["u2"], w
			}},
		{name: "entra path-less dotted and URN keys", path: "/Users/u2", status: 200,
			ops: `[{"op":"replace","value":{"NAME.GivenName":"G","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"9"}}]`,
			want: func(u, _ *memHandler) (any, any) {
				w := bare()
				w["name"] = map[string]any{"givenName": "G"}
				w[ent] = map[string]any{"employeeNumber": "9"}
				return u.store["u2"], w
			}},
		{name: "extension container with capitalised keys", path: "/Users/u2", status: 200,
			ops: `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Manager":{"Value":"123"}}}}]`,
			want: func(u, _ *memHandler) (any, any) {
				return u.store["u2"][ent], map[string]any{"manager": map[string]any{"value": "123"}}
			}},
		// Entra's bare-string manager is the manager's id.
		{name: "entra bare manager string", path: "/Users/u1", status: 200,
			ops: `[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"271"}]`,
			want: func(u, _ *memHandler) (any, any) {
				return u.store["u1"][ent].(map[string]any)["manager"], map[string]any{"value": "271"}
			}},
		{name: "unknown key in a path-less value", path: "/Users/u1", status: 400, scimType: "invalidValue",
			ops: `[{"op":"add","value":{"nosuch":"x"}}]`},
		{name: "unknown path", path: "/Users/u1", status: 400, scimType: "invalidPath", ops: `[{"op":"add","path":"nosuch","value":"x"}]`},
		{name: "unknown op", path: "/Users/u1", status: 400, scimType: "invalidValue", ops: `[{"op":"move","path":"title","value":"x"}]`},
		{name: "remove without path", path: "/Users/u1", status: 400, scimType: "noTarget", ops: `[{"op":"remove"}]`},
		{name: "remove userName", path: "/Users/u1", status: 400, scimType: "invalidValue", ops: `[{"op":"remove","path":"userName"}]`},
		{name: "add groups", path: "/Users/u1", status: 400, scimType: "mutability", ops: `[{"op":"add","path":"groups","value":[{"value":"g"}]}]`},
		{name: "remove work email twice is fine", path: "/Users/u1", status: 200,
			ops:  `[{"op":"remove","path":"emails[type eq \"work\"]"},{"op":"remove","path":"emails[type eq \"work\"]"}]`,
			want: func(u, _ *memHandler) (any, any) { return u.store["u1"]["emails"], emails(alice())[1:] }},

		{name: "okta group membership", path: "/Groups/g1", status: 200,
			ops: `[{"op":"remove","path":"members[value eq \"89bb\"]"},
				{"op":"add","path":"members","value":[{"value":"23a3","display":"test.user@okta.local"}]},
				{"op":"replace","path":"members","value":[{"value":"23a3","display":"a"},{"value":"89bb","display":"b"}]}]`,
			want: func(_, g *memHandler) (any, any) {
				return g.members, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{"89bb"}},
					{Kind: store.AddMembers, IDs: []string{"23a3"}}, {Kind: store.ReplaceMembers, IDs: []string{"23a3", "89bb"}}}
			}},
		{name: "okta rename", path: "/Groups/g1", status: 200, ops: `[{"op":"replace","value":{"id":"g1","displayName":"Test SCIMv2"}}]`,
			want: func(_, g *memHandler) (any, any) { return g.store["g1"], map[string]any{"displayName": "Test SCIMv2"} }},
		{name: "entra update_group", path: "/Groups/g1", status: 200,
			ops: `[{"op":"Replace","path":"displayName","value":"renamed"},
				{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648"}]},
				{"op":"Remove","path":"members","value":[{"$ref":null,"value":"f648"}]},
				{"op":"Add","path":"members","value":{"value":"1"}}]`,
			want: func(_, g *memHandler) (any, any) {
				return []any{g.store["g1"], g.members}, []any{map[string]any{"displayName": "renamed"},
					[]store.MemberOp{{Kind: store.AddMembers, IDs: []string{"f648"}}, {Kind: store.RemoveMembers, IDs: []string{"f648"}},
						{Kind: store.AddMembers, IDs: []string{"1"}}}}
			}},
		{name: "okta empty push", path: "/Groups/g1", status: 200, ops: `[{"op":"replace","path":"members","value":[]}]`,
			want: func(_, g *memHandler) (any, any) {
				return g.members, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: []string{}}}
			}},
		{name: "nested group", path: "/Groups/g1", status: 200,
			ops: `[{"op":"add","path":"members","value":[{"value":"g2","type":"Group"}]}]`,
			want: func(_, g *memHandler) (any, any) {
				return g.members, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{"g2"}}}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, users, groups := newPipeline(t)
			status, scimType := patchReq(t, h, tc.path, tc.ops)
			if status != tc.status || scimType != tc.scimType {
				t.Fatalf("got %d %q, want %d %q", status, scimType, tc.status, tc.scimType)
			}
			if tc.want != nil {
				got, want := tc.want(users, groups)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("got\n%s\nwant\n%s", dump(got), dump(want))
				}
			}
		})
	}
}
