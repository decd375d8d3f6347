package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// The limits of what is stored (store/limits.go), at their edges: exactly at a limit is
// stored and read back as it was, one over is an InvalidError naming the attribute, and
// nothing is written. Lengths count characters: the values at the limit are made of a
// two-byte character, so a backend that counted bytes would refuse them.

// atLimit is n characters of two bytes each; over is one more.
func atLimit(n int) string { return strings.Repeat("é", n) }

// limitedString is one stored string of a User: how to set it and what the error names.
type limitedString struct {
	attr string
	max  int
	set  func(u *store.User, v string)
}

// userLimitedStrings lists every stored string of a User with its limit.
func userLimitedStrings() []limitedString {
	out := []limitedString{
		{"userName", store.MaxNameLength, func(u *store.User, v string) { u.UserName = v }},
		{"externalId", store.MaxNameLength, func(u *store.User, v string) { u.ExternalID = v }},
	}
	for _, a := range store.UserStrings {
		name := a.Name
		if a.Schema != "" {
			name = a.Schema + ":" + a.Name
		}
		out = append(out, limitedString{name, a.Max, func(u *store.User, v string) { *a.Field(u) = v }})
	}
	multi := func(attr string, get func(u *store.User) *store.MultiValue) []limitedString {
		return []limitedString{
			{attr + ".value", store.MaxNameLength, func(u *store.User, v string) { get(u).Value = v }},
			{attr + ".display", store.MaxNameLength, func(u *store.User, v string) { get(u).Display = v }},
			{attr + ".type", store.MaxNameLength, func(u *store.User, v string) { get(u).Type = v }},
		}
	}
	out = append(out, multi("emails", func(u *store.User) *store.MultiValue {
		u.Emails = append(u.Emails, store.MultiValue{Value: "second@example.com"})
		return &u.Emails[len(u.Emails)-1]
	})...)
	out = append(out, multi("phoneNumbers", func(u *store.User) *store.MultiValue {
		u.PhoneNumbers = append(u.PhoneNumbers, store.MultiValue{Value: "+1 555 0100"})
		return &u.PhoneNumbers[len(u.PhoneNumbers)-1]
	})...)
	address := func(u *store.User) *store.Address {
		u.Addresses = append(u.Addresses, store.Address{Country: "FR"})
		return &u.Addresses[len(u.Addresses)-1]
	}
	for _, f := range []struct {
		name string
		max  int
		set  func(a *store.Address, v string)
	}{
		{"formatted", store.MaxTextLength, func(a *store.Address, v string) { a.Formatted = v }},
		{"streetAddress", store.MaxTextLength, func(a *store.Address, v string) { a.StreetAddress = v }},
		{"locality", store.MaxNameLength, func(a *store.Address, v string) { a.Locality = v }},
		{"region", store.MaxNameLength, func(a *store.Address, v string) { a.Region = v }},
		{"postalCode", store.MaxNameLength, func(a *store.Address, v string) { a.PostalCode = v }},
		{"country", store.MaxNameLength, func(a *store.Address, v string) { a.Country = v }},
		{"type", store.MaxNameLength, func(a *store.Address, v string) { a.Type = v }},
	} {
		out = append(out, limitedString{"addresses." + f.name, f.max, func(u *store.User, v string) { f.set(address(u), v) }})
	}
	return out
}

// wantInvalid fails unless err is an InvalidError naming attr.
func wantInvalid(t *testing.T, what string, err error, attr string) {
	t.Helper()
	var ie *store.InvalidError
	if !errors.Is(err, store.ErrInvalid) || !errors.As(err, &ie) || ie.Attribute != attr || ie.Reason == "" {
		t.Errorf("%s: err = %v, want an InvalidError naming %s", what, err, attr)
	}
}

// liveUsers counts the live users.
func liveUsers(t *testing.T, s store.Store) int {
	t.Helper()
	_, n, err := s.ListUsers(context.Background(), store.Query{StartIndex: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testUserStringLimits: every stored string of a User at its limit is stored and read
// back, on create and on update; one character more, a NUL or invalid UTF-8 is an
// InvalidError naming it, and neither the create nor the update writes anything.
func testUserStringLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := mustUser(t, s, "base@example.com", "")
	for i, ls := range userLimitedStrings() {
		t.Run(ls.attr, func(t *testing.T) {
			userName := fmt.Sprintf("limit%d@example.com", i)
			fresh := func() store.User {
				return store.User{UserName: userName, Active: true}
			}
			// Exactly at the limit: stored as given.
			u := fresh()
			ls.set(&u, atLimit(ls.max))
			want := u
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatalf("create at the limit: %v", err)
			}
			got, err := s.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !sameStrings(got, want) {
				t.Errorf("at the limit, read back differs:\n got  %+v\n want %+v", got, want)
			}
			if err := s.DeleteUser(ctx, u.ID, 0); err != nil {
				t.Fatal(err)
			}

			before := liveUsers(t, s)
			for _, bad := range []struct{ what, value string }{
				{"one over", atLimit(ls.max + 1)},
				{"NUL", "a\x00b"},
				{"invalid UTF-8", "a\xffb"},
			} {
				u := fresh()
				ls.set(&u, bad.value)
				wantInvalid(t, "create "+bad.what, s.CreateUser(ctx, &u), ls.attr)
				if n := liveUsers(t, s); n != before {
					t.Errorf("create %s wrote a user: %d live users, want %d", bad.what, n, before)
				}
				_, err := s.UpdateUser(ctx, base.ID, 0, func(u *store.User) error { ls.set(u, bad.value); return nil })
				wantInvalid(t, "update "+bad.what, err, ls.attr)
			}
			after, err := s.GetUser(ctx, base.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Version != base.Version {
				t.Errorf("a refused update wrote: version %d, want %d", after.Version, base.Version)
			}
			// And an update to exactly the limit is stored.
			up, err := s.UpdateUser(ctx, base.ID, 0, func(u *store.User) error { ls.set(u, atLimit(ls.max)); return nil })
			if err != nil {
				t.Fatalf("update at the limit: %v", err)
			}
			if got, _ := s.GetUser(ctx, base.ID); !sameStrings(got, up) {
				t.Errorf("update at the limit, read back differs:\n got  %+v\n want %+v", got, up)
			}
			// Back to the base user for the next attribute.
			base, err = s.UpdateUser(ctx, base.ID, 0, func(u *store.User) error {
				*u = store.User{UserName: "base@example.com", Active: true, Emails: []store.MultiValue{{Value: "base@example.com", Primary: true}}}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	u := store.User{Active: true}
	wantInvalid(t, "create without userName", s.CreateUser(ctx, &u), "userName")
}

// sameStrings compares what a caller sets of two users.
func sameStrings(a, b store.User) bool {
	return fmt.Sprint(a.UserName, a.ExternalID, a.Name, a.DisplayName, a.NickName, a.ProfileURL, a.Title, a.UserType,
		a.PreferredLanguage, a.Locale, a.Timezone, a.Enterprise, a.Emails, a.PhoneNumbers, a.Addresses) ==
		fmt.Sprint(b.UserName, b.ExternalID, b.Name, b.DisplayName, b.NickName, b.ProfileURL, b.Title, b.UserType,
			b.PreferredLanguage, b.Locale, b.Timezone, b.Enterprise, b.Emails, b.PhoneNumbers, b.Addresses)
}

// testUserMultiValueLimits: each multi-valued attribute takes exactly MaxMultiValues
// elements, on create and on update, and refuses one more; at the limit every element
// is as long as allowed, so the statements that write them are as large as they get.
func testUserMultiValueLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	fill := func(u *store.User, attr string, n int) {
		switch attr {
		case "emails":
			u.Emails = nil
			for i := range n {
				u.Emails = append(u.Emails, store.MultiValue{Value: fmt.Sprintf("%03d", i) + atLimit(store.MaxNameLength-3),
					Display: atLimit(store.MaxNameLength), Type: atLimit(store.MaxNameLength), Primary: i == 0})
			}
		case "phoneNumbers":
			u.PhoneNumbers = nil
			for i := range n {
				u.PhoneNumbers = append(u.PhoneNumbers, store.MultiValue{Value: fmt.Sprint(i), Display: atLimit(store.MaxNameLength),
					Type: atLimit(store.MaxNameLength), Primary: i == 0})
			}
		case "addresses":
			u.Addresses = nil
			for i := range n {
				u.Addresses = append(u.Addresses, store.Address{Formatted: atLimit(store.MaxTextLength), StreetAddress: atLimit(store.MaxTextLength),
					Locality: atLimit(store.MaxNameLength), Region: fmt.Sprint(i), PostalCode: "1", Country: "FR", Type: "work", Primary: i == 0})
			}
		}
	}
	// All three at the limit: the largest statements a user's writes build.
	all := store.User{UserName: "all@example.com", Active: true}
	for _, attr := range []string{"emails", "phoneNumbers", "addresses"} {
		fill(&all, attr, store.MaxMultiValues)
	}
	want := all
	if err := s.CreateUser(ctx, &all); err != nil {
		t.Fatalf("create with all three at the limit: %v", err)
	}
	if got, err := s.GetUser(ctx, all.ID); err != nil || !sameStrings(got, want) {
		t.Errorf("all three at the limit: read back differs (%v)", err)
	}
	up, err := s.UpdateUser(ctx, all.ID, 0, func(u *store.User) error { slicesReverse(u); return nil })
	if err != nil {
		t.Fatalf("update with all three at the limit: %v", err)
	}
	if got, err := s.GetUser(ctx, all.ID); err != nil || !sameStrings(got, up) {
		t.Errorf("update with all three at the limit: read back differs (%v)", err)
	}
	for _, attr := range []string{"emails", "phoneNumbers", "addresses"} {
		t.Run(attr, func(t *testing.T) {
			u := store.User{UserName: attr + "@example.com", Active: true}
			fill(&u, attr, store.MaxMultiValues)
			want := u
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatalf("create with %d %s: %v", store.MaxMultiValues, attr, err)
			}
			got, err := s.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !sameStrings(got, want) {
				t.Errorf("%d %s: read back differs", store.MaxMultiValues, attr)
			}
			// An update of the user rewrites them all, at the limit.
			up, err := s.UpdateUser(ctx, u.ID, 0, func(u *store.User) error {
				fill(u, attr, store.MaxMultiValues)
				u.Title = "changed"
				slicesReverse(u)
				return nil
			})
			if err != nil {
				t.Fatalf("update with %d %s: %v", store.MaxMultiValues, attr, err)
			}
			if got, _ := s.GetUser(ctx, u.ID); !sameStrings(got, up) {
				t.Errorf("update with %d %s: read back differs", store.MaxMultiValues, attr)
			}

			before := liveUsers(t, s)
			over := store.User{UserName: "over-" + attr + "@example.com", Active: true}
			fill(&over, attr, store.MaxMultiValues+1)
			wantInvalid(t, "create one over", s.CreateUser(ctx, &over), attr)
			if n := liveUsers(t, s); n != before {
				t.Errorf("a refused create wrote: %d live users, want %d", n, before)
			}
			_, err = s.UpdateUser(ctx, u.ID, 0, func(u *store.User) error { fill(u, attr, store.MaxMultiValues+1); return nil })
			wantInvalid(t, "update one over", err, attr)
			if got, _ := s.GetUser(ctx, u.ID); got.Version != up.Version {
				t.Errorf("a refused update wrote: version %d, want %d", got.Version, up.Version)
			}
		})
	}
}

// slicesReverse reverses the multi-valued attributes, so that an update changes them.
func slicesReverse(u *store.User) {
	for i, j := 0, len(u.Emails)-1; i < j; i, j = i+1, j-1 {
		u.Emails[i], u.Emails[j] = u.Emails[j], u.Emails[i]
	}
	for i, j := 0, len(u.PhoneNumbers)-1; i < j; i, j = i+1, j-1 {
		u.PhoneNumbers[i], u.PhoneNumbers[j] = u.PhoneNumbers[j], u.PhoneNumbers[i]
	}
	for i, j := 0, len(u.Addresses)-1; i < j; i, j = i+1, j-1 {
		u.Addresses[i], u.Addresses[j] = u.Addresses[j], u.Addresses[i]
	}
}

// testGroupLimits: a group's displayName and externalId at MaxNameLength are stored, one
// more character, a NUL or invalid UTF-8 is an InvalidError, on create and on update,
// and nothing is written.
func testGroupLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	member := mustUser(t, s, "member@example.com", "")
	base := mustGroup(t, s, "base", "")
	for _, f := range []struct {
		attr string
		set  func(g *store.Group, v string)
	}{
		{"displayName", func(g *store.Group, v string) { g.DisplayName = v }},
		{"externalId", func(g *store.Group, v string) { g.ExternalID = v }},
	} {
		t.Run(f.attr, func(t *testing.T) {
			g := store.Group{DisplayName: "g-" + f.attr}
			f.set(&g, atLimit(store.MaxNameLength))
			want := g
			if err := s.CreateGroup(ctx, &g, []string{member.ID}); err != nil {
				t.Fatalf("create at the limit: %v", err)
			}
			got, err := s.GetGroup(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.DisplayName != want.DisplayName || got.ExternalID != want.ExternalID {
				t.Errorf("at the limit, read back %q/%q", got.DisplayName, got.ExternalID)
			}
			if err := s.DeleteGroup(ctx, g.ID, 0); err != nil {
				t.Fatal(err)
			}
			_, before, _ := s.ListGroups(ctx, store.Query{StartIndex: 1})
			for _, bad := range []struct{ what, value string }{
				{"one over", atLimit(store.MaxNameLength + 1)},
				{"NUL", "a\x00b"},
				{"invalid UTF-8", "a\xffb"},
			} {
				g := store.Group{DisplayName: "g-" + f.attr}
				f.set(&g, bad.value)
				wantInvalid(t, "create "+bad.what, s.CreateGroup(ctx, &g, []string{member.ID}), f.attr)
				if _, n, _ := s.ListGroups(ctx, store.Query{StartIndex: 1}); n != before {
					t.Errorf("create %s wrote a group: %d groups, want %d", bad.what, n, before)
				}
				_, err := s.UpdateGroup(ctx, base.ID, 0, func(g *store.Group) error { f.set(g, bad.value); return nil },
					[]store.MemberOp{{Kind: store.AddMembers, IDs: []string{member.ID}}})
				wantInvalid(t, "update "+bad.what, err, f.attr)
			}
			if got, _ := s.GetGroup(ctx, base.ID); got.Version != base.Version {
				t.Errorf("a refused update wrote: version %d, want %d", got.Version, base.Version)
			}
			if ids := memberIDs(t, s, base.ID); len(ids) != 0 {
				t.Errorf("a refused update added members: %v", ids)
			}
		})
	}
	g := store.Group{}
	wantInvalid(t, "create without displayName", s.CreateGroup(ctx, &g, nil), "displayName")
}

// impossibleIDs could name nothing (store.PossibleID is false).
var impossibleIDs = []string{"\x00", "a\x00b", "\xff", "a\xc3", strings.Repeat("a", store.MaxIDLength+1)}

// testImpossibleIDs: an id that could name nothing is not found by every call that takes
// one, and is an unknown member, the same on every backend (PostgreSQL refuses a NUL
// or invalid UTF-8 in any text; the store must not ask it). An id of MaxIDLength
// characters is a possible one that names nothing.
func testImpossibleIDs(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "someone@example.com", "")
	g := mustGroup(t, s, "a group", "", u.ID)
	for _, id := range append(impossibleIDs, strings.Repeat("é", store.MaxIDLength)) {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			notFound := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: err = %v, want ErrNotFound", what, err)
				}
			}
			_, err := s.GetUser(ctx, id)
			notFound("GetUser", err)
			_, err = s.UpdateUser(ctx, id, 0, func(*store.User) error { t.Error("UpdateUser called fn"); return nil })
			notFound("UpdateUser", err)
			notFound("DeleteUser", s.DeleteUser(ctx, id, 0))
			_, err = s.GetGroup(ctx, id)
			notFound("GetGroup", err)
			_, err = s.UpdateGroup(ctx, id, 0, func(*store.Group) error { t.Error("UpdateGroup called fn"); return nil }, nil)
			notFound("UpdateGroup", err)
			notFound("DeleteGroup", s.DeleteGroup(ctx, id, 0))
			_, err = s.AccountDetails(ctx, id)
			notFound("AccountDetails", err)
			if err := s.EachGroupMember(ctx, id, func(store.Member) error { t.Error("a member"); return nil }); err != nil {
				t.Errorf("EachGroupMember: %v", err)
			}
			_, err = s.TeamChannels(ctx, id)
			notFound("TeamChannels", err)
			_, err = s.TeamMembers(ctx, id, 10, 0)
			notFound("TeamMembers", err)
			_, err = s.ChannelMembers(ctx, id, "town-square", 10, 0)
			notFound("ChannelMembers (team)", err)
			_, err = s.ChannelMembers(ctx, "everyone", id, 10, 0)
			notFound("ChannelMembers (channel)", err)

			// As a member: unknown to an add (nothing written), skipped by a remove.
			unknown := func(what string, err error) {
				t.Helper()
				var ue *store.UnknownMembersError
				if !errors.As(err, &ue) || len(ue.IDs) != 1 || ue.IDs[0] != id {
					t.Errorf("%s: err = %v, want UnknownMembersError naming only the id", what, err)
				}
			}
			ng := store.Group{DisplayName: "new group"}
			unknown("CreateGroup", s.CreateGroup(ctx, &ng, []string{u.ID, id}))
			for _, kind := range []store.MemberOpKind{store.AddMembers, store.ReplaceMembers} {
				_, err = s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: kind, IDs: []string{u.ID, id}}})
				unknown("UpdateGroup "+kind.String(), err)
			}
			if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: store.RemoveMembers, IDs: []string{id}}}); err != nil {
				t.Errorf("UpdateGroup RemoveMembers: %v", err)
			}
			wantLines(t, "members", memberIDs(t, s, g.ID), []string{u.ID})
		})
	}
}

// testFilterLimits: a filter of exactly MaxFilterTerms terms runs, one more is a
// FilterError; a co, sw or ew value as long as the longest stored string can be (a
// profileUrl of MaxTextLength four-byte characters) finds it, one byte more is a
// FilterError, the same on every backend (SQLite fails a LIKE pattern over 50,000
// bytes).
func testFilterLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mustUser(t, s, "someone@example.com", "")
	longest := strings.Repeat("𝔵", store.MaxTextLength)
	withURL := store.User{UserName: "url@example.com", ProfileURL: longest, Active: true}
	if err := s.CreateUser(ctx, &withURL); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"co", "sw", "ew"} {
		users, _, err := s.ListUsers(ctx, store.Query{Filter: parseFilter(t, `profileUrl `+op+` "`+longest+`"`), StartIndex: 1, Count: 10})
		if err != nil || len(users) != 1 || users[0].ID != withURL.ID {
			t.Errorf("profileUrl %s the longest value: %d users, %v", op, len(users), err)
		}
		_, _, err = s.ListUsers(ctx, store.Query{Filter: parseFilter(t, `profileUrl `+op+` "a`+longest+`"`), StartIndex: 1, Count: 10})
		if !errors.Is(err, store.ErrInvalidFilter) {
			t.Errorf("profileUrl %s a value one byte longer: err = %v, want ErrInvalidFilter", op, err)
		}
	}
	// The longest pattern: every character escaped.
	escaped := strings.Repeat("%_", 4*store.MaxTextLength/2)
	if users, _, err := s.ListUsers(ctx, store.Query{Filter: parseFilter(t, `userName co "`+escaped+`"`), StartIndex: 1, Count: 10}); err != nil || len(users) != 0 {
		t.Errorf("userName co %d bytes to escape: %d users, %v", len(escaped), len(users), err)
	}
	if _, _, err := s.ListGroups(ctx, store.Query{Filter: parseFilter(t, `displayName sw "`+escaped+`"`), StartIndex: 1, Count: 10}); err != nil {
		t.Errorf("displayName sw %d bytes to escape: %v", len(escaped), err)
	}
	ors := func(n int) string {
		return `id eq "x"` + strings.Repeat(` or id eq "x"`, n-1)
	}
	// n comparisons joined by or are 2n-1 terms; not (...) is one more.
	atLimit := `not (` + ors((store.MaxFilterTerms)/2) + `)`
	users, _, err := s.ListUsers(ctx, store.Query{Filter: parseFilter(t, atLimit), StartIndex: 1, Count: 10})
	if err != nil || len(users) != 2 || users[0].ID != u.ID {
		t.Fatalf("%d terms: %d users, %v; want the one user", store.MaxFilterTerms, len(users), err)
	}
	over := ors(store.MaxFilterTerms/2 + 1)
	if _, _, err := s.ListUsers(ctx, store.Query{Filter: parseFilter(t, over), StartIndex: 1, Count: 10}); !errors.Is(err, store.ErrInvalidFilter) {
		t.Errorf("%d terms: err = %v, want ErrInvalidFilter", store.MaxFilterTerms+1, err)
	}
	if _, _, err := s.ListGroups(ctx, store.Query{Filter: parseFilter(t, over), StartIndex: 1, Count: 10}); !errors.Is(err, store.ErrInvalidFilter) {
		t.Errorf("groups, %d terms: err = %v, want ErrInvalidFilter", store.MaxFilterTerms+1, err)
	}
}
