package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxUsernameTries bounds the collision search in Username.
const maxUsernameTries = 10000

// ErrNoFreeUsername is returned (wrapped) by Username when every candidate is taken.
var ErrNoFreeUsername = errors.New("no free username")

// Username derives the chat username for a SCIM userName, in the spirit of
// model.CleanUsername (which the Mattermost SSO paths use) but to the stricter webapp rule
// checked by ValidUsername, and deterministically (CleanUsername falls back to a random id):
//
//  1. Take the part before the first "@" ("Jane.Doe@example.com" → "Jane.Doe").
//  2. Lower-case, spell accented Latin letters in ASCII, drop other non-ASCII letters, turn
//     each run of characters outside [a-z0-9._-] into one '-', and trim '-', '.' and '_'
//     from both ends. Nothing left → "user".
//  3. Not starting with a letter → prefix "u" ("007" → "u007").
//  4. Cut to 22 characters, trimming a trailing '-', '.' or '_'.
//  5. Shorter than 3 ("jo") → append "-user" ("jo-user"); a reserved name (all, channel,
//     matterbot, system) → append "-user" ("system-user"). "-user" keeps the original
//     visible, where padding with digits would look like a collision suffix.
//
// A userName that is already a valid username comes back unchanged when it is free.
//
// taken reports whether a candidate is already in use, by another account or as a group
// name (Mattermost refuses a username equal to a group name: isUniqueToGroupNames). A nil
// taken means nothing is taken. Collisions get a numeric suffix: base, base2, base3, …,
// cutting the base so the total stays within 22 characters. After 10000 candidates, or
// when taken fails, Username returns an error.
func Username(userName string, taken func(string) (bool, error)) (string, error) {
	base := usernameBase(userName)
	cand := base
	for n := 1; n <= maxUsernameTries; n++ {
		if n > 1 {
			// The suffix is a digit, so cutting the base can never leave an invalid end.
			sfx := strconv.Itoa(n)
			cand = base[:min(len(base), usernameMaxLength-len(sfx))] + sfx
		}
		if taken == nil {
			return cand, nil
		}
		used, err := taken(cand)
		if err != nil {
			return "", fmt.Errorf("rules: checking whether username %q is taken: %w", cand, err)
		}
		if !used {
			return cand, nil
		}
	}
	return "", fmt.Errorf("rules: username for %q: %q and %d numbered variants up to %q are all taken: %w",
		userName, base, maxUsernameTries-1, cand, ErrNoFreeUsername)
}

// usernameBase is steps 1–5 of Username. Its result is always ValidUsername.
func usernameBase(userName string) string {
	if i := strings.IndexByte(userName, '@'); i > 0 {
		userName = userName[:i]
	}
	name := slug(userName, "._")
	if name == "" {
		return "user"
	}
	if name[0] < 'a' || name[0] > 'z' {
		name = "u" + name
	}
	name = cut(name, usernameMaxLength, "-._")
	if len(name) < usernameMinLength || reservedUsernames[name] {
		name += "-user"
	}
	return name
}
