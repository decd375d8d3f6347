package sqlstore

import "testing"

// TestPageTotal pins down when a list request can skip its COUNT: the COUNT reads every
// match, so running it when the page already tells the total costs a tenant-sized scan
// for nothing. The behaviour tests (TestListUsersTotals) cannot tell a COUNT that ran
// from one that did not; this can.
func TestPageTotal(t *testing.T) {
	for _, c := range []struct {
		start, count, n int
		total           int
		known           bool
	}{
		{1, 100, 1, 1, true},      // an IdP lookup
		{1, 100, 0, 0, true},      // a lookup that found nothing
		{1, 100, 100, 0, false},   // a full first page: more may follow
		{201, 100, 37, 237, true}, // the last page of a walk
		{201, 100, 100, 0, false}, // a full middle page
		{201, 100, 0, 0, false},   // past the end: the total is not 200
		{1, 0, 0, 0, false},       // count=0 asks for the total alone
		{5, 0, 0, 0, false},
	} {
		total, known := pageTotal(c.start, c.count, c.n)
		if total != c.total || known != c.known {
			t.Errorf("pageTotal(start %d, count %d, %d rows) = %d, %v; want %d, %v", c.start, c.count, c.n, total, known, c.total, c.known)
		}
	}
}
