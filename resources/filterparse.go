package resources

import (
	"strings"
	"unicode/utf8"

	fp "github.com/scim2/filter-parser/v2"
)

// parseFilter parses a SCIM filter that limits.CheckFilter has bounded (quoting bare
// values adds no parenthesis, bracket or keyword, so the retry stays bounded too). The
// one shape every IdP sends on every lookup,
// `attr eq "value"` (Okta's userName, Entra's userName, externalId and displayName), is
// recognised directly, without the general PEG parser, which is costly for it. Any
// other filter goes to the parser; one that fails there is retried with a value path's
// trailing sub-attribute merged into it (mergeValuePathSubAttr), then with bare
// comparison values quoted too (quoteBareValues).
func parseFilter(raw string) (fp.Expression, error) {
	if e, ok := parseSimpleEq(raw); ok {
		return e, nil
	}
	expr, err := fp.ParseFilter([]byte(raw))
	if err == nil {
		return expr, nil
	}
	// The leniencies, each tried on what the one before made.
	fixed := raw
	for _, fix := range []func(string) (string, bool){mergeValuePathSubAttr, quoteBareValues} {
		if f, ok := fix(fixed); ok {
			fixed = f
			if e, err2 := fp.ParseFilter([]byte(fixed)); err2 == nil {
				return e, nil
			}
		}
	}
	return nil, err
}

// parseSimpleEq recognises `name eq "value"` or `name.sub eq "value"`, where name is a
// plain attribute name and value has no escapes, and builds exactly the expression the
// parser would. Anything else is left to the parser (ok false).
func parseSimpleEq(raw string) (fp.Expression, bool) {
	path, rest, ok := strings.Cut(raw, " ")
	if !ok || len(rest) < 5 || !strings.EqualFold(rest[:3], "eq ") {
		return nil, false
	}
	lit := rest[3:]
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return nil, false
	}
	value := lit[1 : len(lit)-1]
	if strings.ContainsAny(value, "\"\\") || !utf8.ValidString(value) || strings.ContainsFunc(value, func(r rune) bool { return r < 0x20 }) {
		return nil, false
	}
	name, sub, hasSub := strings.Cut(path, ".")
	if !attrName(name) || (hasSub && !attrName(sub)) {
		return nil, false
	}
	ap := fp.AttributePath{AttributeName: name}
	if hasSub {
		ap.SubAttribute = &sub
	}
	return &fp.AttributeExpression{AttributePath: ap, Operator: fp.EQ, CompareValue: value}, true
}

// attrName reports whether s is an RFC 7643 ATTRNAME: ALPHA *(nameChar).
func attrName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		alpha := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !alpha && (i == 0 || !(r >= '0' && r <= '9' || r == '-' || r == '_')) {
			return false
		}
	}
	return true
}
