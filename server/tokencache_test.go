package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// fakeClock is a settable clock for the token caches and the limiters.
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

// countingStore counts the token lookups that reach the store.
type countingStore struct {
	store.Store
	lookups atomic.Int64
}

func (c *countingStore) LookupToken(ctx context.Context, hash string) (store.Token, error) {
	c.lookups.Add(1)
	return c.Store.LookupToken(ctx, hash)
}

func bearer(secret string) *http.Request {
	req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	return req
}

// A revoked token keeps working for at most tokenTTL on a server that has seen it, and no
// longer; a secret that failed is refused without a lookup for failedTTL, and a token
// created meanwhile works once that has passed.
func TestTokenCacheRevocationDelay(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		clock := newFakeClock()
		a := newAuthenticator(s, "", Limits{}, clock.now)
		secret, err := NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		req := bearer(secret)

		if _, err := a.authenticate(req); err != errUnauthorized {
			t.Fatalf("unknown token: err %v, want unauthorized", err)
		}
		if err := s.CreateToken(t.Context(), "okta", HashToken(secret), []store.Scope{store.ScopeSCIM}); err != nil {
			t.Fatal(err)
		}
		clock.advance(failedTTL - time.Millisecond)
		if _, err := a.authenticate(req); err != errUnauthorized {
			t.Fatalf("within failedTTL a failed secret is refused from memory: err %v", err)
		}
		clock.advance(time.Millisecond)
		if tok, err := a.authenticate(req); err != nil || tok.Name != "okta" || !tok.Has(store.ScopeSCIM) || tok.Has(store.ScopeAdminRead) {
			t.Fatalf("new token after failedTTL: %+v %v", tok, err)
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

// A bad token sent twice costs one store lookup, not two; a valid one is looked up once
// per tokenTTL; a missing or malformed header costs none.
func TestTokenChecksCostOneLookup(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		cs := &countingStore{Store: s}
		clock := newFakeClock()
		a := newAuthenticator(cs, "", Limits{}, clock.now)
		if err := s.CreateToken(t.Context(), "okta", HashToken("good-secret"), []store.Scope{store.ScopeSCIM}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			header  string
			lookups int64
			ok      bool
		}{
			{"bad token", "Bearer bad-secret", 1, false},
			{"the same bad token again", "Bearer bad-secret", 0, false},
			{"another bad token", "Bearer other-bad-secret", 1, false},
			{"no header", "", 0, false},
			{"not bearer", "Basic dGVzdA==", 0, false},
			{"good token", "Bearer good-secret", 1, true},
			{"good token again", "Bearer good-secret", 0, true},
		} {
			req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			before := cs.lookups.Load()
			_, err := a.authenticate(req)
			if (err == nil) != tc.ok {
				t.Errorf("%s: err %v", tc.name, err)
			}
			if got := cs.lookups.Load() - before; got != tc.lookups {
				t.Errorf("%s: %d store lookups, want %d", tc.name, got, tc.lookups)
			}
		}
		clock.advance(failedTTL)
		before := cs.lookups.Load()
		if _, err := a.authenticate(bearer("bad-secret")); err != errUnauthorized || cs.lookups.Load()-before != 1 {
			t.Fatalf("after failedTTL a bad token is looked up again: %v, %d lookups", err, cs.lookups.Load()-before)
		}
	})
}

func TestTokenCachesAreBounded(t *testing.T) {
	c := newTokenCache(time.Now)
	f := newFailedTokens(time.Now)
	for i := range failedCacheMax * 3 {
		c.put(HashToken(strconv.Itoa(i)), store.Token{Name: "t"})
		f.put(HashToken(strconv.Itoa(i)))
	}
	if n := len(c.entries); n > tokenCacheMax {
		t.Fatalf("cache holds %d entries, bound is %d", n, tokenCacheMax)
	}
	if n := f.hashes.Len(); n != failedCacheMax {
		t.Fatalf("failure cache holds %d entries, bound is %d", n, failedCacheMax)
	}
	// The newest failures are the ones kept.
	if !f.has(HashToken(strconv.Itoa(failedCacheMax*3-1))) || f.has(HashToken("0")) {
		t.Fatal("the failure cache should forget its oldest entries first")
	}
}

// A store that fails is an error, never a 401, and is not remembered as a failure.
func TestTokenLookupErrorIsNotAFailure(t *testing.T) {
	clock := newFakeClock()
	a := newAuthenticator(failingStore{}, "", Limits{AuthFailRate: 1, AuthFailBurst: 1}, clock.now)
	for range 3 {
		if _, err := a.authenticate(bearer("x")); err == nil || errors.Is(err, errUnauthorized) {
			t.Fatalf("err %v, want the store's error", err)
		}
	}
}

type failingStore struct{ store.Store }

func (failingStore) LookupToken(context.Context, string) (store.Token, error) {
	return store.Token{}, errors.New("database is down")
}
