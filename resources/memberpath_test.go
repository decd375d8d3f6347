package resources

import (
	"reflect"
	"testing"

	"github.com/elimity-com/scim/filter"
	fp "github.com/scim2/filter-parser/v2"
)

var memberPathSeeds = []string{
	`members`, `MEMBERS`, `Members`, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
	`members[VALUE EQ "x"]`, `members [ value  eq  "x" ]`, `members[value eq ""]`, `members[value eq "é ] ["]`,
	`members[value eq "a\"b"]`, `members[value eq "a\\b"]`, `members[value ne "x"]`, `members[value eq "x"].display`,
	`members.value`, `members[display eq "x"]`, `members[value eq "x" or value eq "y"]`, `members[value pr]`,
	`urn:ietf:params:scim:schemas:core:2.0:Group:members`, `members `, ` members`, `memberſ`, `members[value eq x]`,
	"members[value eq \"\x00\"]", "members[value eq \"\xff\"]", `members[value	eq "x"]`, `members[value eq "x"]]`,
	`displayName`, `members[]`, `members[value eq "x" ]`,
}

// FuzzParseMemberPath: whatever parseMemberPath recognises, the library's parser must
// parse to the same path, and the library's path validation for the Group schema must
// accept it, so the fast path hands the handler exactly what the library would.
func FuzzParseMemberPath(f *testing.F) {
	for _, s := range memberPathSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fast, ok := parseMemberPath(in)
		if !ok {
			return
		}
		slow, err := fp.ParsePath([]byte(in))
		if err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\n fast   %#v\n parser %#v (%v)", in, fast, slow, err)
		}
		v, err := filter.NewPathValidator(in, groupSchema)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if err := v.Validate(); err != nil {
			t.Fatalf("%q: the library's path validation refuses it: %v", in, err)
		}
	})
}

func TestParseMemberPathRecognisesIdPPaths(t *testing.T) {
	for _, s := range []string{`members`, `Members`, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
		`members[Value Eq "00u1abcd"]`, `members [ value eq "x" ]`} {
		if _, ok := parseMemberPath(s); !ok {
			t.Errorf("%s: not recognised", s)
		}
	}
	for _, s := range []string{`members[value eq "a\"b"]`, `members.value`, `members[value eq "x"].display`,
		`urn:ietf:params:scim:schemas:core:2.0:Group:members`, `memberſ`, `members[value ne "x"]`, "members[value eq \"\xff\"]"} {
		if _, ok := parseMemberPath(s); ok {
			t.Errorf("%s: recognised", s)
		}
	}
}

func BenchmarkParseMemberPath(b *testing.B) {
	const path = `members[value eq "2819c223-7f76-453a-919d-413861904646"]`
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := parseMemberPath(path); !ok {
				b.Fatal("not recognised")
			}
		}
	})
	b.Run("parser", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fp.ParsePath([]byte(path)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
