package patch

import (
	"reflect"
	"testing"

	fp "github.com/scim2/filter-parser/v2"
)

var pathSeeds = []string{
	`members`, `MEMBERS`, `Members`, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
	`members[VALUE EQ "x"]`, `members [ value  eq  "x" ]`, `members[value eq ""]`, `members[value eq "é ] ["]`,
	`members[value eq "a\"b"]`, `members[value eq "a\\b"]`, `members[value ne "x"]`, `members[value eq "x"].display`,
	`members.value`, `members[display eq "x"]`, `members[value eq "x" or value eq "y"]`, `members[value pr]`,
	`urn:ietf:params:scim:schemas:core:2.0:Group:members`, `members `, ` members`, `memberſ`, `members[value eq x]`,
	"members[value eq \"\x00\"]", "members[value eq \"\xff\"]", `members[value	eq "x"]`, `members[value eq "x"]]`,
	`displayName`, `members[]`, `members[value eq "x" ]`, `name.givenName`, `NAME.GivenName`, `emails[type eq "work"].value`,
	`emails[type eq "work"]`, `addresses[type eq "work"].formatted`, `a.b.c`, `name.`, `.name`, `1name`, `na_me-2`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, `emails[type eq "work"].value.x`, `emails[type eq "work"]x`,
}

// FuzzParsePath: whatever the fast path reads, the filter parser reads to the same path.
func FuzzParsePath(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		fast, ok := parseSimplePath(in)
		if !ok {
			return
		}
		slow, err := fp.ParsePath([]byte(in))
		if err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\n fast   %#v\n parser %#v (%v)", in, fast, slow, err)
		}
	})
}

func TestParsePathFastPathTakesWhatIdPsSend(t *testing.T) {
	for _, s := range []string{`members`, `Members`, `members[value eq "2819c223-7f76-453a-919d-413861904646"]`,
		`members[Value Eq "00u1abcd"]`, `members [ value eq "x" ]`, `active`, `name.givenName`, `emails[type eq "work"].value`,
		`phoneNumbers[type eq "mobile"].value`, `addresses[type eq "work"].streetAddress`} {
		if _, ok := parseSimplePath(s); !ok {
			t.Errorf("%s: not read by the fast path", s)
		}
	}
	for _, s := range []string{`members[value eq "a\"b"]`, `members[value eq "x" or value eq "y"]`, `members[value ne "x"]`,
		`urn:ietf:params:scim:schemas:core:2.0:Group:members`, `memberſ`, "members[value eq \"\xff\"]", `a.b.c`, `emails[type eq "work"]x`} {
		if _, ok := parseSimplePath(s); ok {
			t.Errorf("%s: read by the fast path", s)
		}
	}
	// Whatever the fast path leaves, ParsePath still parses when the grammar allows it.
	for _, s := range []string{`members[value eq "x" or value eq "y"]`, `urn:ietf:params:scim:schemas:core:2.0:Group:members`} {
		if _, err := ParsePath(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParsePath(`emails[type eq]`); err == nil {
		t.Error("a malformed path parsed")
	}
}
