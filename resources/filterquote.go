package resources

import (
	"strings"
)

// compareOps are the RFC 7644 comparison operators that take a value.
var compareOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true,
	"gt": true, "ge": true, "lt": true, "le": true}

// quoteBareValues quotes comparison values written without quotes, such as
// `userName sw O` or `externalId eq jyoung` (Entra's own documentation and Microsoft's
// reference tests write them so), leaving quoted strings, true, false, null and numbers
// alone. It is used only when the filter does not parse as written, so a valid filter
// never changes meaning. ok is false when nothing was quoted.
func quoteBareValues(filter string) (out string, ok bool) {
	var b strings.Builder
	prevWord := ""
	i := 0
	for i < len(filter) {
		c := filter[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(filter) && filter[j] != '"' {
				if filter[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(filter))
			b.WriteString(filter[i:j])
			i, prevWord = j, ""
		case c == ' ' || c == '\t' || c == '(' || c == ')' || c == '[' || c == ']':
			b.WriteByte(c)
			i++
		default:
			j := i
			for j < len(filter) && !strings.ContainsRune(" \t()[]\"", rune(filter[j])) {
				j++
			}
			word := filter[i:j]
			if compareOps[strings.ToLower(prevWord)] && !isLiteral(word) {
				b.WriteString(`"` + strings.ReplaceAll(strings.ReplaceAll(word, `\`, `\\`), `"`, `\"`) + `"`)
				ok = true
			} else {
				b.WriteString(word)
			}
			i, prevWord = j, word
		}
	}
	return b.String(), ok
}

func isLiteral(w string) bool {
	switch strings.ToLower(w) {
	case "true", "false", "null":
		return true
	}
	if w == "" {
		return false
	}
	for i, r := range w {
		if !(r >= '0' && r <= '9' || r == '.' || (i == 0 && r == '-') || r == 'e' || r == 'E' || r == '+') {
			return false
		}
	}
	return w[0] == '-' || (w[0] >= '0' && w[0] <= '9')
}

// mergeValuePathSubAttr rewrites `attr[filter].sub op value` (and `attr[filter].sub pr`)
// as `attr[filter and sub op value]`, which RFC 7644's grammar can parse and which means
// the same: one element of attr matching both. Entra writes its matching attribute so
// (`emails[type eq "work"].value eq "…"`). Quoted strings are skipped whole. Like
// quoteBareValues it runs only on a filter that does not parse as written; ok is false
// when nothing was rewritten.
func mergeValuePathSubAttr(filter string) (out string, ok bool) {
	var b strings.Builder
	i := 0
	for i < len(filter) {
		c := filter[i]
		if c == '"' {
			j := quotedEnd(filter, i)
			b.WriteString(filter[i:j])
			i = j
			continue
		}
		if c != ']' || i+1 >= len(filter) || filter[i+1] != '.' {
			b.WriteByte(c)
			i++
			continue
		}
		// ].sub op [value]
		j := i + 2
		subStart := j
		for j < len(filter) && !strings.ContainsRune(" \t()[]\"", rune(filter[j])) {
			j++
		}
		sub := filter[subStart:j]
		k := skipSpace(filter, j)
		opStart := k
		for k < len(filter) && !strings.ContainsRune(" \t()[]\"", rune(filter[k])) {
			k++
		}
		op := strings.ToLower(filter[opStart:k])
		if !attrName(sub) || (op != "pr" && !compareOps[op]) {
			b.WriteByte(c)
			i++
			continue
		}
		end := k
		if op != "pr" {
			v := skipSpace(filter, k)
			if v == k || v >= len(filter) {
				b.WriteByte(c)
				i++
				continue
			}
			if filter[v] == '"' {
				end = quotedEnd(filter, v)
			} else {
				end = v
				for end < len(filter) && !strings.ContainsRune(" \t()[]\"", rune(filter[end])) {
					end++
				}
			}
		}
		b.WriteString(" and ")
		b.WriteString(filter[subStart:end])
		b.WriteByte(']')
		i, ok = end, true
	}
	return b.String(), ok
}

// quotedEnd returns the index just past the quoted string starting at i (or the end).
func quotedEnd(s string, i int) int {
	j := i + 1
	for j < len(s) && s[j] != '"' {
		if s[j] == '\\' {
			j++
		}
		j++
	}
	return min(j+1, len(s))
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}
