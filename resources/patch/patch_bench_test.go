package patch_test

import (
	"fmt"
	"testing"

	"github.com/elimity-com/scim/schema"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/resources/patch"
)

// Benchmarks of PATCH: Apply on a user's attribute map for the operations Okta and Entra
// send, the per-request schema construction resources.Users.Patch does today, the path
// parsing elimity does for every operation, and SplitGroupOps for member changes.
//
//	go test -run '^$' -bench . -benchmem ./resources/patch

func benchUser() map[string]any {
	return map[string]any{
		"userName": "jane.doe@example.com", "active": true, "displayName": "Jane Doe",
		"name":   map[string]any{"givenName": "Jane", "familyName": "Doe"},
		"emails": []any{map[string]any{"value": "jane.doe@example.com", "type": "work", "primary": true}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "R&D"},
	}
}

func mustPath(b *testing.B, s string) *fp.Path {
	p, err := fp.ParsePath([]byte(s))
	if err != nil {
		b.Fatal(err)
	}
	return &p
}

func benchOps(b *testing.B) map[string][]patch.Operation {
	return map[string][]patch.Operation{
		// Okta deactivates with a path-less replace.
		"okta_deactivate": {{Op: "replace", Value: map[string]any{"active": false}}},
		// Entra's attribute update: four operations with paths.
		"entra_4ops": {
			{Op: "Replace", Path: mustPath(b, `emails[type eq "work"].value`), Value: "new@example.com"},
			{Op: "Replace", Path: mustPath(b, "name.familyName"), Value: "Smith"},
			{Op: "Replace", Path: mustPath(b, "displayName"), Value: "Jane Smith"},
			{Op: "Replace", Path: mustPath(b, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), Value: "Sales"},
		},
	}
}

// BenchmarkApply is Apply alone, with the schemas built once.
func BenchmarkApply(b *testing.B) {
	user, ent, ts := resources.UserSchema(), resources.EnterpriseUserSchema(), resources.TownsquareUserSchema()
	for name, ops := range benchOps(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := patch.Apply(benchUser(), ops, user, ent, ts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyBuildingSchemas is what resources.Users.Patch pays today: it calls
// EnterpriseUserSchema() and TownsquareUserSchema() on every request.
func BenchmarkApplyBuildingSchemas(b *testing.B) {
	user := resources.UserSchema()
	for name, ops := range benchOps(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := patch.Apply(benchUser(), ops, user, resources.EnterpriseUserSchema(), resources.TownsquareUserSchema()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSchemaBuild is the schema construction alone.
func BenchmarkSchemaBuild(b *testing.B) {
	for name, f := range map[string]func() schema.Schema{
		"UserSchema": resources.UserSchema, "EnterpriseUserSchema": resources.EnterpriseUserSchema,
		"TownsquareUserSchema": resources.TownsquareUserSchema, "GroupSchema": resources.GroupSchema,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = f()
			}
		})
	}
}

// BenchmarkParsePath is the parse elimity does for every operation's path.
func BenchmarkParsePath(b *testing.B) {
	for _, p := range []string{"active", "members", `emails[type eq "work"].value`, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`} {
		b.Run(p, func(b *testing.B) {
			raw := []byte(p)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fp.ParsePath(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSplitGroupOps is the member-operation split of a group PATCH, for Okta's
// one-member and 1,000-member adds.
func BenchmarkSplitGroupOps(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		vals := make([]any, n)
		for i := range vals {
			vals[i] = map[string]any{"value": fmt.Sprintf("00000000-0000-4000-8000-%012d", i)}
		}
		ops := []patch.Operation{{Op: "add", Path: mustPath(b, "members"), Value: vals}}
		b.Run(fmt.Sprintf("add_%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := patch.SplitGroupOps(ops); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
