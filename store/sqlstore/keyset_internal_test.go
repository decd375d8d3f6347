package sqlstore

import (
	"testing"

	"github.com/townsquare/townsquare/store"
)

// TestKeysetTotal pins down when a keyset page skips its COUNT, which the behaviour
// tests cannot observe: only when the first page holds the whole list.
func TestKeysetTotal(t *testing.T) {
	for _, c := range []struct {
		after       int64
		count, n    int
		more, known bool
		total       int
	}{
		{0, 100, 1, false, true, 1},   // an IdP lookup by cursor
		{0, 100, 0, false, true, 0},   // nothing matches
		{0, 100, 100, true, false, 0}, // a full first page
		{0, 3, 3, false, true, 3},     // a first page exactly the list
		{7, 100, 5, false, false, 0},  // a later page: what came before is unknown
		{0, 0, 0, true, false, 0},     // count=0 asks for the total
	} {
		total, known := keysetTotal(c.after, c.count, c.n, c.more)
		if total != c.total || known != c.known {
			t.Errorf("keysetTotal(%d, %d, %d, %v) = %d, %v; want %d, %v", c.after, c.count, c.n, c.more, total, known, c.total, c.known)
		}
	}
}

func TestEndKeyset(t *testing.T) {
	for _, c := range []struct {
		after int64
		count int
		keys  []int64
		n     int
		next  int64
		more  bool
	}{
		{0, 3, []int64{4, 5, 9, 12}, 3, 9, true},
		{0, 3, []int64{4, 5, 9}, 3, 9, false},
		{9, 3, []int64{12}, 1, 12, false},
		{12, 3, nil, 0, 12, false},
		{5, 0, []int64{9}, 0, 5, true},
		{5, -1, nil, 0, 5, false},
	} {
		ks := store.Keyset{After: c.after}
		n := endKeyset(&ks, c.count, c.keys)
		if n != c.n || ks.Next != c.next || ks.More != c.more {
			t.Errorf("endKeyset(after %d, count %d, %v) = %d %+v; want %d next %d more %v", c.after, c.count, c.keys, n, ks, c.n, c.next, c.more)
		}
	}
}
