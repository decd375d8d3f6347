package limits

import (
	"strings"
	"testing"
	"time"

	fp "github.com/scim2/filter-parser/v2"
)

// ors is n comparisons joined by or: 2n-1 terms.
func ors(n int) string { return `id eq "x"` + strings.Repeat(` or id eq "x"`, n-1) }

// nested is f inside n parentheses.
func nested(n int, f string) string { return strings.Repeat("(", n) + f + strings.Repeat(")", n) }

func TestCheckFilterEdges(t *testing.T) {
	long := func(n int) string { // a valid filter of exactly n bytes
		f := `userName eq ""`
		return f[:len(f)-1] + strings.Repeat("a", n-len(f)) + `"`
	}
	for _, c := range []struct {
		name   string
		filter string
		err    string // "" when it passes
	}{
		{"simple", `userName eq "a"`, ""},
		{"length at the limit", long(MaxFilterLength), ""},
		{"length one over", long(MaxFilterLength + 1), "longer than 8192 bytes"},
		{"depth at the limit", nested(MaxFilterDepth, `a pr`), ""},
		{"depth one over", nested(MaxFilterDepth+1, `a pr`), "nested more than 10 levels"},
		{"depth with not and a value path", nested(MaxFilterDepth-2, `not (emails[type eq "work"])`), ""},
		{"depth with not and a value path, one over", nested(MaxFilterDepth-1, `not (emails[type eq "work"])`), "nested more than 10 levels"},
		{"100,000 levels", nested(100000, `a pr`), "longer than"},
		{"2,000 levels", nested(2000, `a pr`), "nested more than"},
		{"terms at the limit", `not (` + ors(MaxFilterTerms/2) + `)`, ""},
		{"terms one over", ors(MaxFilterTerms/2 + 1), "more than 100 terms"},
		{"terms in any case", strings.ReplaceAll(ors(MaxFilterTerms/2+1), " or ", " OR "), "more than 100 terms"},
		{"terms without spaces", strings.Repeat(`(a pr)or`, 51) + `(a pr)`, "more than 100 terms"},
		{"value paths count", strings.Repeat(`emails[value pr] or `, 33) + `emails[value pr]`, "more than 100 terms"},
		{"parentheses in strings do not count", `a eq "` + strings.Repeat("(", 100) + `"`, ""},
		{"keywords in strings do not count", `a eq "` + strings.Repeat(" and ", 200) + `"`, ""},
		{"escaped quotes stay in the string", `a eq "\"` + strings.Repeat("(", 100) + `\""`, ""},
		{"an unterminated string ends the text", `a eq "` + strings.Repeat("(", 100), ""},
		{"stray closing parentheses", strings.Repeat(")", 100) + nested(MaxFilterDepth+1, "a pr"), "nested more than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckFilter(c.filter)
			switch {
			case c.err == "" && err != nil:
				t.Errorf("CheckFilter: %v, want nil", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("CheckFilter: %v, want an error saying %q", err, c.err)
			}
		})
	}
}

// TestCheckFilterIsCheap: the worst texts the limits let through, and a 200 KB one they
// do not, are checked and parsed in far less than the second 20,000 levels of nesting
// used to cost.
func TestCheckFilterIsCheap(t *testing.T) {
	for _, f := range []string{
		nested(MaxFilterDepth, `not (`+ors(MaxFilterTerms/2-2)+`)`),
		strings.Repeat("(", MaxFilterLength),
		nested(100000, "a pr"),
		`a eq "` + strings.Repeat(`\"`, MaxFilterLength/2-4) + `"`,
	} {
		start := time.Now()
		if CheckFilter(f) == nil {
			_, _ = fp.ParseFilter([]byte(f))
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("%d bytes: %v", len(f), d)
		}
	}
}

// nodes counts what the store's filter compiler counts: comparisons, and/or, not and
// value paths.
func nodes(e fp.Expression) int {
	switch x := e.(type) {
	case *fp.AttributeExpression:
		return 1
	case *fp.LogicalExpression:
		return 1 + nodes(x.Left) + nodes(x.Right)
	case *fp.NotExpression:
		return 1 + nodes(x.Expression)
	case *fp.ValuePath:
		return 1 + nodes(x.ValueFilter)
	}
	return 0
}

// TestTermsMatchTheParser: for filters the parser accepts, the scan counts exactly the
// terms of the parsed filter (no attribute here is named like a keyword).
func TestTermsMatchTheParser(t *testing.T) {
	for _, f := range []string{
		`userName eq "a"`,
		`userName Eq "a(b) and c"`,
		`not (a pr)`,
		`not(a pr)`,
		`(a pr or b pr) and not (c eq 1)`,
		`emails[type eq "work" and value co "@x"]`,
		`emails[type eq "work"] or emails[not (value pr)]`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
		`meta.lastModified gt "2011-05-13T04:42:34Z" and meta.version ne "W/\"1\""`,
		`a eq 1.5e+10 and b le -3 and c ne null and d eq true`,
		`$ref pr`,
		ors(50),
	} {
		e, err := fp.ParseFilter([]byte(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, terms := measure(f); terms != nodes(e) {
			t.Errorf("%s: scan counts %d terms, the parser %d", f, terms, nodes(e))
		}
	}
}

// FuzzCheckFilter: whatever the parser accepts, the scan counts at least the terms it
// finds, so no filter within the bounds parses to a larger one.
func FuzzCheckFilter(f *testing.F) {
	for _, s := range []string{`userName eq "a"`, `not (a pr)`, `emails[type eq "w"]`, `(a pr) or (b eq "\"(")`,
		`a eq 1and b pr`, nested(3, ors(3))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		depth, terms := measure(s)
		if depth > 4*MaxFilterDepth {
			return // the parser is not asked about what the bounds refuse
		}
		e, err := fp.ParseFilter([]byte(s))
		if err != nil {
			return
		}
		if n := nodes(e); terms < n {
			t.Fatalf("%q: scan counts %d terms, the parser %d", s, terms, n)
		}
	})
}
