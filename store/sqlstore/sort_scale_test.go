package sqlstore_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// envSortBench gates TestSortAtScale: a minute per backend, so never in CI or make test.
const envSortBench = "TOWNSQUARE_BENCH_SORT"

// TestSortAtScale is issue 15's target for sorting: at 100,000 users a sorted page of
// 100 costs what an unsorted one does. It times ListUsers pages and the statement that
// picks their keys (the median of 15 each), unsorted, sorted on each indexed key (first
// page, and one 50,000 deep), and by cursor, after statistics, and logs each against the
// unsorted page of the same depth; then, for one key, with its index dropped, to show
// what the index buys.
func TestSortAtScale(t *testing.T) {
	if os.Getenv(envSortBench) == "" || testing.Short() {
		t.Skip("set " + envSortBench + "=1 to run (a minute per backend)")
	}
	const n = 100000
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		planFixture(t, s, 1, n)
		if _, err := s.DB().Exec(`UPDATE users SET display_name = 'D' || CAST((pk * 7919) % 100003 AS TEXT),
			family_name = 'F' || CAST((pk * 104729) % 100019 AS TEXT), given_name = 'G' || CAST(pk % 997 AS TEXT),
			external_id = CASE WHEN pk % 10 = 0 THEN NULL ELSE 'x' || CAST((pk * 31) % 100043 AS TEXT) END,
			created_at = pk, updated_at = (pk * 13) % 100057`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Exec(`ANALYZE`); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		median := func(fn func()) time.Duration {
			var times []time.Duration
			for range 15 {
				start := time.Now()
				fn()
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			return times[len(times)/2]
		}
		// page times a whole page (its keys, its 100 users, the COUNT) and the statement
		// that picks its keys, the only part a sort changes.
		page := func(q store.Query) (whole, keys time.Duration) {
			whole = median(func() {
				users, total, err := s.ListUsers(ctx, q)
				if err != nil || len(users) != 100 || total != n {
					t.Fatalf("%+v: %d users, total %d, err %v", q, len(users), total, err)
				}
			})
			st, err := s.SortedPageStatementForTest("users", q)
			if err != nil {
				t.Fatal(err)
			}
			keys = median(func() {
				var pks []int64
				if err := s.DB().Select(&pks, st.SQL, st.Args...); err != nil || len(pks) != 100 {
					t.Fatalf("%+v: %d keys, %v", q, len(pks), err)
				}
			})
			return whole, keys
		}
		type times struct{ whole, keys time.Duration }
		base := map[int]times{}
		for _, start := range []int{1, n/2 + 1} {
			w, k := page(store.Query{StartIndex: start, Count: 100})
			base[start] = times{w, k}
			t.Logf("unsorted startIndex=%d: page %v, keys %v", start, w, k)
		}
		for _, sortBy := range []string{"userName", "displayName", "name.familyName", "name.givenName", "externalId", "meta.created", "meta.lastModified"} {
			for _, desc := range []bool{false, true} {
				for _, start := range []int{1, n/2 + 1} {
					w, k := page(store.Query{SortBy: sortBy, SortDescending: desc, StartIndex: start, Count: 100})
					t.Logf("sortBy=%s descending=%v startIndex=%d: page %v (%.2f× unsorted), keys %v (%.2f×)", sortBy, desc, start,
						w, float64(w)/float64(base[start].whole), k, float64(k)/float64(base[start].keys))
				}
			}
		}
		var after int64
		ks := &store.Keyset{}
		if _, _, err := s.ListUsers(ctx, store.Query{Count: n / 2, Keyset: ks}); err != nil {
			t.Fatal(err)
		}
		after = ks.Next
		for _, a := range []int64{0, after} {
			var times []time.Duration
			for range 15 {
				start := time.Now()
				users, _, err := s.ListUsers(ctx, store.Query{Count: 100, Keyset: &store.Keyset{After: a}})
				times = append(times, time.Since(start))
				if err != nil || len(users) != 100 {
					t.Fatalf("keyset: %d users, %v", len(users), err)
				}
			}
			slices.Sort(times)
			t.Logf("cursor after %d: %v", a, times[7])
		}
		// displayName has no index (migration 0012 keeps userName's only): its matches are
		// sorted for each page.
		for _, start := range []int{1, n/2 + 1} {
			w, k := page(store.Query{SortBy: "displayName", StartIndex: start, Count: 100})
			t.Logf("without an index, sortBy=displayName startIndex=%d: page %v (%.2f× unsorted), keys %v (%.2f×)", start,
				w, float64(w)/float64(base[start].whole), k, float64(k)/float64(base[start].keys))
		}
	})
}
