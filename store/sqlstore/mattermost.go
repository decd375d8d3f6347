package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
)

// The Mattermost connector's state (store.MattermostState) and the desired-state reads
// it needs. The tables are migration 0006_mattermost; every statement here is written
// the same way for both databases.

// chatStateChunk is how many accounts EachChatAccountState reads at once: three
// statements per chunk, and memory bounded by one chunk's accounts and memberships.
var chatStateChunk = 500

// mmChunk is how many rows the Each… walks over the connector's tables read at once.
const mmChunk = 1000

type chatStateRow struct {
	PK            int64          `db:"pk"`
	ID            string         `db:"id"`
	UserName      string         `db:"user_name"`
	ExternalID    sql.NullString `db:"external_id"`
	Username      sql.NullString `db:"username"`
	Email         sql.NullString `db:"email"`
	GivenName     sql.NullString `db:"given_name"`
	FamilyName    sql.NullString `db:"family_name"`
	NickName      sql.NullString `db:"nick_name"`
	Title         sql.NullString `db:"title"`
	Active        bool           `db:"active"`
	SCIMDeletedAt sql.NullInt64  `db:"scim_deleted_at"`
	Guest         bool           `db:"guest"`
	SystemAdmin   bool           `db:"system_admin"`
}

const chatStateColumns = `pk, id, user_name, external_id, username, email, given_name, family_name, nick_name, title, active, scim_deleted_at,
	guest, EXISTS (SELECT 1 FROM system_admins x WHERE x.user_pk = users.pk) AS system_admin`

// ChatAccountState reads one account's desired state.
func (s *Store) ChatAccountState(ctx context.Context, accountID string) (_ store.ChatAccountState, err error) {
	defer s.classify(&err)
	if !store.PossibleID(accountID) {
		return store.ChatAccountState{}, fmt.Errorf("account: %w", store.ErrNotFound)
	}
	var rows []chatStateRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+chatStateColumns+` FROM users WHERE id = ?`), accountID); err != nil {
		return store.ChatAccountState{}, fmt.Errorf("account %q: %w", accountID, err)
	}
	if len(rows) == 0 {
		return store.ChatAccountState{}, fmt.Errorf("account %q: %w", accountID, store.ErrNotFound)
	}
	out, err := s.chatStates(ctx, rows)
	if err != nil {
		return store.ChatAccountState{}, err
	}
	return out[0], nil
}

// EachChatAccountState walks every account in key order, a chunk at a time.
func (s *Store) EachChatAccountState(ctx context.Context, fn func(store.ChatAccountState) error) (err error) {
	defer s.classify(&err)
	after := int64(0)
	for {
		var rows []chatStateRow
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+chatStateColumns+` FROM users WHERE pk > ? ORDER BY pk LIMIT ?`),
			after, chatStateChunk); err != nil {
			return fmt.Errorf("read accounts: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		states, err := s.chatStates(ctx, rows)
		if err != nil {
			return err
		}
		for _, st := range states {
			if err := fn(st); err != nil {
				return &callerError{err}
			}
		}
		after = rows[len(rows)-1].PK
		if len(rows) < chatStateChunk {
			return nil
		}
	}
}

// chatStates completes rows (in key order) with their teams and channels: one statement
// each for the whole chunk, over the key range the chunk spans.
func (s *Store) chatStates(ctx context.Context, rows []chatStateRow) ([]store.ChatAccountState, error) {
	lo, hi := rows[0].PK, rows[len(rows)-1].PK
	byPK := make(map[int64]int, len(rows))
	out := make([]store.ChatAccountState, len(rows))
	for i, r := range rows {
		byPK[r.PK] = i
		out[i] = store.ChatAccountState{ID: r.ID, UserName: r.UserName, ExternalID: r.ExternalID.String,
			Username: r.Username.String, Email: r.Email.String, FirstName: r.GivenName.String, LastName: r.FamilyName.String,
			Nickname: r.NickName.String, Position: r.Title.String, Active: r.Active, SCIMDeleted: r.SCIMDeletedAt.Valid,
			Teams: []string{}, Channels: []store.ChannelWithType{},
			Guest: r.Guest, SystemAdmin: r.SystemAdmin && !r.Guest, TeamAdmin: []string{}}
	}
	var teams []struct {
		UserPK int64  `db:"user_pk"`
		Team   string `db:"team"`
	}
	if err := s.db.SelectContext(ctx, &teams, s.db.Rebind(`SELECT tm.user_pk, t.name AS team FROM team_members tm
		JOIN teams t ON t.pk = tm.team_pk WHERE tm.user_pk >= ? AND tm.user_pk <= ?
		GROUP BY tm.user_pk, t.name ORDER BY tm.user_pk, `+s.byName("t.name")), lo, hi); err != nil {
		return nil, fmt.Errorf("read accounts' teams: %w", err)
	}
	for _, t := range teams {
		if i, ok := byPK[t.UserPK]; ok {
			out[i].Teams = append(out[i].Teams, t.Team)
		}
	}
	// The admin roles in effect: a guest's grants have none (roles.go).
	var admins []struct {
		UserPK int64  `db:"user_pk"`
		Team   string `db:"team"`
	}
	if err := s.db.SelectContext(ctx, &admins, s.db.Rebind(`SELECT ta.user_pk, t.name AS team FROM team_admins ta
		JOIN teams t ON t.pk = ta.team_pk WHERE ta.user_pk >= ? AND ta.user_pk <= ?
		GROUP BY ta.user_pk, t.name ORDER BY ta.user_pk, `+s.byName("t.name")), lo, hi); err != nil {
		return nil, fmt.Errorf("read accounts' team admin roles: %w", err)
	}
	for _, a := range admins {
		if i, ok := byPK[a.UserPK]; ok && !out[i].Guest {
			out[i].TeamAdmin = append(out[i].TeamAdmin, a.Team)
		}
	}
	var channels []struct {
		UserPK  int64  `db:"user_pk"`
		Team    string `db:"team"`
		Channel string `db:"channel"`
		Type    string `db:"type"`
		Admin   bool   `db:"admin"`
	}
	if err := s.db.SelectContext(ctx, &channels, s.db.Rebind(`SELECT cm.user_pk, t.name AS team, c.name AS channel, c.type,
		MAX(CASE WHEN EXISTS (SELECT 1 FROM channel_admins ca WHERE ca.user_pk = cm.user_pk AND ca.channel_pk = cm.channel_pk) THEN 1 ELSE 0 END) = 1 AS admin
		FROM channel_members cm JOIN channels c ON c.pk = cm.channel_pk JOIN teams t ON t.pk = c.team_pk
		WHERE cm.user_pk >= ? AND cm.user_pk <= ?
		GROUP BY cm.user_pk, t.name, c.name, c.type ORDER BY cm.user_pk, `+s.byName("t.name")+`, `+s.byName("c.name")), lo, hi); err != nil {
		return nil, fmt.Errorf("read accounts' channels: %w", err)
	}
	for _, c := range channels {
		if i, ok := byPK[c.UserPK]; ok {
			out[i].Channels = append(out[i].Channels, store.ChannelWithType{Team: c.Team, Channel: c.Channel, Type: c.Type,
				Admin: c.Admin && !out[i].Guest})
		}
	}
	return out, nil
}

type mmUserRow struct {
	AccountID string `db:"account_id"`
	MMUserID  string `db:"mm_user_id"`
	Origin    string `db:"origin"`
	AuthData  string `db:"auth_data"`
}

func (r mmUserRow) link() store.MMUserLink {
	return store.MMUserLink{AccountID: r.AccountID, MMUserID: r.MMUserID, Origin: r.Origin, AuthData: r.AuthData}
}

// MMUser reads an account's link.
func (s *Store) MMUser(ctx context.Context, accountID string) (_ store.MMUserLink, err error) {
	defer s.classify(&err)
	var r mmUserRow
	if err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT account_id, mm_user_id, origin, auth_data FROM mm_users WHERE account_id = ?`), accountID); err != nil {
		return store.MMUserLink{}, fmt.Errorf("mattermost user of %q: %w", accountID, mapErr(err))
	}
	return r.link(), nil
}

// LinkMMUser records a link; a Mattermost user linked to another account conflicts.
func (s *Store) LinkMMUser(ctx context.Context, l store.MMUserLink) (err error) {
	defer s.classify(&err)
	if l.AccountID == "" || l.MMUserID == "" || (l.Origin != store.MMOriginCreated && l.Origin != store.MMOriginAdopted) {
		return &store.InvalidError{Attribute: "link", Reason: "needs an account, a Mattermost user id and an origin"}
	}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO mm_users (account_id, mm_user_id, origin, auth_data, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET mm_user_id = excluded.mm_user_id, origin = excluded.origin,
		auth_data = excluded.auth_data, updated_at = excluded.updated_at`),
		l.AccountID, l.MMUserID, l.Origin, l.AuthData, micros(now()))
	if err != nil {
		if errors.Is(mapErr(err), store.ErrConflict) {
			return &store.ConflictError{Attribute: "mm_user_id"}
		}
		return fmt.Errorf("link mattermost user: %w", err)
	}
	return nil
}

// EachMMUser walks the links by account id.
func (s *Store) EachMMUser(ctx context.Context, fn func(store.MMUserLink) error) (err error) {
	defer s.classify(&err)
	return s.eachMMUser(ctx, "", fn)
}

// EachPurgedMMUser walks the links whose account row is gone.
func (s *Store) EachPurgedMMUser(ctx context.Context, fn func(store.MMUserLink) error) (err error) {
	defer s.classify(&err)
	return s.eachMMUser(ctx, ` AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = mm_users.account_id)`, fn)
}

// eachMMUser walks the links by account id, a chunk at a time; where narrows them.
func (s *Store) eachMMUser(ctx context.Context, where string, fn func(store.MMUserLink) error) error {
	after := ""
	for {
		var rows []mmUserRow
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT account_id, mm_user_id, origin, auth_data FROM mm_users
			WHERE `+s.byName("account_id")+` > ?`+where+` ORDER BY `+s.byName("account_id")+` LIMIT ?`), after, mmChunk); err != nil {
			return fmt.Errorf("read mattermost users: %w", err)
		}
		for _, r := range rows {
			if err := fn(r.link()); err != nil {
				return &callerError{err}
			}
		}
		if len(rows) < mmChunk {
			return nil
		}
		after = rows[len(rows)-1].AccountID
	}
}

// MMTeamID reads a team's Mattermost id.
func (s *Store) MMTeamID(ctx context.Context, team string) (_ string, err error) {
	defer s.classify(&err)
	var id string
	if err := s.db.GetContext(ctx, &id, s.db.Rebind(`SELECT mm_id FROM mm_teams WHERE team = ?`), team); err != nil {
		return "", fmt.Errorf("mattermost team %q: %w", team, mapErr(err))
	}
	return id, nil
}

// SetMMTeamID records a team's Mattermost id.
func (s *Store) SetMMTeamID(ctx context.Context, team, id string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO mm_teams (team, mm_id) VALUES (?, ?)
		ON CONFLICT (team) DO UPDATE SET mm_id = excluded.mm_id`), team, id); err != nil {
		return fmt.Errorf("record mattermost team %q: %w", team, err)
	}
	return nil
}

// MMChannelID reads a channel's Mattermost id.
func (s *Store) MMChannelID(ctx context.Context, team, channel string) (_ string, err error) {
	defer s.classify(&err)
	var id string
	if err := s.db.GetContext(ctx, &id, s.db.Rebind(`SELECT mm_id FROM mm_channels WHERE team = ? AND channel = ?`), team, channel); err != nil {
		return "", fmt.Errorf("mattermost channel %s/%s: %w", team, channel, mapErr(err))
	}
	return id, nil
}

// SetMMChannelID records a channel's Mattermost id.
func (s *Store) SetMMChannelID(ctx context.Context, team, channel, id string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO mm_channels (team, channel, mm_id) VALUES (?, ?, ?)
		ON CONFLICT (team, channel) DO UPDATE SET mm_id = excluded.mm_id`), team, channel, id); err != nil {
		return fmt.Errorf("record mattermost channel %s/%s: %w", team, channel, err)
	}
	return nil
}

// OwnedMemberships lists what the connector added for an account.
func (s *Store) OwnedMemberships(ctx context.Context, accountID string) (teams []string, channels []store.ChannelRef, err error) {
	defer s.classify(&err)
	teams = []string{}
	if err := s.db.SelectContext(ctx, &teams, s.db.Rebind(`SELECT team FROM mm_owned_teams WHERE account_id = ? ORDER BY `+s.byName("team")), accountID); err != nil {
		return nil, nil, fmt.Errorf("owned teams of %q: %w", accountID, err)
	}
	var rows []struct {
		Team    string `db:"team"`
		Channel string `db:"channel"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT team, channel FROM mm_owned_channels WHERE account_id = ?
		ORDER BY `+s.byName("team")+`, `+s.byName("channel")), accountID); err != nil {
		return nil, nil, fmt.Errorf("owned channels of %q: %w", accountID, err)
	}
	channels = make([]store.ChannelRef, len(rows))
	for i, r := range rows {
		channels[i] = store.ChannelRef{Team: r.Team, Channel: r.Channel}
	}
	return teams, channels, nil
}

// OwnTeam records a team membership the connector added.
func (s *Store) OwnTeam(ctx context.Context, accountID, team string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO mm_owned_teams (account_id, team) VALUES (?, ?) ON CONFLICT DO NOTHING`), accountID, team); err != nil {
		return fmt.Errorf("own team %q of %q: %w", team, accountID, err)
	}
	return nil
}

// OwnChannel records a channel membership the connector added.
func (s *Store) OwnChannel(ctx context.Context, accountID, team, channel string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO mm_owned_channels (account_id, team, channel) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		accountID, team, channel); err != nil {
		return fmt.Errorf("own channel %s/%s of %q: %w", team, channel, accountID, err)
	}
	return nil
}

// DisownTeam forgets a team membership and the team's channel memberships, at once.
func (s *Store) DisownTeam(ctx context.Context, accountID, team string) (err error) {
	defer s.classify(&err)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM mm_owned_channels WHERE account_id = ? AND team = ?`), accountID, team); err != nil {
			return fmt.Errorf("disown channels of team %q: %w", team, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM mm_owned_teams WHERE account_id = ? AND team = ?`), accountID, team); err != nil {
			return fmt.Errorf("disown team %q: %w", team, err)
		}
		return nil
	})
}

// DisownChannel forgets a channel membership.
func (s *Store) DisownChannel(ctx context.Context, accountID, team, channel string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM mm_owned_channels WHERE account_id = ? AND team = ? AND channel = ?`),
		accountID, team, channel); err != nil {
		return fmt.Errorf("disown channel %s/%s: %w", team, channel, err)
	}
	return nil
}

// EachOwnedMember walks the accounts whose membership of a team or channel the
// connector added, with their links: one statement a chunk.
func (s *Store) EachOwnedMember(ctx context.Context, team, channel string, fn func(accountID, mmUserID string) error) (err error) {
	defer s.classify(&err)
	after := ""
	for {
		var rows []struct {
			AccountID string `db:"account_id"`
			MMUserID  string `db:"mm_user_id"`
		}
		var q string
		args := []any{team}
		if channel == "" {
			q = `SELECT o.account_id, COALESCE(l.mm_user_id, '') AS mm_user_id FROM mm_owned_teams o
				LEFT JOIN mm_users l ON l.account_id = o.account_id WHERE o.team = ?`
		} else {
			q = `SELECT o.account_id, COALESCE(l.mm_user_id, '') AS mm_user_id FROM mm_owned_channels o
				LEFT JOIN mm_users l ON l.account_id = o.account_id WHERE o.team = ? AND o.channel = ?`
			args = append(args, channel)
		}
		q += ` AND ` + s.byName("o.account_id") + ` > ? ORDER BY ` + s.byName("o.account_id") + ` LIMIT ?`
		args = append(args, after, mmChunk)
		if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
			return fmt.Errorf("owned members of %s/%s: %w", team, channel, err)
		}
		for _, r := range rows {
			if err := fn(r.AccountID, r.MMUserID); err != nil {
				return &callerError{err}
			}
		}
		if len(rows) < mmChunk {
			return nil
		}
		after = rows[len(rows)-1].AccountID
	}
}

type deadLetterRow struct {
	ID        int64  `db:"id"`
	AccountID string `db:"account_id"`
	Position  int64  `db:"position"`
	Call      string `db:"api_call"`
	Status    int    `db:"status"`
	ErrorID   string `db:"error_id"`
	Message   string `db:"message"`
	CreatedAt int64  `db:"created_at"`
	Attempts  int    `db:"attempts"`
	Requeued  bool   `db:"requeued"`
}

// AddDeadLetter parks an entry.
func (s *Store) AddDeadLetter(ctx context.Context, d store.DeadLetter) (_ int64, err error) {
	defer s.classify(&err)
	var id int64
	if err := s.db.GetContext(ctx, &id, s.db.Rebind(`INSERT INTO mm_dead_letters (account_id, position, api_call, status, error_id, message, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		d.AccountID, d.Cursor, d.Call, d.Status, d.ErrorID, d.Message, micros(now())); err != nil {
		return 0, fmt.Errorf("add dead letter: %w", err)
	}
	return id, nil
}

func capPage(limit int) int {
	if limit <= 0 || limit > store.MaxMMListPage {
		return store.MaxMMListPage
	}
	return limit
}

// DeadLetters lists dead letters, oldest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) (_ []store.DeadLetter, _ int, err error) {
	defer s.classify(&err)
	var rows []deadLetterRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT id, account_id, position, api_call, status, error_id, message, created_at, attempts, requeued
		FROM mm_dead_letters ORDER BY id LIMIT ?`), capPage(limit)); err != nil {
		return nil, 0, fmt.Errorf("read dead letters: %w", err)
	}
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT COUNT(*) FROM mm_dead_letters`); err != nil {
		return nil, 0, fmt.Errorf("count dead letters: %w", err)
	}
	out := make([]store.DeadLetter, len(rows))
	for i, r := range rows {
		out[i] = store.DeadLetter{ID: r.ID, AccountID: r.AccountID, Cursor: r.Position, Call: r.Call, Status: r.Status,
			ErrorID: r.ErrorID, Message: r.Message, Time: fromMicros(r.CreatedAt), Attempts: r.Attempts, Requeued: r.Requeued}
	}
	return out, total, nil
}

// RequeueDeadLetters marks dead letters for a retry.
func (s *Store) RequeueDeadLetters(ctx context.Context, ids []int64, all bool) (_ int, err error) {
	defer s.classify(&err)
	var res sql.Result
	if all {
		res, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE mm_dead_letters SET requeued = ? WHERE requeued = ?`), true, false)
	} else {
		if len(ids) == 0 {
			return 0, nil
		}
		q, args := bind(`UPDATE mm_dead_letters SET requeued = :yes WHERE id IN :ids AND requeued = :no`,
			params{"yes": true, "no": false, "ids": s.d.int64List(ids)})
		res, err = s.db.ExecContext(ctx, s.db.Rebind(q), args...)
	}
	if err != nil {
		return 0, fmt.Errorf("requeue dead letters: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RequeuedAccounts lists accounts with a requeued dead letter.
func (s *Store) RequeuedAccounts(ctx context.Context, limit int) (_ []string, err error) {
	defer s.classify(&err)
	ids := []string{}
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(`SELECT account_id FROM mm_dead_letters WHERE requeued = ?
		GROUP BY account_id ORDER BY MIN(id) LIMIT ?`), true, capPage(limit)); err != nil {
		return nil, fmt.Errorf("read requeued dead letters: %w", err)
	}
	return ids, nil
}

// ResolveDeadLetters deletes an account's dead letters.
func (s *Store) ResolveDeadLetters(ctx context.Context, accountID string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM mm_dead_letters WHERE account_id = ?`), accountID); err != nil {
		return fmt.Errorf("resolve dead letters of %q: %w", accountID, err)
	}
	return nil
}

// UnqueueDeadLetters ends a failed retry of an account's dead letters.
func (s *Store) UnqueueDeadLetters(ctx context.Context, accountID string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE mm_dead_letters SET requeued = ?, attempts = attempts + 1
		WHERE account_id = ? AND requeued = ?`), false, accountID, true); err != nil {
		return fmt.Errorf("unqueue dead letters of %q: %w", accountID, err)
	}
	return nil
}

// RecordDeactivation notes a deactivation sent.
func (s *Store) RecordDeactivation(ctx context.Context, accountID string, t time.Time) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO mm_deactivations (account_id, sent_at) VALUES (?, ?)`), accountID, micros(t)); err != nil {
		return fmt.Errorf("record deactivation: %w", err)
	}
	return nil
}

// DeactivationsSince counts deactivations sent since a time, forgetting older ones.
func (s *Store) DeactivationsSince(ctx context.Context, since time.Time) (_ int, err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM mm_deactivations WHERE sent_at < ?`), micros(since)); err != nil {
		return 0, fmt.Errorf("forget old deactivations: %w", err)
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM mm_deactivations WHERE sent_at >= ?`), micros(since)); err != nil {
		return 0, fmt.Errorf("count deactivations: %w", err)
	}
	return n, nil
}

// HoldDeactivation records a held deactivation.
func (s *Store) HoldDeactivation(ctx context.Context, h store.HeldDeactivation) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO mm_held (account_id, username, permanent, held_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET username = excluded.username, permanent = excluded.permanent`),
		h.AccountID, h.Username, h.Permanent, micros(now())); err != nil {
		return fmt.Errorf("hold deactivation of %q: %w", h.AccountID, err)
	}
	return nil
}

// HeldDeactivations lists held deactivations, oldest first.
func (s *Store) HeldDeactivations(ctx context.Context, limit int) (_ []store.HeldDeactivation, _ int, err error) {
	defer s.classify(&err)
	var rows []struct {
		AccountID string `db:"account_id"`
		Username  string `db:"username"`
		Permanent bool   `db:"permanent"`
		HeldAt    int64  `db:"held_at"`
		Released  bool   `db:"released"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT account_id, username, permanent, held_at, released FROM mm_held
		ORDER BY held_at, `+s.byName("account_id")+` LIMIT ?`), capPage(limit)); err != nil {
		return nil, 0, fmt.Errorf("read held deactivations: %w", err)
	}
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT COUNT(*) FROM mm_held`); err != nil {
		return nil, 0, fmt.Errorf("count held deactivations: %w", err)
	}
	out := make([]store.HeldDeactivation, len(rows))
	for i, r := range rows {
		out[i] = store.HeldDeactivation{AccountID: r.AccountID, Username: r.Username, Permanent: r.Permanent, Time: fromMicros(r.HeldAt), Released: r.Released}
	}
	return out, total, nil
}

// ReleaseHeld marks held deactivations released.
func (s *Store) ReleaseHeld(ctx context.Context, accountIDs []string, all bool) (_ int, err error) {
	defer s.classify(&err)
	var res sql.Result
	if all {
		res, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE mm_held SET released = ? WHERE released = ?`), true, false)
	} else {
		if len(accountIDs) == 0 {
			return 0, nil
		}
		q, args := bind(`UPDATE mm_held SET released = :yes WHERE account_id IN :ids AND released = :no`,
			params{"yes": true, "no": false, "ids": s.d.textList(accountIDs)})
		res, err = s.db.ExecContext(ctx, s.db.Rebind(q), args...)
	}
	if err != nil {
		return 0, fmt.Errorf("release held deactivations: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ReleasedHeld lists released holds.
func (s *Store) ReleasedHeld(ctx context.Context, limit int) (_ []string, err error) {
	defer s.classify(&err)
	ids := []string{}
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(`SELECT account_id FROM mm_held WHERE released = ? ORDER BY held_at, `+s.byName("account_id")+` LIMIT ?`),
		true, capPage(limit)); err != nil {
		return nil, fmt.Errorf("read released holds: %w", err)
	}
	return ids, nil
}

// IsHeld reports whether an account's deactivation is held, and whether released.
func (s *Store) IsHeld(ctx context.Context, accountID string) (held, released bool, err error) {
	defer s.classify(&err)
	err = s.db.GetContext(ctx, &released, s.db.Rebind(`SELECT released FROM mm_held WHERE account_id = ?`), accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("read hold of %q: %w", accountID, err)
	}
	return true, released, nil
}

// DropHeld forgets an account's hold.
func (s *Store) DropHeld(ctx context.Context, accountID string) (err error) {
	defer s.classify(&err)
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM mm_held WHERE account_id = ?`), accountID); err != nil {
		return fmt.Errorf("drop hold of %q: %w", accountID, err)
	}
	return nil
}

// AddMMFailure records a failure, keeping the newest store.MaxMMFailures.
func (s *Store) AddMMFailure(ctx context.Context, f store.MMFailure) (err error) {
	defer s.classify(&err)
	if f.Time.IsZero() {
		f.Time = now()
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO mm_failures (at, account_id, api_call, status, error_id, message) VALUES (?, ?, ?, ?, ?, ?)`),
			micros(f.Time), f.AccountID, f.Call, f.Status, f.ErrorID, f.Message); err != nil {
			return fmt.Errorf("add failure: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM mm_failures WHERE id NOT IN (SELECT id FROM mm_failures ORDER BY id DESC LIMIT ?)`),
			store.MaxMMFailures); err != nil {
			return fmt.Errorf("trim failures: %w", err)
		}
		return nil
	})
}

// RecentMMFailures lists failures, newest first.
func (s *Store) RecentMMFailures(ctx context.Context, limit int) (_ []store.MMFailure, err error) {
	defer s.classify(&err)
	if limit <= 0 || limit > store.MaxMMFailures {
		limit = store.MaxMMFailures
	}
	var rows []struct {
		At        int64  `db:"at"`
		AccountID string `db:"account_id"`
		Call      string `db:"api_call"`
		Status    int    `db:"status"`
		ErrorID   string `db:"error_id"`
		Message   string `db:"message"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT at, account_id, api_call, status, error_id, message FROM mm_failures ORDER BY id DESC LIMIT ?`), limit); err != nil {
		return nil, fmt.Errorf("read failures: %w", err)
	}
	out := make([]store.MMFailure, len(rows))
	for i, r := range rows {
		out[i] = store.MMFailure{Time: fromMicros(r.At), AccountID: r.AccountID, Call: r.Call, Status: r.Status, ErrorID: r.ErrorID, Message: r.Message}
	}
	return out, nil
}

// MMStatus reads the status keys.
func (s *Store) MMStatus(ctx context.Context) (_ map[string]string, err error) {
	defer s.classify(&err)
	var rows []struct {
		Key   string `db:"key"`
		Value string `db:"value"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT key, value FROM mm_status`); err != nil {
		return nil, fmt.Errorf("read mattermost status: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Key] = r.Value
	}
	return out, nil
}

// SetMMStatus writes status keys in one transaction.
func (s *Store) SetMMStatus(ctx context.Context, kv map[string]string) (err error) {
	defer s.classify(&err)
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		for k, v := range kv {
			var err error
			if v == "" {
				_, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM mm_status WHERE key = ?`), k)
			} else {
				_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO mm_status (key, value) VALUES (?, ?)
					ON CONFLICT (key) DO UPDATE SET value = excluded.value`), k, v)
			}
			if err != nil {
				return fmt.Errorf("write mattermost status %q: %w", k, err)
			}
		}
		return nil
	})
}
