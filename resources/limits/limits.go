// Package limits holds the limits of a SCIM request's shape: what one request may ask,
// beside what may be stored (store/limits.go). Each is a documented constant, and a
// request beyond one is a 400 naming the limit. It is a package of its own, below
// resources and resources/patch, because both read filters: a list request's filter, and
// the value filter of a PATCH path.
//
// The body (server.DefaultMaxBodyBytes) and the request line and headers
// (server.MaxHeaderBytes) are bounded by the server before a handler runs.
package limits

import (
	"fmt"

	"github.com/townsquare/townsquare/store"
)

const (
	// MaxFilterLength bounds a filter (or a PATCH path) in bytes. An IdP's lookup is
	// under 300 bytes; 8 KiB holds MaxFilterTerms comparisons of ids, or one comparison
	// with a value as long as the longest stored string, and keeps a LIKE pattern far
	// below SQLite's 50,000-byte limit.
	MaxFilterLength = 8 << 10
	// MaxFilterDepth bounds the nesting of a filter: parentheses (a "not" has its own)
	// and value paths (emails[...]) each open a level. Real filters nest two or three;
	// the parser recurses per level, and 100,000 levels used to overflow Go's stack and
	// kill the process.
	MaxFilterDepth = 10
	// MaxFilterTerms bounds the terms of a filter: comparisons, and/or, not and value
	// paths each count one. It is the store's bound (store.MaxFilterTerms), checked on
	// the text here so that a larger filter is never parsed.
	MaxFilterTerms = store.MaxFilterTerms

	// MaxPatchOperations bounds the operations of one PATCH request. Okta sends up to
	// 1,000 membership changes in one request, as that many "remove members[value eq
	// …]" operations beside its adds and a rename; twice that leaves a margin.
	MaxPatchOperations = 2000
	// MaxPatchMemberIDs bounds the member ids one PATCH of a group names, over all its
	// operations: ten times Okta's 1,000. A group's whole member list is replaced with
	// PUT, which the body limit bounds.
	MaxPatchMemberIDs = 10000
)

// CheckFilter bounds the text of a filter, or of a PATCH path, before any parser sees
// it: at most MaxFilterLength bytes, MaxFilterDepth levels of nesting and MaxFilterTerms
// terms. It reads the text once, skipping string literals, and counts each term by its
// keyword (the comparison operators, and, or, not) or its "[", so for every filter the
// parser accepts it counts what the store's compiler counts; a keyword used as an
// attribute name counts too, which only makes the bound stricter. The error says which
// limit was passed.
func CheckFilter(s string) error {
	if len(s) > MaxFilterLength {
		return fmt.Errorf("longer than %d bytes", MaxFilterLength)
	}
	depth, terms := measure(s)
	if depth > MaxFilterDepth {
		return fmt.Errorf("nested more than %d levels deep", MaxFilterDepth)
	}
	if terms > MaxFilterTerms {
		return fmt.Errorf("more than %d terms", MaxFilterTerms)
	}
	return nil
}

// measure returns the deepest nesting of s and its number of terms, outside string
// literals.
func measure(s string) (maxDepth, terms int) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			// A string literal, escapes included: i stops on its closing quote.
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case c == '(' || c == '[':
			depth++
			maxDepth = max(maxDepth, depth)
			if c == '[' {
				terms++
			}
		case c == ')' || c == ']':
			depth = max(depth-1, 0)
		case wordByte(c):
			j := i + 1
			for j < len(s) && wordByte(s[j]) {
				j++
			}
			if keyword(s[i:j]) {
				terms++
			}
			i = j - 1
		}
	}
	return maxDepth, terms
}

// wordByte reports the bytes of an attribute path, a keyword or a bare value.
func wordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == ':' || c == '$' || c == '-' || c == '_' || c == '+'
}

// keyword reports the words that make a term: RFC 7644's comparison operators and the
// logical ones, in any case.
func keyword(w string) bool {
	if len(w) < 2 || len(w) > 3 {
		return false
	}
	var b [3]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:len(w)]) {
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not":
		return true
	}
	return false
}
