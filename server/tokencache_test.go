package server

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// fakeClock is a settable clock for the token cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_000_000, 0)} }

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func bearer(secret string) *http.Request {
	req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	return req
}

// A revoked token keeps working for at most tokenTTL on a server that has seen it, and no
// longer; a token the server has never seen is checked against the database at once.
func TestTokenCacheRevocationDelay(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		clock := newFakeClock()
		a := newAuthenticator(s, "", clock.now)
		secret, err := NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		req := bearer(secret)

		if _, err := a.authenticate(req); err != errUnauthorized {
			t.Fatalf("unknown token: err %v, want unauthorized", err)
		}
		// Created after a failed attempt: failures are not cached, so it works at once.
		if err := s.CreateToken(t.Context(), "okta", HashToken(secret), []store.Scope{store.ScopeSCIM}); err != nil {
			t.Fatal(err)
		}
		if tok, err := a.authenticate(req); err != nil || tok.Name != "okta" || !tok.Has(store.ScopeSCIM) || tok.Has(store.ScopeAdminRead) {
			t.Fatalf("new token: %+v %v", tok, err)
		}
		if err := s.RevokeToken(t.Context(), "okta"); err != nil {
			t.Fatal(err)
		}
		clock.advance(tokenTTL - time.Millisecond)
		if tok, err := a.authenticate(req); err != nil || tok.Name != "okta" || !tok.Has(store.ScopeSCIM) {
			t.Fatalf("within the TTL the cached token (and its scopes) should still pass: %+v %v", tok, err)
		}
		clock.advance(time.Millisecond)
		if _, err := a.authenticate(req); err != errUnauthorized {
			t.Fatalf("after the TTL a revoked token must fail: err %v", err)
		}
	})
}

func TestTokenCacheIsBounded(t *testing.T) {
	c := newTokenCache(time.Now)
	for i := range tokenCacheMax * 3 {
		c.put(HashToken(strconv.Itoa(i)), store.Token{Name: "t"})
	}
	if n := len(c.entries); n > tokenCacheMax {
		t.Fatalf("cache holds %d entries, bound is %d", n, tokenCacheMax)
	}
}
