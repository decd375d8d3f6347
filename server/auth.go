package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
)

// NewTokenSecret returns a fresh random bearer token secret (256 bits).
func NewTokenSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token secret: %w", err)
	}
	return "ts_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is how a token secret is stored: hex SHA-256. Secrets are 256 random bits,
// so a fast hash is enough; what matters is that the database never holds a usable secret.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// BootstrapTokenName is the name under which a TOWNSQUARE_TOKEN request is logged and
// rate-limited. The bootstrap token has every scope.
const BootstrapTokenName = "env:TOWNSQUARE_TOKEN"

// authenticator checks bearer tokens against the store and an optional bootstrap token,
// and applies the per-token and per-address limits.
type authenticator struct {
	store         store.Store
	bootstrapHash []byte        // SHA-256 of TOWNSQUARE_TOKEN, nil when unset
	cache         *tokenCache   // tokens checked within tokenTTL
	failed        *failedTokens // secrets that matched no token within failedTTL
	perToken      *keyedLimiter // requests by token name; nil: no limit
	failures      *keyedLimiter // failed authentications by client address; nil: no limit
	limits        Limits
	metrics       *Metrics // counts failures and rejections; nil counts nothing
}

func newAuthenticator(s store.Store, bootstrap string, limits Limits, now func() time.Time) *authenticator {
	a := &authenticator{store: s, cache: newTokenCache(now), failed: newFailedTokens(now), limits: limits,
		perToken: newKeyedLimiter(limits.TokenRate, limits.TokenBurst, maxLimitedTokens, now),
		failures: newKeyedLimiter(limits.AuthFailRate, limits.AuthFailBurst, maxLimitedAddresses, now)}
	if bootstrap != "" {
		sum := sha256.Sum256([]byte(bootstrap))
		a.bootstrapHash = sum[:]
	}
	return a
}

var errUnauthorized = errors.New("unauthorized")

// throttledError is a client address that has spent its failed-authentication burst.
type throttledError struct{ retryAfter time.Duration }

func (e *throttledError) Error() string { return "too many failed authentications" }

// authenticate returns the token the request carries; errUnauthorized when it carries
// none that is valid; a *throttledError when its address has failed too often lately and
// the token is not one this server already knows to be valid. A known-bad secret (within
// failedTTL) and a throttled address cost no database query.
func (a *authenticator) authenticate(r *http.Request) (store.Token, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(strings.TrimSpace(h), " ")
	secret = strings.TrimSpace(secret)
	ok = ok && strings.EqualFold(scheme, "Bearer") && secret != ""
	var hash string
	if ok {
		sum := sha256.Sum256([]byte(secret))
		if a.bootstrapHash != nil && subtle.ConstantTimeCompare(sum[:], a.bootstrapHash) == 1 {
			return store.Token{Name: BootstrapTokenName, Scopes: store.AllScopes}, nil
		}
		hash = hex.EncodeToString(sum[:])
		if tok, ok := a.cache.get(hash); ok {
			return tok, nil
		}
	}
	addr := clientKey(r)
	if wait, empty := a.failures.empty(addr); empty {
		return store.Token{}, &throttledError{retryAfter: wait}
	}
	if !ok || a.failed.has(hash) {
		a.failures.spend(addr)
		return store.Token{}, errUnauthorized
	}
	tok, err := a.store.LookupToken(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		a.failed.put(hash)
		a.failures.spend(addr)
		return store.Token{}, errUnauthorized
	}
	if err != nil {
		return store.Token{}, err
	}
	a.cache.put(hash, tok)
	return tok, nil
}

// errorWriter answers an error in one API's own shape (SCIM errors below /scim/v2,
// {"error": …} below /api/v1).
type errorWriter func(w http.ResponseWriter, status int, detail string)

// scopeFor names the scope a request needs.
type scopeFor func(r *http.Request) store.Scope

// needs is a scopeFor that asks scope of every request.
func needs(scope store.Scope) scopeFor { return func(*http.Request) store.Scope { return scope } }

// require admits a request only with a valid token that holds the scope need names and is
// within its rate limit. Otherwise it answers, with writeErr: 401 with WWW-Authenticate (as
// RFC 6750 asks) without a valid token; 429 with Retry-After when the client address has
// failed authentication too often, or the token is over its rate; 403 naming the scope
// when the token lacks it. A rejected request's body is never read: the connection is
// closed at once instead, so a client trickling a body it may not send holds nothing.
func (a *authenticator) require(need scopeFor, writeErr errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := a.authenticate(r)
			if err != nil {
				a.refuse(w, r, err, writeErr)
				return
			}
			requestLog(r.Context()).token = tok.Name
			if wait, ok := a.perToken.take(tok.Name); !ok {
				a.metrics.RateLimited("token")
				reject(w, r)
				w.Header().Set("Retry-After", retryAfterSeconds(wait))
				writeErr(w, http.StatusTooManyRequests, fmt.Sprintf(
					"token %q is over its rate limit (%g requests a second, %d at once); retry after %s seconds",
					tok.Name, a.limits.TokenRate, a.limits.TokenBurst, retryAfterSeconds(wait)))
				return
			}
			if scope := need(r); !tok.Has(scope) {
				a.metrics.AuthFailure("forbidden")
				reject(w, r)
				writeErr(w, http.StatusForbidden, fmt.Sprintf("token %q lacks the scope %q, which this request needs (it has: %s)",
					tok.Name, scope, store.ScopeList(tok.Scopes)))
				return
			}
			// The token's name is the actor of every change the request makes (the journal).
			next.ServeHTTP(w, r.WithContext(store.WithActor(context.WithValue(r.Context(), tokenKey{}, tok), tok.Name)))
		})
	}
}

// chargeBulk is resources.ChargeFunc on the per-token limiter: a bulk request of n
// operations costs n requests of its token's rate. require has already taken one for the
// request itself, so this takes the other n-1, or answers how long until the whole n
// can be had; a refused request keeps the one it spent (its body was read). n is at
// most the burst (Handler makes it bulk.maxOperations), so the wait always ends.
func (a *authenticator) chargeBulk(ctx context.Context, n int) (time.Duration, bool) {
	wait, ok := a.perToken.takeMore(TokenName(ctx), n-1)
	if !ok {
		a.metrics.RateLimited("token")
	}
	return wait, ok
}

// refuse answers a request whose authentication failed: 429 for a throttled address, 401
// for no valid token, 503 when the store cannot answer now, 500 for anything else (logged).
func (a *authenticator) refuse(w http.ResponseWriter, r *http.Request, err error, writeErr errorWriter) {
	var throttled *throttledError
	switch {
	case errors.As(err, &throttled):
		a.metrics.RateLimited("client")
		reject(w, r)
		w.Header().Set("Retry-After", retryAfterSeconds(throttled.retryAfter))
		writeErr(w, http.StatusTooManyRequests, fmt.Sprintf(
			"too many failed authentications from this address (limit: %g a second, %d at once); retry after %s seconds",
			a.limits.AuthFailRate, a.limits.AuthFailBurst, retryAfterSeconds(throttled.retryAfter)))
	case errors.Is(err, errUnauthorized):
		a.metrics.AuthFailure(authFailureReason(r))
		reject(w, r)
		w.Header().Set("WWW-Authenticate", `Bearer realm="townsquare"`)
		writeErr(w, http.StatusUnauthorized, "a valid bearer token is required (Authorization: Bearer <token>)")
	case resources.Unavailable(r.Context(), err):
		requestLog(r.Context()).setErr(err)
		setRetryAfter(w)
		writeErr(w, http.StatusServiceUnavailable, "the database is unavailable, so the token cannot be checked; try again later")
	default:
		requestLog(r.Context()).setErr(err)
		writeErr(w, http.StatusInternalServerError, "internal server error; the server log has the details")
	}
}

// reject prepares the answer to a request that is refused before its body is read: the
// body will not be read, so the connection closes after the answer rather than waiting
// for (or draining) whatever the client still sends.
func reject(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// authFailureReason is the metrics' reason for a refused request: "missing" without a
// bearer token, "invalid" with one that names no token.
func authFailureReason(r *http.Request) string {
	scheme, secret, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return "missing"
	}
	return "invalid"
}

type tokenKey struct{}

// TokenName returns the name of the token that authenticated the request, if any.
func TokenName(ctx context.Context) string {
	tok, _ := ctx.Value(tokenKey{}).(store.Token)
	return tok.Name
}
