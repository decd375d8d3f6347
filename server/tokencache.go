package server

import (
	"sync"
	"time"

	"github.com/townsquare/townsquare/store"
)

// tokenTTL is how long a server trusts a stored token it has already checked, with its
// scopes. Every SCIM request carries a bearer token, and looking it up every time is a
// database round trip per request. Replicas share nothing but the database, so a
// revocation cannot be pushed to them: the cache expires instead, and a revoked token (or
// a changed scope) takes effect on every replica within tokenTTL. Only successes are
// cached, so a token created a moment ago works at once.
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
