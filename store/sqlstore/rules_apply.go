package sqlstore

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
)

// ApplyRules re-resolves every group's mapping when the rules differ from those last
// applied to this database (a fingerprint is kept in settings), and reconciles the
// members of each group whose mapping changed. Servers call it at start-up.
func (s *Store) ApplyRules(ctx context.Context) (_ int, err error) {
	defer s.classify(&err)
	if store.Actor(ctx) == store.ActorSystem { // the journal names the rules, unless the caller said who
		ctx = store.WithActor(ctx, store.ActorConfig)
	}
	fp := rulesFingerprint(s.rules)
	changed := 0
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		changed = 0
		if err := s.d.lock(ctx, tx, lockRules); err != nil {
			return fmt.Errorf("lock for the rules: %w", err)
		}
		var cur string
		err := tx.GetContext(ctx, &cur, `SELECT value FROM settings WHERE key = 'rules_fingerprint'`)
		if err != nil && mapErr(err) != store.ErrNotFound {
			return fmt.Errorf("read rules fingerprint: %w", err)
		}
		if cur == fp {
			return nil
		}
		var groups []struct {
			PK          int64   `db:"pk"`
			DisplayName string  `db:"display_name"`
			ExternalID  *string `db:"external_id"`
		}
		if err := tx.SelectContext(ctx, &groups, `SELECT pk, display_name, external_id FROM groups ORDER BY pk`); err != nil {
			return fmt.Errorf("read groups: %w", err)
		}
		var affected []int64
		for _, g := range groups {
			ext := ""
			if g.ExternalID != nil {
				ext = *g.ExternalID
			}
			ch, err := s.setGroupTargets(ctx, tx, g.PK, g.DisplayName, ext)
			if err != nil {
				return err
			}
			if ch {
				changed++
				pks, err := groupMemberPKs(ctx, tx, g.PK)
				if err != nil {
					return err
				}
				affected = append(affected, pks...)
			}
		}
		// Rule 2 is about teams: every team gets the team-join channels of the new rules,
		// including teams that have no member to reconcile now.
		joins := s.rules.TeamJoinChannels()
		q, args := bind(`SELECT t.pk FROM teams t WHERE (SELECT COUNT(*) FROM channels c WHERE c.team_pk = t.pk AND c.name IN :joins) < :joins_count`,
			params{"joins": s.d.textList(joins), "joins_count": len(joins)})
		var lacking []int64
		if err := tx.SelectContext(ctx, &lacking, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("find teams lacking team-join channels: %w", err)
		}
		for _, team := range lacking {
			for _, name := range joins {
				if _, err := s.ensureChannel(ctx, tx, team, name); err != nil {
					return err
				}
			}
		}
		// Team-join channels or the default team may have changed too: every active
		// account is reconciled when the rules change.
		var all []int64
		if err := tx.SelectContext(ctx, &all, tx.Rebind(`SELECT pk FROM users WHERE active = ? AND scim_deleted_at IS NULL`), true); err != nil {
			return err
		}
		if err := s.reconcileUsers(ctx, tx, append(affected, all...)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = 'rules_fingerprint'`); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO settings (key, value) VALUES ('rules_fingerprint', ?)`), fp)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("apply mapping rules: %w", err)
	}
	return changed, nil
}
