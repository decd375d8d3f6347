package server

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/townsquare/townsquare/store"
)

// tokenTTL is how long a server trusts a stored token it has already checked, with its
// scopes. Every SCIM request carries a bearer token, and looking it up every time is a
// database round trip per request. Replicas share nothing but the database, so a
// revocation cannot be pushed to them: the cache expires instead, and a revoked token (or
// a changed scope) takes effect on every replica within tokenTTL.
const tokenTTL = 5 * time.Second

// tokenCacheMax bounds the cache: a deployment has a handful of tokens, and the bound keeps
// a flood of distinct valid tokens from growing memory.
const tokenCacheMax = 1024

// tokenCache maps a secret's hash to its token until the entry expires.
type tokenCache struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]tokenEntry
}

type tokenEntry struct {
	token   store.Token
	expires time.Time
}

func newTokenCache(now func() time.Time) *tokenCache {
	return &tokenCache{now: now, entries: make(map[string]tokenEntry)}
}

// get returns the cached token for hash, if present and not expired.
func (c *tokenCache) get(hash string) (store.Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok {
		return store.Token{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, hash)
		return store.Token{}, false
	}
	return e.token, true
}

// put remembers hash → token for tokenTTL.
func (c *tokenCache) put(hash string, tok store.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= tokenCacheMax {
		// Dropping everything is crude but bounded and rare: the next requests re-check
		// their tokens against the database.
		clear(c.entries)
	}
	c.entries[hash] = tokenEntry{token: tok, expires: c.now().Add(tokenTTL)}
}

// failedTTL is how long a server remembers that a secret is no token, so that a client
// repeating a bad token costs no database query per request. It is short because a
// token created meanwhile is refused until it passes.
const failedTTL = 3 * time.Second

// failedCacheMax bounds the failures remembered; when full, the oldest is forgotten. A
// flood of distinct bad secrets is what the per-address limit (Limits.AuthFailRate) stops.
const failedCacheMax = 10_000

// failedTokens remembers the hashes of secrets that matched no token, for failedTTL.
type failedTokens struct {
	mu     sync.Mutex
	now    func() time.Time
	hashes *simplelru.LRU[string, time.Time] // hash → when the entry expires
}

func newFailedTokens(now func() time.Time) *failedTokens {
	hashes, err := simplelru.NewLRU[string, time.Time](failedCacheMax, nil)
	if err != nil { // only for a size <= 0
		panic(err)
	}
	return &failedTokens{now: now, hashes: hashes}
}

// has reports whether hash failed within failedTTL.
func (f *failedTokens) has(hash string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	expires, ok := f.hashes.Peek(hash)
	if ok && !f.now().Before(expires) {
		f.hashes.Remove(hash)
		return false
	}
	return ok
}

// put remembers that hash matched no token.
func (f *failedTokens) put(hash string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hashes.Add(hash, f.now().Add(failedTTL))
}
