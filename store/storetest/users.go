package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
)

func testUserRoundTrip(t *testing.T, s store.Store) {
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
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", u) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, u)
	}
}

// testPrimaryRoundTrip: an element's primary is true, an explicit false or left out
// (store.MultiValue), on emails, phone numbers and addresses, and each comes back as
// written through a create and through updates that replace the lists (a PUT) or change
// one element (a PATCH). PrimaryFalse beside Primary true is stored as true alone.
func testPrimaryRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	type state struct{ primary, explicitFalse bool }
	var (
		yes    = state{true, false}
		no     = state{false, true}
		absent = state{}
	)
	mv := func(v string, st state) store.MultiValue {
		return store.MultiValue{Value: v, Type: "work", Primary: st.primary, PrimaryFalse: st.explicitFalse}
	}
	addr := func(l string, st state) store.Address {
		return store.Address{Locality: l, Type: "work", Primary: st.primary, PrimaryFalse: st.explicitFalse}
	}
	set := func(u *store.User, st ...state) {
		u.Emails, u.PhoneNumbers, u.Addresses = nil, nil, nil
		for i, x := range st {
			u.Emails = append(u.Emails, mv(fmt.Sprintf("e%d@example.com", i), x))
			u.PhoneNumbers = append(u.PhoneNumbers, mv(fmt.Sprintf("+%d", i), x))
			u.Addresses = append(u.Addresses, addr(fmt.Sprintf("L%d", i), x))
		}
	}
	check := func(what string, u store.User, want ...state) {
		t.Helper()
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []store.User{u, got} {
			var ps []state
			for i := range want {
				if len(x.Emails) != len(want) || len(x.PhoneNumbers) != len(want) || len(x.Addresses) != len(want) {
					t.Fatalf("%s: %d emails, %d phone numbers, %d addresses; want %d each", what, len(x.Emails), len(x.PhoneNumbers), len(x.Addresses), len(want))
				}
				ps = append(ps, state{x.Emails[i].Primary, x.Emails[i].PrimaryFalse},
					state{x.PhoneNumbers[i].Primary, x.PhoneNumbers[i].PrimaryFalse},
					state{x.Addresses[i].Primary, x.Addresses[i].PrimaryFalse})
			}
			var wants []state
			for _, w := range want {
				wants = append(wants, w, w, w)
			}
			if !slices.Equal(ps, wants) {
				t.Fatalf("%s: primaries (emails, phones, addresses per element) %+v, want %+v", what, ps, wants)
			}
		}
	}
	// With rules, the first create takes the general path and the next the one-statement
	// create, as in testCreateRoundTripOnEveryPath.
	useRules(t, s, exampleRules)
	var u store.User
	for _, name := range []string{"primaries-1", "primaries-2"} {
		u = store.User{UserName: name, Active: true}
		set(&u, yes, no, absent)
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		check("create "+name, u, yes, no, absent)
	}
	// As a PUT: the lists replaced.
	up, err := s.UpdateUser(ctx, u.ID, 0, func(u *store.User) error { set(u, absent, yes, no); return nil })
	if err != nil {
		t.Fatal(err)
	}
	check("replace", up, absent, yes, no)
	// As a PATCH: one element's primary changed at a time.
	for _, step := range []struct {
		i    int
		to   state
		want []state
	}{
		{2, absent, []state{absent, yes, absent}},
		{0, no, []state{no, yes, absent}},
		{1, no, []state{no, no, absent}},
		{2, yes, []state{no, no, yes}},
	} {
		up, err = s.UpdateUser(ctx, u.ID, 0, func(u *store.User) error {
			u.Emails[step.i].Primary, u.Emails[step.i].PrimaryFalse = step.to.primary, step.to.explicitFalse
			u.PhoneNumbers[step.i].Primary, u.PhoneNumbers[step.i].PrimaryFalse = step.to.primary, step.to.explicitFalse
			u.Addresses[step.i].Primary, u.Addresses[step.i].PrimaryFalse = step.to.primary, step.to.explicitFalse
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("element %d to %+v", step.i, step.to), up, step.want...)
	}
	// PrimaryFalse means nothing beside Primary true.
	both := state{true, true}
	v := store.User{UserName: "both", Active: true}
	set(&v, both)
	if err := s.CreateUser(ctx, &v); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e, p, a := got.Emails[0], got.PhoneNumbers[0], got.Addresses[0]; !e.Primary || e.PrimaryFalse || !p.Primary || p.PrimaryFalse ||
		!a.Primary || a.PrimaryFalse {
		t.Fatalf("primary true with PrimaryFalse read back as %+v %+v %+v", e, p, a)
	}
	if acct := got.Account.Email; acct != "e0@example.com" { // accountEmail: the primary
		t.Fatalf("account email %q", acct)
	}
}

func testUserNameUniqueWithoutRegardToCase(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.User{UserName: "Bob@Example.com", Active: true}
	if err := s.CreateUser(ctx, &a); err != nil {
		t.Fatal(err)
	}
	b := store.User{UserName: "bob@example.COM", Active: true}
	err := s.CreateUser(ctx, &b)
	var conflict *store.ConflictError
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &conflict) || conflict.Attribute != "userName" {
		t.Fatalf("duplicate userName in other case: err = %v, want a userName ConflictError", err)
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
	_, err = s.UpdateUser(ctx, c.ID, 0, func(u *store.User) error { u.UserName = "BOB@example.com"; return nil })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("rename to a taken name: err = %v, want ErrConflict", err)
	}
	if got, _ := s.GetUser(ctx, c.ID); got.UserName != "carol" || got.Version != 1 {
		t.Fatalf("failed rename wrote something: %+v", got)
	}
}

func testUpdateUserVersionAndIfMatch(t *testing.T, s store.Store) {
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
}

// Concurrent read-modify-write updates must not lose each other's changes.
func testConcurrentUpdatesAreSerialised(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := store.User{UserName: "counter", Active: true}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for range n {
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
}

// testCreateRoundTripOnEveryPath reads back what CreateUser returned, for the first
// account and for later ones (an implementation may take another path once it knows the
// default team), with every attribute, none, and inactive.
func testCreateRoundTripOnEveryPath(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	inactive := fullUser("inactive")
	inactive.Active = false
	bare := store.User{UserName: "bare", Active: true}
	for _, u := range []store.User{fullUser("first"), fullUser("second"), inactive, bare} {
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", u) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, u)
		}
		if u.Active != (u.Account.Status == store.StatusOnline) || u.Active != (u.Account.DeleteAt == 0) {
			t.Fatalf("account of an active=%v user: %+v", u.Active, u.Account)
		}
	}
}

func testListUsersPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids []string
	for i := range 7 {
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
	page, total, err = s.ListUsers(ctx, store.Query{Filter: parseFilter(t, `userName eq "user3"`), StartIndex: 1, Count: 10})
	if err != nil || total != 1 || len(page) != 1 || page[0].UserName != "user3" {
		t.Fatalf("filtered: %v %d %v", page, total, err)
	}
}

// testListUsersTotals pages through users with DELETEd ones among them, through every
// kind of page: full pages, pages past the end, count=0, a first page or a later page
// that is not full. (An implementation may count, or tell the total from the page.)
func testListUsersTotals(t *testing.T, s store.Store) {
	ctx := context.Background()
	var live []string
	for i := range 10 {
		u := store.User{UserName: fmt.Sprintf("u%d", i), Active: i != 4, Emails: []store.MultiValue{{Value: fmt.Sprintf("u%d@x", i)}}}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if i == 2 || i == 6 {
			if err := s.DeleteUser(ctx, u.ID, 0); err != nil {
				t.Fatal(err)
			}
			continue
		}
		live = append(live, u.ID)
	}
	check := func(name string, q store.Query, want []string, wantTotal int) {
		t.Helper()
		page, total, err := s.ListUsers(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var ids []string
		for _, u := range page {
			ids = append(ids, u.ID)
			if len(u.Emails) != 1 || u.Emails[0].Value != u.UserName+"@x" {
				t.Errorf("%s: %s has emails %+v", name, u.UserName, u.Emails)
			}
		}
		if page == nil || !slices.Equal(ids, want) || total != wantTotal {
			t.Errorf("%s: page %v total %d, want %v total %d", name, ids, total, want, wantTotal)
		}
	}
	n := len(live) // 8
	for _, c := range []struct {
		name         string
		start, count int
	}{
		{"first page full", 1, 3},
		{"first page partial", 1, 10},
		{"first page exactly all", 1, n},
		{"middle page", 4, 3},
		{"last page partial", 7, 3},
		{"last page of one", 8, 3},
		{"just past the end", n + 1, 3},
		{"far past the end", 50, 10},
		{"count 0", 3, 0},
	} {
		var want []string
		if c.start <= n {
			want = live[c.start-1 : min(c.start-1+c.count, n)]
		}
		check(c.name, store.Query{StartIndex: c.start, Count: c.count}, want, n)
	}

	// Filtered: the deleted u2 and u6 match the filter but are no resources.
	some := parseFilter(t, `userName eq "u1" or userName eq "u2" or userName eq "u6" or userName eq "u7"`)
	check("filter, first page full", store.Query{Filter: some, StartIndex: 1, Count: 1}, live[1:2], 2)
	check("filter, second page full", store.Query{Filter: some, StartIndex: 2, Count: 1}, live[5:6], 2)
	check("filter, second page partial", store.Query{Filter: some, StartIndex: 2, Count: 5}, live[5:6], 2)
	check("filter, past the end", store.Query{Filter: some, StartIndex: 3, Count: 5}, nil, 2)
	gone := parseFilter(t, `userName eq "u6"`)
	check("only deleted matches", store.Query{Filter: gone, StartIndex: 1, Count: 5}, nil, 0)
	check("only deleted matches, past the start", store.Query{Filter: gone, StartIndex: 2, Count: 5}, nil, 0)
	// An inactive user is a resource: listed and counted.
	check("inactive", store.Query{Filter: parseFilter(t, `active eq false`), StartIndex: 1, Count: 5}, live[3:4], 1)
}
