package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
)

// joinTarget is what a new account joins: the default team and its team-join channels,
// by key, for one configuration (team and joins, names as the rules give them).
type joinTarget struct {
	team     string
	joins    []string
	teamPK   int64
	channels []int64 // the keys of joins, in the same order
}

// errJoinTargetChanged is a foreign key violation on a cached team or channel key: the
// row went away between the statement's snapshot and its insert. The transaction is
// retried, and the retry finds the keys again by name.
var errJoinTargetChanged = errors.New("default team or team-join channel changed concurrently")

// cachedJoin returns the cached join target if it was made for the rules in force.
func (s *Store) cachedJoin() *joinTarget {
	t := s.join.Load()
	if t == nil || t.team != s.rules.DefaultTeam || !slices.Equal(t.joins, s.rules.TeamJoinChannels()) {
		return nil
	}
	return t
}

// defaultJoin returns the keys of the default team and its team-join channels: from the
// cache, or found by name (created when missing) and then cached.
//
// Several servers share the database and the store is otherwise stateless, so the cache is
// never trusted: every statement that uses a cached key also checks the row's name
// (insertDefaultMemberships, createUserOneStatement), and a key that no longer names what
// it named when cached (the team deleted or renamed by another process, a channel gone)
// writes fewer rows than expected, which drops the cache and takes the path by name.
func (s *Store) defaultJoin(ctx context.Context, tx *sqlx.Tx) (*joinTarget, error) {
	if t := s.cachedJoin(); t != nil {
		return t, nil
	}
	t := &joinTarget{team: s.rules.DefaultTeam, joins: s.rules.TeamJoinChannels()}
	var err error
	if t.teamPK, err = s.ensureTeam(ctx, tx, t.team); err != nil {
		return nil, err
	}
	// ensureTeam creates the channels of a team it creates; a team made under other
	// team-join channels may lack some.
	for _, name := range t.joins {
		pk, err := s.ensureChannel(ctx, tx, t.teamPK, name)
		if err != nil {
			return nil, err
		}
		t.channels = append(t.channels, pk)
	}
	// Cached before the transaction commits: should it roll back, the keys name nothing
	// (or, on SQLite, possibly a later team under another name) and the name checks catch it.
	s.join.Store(t)
	return t, nil
}

// insertDefaultMemberships puts the new account pk in the default team (source 'default')
// and its team-join channels (source 'team'), each insert checking by name that the
// cached keys still name those rows (and that a channel is public: a private one named
// like a team-join channel is never joined, and takes the path by name). It reports false, having written what it could, when
// they do not; the caller then reconciles the account by name.
func (s *Store) insertDefaultMemberships(ctx context.Context, tx *sqlx.Tx, pk int64, t *joinTarget, ts int64) (bool, error) {
	res, err := s.txExec(ctx, tx, tx.Rebind(`INSERT INTO team_members (team_pk, user_pk, source, created_at)
		SELECT t.pk, CAST(? AS BIGINT), 'default', CAST(? AS BIGINT) FROM teams t WHERE t.pk = ? AND t.name = ?`),
		pk, ts, t.teamPK, t.team)
	if err != nil {
		return false, s.joinErr("join default team", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	q, args := bind(`INSERT INTO channel_members (channel_pk, user_pk, source, created_at)
		SELECT c.pk, CAST(? AS BIGINT), 'team', CAST(? AS BIGINT) FROM channels c
		WHERE c.pk IN :channels AND c.team_pk = ? AND c.name IN :joins AND c.type <> 'P'`,
		params{"channels": s.d.int64List(t.channels), "joins": s.d.textList(t.joins)},
		pk, ts, t.teamPK)
	if res, err = s.txExec(ctx, tx, tx.Rebind(q), args...); err != nil {
		return false, s.joinErr("join team-join channels", err)
	}
	n, err := res.RowsAffected()
	return err == nil && int(n) == len(t.channels), err
}

// joinErr wraps an insert's error, turning a foreign key violation (a cached key whose
// row went away under the statement) into the retryable errJoinTargetChanged, with the
// cache dropped for the retry.
func (s *Store) joinErr(what string, err error) error {
	if s.d.foreignKeyViolation(err) {
		s.join.Store(nil)
		return fmt.Errorf("%s: %w (%v)", what, errJoinTargetChanged, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
