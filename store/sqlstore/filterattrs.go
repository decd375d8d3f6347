package sqlstore

import (
	"strings"

	"github.com/townsquare/townsquare/store"
)

// The tables below are the whole mapping from SCIM attributes to SQL. The compiler only
// walks them, so making an attribute filterable, or changing how it compares, is an edit
// here and nowhere else.

// valueType is the SCIM type of a simple attribute as far as comparing it goes.
type valueType int

const (
	text valueType = iota
	boolean
	dateTime
)

func (t valueType) String() string {
	return [...]string{"string", "boolean", "dateTime"}[t]
}

// caseRule says how a string attribute is compared.
type caseRule int

const (
	// exact is caseExact=true: bytes compared as stored.
	exact caseRule = iota
	// shadow: the column is a lower-cased copy the store writes with strings.ToLower, so
	// the value is lowered the same way in Go. Folding is full Unicode, identical on both
	// databases, and the column's index serves the lookups IdPs make most.
	shadow
	// ascii: no copy is kept, so lower() runs in SQL. SQLite's lower() folds ASCII letters
	// only; PostgreSQL is held to the same (lower under COLLATE "C") and the value is
	// folded likewise in Go, so both databases return the same rows. The price: non-ASCII
	// letters in these attributes compare case-exactly.
	ascii
)

// attr is one filterable attribute: either simple (expr set) or complex (subs set).
type attr struct {
	// expr is the SQL of a simple attribute's value; "{t}" stands for the table (or
	// alias) in scope.
	expr    string
	typ     valueType
	cases   caseRule
	notNull bool // the column is NOT NULL, so comparisons need no NULL guard

	// subs are a complex attribute's sub-attributes.
	subs map[string]*attr
	// dflt is the sub-attribute that a complex attribute named bare stands for: RFC 7644
	// lets `emails eq "x"` mean `emails.value eq "x"`.
	dflt string
	// from makes the attribute multi-valued: the FROM ... WHERE of a subquery over its
	// rows, tied to the owning row. "{t}" is the rows' alias, "{j}" a joined table's.
	from string
	// alias prefixes the subquery's generated table aliases, for readable SQL.
	alias string
	// union are further sources of a multi-valued attribute's rows, each with its own
	// from, alias and subs (the same sub-attribute names): the attribute's values are
	// those of every source, and a condition on one value holds when it holds for a row of
	// any source. A group's members are users and groups, two tables.
	union []*attr

	// refuse, when set, makes the attribute known but not filterable, and says why.
	refuse string
}

func str(expr string, c caseRule) *attr { return &attr{expr: expr, cases: c} }
func strNN(expr string, c caseRule) *attr {
	return &attr{expr: expr, cases: c, notNull: true}
}
func flag(expr string) *attr { return &attr{expr: expr, typ: boolean, notNull: true} }
func when(expr string) *attr { return &attr{expr: expr, typ: dateTime, notNull: true} }

// meta is common to both resources. version is an ETag (W/"3"): clients compare it
// through If-Match, and a filter on it would compare a quoted string with an integer.
func metaAttr() *attr {
	return &attr{subs: map[string]*attr{
		"created":      when("{t}.created_at"),
		"lastModified": when("{t}.updated_at"),
		"version":      {refuse: "compare versions with If-Match instead"},
	}}
}

// resource is what a filter for one endpoint can name.
type filterResource struct {
	table   string         // the main table, unaliased in the query
	schemas []filterSchema // schemas[0] is the core schema: its attributes need no URN
}

type filterSchema struct {
	urn   string
	attrs map[string]*attr
}

// userFilter is what a filter on /Users can name: the string attributes of
// userStrings, compared as their caseExact says, and those below.
var userFilter = &filterResource{table: "users", schemas: []filterSchema{
	{urn: store.UserSchema, attrs: withStrings("", map[string]*attr{
		"id":         strNN("{t}.id", exact),
		"externalId": str("{t}.external_id", exact),
		"userName":   strNN("{t}.user_name_ci", shadow),
		"active":     flag("{t}.active"),
		"password":   {refuse: "it is stored only as a salted hash"},
		"meta":       metaAttr(),
		"emails": {from: "user_emails {t} WHERE {t}.user_pk = users.pk", alias: "e", dflt: "value",
			subs: map[string]*attr{
				"value":   str("{t}.value_ci", shadow),
				"display": str("{t}.display", ascii),
				"type":    str("{t}.type", ascii),
				"primary": flag("{t}.is_primary"),
			}},
		"phoneNumbers": {from: "user_phone_numbers {t} WHERE {t}.user_pk = users.pk", alias: "p", dflt: "value",
			subs: map[string]*attr{
				"value":   str("{t}.value", ascii),
				"display": str("{t}.display", ascii),
				"type":    str("{t}.type", ascii),
				"primary": flag("{t}.is_primary"),
			}},
		"addresses": {from: "user_addresses {t} WHERE {t}.user_pk = users.pk", alias: "a",
			subs: map[string]*attr{
				"formatted":     str("{t}.formatted", ascii),
				"streetAddress": str("{t}.street_address", ascii),
				"locality":      str("{t}.locality", ascii),
				"region":        str("{t}.region", ascii),
				"postalCode":    str("{t}.postal_code", ascii),
				"country":       str("{t}.country", ascii),
				"type":          str("{t}.type", ascii),
				"primary":       flag("{t}.is_primary"),
			}},
		// A user's groups are its direct and indirect groups (RFC 7643 §4.1.2: "either
		// direct or indirect", nested groups), one row of user_groups per path; type is
		// "direct" for a group the user is a direct member of, whatever else nests it.
		"groups": {from: "user_groups {j} JOIN groups {t} ON {t}.pk = {j}.group_pk WHERE {j}.user_pk = users.pk",
			alias: "g", dflt: "value",
			subs: map[string]*attr{
				"value":   strNN("{t}.id", exact),
				"display": strNN("{t}.display_name_ci", shadow),
				"type":    strNN(`CASE WHEN EXISTS (SELECT 1 FROM group_members {t}d WHERE {t}d.user_pk = users.pk AND {t}d.group_pk = {t}.pk) THEN 'direct' ELSE 'indirect' END`, ascii),
			}},
	})},
	{urn: store.EnterpriseUserSchema, attrs: withStrings(store.EnterpriseUserSchema, map[string]*attr{})},
}}

// withStrings adds to attrs the string attributes of userStrings in schema: a
// sub-attribute under its parent, a complex parent with a "value" sub-attribute standing
// for it when named bare (RFC 7644 §3.4.2.2: manager eq "x" is manager.value eq "x").
func withStrings(schema string, attrs map[string]*attr) map[string]*attr {
	for _, s := range userStrings {
		if s.Schema != schema {
			continue
		}
		rule := ascii
		if s.CaseExact {
			rule = exact
		}
		a := str("{t}."+s.col, rule)
		parent, sub, ok := strings.Cut(s.Name, ".")
		if !ok {
			attrs[parent] = a
			continue
		}
		p := attrs[parent]
		if p == nil {
			p = &attr{subs: map[string]*attr{}}
			attrs[parent] = p
		}
		p.subs[sub] = a
		if sub == "value" {
			p.dflt = "value"
		}
	}
	return attrs
}

var groupFilter = &filterResource{table: "groups", schemas: []filterSchema{
	{urn: store.GroupSchema, attrs: map[string]*attr{
		"id":          strNN("{t}.id", exact),
		"externalId":  str("{t}.external_id", exact),
		"displayName": strNN("{t}.display_name_ci", shadow),
		"meta":        metaAttr(),
		// A group's members are its direct members: users (group_members), then groups
		// (group_groups, nested groups), each with the display and type the store
		// reports for it (EachGroupMember).
		"members": {from: "group_members {j} JOIN users {t} ON {t}.pk = {j}.user_pk WHERE {j}.group_pk = groups.pk",
			alias: "m", dflt: "value",
			subs: map[string]*attr{
				"value":   strNN("{t}.id", exact),
				"display": strNN("COALESCE({t}.display_name, {t}.user_name)", ascii),
				"type":    strNN("'"+store.MemberTypeUser+"'", ascii),
			},
			union: []*attr{{from: "group_groups {j} JOIN groups {t} ON {t}.pk = {j}.member_pk WHERE {j}.group_pk = groups.pk",
				alias: "n", dflt: "value",
				subs: map[string]*attr{
					"value":   strNN("{t}.id", exact),
					"display": strNN("{t}.display_name", ascii),
					"type":    strNN("'"+store.MemberTypeGroup+"'", ascii),
				}}},
		},
	}},
}}
