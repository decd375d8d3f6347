package store

import (
	"encoding/json"
	"strings"

	"github.com/lib/pq"
)

// List parameters. A set of keys or ids travels as ONE parameter, never as a list of
// placeholders whose length follows the data:
//
//   - the statement text is the same whatever the number of values, so PostgreSQL does not
//     spend 1–15 ms planning a 400-placeholder IN list, and a generic plan (should the driver
//     ever cache statements) is still an index plan;
//   - SQLite parses one statement text instead of one per length;
//   - there is no chunking to stay under a placeholder limit.
//
// On PostgreSQL the parameter is an array (pq.Array) compared with = ANY, which the planner
// turns into index probes whatever the table statistics say; on SQLite it is a JSON array
// read back with json_each.

// listParam is a list of values bound as one parameter: cond is the condition text that
// follows the compared expression, arg its argument.
type listParam struct {
	cond string
	arg  any
}

// int64List binds xs as one parameter.
func (s *Store) int64List(xs []int64) listParam {
	if s.dialect == Postgres {
		return listParam{` = ANY(CAST(? AS BIGINT[]))`, pq.Array(xs)}
	}
	if xs == nil {
		xs = []int64{}
	}
	b, _ := json.Marshal(xs) // a slice of integers always marshals
	return listParam{` IN (SELECT value FROM json_each(?))`, string(b)}
}

// textList binds xs as one parameter.
func (s *Store) textList(xs []string) listParam {
	if s.dialect == Postgres {
		return listParam{` = ANY(CAST(? AS TEXT[]))`, pq.Array(xs)}
	}
	if xs == nil {
		xs = []string{}
	}
	b, _ := json.Marshal(xs) // a slice of strings always marshals
	return listParam{` IN (SELECT value FROM json_each(?))`, string(b)}
}

// bind expands a statement written with list markers: each " IN :name" becomes the
// condition of lists[name] and takes its argument, each "ROWS(:name)" (PostgreSQL only)
// becomes a row source "(SELECT unnest(…) AS pk)" over it, and each "?" takes the next
// of scalars, all in order of appearance, so a statement reads as plain SQL and its
// arguments cannot drift out of order. A marker naming no list, or a count of scalars
// that does not match, is a bug the database reports as a parameter count error.
func bind(text string, lists map[string]listParam, scalars ...any) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(scalars)+4)
	for i := 0; i < len(text); {
		switch {
		case text[i] == '?':
			if len(scalars) > 0 {
				args = append(args, scalars[0])
				scalars = scalars[1:]
			}
			b.WriteByte('?')
			i++
		case strings.HasPrefix(text[i:], "ROWS(:"):
			j := i + len("ROWS(:")
			k := strings.IndexByte(text[j:], ')')
			if k < 0 {
				b.WriteString(text[i:])
				i = len(text)
				continue
			}
			l, ok := lists[text[j:j+k]]
			if !ok {
				b.WriteString(text[i : j+k+1])
				i = j + k + 1
				continue
			}
			b.WriteString(`(SELECT unnest(CAST(? AS BIGINT[])) AS pk)`)
			args = append(args, l.arg)
			i = j + k + 1
		case strings.HasPrefix(text[i:], " IN :"):
			j := i + len(" IN :")
			k := j
			for k < len(text) && (text[k] == '_' || 'a' <= text[k] && text[k] <= 'z') {
				k++
			}
			l, ok := lists[text[j:k]]
			if !ok {
				b.WriteString(text[i:k]) // left for the database to reject
				i = k
				continue
			}
			b.WriteString(l.cond)
			args = append(args, l.arg)
			i = k
		default:
			b.WriteByte(text[i])
			i++
		}
	}
	return b.String(), append(args, scalars...)
}

// int64Rows returns a row source "(SELECT … AS col)" with one row per value of xs, and its
// single argument: unnest on PostgreSQL, json_each on SQLite.
func (s *Store) int64Rows(col string, xs []int64) (string, any) {
	l := s.int64List(xs)
	if s.dialect == Postgres {
		return `(SELECT unnest(CAST(? AS BIGINT[])) AS ` + col + `)`, l.arg
	}
	return `(SELECT value AS ` + col + ` FROM json_each(?))`, l.arg
}
