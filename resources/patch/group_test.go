package patch_test

import (
	stderrors "errors"
	"reflect"
	"testing"

	"github.com/elimity-com/scim/errors"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

func TestSplitGroupOps(t *testing.T) {
	type M = store.MemberOp
	cases := []struct {
		name    string
		ops     string
		members []store.MemberOp
		rest    string // JSON ops, compared after parsing
		wantErr errors.ScimType
	}{
		{name: "okta membership update",
			ops: `[{"op":"remove","path":"members[value eq \"89bb1940\"]"},
				{"op":"add","path":"members","value":[{"value":"23a35c27","display":"test.user@okta.local"}]},
				{"op":"replace","path":"members","value":[{"value":"23a35c27","display":"a"},{"value":"89bb1940","display":"b"}]}]`,
			members: []M{{Kind: store.RemoveMembers, IDs: []string{"89bb1940"}}, {Kind: store.AddMembers, IDs: []string{"23a35c27"}},
				{Kind: store.ReplaceMembers, IDs: []string{"23a35c27", "89bb1940"}}}},
		{name: "entra update group: rename, add, value-list remove",
			ops: `[{"op":"Replace","path":"displayName","value":"renamed"},
				{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648"}]},
				{"op":"Remove","path":"members","value":[{"$ref":null,"value":"f648"}]}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"f648"}}, {Kind: store.RemoveMembers, IDs: []string{"f648"}}},
			rest:    `[{"op":"Replace","path":"displayName","value":"renamed"}]`},
		{name: "entra add single object", ops: `[{"op":"Add","path":"members","value":{"value":"1"}}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"1"}}}},
		{name: "entra flagged remove by filter", ops: `[{"op":"remove","path":"members[value eq \"7f4b\"]"}]`,
			members: []M{{Kind: store.RemoveMembers, IDs: []string{"7f4b"}}}},
		{name: "remove all", ops: `[{"op":"remove","path":"members"}]`,
			members: []M{{Kind: store.RemoveAllMembers, IDs: []string{}}}},
		{name: "okta push of an empty group", ops: `[{"op":"replace","path":"members","value":[]}]`,
			members: []M{{Kind: store.ReplaceMembers, IDs: []string{}}}},
		{name: "remove with an empty list removes nothing", ops: `[{"op":"Remove","path":"members","value":[]}]`},
		{name: "add empty list", ops: `[{"op":"add","path":"members","value":[]}]`},
		{name: "or-ed filter", ops: `[{"op":"remove","path":"members[value eq \"a\" or value eq \"b\"]"}]`,
			members: []M{{Kind: store.RemoveMembers, IDs: []string{"a", "b"}}}},
		{name: "any case, URN prefix", ops: `[{"op":"ADD","path":"urn:ietf:params:scim:schemas:core:2.0:Group:MEMBERS","value":[{"Value":"1","Type":"User"},{"VALUE":"1"}]}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"1"}}}},
		{name: "upsert form", ops: `[{"op":"add","path":"members[value eq \"9\"]","value":{"display":"x"}}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"9"}}}},
		{name: "path-less replace with members and displayName",
			ops:     `[{"op":"replace","value":{"id":"g1","displayName":"Eng","members":[{"value":"1"},{"value":"2"}]}}]`,
			members: []M{{Kind: store.ReplaceMembers, IDs: []string{"1", "2"}}},
			rest:    `[{"op":"replace","value":{"id":"g1","displayName":"Eng"}}]`},
		{name: "path-less add members only", ops: `[{"op":"Add","value":{"Members":[{"value":"1"}]}}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"1"}}}},
		{name: "path-less Group container", ops: `[{"op":"add","value":{"urn:ietf:params:scim:schemas:core:2.0:Group":{"members":[{"value":"1"}],"displayName":"D"}}}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"1"}}},
			rest:    `[{"op":"add","value":{"urn:ietf:params:scim:schemas:core:2.0:Group":{"displayName":"D"}}}]`},
		{name: "okta rename passes through", ops: `[{"op":"replace","value":{"id":"g1","displayName":"Test SCIMv2"}}]`,
			rest: `[{"op":"replace","value":{"id":"g1","displayName":"Test SCIMv2"}}]`},
		{name: "member display is not stored", ops: `[{"op":"replace","path":"members[value eq \"1\"].display","value":"x"}]`},
		{name: "members order is kept", ops: `[{"op":"add","path":"members","value":[{"value":"b"},{"value":"a"}]},{"op":"remove","path":"members"},{"op":"add","path":"members","value":{"value":"c"}}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"b", "a"}}, {Kind: store.RemoveAllMembers, IDs: []string{}}, {Kind: store.AddMembers, IDs: []string{"c"}}}},

		// Nested groups: a member id may name a group; the type sent with it is ignored.
		{name: "nested group", ops: `[{"op":"add","path":"members","value":[{"value":"g2","type":"Group"}]}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"g2"}}}},
		{name: "nested group in remove", ops: `[{"op":"remove","path":"members","value":[{"value":"g2","type":"group"}]}]`,
			members: []M{{Kind: store.RemoveMembers, IDs: []string{"g2"}}}},
		{name: "nested group in upsert", ops: `[{"op":"add","path":"members[value eq \"g\"]","value":{"type":"Group"}}]`,
			members: []M{{Kind: store.AddMembers, IDs: []string{"g"}}}},
		{name: "a type is ignored, whatever it says", ops: `[{"op":"replace","path":"members","value":[{"value":"u1","type":"Group"},{"value":"g2","type":"User"},{"value":"x","type":5}]}]`,
			members: []M{{Kind: store.ReplaceMembers, IDs: []string{"u1", "g2", "x"}}}},
		{name: "member type by path is not stored", ops: `[{"op":"replace","path":"members[value eq \"1\"].type","value":"Group"}]`},
		{name: "member without value", ops: `[{"op":"add","path":"members","value":[{"display":"x"}]}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "member value not a string", ops: `[{"op":"add","path":"members","value":[{"value":5}]}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "member value empty", ops: `[{"op":"add","path":"members","value":[{"value":""}]}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "bare id", ops: `[{"op":"add","path":"members","value":["1"]}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "members a string", ops: `[{"op":"replace","path":"members","value":"1"}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "replace without value", ops: `[{"op":"replace","path":"members"}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "path-less null members", ops: `[{"op":"replace","value":{"members":null}}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "filter on display", ops: `[{"op":"remove","path":"members[display eq \"x\"]"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "filter with and", ops: `[{"op":"remove","path":"members[value eq \"x\" and display eq \"y\"]"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "members.value is immutable", ops: `[{"op":"replace","path":"members[value eq \"1\"].value","value":"2"}]`, wantErr: errors.ScimTypeMutability},
		{name: "unknown member sub-attribute", ops: `[{"op":"replace","path":"members[value eq \"1\"].nosuch","value":"2"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "unknown op", ops: `[{"op":"move","path":"members","value":[]}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "path-less members with unknown op", ops: `[{"op":"","value":{"members":[]}}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "path-less remove of members", ops: `[{"op":"remove","value":{"members":[]}}]`, wantErr: errors.ScimTypeNoTarget},
		{name: "members twice in one value", ops: `[{"op":"add","value":{"members":[],"MEMBERS":[]}}]`, wantErr: errors.ScimTypeInvalidSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ops := parseOps(t, tc.ops)
			members, rest, err := patch.SplitGroupOps(ops)
			if tc.wantErr != "" {
				var se errors.ScimError
				if !stderrors.As(err, &se) || se.ScimType != tc.wantErr || se.Status != 400 {
					t.Fatalf("want 400 %s, got %#v", tc.wantErr, err)
				}
				if _, isPtr := err.(*errors.ScimError); isPtr {
					t.Fatal("error is a pointer")
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(members, tc.members) {
				t.Fatalf("members\n%+v\nwant\n%+v", members, tc.members)
			}
			var wantRest []patch.Operation
			if tc.rest != "" {
				wantRest = parseOps(t, tc.rest)
			}
			if !reflect.DeepEqual(rest, wantRest) {
				t.Fatalf("rest\n%s\nwant\n%s", dump(rest), dump(wantRest))
			}
			if !reflect.DeepEqual(ops, parseOps(t, tc.ops)) {
				t.Fatal("SplitGroupOps modified its input")
			}
		})
	}
}

// TestSplitLongOrFilter: the path parser rejects three-term value filters, but a
// longer or-chain built by other means (ParseFilter) must work too.
func TestSplitLongOrFilter(t *testing.T) {
	expr, err := fp.ParseFilter([]byte(`value eq "a" or value eq "b" or value eq "a" or VALUE eq "c"`))
	if err != nil {
		t.Fatal(err)
	}
	p := fp.Path{AttributePath: fp.AttributePath{AttributeName: "members"}, ValueExpression: expr}
	members, rest, err := patch.SplitGroupOps([]patch.Operation{{Op: "Remove", Path: &p}})
	want := []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{"a", "b", "c"}}}
	if err != nil || rest != nil || !reflect.DeepEqual(members, want) {
		t.Fatalf("got %+v %v %v, want %+v", members, rest, err, want)
	}
}

// TestSplitThenApply runs a mixed group PATCH the way the handler will.
func TestSplitThenApply(t *testing.T) {
	ops := parseOps(t, `[{"op":"replace","value":{"id":"g1","displayName":"Renamed","members":[{"value":"1"}]}},
		{"op":"Replace","path":"externalId","value":"x9"},
		{"op":"Remove","path":"members","value":[{"value":"2"}]}]`)
	members, rest, err := patch.SplitGroupOps(ops)
	if err != nil {
		t.Fatal(err)
	}
	g := map[string]any{"displayName": "Eng"}
	if err := patch.Apply(g, rest, groupSchema); err != nil {
		t.Fatal(err)
	}
	if want := (map[string]any{"displayName": "Renamed", "externalId": "x9"}); !reflect.DeepEqual(g, want) {
		t.Fatalf("group %v, want %v", g, want)
	}
	want := []store.MemberOp{{Kind: store.ReplaceMembers, IDs: []string{"1"}}, {Kind: store.RemoveMembers, IDs: []string{"2"}}}
	if !reflect.DeepEqual(members, want) {
		t.Fatalf("members %+v, want %+v", members, want)
	}
}
