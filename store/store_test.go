package store_test

import (
	"context"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		n, err := s.MigrateCount(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("second migration applied %d migrations, want 0", n)
		}
	})
}
