package server

import (
	"errors"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// An address that has spent its failed-authentication burst is refused before any
// lookup, with the wait until it may try again; tokens the server already knows still
// pass from it, other addresses are not affected, and the wait ends.
func TestFailedAuthenticationsPerAddress(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		cs := &countingStore{Store: s}
		clock := newFakeClock()
		a := newAuthenticator(cs, "bootstrap-secret", Limits{AuthFailRate: 0.5, AuthFailBurst: 3}, clock.now)
		if err := s.CreateToken(t.Context(), "okta", HashToken("good-secret"), []store.Scope{store.ScopeSCIM}); err != nil {
			t.Fatal(err)
		}
		from := func(secret, addr string) (store.Token, error) {
			r := bearer(secret)
			r.RemoteAddr = addr
			return a.authenticate(r)
		}
		const attacker, idp = "198.51.100.9:4000", "203.0.113.5:4000"
		if _, err := from("good-secret", attacker); err != nil { // now in the success cache
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := from("guess-"+string(rune('a'+i)), attacker); err != errUnauthorized {
				t.Fatalf("failure %d: %v, want 401", i+1, err)
			}
		}
		before := cs.lookups.Load()
		_, err := from("guess-z", attacker)
		var throttled *throttledError
		if !errors.As(err, &throttled) || throttled.retryAfter != 2*time.Second {
			t.Fatalf("beyond the burst: %v, want throttled for 2s", err)
		}
		if _, err := from("", "198.51.100.9:4001"); !errors.As(err, &throttled) {
			t.Fatalf("no token from the same address (another port): %v, want throttled", err)
		}
		if n := cs.lookups.Load() - before; n != 0 {
			t.Fatalf("a throttled address cost %d lookups", n)
		}
		if tok, err := from("good-secret", attacker); err != nil || tok.Name != "okta" {
			t.Fatalf("a cached valid token from a throttled address: %+v %v", tok, err)
		}
		if tok, err := from("bootstrap-secret", attacker); err != nil || tok.Name != BootstrapTokenName {
			t.Fatalf("the bootstrap token from a throttled address: %+v %v", tok, err)
		}
		if _, err := from("guess-y", idp); err != errUnauthorized {
			t.Fatalf("another address: %v, want 401", err)
		}
		clock.advance(2 * time.Second)
		if _, err := from("guess-x", attacker); err != errUnauthorized {
			t.Fatalf("after the wait: %v, want 401 (one more try)", err)
		}
		if _, err := from("guess-w", attacker); !errors.As(err, &throttled) {
			t.Fatalf("right after it: %v, want throttled", err)
		}
	})
}

// The bootstrap token has every scope; a stored token has its own.
func TestAuthenticatedScopes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		a := newAuthenticator(s, "bootstrap-secret", Limits{}, time.Now)
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
