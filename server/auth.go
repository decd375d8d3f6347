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

// BootstrapTokenName is the name under which a TOWNSQUARE_TOKEN request is logged. The
// bootstrap token has every scope.
const BootstrapTokenName = "env:TOWNSQUARE_TOKEN"

// authenticator checks bearer tokens against the store and an optional bootstrap token.
type authenticator struct {
	store         store.Store
	bootstrapHash []byte // SHA-256 of TOWNSQUARE_TOKEN, nil when unset
	cache         *tokenCache
}

func newAuthenticator(s store.Store, bootstrap string, now func() time.Time) *authenticator {
	a := &authenticator{store: s, cache: newTokenCache(now)}
	if bootstrap != "" {
		sum := sha256.Sum256([]byte(bootstrap))
		a.bootstrapHash = sum[:]
	}
	return a
}

var errUnauthorized = errors.New("unauthorized")

// authenticate returns the token the request carries (with its scopes), or
// errUnauthorized.
func (a *authenticator) authenticate(r *http.Request) (store.Token, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return store.Token{}, errUnauthorized
	}
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return store.Token{}, errUnauthorized
	}
	sum := sha256.Sum256([]byte(secret))
	if a.bootstrapHash != nil && subtle.ConstantTimeCompare(sum[:], a.bootstrapHash) == 1 {
		return store.Token{Name: BootstrapTokenName, Scopes: store.AllScopes}, nil
	}
	hash := hex.EncodeToString(sum[:])
	if tok, ok := a.cache.get(hash); ok {
		return tok, nil
	}
	tok, err := a.store.LookupToken(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
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

// require admits a request only with a valid token that holds the scope need names.
// Otherwise it answers, with writeErr: 401 with WWW-Authenticate (as RFC 6750 asks)
// without a valid token; 403 naming the scope when the token lacks it.
func (a *authenticator) require(need scopeFor, writeErr errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := a.authenticate(r)
			switch {
			case errors.Is(err, errUnauthorized):
				w.Header().Set("WWW-Authenticate", `Bearer realm="townsquare"`)
				writeErr(w, http.StatusUnauthorized, "a valid bearer token is required (Authorization: Bearer <token>)")
				return
			case err != nil:
				requestLog(r.Context()).setErr(err)
				writeErr(w, http.StatusInternalServerError, "internal server error; the server log has the details")
				return
			}
			requestLog(r.Context()).token = tok.Name
			if scope := need(r); !tok.Has(scope) {
				writeErr(w, http.StatusForbidden, fmt.Sprintf("token %q lacks the scope %q, which this request needs (it has: %s)",
					tok.Name, scope, store.ScopeList(tok.Scopes)))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
		})
	}
}

type tokenKey struct{}

// TokenName returns the name of the token that authenticated the request, if any.
func TokenName(ctx context.Context) string {
	tok, _ := ctx.Value(tokenKey{}).(store.Token)
	return tok.Name
}
