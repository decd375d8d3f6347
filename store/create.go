package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store/rules"
)

// newUserProbe is what a create must know before it writes: whether a DELETEd account
// with the same externalId is there to relink, and whether the chat username the userName
// derives to first is taken.
type newUserProbe struct {
	relinkPK  sql.NullInt64
	baseTaken bool
}

// probeNewUserSQL answers both questions in one statement (one round trip instead of two).
const probeNewUserSQL = `SELECT
	(SELECT pk FROM users WHERE external_id = ? AND scim_deleted_at IS NOT NULL ORDER BY pk DESC LIMIT 1) AS relink_pk,
	(EXISTS (SELECT 1 FROM users WHERE username = ?) OR EXISTS (SELECT 1 FROM groups WHERE name = ?)) AS taken`

// baseUsername is the first chat username candidate for userName, the one a create uses
// unless it is taken.
func baseUsername(userName string) string {
	name, _ := rules.Username(userName, nil) // nothing taken: the base, and no error
	return name
}

func (s *Store) probeNewUser(ctx context.Context, tx *sqlx.Tx, u *User) (newUserProbe, error) {
	var p newUserProbe
	base := baseUsername(u.UserName)
	if err := tx.QueryRowxContext(ctx, tx.Rebind(probeNewUserSQL), null(u.ExternalID), base, base).Scan(&p.relinkPK, &p.baseTaken); err != nil {
		return p, fmt.Errorf("look for an account to relink and a free username: %w", err)
	}
	return p, nil
}

// lockRelinkCandidate reads and locks the most recent DELETEd account with the given
// externalId, or returns nil if there is none (any more).
func (s *Store) lockRelinkCandidate(ctx context.Context, tx *sqlx.Tx, externalID string) (*userRow, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE users.external_id = ? AND users.scim_deleted_at IS NOT NULL ORDER BY users.pk DESC LIMIT 1`
	if s.dialect == Postgres {
		q += ` FOR NO KEY UPDATE`
	}
	var r userRow
	switch err := tx.GetContext(ctx, &r, tx.Rebind(q), externalID); mapErr(err) {
	case nil:
		return &r, nil
	case ErrNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("read the account to relink: %w", err)
	}
}

// insertUser stores u as a new account: its id and times, the users row, the
// multi-valued attributes, and the default team with its team-join channels (a new
// account has no group and no import yet, so nothing else can apply). baseTaken is the
// probe's answer for the first username candidate.
func (s *Store) insertUser(ctx context.Context, tx *sqlx.Tx, u *User, baseTaken bool) error {
	u.ID = uuid.NewString()
	u.Created = now()
	u.LastModified = u.Created
	u.Version = 1
	name, err := rules.Username(u.UserName, s.usernameTakenAfter(ctx, tx, baseTaken))
	if err != nil {
		return fmt.Errorf("derive chat username: %w", err)
	}
	u.Account.Username = name
	u.Account.Email = accountEmail(u)
	if u.Active {
		u.Account.Status, u.Account.DeleteAt = StatusOnline, 0
	} else {
		u.Account.Status, u.Account.DeleteAt = StatusOffline, u.LastModified.UnixMilli()
	}
	var pk int64
	args := append([]any{u.ID, micros(u.Created)}, userValues(u)...)
	if err := tx.QueryRowxContext(ctx, tx.Rebind(insertUserSQL), args...).Scan(&pk); err != nil {
		return mapErr(err)
	}
	if err := writeUserChildren(ctx, tx, pk, u, nil); err != nil {
		return err
	}
	return s.joinDefaultTeam(ctx, tx, pk, u)
}

// usernameTakenAfter is the taken function of rules.Username for a new account whose
// first candidate was already checked (baseTaken): the others are asked of the database.
func (s *Store) usernameTakenAfter(ctx context.Context, tx *sqlx.Tx, baseTaken bool) func(string) (bool, error) {
	first := true
	return func(c string) (bool, error) {
		if first {
			first = false
			return baseTaken, nil
		}
		return s.usernameTaken(ctx, tx, c, 0)
	}
}
