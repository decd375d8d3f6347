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

// BootstrapTokenName is the name under which a TOWNSQUARE_TOKEN request is logged.
const BootstrapTokenName = "env:TOWNSQUARE_TOKEN"

// authenticator checks bearer tokens against the store and an optional bootstrap token.
type authenticator struct {
	store         store.Store
	bootstrapHash []byte // SHA-256 of TOWNSQUARE_TOKEN, nil when unset
	cache         *tokenCache
	metrics       *Metrics // counts failures; nil counts nothing
}

func newAuthenticator(s store.Store, bootstrap string) *authenticator {
	a := &authenticator{store: s, cache: newTokenCache(time.Now)}
	if bootstrap != "" {
		sum := sha256.Sum256([]byte(bootstrap))
		a.bootstrapHash = sum[:]
	}
	return a
}

var errUnauthorized = errors.New("unauthorized")

// tokenName returns the name of the token the request carries, or errUnauthorized.
func (a *authenticator) tokenName(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errUnauthorized
	}
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return "", errUnauthorized
	}
	sum := sha256.Sum256([]byte(secret))
	if a.bootstrapHash != nil && subtle.ConstantTimeCompare(sum[:], a.bootstrapHash) == 1 {
		return BootstrapTokenName, nil
	}
	hash := hex.EncodeToString(sum[:])
	if name, ok := a.cache.get(hash); ok {
		return name, nil
	}
	name, err := a.store.TokenName(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		return "", errUnauthorized
	}
	if err != nil {
		return "", err
	}
	a.cache.put(hash, name)
	return name, nil
}

// require rejects requests without a valid token: 401 with WWW-Authenticate, as RFC
// 6750 asks, and the body writeErr writes (each API answers errors in its own shape).
func (a *authenticator) require(writeErr func(w http.ResponseWriter, status int, detail string)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, err := a.tokenName(r)
			switch {
			case errors.Is(err, errUnauthorized):
				a.metrics.AuthFailure(authFailureReason(r))
				w.Header().Set("WWW-Authenticate", `Bearer realm="townsquare"`)
				writeErr(w, http.StatusUnauthorized, "a valid bearer token is required (Authorization: Bearer <token>)")
				return
			case err != nil && resources.Unavailable(r.Context(), err):
				requestLog(r.Context()).setErr(err)
				setRetryAfter(w)
				writeErr(w, http.StatusServiceUnavailable, "the database is unavailable, so the token cannot be checked; try again later")
				return
			case err != nil:
				requestLog(r.Context()).setErr(err)
				writeErr(w, http.StatusInternalServerError, "internal server error; the server log has the details")
				return
			}
			requestLog(r.Context()).token = name
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, name)))
		})
	}
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
	name, _ := ctx.Value(tokenKey{}).(string)
	return name
}
