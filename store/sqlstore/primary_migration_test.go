package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// TestPrimaryMigration0014: rows written before primary_false existed read as they
// rendered before: is_primary true is primary true, false is primary left out (never an
// explicit false, which no client could have sent and seen back); after the migration
// the same user takes an explicit false.
func TestPrimaryMigration0014(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := storeAtMigration(t, b, 13)
			db := s.DB()
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.Exec(db.Rebind(q), args...); err != nil {
					t.Fatal(err)
				}
			}
			exec(`INSERT INTO users (id, user_name, user_name_ci, username, email, created_at, updated_at)
				VALUES ('u-old', 'old@example.com', 'old@example.com', 'old', 'old@example.com', 0, 0)`)
			for i, p := range []bool{true, false} {
				exec(`INSERT INTO user_emails (user_pk, ord, value, value_ci, type, is_primary)
					SELECT pk, ?, ?, ?, 'work', ? FROM users WHERE id = 'u-old'`, i, fmt.Sprintf("e%d@example.com", i), fmt.Sprintf("e%d@example.com", i), p)
				exec(`INSERT INTO user_phone_numbers (user_pk, ord, value, is_primary) SELECT pk, ?, ?, ? FROM users WHERE id = 'u-old'`,
					i, fmt.Sprintf("+%d", i), p)
				exec(`INSERT INTO user_addresses (user_pk, ord, locality, is_primary) SELECT pk, ?, ?, ? FROM users WHERE id = 'u-old'`,
					i, fmt.Sprintf("L%d", i), p)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			primaries := func(u store.User) string {
				var out []string
				for i := range u.Emails {
					out = append(out, fmt.Sprintf("%v/%v %v/%v %v/%v", u.Emails[i].Primary, u.Emails[i].PrimaryFalse,
						u.PhoneNumbers[i].Primary, u.PhoneNumbers[i].PrimaryFalse, u.Addresses[i].Primary, u.Addresses[i].PrimaryFalse))
				}
				return fmt.Sprint(out)
			}
			u, err := s.GetUser(ctx, "u-old")
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Emails) != 2 || len(u.PhoneNumbers) != 2 || len(u.Addresses) != 2 {
				t.Fatalf("after the migration: %+v", u)
			}
			if got, want := primaries(u), "[true/false true/false true/false false/false false/false false/false]"; got != want {
				t.Fatalf("primaries after the migration %s, want %s", got, want)
			}
			u, err = s.UpdateUser(ctx, "u-old", 0, func(u *store.User) error {
				u.Emails[1].PrimaryFalse, u.PhoneNumbers[1].PrimaryFalse, u.Addresses[1].PrimaryFalse = true, true, true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if u, err = s.GetUser(ctx, "u-old"); err != nil {
				t.Fatal(err)
			}
			if got, want := primaries(u), "[true/false true/false true/false false/true false/true false/true]"; got != want {
				t.Fatalf("primaries after an explicit false %s, want %s", got, want)
			}
		})
	}
}
