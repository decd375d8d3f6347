package store_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/storetest"
)

// The prepared-statement helpers answer exactly what the plain sqlx calls answer, inside
// and outside transactions, concurrently, and past the cache bound.
func TestPreparedStatements(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.CreateToken(ctx, "okta", "hash-1"); err != nil {
			t.Fatal(err)
		}
		q := s.DB().Rebind(`SELECT name FROM api_tokens WHERE secret_hash = ?`)

		var name string
		if err := s.PGet(ctx, nil, &name, q, "hash-1"); err != nil || name != "okta" {
			t.Fatalf("pget on the pool: %q %v", name, err)
		}
		if err := s.PGet(ctx, nil, &name, q, "nope"); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("pget without a row: %v, want sql.ErrNoRows", err)
		}

		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.InTx(ctx, func(tx *sqlx.Tx) error {
					var n string
					if err := s.PGet(ctx, tx, &n, q, "hash-1"); err != nil || n != "okta" {
						return errors.Join(err, errors.New("wrong name "+n))
					}
					var names []string
					return s.PSelect(ctx, tx, &names, s.DB().Rebind(`SELECT name FROM api_tokens ORDER BY name`))
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		cached := s.PreparedCount()
		if cached != 2 {
			t.Fatalf("%d statements cached, want 2 (one per text)", cached)
		}

		// Past the bound, statements still run, unprepared.
		for i := cached; i < store.MaxPrepared; i++ {
			if err := s.Prepare(ctx, s.DB().Rebind(`SELECT name FROM api_tokens WHERE name = ? AND `+strconv.Itoa(i)+` = `+strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		res, err := s.PExec(ctx, nil, s.DB().Rebind(`UPDATE api_tokens SET name = ? WHERE name = ?`), "okta2", "okta")
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("pexec past the bound changed %d rows", n)
		}
		if n := s.PreparedCount(); n != store.MaxPrepared {
			t.Fatalf("cache grew past its bound: %d", n)
		}
	})
}
