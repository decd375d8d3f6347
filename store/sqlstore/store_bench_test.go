package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// Benchmarks of the store's hot paths, on SQLite and, with TOWNSQUARE_TEST_DATABASE_URL
// set, on PostgreSQL (a schema of its own, dropped afterwards):
//
//	go test -run '^$' -bench . -benchmem ./store/sqlstore
//	TOWNSQUARE_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go test -run '^$' -bench . ./store/sqlstore
//
// The large-group fixture has TOWNSQUARE_BENCH_USERS users (default 10000), all members of
// one group, built once per backend through the store's own API.

func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("TOWNSQUARE_BENCH_USERS")); err == nil && n >= 100 {
		return n
	}
	return 10000
}

func benchUser(name string) store.User {
	// Names that do not sort in creation order, for the sorted pages.
	rev := []byte(name)
	slices.Reverse(rev)
	return store.User{
		UserName: name + "@example.com", ExternalID: "ext-" + name, Active: true, DisplayName: "Given " + string(rev),
		Name:   store.Name{GivenName: "Given", FamilyName: "Family" + string(rev)},
		Emails: []store.MultiValue{{Value: name + "@example.com", Type: "work", Primary: true}},
	}
}

// createUsers creates n users named prefix0..prefix(n-1) with 8 goroutines and returns
// their ids in order.
func createUsers(b *testing.B, s *sqlstore.Store, prefix string, n int) []string {
	b.Helper()
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				u := benchUser(fmt.Sprintf("%s%d", prefix, i))
				if err := s.CreateUser(context.Background(), &u); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				ids[i] = u.ID
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	return ids
}

func addOps(ids ...string) []store.MemberOp {
	return []store.MemberOp{{Kind: store.AddMembers, IDs: ids}}
}

func removeOps(ids ...string) []store.MemberOp {
	return []store.MemberOp{{Kind: store.RemoveMembers, IDs: ids}}
}

// BenchmarkCreateUser is store.CreateUser (user, email, default team and its two
// channels, chat username), one at a time and with 16 concurrent callers.
func BenchmarkCreateUser(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := sqltest.Open(b, be)
			var seq atomic.Int64
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					u := benchUser(fmt.Sprintf("s%d", seq.Add(1)))
					if err := s.CreateUser(context.Background(), &u); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel16", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 callers on the 2-core target machine
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						u := benchUser(fmt.Sprintf("p%d", seq.Add(1)))
						if err := s.CreateUser(context.Background(), &u); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		})
	}
}

// bigGroupFixture is a store with n users, all members of group "big", an empty group
// "small", and 1000 spare users in no group.
type bigGroupFixture struct {
	s            *sqlstore.Store
	users, spare []string
	big, small   string
}

func newBigGroupFixture(b *testing.B, be sqltest.Backend) *bigGroupFixture {
	b.Helper()
	n := benchUsers()
	f := &bigGroupFixture{s: sqltest.Open(b, be)}
	ctx := context.Background()
	f.users = createUsers(b, f.s, "m", n)
	f.spare = createUsers(b, f.s, "x", 1000)
	big := store.Group{DisplayName: "big"}
	small := store.Group{DisplayName: "small"}
	if err := f.s.CreateGroup(ctx, &big, nil); err != nil {
		b.Fatal(err)
	}
	if err := f.s.CreateGroup(ctx, &small, nil); err != nil {
		b.Fatal(err)
	}
	f.big, f.small = big.ID, small.ID
	for i := 0; i < n; i += 1000 {
		if _, err := f.s.UpdateGroup(ctx, f.big, 0, nil, addOps(f.users[i:min(i+1000, n)]...)); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// BenchmarkAddMember adds one member (then, untimed, removes it again) to an empty group
// and to a group of TOWNSQUARE_BENCH_USERS members, and 1,000 members at once: the cost
// must not depend on the group's size.
func BenchmarkAddMember(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f := newBigGroupFixture(b, be)
			ctx := context.Background()
			for _, g := range []struct{ name, id string }{{"group_size=0", f.small}, {fmt.Sprintf("group_size=%d", len(f.users)), f.big}} {
				b.Run("one/"+g.name, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						u := f.spare[i%len(f.spare)]
						if _, err := f.s.UpdateGroup(ctx, g.id, 0, nil, addOps(u)); err != nil {
							b.Fatal(err)
						}
						b.StopTimer()
						if _, err := f.s.UpdateGroup(ctx, g.id, 0, nil, removeOps(u)); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
				})
				b.Run("thousand/"+g.name, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						if _, err := f.s.UpdateGroup(ctx, g.id, 0, nil, addOps(f.spare...)); err != nil {
							b.Fatal(err)
						}
						b.StopTimer()
						if _, err := f.s.UpdateGroup(ctx, g.id, 0, nil, removeOps(f.spare...)); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
				})
			}
			b.Run(fmt.Sprintf("read_all_members/group_size=%d", len(f.users)), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					n := 0
					if err := f.s.EachGroupMember(ctx, f.big, func(store.Member) error { n++; return nil }); err != nil {
						b.Fatal(err)
					}
					if n != len(f.users) {
						b.Fatalf("%d members, want %d", n, len(f.users))
					}
				}
			})
		})
	}
}

// BenchmarkListUsers is a page of 100 users at the start and at the end of the table, by
// index and by keyset, and the `userName eq` / `externalId eq` lookups IdPs make before
// every write, parsed as the server parses them, by index and by keyset.
func BenchmarkListUsers(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			n := benchUsers()
			s := sqltest.Open(b, be)
			createUsers(b, s, "l", n)
			ctx := context.Background()
			for _, start := range []int{1, n - 99} {
				b.Run(fmt.Sprintf("page100/startIndex=%d", start), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						users, total, err := s.ListUsers(ctx, store.Query{StartIndex: start, Count: 100})
						if err != nil || len(users) != 100 || total != n {
							b.Fatalf("%d users, total %d, err %v", len(users), total, err)
						}
					}
				})
			}
			// Sorted pages (migration 0012's indexes), first and last.
			for _, c := range []struct {
				sortBy string
				desc   bool
			}{{"userName", false}, {"displayName", false}, {"displayName", true}, {"name.familyName", false},
				{"externalId", true}, {"meta.lastModified", true}} {
				for _, start := range []int{1, n - 99} {
					b.Run(fmt.Sprintf("sorted100/%s/desc=%v/startIndex=%d", c.sortBy, c.desc, start), func(b *testing.B) {
						b.ReportAllocs()
						for b.Loop() {
							users, total, err := s.ListUsers(ctx, store.Query{SortBy: c.sortBy, SortDescending: c.desc, StartIndex: start, Count: 100})
							if err != nil || len(users) != 100 || total != n {
								b.Fatalf("%d users, total %d, err %v", len(users), total, err)
							}
						}
					})
				}
			}
			// The same pages by keyset (RFC 9865 cursors): after the start, and after the
			// n-100th user, which a walk reaches; the position is found untimed.
			ends := map[string]int64{"first": 0}
			ks := &store.Keyset{}
			if _, _, err := s.ListUsers(ctx, store.Query{Count: n - 100, Keyset: ks}); err != nil {
				b.Fatal(err)
			}
			ends["last"] = ks.Next
			for _, at := range []string{"first", "last"} {
				b.Run("cursor100/"+at, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						ks := &store.Keyset{After: ends[at]}
						users, total, err := s.ListUsers(ctx, store.Query{Count: 100, Keyset: ks})
						if err != nil || len(users) != 100 || total != n || ks.More != (at == "first") {
							b.Fatalf("%d users, total %d, more %v, err %v", len(users), total, ks.More, err)
						}
					}
				})
			}
			// The same filters paged by cursor and by index: a keyset page must cost what
			// an index page does.
			for _, paging := range []struct {
				name  string
				query func(store.Filter) store.Query
			}{
				{"cursor-filter/", func(f store.Filter) store.Query { return store.Query{Filter: f, Count: 100, Keyset: &store.Keyset{}} }},
				{"filter/", func(f store.Filter) store.Query { return store.Query{Filter: f, StartIndex: 1, Count: 100} }},
			} {
				for _, f := range []string{`userName eq "l%d@example.com"`, `externalId eq "ext-l%d"`} {
					b.Run(paging.name+f[:10], func(b *testing.B) {
						b.ReportAllocs()
						i := 0
						for b.Loop() {
							i = (i + 7919) % n
							expr, err := fp.ParseFilter(fmt.Appendf(nil, f, i))
							if err != nil {
								b.Fatal(err)
							}
							users, total, err := s.ListUsers(ctx, paging.query(expr))
							if err != nil || total != 1 || len(users) != 1 {
								b.Fatalf("%d users, total %d, err %v", len(users), total, err)
							}
						}
					})
				}
			}
		})
	}
}

// BenchmarkRemoveMembers removes one member and 500 members (then, untimed, adds them
// back) from a group of TOWNSQUARE_BENCH_USERS members: the full reconcile, which removes
// still take (Okta sends 500 filtered removes in one PATCH). Then again with roles and
// guests in use (a guest group with a member, a system admin by hand), so that the
// reconcile runs their steps too.
func BenchmarkRemoveMembers(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			f := newBigGroupFixture(b, be)
			ctx := context.Background()
			for _, roles := range []bool{false, true} {
				if roles {
					cfg, err := rules.Parse([]byte("groups:\n  - match: {displayNamePrefix: \"guest-\"}\n    guest: true\n    channels: [\"big/{suffix}\"]\n"))
					if err != nil {
						b.Fatal(err)
					}
					f.s.SetRules(cfg)
					g := store.Group{DisplayName: "guest-visitors"}
					if err := f.s.CreateGroup(ctx, &g, f.spare[:1]); err != nil {
						b.Fatal(err)
					}
					if _, err := f.s.GrantRole(ctx, f.spare[1], store.RoleRef{Role: store.RoleSystemAdmin}); err != nil {
						b.Fatal(err)
					}
				}
				for _, n := range []int{1, 500} {
					b.Run(fmt.Sprintf("roles_in_use=%v/n=%d/group_size=%d", roles, n, len(f.users)), func(b *testing.B) {
						b.ReportAllocs()
						for i := 0; i < b.N; i++ {
							ids := f.users[(i*n)%(len(f.users)-n):][:n]
							if _, err := f.s.UpdateGroup(ctx, f.big, 0, nil, removeOps(ids...)); err != nil {
								b.Fatal(err)
							}
							b.StopTimer()
							if _, err := f.s.UpdateGroup(ctx, f.big, 0, nil, addOps(ids...)); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
						}
					})
				}
			}
		})
	}
}

// BenchmarkNestedGroups compares a member add to a mapped group with the same add to a
// group nested in it, and measures a nesting: "a 50k-member nested group costs what a
// flat one does" (issue 15). Each add or nesting is undone untimed. With
// TOWNSQUARE_BENCH_USERS users (default 10000):
//
//   - add/{flat,nested}/n=1 and n=1000: adds to the mapped group "Flat" holding every
//     user, and to "Child" (unmapped, holding every user) nested in the mapped group
//     "Parent";
//   - add/{flat,nested}/n=all: a second set of as many users, added in one operation;
//   - nest/n=all: "Child2", holding that second set, nested in "Parent", and
//     nest/flat_equivalent: the second set added to "Parent" directly instead.
func BenchmarkNestedGroups(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			n := benchUsers()
			s := sqltest.Open(b, be)
			cfg, err := rules.Parse([]byte("default_team: everyone\nunmapped_groups: ignore\ngroups:\n" +
				"  - match: {displayNamePrefix: \"Flat\"}\n    teams: [flat]\n    channels: [flat/news]\n" +
				"  - match: {displayName: \"Parent\"}\n    teams: [nested]\n    channels: [nested/news]\n"))
			if err != nil {
				b.Fatal(err)
			}
			s.SetRules(cfg)
			users := createUsers(b, s, "m", n)
			second := createUsers(b, s, "y", n)
			group := func(name string, members []string) string {
				g := store.Group{DisplayName: name}
				if err := s.CreateGroup(ctx, &g, nil); err != nil {
					b.Fatal(err)
				}
				for i := 0; i < len(members); i += 1000 {
					if _, err := s.UpdateGroup(ctx, g.ID, 0, nil, addOps(members[i:min(i+1000, len(members))]...)); err != nil {
						b.Fatal(err)
					}
				}
				return g.ID
			}
			flat := group("Flat", users)
			child := group("Child", users)
			parent := group("Parent", nil)
			if _, err := s.UpdateGroup(ctx, parent, 0, nil, addOps(child)); err != nil {
				b.Fatal(err)
			}
			for _, c := range []struct{ name, group string }{{"flat", flat}, {"nested", child}} {
				for _, k := range slices.Compact([]int{1, min(1000, n), n}) {
					name := fmt.Sprintf("add/%s/n=%d", c.name, k)
					if k == n {
						name = fmt.Sprintf("add/%s/n=all(%d)", c.name, k)
					}
					b.Run(name, func(b *testing.B) {
						b.ReportAllocs()
						for i := 0; i < b.N; i++ {
							ids := second[(i*k)%(n-k+1):][:k]
							if _, err := s.UpdateGroup(ctx, c.group, 0, nil, addOps(ids...)); err != nil {
								b.Fatal(err)
							}
							b.StopTimer()
							if _, err := s.UpdateGroup(ctx, c.group, 0, nil, removeOps(ids...)); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
						}
					})
				}
			}
			child2 := group("Child2", second)
			b.Run(fmt.Sprintf("nest/n=all(%d)", n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := s.UpdateGroup(ctx, parent, 0, nil, addOps(child2)); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if _, err := s.UpdateGroup(ctx, parent, 0, nil, removeOps(child2)); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
			// The same accounts added to the mapped group directly, for comparison.
			b.Run(fmt.Sprintf("nest/flat_equivalent/n=all(%d)", n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := s.UpdateGroup(ctx, parent, 0, nil, addOps(second...)); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if _, err := s.UpdateGroup(ctx, parent, 0, nil, removeOps(second...)); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		})
	}
}
