package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// Applying the mapping, and planning it (store.ApplyRules, store.PlanRules). Both run one
// function, applyRules, in one transaction under the rules lock: it makes the change,
// then reads back the journal entries the transaction wrote, which are exactly the
// change (store.PlanBuilder counts them), and the caller decides from the plan whether
// the transaction commits. A plan never commits; an apply over the removal limit does
// not either, so nothing happens between the check and the change it checks.

// errPlanned rolls back the transaction of a plan.
var errPlanned = errors.New("sqlstore: planned, not applied")

// ApplyRules re-resolves every group's mapping when the rules differ from those last
// applied to this database (a fingerprint is kept in settings), applies the teams and
// channels they declare, and reconciles every active account; see store.Store.
func (s *Store) ApplyRules(ctx context.Context, opts store.ApplyOptions) (_ store.RulesPlan, err error) {
	defer s.classify(&err)
	plan, err := s.applyRules(ctx, false, func(p store.RulesPlan) error {
		if !p.WithinLimit && !opts.AcceptRemovals {
			return p.Refusal()
		}
		if p.Changed && opts.BeforeCommit != nil {
			opts.BeforeCommit(p)
		}
		return nil
	})
	if err != nil {
		return plan, fmt.Errorf("apply mapping rules: %w", err)
	}
	return plan, nil
}

// PlanRules runs what ApplyRules would do with c in a transaction it rolls back; see
// store.Store.
func (s *Store) PlanRules(ctx context.Context, c rules.Config, verbose bool) (_ store.RulesPlan, err error) {
	defer s.classify(&err)
	if err := c.Validate(); err != nil {
		return store.RulesPlan{}, fmt.Errorf("plan mapping rules: %w", err)
	}
	plan, err := s.withRules(c).applyRules(ctx, verbose, func(store.RulesPlan) error { return errPlanned })
	if err != nil && !errors.Is(err, errPlanned) {
		return store.RulesPlan{}, fmt.Errorf("plan mapping rules: %w", err)
	}
	return plan, nil
}

// withRules is a store on the same database and dialect that applies c: every method
// reads its rules from s.rules, so a plan runs the apply code itself on this copy. It
// has its own (empty) join cache, and prepares no statement (its cache is closed), so
// that it holds nothing to release.
func (s *Store) withRules(c rules.Config) *Store {
	t := &Store{db: s.db, d: s.d, rules: c}
	t.stmts.closed = true
	return t
}

// applyRules applies s.rules in one transaction and returns the plan of what it did;
// decide's error (for a plan, errPlanned) rolls it back and is returned with the plan.
func (s *Store) applyRules(ctx context.Context, verbose bool, decide func(store.RulesPlan) error) (store.RulesPlan, error) {
	if store.Actor(ctx) == store.ActorSystem { // the journal names the rules, unless the caller said who
		ctx = store.WithActor(ctx, store.ActorConfig)
	}
	// The plan reads back its transaction's journal rows by request id: one of its own
	// unless the caller's request has one.
	if store.RequestID(ctx) == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		ctx = store.WithRequestID(ctx, "rules-"+hex.EncodeToString(b[:]))
	}
	fp := rulesFingerprint(s.rules)
	limit := s.rules.MaxRemovalsOnReload
	var plan store.RulesPlan
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		plan = store.UnchangedPlan(limit)
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
		var before int
		if err := tx.GetContext(ctx, &before, tx.Rebind(membershipsHeldSQL), true, true); err != nil {
			return fmt.Errorf("count memberships: %w", err)
		}
		// The journal's insert order only grows, so every row this transaction writes is
		// past the highest now: its rows are those past it with its request id.
		var lastSeq int64
		if err := tx.GetContext(ctx, &lastSeq, `SELECT COALESCE(MAX(`+s.journalInsertOrder()+`), 0) FROM journal`); err != nil {
			return fmt.Errorf("read the journal's head: %w", err)
		}
		remapped, err := s.applyRulesTx(ctx, tx, fp)
		if err != nil {
			return err
		}
		b := store.NewPlanBuilder(verbose)
		if err := s.journalSince(ctx, tx, lastSeq, b.Add); err != nil {
			return err
		}
		if err := s.guestMemberships(ctx, tx, b); err != nil {
			return err
		}
		plan = b.Plan(remapped, before, limit)
		return decide(plan)
	})
	return plan, err
}

// membershipsHeldSQL counts the team and channel memberships of active live accounts
// (the ones a mapping change can end), each once whatever its sources.
const membershipsHeldSQL = `SELECT
	(SELECT COUNT(*) FROM (SELECT DISTINCT tm.team_pk, tm.user_pk FROM team_members tm JOIN users u ON u.pk = tm.user_pk
		WHERE u.active = ? AND u.scim_deleted_at IS NULL) t)
	+ (SELECT COUNT(*) FROM (SELECT DISTINCT cm.channel_pk, cm.user_pk FROM channel_members cm JOIN users u ON u.pk = cm.user_pk
		WHERE u.active = ? AND u.scim_deleted_at IS NULL) c)`

// applyRulesTx makes the change of the rules s.rules in tx: declarations first (so that
// the groups' teams and channels exist with their declared values), then every group's
// mapping, then the team-join channels of every team, then every active account. It
// records fp as the rules applied and returns how many groups' mappings changed.
func (s *Store) applyRulesTx(ctx context.Context, tx *sqlx.Tx, fp string) (int, error) {
	if err := s.applyDeclarations(ctx, tx); err != nil {
		return 0, err
	}
	// Mappings change below: no nesting may run meanwhile (nesting.go). The group rows
	// below each remapped group are not locked, as remapBelow does: every active account
	// is reconciled below under its row lock, which orders this change with every member
	// add and nesting that touches the account.
	if err := s.lockGraph(ctx, tx); err != nil {
		return 0, err
	}
	var groups []struct {
		PK          int64   `db:"pk"`
		DisplayName string  `db:"display_name"`
		ExternalID  *string `db:"external_id"`
	}
	if err := tx.SelectContext(ctx, &groups, `SELECT pk, display_name, external_id FROM groups ORDER BY pk`); err != nil {
		return 0, fmt.Errorf("read groups: %w", err)
	}
	changed := 0
	var affected []int64
	for _, g := range groups {
		ext := ""
		if g.ExternalID != nil {
			ext = *g.ExternalID
		}
		ch, err := s.setGroupTargets(ctx, tx, g.PK, g.DisplayName, ext)
		if err != nil {
			return 0, err
		}
		if ch {
			changed++
			pks, err := s.accountsBelow(ctx, tx, []int64{g.PK})
			if err != nil {
				return 0, err
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
		return 0, fmt.Errorf("find teams lacking team-join channels: %w", err)
	}
	for _, team := range lacking {
		for _, name := range joins {
			if _, err := s.ensureChannel(ctx, tx, team, name); err != nil {
				return 0, err
			}
		}
	}
	// Team-join channels or the default team may have changed too: every active
	// account is reconciled when the rules change.
	var all []int64
	if err := tx.SelectContext(ctx, &all, tx.Rebind(`SELECT pk FROM users WHERE active = ? AND scim_deleted_at IS NULL`), true); err != nil {
		return 0, err
	}
	if err := s.reconcileUsers(ctx, tx, append(affected, all...)); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = 'rules_fingerprint'`); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO settings (key, value) VALUES ('rules_fingerprint', ?)`), fp); err != nil {
		return 0, err
	}
	return changed, nil
}

// applyDeclarations creates every declared team and channel that does not exist, with
// its declared display name and type, and gives existing ones those, journaling each
// update (team.updated, channel.updated: the changed keys only).
func (s *Store) applyDeclarations(ctx context.Context, tx *sqlx.Tx) error {
	for _, d := range s.rules.Teams {
		disp, typ := given(d.DisplayName, d.Name), store.TeamOpen
		if d.Private {
			typ = store.TeamInviteOnly
		}
		pk, created, err := s.ensureTeamCreated(ctx, tx, d.Name, disp, typ)
		if err != nil {
			return err
		}
		if created {
			continue
		}
		if err := s.updateDeclared(ctx, tx, "teams", pk, store.Event{Kind: store.EventTeamUpdated, Team: d.Name}, disp, typ); err != nil {
			return err
		}
	}
	for _, d := range s.rules.Channels {
		disp, typ := given(d.DisplayName, channelDisplayName(d.Channel)), store.ChannelOpen
		if d.Private {
			typ = store.ChannelPrivate
		}
		teamPK, err := s.ensureTeam(ctx, tx, d.Team)
		if err != nil {
			return err
		}
		pk, created, err := s.ensureChannelAs(ctx, tx, teamPK, d.Channel, disp, typ)
		if err != nil {
			return err
		}
		if created {
			continue
		}
		if err := s.updateDeclared(ctx, tx, "channels", pk, store.Event{Kind: store.EventChannelUpdated, Team: d.Team, Channel: d.Channel}, disp, typ); err != nil {
			return err
		}
	}
	return nil
}

// updateDeclared gives the team or channel pk of table ("teams" or "channels") the
// display name and type declared, journaling e with the keys that change.
func (s *Store) updateDeclared(ctx context.Context, tx *sqlx.Tx, table string, pk int64, e store.Event, disp, typ string) error {
	var cur struct {
		DisplayName string `db:"display_name"`
		Type        string `db:"type"`
	}
	if err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT display_name, type FROM `+table+` WHERE pk = ?`), pk); err != nil {
		return fmt.Errorf("read %s %d: %w", table, pk, err)
	}
	if cur.DisplayName == disp && cur.Type == typ {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE `+table+` SET display_name = ?, type = ? WHERE pk = ?`), disp, typ, pk); err != nil {
		return fmt.Errorf("update %s %d: %w", table, pk, err)
	}
	e.Before, e.After = store.ChangedAttributes(nameAndType(cur.DisplayName, cur.Type), nameAndType(disp, typ))
	return s.appendEvents(ctx, tx, []store.Event{e})
}

// journalInsertOrder is the journal's column that grows with every row inserted, and
// is its key: position where the INSERT gives it (dialect.sequence is "": SQLite's
// rowid), else seq (PostgreSQL, whose positions are given after commit).
func (s *Store) journalInsertOrder() string {
	if s.d.sequence == "" {
		return "position"
	}
	return "seq"
}

// journalSince calls fn with each entry tx wrote after the journal's row lastSeq (in
// journalInsertOrder): the rows past it that carry ctx's request id (other transactions' rows that committed
// meanwhile carry theirs).
func (s *Store) journalSince(ctx context.Context, tx *sqlx.Tx, lastSeq int64, fn func(store.Event)) error {
	rows, err := tx.QueryxContext(ctx, tx.Rebind(`SELECT 0 AS position, `+journalColumns+` FROM journal WHERE `+s.journalInsertOrder()+` > ? AND request_id = ? ORDER BY `+s.journalInsertOrder()),
		lastSeq, store.RequestID(ctx))
	if err != nil {
		return fmt.Errorf("read the change's journal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r eventRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("read the change's journal: %w", err)
		}
		es, err := r.events()
		if err != nil {
			return err
		}
		for _, e := range es {
			fn(e)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the change's journal: %w", err)
	}
	return nil
}

// guestMemberships reports to b the teams and channels that the accounts becoming
// guests, or members again, are in after the change.
func (s *Store) guestMemberships(ctx context.Context, tx *sqlx.Tx, b *store.PlanBuilder) error {
	guests, promoted := b.GuestAccounts()
	ids := append(guests, promoted...)
	if len(ids) == 0 {
		return nil
	}
	var rows []struct {
		Account string `db:"account"`
		Team    string `db:"team"`
		Channel string `db:"channel"`
	}
	q, args := bind(`SELECT DISTINCT u.id AS account, t.name AS team, '' AS channel FROM team_members tm
			JOIN users u ON u.pk = tm.user_pk JOIN teams t ON t.pk = tm.team_pk WHERE u.id IN :ids
		UNION SELECT DISTINCT u.id AS account, t.name AS team, c.name AS channel FROM channel_members cm
			JOIN users u ON u.pk = cm.user_pk JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk
			WHERE u.id IN :ids`, params{"ids": s.d.textList(ids)})
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("read the memberships of new guests: %w", err)
	}
	for _, r := range rows {
		b.GuestMember(r.Account, r.Team, r.Channel)
	}
	return nil
}
