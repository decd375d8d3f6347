package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The store suite: every test runs on SQLite and, when configured, PostgreSQL, each on
// a fresh database (sqltest.Each).

func TestMigrateIsIdempotent(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		n, err := s.MigrateCount(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("second migration applied %d migrations, want 0", n)
		}
	})
}

func fullUser(name string) store.User {
	return store.User{
		UserName: name, ExternalID: "ext-" + name, Active: true,
		Name:        store.Name{GivenName: "Given", FamilyName: "Family", Formatted: "Given Family", MiddleName: "M", HonorificPrefix: "Dr", HonorificSuffix: "III"},
		DisplayName: "Display " + name, NickName: "nick", ProfileURL: "https://x/p", Title: "Engineer", UserType: "Employee",
		PreferredLanguage: "en-US", Locale: "en-US", Timezone: "Europe/Paris", PasswordHash: "pbkdf2-sha256$1$x$y",
		Emails:       []store.MultiValue{{Value: name + "@Example.com", Type: "work", Primary: true}, {Value: "home-" + name + "@example.com", Type: "home"}},
		PhoneNumbers: []store.MultiValue{{Value: "+1 555", Type: "mobile", Primary: true}},
		Addresses:    []store.Address{{StreetAddress: "1 Main St", Locality: "Springfield", Region: "IL", PostalCode: "62701", Country: "US", Type: "work", Primary: true, Formatted: "1 Main St"}},
		Enterprise: store.Enterprise{EmployeeNumber: "42", CostCenter: "cc", Organization: "org", Division: "div", Department: "dep",
			Manager: store.Manager{Value: "mgr-id", Ref: "../Users/mgr-id", DisplayName: "Boss"}},
	}
}

func TestUserRoundTrip(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := fullUser("alice")
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if u.ID == "" || u.Version != 1 || u.Created.IsZero() {
			t.Fatalf("create did not assign id/version/created: %+v", u)
		}
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := u
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestUserNameUniqueWithoutRegardToCase(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		a := store.User{UserName: "Bob@Example.com", Active: true}
		if err := s.CreateUser(ctx, &a); err != nil {
			t.Fatal(err)
		}
		b := store.User{UserName: "bob@example.COM", Active: true}
		if err := s.CreateUser(ctx, &b); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate userName in other case: err = %v, want ErrConflict", err)
		}
		got, _ := s.GetUser(ctx, a.ID)
		if got.UserName != "Bob@Example.com" {
			t.Fatalf("userName not stored exactly as sent: %q", got.UserName)
		}
		// A rename onto a taken name conflicts too, and writes nothing.
		c := store.User{UserName: "carol", Active: true}
		if err := s.CreateUser(ctx, &c); err != nil {
			t.Fatal(err)
		}
		_, err := s.UpdateUser(ctx, c.ID, 0, func(u *store.User) error { u.UserName = "BOB@example.com"; return nil })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("rename to a taken name: err = %v, want ErrConflict", err)
		}
		if got, _ := s.GetUser(ctx, c.ID); got.UserName != "carol" || got.Version != 1 {
			t.Fatalf("failed rename wrote something: %+v", got)
		}
	})
}

func TestUpdateUserVersionAndIfMatch(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := fullUser("dave")
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		up, err := s.UpdateUser(ctx, u.ID, 1, func(u *store.User) error {
			u.Emails = u.Emails[:1]
			u.Title = ""
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || len(up.Emails) != 1 || up.Title != "" || !up.Created.Equal(u.Created) {
			t.Fatalf("update result: %+v", up)
		}
		if _, err := s.UpdateUser(ctx, u.ID, 1, func(*store.User) error { return nil }); !errors.Is(err, store.ErrPrecondition) {
			t.Fatalf("stale If-Match: err = %v, want ErrPrecondition", err)
		}
		if err := s.DeleteUser(ctx, u.ID, 1); !errors.Is(err, store.ErrPrecondition) {
			t.Fatalf("stale If-Match on delete: err = %v", err)
		}
		fnErr := errors.New("boom")
		if _, err := s.UpdateUser(ctx, u.ID, 0, func(u *store.User) error { u.Title = "x"; return fnErr }); !errors.Is(err, fnErr) {
			t.Fatalf("fn error not returned: %v", err)
		}
		got, _ := s.GetUser(ctx, u.ID)
		if got.Version != 2 || got.Title != "" {
			t.Fatalf("failed update wrote something: %+v", got)
		}
		if err := s.DeleteUser(ctx, u.ID, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get after delete: %v", err)
		}
		if _, err := s.UpdateUser(ctx, "nope", 0, func(*store.User) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}
	})
}

// Concurrent read-modify-write updates must not lose each other's changes.
func TestConcurrentUpdatesAreSerialised(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		u := store.User{UserName: "counter", Active: true}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		const n = 20
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.UpdateUser(ctx, u.ID, 0, func(u *store.User) error {
					u.PhoneNumbers = append(u.PhoneNumbers, store.MultiValue{Value: "x"})
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, _ := s.GetUser(ctx, u.ID)
		if len(got.PhoneNumbers) != n || got.Version != n+1 {
			t.Fatalf("lost updates: %d phone numbers, version %d", len(got.PhoneNumbers), got.Version)
		}
	})
}

func TestListUsersPaging(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var ids []string
		for i := 0; i < 7; i++ {
			u := store.User{UserName: fmt.Sprintf("user%d", i), Active: true, Emails: []store.MultiValue{{Value: fmt.Sprintf("u%d@x", i)}}}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		var seen []string
		for start := 1; start <= 7; start += 3 {
			page, total, err := s.ListUsers(ctx, store.Query{StartIndex: start, Count: 3})
			if err != nil {
				t.Fatal(err)
			}
			if total != 7 {
				t.Fatalf("total = %d", total)
			}
			for _, u := range page {
				if len(u.Emails) != 1 {
					t.Fatalf("page user without its email: %+v", u)
				}
				seen = append(seen, u.ID)
			}
		}
		if fmt.Sprint(seen) != fmt.Sprint(ids) {
			t.Fatalf("pages are not the creation order:\n got %v\nwant %v", seen, ids)
		}
		page, total, err := s.ListUsers(ctx, store.Query{StartIndex: 1, Count: 0})
		if err != nil || total != 7 || len(page) != 0 {
			t.Fatalf("count=0: %d users, total %d, err %v", len(page), total, err)
		}
		page, _, err = s.ListUsers(ctx, store.Query{StartIndex: 100, Count: 10})
		if err != nil || page == nil || len(page) != 0 {
			t.Fatalf("past the end: %v %v", page, err)
		}
		w := store.Where{SQL: "users.user_name_ci = ?", Args: []any{"user3"}}
		page, total, err = s.ListUsers(ctx, store.Query{Where: w, StartIndex: 1, Count: 10})
		if err != nil || total != 1 || len(page) != 1 || page[0].UserName != "user3" {
			t.Fatalf("where: %v %d %v", page, total, err)
		}
	})
}

func memberIDs(t *testing.T, s *sqlstore.Store, gid string) []string {
	t.Helper()
	var ids []string
	if err := s.EachGroupMember(context.Background(), gid, func(m store.Member) error {
		ids = append(ids, m.Value)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

func sorted(xs ...string) []string { sort.Strings(xs); return xs }

func TestGroupMemberDeltas(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var u [4]store.User
		for i := range u {
			u[i] = store.User{UserName: fmt.Sprintf("m%d", i), Active: true}
			if err := s.CreateUser(ctx, &u[i]); err != nil {
				t.Fatal(err)
			}
		}
		g := store.Group{DisplayName: "Engineering", ExternalID: "g-ext"}
		if err := s.CreateGroup(ctx, &g, []string{u[0].ID, u[1].ID}); err != nil {
			t.Fatal(err)
		}
		if got := memberIDs(t, s, g.ID); fmt.Sprint(got) != fmt.Sprint(sorted(u[0].ID, u[1].ID)) {
			t.Fatalf("members after create: %v", got)
		}
		// Remove one, add two (one already there), in one transaction.
		_, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{
			{Kind: store.RemoveMembers, IDs: []string{u[0].ID, "not-a-member"}},
			{Kind: store.AddMembers, IDs: []string{u[1].ID, u[2].ID}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := memberIDs(t, s, g.ID); fmt.Sprint(got) != fmt.Sprint(sorted(u[1].ID, u[2].ID)) {
			t.Fatalf("members after delta: %v", got)
		}
		// Unknown ids in an add fail the whole request and list the culprits.
		_, err = s.UpdateGroup(ctx, g.ID, 0, func(g *store.Group) error { g.DisplayName = "Renamed"; return nil },
			[]store.MemberOp{{Kind: store.AddMembers, IDs: []string{u[3].ID, "ghost-1", "ghost-2"}}})
		var unknown *store.UnknownMembersError
		if !errors.As(err, &unknown) || fmt.Sprint(unknown.IDs) != "[ghost-1 ghost-2]" {
			t.Fatalf("unknown members: err = %v", err)
		}
		got, _ := s.GetGroup(ctx, g.ID)
		if got.DisplayName != "Engineering" || got.Version != 2 {
			t.Fatalf("failed update wrote something: %+v", got)
		}
		if m := memberIDs(t, s, g.ID); len(m) != 2 {
			t.Fatalf("failed add wrote members: %v", m)
		}
		// The user's groups are derived from membership.
		uu, _ := s.GetUser(ctx, u[1].ID)
		if len(uu.Groups) != 1 || uu.Groups[0].ID != g.ID || uu.Groups[0].DisplayName != "Engineering" {
			t.Fatalf("user groups: %+v", uu.Groups)
		}
		// Replace and remove-all.
		if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: store.ReplaceMembers, IDs: []string{u[3].ID}}}); err != nil {
			t.Fatal(err)
		}
		if m := memberIDs(t, s, g.ID); fmt.Sprint(m) != fmt.Sprint([]string{u[3].ID}) {
			t.Fatalf("after replace: %v", m)
		}
		if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: store.RemoveAllMembers}}); err != nil {
			t.Fatal(err)
		}
		if m := memberIDs(t, s, g.ID); len(m) != 0 {
			t.Fatalf("after remove all: %v", m)
		}
		// Deleting a user removes its memberships.
		if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, []store.MemberOp{{Kind: store.AddMembers, IDs: []string{u[0].ID}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, u[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		if m := memberIDs(t, s, g.ID); len(m) != 0 {
			t.Fatalf("deleted user still a member: %v", m)
		}
		if err := s.DeleteGroup(ctx, g.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetGroup(ctx, g.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get deleted group: %v", err)
		}
	})
}

func TestTokens(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		created, err := s.CreateFirstToken(ctx, "default", "hash-0")
		if err != nil || !created {
			t.Fatalf("first token: %v %v", created, err)
		}
		created, err = s.CreateFirstToken(ctx, "again", "hash-x")
		if err != nil || created {
			t.Fatalf("second first token: %v %v", created, err)
		}
		if err := s.CreateToken(ctx, "okta", "hash-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateToken(ctx, "okta", "hash-2"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		if name, err := s.TokenName(ctx, "hash-1"); err != nil || name != "okta" {
			t.Fatalf("lookup: %q %v", name, err)
		}
		toks, err := s.ListTokens(ctx)
		if err != nil || len(toks) != 2 || toks[0].Name != "default" || toks[1].Name != "okta" {
			t.Fatalf("list: %+v %v", toks, err)
		}
		if err := s.RevokeToken(ctx, "okta"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenName(ctx, "hash-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked token still valid: %v", err)
		}
		if err := s.RevokeToken(ctx, "okta"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoke twice: %v", err)
		}
	})
}
