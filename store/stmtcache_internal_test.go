package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestStmtCacheIsBounded runs more distinct read statements than the cache keeps: the
// first maxCachedStmts are prepared and reused, the rest still run, unprepared.
func TestStmtCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := range 2 {
		for i := range maxCachedStmts + 10 {
			var got int
			if err := s.readGet(ctx, nil, &got, fmt.Sprintf("SELECT ? + %d", i), round); err != nil {
				t.Fatal(err)
			}
			if got != round+i {
				t.Fatalf("statement %d, round %d: got %d", i, round, got)
			}
		}
	}
	if n := s.stmts.n.Load(); n != maxCachedStmts {
		t.Fatalf("%d statements cached, want %d", n, maxCachedStmts)
	}
	if s.stmt(ctx, "SELECT ? + 0") == nil || s.stmt(ctx, fmt.Sprintf("SELECT ? + %d", maxCachedStmts)) != nil {
		t.Fatal("the first statements should be the cached ones")
	}
}
