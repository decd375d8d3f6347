package server

import (
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The bootstrap token has every scope; a stored token has its own.
func TestAuthenticatedScopes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		a := newAuthenticator(s, "bootstrap-secret", time.Now)
		if err := s.CreateToken(t.Context(), "reader", HashToken("reader-secret"), []store.Scope{store.ScopeAdminRead}); err != nil {
			t.Fatal(err)
		}
		tok, err := a.authenticate(bearer("bootstrap-secret"))
		if err != nil || tok.Name != BootstrapTokenName {
			t.Fatal(tok, err)
		}
		for _, sc := range store.AllScopes {
			if !tok.Has(sc) {
				t.Errorf("bootstrap token lacks %q", sc)
			}
		}
		tok, err = a.authenticate(bearer("reader-secret"))
		if err != nil || tok.Has(store.ScopeSCIM) || !tok.Has(store.ScopeAdminRead) || tok.Has(store.ScopeAdminWrite) {
			t.Fatalf("reader: %+v %v", tok, err)
		}
	})
}
