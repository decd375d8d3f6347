package sqlstore

import (
	"testing"

	"github.com/townsquare/townsquare/store"
)

// TestKeysetTotal pins down when a keyset page skips its COUNT, which the behaviour
// tests cannot observe: only when the first page holds the whole list.
func TestKeysetTotal(t *testing.T) {
	for _, c := range []struct {
		after, before int64
		count, n      int
		more, known   bool
		total         int
	}{
		{0, 0, 100, 1, false, true, 1},   // an IdP lookup by cursor
		{0, 0, 100, 0, false, true, 0},   // nothing matches
		{0, 0, 100, 100, true, false, 0}, // a full first page
		{0, 0, 3, 3, false, true, 3},     // a first page exactly the list
		{7, 0, 100, 5, false, false, 0},  // a later page: what came before is unknown
		{0, 0, 0, 0, true, false, 0},     // count=0 asks for the total
		{0, 9, 100, 2, false, false, 0},  // a page before a position: what came after is unknown
	} {
		ks := store.Keyset{After: c.after, Before: c.before, More: c.more}
		total, known := keysetTotal(&ks, c.count, c.n)
		if total != c.total || known != c.known {
			t.Errorf("keysetTotal(%+v, %d, %d) = %d, %v; want %d, %v", ks, c.count, c.n, total, known, c.total, c.known)
		}
	}
}

func TestEndKeyset(t *testing.T) {
	for _, c := range []struct {
		after, before int64
		count         int
		keys          []int64 // ascending, as read
		lo, hi        int
		first, next   int64
		earlier, more bool
	}{
		{0, 0, 3, []int64{4, 5, 9, 12}, 0, 3, 4, 9, false, true},
		{0, 0, 3, []int64{4, 5, 9}, 0, 3, 4, 9, false, false},
		{9, 0, 3, []int64{12}, 0, 1, 12, 12, true, false},
		{12, 0, 3, nil, 0, 0, 13, 12, true, false},
		{5, 0, 0, []int64{9}, 0, 0, 6, 5, true, true},
		{5, 0, -1, nil, 0, 0, 6, 5, true, false},
		// Pages before a position keep the last count keys; the extra one precedes them.
		{0, 12, 3, []int64{4, 5, 9, 11}, 1, 4, 5, 11, true, true},
		{0, 12, 3, []int64{4, 5, 9}, 0, 3, 4, 9, false, true},
		{0, 4, 3, nil, 0, 0, 4, 3, false, true},
		{0, 12, 0, []int64{9}, 1, 1, 12, 11, true, true},
	} {
		ks := store.Keyset{After: c.after, Before: c.before}
		lo, hi := endKeyset(&ks, c.count, c.keys)
		if lo != c.lo || hi != c.hi || ks.First != c.first || ks.Next != c.next || ks.Earlier != c.earlier || ks.More != c.more {
			t.Errorf("endKeyset(after %d, before %d, count %d, %v) = [%d, %d) %+v; want [%d, %d) first %d next %d earlier %v more %v",
				c.after, c.before, c.count, c.keys, lo, hi, ks, c.lo, c.hi, c.first, c.next, c.earlier, c.more)
		}
	}
}
