package server

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// Limits are the request limits a server applies to each client. Each pair is a steady
// rate (events per second) and a burst (how many may come at once after a quiet spell);
// a zero rate or burst turns that limit off. The state is per process: replicas each
// limit on their own, and nothing that matters for correctness depends on it.
type Limits struct {
	// TokenRate and TokenBurst limit the requests of each token (by name), on both APIs.
	TokenRate  float64
	TokenBurst int
	// AuthFailRate and AuthFailBurst limit the failed authentications of each client
	// address (an IPv6 client by its /64). Once an address has spent its burst, its
	// requests are answered 429 before any token lookup, except those carrying a token
	// this server already knows to be valid.
	AuthFailRate  float64
	AuthFailBurst int
}

// DefaultLimits are what `townsquare serve` applies unless told otherwise: generous for
// real IdPs (Entra sends about 25 requests a second, Okta bursts of a few hundred), tight
// for a flood of bad tokens.
func DefaultLimits() Limits {
	return Limits{TokenRate: 100, TokenBurst: 500, AuthFailRate: 1, AuthFailBurst: 20}
}

// How many keys each limiter remembers. A deployment has a handful of tokens and IdPs;
// the bounds keep a flood of distinct addresses (or names) from growing memory.
const (
	maxLimitedTokens    = 1_000
	maxLimitedAddresses = 10_000
)

// keyedLimiter is a token-bucket limiter per key (golang.org/x/time/rate), holding at
// most max keys: when it is full, the key idle longest is forgotten, and comes back, if
// it does, with a full burst. A nil *keyedLimiter limits nothing.
type keyedLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu   sync.Mutex
	keys *simplelru.LRU[string, *rate.Limiter]
}

// newKeyedLimiter returns a limiter of perSecond events with burst, or nil (no limit)
// when either is zero or less.
func newKeyedLimiter(perSecond float64, burst, max int, now func() time.Time) *keyedLimiter {
	if perSecond <= 0 || burst <= 0 {
		return nil
	}
	keys, err := simplelru.NewLRU[string, *rate.Limiter](max, nil)
	if err != nil { // only for max <= 0, which no caller passes
		panic(err)
	}
	return &keyedLimiter{limit: rate.Limit(perSecond), burst: burst, now: now, keys: keys}
}

// limiter returns key's bucket, creating it full; the caller holds k.mu.
func (k *keyedLimiter) limiter(key string) *rate.Limiter {
	lim, ok := k.keys.Get(key)
	if !ok {
		lim = rate.NewLimiter(k.limit, k.burst)
		k.keys.Add(key, lim)
	}
	return lim
}

// take spends one event of key's bucket. When the bucket is empty it spends nothing and
// reports how long until it holds one.
func (k *keyedLimiter) take(key string) (retryAfter time.Duration, ok bool) {
	if k == nil {
		return 0, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	r := k.limiter(key).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// takeMore spends n more events of key's bucket, for a request that has already spent
// one (take) and turns out to cost 1+n. When the bucket holds fewer than n it spends
// nothing and reports how long until it holds 1+n: the whole cost of the request sent
// again. n must not exceed the burst, else the wait is never over.
func (k *keyedLimiter) takeMore(key string, n int) (retryAfter time.Duration, ok bool) {
	if k == nil || n <= 0 {
		return 0, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	lim := k.limiter(key)
	tokens := lim.TokensAt(now)
	if tokens >= float64(n) {
		lim.AllowN(now, n)
		return 0, true
	}
	return time.Duration((float64(n+1) - tokens) / float64(k.limit) * float64(time.Second)), false
}

// empty reports, without spending anything, whether key's bucket is empty, and if so
// how long until it holds one event.
func (k *keyedLimiter) empty(key string) (retryAfter time.Duration, empty bool) {
	if k == nil {
		return 0, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	lim, ok := k.keys.Get(key)
	if !ok {
		return 0, false
	}
	tokens := lim.TokensAt(k.now())
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(k.limit) * float64(time.Second)), true
}

// spend spends one event of key's bucket if it has one.
func (k *keyedLimiter) spend(key string) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.limiter(key).AllowN(k.now(), 1)
}

// size is how many keys the limiter remembers.
func (k *keyedLimiter) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys.Len()
}

// clientKey is the address a request is limited by: the peer's IP address, an IPv6 one
// by its /64 (one subscriber's prefix; a host can use any address in it). Behind a reverse
// proxy every client has the proxy's address: X-Forwarded-For is not trusted, as any
// client can send it.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// retryAfterSeconds spells a wait as Retry-After does: whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
