package server_test

import (
	"testing"

	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

func TestDiscoveryDocuments(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		r := do(t, srv, "GET", "/scim/v2/Schemas", "")
		res, _ := r.body["Resources"].([]any)
		if r.status != 200 || len(res) == 0 || r.body["itemsPerPage"] != float64(len(res)) {
			t.Fatalf("/Schemas: %d %s", r.status, r.raw)
		}
		first := res[0].(map[string]any)
		if first["id"] != "urn:ietf:params:scim:schemas:core:2.0:User" || first["meta"] == nil {
			t.Fatalf("User schema must come first, with meta: %v", first["id"])
		}
		// Only stored attributes are advertised.
		for _, a := range first["attributes"].([]any) {
			if name := a.(map[string]any)["name"]; name == "ims" || name == "x509Certificates" {
				t.Fatalf("advertises %v, which is not stored", name)
			}
		}
		if r := do(t, srv, "GET", "/scim/v2/Schemas/urn:townsquare:params:scim:schemas:extension:2.0:User", ""); r.status != 200 {
			t.Fatalf("extension schema: %d", r.status)
		}
		wantError(t, do(t, srv, "GET", "/scim/v2/Schemas/urn:nope", ""), 404, "")
		// The schemas of discovery itself are named as the resources they describe
		// (meta.resourceType), in the list and alone: clients look them up by name.
		names := map[string]any{}
		for _, s := range res {
			names[s.(map[string]any)["id"].(string)] = s.(map[string]any)["name"]
		}
		for id, want := range map[string]string{
			"urn:ietf:params:scim:schemas:core:2.0:Schema":                "Schema",
			"urn:ietf:params:scim:schemas:core:2.0:ResourceType":          "ResourceType",
			"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig": "ServiceProviderConfig",
		} {
			if r := do(t, srv, "GET", "/scim/v2/Schemas/"+id, ""); names[id] != want || r.body["name"] != want {
				t.Errorf("%s: named %v in the list, %v alone; want %q", id, names[id], r.body["name"], want)
			}
		}
		r = do(t, srv, "GET", "/scim/v2/ResourceTypes/User", "")
		if r.status != 200 || r.body["endpoint"] != "/Users" || r.body["meta"] == nil {
			t.Fatalf("/ResourceTypes/User: %s", r.raw)
		}
		r = do(t, srv, "GET", "/scim/v2/ServiceProviderConfig", "")
		etag, _ := r.body["etag"].(map[string]any)
		filter, _ := r.body["filter"].(map[string]any)
		if etag["supported"] != true || filter["maxResults"] != 1000.0 {
			t.Fatalf("SPC: %s", r.raw)
		}
		wantError(t, do(t, srv, "POST", "/scim/v2/ServiceProviderConfig", "{}"), 405, "")
	})
}

func TestEndpointNamesInAnyCaseAndTrailingSlash(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		srv, _ := testServer(t, s)
		for _, p := range []string{"/scim/v2/users", "/scim/v2/Users/", "/scim/v2/GROUPS", "/scim/v2/serviceproviderconfig"} {
			if r := do(t, srv, "GET", p, ""); r.status != 200 {
				t.Errorf("%s: %d %s", p, r.status, r.raw)
			}
		}
		r := do(t, srv, "GET", `/scim/v2/Users?filter=userName+sw+O`, "")
		if r.status != 200 {
			t.Fatalf("unquoted filter value: %d %s", r.status, r.raw)
		}
	})
}
