package sqlstore

import (
	"bytes"
	"strings"
)

// List parameters. A set of keys or ids travels as ONE parameter, never as a list of
// placeholders whose length follows the data: the statement text is the same whatever
// the number of values, so it is parsed and planned once (and stays an index plan when
// the plan is cached), and there is no chunking to stay under a placeholder limit. Each
// dialect says how (int64List, textList).

// listParam is a list of values bound as one parameter. In a statement, " IN :name"
// takes in, the condition that follows the compared expression, and "ROWS(:name)" takes
// rows, a row source with one row per value in a column named pk; both take arg.
type listParam struct {
	in   string
	rows string
	arg  any
}

// params are a statement's named parameters: each ":name" in its text takes params[name].
type params map[string]any

// bind expands a statement written with named parameters into the text and arguments the
// database takes (with '?' placeholders, for Rebind). Each ":name" takes params[name] as
// one placeholder, except that a list (a listParam) after " IN" takes its condition and
// inside "ROWS(…)" its row source. Each "?" takes the next of scalars. Arguments follow
// the text's order, so a statement reads as plain SQL and its arguments cannot drift out
// of order. Names are lower-case letters and underscores; text inside single quotes is
// left alone; a name not in p stays as it is, for the database to reject.
func bind(text string, p params, scalars ...any) (string, []any) {
	b := make([]byte, 0, len(text)+64)
	args := make([]any, 0, len(scalars)+len(p))
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(text[i+1:], '\'')
			if j < 0 {
				j = len(text) - i - 1
			}
			b = append(b, text[i:i+j+2]...)
			i += j + 2
		case c == '?':
			if len(scalars) > 0 {
				args = append(args, scalars[0])
				scalars = scalars[1:]
			}
			b = append(b, '?')
			i++
		case c == ':' && i+1 < len(text) && isNameByte(text[i+1]) && (i == 0 || text[i-1] != ':'):
			j := i + 1
			for j < len(text) && isNameByte(text[j]) {
				j++
			}
			v, ok := p[text[i+1:j]]
			if !ok {
				b = append(b, text[i:j]...)
				i = j
				continue
			}
			l, isList := v.(listParam)
			switch {
			case isList && bytes.HasSuffix(b, []byte(" IN ")):
				b = append(b[:len(b)-len(" IN ")], l.in...)
			case isList && bytes.HasSuffix(b, []byte("ROWS(")) && j < len(text) && text[j] == ')':
				b = append(b[:len(b)-len("ROWS(")], l.rows...)
				j++ // the closing parenthesis was ROWS's
			default:
				b = append(b, '?')
			}
			if isList {
				v = l.arg
			}
			args = append(args, v)
			i = j
		default:
			b = append(b, c)
			i++
		}
	}
	return string(b), append(args, scalars...)
}

func isNameByte(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' }
