package sqlstore

import (
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store"
)

// Sorting (store.Query.SortBy, RFC 7644 §3.4.2.3). The attribute is resolved through the
// filter's tables (filterattrs.go), so that a list sorts an attribute exactly as a filter
// compares it: its column, and its case rule. The ORDER BY is
//
//	[(col IS NULL),] key, pk        each ASC, or each DESC
//
// so that absent values come last ascending and first descending on both databases
// (SQLite sorts NULL first, PostgreSQL last), and ties keep creation order. The key is
// the column under the dialect's binary collation (byte order, which for UTF-8 is code
// point order, on both databases), lowered in SQL for an ascii-folded attribute. The
// common sort keys have indexes of exactly these expressions (migration 0012), which a
// page walks and stops, as an unsorted page walks the primary key.

// orderBy is the ORDER BY terms of q on r: the primary key alone without SortBy.
func orderBy(r *filterResource, q store.Query, d *dialect) (string, error) {
	pk := r.table + ".pk"
	if q.SortBy == "" {
		return pk, nil
	}
	if q.Keyset != nil {
		return "", &store.InvalidError{Attribute: "sortBy", Reason: "cannot be combined with cursor pagination, which lists in creation order"}
	}
	col, key, notNull, err := sortKey(r, q.SortBy, d)
	if err != nil {
		return "", err
	}
	dir := ""
	if q.SortDescending {
		dir = " DESC"
	}
	terms := []string{key + dir, pk + dir}
	if !notNull {
		terms = append([]string{"(" + col + " IS NULL)" + dir}, terms...)
	}
	return strings.Join(terms, ", "), nil
}

// sortKey resolves name to its column, the SQL of its sort key (NULL exactly when the
// column is), and whether the column is never NULL.
func sortKey(r *filterResource, name string, d *dialect) (col, key string, notNull bool, err error) {
	refuse := func(reason string) (string, string, bool, error) {
		return "", "", false, &store.InvalidError{Attribute: "sortBy", Reason: reason}
	}
	if len(name) > 512 {
		return refuse("is longer than any attribute name")
	}
	p, err := filter.ParseAttrPath([]byte(name))
	if err != nil {
		return refuse("is not an attribute path")
	}
	c := &compiler{res: r, binary: d.binaryCollation}
	full, a, sub, err := c.resolve(p)
	if err != nil {
		return refuse("names no attribute that can be sorted on")
	}
	if a.from != "" {
		return refuse("names a multi-valued attribute (" + full + "): sort on a single-valued one")
	}
	x := a
	if sub != nil {
		x = sub
	} else if a.subs != nil {
		if a.dflt == "" {
			return refuse("names a complex attribute (" + full + "): name one of its sub-attributes")
		}
		x = a.subs[a.dflt]
	}
	if x.expr == "" || x.refuse != "" {
		return refuse("names no attribute that can be sorted on")
	}
	col = strings.ReplaceAll(x.expr, "{t}", r.table)
	switch {
	case x.typ != text:
		return col, col, x.notNull, nil
	case x.cases == ascii:
		return col, "lower(" + col + d.binaryCollation + ")", x.notNull, nil
	default: // exact, or shadow: the column is folded already
		return col, col + d.binaryCollation, x.notNull, nil
	}
}

// pageKeysSQL is the inner statement of an index page of a list: the page's keys, in
// order (a deferred join reads only their rows).
func pageKeysSQL(table, where, order string) string {
	return `SELECT ` + table + `.pk FROM ` + table + ` WHERE ` + where + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
}
