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
