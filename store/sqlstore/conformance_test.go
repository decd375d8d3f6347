package sqlstore_test

import (
	"context"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
	"github.com/townsquare/townsquare/store/storetest"
)

// TestConformance runs the store.Store conformance suite on every backend of this run:
// the one place where this package's behaviour is tested through the interface. A new
// backend is one more entry of sqltest.Backends; the tests in the other files of this
// package are those that need SQL, to set up a state or to observe one.
func TestConformance(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			storetest.RunTests(t, func(t testing.TB) func() store.Store {
				dsn := b.DSN(t)
				return func() store.Store {
					s, err := sqlstore.Open(context.Background(), dsn)
					if err != nil {
						t.Fatalf("open %s store: %v", b.Name, err)
					}
					t.Cleanup(func() { s.Close() })
					return s
				}
			})
		})
	}
}
