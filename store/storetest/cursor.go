package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// keysetLister is ListUsers or ListGroups reduced to what a keyset walk needs.
type keysetLister struct {
	list   func(q store.Query) (ids []string, total int, err error)
	create func(name string) string // returns the new resource's id
	delete func(id string)
}

// testKeysetUsers and testKeysetGroups walk a list page by page (store.Keyset) while
// resources are created and deleted between pages: every resource that exists
// throughout appears exactly once, in creation order; deleting the resource a page
// ended on does not lose the place; totals are those of the list as each page is read.
func testKeysetUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	testKeysetWalk(t, keysetLister{
		list: func(q store.Query) ([]string, int, error) {
			users, total, err := s.ListUsers(ctx, q)
			ids := make([]string, len(users))
			for i, u := range users {
				ids[i] = u.ID
				if len(u.Emails) != 1 {
					t.Errorf("keyset page user %s without its email: %+v", u.UserName, u.Emails)
				}
			}
			return ids, total, err
		},
		create: func(name string) string {
			u := store.User{UserName: name, Active: true, Emails: []store.MultiValue{{Value: name + "@x"}}}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			return u.ID
		},
		delete: func(id string) {
			if err := s.DeleteUser(ctx, id, 0); err != nil {
				t.Fatal(err)
			}
		},
	}, eqAnyOf(t, "userName"))
}

func testKeysetGroups(t *testing.T, s store.Store) {
	ctx := context.Background()
	testKeysetWalk(t, keysetLister{
		list: func(q store.Query) ([]string, int, error) {
			groups, total, err := s.ListGroups(ctx, q)
			ids := make([]string, len(groups))
			for i, g := range groups {
				ids[i] = g.ID
			}
			return ids, total, err
		},
		create: func(name string) string {
			g := store.Group{DisplayName: name}
			if err := s.CreateGroup(ctx, &g, nil); err != nil {
				t.Fatal(err)
			}
			return g.ID
		},
		delete: func(id string) {
			if err := s.DeleteGroup(ctx, id, 0); err != nil {
				t.Fatal(err)
			}
		},
	}, eqAnyOf(t, "displayName"))
}

// eqAnyOf is the filter "attr eq n1 or attr eq n2 …" for the names given.
func eqAnyOf(t *testing.T, attr string) func(names ...string) store.Filter {
	return func(names ...string) store.Filter {
		f := ""
		for i, n := range names {
			if i > 0 {
				f += " or "
			}
			f += fmt.Sprintf("%s eq %q", attr, n)
		}
		return parseFilter(t, f)
	}
}

func testKeysetWalk(t *testing.T, l keysetLister, anyOf func(names ...string) store.Filter) {
	// An empty list: one page, empty, nothing more.
	ks := &store.Keyset{}
	ids, total, err := l.list(store.Query{Count: 5, Keyset: ks})
	if err != nil || ids == nil || len(ids) != 0 || total != 0 || ks.More || ks.Next != 0 {
		t.Fatalf("empty list: %v total %d err %v keyset %+v", ids, total, err, *ks)
	}

	var all []string
	names := map[string]string{}
	for i := range 12 {
		name := fmt.Sprintf("k%02d", i)
		id := l.create(name)
		all = append(all, id)
		names[id] = name
	}
	live := map[string]bool{}
	for _, id := range all {
		live[id] = true
	}

	// The walk: pages of 3, with changes between pages.
	seen := map[string]int{}
	var order []string
	deletedUnseen, deletedSeen := all[7], all[1]
	ks = &store.Keyset{}
	for page := 0; ; page++ {
		if page > 20 {
			t.Fatal("the walk does not end")
		}
		after := ks.After
		ids, total, err := l.list(store.Query{Count: 3, Keyset: ks, StartIndex: 99}) // StartIndex is not read
		if err != nil {
			t.Fatal(err)
		}
		if total != len(live) {
			t.Errorf("page %d: total %d, want %d", page, total, len(live))
		}
		if len(ids) > 3 {
			t.Fatalf("page %d: %d resources for count 3", page, len(ids))
		}
		for _, id := range ids {
			seen[id]++
			order = append(order, id)
		}
		if len(ids) == 0 && ks.Next != after {
			t.Errorf("page %d: empty, but Next moved from %d to %d", page, after, ks.Next)
		}
		if !ks.More {
			break
		}
		if len(ids) == 0 {
			t.Fatalf("page %d: empty but More", page)
		}
		switch page {
		case 0:
			// Inserted after the walk's position: may or may not appear; deleted ahead of
			// it and behind it.
			id := l.create("new0")
			live[id] = true
			names[id] = "new0"
			for _, d := range []string{deletedUnseen, deletedSeen} {
				l.delete(d)
				delete(live, d)
			}
		case 1:
			// The resource the page ended on goes: the next page starts after it still.
			last := ids[len(ids)-1]
			l.delete(last)
			delete(live, last)
		}
		ks.After = ks.Next
	}
	for _, id := range all {
		throughout := id != deletedUnseen && id != deletedSeen
		if throughout && seen[id] != 1 {
			t.Errorf("%s existed throughout the walk and was returned %d times", names[id], seen[id])
		}
	}
	if seen[deletedUnseen] != 0 {
		t.Errorf("%s was deleted before the walk reached it, but was returned", names[deletedUnseen])
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s returned %d times", names[id], n)
		}
	}
	for i := 1; i < len(order); i++ {
		if indexOf(all, order[i-1]) > indexOf(all, order[i]) && indexOf(all, order[i]) >= 0 {
			t.Errorf("not in creation order: %s before %s", names[order[i-1]], names[order[i]])
		}
	}

	// A page that exactly ends the list says there is no more; count 0 asks only for
	// the total and whether anything follows, and does not move.
	var liveIDs []string
	for _, id := range append(all, order...) {
		if live[id] && indexOf(liveIDs, id) < 0 {
			liveIDs = append(liveIDs, id)
		}
	}
	ks = &store.Keyset{}
	ids, total, err = l.list(store.Query{Count: len(liveIDs), Keyset: ks})
	if err != nil || len(ids) != len(liveIDs) || total != len(liveIDs) || ks.More {
		t.Errorf("one page of all %d: %d resources, total %d, more %v, err %v", len(liveIDs), len(ids), total, ks.More, err)
	}
	ks = &store.Keyset{After: ks.Next}
	ids, total, err = l.list(store.Query{Count: 3, Keyset: ks})
	if err != nil || len(ids) != 0 || ks.More || total != len(liveIDs) {
		t.Errorf("after the end: %v total %d more %v err %v", ids, total, ks.More, err)
	}
	for _, c := range []struct {
		after int64
		more  bool
	}{{0, true}} {
		ks = &store.Keyset{After: c.after}
		ids, total, err = l.list(store.Query{Count: 0, Keyset: ks})
		if err != nil || len(ids) != 0 || total != len(liveIDs) || ks.More != c.more || ks.Next != c.after {
			t.Errorf("count 0 after %d: %v total %d keyset %+v err %v", c.after, ids, total, *ks, err)
		}
	}

	// Filtered (an "or", so that the position's condition must not bind to one side),
	// through pages of one.
	want := []string{all[3], all[9], all[11]}
	f := anyOf(names[all[3]], names[all[9]], names[all[11]], names[deletedUnseen])
	ks = &store.Keyset{}
	var got []string
	for range 10 {
		ids, total, err := l.list(store.Query{Filter: f, Count: 1, Keyset: ks})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(want) {
			t.Errorf("filtered: total %d, want %d", total, len(want))
		}
		got = append(got, ids...)
		if !ks.More {
			break
		}
		ks.After = ks.Next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("filtered walk: got %v, want %v", got, want)
	}

	// Backwards (Before: RFC 9865's previousCursor). From past the end, each page before
	// the previous page's First, while Earlier: the list in pages of count, each in the
	// list's order, ending at its start; a page's Next walks forwards again.
	back := func(f store.Filter, count, total int) (pages [][]string, firsts []*store.Keyset) {
		ks := &store.Keyset{Before: 1 << 62}
		for range 20 {
			ids, n, err := l.list(store.Query{Filter: f, Count: count, Keyset: ks})
			if err != nil {
				t.Fatal(err)
			}
			if n != total || len(ids) > count || !ks.More {
				t.Errorf("backwards: %d resources, total %d (want %d), more %v", len(ids), n, total, ks.More)
			}
			pages, firsts = append([][]string{ids}, pages...), append([]*store.Keyset{ks}, firsts...)
			if !ks.Earlier {
				return pages, firsts
			}
			ks = &store.Keyset{Before: ks.First}
		}
		t.Fatal("the backward walk does not end")
		return nil, nil
	}
	pages, bounds := back(nil, 3, len(liveIDs))
	var flat []string
	for i, p := range pages {
		if len(p) != 3 && i > 0 {
			t.Errorf("backwards: page %d of %d holds %d, only the first may hold fewer than 3", i+1, len(pages), len(p))
		}
		flat = append(flat, p...)
	}
	if fmt.Sprint(flat) != fmt.Sprint(liveIDs) {
		t.Errorf("backward walk: got %v, want %v", flat, liveIDs)
	}
	if len(pages) > 1 {
		ks := &store.Keyset{After: bounds[0].Next}
		ids, _, err := l.list(store.Query{Count: 3, Keyset: ks})
		if err != nil || fmt.Sprint(ids) != fmt.Sprint(pages[1]) || !ks.Earlier {
			t.Errorf("forwards from the first page found backwards: %v (err %v), want %v", ids, err, pages[1])
		}
	}
	pages, _ = back(f, 1, len(want))
	if fmt.Sprint(pages) != fmt.Sprint([][]string{{want[0]}, {want[1]}, {want[2]}}) {
		t.Errorf("filtered backward walk: got %v, want %v one a page", pages, want)
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
