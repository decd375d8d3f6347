package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store"
)

// parseFilter parses a SCIM filter as the HTTP side does, or fails the test.
func parseFilter(t testing.TB, s string) store.Filter {
	t.Helper()
	f, err := fp.ParseFilter([]byte(s))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return f
}

// The filter fixture: five users and four groups, written through the API, whose
// attributes exercise case folding (ASCII and not), LIKE metacharacters, quotes,
// absent values, multi-valued attributes, the enterprise extension and group membership.
const (
	alice  = "Alice@Example.com"
	bob    = "bob"
	elodie = "ÉLODIE@x.com"
	carol  = "carol"
	dave   = "dave"
)

const (
	entURN  = store.EnterpriseUserSchema
	coreURN = store.UserSchema
)

type filterFixture struct {
	users  map[string]store.User // by userName
	groups map[string]store.Group
}

func newFilterFixture(t *testing.T, s store.Store) filterFixture {
	t.Helper()
	ctx := context.Background()
	f := filterFixture{users: map[string]store.User{}, groups: map[string]store.Group{}}
	create := func(u store.User) {
		t.Helper()
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatalf("create %s: %v", u.UserName, err)
		}
		f.users[u.UserName] = u
	}
	create(store.User{UserName: bob, ExternalID: "ext-2", DisplayName: "Bob", NickName: "100%_sure", Title: "Manager",
		Active: false, Enterprise: store.Enterprise{Department: "Sales"},
		Emails: []store.MultiValue{{Value: "bob@x.com", Type: "work"}}})
	create(store.User{UserName: alice, ExternalID: "ext-1", DisplayName: "Alice Liddell", Active: true,
		Name: store.Name{GivenName: "Alice", FamilyName: "Liddell"}, Title: "Engineer",
		Enterprise: store.Enterprise{EmployeeNumber: "1001", Department: "R&D", CostCenter: "CC_1",
			Manager: store.Manager{Value: f.users[bob].ID, DisplayName: "Bob Builder"}},
		Emails:       []store.MultiValue{{Value: alice, Type: "work", Primary: true}, {Value: "alice@home.org", Type: "home"}},
		PhoneNumbers: []store.MultiValue{{Value: "+1 555 0100", Type: "work", PrimaryFalse: true}},
		Addresses: []store.Address{{Locality: "Paris", Country: "FR", PostalCode: "75001", StreetAddress: "1 Rue de Rivoli",
			Type: "work", Primary: true}}})
	create(store.User{UserName: elodie, Active: true, Name: store.Name{GivenName: "Élodie"}, Title: `a_b\c`,
		Emails: []store.MultiValue{{Value: elodie, Type: "work", Display: "Élodie", PrimaryFalse: true}}})
	create(store.User{UserName: carol, Active: true, NickName: "1000 sure"})
	create(store.User{UserName: dave, ExternalID: "EXT-4", DisplayName: `Dave "D" Jones`, NickName: "x' OR 1=1 --", Active: true,
		Emails:       []store.MultiValue{{Value: "dave@x.com", Type: "home", Primary: true}, {Value: "d@work.com", Type: "work"}},
		PhoneNumbers: []store.MultiValue{{Value: "+44 20 7946 0000", Type: "mobile"}}})
	for _, g := range []struct {
		name, ext string
		members   []string
	}{
		{"Engineering", "gx-1", []string{alice, dave}},
		{"Sales", "", []string{bob}},
		{"Émigrés", "", []string{carol}},
		{"Empty", "", nil},
	} {
		var ids []string
		for _, m := range g.members {
			ids = append(ids, f.users[m].ID)
		}
		f.groups[g.name] = mustGroup(t, s, g.name, g.ext, ids...)
	}
	return f
}

func (f filterFixture) id(userName string) string     { return f.users[userName].ID }
func (f filterFixture) gid(displayName string) string { return f.groups[displayName].ID }

// sameSet reports whether got and want hold the same strings, in any order.
func sameSet(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// testUserFilters runs filters through ListUsers and checks the userNames that match.
// Both the semantics of SCIM (RFC 7644 §3.4.2.2) and the choices the README documents
// are pinned here: caseExact=false attributes other than userName and emails fold ASCII
// letters only; ordering is bytewise; a timestamp with a fraction means that microsecond.
func testUserFilters(t *testing.T, s store.Store) {
	f := newFilterFixture(t, s)
	all := []string{alice, bob, elodie, carol, dave}
	stamp := func(u string) string { return f.users[u].Created.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }
	cases := []struct {
		filter string
		want   []string
	}{
		// userName: case-insensitive, including non-ASCII.
		{`userName eq "alice@example.com"`, []string{alice}},
		{`USERNAME EQ "ALICE@EXAMPLE.COM"`, []string{alice}},
		{`userName eq "élodie@x.com"`, []string{elodie}},
		{`userName eq "ÉLODIE@X.COM"`, []string{elodie}},
		{`userName sw "éLo"`, []string{elodie}},
		{`userName co "@"`, []string{alice, elodie}},
		{`userName ew ".COM"`, []string{alice, elodie}},
		{`userName gt "bob"`, []string{carol, dave, elodie}},
		{`userName le "bob"`, []string{alice, bob}},
		{`userName ne "BOB"`, []string{alice, carol, dave, elodie}},
		{`id eq "` + f.id(bob) + `"`, []string{bob}},
		// Other caseExact=false strings fold ASCII only.
		{`name.givenName eq "ALICE"`, []string{alice}},
		{`name.givenName eq "Élodie"`, []string{elodie}},
		{`name.givenName eq "élodie"`, nil},
		{`name.familyName sw "lid"`, []string{alice}},
		{`name pr`, []string{alice, elodie}},
		// %, _ and \ in values are literal.
		{`nickName co "0%_"`, []string{bob}},
		{`nickName sw "100%_"`, []string{bob}},
		{`nickName sw "100"`, []string{bob, carol}},
		{`nickName ew "_sure"`, []string{bob}},
		{`title co "_b\\"`, []string{elodie}},
		{`title ew "\\c"`, []string{elodie}},
		{`title eq "a_b\\c"`, []string{elodie}},
		{`displayName eq "Dave \"D\" Jones"`, []string{dave}},
		// Injection-looking values are plain values.
		{`nickName eq "x' OR 1=1 --"`, []string{dave}},
		{`userName eq "x' OR 1=1 --"`, nil},
		{`userName eq "bob\" OR \"1\"=\"1"`, nil},
		// Presence, null, and ne matching absent values.
		{`title pr`, []string{alice, bob, elodie}},
		{`title eq null`, []string{carol, dave}},
		{`title ne null`, []string{alice, bob, elodie}},
		{`not (title pr)`, []string{carol, dave}},
		{`title ne "engineer"`, []string{bob, carol, dave, elodie}},
		{`not (title eq "ENGINEER")`, []string{bob, carol, dave, elodie}},
		{`externalId eq "EXT-1"`, nil},
		{`externalId eq "ext-1"`, []string{alice}},
		{`externalId ne "ext-1"`, []string{bob, carol, dave, elodie}},
		{`externalId lt "a"`, []string{dave}}, // bytewise: "EXT-4" < "a" < "ext-1"
		{`externalId gt "Z"`, []string{alice, bob}},
		// Booleans, including Entra's string booleans.
		{`active eq false`, []string{bob}},
		{`active eq "False"`, []string{bob}},
		{`active eq "TRUE"`, []string{alice, carol, dave, elodie}},
		{`active ne true`, []string{bob}},
		{`active pr`, all},
		{`not (active eq true)`, []string{bob}},
		// Multi-valued attributes: any value matches.
		{`emails.value eq "bob@x.com"`, []string{bob}},
		{`emails eq "BOB@X.COM"`, []string{bob}},
		{`emails.value eq "élodie@x.com"`, []string{elodie}},
		{`emails.value co "x.com"`, []string{bob, dave, elodie}},
		{`emails.primary eq true`, []string{alice, dave}},
		// A primary left out is false (RFC 7643 §2.4), as one sent false (elodie's).
		{`emails.primary eq false`, []string{alice, bob, dave, elodie}},
		{`emails[type eq "work" and primary eq false]`, []string{bob, dave, elodie}},
		{`emails[type eq "work" and primary ne true]`, []string{bob, dave, elodie}},
		{`emails.primary pr`, []string{alice, bob, dave, elodie}},
		{`phoneNumbers.primary eq false`, []string{alice, dave}},
		{`phoneNumbers.primary eq true`, nil},
		{`addresses.primary eq false`, nil},
		{`addresses[primary eq true]`, []string{alice}},
		{`emails pr`, []string{alice, bob, dave, elodie}},
		{`not (emails pr)`, []string{carol}},
		{`emails eq null`, []string{carol}},
		{`emails.value ne "bob@x.com"`, []string{alice, carol, dave, elodie}},
		{`not (emails.value eq "bob@x.com")`, []string{alice, carol, dave, elodie}},
		// A value path holds all its conditions on one element; separate comparisons do not.
		{`emails[type eq "work" and value co "@x.com"]`, []string{bob, elodie}},
		{`emails.type eq "work" and emails.value co "@x.com"`, []string{bob, dave, elodie}},
		{`emails[type eq "home" or primary eq true]`, []string{alice, dave}},
		{`emails[not (type eq "work")]`, []string{alice, dave}},
		{`emails[value ew "@x.com"] and not (emails[type eq "home"])`, []string{bob, elodie}},
		{`emails[display eq "Élodie"]`, []string{elodie}},
		{`emails[value eq null]`, nil},
		{`phoneNumbers.value sw "+44"`, []string{dave}},
		{`phoneNumbers[type eq "WORK"]`, []string{alice}},
		{`phoneNumbers pr`, []string{alice, dave}},
		{`addresses[locality eq "paris" and country eq "fr"]`, []string{alice}},
		{`addresses.postalCode eq "75001"`, []string{alice}},
		{`addresses.streetAddress co "rivoli"`, []string{alice}},
		// Precedence: and binds tighter than or; parentheses and not.
		{`userName eq "bob" or userName eq "carol" and active eq false`, []string{bob}},
		{`(userName eq "bob" or userName eq "carol") and active eq true`, []string{carol}},
		{`userName eq "carol" and active eq true or userName eq "bob"`, []string{bob, carol}},
		{`not (userName eq "bob" or userName eq "carol")`, []string{alice, dave, elodie}},
		{`not (userName eq "bob") and not (userName eq "carol")`, []string{alice, dave, elodie}},
		// Enterprise extension and URN-qualified core attributes.
		{entURN + `:department eq "r&d"`, []string{alice}},
		{strings.ToUpper(entURN) + `:employeeNumber eq "1001"`, []string{alice}},
		{entURN + `:manager.value eq "` + f.id(bob) + `"`, []string{alice}},
		{entURN + `.manager eq "` + f.id(bob) + `"`, []string{alice}},
		{entURN + `:manager.displayName co "builder"`, []string{alice}},
		{entURN + `:manager pr`, []string{alice}},
		{entURN + `:costCenter ew "_1"`, []string{alice}},
		{entURN + `:department pr`, []string{alice, bob}},
		{entURN + `:department ne "sales"`, []string{alice, carol, dave, elodie}},
		{`department eq "SALES"`, []string{bob}}, // unqualified extension attribute
		{`manager.value eq "` + f.id(bob) + `"`, []string{alice}},
		{coreURN + `:userName eq "BOB"`, []string{bob}},
		{coreURN + `:name.familyName eq "liddell"`, []string{alice}},
		{coreURN + `:emails[type eq "home"]`, []string{alice, dave}},
		// Timestamps. The store sets creation times, so only what follows from the order
		// of creation (bob, alice, elodie, carol, dave) is checked: with a fraction, a
		// timestamp means its microsecond.
		{`meta.created gt "2000-01-01T00:00:00Z"`, all},
		{`meta.created lt "2000-01-01T00:00:00Z"`, nil},
		{`meta.lastModified ge "2000-01-01T00:00:00Z"`, all},
		{`meta.created eq "` + stamp(alice) + `"`, []string{alice}},
		{`meta.created ne "` + stamp(alice) + `"`, []string{bob, carol, dave, elodie}},
		{`meta.created gt "` + stamp(alice) + `"`, []string{carol, dave, elodie}},
		{`meta.created ge "` + stamp(alice) + `"`, []string{alice, carol, dave, elodie}},
		{`meta.created lt "` + stamp(alice) + `"`, []string{bob}},
		{`meta.created le "` + stamp(alice) + `"`, []string{alice, bob}},
		// Group membership.
		{`groups.value eq "` + f.gid("Engineering") + `"`, []string{alice, dave}},
		{`groups eq "` + f.gid("Sales") + `"`, []string{bob}},
		{`groups.display eq "ENGINEERING"`, []string{alice, dave}},
		{`groups.display eq "émigrés"`, []string{carol}},
		{`groups pr`, []string{alice, bob, carol, dave}},
		{`not (groups pr)`, []string{elodie}},
		{`groups[value eq "` + f.gid("Engineering") + `" or display eq "sales"]`, []string{alice, bob, dave}},
	}
	// Ids are case-sensitive; an id with no letter has no other case to test.
	if upper := strings.ToUpper(f.id(bob)); upper != f.id(bob) {
		cases = append(cases, struct {
			filter string
			want   []string
		}{`id eq "` + upper + `"`, nil})
	}
	for _, tc := range cases {
		users, total, err := s.ListUsers(context.Background(), store.Query{Filter: parseFilter(t, tc.filter), StartIndex: 1, Count: 1000})
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		var got []string
		for _, u := range users {
			got = append(got, u.UserName)
		}
		if !sameSet(got, tc.want) || total != len(tc.want) {
			t.Errorf("%s: got %q (total %d), want %q", tc.filter, got, total, tc.want)
		}
	}
}

// testGroupFilters runs filters through ListGroups and checks the displayNames that match.
func testGroupFilters(t *testing.T, s store.Store) {
	f := newFilterFixture(t, s)
	cases := []struct {
		filter string
		want   []string
	}{
		{`displayName eq "engineering"`, []string{"Engineering"}},
		{`DisplayName eq "ÉMIGRÉS"`, []string{"Émigrés"}},
		{`displayName sw "é"`, []string{"Émigrés"}},
		{`displayName ne "sales"`, []string{"Engineering", "Émigrés", "Empty"}},
		{`externalId eq "gx-1"`, []string{"Engineering"}},
		{`externalId pr`, []string{"Engineering"}},
		{`id eq "` + f.gid("Sales") + `"`, []string{"Sales"}},
		{`meta.created gt "2000-01-01T00:00:00Z"`, []string{"Engineering", "Sales", "Émigrés", "Empty"}},
		{`meta.lastModified lt "2000-01-01T00:00:00Z"`, nil},
		{`members.value eq "` + f.id(alice) + `"`, []string{"Engineering"}},
		{`members eq "` + f.id(bob) + `"`, []string{"Sales"}},
		{`members pr`, []string{"Engineering", "Sales", "Émigrés"}},
		{`not (members pr)`, []string{"Empty"}},
		{`members[value eq "` + f.id(alice) + `" or value eq "` + f.id(bob) + `"]`, []string{"Engineering", "Sales"}},
		{`members[value eq "` + f.id(alice) + `" and value eq "` + f.id(dave) + `"]`, nil}, // one member cannot be both
		{`members.value eq "` + f.id(alice) + `" and members.value eq "` + f.id(dave) + `"`, []string{"Engineering"}},
		// Any member other than alice: Engineering has dave. No members at all: absent.
		{`members.value ne "` + f.id(alice) + `"`, []string{"Engineering", "Sales", "Émigrés", "Empty"}},
		{`not (members.value eq "` + f.id(alice) + `")`, []string{"Sales", "Émigrés", "Empty"}},
		{`members.display eq "alice liddell"`, []string{"Engineering"}},
		{`members.display eq "CAROL"`, []string{"Émigrés"}}, // no displayName: the userName
		{`members.display co "\"d\""`, []string{"Engineering"}},
	}
	for _, tc := range cases {
		groups, total, err := s.ListGroups(context.Background(), store.Query{Filter: parseFilter(t, tc.filter), StartIndex: 1, Count: 1000})
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		var got []string
		for _, g := range groups {
			got = append(got, g.DisplayName)
		}
		if !sameSet(got, tc.want) || total != len(tc.want) {
			t.Errorf("%s: got %q (total %d), want %q", tc.filter, got, total, tc.want)
		}
	}
}

// testInvalidFilters: a filter that parses but names what cannot be filtered on, or
// compares a value of the wrong type, is a FilterError (ErrInvalidFilter) with a reason
// for the client, whether a page or only the total is asked for.
func testInvalidFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustUser(t, s, "someone", "")
	mustGroup(t, s, "some group", "")
	check := func(what, filter string, err error) {
		t.Helper()
		var fe *store.FilterError
		if !errors.Is(err, store.ErrInvalidFilter) || !errors.As(err, &fe) || fe.Reason == "" {
			t.Errorf("%s %s: err = %v, want a FilterError with a reason", what, filter, err)
		}
	}
	for _, filter := range []string{
		`nosuch eq "x"`,
		`userName eq "x" and nosuch pr`,
		`active gt true`,
		`active eq "yes"`,
		`userName eq 5`,
		`meta.created eq "yesterday"`,
		`meta.version eq "W/\"1\""`,
		`password eq "secret"`,
		`name eq "x"`,
		`emails[nosuch eq "x"]`,
		`userName[value eq "x"]`,
		entURN + `:nosuch eq "x"`,
		`urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"`,
		`id eq "x"` + strings.Repeat(` or id eq "x"`, 100),
	} {
		for _, count := range []int{10, 0} {
			users, _, err := s.ListUsers(ctx, store.Query{Filter: parseFilter(t, filter), StartIndex: 1, Count: count})
			check("users", filter, err)
			if len(users) != 0 {
				t.Errorf("users %s: %d users with the error", filter, len(users))
			}
		}
	}
	for _, filter := range []string{
		`userName eq "x"`,
		entURN + `:department eq "x"`,
		`members.nosuch eq "x"`,
		`members.$ref eq "x"`,
		`displayName gt 5`,
	} {
		for _, count := range []int{10, 0} {
			groups, _, err := s.ListGroups(ctx, store.Query{Filter: parseFilter(t, filter), StartIndex: 1, Count: count})
			check("groups", filter, err)
			if len(groups) != 0 {
				t.Errorf("groups %s: %d groups with the error", filter, len(groups))
			}
		}
	}
}
