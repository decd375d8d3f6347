package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Token is a named API bearer token. Only a hash of the secret is stored.
type Token struct {
	Name    string
	Created time.Time
	// Scopes are what the token may do, in AllScopes order. A stored token may list a
	// scope this version does not know (written by a newer one); it grants nothing here.
	Scopes []Scope
}

// Has reports whether the token holds scope s.
func (t Token) Has(s Scope) bool { return slices.Contains(t.Scopes, s) }

// Scope is a permission a token holds. Each API names the scope it needs.
type Scope string

// The scopes. An IdP needs only ScopeSCIM; the chat's sign-in layer only ScopeLogin.
const (
	ScopeSCIM       Scope = "scim"        // every endpoint below /scim/v2
	ScopeAdminRead  Scope = "admin:read"  // the GETs of the admin API (/api/v1)
	ScopeAdminWrite Scope = "admin:write" // every other method of the admin API, but the login routes
	// ScopeLogin is on-demand provisioning at sign-in: POST /api/v1/logins and POST
	// /api/v1/accounts/{id}/teams/{team}, and nothing else. Neither admin scope grants
	// those two routes: a sign-in layer's token can make and join accounts only as a
	// person's first sign-in does, and an admin's token cannot pose as a sign-in.
	ScopeLogin Scope = "login"
)

// AllScopes lists every scope, in the order tokens list them.
var AllScopes = []Scope{ScopeSCIM, ScopeAdminRead, ScopeAdminWrite, ScopeLogin}

// ErrInvalidScope is a scope name that is not one of AllScopes, or an empty scope list.
var ErrInvalidScope = errors.New("invalid scope")

// NormalizeScopes checks scopes and returns them without duplicates, in AllScopes order:
// an unknown name, or no scope at all, is an error matching ErrInvalidScope.
func NormalizeScopes(scopes []Scope) ([]Scope, error) {
	if len(scopes) == 0 {
		return nil, fmt.Errorf("%w: a token needs at least one scope (known: %s)", ErrInvalidScope, scopeNames(AllScopes))
	}
	for _, s := range scopes {
		if !slices.Contains(AllScopes, s) {
			return nil, fmt.Errorf("%w %q (known: %s)", ErrInvalidScope, string(s), scopeNames(AllScopes))
		}
	}
	out := make([]Scope, 0, len(scopes))
	for _, s := range AllScopes {
		if slices.Contains(scopes, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// ParseScopes reads a comma-separated list of scope names ("scim,admin:read"), as the
// command line takes it, and normalizes it (NormalizeScopes).
func ParseScopes(list string) ([]Scope, error) {
	var scopes []Scope
	for name := range strings.SplitSeq(list, ",") {
		if name = strings.TrimSpace(name); name != "" {
			scopes = append(scopes, Scope(name))
		}
	}
	return NormalizeScopes(scopes)
}

// ScopeList spells scopes as ParseScopes reads them: "scim,admin:read".
func ScopeList(scopes []Scope) string { return scopeNames(scopes) }

func scopeNames(scopes []Scope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ",")
}

// MaxTokenNameLength is the longest token name: names are typed by admins and written
// into every access-log line of the token's requests.
const MaxTokenNameLength = 64

// reservedTokenPrefix starts the names of tokens that are not stored (the server's
// TOWNSQUARE_TOKEN logs as "env:TOWNSQUARE_TOKEN"), so that a stored one is never
// mistaken for one in the log.
const reservedTokenPrefix = "env:"

// actorNames are the journal's actors that are not tokens (context.go): a token of one
// of these names would make its changes indistinguishable from theirs in the journal.
var actorNames = []string{ActorSystem, ActorCLI, ActorConfig, ActorImport, ActorMattermost}

// CheckTokenName reports whether name can name a stored token: 1 to MaxTokenNameLength
// ASCII letters, digits and "._-:@", not starting with "env:", and none of the journal's
// other actors ("system", "cli", "config", "import", "mattermost", in any case). A name
// that cannot is an InvalidError (matching ErrInvalid).
func CheckTokenName(name string) error {
	if name == "" {
		return &InvalidError{"token name", "is required"}
	}
	if len(name) > MaxTokenNameLength {
		return &InvalidError{"token name", fmt.Sprintf("is longer than %d characters", MaxTokenNameLength)}
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-:@", c) >= 0) {
			return &InvalidError{"token name", `may hold only letters, digits and "._-:@"`}
		}
	}
	if strings.HasPrefix(strings.ToLower(name), reservedTokenPrefix) {
		return &InvalidError{"token name", fmt.Sprintf("may not start with %q, which names tokens that are not stored", reservedTokenPrefix)}
	}
	for _, a := range actorNames {
		if strings.EqualFold(name, a) {
			return &InvalidError{"token name", fmt.Sprintf("may not be %q, which the change journal uses for changes no token made", a)}
		}
	}
	return nil
}
