package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/townsquare/townsquare/store"
)

// A token's scopes are stored in api_tokens.scopes as their names separated by single
// spaces, in store.AllScopes order (migrations/0004_token_scopes.sql).

const insertTokenSQL = `INSERT INTO api_tokens (name, secret_hash, created_at, scopes) VALUES (?, ?, ?, ?)`

// scopesColumn checks scopes and spells them as the scopes column holds them.
func scopesColumn(scopes []store.Scope) (string, error) {
	scopes, err := store.NormalizeScopes(scopes)
	if err != nil {
		return "", err
	}
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return strings.Join(names, " "), nil
}

// scopesFromColumn reads the scopes column. A name this version does not know is kept:
// Token.Has never matches it, and ListTokens shows it as it is.
func scopesFromColumn(col string) []store.Scope {
	fields := strings.Fields(col)
	out := make([]store.Scope, len(fields))
	for i, f := range fields {
		out[i] = store.Scope(f)
	}
	return out
}

// CreateToken records a named token by the hash of its secret, with its scopes. A name
// already in use is ErrConflict; a name store.CheckTokenName refuses is ErrInvalid; an
// unknown scope or none is ErrInvalidScope.
func (s *Store) CreateToken(ctx context.Context, name, secretHash string, scopes []store.Scope) (err error) {
	defer s.classify(&err)
	if err := store.CheckTokenName(name); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	col, err := scopesColumn(scopes)
	if err != nil {
		return fmt.Errorf("create token %q: %w", name, err)
	}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(insertTokenSQL), name, secretHash, micros(now()), col)
	if err != nil {
		return fmt.Errorf("create token %q: %w", name, mapErr(err))
	}
	return nil
}

// CreateFirstToken records a token only if no token exists yet, atomically, so that two
// servers starting on an empty database do not both mint one. It reports whether it did.
func (s *Store) CreateFirstToken(ctx context.Context, name, secretHash string, scopes []store.Scope) (_ bool, err error) {
	defer s.classify(&err)
	if err := store.CheckTokenName(name); err != nil {
		return false, fmt.Errorf("create first token: %w", err)
	}
	col, err := scopesColumn(scopes)
	if err != nil {
		return false, fmt.Errorf("create first token: %w", err)
	}
	created := false
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		created = false
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
		if _, err := tx.ExecContext(ctx, tx.Rebind(insertTokenSQL), name, secretHash, micros(now()), col); err != nil {
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

type tokenRow struct {
	Name    string `db:"name"`
	Created int64  `db:"created_at"`
	Scopes  string `db:"scopes"`
}

func (r tokenRow) token() store.Token {
	return store.Token{Name: r.Name, Created: fromMicros(r.Created), Scopes: scopesFromColumn(r.Scopes)}
}

// LookupToken returns the token whose secret hashes to secretHash, or ErrNotFound. The
// lookup is by an indexed equality on the hash, so its time does not depend on how much
// of a wrong secret was right.
func (s *Store) LookupToken(ctx context.Context, secretHash string) (_ store.Token, err error) {
	defer s.classify(&err)
	var row tokenRow
	err = s.readGet(ctx, nil, &row, `SELECT name, created_at, scopes FROM api_tokens WHERE secret_hash = ?`, secretHash)
	if err != nil {
		return store.Token{}, mapErr(err)
	}
	return row.token(), nil
}

// ListTokens lists tokens by name, with their scopes, without secrets.
func (s *Store) ListTokens(ctx context.Context) (_ []store.Token, err error) {
	defer s.classify(&err)
	var rows []tokenRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT name, created_at, scopes FROM api_tokens ORDER BY name`); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]store.Token, len(rows))
	for i, r := range rows {
		out[i] = r.token()
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
