// The filter compiler turns a parsed SCIM filter (RFC 7644 §3.4.2.2) into a SQL
// condition, so that a list request reads only the matching rows and the database does
// the paging, instead of every resource being loaded and tested in memory.
//
// The compiled condition follows three rules:
//   - User input travels only in the arguments; the SQL text is assembled from the
//     attribute tables in filterattrs.go and fixed keywords, so no filter can change the
//     query's shape.
//   - Both databases return the same rows: case folding, LIKE and string ordering are
//     pinned to what SQLite and PostgreSQL both do byte for byte.
//   - Every condition is two-valued (never SQL NULL), so that `not (...)` is the exact
//     complement of what it wraps and an absent attribute behaves as SCIM says.

package sqlstore

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store"
)

// maxNodes bounds the size of a filter (comparisons, and/or, not and value paths all
// count): store.MaxFilterTerms, the contract's bound, which the HTTP side also checks on
// the filter's text before parsing it.
const maxNodes = store.MaxFilterTerms

// maxLikeBytes bounds the value of a co, sw or ew comparison: no stored string is longer
// (store.MaxTextLength characters of at most 4 bytes), so a longer value matches nothing,
// and its LIKE pattern (at most twice as long, escaped) stays far below SQLite's limit
// of 50,000 bytes, which fails the statement.
const maxLikeBytes = 4 * store.MaxTextLength

// condition is a parameterised SQL condition: SQL uses '?' placeholders only and args
// holds the values, in order. User input only ever travels in args.
type condition struct {
	sql  string
	args []any
}

// compileFilter compiles f into a condition on r's table, in d's SQL. A nil f is the
// empty condition, which selects every row.
func compileFilter(r *filterResource, f store.Filter, d *dialect) (condition, error) {
	if f == nil {
		return condition{}, nil
	}
	c := &compiler{res: r, binary: d.binaryCollation}
	sql, err := c.expr(f, scope{alias: r.table})
	if err != nil {
		return condition{}, err
	}
	return condition{sql: sql, args: c.args}, nil
}

// invalid is a filter error for the client.
func invalid(format string, a ...any) error {
	return &store.FilterError{Reason: fmt.Sprintf(format, a...)}
}

type compiler struct {
	res     *filterResource
	binary  string // the dialect's binaryCollation
	args    []any
	nodes   int
	aliases int
}

// scope is where attribute names are resolved: the resource itself, or inside a value
// path (emails[...]) the sub-attributes of one row of a multi-valued attribute.
type scope struct {
	alias string
	elem  *attr  // the multi-valued attribute whose row is in scope, or nil at the top
	name  string // elem's canonical name, for messages
}

// arg records v and returns its placeholder. Every caller emits SQL left to right, so
// the order of Args is the order of the placeholders.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

func (c *compiler) expr(e filter.Expression, sc scope) (string, error) {
	if c.nodes++; c.nodes > maxNodes {
		return "", invalid("the filter has more than %d terms", maxNodes)
	}
	switch x := e.(type) {
	case *filter.AttributeExpression:
		if x != nil {
			return c.attrExpr(x, sc)
		}
	case *filter.LogicalExpression:
		if x == nil || x.Left == nil || x.Right == nil {
			break
		}
		op := strings.ToUpper(string(x.Operator))
		if op != "AND" && op != "OR" {
			return "", invalid("unknown logical operator %q", x.Operator)
		}
		l, err := c.expr(x.Left, sc)
		if err != nil {
			return "", err
		}
		r, err := c.expr(x.Right, sc)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + op + " " + r + ")", nil
	case *filter.NotExpression:
		if x == nil || x.Expression == nil {
			break
		}
		s, err := c.expr(x.Expression, sc)
		return not(s), err
	case *filter.ValuePath:
		if x == nil || x.ValueFilter == nil {
			break
		}
		return c.valuePath(x, sc)
	}
	return "", invalid("empty or unknown expression %T", e)
}

// valuePath compiles emails[type eq "work" and value co "@x"] into ONE subquery, so that
// every condition in the brackets holds for the same row, as RFC 7644 requires.
func (c *compiler) valuePath(x *filter.ValuePath, sc scope) (string, error) {
	if sc.elem != nil {
		return "", invalid("a value filter cannot be nested in another")
	}
	name, a, sub, err := c.resolve(x.AttributePath)
	if err != nil {
		return "", err
	}
	if a.from == "" || sub != nil {
		return "", invalid("attribute %q is not multi-valued, so it takes no value filter [...]", name)
	}
	// Each source of the rows gets the whole value filter; the terms count once.
	nodes, most := c.nodes, c.nodes
	var exists []string
	for _, src := range a.sources() {
		c.nodes = nodes
		from, alias := c.rows(src)
		cond, err := c.expr(x.ValueFilter, scope{alias: alias, elem: src, name: name})
		if err != nil {
			return "", err
		}
		most = max(most, c.nodes)
		exists = append(exists, "EXISTS (SELECT 1 FROM "+from+" AND "+cond+")")
	}
	c.nodes = most
	return anyOf(exists), nil
}

// sources are the sources of a multi-valued attribute's rows: itself, then its union.
func (a *attr) sources() []*attr {
	return append([]*attr{a}, a.union...)
}

// anyOf ORs conditions: one stays as it is, more are parenthesised as a whole.
func anyOf(conds []string) string {
	if len(conds) == 1 {
		return conds[0]
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// allOf ANDs conditions likewise.
func allOf(conds []string) string {
	if len(conds) == 1 {
		return conds[0]
	}
	return "(" + strings.Join(conds, " AND ") + ")"
}

// rows gives the FROM ... WHERE of a multi-valued attribute's rows under a fresh alias:
// aliases never repeat within one filter, so no subquery can capture another's columns.
func (c *compiler) rows(a *attr) (from, alias string) {
	c.aliases++
	alias = fmt.Sprintf("%s%d", a.alias, c.aliases)
	return strings.NewReplacer("{t}", alias, "{j}", alias+"j").Replace(a.from), alias
}

func (c *compiler) attrExpr(x *filter.AttributeExpression, sc scope) (string, error) {
	op := filter.CompareOperator(strings.ToLower(string(x.Operator)))
	// RFC 7644 leaves null comparisons open; "eq null" reads naturally as "absent" and
	// "ne null" as "present", which is what IdPs that send them mean.
	if x.CompareValue == nil && op != filter.PR {
		pr := &filter.AttributeExpression{AttributePath: x.AttributePath, Operator: filter.PR}
		switch op {
		case filter.EQ:
			s, err := c.attrExpr(pr, sc)
			return not(s), err
		case filter.NE:
			return c.attrExpr(pr, sc)
		}
		return "", invalid("operator %s cannot compare with null", op)
	}

	if sc.elem != nil {
		p := x.AttributePath
		if p.URIPrefix != nil || p.SubAttribute != nil {
			return "", invalid("%q cannot be used inside %s[...]; name a sub-attribute of %s", p.String(), sc.name, sc.name)
		}
		sub, a := lookupAttr(sc.elem.subs, p.AttributeName)
		if a == nil {
			return "", invalid("attribute %q is not filterable", sc.name+"."+p.AttributeName)
		}
		return c.compare(sc.name+"."+sub, a, sc.alias, op, x.CompareValue)
	}

	name, a, sub, err := c.resolve(x.AttributePath)
	if err != nil {
		return "", err
	}
	if sub == nil && a.dflt != "" && op != filter.PR {
		name, sub = name+"."+a.dflt, a.subs[a.dflt]
	}
	switch {
	case a.from != "":
		if sub == nil && op != filter.PR {
			return "", invalid("attribute %q is complex; filter on one of its sub-attributes", name)
		}
		subName := ""
		for k, x := range a.subs {
			if x == sub {
				subName = k
			}
		}
		var match, none []string
		for _, src := range a.sources() {
			from, alias := c.rows(src)
			if sub == nil {
				match = append(match, "EXISTS (SELECT 1 FROM "+from+")") // any row at all
				continue
			}
			cond, err := c.compare(name, src.subs[subName], alias, op, x.CompareValue)
			if err != nil {
				return "", err
			}
			match = append(match, "EXISTS (SELECT 1 FROM "+from+" AND "+cond+")")
		}
		s := anyOf(match)
		if op == filter.NE {
			// A multi-valued attribute matches if any of its values does; ne also
			// matches a resource that has no values at all, as it does for an absent
			// simple attribute.
			for _, src := range a.sources() {
				from, _ := c.rows(src)
				none = append(none, "NOT EXISTS (SELECT 1 FROM "+from+")")
			}
			s = "(" + s + " OR " + allOf(none) + ")"
		}
		return s, nil
	case sub != nil:
		return c.compare(name, sub, c.res.table, op, x.CompareValue)
	case a.subs != nil:
		if op != filter.PR {
			return "", invalid("attribute %q is complex; filter on one of its sub-attributes", name)
		}
		// A complex attribute is present when any of its sub-attributes is.
		var ors []string
		for _, k := range slices.Sorted(maps.Keys(a.subs)) {
			if a.subs[k].refuse == "" {
				s, err := c.compare(name+"."+k, a.subs[k], c.res.table, op, nil)
				if err != nil {
					return "", err
				}
				ors = append(ors, s)
			}
		}
		return "(" + strings.Join(ors, " OR ") + ")", nil
	}
	return c.compare(name, a, c.res.table, op, x.CompareValue)
}

// resolve finds the attribute a path names, case-insensitively as RFC 7643 §2.1 asks,
// and returns its canonical name for messages. The parser splits URN paths by its own
// grammar (`urn:…:2.0:User.manager` arrives as URIPrefix `urn:…:2.0`, AttributeName
// `User`, SubAttribute `manager`), so the path is reassembled and matched against the
// known URNs as a whole rather than trusting the split. Without a URN the core schema
// is searched first, then the extensions: RFC 7644 §3.10 only says clients SHOULD
// qualify extension attributes, and no extension name here clashes with a core one.
func (c *compiler) resolve(p filter.AttributePath) (name string, a, sub *attr, err error) {
	full := p.AttributeName
	if p.URIPrefix != nil {
		full = *p.URIPrefix + ":" + full
	}
	if p.SubAttribute != nil {
		full += "." + *p.SubAttribute
	}
	schemas, rest := c.res.schemas, full
	if p.URIPrefix != nil {
		schemas = nil
		for _, s := range c.res.schemas {
			n := len(s.urn)
			if len(full) > n+1 && strings.EqualFold(full[:n], s.urn) && (full[n] == ':' || full[n] == '.') {
				schemas, rest = []filterSchema{s}, full[n+1:]
				break
			}
		}
		if schemas == nil {
			return "", nil, nil, invalid("attribute %q is not filterable: unknown schema", full)
		}
	}
	top, subName, hasSub := strings.Cut(rest, ".")
	for _, s := range schemas {
		if name, a = lookupAttr(s.attrs, top); a != nil {
			if s.urn != c.res.schemas[0].urn {
				name = s.urn + ":" + name
			}
			break
		}
	}
	if a == nil {
		return "", nil, nil, invalid("attribute %q is not filterable", full)
	}
	if hasSub {
		if subName, sub = lookupAttr(a.subs, subName); sub == nil {
			return "", nil, nil, invalid("attribute %q is not filterable", full)
		}
		name += "." + subName
	}
	for _, x := range []*attr{a, sub} {
		if x != nil && x.refuse != "" {
			return "", nil, nil, invalid("attribute %q is not filterable: %s", name, x.refuse)
		}
	}
	return name, a, sub, nil
}

// lookup finds name among attrs regardless of case; attribute names arrive as the client
// spelled them.
func lookupAttr(attrs map[string]*attr, name string) (string, *attr) {
	for k, a := range attrs {
		if strings.EqualFold(k, name) {
			return k, a
		}
	}
	return "", nil
}

// not negates a condition. Conditions are two-valued (see guard), so this is the exact
// complement. Every condition built here that starts with "(" is parenthesised as a
// whole, so only bare comparisons need new parentheses.
func not(cond string) string {
	if strings.HasPrefix(cond, "(") || strings.HasPrefix(cond, "EXISTS ") {
		return "NOT " + cond
	}
	return "NOT (" + cond + ")"
}

// compare compiles one comparison of the simple attribute a, whose table is alias.
func (c *compiler) compare(name string, a *attr, alias string, op filter.CompareOperator, v any) (string, error) {
	if a.expr == "" {
		return "", invalid("attribute %q is complex; filter on one of its sub-attributes", name)
	}
	col := strings.ReplaceAll(a.expr, "{t}", alias)
	if op == filter.PR {
		if a.typ == text {
			return "(" + col + " IS NOT NULL AND " + col + " <> '')", nil
		}
		return col + " IS NOT NULL", nil
	}
	switch a.typ {
	case boolean:
		return c.compareBool(name, col, a, op, v)
	case dateTime:
		return c.compareTime(name, col, a, op, v)
	}
	return c.compareText(name, col, a, op, v)
}

// guard makes a comparison on a nullable column false, not NULL, when the column is
// NULL, so that NOT around it matches the rows where the attribute is absent.
func guard(a *attr, col, cond string) string {
	if a.notNull {
		return cond
	}
	return "(" + col + " IS NOT NULL AND " + cond + ")"
}

// ne is "not equal, or absent": a resource without the attribute does not have the value,
// so it matches, just as `not (attr eq v)` does.
func ne(a *attr, col, cond string) string {
	if a.notNull {
		return cond
	}
	return "(" + col + " IS NULL OR " + cond + ")"
}

func (c *compiler) compareText(name, col string, a *attr, op filter.CompareOperator, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", invalid("attribute %q is a string; compare it with a quoted string, not %v", name, v)
	}
	s = unescape(s)
	if err := checkText(name, s); err != nil {
		return "", err
	}
	lhs := col
	switch a.cases {
	case shadow:
		s = strings.ToLower(s)
	case ascii:
		s = asciiLower(s)
		lhs = "lower(" + col + c.binary + ")"
	}
	if (op == filter.CO || op == filter.SW || op == filter.EW) && len(s) > maxLikeBytes {
		return "", invalid("the value compared with %q by %s is longer than any stored string (%d bytes)", name, op, maxLikeBytes)
	}
	var cond string
	switch op {
	case filter.EQ:
		cond = lhs + " = " + c.arg(s)
	case filter.NE:
		return ne(a, col, lhs+" <> "+c.arg(s)), nil
	case filter.CO:
		cond = lhs + " LIKE " + c.arg("%"+escapeLike(s)+"%") + ` ESCAPE '\'`
	case filter.SW:
		cond = lhs + " LIKE " + c.arg(escapeLike(s)+"%") + ` ESCAPE '\'`
	case filter.EW:
		cond = lhs + " LIKE " + c.arg("%"+escapeLike(s)) + ` ESCAPE '\'`
	case filter.GT, filter.GE, filter.LT, filter.LE:
		// Bytewise, whatever the database's locale.
		lhs += c.binary
		cond = lhs + " " + sqlOps[op] + " " + c.arg(s)
	default:
		return "", invalid("unknown operator %q", op)
	}
	return guard(a, col, cond), nil
}

var sqlOps = map[filter.CompareOperator]string{filter.GT: ">", filter.GE: ">=", filter.LT: "<", filter.LE: "<="}

func (c *compiler) compareBool(name, col string, a *attr, op filter.CompareOperator, v any) (string, error) {
	if op != filter.EQ && op != filter.NE {
		return "", invalid("operator %s is not defined for boolean attribute %q", op, name)
	}
	b, ok := v.(bool)
	if s, isStr := v.(string); isStr {
		// Entra sends booleans as the strings "True" and "False".
		switch {
		case strings.EqualFold(s, "true"):
			b, ok = true, true
		case strings.EqualFold(s, "false"):
			b, ok = false, true
		}
	}
	if !ok {
		return "", invalid("attribute %q is boolean; compare it with true or false, not %v", name, v)
	}
	if op == filter.NE {
		return ne(a, col, col+" <> "+c.arg(b)), nil
	}
	return guard(a, col, col+" = "+c.arg(b)), nil
}

// compareTime compares a timestamp column (Unix microseconds). A timestamp without
// fractional seconds means its whole second, because that is the precision SCIM
// responses show: a client filtering on a meta.lastModified it was given must find the
// resource, although the column holds microseconds.
func (c *compiler) compareTime(name, col string, a *attr, op filter.CompareOperator, v any) (string, error) {
	if op == filter.CO || op == filter.SW || op == filter.EW {
		return "", invalid("operator %s is not defined for dateTime attribute %q", op, name)
	}
	s, ok := v.(string)
	if !ok {
		return "", invalid("attribute %q is a dateTime; compare it with a quoted RFC 3339 timestamp, not %v", name, v)
	}
	t, err := parseTime(s)
	if err != nil {
		return "", invalid("attribute %q is a dateTime, and %q is not an RFC 3339 timestamp", name, s)
	}
	span := time.Second
	if strings.Contains(s, ".") {
		span = time.Microsecond
	}
	lo := t.UnixMicro() // rounds down: the microsecond that holds t
	hi := lo + span.Microseconds()
	var cond string
	switch op {
	case filter.EQ:
		cond = "(" + col + " >= " + c.arg(lo) + " AND " + col + " < " + c.arg(hi) + ")"
	case filter.NE:
		return ne(a, col, "("+col+" < "+c.arg(lo)+" OR "+col+" >= "+c.arg(hi)+")"), nil
	case filter.GT:
		cond = col + " >= " + c.arg(hi)
	case filter.GE:
		cond = col + " >= " + c.arg(lo)
	case filter.LT:
		cond = col + " < " + c.arg(lo)
	case filter.LE:
		cond = col + " < " + c.arg(hi)
	default:
		return "", invalid("operator %s is not defined for dateTime attribute %q", op, name)
	}
	return guard(a, col, cond), nil
}

// parseTime reads an xsd:dateTime: RFC 3339, or without a zone, which is taken as UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		if t, err2 = time.Parse("2006-01-02T15:04:05.999999999", s); err2 != nil {
			return time.Time{}, err
		}
	}
	return t, nil
}

// unescape decodes the JSON escapes of a filter string: the parser returns the text
// between the quotes as written, so `"a\"b"` arrives as a\"b but means a"b.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var out string
	if json.Unmarshal([]byte(`"`+s+`"`), &out) != nil {
		return s
	}
	return out
}

// checkText refuses what PostgreSQL cannot store in TEXT (invalid UTF-8, NUL): such a
// value matches nothing, and would otherwise fail the query on one database and not the
// other.
func checkText(name, s string) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return invalid("the value compared with %q is not valid UTF-8 text", name)
	}
	return nil
}

// escapeLike makes s match itself literally in LIKE ... ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// asciiLower folds A-Z only, as SQLite's lower() and PostgreSQL's lower() under
// COLLATE "C" do; see caseRule ascii.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
