package server

import (
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// fakeClock is a settable clock for the token cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A revoked token keeps working for at most tokenTTL on a server that has seen it, and no
// longer; a token the server has never seen is checked against the database at once.
func TestTokenCacheRevocationDelay(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		clock := &fakeClock{t: time.Unix(1_000_000, 0)}
		a := newAuthenticator(s, "")
		a.cache = newTokenCache(clock.now)
		secret, err := NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
		req.Header.Set("Authorization", "Bearer "+secret)

		if _, err := a.tokenName(req); err != errUnauthorized {
			t.Fatalf("unknown token: err %v, want unauthorized", err)
		}
		// Created after a failed attempt: failures are not cached, so it works at once.
		if err := s.CreateToken(t.Context(), "okta", HashToken(secret)); err != nil {
			t.Fatal(err)
		}
		if name, err := a.tokenName(req); err != nil || name != "okta" {
			t.Fatalf("new token: %q %v", name, err)
		}
		if err := s.RevokeToken(t.Context(), "okta"); err != nil {
			t.Fatal(err)
		}
		clock.advance(tokenTTL - time.Millisecond)
		if name, err := a.tokenName(req); err != nil || name != "okta" {
			t.Fatalf("within the TTL the cached token should still pass: %q %v", name, err)
		}
		clock.advance(time.Millisecond)
		if _, err := a.tokenName(req); err != errUnauthorized {
			t.Fatalf("after the TTL a revoked token must fail: err %v", err)
		}
	})
}

func TestTokenCacheIsBounded(t *testing.T) {
	c := newTokenCache(time.Now)
	for i := range tokenCacheMax * 3 {
		c.put(HashToken(strconv.Itoa(i)), "t")
	}
	if n := len(c.entries); n > tokenCacheMax {
		t.Fatalf("cache holds %d entries, bound is %d", n, tokenCacheMax)
	}
}
