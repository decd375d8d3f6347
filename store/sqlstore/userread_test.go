package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// referenceChildren reads the lists of one user the way the store read them before they
// were folded into the row query: one query per table, with the same orders. It is the
// oracle the one-statement read is held to.
func referenceChildren(t *testing.T, s *sqlstore.Store, id string) store.User {
	t.Helper()
	ctx := context.Background()
	db := s.DB()
	var pk int64
	if err := db.GetContext(ctx, &pk, db.Rebind(`SELECT pk FROM users WHERE id = ?`), id); err != nil {
		t.Fatal(err)
	}
	type mv struct {
		Value, Display, Type *string
		Primary              bool `db:"is_primary"`
		PrimaryFalse         bool `db:"primary_false"`
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var u store.User
	for _, tab := range []struct {
		table string
		dst   *[]store.MultiValue
	}{{"user_emails", &u.Emails}, {"user_phone_numbers", &u.PhoneNumbers}} {
		var rows []mv
		if err := db.SelectContext(ctx, &rows, db.Rebind(`SELECT value, display, type, is_primary, primary_false FROM `+tab.table+` WHERE user_pk = ? ORDER BY ord`), pk); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			*tab.dst = append(*tab.dst, store.MultiValue{Value: str(r.Value), Display: str(r.Display), Type: str(r.Type), Primary: r.Primary, PrimaryFalse: r.PrimaryFalse})
		}
	}
	var addrs []struct {
		Formatted, StreetAddress, Locality, Region, PostalCode, Country, Type *string
		Primary                                                               bool `db:"is_primary"`
		PrimaryFalse                                                          bool `db:"primary_false"`
	}
	if err := db.SelectContext(ctx, &addrs, db.Rebind(`SELECT formatted, street_address AS streetaddress, locality, region,
		postal_code AS postalcode, country, type, is_primary, primary_false FROM user_addresses WHERE user_pk = ? ORDER BY ord`), pk); err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		u.Addresses = append(u.Addresses, store.Address{Formatted: str(a.Formatted), StreetAddress: str(a.StreetAddress),
			Locality: str(a.Locality), Region: str(a.Region), PostalCode: str(a.PostalCode), Country: str(a.Country),
			Type: str(a.Type), Primary: a.Primary, PrimaryFalse: a.PrimaryFalse})
	}
	var groups []struct {
		ID          string `db:"id"`
		DisplayName string `db:"display_name"`
	}
	if err := db.SelectContext(ctx, &groups, db.Rebind(`SELECT g.id, g.display_name FROM group_members gm JOIN groups g ON g.pk = gm.group_pk
		WHERE gm.user_pk = ? ORDER BY g.pk`), pk); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		u.Groups = append(u.Groups, store.GroupRef{ID: g.ID, DisplayName: g.DisplayName})
	}
	if err := db.SelectContext(ctx, &u.Account.Teams, db.Rebind(`SELECT DISTINCT t.name FROM team_members tm JOIN teams t ON t.pk = tm.team_pk
		WHERE tm.user_pk = ? ORDER BY t.name`), pk); err != nil {
		t.Fatal(err)
	}
	if err := db.SelectContext(ctx, &u.Account.Channels, db.Rebind(`SELECT DISTINCT t.name || '/' || c.name AS value FROM channel_members cm
		JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk WHERE cm.user_pk = ? ORDER BY value`), pk); err != nil {
		t.Fatal(err)
	}
	return u
}

// children is the part of a user that the child tables hold, printed for comparison.
func children(u store.User) string {
	return fmt.Sprintf("emails %+v\nphones %+v\naddresses %+v\ngroups %+v\nteams %v\nchannels %v",
		u.Emails, u.PhoneNumbers, u.Addresses, u.Groups, u.Account.Teams, u.Account.Channels)
}

// TestListUsersPageChildren reads a page of users with different children in one
// statement: every list must be complete, in its order, and on its own user, and users
// with no children must have none.
func TestListUsersPageChildren(t *testing.T) {
	cfg, err := rules.Parse([]byte(exampleRules))
	if err != nil {
		t.Fatal(err)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		s.SetRules(cfg)
		ctx := context.Background()
		create := func(u store.User) store.User {
			t.Helper()
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			return u
		}
		// Emails out of value order: they must come back in the order they were sent; each
		// list has a primary true, an explicit false and, but addresses, one left out.
		full := create(store.User{UserName: "full", Active: true,
			Emails: []store.MultiValue{{Value: "z@x", Type: "work", Primary: true}, {Value: "a@x", Display: "A", Type: "home"},
				{Value: "m@x", Type: "other", PrimaryFalse: true}},
			PhoneNumbers: []store.MultiValue{{Value: "+9", Type: "mobile", PrimaryFalse: true}, {Value: "+1", Type: "work", Primary: true}},
			Addresses: []store.Address{{Locality: "Zurich", Country: "CH", Type: "work", PrimaryFalse: true},
				{StreetAddress: "1 Main St", Locality: "Austin", Region: "TX", PostalCode: "73301", Country: "US", Formatted: "1 Main St", Type: "home", Primary: true}}})
		bare := create(store.User{UserName: "bare", Active: true})
		deleted := create(store.User{UserName: "deleted", Active: true, Emails: []store.MultiValue{{Value: "d@x"}}})
		other := create(store.User{UserName: "other", Active: true,
			Emails: []store.MultiValue{{Value: "o@x", Primary: true}}, PhoneNumbers: []store.MultiValue{{Value: "+5"}}})
		inactive := create(store.User{UserName: "inactive", Active: false, Emails: []store.MultiValue{{Value: "i@x"}}})

		// Groups are listed in creation order, whatever the order of joining; a team
		// granted twice (by a group and by a channel of a group) is listed once.
		eng := mustGroup(t, s, "Engineering", "")
		sales := mustGroup(t, s, "Team-Sales", "")
		leads := mustGroup(t, s, "Leads", "00g1abcd")
		patchMembers(t, s, leads.ID, store.AddMembers, full.ID, other.ID)
		patchMembers(t, s, sales.ID, store.AddMembers, full.ID)
		patchMembers(t, s, eng.ID, store.AddMembers, full.ID, deleted.ID)
		if err := s.DeleteUser(ctx, deleted.ID, 0); err != nil {
			t.Fatal(err)
		}
		// A user with no memberships at all (not a state the rules allow for a live user,
		// but the read must not borrow a neighbour's rows).
		for _, table := range []string{"team_members", "channel_members"} {
			if _, err := s.DB().Exec(s.DB().Rebind(`DELETE FROM `+table+` WHERE user_pk = (SELECT pk FROM users WHERE id = ?)`), bare.ID); err != nil {
				t.Fatal(err)
			}
		}

		page, total, err := s.ListUsers(ctx, store.Query{StartIndex: 1, Count: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range page {
			ids = append(ids, u.ID)
		}
		if want := []string{full.ID, bare.ID, other.ID, inactive.ID}; total != 4 || !slices.Equal(ids, want) {
			t.Fatalf("page %v total %d, want %v total 4", ids, total, want)
		}
		for _, u := range page {
			if got, want := children(u), children(referenceChildren(t, s, u.ID)); got != want {
				t.Errorf("user %s:\n got %s\nwant %s", u.UserName, got, want)
			}
		}

		// The same, spelt out, so that the oracle cannot be wrong in the same way.
		f := page[0]
		if got := fmt.Sprint(f.Emails); got != "[{z@x  work true false} {a@x A home false false} {m@x  other false true}]" {
			t.Errorf("emails %s", got)
		}
		if got := fmt.Sprint(f.PhoneNumbers); got != "[{+9  mobile false true} {+1  work true false}]" {
			t.Errorf("phone numbers %s", got)
		}
		if len(f.Addresses) != 2 || f.Addresses[0].Locality != "Zurich" || !f.Addresses[0].PrimaryFalse || f.Addresses[1] != (store.Address{StreetAddress: "1 Main St",
			Locality: "Austin", Region: "TX", PostalCode: "73301", Country: "US", Formatted: "1 Main St", Type: "home", Primary: true}) {
			t.Errorf("addresses %+v", f.Addresses)
		}
		if want := []store.GroupRef{{ID: eng.ID, DisplayName: "Engineering"}, {ID: sales.ID, DisplayName: "Team-Sales"},
			{ID: leads.ID, DisplayName: "Leads"}}; !slices.Equal(f.Groups, want) {
			t.Errorf("groups %+v, want %+v", f.Groups, want)
		}
		if want := []string{"engineering", "everyone", "sales"}; !slices.Equal(f.Account.Teams, want) {
			t.Errorf("teams %v, want %v", f.Account.Teams, want)
		}
		if want := []string{"engineering/backend", "engineering/off-topic", "engineering/town-square", "everyone/eng-news",
			"everyone/leads", "everyone/off-topic", "everyone/town-square", "sales/off-topic", "sales/town-square"}; !slices.Equal(f.Account.Channels, want) {
			t.Errorf("channels %v, want %v", f.Account.Channels, want)
		}
		b := page[1]
		if b.Emails != nil || b.PhoneNumbers != nil || b.Addresses != nil || b.Groups != nil || b.Account.Teams != nil || b.Account.Channels != nil {
			t.Errorf("user without children has some: %s", children(b))
		}
		if o := page[2]; len(o.Emails) != 1 || o.Emails[0].Value != "o@x" || len(o.PhoneNumbers) != 1 || len(o.Groups) != 1 || o.Groups[0].ID != leads.ID {
			t.Errorf("other user: %s", children(o))
		}

		// GET and the read of a PATCH see the same user as the page.
		for _, u := range page {
			got, err := s.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", u) {
				t.Errorf("GET differs from the page:\n got %+v\nwant %+v", got, u)
			}
			var seen store.User
			if _, err := s.UpdateUser(ctx, u.ID, 0, func(x *store.User) error { seen = *x; return nil }); err != nil {
				t.Fatal(err)
			}
			if children(seen) != children(u) {
				t.Errorf("PATCH read differs from the page:\n got %s\nwant %s", children(seen), children(u))
			}
		}
	})
}
