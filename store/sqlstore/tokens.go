package sqlstore

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/townsquare/townsquare/store"
)

// CreateToken records a named token by the hash of its secret. A name already in use is
// ErrConflict.
func (s *Store) CreateToken(ctx context.Context, name, secretHash string) (err error) {
	defer s.classify(&err)
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO api_tokens (name, secret_hash, created_at) VALUES (?, ?, ?)`),
		name, secretHash, micros(now()))
	if err != nil {
		return fmt.Errorf("create token %q: %w", name, mapErr(err))
	}
	return nil
}

// CreateFirstToken records a token only if no token exists yet, atomically, so that two
// servers starting on an empty database do not both mint one. It reports whether it did.
func (s *Store) CreateFirstToken(ctx context.Context, name, secretHash string) (_ bool, err error) {
	defer s.classify(&err)
	created := false
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.d.lock(ctx, tx, lockFirstToken); err != nil {
			return fmt.Errorf("lock for the first token: %w", err)
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM api_tokens`); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO api_tokens (name, secret_hash, created_at) VALUES (?, ?, ?)`),
			name, secretHash, micros(now())); err != nil {
			return mapErr(err)
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("create first token: %w", err)
	}
	return created, nil
}

// TokenName returns the name of the token whose secret hashes to secretHash, or
// ErrNotFound. The lookup is by an indexed equality on the hash, so its time does not
// depend on how much of a wrong secret was right.
func (s *Store) TokenName(ctx context.Context, secretHash string) (_ string, err error) {
	defer s.classify(&err)
	var name string
	err = s.readGet(ctx, nil, &name, `SELECT name FROM api_tokens WHERE secret_hash = ?`, secretHash)
	if err != nil {
		return "", mapErr(err)
	}
	return name, nil
}

// ListTokens lists tokens by name, without secrets.
func (s *Store) ListTokens(ctx context.Context) (_ []store.Token, err error) {
	defer s.classify(&err)
	var rows []struct {
		Name    string `db:"name"`
		Created int64  `db:"created_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT name, created_at FROM api_tokens ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]store.Token, len(rows))
	for i, r := range rows {
		out[i] = store.Token{Name: r.Name, Created: fromMicros(r.Created)}
	}
	return out, nil
}

// RevokeToken deletes a token by name; ErrNotFound if there is none.
func (s *Store) RevokeToken(ctx context.Context, name string) (err error) {
	defer s.classify(&err)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM api_tokens WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke token %q: %w", name, store.ErrNotFound)
	}
	return nil
}
