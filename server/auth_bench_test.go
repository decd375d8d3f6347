package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
)

// oneTokenStore knows one token, for benchmarks that never reach a database.
type oneTokenStore struct {
	store.Store
	hash string
	tok  store.Token
}

func (s oneTokenStore) LookupToken(_ context.Context, hash string) (store.Token, error) {
	if hash == s.hash {
		return s.tok, nil
	}
	return store.Token{}, store.ErrNotFound
}

// BenchmarkRequire is what the auth middleware adds to every request: the bootstrap
// token, or a stored token from the success cache, with the limiters off or on (at a rate
// no benchmark reaches).
func BenchmarkRequire(b *testing.B) {
	st := oneTokenStore{hash: HashToken("stored-secret"), tok: store.Token{Name: "okta", Scopes: []store.Scope{store.ScopeSCIM}}}
	for _, limits := range []struct {
		name string
		l    Limits
	}{{"limits_off", Limits{}}, {"limits_on", Limits{TokenRate: 1e9, TokenBurst: 1e9, AuthFailRate: 1, AuthFailBurst: 20}}} {
		for _, secret := range []string{"bootstrap-secret", "stored-secret"} {
			b.Run(limits.name+"/"+secret, func(b *testing.B) {
				a := newAuthenticator(st, "bootstrap-secret", limits.l, time.Now)
				h := a.require(needs(store.ScopeSCIM), writeSCIMError)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
				req := bearer(secret)
				w := httptest.NewRecorder()
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(w, req)
				}
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			})
		}
	}
}
