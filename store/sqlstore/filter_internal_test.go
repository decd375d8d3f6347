package sqlstore

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store"
)

func parse(t testing.TB, s string) filter.Expression {
	t.Helper()
	e, err := filter.ParseFilter([]byte(s))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return e
}

const (
	entURN  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	coreURN = "urn:ietf:params:scim:schemas:core:2.0:User"
	emails1 = "EXISTS (SELECT 1 FROM user_emails e1 WHERE e1.user_pk = users.pk"
	// A group's member users and member groups, as the first and second aliases.
	usersM1  = "EXISTS (SELECT 1 FROM group_members m1j JOIN users m1 ON m1.pk = m1j.user_pk WHERE m1j.group_pk = groups.pk"
	groupsN2 = "EXISTS (SELECT 1 FROM group_groups n2j JOIN groups n2 ON n2.pk = n2j.member_pk WHERE n2j.group_pk = groups.pk"
)

// TestCompileShape pins the SQL and arguments of every operator and path shape, for
// every dialect: the expected SQL is written once, with {C} where the dialect's
// binaryCollation goes (on-database tests check that it orders bytewise).
func TestCompileShape(t *testing.T) {
	for _, tc := range []struct {
		groups bool
		filter string
		want   string // {C} stands for the dialect's binaryCollation
		args   []any
	}{
		// userName: the lower-cased shadow column, no NULL guard (NOT NULL).
		{filter: `userName eq "Alice@Example.COM"`, want: `users.user_name_ci = ?`, args: []any{"alice@example.com"}},
		{filter: `UserName EQ "ÉLODIE"`, want: `users.user_name_ci = ?`, args: []any{"élodie"}},
		{filter: `userName ne "Bob"`, want: `users.user_name_ci <> ?`, args: []any{"bob"}},
		{filter: `userName gt "B"`, want: `users.user_name_ci{C} > ?`, args: []any{"b"}},
		{filter: `userName ge "B"`, want: `users.user_name_ci{C} >= ?`, args: []any{"b"}},
		{filter: `userName lt "B"`, want: `users.user_name_ci{C} < ?`, args: []any{"b"}},
		{filter: `userName le "B"`, want: `users.user_name_ci{C} <= ?`, args: []any{"b"}},
		{filter: `userName co "A%b_C\\d"`, want: `users.user_name_ci LIKE ? ESCAPE '\'`, args: []any{`%a\%b\_c\\d%`}},
		{filter: `userName sw "A"`, want: `users.user_name_ci LIKE ? ESCAPE '\'`, args: []any{`a%`}},
		{filter: `userName ew "A"`, want: `users.user_name_ci LIKE ? ESCAPE '\'`, args: []any{`%a`}},
		{filter: `userName pr`, want: `(users.user_name_ci IS NOT NULL AND users.user_name_ci <> '')`},
		// caseExact, nullable.
		{filter: `externalId eq "X"`, want: `(users.external_id IS NOT NULL AND users.external_id = ?)`, args: []any{"X"}},
		{filter: `externalId ne "X"`, want: `(users.external_id IS NULL OR users.external_id <> ?)`, args: []any{"X"}},
		{filter: `externalId gt "X"`, want: `(users.external_id IS NOT NULL AND users.external_id{C} > ?)`, args: []any{"X"}},
		{filter: `id eq "U-1"`, want: `users.id = ?`, args: []any{"U-1"}},
		// caseExact=false without a shadow column: ASCII folding on both sides.
		{filter: `title eq "Dr É"`, want: `(users.title IS NOT NULL AND lower(users.title{C}) = ?)`, args: []any{"dr É"}},
		{filter: `title ne "X"`, want: `(users.title IS NULL OR lower(users.title{C}) <> ?)`, args: []any{"x"}},
		{filter: `title sw "X_"`, want: `(users.title IS NOT NULL AND lower(users.title{C}) LIKE ? ESCAPE '\')`, args: []any{`x\_%`}},
		{filter: `title lt "X"`, want: `(users.title IS NOT NULL AND lower(users.title{C}){C} < ?)`, args: []any{"x"}},
		{filter: `title pr`, want: `(users.title IS NOT NULL AND users.title <> '')`},
		{filter: `title eq null`, want: `NOT (users.title IS NOT NULL AND users.title <> '')`},
		{filter: `title ne null`, want: `(users.title IS NOT NULL AND users.title <> '')`},
		{filter: `name.givenName eq "A"`, want: `(users.given_name IS NOT NULL AND lower(users.given_name{C}) = ?)`, args: []any{"a"}},
		{filter: `displayName eq "a \"b\" \\ c"`, want: `(users.display_name IS NOT NULL AND lower(users.display_name{C}) = ?)`, args: []any{`a "b" \ c`}},
		// Booleans.
		{filter: `active eq true`, want: `users.active = ?`, args: []any{true}},
		{filter: `active eq "False"`, want: `users.active = ?`, args: []any{false}},
		{filter: `active ne false`, want: `users.active <> ?`, args: []any{false}},
		{filter: `active pr`, want: `users.active IS NOT NULL`},
		{filter: `not (active pr)`, want: `NOT (users.active IS NOT NULL)`},
		// Timestamps: whole seconds unless a fraction is given.
		{filter: `meta.created eq "2024-01-01T00:00:00Z"`, want: `(users.created_at >= ? AND users.created_at < ?)`,
			args: []any{int64(1704067200000000), int64(1704067201000000)}},
		{filter: `meta.created eq "2024-01-01T01:00:00+01:00"`, want: `(users.created_at >= ? AND users.created_at < ?)`,
			args: []any{int64(1704067200000000), int64(1704067201000000)}},
		{filter: `meta.created eq "2024-01-01T00:00:00.25Z"`, want: `(users.created_at >= ? AND users.created_at < ?)`,
			args: []any{int64(1704067200250000), int64(1704067200250001)}},
		{filter: `meta.created ne "2024-01-01T00:00:00Z"`, want: `(users.created_at < ? OR users.created_at >= ?)`,
			args: []any{int64(1704067200000000), int64(1704067201000000)}},
		{filter: `meta.created gt "2024-01-01T00:00:00Z"`, want: `users.created_at >= ?`, args: []any{int64(1704067201000000)}},
		{filter: `meta.created ge "2024-01-01T00:00:00Z"`, want: `users.created_at >= ?`, args: []any{int64(1704067200000000)}},
		{filter: `meta.created lt "2024-01-01T00:00:00Z"`, want: `users.created_at < ?`, args: []any{int64(1704067200000000)}},
		{filter: `meta.LASTMODIFIED le "2024-01-01T00:00:00"`, want: `users.updated_at < ?`, args: []any{int64(1704067201000000)}},
		{filter: `meta.created pr`, want: `users.created_at IS NOT NULL`},
		// Multi-valued: one EXISTS per comparison, one for a whole value path.
		{filter: `emails.value eq "A@X"`, want: emails1 + ` AND (e1.value_ci IS NOT NULL AND e1.value_ci = ?))`, args: []any{"a@x"}},
		{filter: `emails eq "A@X"`, want: emails1 + ` AND (e1.value_ci IS NOT NULL AND e1.value_ci = ?))`, args: []any{"a@x"}},
		{filter: `emails pr`, want: emails1 + `)`},
		{filter: `emails.value pr`, want: emails1 + ` AND (e1.value_ci IS NOT NULL AND e1.value_ci <> ''))`},
		{filter: `emails eq null`, want: `NOT ` + emails1 + `)`},
		{filter: `not (emails.value eq "x")`, want: `NOT ` + emails1 + ` AND (e1.value_ci IS NOT NULL AND e1.value_ci = ?))`, args: []any{"x"}},
		{filter: `emails.value ne "x"`, want: `(` + emails1 + ` AND (e1.value_ci IS NULL OR e1.value_ci <> ?)) OR NOT EXISTS (SELECT 1 FROM user_emails e2 WHERE e2.user_pk = users.pk))`, args: []any{"x"}},
		{filter: `emails[type eq "Work" and value co "@X.com"]`,
			want: emails1 + ` AND ((e1.type IS NOT NULL AND lower(e1.type{C}) = ?) AND (e1.value_ci IS NOT NULL AND e1.value_ci LIKE ? ESCAPE '\')))`,
			args: []any{"work", `%@x.com%`}},
		{filter: `emails[not (primary eq true)]`, want: emails1 + ` AND NOT (e1.is_primary = ?))`, args: []any{true}},
		{filter: `emails[type eq "a"] or emails[type eq "b"]`,
			want: `(` + emails1 + ` AND (e1.type IS NOT NULL AND lower(e1.type{C}) = ?)) OR EXISTS (SELECT 1 FROM user_emails e2 WHERE e2.user_pk = users.pk AND (e2.type IS NOT NULL AND lower(e2.type{C}) = ?)))`,
			args: []any{"a", "b"}},
		{filter: coreURN + `:emails[value eq "x"]`, want: emails1 + ` AND (e1.value_ci IS NOT NULL AND e1.value_ci = ?))`, args: []any{"x"}},
		{filter: `addresses pr`, want: `EXISTS (SELECT 1 FROM user_addresses a1 WHERE a1.user_pk = users.pk)`},
		{filter: `phoneNumbers.primary eq true`, want: `EXISTS (SELECT 1 FROM user_phone_numbers p1 WHERE p1.user_pk = users.pk AND p1.is_primary = ?)`, args: []any{true}},
		{filter: `groups.value eq "G1"`, want: `EXISTS (SELECT 1 FROM user_groups g1j JOIN groups g1 ON g1.pk = g1j.group_pk WHERE g1j.user_pk = users.pk AND g1.id = ?)`, args: []any{"G1"}},
		{filter: `groups eq "G1"`, want: `EXISTS (SELECT 1 FROM user_groups g1j JOIN groups g1 ON g1.pk = g1j.group_pk WHERE g1j.user_pk = users.pk AND g1.id = ?)`, args: []any{"G1"}},
		{filter: `groups.display eq "Eng"`, want: `EXISTS (SELECT 1 FROM user_groups g1j JOIN groups g1 ON g1.pk = g1j.group_pk WHERE g1j.user_pk = users.pk AND g1.display_name_ci = ?)`, args: []any{"eng"}},
		{filter: `groups.type eq "Indirect"`, want: `EXISTS (SELECT 1 FROM user_groups g1j JOIN groups g1 ON g1.pk = g1j.group_pk WHERE g1j.user_pk = users.pk AND lower(CASE WHEN EXISTS (SELECT 1 FROM group_members g1d WHERE g1d.user_pk = users.pk AND g1d.group_pk = g1.pk) THEN 'direct' ELSE 'indirect' END{C}) = ?)`, args: []any{"indirect"}},
		// Logic and precedence, as the parser builds it.
		{filter: `id eq "a" or id eq "b" and id eq "c"`, want: `(users.id = ? OR (users.id = ? AND users.id = ?))`, args: []any{"a", "b", "c"}},
		{filter: `(id eq "a" or id eq "b") and id eq "c"`, want: `((users.id = ? OR users.id = ?) AND users.id = ?)`, args: []any{"a", "b", "c"}},
		{filter: `not (id eq "a" or id eq "b")`, want: `NOT (users.id = ? OR users.id = ?)`, args: []any{"a", "b"}},
		// Complex attributes.
		{filter: `name pr`, want: `((users.family_name IS NOT NULL AND users.family_name <> '') OR (users.name_formatted IS NOT NULL AND users.name_formatted <> '') OR (users.given_name IS NOT NULL AND users.given_name <> '') OR (users.honorific_prefix IS NOT NULL AND users.honorific_prefix <> '') OR (users.honorific_suffix IS NOT NULL AND users.honorific_suffix <> '') OR (users.middle_name IS NOT NULL AND users.middle_name <> ''))`},
		// Enterprise extension, URN matched case-insensitively, however the parser splits it.
		{filter: entURN + `:employeeNumber eq "E1"`, want: `(users.employee_number IS NOT NULL AND lower(users.employee_number{C}) = ?)`, args: []any{"e1"}},
		{filter: strings.ToUpper(entURN) + `:DEPARTMENT eq "x"`, want: `(users.department IS NOT NULL AND lower(users.department{C}) = ?)`, args: []any{"x"}},
		{filter: entURN + `:manager.value eq "M"`, want: `(users.manager_value IS NOT NULL AND users.manager_value = ?)`, args: []any{"M"}},
		{filter: entURN + `.manager eq "M"`, want: `(users.manager_value IS NOT NULL AND users.manager_value = ?)`, args: []any{"M"}},
		{filter: entURN + `:manager eq "M"`, want: `(users.manager_value IS NOT NULL AND users.manager_value = ?)`, args: []any{"M"}},
		{filter: entURN + `:manager.$ref eq "https://x/Users/M"`, want: `(users.manager_ref IS NOT NULL AND users.manager_ref = ?)`, args: []any{"https://x/Users/M"}},
		{filter: `employeeNumber eq "E1"`, want: `(users.employee_number IS NOT NULL AND lower(users.employee_number{C}) = ?)`, args: []any{"e1"}},
		{filter: coreURN + `:userName eq "X"`, want: `users.user_name_ci = ?`, args: []any{"x"}},
		{filter: coreURN + `:name.familyName pr`, want: `(users.family_name IS NOT NULL AND users.family_name <> '')`},
		// Injection-looking input stays in Args.
		{filter: `userName eq "x' OR 1=1 --"`, want: `users.user_name_ci = ?`, args: []any{"x' or 1=1 --"}},
		{filter: `nickName co "'); DROP TABLE users; --"`, want: `(users.nick_name IS NOT NULL AND lower(users.nick_name{C}) LIKE ? ESCAPE '\')`, args: []any{"%'); drop table users; --%"}},
		// Groups.
		{groups: true, filter: `displayName eq "Engineering"`, want: `groups.display_name_ci = ?`, args: []any{"engineering"}},
		{groups: true, filter: `externalId eq "X"`, want: `(groups.external_id IS NOT NULL AND groups.external_id = ?)`, args: []any{"X"}},
		{groups: true, filter: `meta.lastModified gt "2024-01-01T00:00:00Z"`, want: `groups.updated_at >= ?`, args: []any{int64(1704067201000000)}},
		// A group's members are users and groups: one EXISTS for each table.
		{groups: true, filter: `members.value eq "u1"`, want: `(` + usersM1 + ` AND m1.id = ?) OR ` + groupsN2 + ` AND n2.id = ?))`, args: []any{"u1", "u1"}},
		{groups: true, filter: `members eq "u1"`, want: `(` + usersM1 + ` AND m1.id = ?) OR ` + groupsN2 + ` AND n2.id = ?))`, args: []any{"u1", "u1"}},
		{groups: true, filter: `members pr`, want: `(` + usersM1 + `) OR ` + groupsN2 + `))`},
		{groups: true, filter: `not (members pr)`, want: `NOT (` + usersM1 + `) OR ` + groupsN2 + `))`},
		{groups: true, filter: `members.value ne "u1"`,
			want: `((` + usersM1 + ` AND m1.id <> ?) OR ` + groupsN2 + ` AND n2.id <> ?)) OR (NOT EXISTS (SELECT 1 FROM group_members m3j JOIN users m3 ON m3.pk = m3j.user_pk WHERE m3j.group_pk = groups.pk) AND NOT EXISTS (SELECT 1 FROM group_groups n4j JOIN groups n4 ON n4.pk = n4j.member_pk WHERE n4j.group_pk = groups.pk)))`,
			args: []any{"u1", "u1"}},
		{groups: true, filter: `members[display sw "A"]`, want: `(` + usersM1 + ` AND lower(COALESCE(m1.display_name, m1.user_name){C}) LIKE ? ESCAPE '\') OR ` + groupsN2 + ` AND lower(n2.display_name{C}) LIKE ? ESCAPE '\'))`, args: []any{"a%", "a%"}},
		{groups: true, filter: `members[type eq "group" and value eq "g1"]`,
			want: `(` + usersM1 + ` AND (lower('User'{C}) = ? AND m1.id = ?)) OR ` + groupsN2 + ` AND (lower('Group'{C}) = ? AND n2.id = ?)))`,
			args: []any{"group", "g1", "group", "g1"}},
		{groups: true, filter: `members.type eq "User"`, want: `(` + usersM1 + ` AND lower('User'{C}) = ?) OR ` + groupsN2 + ` AND lower('Group'{C}) = ?))`, args: []any{"user", "user"}},
	} {
		for _, d := range dialects {
			want := strings.ReplaceAll(tc.want, "{C}", d.binaryCollation)
			r := userFilter
			if tc.groups {
				r = groupFilter
			}
			c, err := compileFilter(r, parse(t, tc.filter), d)
			if err != nil {
				t.Errorf("%s %s: %v", d.name, tc.filter, err)
				continue
			}
			if c.sql != want {
				t.Errorf("%s %s:\n got SQL %s\nwant SQL %s", d.name, tc.filter, c.sql, want)
			}
			if !reflect.DeepEqual(c.args, tc.args) && !(len(c.args) == 0 && len(tc.args) == 0) {
				t.Errorf("%s %s: got args %#v, want %#v", d.name, tc.filter, c.args, tc.args)
			}
		}
	}
}

func TestCompileNil(t *testing.T) {
	for _, d := range dialects {
		for _, r := range []*filterResource{userFilter, groupFilter} {
			c, err := compileFilter(r, nil, d)
			if err != nil || c.sql != "" || len(c.args) != 0 {
				t.Fatalf("%s %s: nil filter: %+v, %v", d.name, r.table, c, err)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	many := `id eq "x"` + strings.Repeat(` or id eq "x"`, maxNodes/2)
	for _, tc := range []struct {
		groups bool
		filter string
		msg    string // expected in the error text
	}{
		{filter: `nosuch eq "x"`, msg: `attribute "nosuch" is not filterable`},
		{filter: `userName eq "x" and nosuch pr`, msg: `attribute "nosuch" is not filterable`},
		{filter: `active gt true`, msg: `operator gt is not defined for boolean attribute "active"`},
		{filter: `active co "t"`, msg: `operator co is not defined for boolean attribute "active"`},
		{filter: `active eq "yes"`, msg: `attribute "active" is boolean`},
		{filter: `active eq 1`, msg: `attribute "active" is boolean`},
		{filter: `emails[primary lt true]`, msg: `operator lt is not defined for boolean attribute "emails.primary"`},
		{filter: `userName eq 5`, msg: `attribute "userName" is a string`},
		{filter: `userName eq 1.5`, msg: `attribute "userName" is a string`},
		{filter: "userName eq \"\xbd\"", msg: `not valid UTF-8`},
		{filter: "emails[value co \"a\xffb\"]", msg: `not valid UTF-8`},
		{filter: `userName eq true`, msg: `attribute "userName" is a string`},
		{filter: `userName gt null`, msg: `operator gt cannot compare with null`},
		{filter: `meta.created eq "yesterday"`, msg: `"yesterday" is not an RFC 3339 timestamp`},
		{filter: `meta.created eq 5`, msg: `attribute "meta.created" is a dateTime`},
		{filter: `meta.created co "2024"`, msg: `operator co is not defined for dateTime attribute "meta.created"`},
		{filter: `meta.version eq "W/\"1\""`, msg: `attribute "meta.version" is not filterable`},
		{filter: `meta eq "x"`, msg: `attribute "meta" is complex`},
		{filter: `password eq "secret"`, msg: `attribute "password" is not filterable`},
		{filter: `name eq "x"`, msg: `attribute "name" is complex`},
		{filter: `addresses eq "x"`, msg: `attribute "addresses" is complex`},
		{filter: `userName.x eq "x"`, msg: `attribute "userName.x" is not filterable`},
		{filter: `emails.nosuch eq "x"`, msg: `attribute "emails.nosuch" is not filterable`},
		{filter: `nosuch[value eq "x"]`, msg: `attribute "nosuch" is not filterable`},
		{filter: `userName[value eq "x"]`, msg: `attribute "userName" is not multi-valued`},
		{filter: `name[givenName eq "x"]`, msg: `attribute "name" is not multi-valued`},
		{filter: entURN + `:manager[value eq "x"]`, msg: `is not multi-valued`},
		{filter: `emails[nosuch eq "x"]`, msg: `attribute "emails.nosuch" is not filterable`},
		{filter: `emails[value.x eq "x"]`, msg: `cannot be used inside emails[...]`},
		{filter: `emails[type eq "work" or nosuch pr]`, msg: `attribute "emails.nosuch" is not filterable`},
		{filter: `emails[` + coreURN + `:userName eq "x"]`, msg: `cannot be used inside emails[...]`},
		{filter: `ims eq "x"`, msg: `attribute "ims" is not filterable`},
		{filter: `urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"`, msg: `unknown schema`},
		{filter: entURN + `:nosuch eq "x"`, msg: `is not filterable`},
		{filter: `manager.value gt 5`, msg: `attribute "` + entURN + `:manager.value" is a string`},
		{filter: `urn:x:` + entURN + `:department eq "x"`, msg: `unknown schema`},
		{filter: many, msg: `more than 100 terms`},
		{groups: true, filter: `userName eq "x"`, msg: `attribute "userName" is not filterable`},
		{groups: true, filter: entURN + `:department eq "x"`, msg: `unknown schema`},
		{groups: true, filter: `members.nosuch eq "x"`, msg: `attribute "members.nosuch" is not filterable`},
		{groups: true, filter: `members.$ref eq "x"`, msg: `attribute "members.$ref" is not filterable`},
		{filter: `groups.$ref eq "x"`, msg: `attribute "groups.$ref" is not filterable`},
	} {
		r := userFilter
		if tc.groups {
			r = groupFilter
		}
		for _, d := range dialects {
			_, err := compileFilter(r, parse(t, tc.filter), d)
			var fe *store.FilterError
			if !errors.Is(err, store.ErrInvalidFilter) || !errors.As(err, &fe) || !strings.Contains(fe.Reason, tc.msg) {
				t.Errorf("%s %s: got error %v, want a FilterError with %q", d.name, tc.filter, err, tc.msg)
			}
		}
	}
}

// TestCompileMalformedAST feeds trees the parser would never build: a caller that makes
// its own must get an error, not a panic.
func TestCompileMalformedAST(t *testing.T) {
	name := "userName"
	for _, e := range []filter.Expression{
		(*filter.AttributeExpression)(nil),
		(*filter.LogicalExpression)(nil),
		(*filter.NotExpression)(nil),
		(*filter.ValuePath)(nil),
		&filter.LogicalExpression{Operator: filter.AND},
		&filter.LogicalExpression{Left: parse(t, `id pr`), Right: parse(t, `id pr`), Operator: "xor"},
		&filter.NotExpression{},
		&filter.ValuePath{AttributePath: filter.AttributePath{AttributeName: "emails"}},
		&filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: name}, Operator: "zz", CompareValue: "x"},
		&filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: "active"}, Operator: "zz", CompareValue: true},
		&filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: name}, Operator: filter.EQ, CompareValue: []int{1}},
		&filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: ""}, Operator: filter.PR},
		&filter.ValuePath{AttributePath: filter.AttributePath{AttributeName: "emails"},
			ValueFilter: &filter.ValuePath{AttributePath: filter.AttributePath{AttributeName: "emails"}, ValueFilter: parse(t, `value pr`)}},
	} {
		for _, d := range dialects {
			if _, err := compileFilter(userFilter, e, d); !errors.Is(err, store.ErrInvalidFilter) {
				t.Errorf("%s %#v: got %v, want ErrInvalidFilter", d.name, e, err)
			}
		}
	}
}

// TestNamesUnambiguous guards lookup: it finds names with EqualFold, so two attributes
// whose names differ only in case would make the result depend on map order.
func TestNamesUnambiguous(t *testing.T) {
	var check func(where string, m map[string]*attr)
	check = func(where string, m map[string]*attr) {
		seen := map[string]bool{}
		for k, a := range m {
			if seen[strings.ToLower(k)] {
				t.Errorf("%s: %q differs from another attribute only in case", where, k)
			}
			seen[strings.ToLower(k)] = true
			check(where+"."+k, a.subs)
		}
	}
	for _, r := range []*filterResource{userFilter, groupFilter} {
		for _, s := range r.schemas {
			check(s.urn, s.attrs)
		}
	}
}

var (
	sqlWord   = regexp.MustCompile(`[A-Za-z0-9_$]+`)
	aliasWord = regexp.MustCompile(`^[a-z][0-9]+j?$`)
	// The only literals the compiler writes: its own, and the dialects' binaryCollation.
	literals = func() *strings.Replacer {
		// The constants of the attribute tables: a member's type, a user group's.
		pairs := []string{`ESCAPE '\'`, "", `<> ''`, "", `'User'`, "", `'Group'`, "", `'direct'`, "", `'indirect'`, ""}
		for _, d := range dialects {
			if d.binaryCollation != "" {
				pairs = append(pairs, d.binaryCollation, "")
			}
		}
		return strings.NewReplacer(pairs...)
	}()
)

// checkSQL asserts that c's text is built only from the compiler's own words, so that
// nothing of the filter reached it: every word is a keyword, a column or table of the
// attribute tables, or a generated alias; no quote is left once the compiler's fixed
// literals are removed; and each argument has exactly one placeholder.
func checkSQL(t *testing.T, input string, c condition) {
	t.Helper()
	if n := strings.Count(c.sql, "?"); n != len(c.args) {
		t.Fatalf("%s: %d placeholders for %d args in %s", input, n, len(c.args), c.sql)
	}
	rest := literals.Replace(c.sql)
	if strings.ContainsAny(rest, `'"`+";\\") || strings.Contains(rest, "--") || strings.Contains(rest, "/*") {
		t.Fatalf("%s: stray quote or comment in SQL %s", input, c.sql)
	}
	for _, word := range sqlWord.FindAllString(rest, -1) {
		if !allowedWords[word] && !aliasWord.MatchString(word) {
			t.Fatalf("%s: SQL has the word %q, which the compiler does not write: %s", input, word, c.sql)
		}
	}
}

var allowedWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("EXISTS SELECT FROM WHERE JOIN ON AND OR NOT IS NULL LIKE 1 lower COALESCE users groups t j") {
		m[w] = true
	}
	var add func(attrs map[string]*attr)
	add = func(attrs map[string]*attr) {
		for _, a := range attrs {
			for _, w := range sqlWord.FindAllString(a.expr+" "+a.from, -1) {
				m[w] = true
			}
			add(a.subs)
			for _, u := range a.union {
				add(map[string]*attr{"": u})
			}
		}
	}
	for _, r := range []*filterResource{userFilter, groupFilter} {
		for _, s := range r.schemas {
			add(s.attrs)
		}
	}
	return m
}()
