package sqlstore

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
)

// Roles by hand (store.Admin's GrantRole and RevokeRole; store/roles.go). A grant by
// hand is a row of source 'manual' in system_admins, team_admins or channel_admins,
// which reconcile never removes while the membership it is of lasts; the rows a group
// grants ('group:<pk>') are reconcile's. Both calls journal through journalMemberships,
// so an entry is written only when the role comes into or goes out of effect.

// roleTarget is where a RoleRef's grant rows live: the table, the target column and key
// (none for the system admin role), and what a grant needs the account to be in.
type roleTarget struct {
	table, col string // system_admins; team_admins, team_pk; channel_admins, channel_pk
	pk         int64
	returning  [2]string // returning clauses of an insert and a delete
}

// where is the SQL condition naming the grant rows of account userPK and its args.
func (t roleTarget) where(userPK int64) (string, []any) {
	if t.col == "" {
		return `user_pk = ?`, []any{userPK}
	}
	return t.col + ` = ? AND user_pk = ?`, []any{t.pk, userPK}
}

// lockRole locks the account of id and finds the target of r; it checks r first.
func (s *Store) lockRole(ctx context.Context, tx *sqlx.Tx, id string, r store.RoleRef) (memberAccount, roleTarget, error) {
	a, err := s.lockMemberAccount(ctx, tx, id)
	if err != nil {
		return a, roleTarget{}, err
	}
	switch r.Role {
	case store.RoleSystemAdmin:
		return a, roleTarget{table: "system_admins", returning: [2]string{returningSystemAdminsJoined, returningSystemAdminsLeft}}, nil
	case store.RoleTeamAdmin:
		t, err := s.findTeam(ctx, tx, r.Team)
		return a, roleTarget{table: "team_admins", col: "team_pk", pk: t.PK,
			returning: [2]string{returningTeamAdminsJoined, returningTeamAdminsLeft}}, err
	}
	t, err := s.findTeam(ctx, tx, r.Team)
	if err != nil {
		return a, roleTarget{}, err
	}
	ch, err := s.findChannel(ctx, tx, t.PK, r.Team, r.Channel)
	return a, roleTarget{table: "channel_admins", col: "channel_pk", pk: ch,
		returning: [2]string{returningChannelAdminsJoined, returningChannelAdminsLeft}}, err
}

// grantSources lists the sources of the account's grant rows of a role.
func grantSources(ctx context.Context, tx *sqlx.Tx, t roleTarget, userPK int64) ([]string, error) {
	cond, args := t.where(userPK)
	var srcs []string
	if err := tx.SelectContext(ctx, &srcs, tx.Rebind(`SELECT source FROM `+t.table+` WHERE `+cond+` ORDER BY source`), args...); err != nil {
		return nil, fmt.Errorf("read the role's grants: %w", err)
	}
	return srcs, nil
}

// GrantRole gives an account a role by hand; see store.Admin.
func (s *Store) GrantRole(ctx context.Context, id string, r store.RoleRef) (_ store.RoleChange, err error) {
	defer s.classify(&err)
	if err := r.Check(); err != nil {
		return store.RoleChange{}, fmt.Errorf("grant a role to %q: %w", id, err)
	}
	var out store.RoleChange
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, t, err := s.lockRole(ctx, tx, id, r)
		if err != nil {
			return err
		}
		if err := a.joinable(); err != nil {
			return err
		}
		if t.col != "" {
			member := "team_members"
			if t.table == "channel_admins" {
				member = "channel_members"
			}
			srcs, err := memberSources(ctx, tx, member, t.col, t.pk, a.PK)
			if err != nil {
				return err
			}
			switch {
			case len(srcs) > 0:
			case member == "team_members":
				return &store.RefusedError{Code: store.CodeNotTeamMember, Reason: fmt.Sprintf(
					"%s is not a member of team %s: add them to the team first", a.name(), r.Team)}
			default:
				return &store.RefusedError{Code: store.CodeNotMember, Reason: fmt.Sprintf(
					"%s is not a member of %s:%s: add them to the channel first", a.name(), r.Team, r.Channel)}
			}
		}
		out = store.RoleChange{Account: a.ID, Username: a.name(), Role: r, Has: true}
		if err := s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			q, args := `INSERT INTO `+t.table+` (user_pk, source, created_at) VALUES (?, ?, ?)`, []any{a.PK, sourceManual, micros(now())}
			if t.col != "" {
				q, args = `INSERT INTO `+t.table+` (`+t.col+`, user_pk, source, created_at) VALUES (?, ?, ?, ?)`,
					[]any{t.pk, a.PK, sourceManual, micros(now())}
			}
			if err := c.query(ctx, tx, tx.Rebind(q+` ON CONFLICT DO NOTHING`+t.returning[0]), args...); err != nil {
				return fmt.Errorf("grant the role: %w", err)
			}
			out.Changed = len(c.roles) > 0
			return nil
		}); err != nil {
			return err
		}
		srcs, err := grantSources(ctx, tx, t, a.PK)
		if err != nil {
			return err
		}
		out.Remaining, err = s.describe(ctx, tx, srcs)
		return err
	})
	if err != nil {
		return store.RoleChange{}, fmt.Errorf("grant %s to %q: %w", r.Where(), id, err)
	}
	return out, nil
}

// RevokeRole ends the grants of a role by hand and by import; see store.Admin.
func (s *Store) RevokeRole(ctx context.Context, id string, r store.RoleRef) (_ store.RoleChange, err error) {
	defer s.classify(&err)
	if err := r.Check(); err != nil {
		return store.RoleChange{}, fmt.Errorf("revoke a role of %q: %w", id, err)
	}
	var out store.RoleChange
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		a, t, err := s.lockRole(ctx, tx, id, r)
		if err != nil {
			return err
		}
		out = store.RoleChange{Account: a.ID, Username: a.name(), Role: r}
		srcs, err := grantSources(ctx, tx, t, a.PK)
		if err != nil {
			return err
		}
		// What hand and import granted can be taken away by hand, as RemoveTeamMember
		// takes memberships; a group's grant only by the groups or the mapping.
		var rest, removable []string
		for _, src := range srcs {
			if src == sourceManual || src == sourceImport {
				removable = append(removable, src)
			} else {
				rest = append(rest, src)
			}
		}
		if out.Remaining, err = s.describe(ctx, tx, rest); err != nil {
			return err
		}
		switch {
		case len(removable) == 0 && len(rest) > 0:
			out.Has = !a.Guest
			return &store.RefusedError{Code: store.CodeStillGranted, Reason: fmt.Sprintf(
				"%s is %s through %s, not by hand: change the groups or the mapping", a.name(), r.Where(), store.DescribeSources(out.Remaining))}
		case len(removable) == 0:
			return &store.RefusedError{Code: store.CodeNoRole, Reason: fmt.Sprintf("%s is not %s", a.name(), r.Where())}
		}
		cond, args := t.where(a.PK)
		if err := s.journalMemberships(ctx, tx, func(c *memberChanges) error {
			q, qargs := bind(`DELETE FROM `+t.table+` WHERE `+cond+` AND source IN :sources`+t.returning[1],
				params{"sources": s.d.textList(removable)}, args...)
			return c.query(ctx, tx, tx.Rebind(q), qargs...)
		}); err != nil {
			return fmt.Errorf("revoke the role: %w", err)
		}
		out.Changed, out.Has = true, len(rest) > 0 && !a.Guest
		return nil
	})
	if err != nil {
		return store.RoleChange{}, fmt.Errorf("revoke %s of %q: %w", r.Where(), id, err)
	}
	return out, nil
}
