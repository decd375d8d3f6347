package sqlstore_test

import (
	"errors"
	"testing"

	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

var fuzzSeeds = []string{
	`userName eq "bjensen"`,
	`userName Eq "BJensen" and active eq "False"`,
	`name.familyName co "O'Malley"`,
	`userName sw "J%_\\"`,
	`title pr`,
	`title eq null or title ne null`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`meta.created ge "2011-05-13T04:42:34.5+02:00" and meta.created le "2030-01-01T00:00:00"`,
	`meta.created eq "not a date"`,
	`title pr and userType eq "Employee"`,
	`title pr or userType eq "Intern"`,
	`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`,
	`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`userType eq "Employee" and (emails.type eq "work")`,
	`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`,
	`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
	`emails[not (primary eq true)] and phoneNumbers pr and not (addresses pr)`,
	`emails.value ne "x" or phoneNumbers.value ne "y"`,
	`addresses[postalCode eq "75001" or locality sw "Pa"]`,
	`groups.value eq "g1" or groups[display ew "ing"]`,
	`members[value eq "u1"] or members.display co "a"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager eq "1"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName sw "B"`,
	`URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.givenName gt "a"`,
	`id eq "x' OR 1=1 --"`,
	`externalId eq "\"; DROP TABLE users; --"`,
	`displayName eq "?" and nickName co "$1"`,
	`active gt true`,
	`userName eq 12345678901234567890`,
	`userName eq -1.5e3`,
	`not (not (not (userName pr)))`,
	`name pr and meta pr`,
}

// FuzzCompileUsers checks that no filter the parser accepts makes the compiler panic,
// produce SQL that the database rejects, or put anything but its own SQL in the text,
// for users and for groups. The seeds and the corpus in testdata/fuzz run as an ordinary
// test, on every backend of the run.
func FuzzCompileUsers(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	var stores []*sqlstore.Store
	for _, b := range sqltest.Backends(f) {
		stores = append(stores, sqltest.Open(f, b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := fp.ParseFilter([]byte(s))
		if err != nil {
			return
		}
		for _, st := range stores {
			for _, r := range []struct {
				table   string
				compile func(store.Filter) (string, []any, error)
			}{{"users", st.CompileUsersForTest}, {"groups", st.CompileGroupsForTest}} {
				sql, args, err := r.compile(e)
				if err != nil {
					var fe *store.FilterError
					if !errors.Is(err, store.ErrInvalidFilter) || !errors.As(err, &fe) {
						t.Fatalf("%s: error %v is not a FilterError", s, err)
					}
					continue
				}
				sqlstore.CheckCompiledSQLForTest(t, s, sql, args)
				var n int
				q := st.DB().Rebind(`SELECT count(*) FROM ` + r.table + ` WHERE ` + sql)
				if err := st.DB().QueryRow(q, args...).Scan(&n); err != nil {
					t.Fatalf("%s on %s: %v\nSQL: %s\nargs: %#v", s, st.Backend(), err, sql, args)
				}
			}
		}
	})
}
