package server

import (
	"sync"
	"time"
)

// tokenTTL is how long a server trusts a stored token it has already checked. Every SCIM
// request carries a bearer token, and looking it up every time is a database round trip
// per request. Replicas share nothing but the database, so a revocation cannot
// be pushed to them: the cache expires instead, and a revoked token stops working on every
// replica within tokenTTL. Only successes are cached, so a token created a moment ago works
// at once.
const tokenTTL = 5 * time.Second

// tokenCacheMax bounds the cache: a deployment has a handful of tokens, and the bound keeps
// a flood of distinct valid tokens from growing memory.
const tokenCacheMax = 1024

// tokenCache maps a secret's hash to its token name until the entry expires.
type tokenCache struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]tokenEntry
}

type tokenEntry struct {
	name    string
	expires time.Time
}

func newTokenCache(now func() time.Time) *tokenCache {
	return &tokenCache{now: now, entries: make(map[string]tokenEntry)}
}

// get returns the cached name for hash, if present and not expired.
func (c *tokenCache) get(hash string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok {
		return "", false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, hash)
		return "", false
	}
	return e.name, true
}

// put remembers hash → name for tokenTTL.
func (c *tokenCache) put(hash, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= tokenCacheMax {
		// Dropping everything is crude but bounded and rare: the next requests re-check
		// their tokens against the database.
		clear(c.entries)
	}
	c.entries[hash] = tokenEntry{name: name, expires: c.now().Add(tokenTTL)}
}
