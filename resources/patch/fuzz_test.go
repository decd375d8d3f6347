package patch_test

import (
	"encoding/json"
	stderrors "errors"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

// fuzzOps decodes fuzzed JSON into operations the way elimity would hand them over (with
// UseNumber), but without elimity's validation, so Apply sees arbitrary shapes.
func fuzzOps(js string) ([]patch.Operation, bool) {
	var raw []struct {
		Op    string
		Path  string
		Value any
	}
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	if d.Decode(&raw) != nil || len(raw) > 64 {
		return nil, false
	}
	ops := make([]patch.Operation, len(raw))
	for i, r := range raw {
		ops[i] = patch.Operation{Op: r.Op, Value: r.Value}
		if r.Path != "" {
			p, err := fp.ParsePath([]byte(r.Path))
			if err != nil {
				return nil, false
			}
			ops[i].Path = &p
		}
	}
	return ops, true
}

var applySeeds = []string{
	`[{"op":"replace","value":{"active":false}}]`,
	`[{"op":"Replace","path":"active","value":"False"}]`,
	`[{"op":"Replace","path":"ACTIVE","value":"TRUE"}]`,
	`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"},{"op":"Replace","path":"userName","value":"5b50642d@testuser.com"},{"op":"Replace","path":"active","value":false}]`,
	`[{"op":"Add","path":"emails[type eq \"home\"].value","value":"h@x"}]`,
	`[{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555"}]`,
	`[{"op":"Replace","path":"addresses[type eq \"work\"].formatted","value":"1 Main"}]`,
	`[{"op":"replace","value":{"displayName":"D","name.givenName":"G","name.familyName":"F","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"9"}}]`,
	`[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"271"}]`,
	`[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"Value":"123"}}]`,
	`[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"x"}}}]`,
	`[{"op":"Replace","path":"NAME.GivenName","value":"g"}]`,
	`[{"op":"add","path":"emails","value":[{"Value":"n@x","Primary":"True","Type":"work"}]}]`,
	`[{"op":"add","path":"emails","value":{"value":"single@x"}}]`,
	`[{"op":"replace","path":"emails","value":[]}]`,
	`[{"op":"remove","path":"emails[type eq \"work\"]"}]`,
	`[{"op":"remove","path":"emails[type eq \"work\"].display"}]`,
	`[{"op":"remove","path":"emails[type eq \"work\" and primary eq true]"}]`,
	`[{"op":"remove","path":"emails[not(value co \"home\")]"}]`,
	`[{"op":"remove","path":"name.givenName"},{"op":"remove","path":"name.familyName"}]`,
	`[{"op":"remove","path":"userName"}]`,
	`[{"op":"remove","path":"active"}]`,
	`[{"op":"replace","path":"id","value":"x"}]`,
	`[{"op":"add","path":"groups","value":[{"value":"g"}]}]`,
	`[{"op":"replace","value":{"id":"1","userName":"u","Active":"false","meta":{}}}]`,
	`[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"costCenter":"c"}}]`,
	`[{"op":"replace","path":"displayName","value":"X"},{"op":"replace","path":"nosuch","value":1}]`,
	`[{"op":"remove","path":"emails","value":[{"value":"alice@home.example"}]}]`,
}

// FuzzApply: Apply never panics, returns only ScimError values, leaves the map unchanged
// on error, and on success leaves only canonical names and shapes.
func FuzzApply(f *testing.F) {
	for _, s := range applySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		ops, ok := fuzzOps(js)
		if !ok {
			return
		}
		m := alice()
		err := patch.Apply(m, ops, userSchema, entSchema)
		if err != nil {
			checkScimErr(t, err)
			if !reflect.DeepEqual(m, alice()) {
				t.Fatalf("map changed on error %v", err)
			}
			return
		}
		checkCanonical(t, m, userSchema, entSchema)
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
	})
}

var splitSeeds = []string{
	`[{"op":"remove","path":"members[value eq \"89bb\"]"},{"op":"add","path":"members","value":[{"value":"23a3","display":"u@okta"}]}]`,
	`[{"op":"replace","path":"members","value":[{"value":"1"},{"value":"2"}]}]`,
	`[{"op":"replace","path":"members","value":[]}]`,
	`[{"op":"Replace","path":"displayName","value":"n"},{"op":"Add","path":"members","value":[{"$ref":null,"value":"f6"}]},{"op":"Remove","path":"members","value":[{"$ref":null,"value":"f6"}]}]`,
	`[{"op":"Add","path":"members","value":{"value":"1"}}]`,
	`[{"op":"remove","path":"members"}]`,
	`[{"op":"replace","value":{"id":"g","displayName":"Test SCIMv2"}}]`,
	`[{"op":"replace","value":{"displayName":"x","members":[{"value":"1"}]}}]`,
	`[{"op":"add","path":"members","value":[{"value":"g2","type":"Group"}]}]`,
	`[{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}]`,
	`[{"op":"replace","path":"members[value eq \"1\"].display","value":"d"}]`,
	`[{"op":"replace","path":"externalId","value":"e"}]`,
}

// FuzzSplitGroupOps: SplitGroupOps never panics, never lets a members op through to rest,
// and never emits an empty targeted change; Apply then copes with rest.
func FuzzSplitGroupOps(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		ops, ok := fuzzOps(js)
		if !ok {
			return
		}
		members, rest, err := patch.SplitGroupOps(ops)
		if err != nil {
			checkScimErr(t, err)
			return
		}
		for _, mo := range members {
			switch mo.Kind {
			case store.AddMembers, store.RemoveMembers:
				if len(mo.IDs) == 0 {
					t.Fatalf("empty %v", mo.Kind)
				}
			case store.ReplaceMembers:
			case store.RemoveAllMembers:
				if len(mo.IDs) != 0 {
					t.Fatalf("RemoveAllMembers with IDs")
				}
			default:
				t.Fatalf("bad kind %v", mo.Kind)
			}
			for _, id := range mo.IDs {
				if id == "" {
					t.Fatal("empty member ID")
				}
			}
		}
		for _, op := range rest {
			if op.Path != nil && strings.EqualFold(op.Path.AttributePath.AttributeName, "members") {
				t.Fatalf("members op in rest: %v", op.Path)
			}
			if v, ok := op.Value.(map[string]any); ok && op.Path == nil {
				for k := range v {
					if strings.EqualFold(k, "members") {
						t.Fatal("members key in a rest op")
					}
				}
			}
		}
		group := func() map[string]any { return map[string]any{"displayName": "Eng", "externalId": "e"} }
		g := group()
		if err := patch.Apply(g, rest, groupSchema); err != nil {
			checkScimErr(t, err)
			if !reflect.DeepEqual(g, group()) {
				t.Fatal("group changed on error")
			}
			return
		}
		checkCanonical(t, g, groupSchema)
	})
}

func checkScimErr(t *testing.T, err error) {
	t.Helper()
	var se errors.ScimError
	if !stderrors.As(err, &se) || se.Status != 400 || se.ScimType == "" {
		t.Fatalf("not a 400 ScimError value with a scimType: %#v", err)
	}
}

// checkCanonical asserts the Apply contract on a result: canonical attribute and
// sub-attribute names, no empty complex or multi-valued attributes, at most one primary.
func checkCanonical(t *testing.T, m map[string]any, s schema.Schema, exts ...schema.Schema) {
	t.Helper()
	attrs := append(append([]schema.CoreAttribute(nil), s.Attributes...), schema.CommonAttributes()...)
	for k, v := range m {
		if ext := findExt(exts, k); ext != nil {
			em, ok := v.(map[string]any)
			if !ok || len(em) == 0 {
				t.Fatalf("extension %s is %#v", k, v)
			}
			for ek, ev := range em {
				checkAttr(t, ext.Attributes, ek, ev)
			}
			continue
		}
		checkAttr(t, attrs, k, v)
	}
}

func findExt(exts []schema.Schema, id string) *schema.Schema {
	for i := range exts {
		if exts[i].ID == id {
			return &exts[i]
		}
	}
	return nil
}

func checkAttr(t *testing.T, attrs []schema.CoreAttribute, k string, v any) {
	t.Helper()
	var a *schema.CoreAttribute
	for i := range attrs {
		if attrs[i].Name() == k {
			a = &attrs[i]
		}
	}
	if a == nil {
		t.Fatalf("non-canonical key %q", k)
	}
	checkComplex := func(x any) {
		cm, ok := x.(map[string]any)
		if !ok || len(cm) == 0 {
			t.Fatalf("%s: element %#v", k, x)
		}
		for sk, sv := range cm {
			checkAttr(t, a.SubAttributes(), sk, sv)
		}
	}
	switch {
	case a.MultiValued():
		l, ok := v.([]any)
		if !ok || len(l) == 0 {
			t.Fatalf("%s: %#v", k, v)
		}
		primaries := 0
		for _, e := range l {
			if a.AttributeType() == "complex" {
				checkComplex(e)
				if e.(map[string]any)["primary"] == true {
					primaries++
				}
			}
		}
		if primaries > 1 {
			t.Fatalf("%s: %d primaries", k, primaries)
		}
	case a.AttributeType() == "complex":
		checkComplex(v)
	case a.AttributeType() == "boolean":
		if _, ok := v.(bool); !ok {
			t.Fatalf("%s: %#v is not a bool", k, v)
		}
	case a.AttributeType() == "integer":
		if _, ok := v.(int64); !ok {
			t.Fatalf("%s: %#v is not an int64", k, v)
		}
	case a.AttributeType() == "decimal":
		if _, ok := v.(float64); !ok {
			t.Fatalf("%s: %#v is not a float64", k, v)
		}
	default:
		if _, ok := v.(string); !ok {
			t.Fatalf("%s: %#v is not a string", k, v)
		}
	}
}
