package scimtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// elemWhere and noElemWith find an array's element by its value, whatever its place.
func TestElemWhere(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(`{"groups":[{"value":"g1","type":"direct"},{"value":"g2","Type":"indirect","$ref":"http://x/Groups/g2"}]}`), &doc); err != nil {
		t.Fatal(err)
	}
	r := &Response{JSON: doc}
	v := vars{"g.id": "g2", "g.loc": "http://x/Groups/g2"}
	for _, c := range []struct {
		name string
		a    Assert
		pass bool
	}{
		{"first element", elemWhere("groups", "g1", "type", "direct"), true},
		{"second, key in another case", elemWhere("groups", "${g.id}", "type", "indirect"), true},
		{"templates", elemWhere("groups", "${g.id}", "$ref", "${g.loc}"), true},
		{"a wrong value", elemWhere("groups", "g1", "type", "indirect"), false},
		{"a missing key", elemWhere("groups", "g1", "$ref", "x"), false},
		{"no such element", elemWhere("groups", "g3", "type", "direct"), false},
		{"no array", elemWhere("members", "g1", "type", "direct"), false},
		{"absent element", noElemWith("groups", "g3"), true},
		{"absent array", noElemWith("members", "g1"), true},
		{"present element", noElemWith("groups", "${g.id}"), false},
	} {
		if err := c.a.fn(r, v); (err == nil) != c.pass {
			t.Errorf("%s: err %v, want passing %v", c.name, err, c.pass)
		}
	}
}

// The provisioning check of nested groups checks nothing on a server without
// Townsquare's extension: one request, to /Schemas.
func TestNestedProvisioningCheckIsGuarded(t *testing.T) {
	rec := &recorder{answer: func(r *http.Request, body []byte) (int, http.Header, string) {
		return 200, nil, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":[{"id":"urn:ietf:params:scim:schemas:core:2.0:User"}]}`
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	if err := runCheck(context.Background(), newSession(t, srv, "rfc"), Check{Name: "nested-groups-provisioning", Func: nestedProvisioningCheck}); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
