package server_test

import (
	"net/url"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// Roles as SCIM shows them, over HTTP on both databases: the Townsquare extension's
// read-only roles and guest on every user, what /Schemas says of them, projection, and
// the refusals a read-only, unfilterable attribute gets.
func TestSCIMExtensionRoles(t *testing.T) {
	const urn = store.TownsquareUserSchema
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		// A client sending the read-only attributes has them dropped (RFC 7643 §7).
		id := scimCreate(t, do(t, srv, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","`+urn+`"],
			"userName":"rita@example.com","`+urn+`":{"roles":"system_admin system_user","guest":true,"teamAdmin":["everyone"]}}`))
		r := do(t, srv, "GET", "/scim/v2/Users/"+id, "")
		ext, _ := r.body[urn].(map[string]any)
		if r.status != 200 || ext["roles"] != "system_user" || ext["guest"] != false || ext["teamAdmin"] != nil || ext["channelAdmin"] != nil {
			t.Fatalf("GET: %d %s", r.status, r.raw)
		}
		r = do(t, srv, "GET", "/scim/v2/Users/"+id+"?attributes="+url.QueryEscape(urn+":roles"), "")
		if ext, _ := r.body[urn].(map[string]any); len(ext) != 1 || ext["roles"] != "system_user" || r.body["userName"] != nil {
			t.Fatalf("attributes=roles: %s", r.raw)
		}
		r = do(t, srv, "GET", "/scim/v2/Users?excludedAttributes="+url.QueryEscape(urn+":roles,"+urn+":guest"), "")
		res, _ := r.body["Resources"].([]any)
		if len(res) != 1 {
			t.Fatalf("list: %s", r.raw)
		}
		if ext, _ := res[0].(map[string]any)[urn].(map[string]any); ext["roles"] != nil || ext["guest"] != nil || ext["username"] != "rita" {
			t.Fatalf("excludedAttributes: %s", r.raw)
		}
		// Not filterable, as the extension's other attributes.
		for _, f := range []string{urn + `:roles eq "system_user"`, urn + `:guest eq false`, urn + `:teams eq "everyone"`} {
			wantError(t, do(t, srv, "GET", "/scim/v2/Users?filter="+url.QueryEscape(f), ""), 400, "invalidFilter")
		}
		// Not writable.
		for _, op := range []string{
			`{"op":"replace","path":"` + urn + `:roles","value":"system_admin system_user"}`,
			`{"op":"replace","path":"` + urn + `:guest","value":true}`,
			`{"op":"add","path":"` + urn + `:teamAdmin","value":["everyone"]}`,
		} {
			wantError(t, do(t, srv, "PATCH", "/scim/v2/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[`+op+`]}`), 400, "mutability")
		}
		// /Schemas says what each is.
		r = do(t, srv, "GET", "/scim/v2/Schemas/"+urn, "")
		attrs := map[string]map[string]any{}
		for _, a := range r.body["attributes"].([]any) {
			m := a.(map[string]any)
			attrs[m["name"].(string)] = m
		}
		for name, typ := range map[string]string{"roles": "string", "guest": "boolean", "teamAdmin": "string", "channelAdmin": "string"} {
			if a := attrs[name]; a == nil || a["type"] != typ || a["mutability"] != "readOnly" {
				t.Errorf("/Schemas %s: %v", name, a)
			}
		}
	})
}
