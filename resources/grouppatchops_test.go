package resources

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim"
)

// recordingGroups is a Groups handler that records the operations the library hands it.
type recordingGroups struct {
	scim.ResourceHandler // nil: only Patch is called
	ops                  *[]scim.PatchOperation
}

func (h recordingGroups) Patch(_ *http.Request, _ string, ops []scim.PatchOperation) (scim.Resource, error) {
	*h.ops = ops
	return scim.Resource{}, nil
}

// libraryGroupOps runs body through the library's PATCH validation for Groups, as the
// server configures it, and returns the operations it hands the handler (ok false when
// it answers with an error instead).
func libraryGroupOps(t testing.TB, body string) ([]scim.PatchOperation, bool) {
	t.Helper()
	var got []scim.PatchOperation
	svc := &Service{}
	types := svc.ResourceTypes()
	for i := range types {
		if types[i].Name == "Group" {
			types[i].Handler = recordingGroups{ops: &got}
		}
	}
	srv, err := scim.NewServer(&scim.ServerArgs{ServiceProviderConfig: &scim.ServiceProviderConfig{}, ResourceTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, "/Groups/g1", strings.NewReader(body)))
	if rec.Code != http.StatusNoContent {
		return nil, false
	}
	return got, true
}

func patchBody(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// groupPatchSeeds are the requests Okta and Entra send (fast) and neighbours that the
// fast path must leave to the library (slow).
var groupPatchSeeds = []struct {
	body string
	fast bool
}{
	// Okta
	{patchBody(`{"op":"remove","path":"members[value eq \"u1\"]"}`, `{"op":"remove","path":"members[value eq \"u2\"]"}`), true},
	{patchBody(`{"op":"add","path":"members","value":[{"value":"u1","display":"Alice"},{"value":"u2","display":"Bob"}]}`), true},
	{patchBody(`{"op":"replace","value":{"id":"g1","displayName":"Engineering"}}`), true},
	{patchBody(`{"op":"replace","path":"members","value":[]}`), true},
	{patchBody(`{"op":"replace","path":"members","value":[{"value":"u1"}]}`), true},
	// Entra
	{patchBody(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]}`), true},
	{patchBody(`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u1"},{"value":"u2"}]}`), true},
	{patchBody(`{"op":"Add","path":"members","value":{"value":"u1"}}`), true},
	{patchBody(`{"op":"Replace","value":{"displayName":"New","externalId":"e1"}}`), true},
	{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"u1"}],"name":"addMember"}]}`, true},
	// other shapes the fast path takes
	{patchBody(`{"op":"remove","path":"members"}`), true},
	{patchBody(`{"op":"add","value":{"MEMBERS":[{"VALUE":"u1","Type":"User"}],"DisplayName":"x"}}`), true},
	{patchBody(`{"op":"add","value":{"members":{"value":"u1"}}}`), true},
	{patchBody(`{"op":"add","value":{"ID":"g1"}}`), true},
	{patchBody(`{"op":"replace","value":{"":"x","displayName":"y"}}`), true},                   // the library drops "" as it drops id
	{patchBody(`{"op":"add","path":"members","value":[{"value":"u1","type":"Group"}]}`), true}, // our handler's 400
	{patchBody(`{"op":"add","path":"members","value":[{"display":"no value"}]}`), true},        // our handler's 400
	{patchBody(`{"op":"remove","path":"members[value eq \"\"]"}`), true},                       // our handler's 400
	{`{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"OP":"ADD","PATH":"Members","VALUE":[{"value":"u1"}]}]} trailing`, true},
	// left to the library
	{patchBody(`{"op":"remove"}`), false},
	{patchBody(`{"op":"remove","value":{"members":[{"value":"u1"}]}}`), false},
	{patchBody(`{"op":"move","path":"members","value":[{"value":"u1"}]}`), false},
	{patchBody(`{"op":"add","path":"members"}`), false},
	{patchBody(`{"op":"add","path":"members","value":null}`), false},
	{patchBody(`{"op":"add","path":"members","value":"u1"}`), false},
	{patchBody(`{"op":"add","path":"members","value":[{"value":5}]}`), false},
	{patchBody(`{"op":"add","path":"members","value":[{"value":"u1","VALUE":"u2"}]}`), false},
	{patchBody(`{"op":"add","path":"members[value eq \"u1\"]","value":{"value":"u1"}}`), false},
	{patchBody(`{"op":"remove","path":"members[value eq \"u1\"]","value":[{"value":"u1"}]}`), false},
	{patchBody(`{"op":"remove","path":"members[value eq \"u1\"].display"}`), false},
	{patchBody(`{"op":"remove","path":"members[display eq \"x\"]"}`), false},
	{patchBody(`{"op":"replace","path":"displayName","value":"x"}`), false},
	{patchBody(`{"op":"replace","value":{"displayName":5}}`), false},
	{patchBody(`{"op":"replace","value":{"displayName":null}}`), false},
	{patchBody(`{"op":"replace","value":{"id":"a","ID":"b","displayName":"x"}}`), false},
	{patchBody(`{"op":"replace","value":{"title":"x"}}`), false},
	{patchBody(`{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:Group":{"displayName":"x"}}}`), false},
	{patchBody(`{"op":"replace","value":"x"}`), false},
	{patchBody(`{"op":5,"path":"members"}`), false},
	{patchBody(), false},
	{`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp","x"],"Operations":[{"op":"remove","path":"members"}]}`, false},
	{`{"Operations":[{"op":"remove","path":"members"}]}`, false},
	{`not json`, false},
}

// TestGroupPatchOpsMatchLibrary: the fast path takes the IdP shapes, and for every body it
// takes, the library hands the handler exactly the same operations.
func TestGroupPatchOpsMatchLibrary(t *testing.T) {
	for _, c := range groupPatchSeeds {
		if _, ok := groupPatchOps([]byte(c.body)); ok != c.fast {
			t.Errorf("%s: fast path ok=%v, want %v", c.body, ok, c.fast)
			continue
		}
		checkSameOps(t, c.body)
	}
}

// checkSameOps fails when the fast path takes body but the library rejects it or hands
// the handler other operations.
func checkSameOps(t *testing.T, body string) {
	t.Helper()
	fast, ok := groupPatchOps([]byte(body))
	if !ok {
		return
	}
	lib, libOK := libraryGroupOps(t, body)
	if !libOK {
		t.Fatalf("%s: taken by the fast path, but the library rejects it", body)
	}
	if !reflect.DeepEqual(fast, lib) {
		t.Fatalf("%s:\n fast    %#v\n library %#v", body, fast, lib)
	}
}

// FuzzGroupPatchOps: whatever body the fast path takes, the library takes too, with
// the same operations.
func FuzzGroupPatchOps(f *testing.F) {
	for _, c := range groupPatchSeeds {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		checkSameOps(t, body)
	})
}

func BenchmarkGroupPatchOps(b *testing.B) {
	ops := make([]string, 500)
	for i := range ops {
		ops[i] = `{"op":"remove","path":"members[value eq \"2819c223-7f76-453a-919d-4138619046` + string(rune('a'+i%26)) + `\"]"}`
	}
	body := patchBody(ops...)
	b.Run("okta_remove500/fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := groupPatchOps([]byte(body)); !ok {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("okta_remove500/library", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := libraryGroupOps(b, body); !ok {
				b.Fatal("rejected")
			}
		}
	})
}
