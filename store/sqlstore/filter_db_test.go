package sqlstore_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The filters on a database whose rows are written with SQL, so that they can hold what
// the API cannot set (creation and modification times, ids), and read through ListUsers
// and ListGroups. The conformance suite (store/storetest) runs most of these filters on
// rows written through the API.

const (
	entURN  = store.EnterpriseUserSchema
	coreURN = store.UserSchema
)

func parseFilter(t testing.TB, s string) store.Filter {
	t.Helper()
	f, err := fp.ParseFilter([]byte(s))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return f
}

type row = map[string]any

type fixtureUser struct {
	id, userName string
	created      string // RFC 3339
	cols         row    // further users columns
	emails       []row
	phones       []row
	addresses    []row
}

const (
	alice  = "Alice@Example.com"
	bob    = "bob"
	elodie = "ÉLODIE@x.com"
	carol  = "carol"
	dave   = "dave"
)

var fixtureUsers = []fixtureUser{
	{id: "u-alice", userName: alice, created: "2024-01-01T00:00:00.5Z",
		cols: row{"external_id": "ext-1", "display_name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
			"title": "Engineer", "employee_number": "1001", "department": "R&D", "cost_center": "CC_1",
			"manager_value": "u-bob", "manager_display_name": "Bob Builder",
			"updated_at": micros("2024-03-01T10:00:00Z")},
		emails: []row{{"value": alice, "type": "work", "is_primary": true}, {"value": "alice@home.org", "type": "home"}},
		phones: []row{{"value": "+1 555 0100", "type": "work"}},
		addresses: []row{{"locality": "Paris", "country": "FR", "postal_code": "75001", "street_address": "1 Rue de Rivoli",
			"type": "work", "is_primary": true}}},
	{id: "u-bob", userName: bob, created: "2024-01-02T00:00:00Z",
		cols:   row{"external_id": "ext-2", "display_name": "Bob", "nick_name": "100%_sure", "title": "Manager", "active": false, "department": "Sales"},
		emails: []row{{"value": "bob@x.com", "type": "work"}}},
	{id: "u-elodie", userName: elodie, created: "2024-06-15T12:30:45Z",
		cols:   row{"given_name": "Élodie", "title": `a_b\c`},
		emails: []row{{"value": elodie, "type": "work", "display": "Élodie"}}},
	{id: "u-carol", userName: carol, created: "2023-12-31T23:59:59.999999Z",
		cols: row{"nick_name": "1000 sure"}},
	{id: "u-dave", userName: dave, created: "2022-05-05T00:00:00Z",
		cols:   row{"external_id": "EXT-4", "display_name": `Dave "D" Jones`, "nick_name": "x' OR 1=1 --", "title": ""},
		emails: []row{{"value": "dave@x.com", "type": "home", "is_primary": true}, {"value": "d@work.com", "type": "work"}},
		phones: []row{{"value": "+44 20 7946 0000", "type": "mobile"}}},
}

var fixtureGroups = []struct {
	id, name, created string
	cols              row
	members           []string
}{
	{"g-eng", "Engineering", "2024-01-01T00:00:00Z", row{"external_id": "gx-1"}, []string{"u-alice", "u-dave"}},
	{"g-sales", "Sales", "2024-01-01T00:00:00Z", nil, []string{"u-bob"}},
	{"g-emi", "Émigrés", "2024-01-01T00:00:00Z", nil, []string{"u-carol"}},
	{"g-empty", "Empty", "2025-01-01T00:00:00Z", nil, nil},
}

func micros(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMicro()
}

// insert writes one row and returns its pk. Column names come from the fixtures above.
func insert(t *testing.T, db *sqlx.DB, table string, r row) int64 {
	t.Helper()
	cols := make([]string, 0, len(r))
	for c := range r {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	args := make([]any, len(cols))
	for i, c := range cols {
		args[i] = r[c]
	}
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	if !strings.HasPrefix(table, "user_") && table != "group_members" && table != "group_ancestors" {
		var pk int64
		if err := db.QueryRow(db.Rebind(q+" RETURNING pk"), args...).Scan(&pk); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return pk
	}
	if _, err := db.Exec(db.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return 0
}

// seed writes the fixtures directly, as the store would: lower-cased shadow columns,
// Unix microseconds, NULL for absent strings.
func seed(t *testing.T, s *sqlstore.Store) {
	db := s.DB()
	pks := map[string]int64{}
	for _, u := range fixtureUsers {
		r := row{"id": u.id, "user_name": u.userName, "user_name_ci": strings.ToLower(u.userName),
			"created_at": micros(u.created), "updated_at": micros(u.created) + int64(24*time.Hour/time.Microsecond)}
		for k, v := range u.cols {
			r[k] = v
		}
		pk := insert(t, db, "users", r)
		pks[u.id] = pk
		for table, rows := range map[string][]row{"user_emails": u.emails, "user_phone_numbers": u.phones, "user_addresses": u.addresses} {
			for i, e := range rows {
				r := row{"user_pk": pk, "ord": i}
				for k, v := range e {
					r[k] = v
				}
				if table == "user_emails" {
					r["value_ci"] = strings.ToLower(e["value"].(string))
				}
				insert(t, db, table, r)
			}
		}
	}
	for _, g := range fixtureGroups {
		r := row{"id": g.id, "display_name": g.name, "display_name_ci": strings.ToLower(g.name),
			"created_at": micros(g.created), "updated_at": micros(g.created)}
		for k, v := range g.cols {
			r[k] = v
		}
		gpk := insert(t, db, "groups", r)
		insert(t, db, "group_ancestors", row{"group_pk": gpk, "ancestor_pk": gpk}) // every group contains itself
		for _, m := range g.members {
			insert(t, db, "group_members", row{"group_pk": gpk, "user_pk": pks[m]})
		}
	}
}

func TestUsersOnDatabase(t *testing.T) {
	all := []string{alice, bob, elodie, carol, dave}
	cases := []struct {
		filter string
		want   []string
	}{
		// userName: case-insensitive, including non-ASCII, through the shadow column.
		{`userName eq "alice@example.com"`, []string{alice}},
		{`USERNAME EQ "ALICE@EXAMPLE.COM"`, []string{alice}},
		{`userName eq "élodie@x.com"`, []string{elodie}},
		{`userName eq "ÉLODIE@X.COM"`, []string{elodie}},
		{`userName sw "éLo"`, []string{elodie}},
		{`userName co "@"`, []string{alice, elodie}},
		{`userName ew ".COM"`, []string{alice, elodie}},
		{`userName gt "bob"`, []string{carol, dave, elodie}},
		{`userName le "bob"`, []string{alice, bob}},
		{`userName ne "BOB"`, []string{alice, carol, dave, elodie}},
		{`id eq "u-bob"`, []string{bob}},
		{`id eq "U-BOB"`, nil},
		// Other caseExact=false strings fold ASCII only, identically on both databases.
		{`name.givenName eq "ALICE"`, []string{alice}},
		{`name.givenName eq "Élodie"`, []string{elodie}},
		{`name.givenName eq "élodie"`, nil},
		{`name.familyName sw "lid"`, []string{alice}},
		{`name pr`, []string{alice, elodie}},
		// %, _ and \ in values are literal.
		{`nickName co "0%_"`, []string{bob}},
		{`nickName sw "100%_"`, []string{bob}},
		{`nickName sw "100"`, []string{bob, carol}},
		{`nickName ew "_sure"`, []string{bob}},
		{`title co "_b\\"`, []string{elodie}},
		{`title ew "\\c"`, []string{elodie}},
		{`title eq "a_b\\c"`, []string{elodie}},
		{`displayName eq "Dave \"D\" Jones"`, []string{dave}},
		// Injection-looking values are plain values.
		{`nickName eq "x' OR 1=1 --"`, []string{dave}},
		{`userName eq "x' OR 1=1 --"`, nil},
		{`userName eq "bob\" OR \"1\"=\"1"`, nil},
		// Presence, null, and ne matching absent values.
		{`title pr`, []string{alice, bob, elodie}},
		{`title eq null`, []string{carol, dave}},
		{`title ne null`, []string{alice, bob, elodie}},
		{`not (title pr)`, []string{carol, dave}},
		{`title ne "engineer"`, []string{bob, carol, dave, elodie}},
		{`not (title eq "ENGINEER")`, []string{bob, carol, dave, elodie}},
		{`externalId eq "EXT-1"`, nil},
		{`externalId eq "ext-1"`, []string{alice}},
		{`externalId ne "ext-1"`, []string{bob, carol, dave, elodie}},
		{`externalId lt "a"`, []string{dave}}, // bytewise: "EXT-4" < "a" < "ext-1"
		// Booleans, including Entra's string booleans.
		{`active eq false`, []string{bob}},
		{`active eq "False"`, []string{bob}},
		{`active eq "TRUE"`, []string{alice, carol, dave, elodie}},
		{`active ne true`, []string{bob}},
		{`active pr`, all},
		{`not (active eq true)`, []string{bob}},
		// Multi-valued attributes: any value matches.
		{`emails.value eq "bob@x.com"`, []string{bob}},
		{`emails eq "BOB@X.COM"`, []string{bob}},
		{`emails.value eq "élodie@x.com"`, []string{elodie}},
		{`emails.value co "x.com"`, []string{bob, dave, elodie}},
		{`emails.primary eq true`, []string{alice, dave}},
		{`emails pr`, []string{alice, bob, dave, elodie}},
		{`not (emails pr)`, []string{carol}},
		{`emails eq null`, []string{carol}},
		{`emails.value ne "bob@x.com"`, []string{alice, carol, dave, elodie}},
		{`not (emails.value eq "bob@x.com")`, []string{alice, carol, dave, elodie}},
		// A value path holds all its conditions on one element; separate comparisons do not.
		{`emails[type eq "work" and value co "@x.com"]`, []string{bob, elodie}},
		{`emails.type eq "work" and emails.value co "@x.com"`, []string{bob, dave, elodie}},
		{`emails[type eq "home" or primary eq true]`, []string{alice, dave}},
		{`emails[not (type eq "work")]`, []string{alice, dave}},
		{`emails[value ew "@x.com"] and not (emails[type eq "home"])`, []string{bob, elodie}},
		{`emails[display eq "Élodie"]`, []string{elodie}},
		{`emails[value eq null]`, nil},
		{`phoneNumbers.value sw "+44"`, []string{dave}},
		{`phoneNumbers[type eq "WORK"]`, []string{alice}},
		{`phoneNumbers pr`, []string{alice, dave}},
		{`addresses[locality eq "paris" and country eq "fr"]`, []string{alice}},
		{`addresses.postalCode eq "75001"`, []string{alice}},
		{`addresses.streetAddress co "rivoli"`, []string{alice}},
		// Precedence: and binds tighter than or; parentheses and not.
		{`userName eq "bob" or userName eq "carol" and active eq false`, []string{bob}},
		{`(userName eq "bob" or userName eq "carol") and active eq true`, []string{carol}},
		{`userName eq "carol" and active eq true or userName eq "bob"`, []string{bob, carol}},
		{`not (userName eq "bob" or userName eq "carol")`, []string{alice, dave, elodie}},
		{`not (userName eq "bob") and not (userName eq "carol")`, []string{alice, dave, elodie}},
		// Enterprise extension and URN-qualified core attributes.
		{entURN + `:department eq "r&d"`, []string{alice}},
		{strings.ToUpper(entURN) + `:employeeNumber eq "1001"`, []string{alice}},
		{entURN + `:manager.value eq "u-bob"`, []string{alice}},
		{entURN + `.manager eq "u-bob"`, []string{alice}},
		{entURN + `:manager.displayName co "builder"`, []string{alice}},
		{entURN + `:manager pr`, []string{alice}},
		{entURN + `:costCenter ew "_1"`, []string{alice}},
		{entURN + `:department pr`, []string{alice, bob}},
		{entURN + `:department ne "sales"`, []string{alice, carol, dave, elodie}},
		{`department eq "SALES"`, []string{bob}}, // unqualified extension attribute
		{`manager.value eq "u-bob"`, []string{alice}},
		{coreURN + `:userName eq "BOB"`, []string{bob}},
		{coreURN + `:name.familyName eq "liddell"`, []string{alice}},
		{coreURN + `:emails[type eq "home"]`, []string{alice, dave}},
		// Timestamps: a whole-second value means that second.
		{`meta.created eq "2024-01-01T00:00:00Z"`, []string{alice}},
		{`meta.created eq "2024-01-01T01:00:00+01:00"`, []string{alice}},
		{`meta.created eq "2024-01-01T00:00:00"`, []string{alice}},
		{`meta.created gt "2024-01-01T00:00:00Z"`, []string{bob, elodie}},
		{`meta.created ge "2024-01-01T00:00:00Z"`, []string{alice, bob, elodie}},
		{`meta.created lt "2024-01-01T00:00:00Z"`, []string{carol, dave}},
		{`meta.created le "2024-01-01T00:00:00Z"`, []string{alice, carol, dave}},
		{`meta.created ne "2024-01-01T00:00:00Z"`, []string{bob, carol, dave, elodie}},
		{`meta.created eq "2024-01-01T00:00:00.5Z"`, []string{alice}},
		{`meta.created eq "2024-01-01T00:00:00.4Z"`, nil},
		{`meta.created lt "2024-01-01T00:00:00.5Z"`, []string{carol, dave}},
		{`meta.created eq "2023-12-31T23:59:59Z"`, []string{carol}},
		{`meta.lastModified gt "2024-02-01T00:00:00Z"`, []string{alice, elodie}},
		// Group membership.
		{`groups.value eq "g-eng"`, []string{alice, dave}},
		{`groups eq "g-sales"`, []string{bob}},
		{`groups.display eq "ENGINEERING"`, []string{alice, dave}},
		{`groups.display eq "émigrés"`, []string{carol}},
		{`groups pr`, []string{alice, bob, carol, dave}},
		{`not (groups pr)`, []string{elodie}},
		{`groups[value eq "g-eng" or display eq "sales"]`, []string{alice, bob, dave}},
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		seed(t, s)
		for _, tc := range cases {
			if got := userNames(t, s, tc.filter); !sameSet(got, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.filter, got, tc.want)
			}
		}
	})
}

func TestGroupsOnDatabase(t *testing.T) {
	cases := []struct {
		filter string
		want   []string
	}{
		{`displayName eq "engineering"`, []string{"Engineering"}},
		{`DisplayName eq "ÉMIGRÉS"`, []string{"Émigrés"}},
		{`displayName sw "é"`, []string{"Émigrés"}},
		{`displayName ne "sales"`, []string{"Engineering", "Émigrés", "Empty"}},
		{`externalId eq "gx-1"`, []string{"Engineering"}},
		{`externalId pr`, []string{"Engineering"}},
		{`id eq "g-sales"`, []string{"Sales"}},
		{`meta.created gt "2024-06-01T00:00:00Z"`, []string{"Empty"}},
		{`meta.lastModified le "2024-01-01T00:00:00Z"`, []string{"Engineering", "Sales", "Émigrés"}},
		{`members.value eq "u-alice"`, []string{"Engineering"}},
		{`members eq "u-bob"`, []string{"Sales"}},
		{`members pr`, []string{"Engineering", "Sales", "Émigrés"}},
		{`not (members pr)`, []string{"Empty"}},
		{`members[value eq "u-alice" or value eq "u-bob"]`, []string{"Engineering", "Sales"}},
		{`members[value eq "u-alice" and value eq "u-dave"]`, nil}, // one member cannot be both
		{`members.value eq "u-alice" and members.value eq "u-dave"`, []string{"Engineering"}},
		// Any member other than alice: Engineering has dave. No members at all: absent.
		{`members.value ne "u-alice"`, []string{"Engineering", "Sales", "Émigrés", "Empty"}},
		{`not (members.value eq "u-alice")`, []string{"Sales", "Émigrés", "Empty"}},
		{`members.display eq "alice liddell"`, []string{"Engineering"}},
		{`members.display eq "CAROL"`, []string{"Émigrés"}}, // no displayName: the userName
		{`members.display co "\"d\""`, []string{"Engineering"}},
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		seed(t, s)
		for _, tc := range cases {
			if got := groupNames(t, s, tc.filter); !sameSet(got, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.filter, got, tc.want)
			}
		}
	})
}

// userNames lists the userNames of the users filter selects, through ListUsers; the
// total must agree with the page.
func userNames(t *testing.T, s *sqlstore.Store, filter string) []string {
	t.Helper()
	users, total, err := s.ListUsers(context.Background(), store.Query{Filter: parseFilter(t, filter), StartIndex: 1, Count: 1000})
	if err != nil {
		t.Errorf("%s: %v", filter, err)
		return nil
	}
	got := []string{}
	for _, u := range users {
		got = append(got, u.UserName)
	}
	if total != len(got) {
		t.Errorf("%s: total %d for %d users", filter, total, len(got))
	}
	return got
}

// groupNames is userNames for groups: their displayNames, through ListGroups.
func groupNames(t *testing.T, s *sqlstore.Store, filter string) []string {
	t.Helper()
	groups, total, err := s.ListGroups(context.Background(), store.Query{Filter: parseFilter(t, filter), StartIndex: 1, Count: 1000})
	if err != nil {
		t.Errorf("%s: %v", filter, err)
		return nil
	}
	got := []string{}
	for _, g := range groups {
		got = append(got, g.DisplayName)
	}
	if total != len(got) {
		t.Errorf("%s: total %d for %d groups", filter, total, len(got))
	}
	return got
}

func sameSet(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// TestOrderingIgnoresLocale gives PostgreSQL columns a linguistic (ICU) collation, under
// which "ext-1" < "Z" and "élodie" < "f", and checks that gt/lt still order bytewise,
// as SQLite does. It is about PostgreSQL alone: a column's collation is a PostgreSQL
// setting (a SQLite column compares bytes unless told otherwise), so it runs on that
// backend only.
func TestOrderingIgnoresLocale(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		if b.Name != "postgres" {
			continue
		}
		s := sqltest.Open(t, b)
		var n int
		if err := s.DB().Get(&n, `SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'`); err != nil || n == 0 {
			t.Skipf("no ICU collation on this server (%v)", err)
		}
		for _, col := range []string{"external_id", "user_name_ci"} {
			if _, err := s.DB().Exec(`ALTER TABLE users ALTER COLUMN ` + col + ` TYPE TEXT COLLATE "und-x-icu"`); err != nil {
				t.Fatal(err)
			}
		}
		seed(t, s)
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{`externalId gt "Z"`, []string{alice, bob}},
			{`externalId lt "a"`, []string{dave}},
			{`userName gt "f"`, []string{elodie}},
		} {
			if got := userNames(t, s, tc.filter); !sameSet(got, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.filter, got, tc.want)
			}
		}
	}
}
