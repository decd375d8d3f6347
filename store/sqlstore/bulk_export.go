package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
)

// Bulk export (store.Bulk.ExportChat): the chat state as Mattermost's bulk format holds
// it, read in one read-only snapshot (dialect.readSnapshot) so that an export is one
// moment of the state and never holds a writer up.

// exportPage is how many accounts one statement of ExportChat reads (a variable so that
// tests can make pages small). The page, and its memberships, are all an export holds.
var exportPage = 1000

// ExportChat streams the chat state to sink from one snapshot: the teams and then the
// channels of each team (both few, held while they are sent, sorted by name byte by
// byte), then the accounts a page at a time in username order (keyset paging on the
// unique username, so each page is one index range), each page's memberships read in one
// statement per table. A sink's error is returned as it is.
func (s *Store) ExportChat(ctx context.Context, q store.ExportQuery, sink store.BulkSink) (err error) {
	defer s.classify(&err)
	for _, name := range q.Teams {
		if !store.PossibleName(name) {
			return fmt.Errorf("export: team %q: %w", name, store.ErrNotFound)
		}
	}
	opts := s.d.readSnapshot
	tx, err := s.db.BeginTxx(ctx, &opts)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to keep
	var teams []exportRow
	query, args := `SELECT pk, name, display_name, type FROM teams`, []any(nil)
	if len(q.Teams) > 0 {
		query, args = bind(query+` WHERE name IN :names`, params{"names": s.d.textList(q.Teams)})
	}
	if err := tx.SelectContext(ctx, &teams, tx.Rebind(query), args...); err != nil {
		return fmt.Errorf("export teams: %w", err)
	}
	if len(q.Teams) > 0 {
		for _, name := range q.Teams {
			if !slices.ContainsFunc(teams, func(t exportRow) bool {
				return t.Name == name
			}) {
				return fmt.Errorf("export: team %q: %w", name, store.ErrNotFound)
			}
		}
	}
	slices.SortFunc(teams, func(a, b exportRow) int {
		return cmp.Compare(a.Name, b.Name)
	})
	teamPKs := make([]int64, len(teams))
	for i, t := range teams {
		teamPKs[i] = t.PK
		if err := sink.Team(store.ExportTeam{Name: t.Name, DisplayName: t.DisplayName, Type: t.Type}); err != nil {
			return &callerError{err}
		}
	}
	for _, t := range teams {
		var chans []exportRow
		if err := tx.SelectContext(ctx, &chans, tx.Rebind(`SELECT pk, name, display_name, type FROM channels WHERE team_pk = ?`), t.PK); err != nil {
			return fmt.Errorf("export channels of %q: %w", t.Name, err)
		}
		slices.SortFunc(chans, func(a, b exportRow) int { return cmp.Compare(a.Name, b.Name) })
		for _, c := range chans {
			if err := sink.Channel(store.ExportChannel{Team: t.Name, Name: c.Name, DisplayName: c.DisplayName, Type: c.Type}); err != nil {
				return &callerError{err}
			}
		}
	}
	return s.exportAccounts(ctx, tx, q, teamPKs, sink)
}

// exportAccountsSQL reads the accounts that are live SCIM resources; exportAccounts adds
// the conditions of the query and the order.
const exportAccountsSQL = `SELECT pk, id, user_name, COALESCE(external_id, '') AS external_id, username,
	COALESCE(email, '') AS email, COALESCE(given_name, '') AS given_name, COALESCE(family_name, '') AS family_name,
	COALESCE(nick_name, '') AS nick_name, COALESCE(title, '') AS title, COALESCE(locale, '') AS locale,
	active, delete_at, guest, EXISTS (SELECT 1 FROM system_admins a WHERE a.user_pk = users.pk) AS system_admin
	FROM users WHERE scim_deleted_at IS NULL AND username IS NOT NULL`

// exportRow is a team or a channel as an export reads it.
type exportRow struct {
	PK          int64  `db:"pk"`
	Name        string `db:"name"`
	DisplayName string `db:"display_name"`
	Type        string `db:"type"`
}

// membershipRow is a team membership (Channel "") or a channel membership of an account.
type membershipRow struct {
	User    int64  `db:"user_pk"`
	Team    string `db:"team"`
	Channel string `db:"channel"`
	Admin   bool   `db:"admin"` // a grant of the team's or channel's admin role
}

type exportAccount struct {
	PK         int64  `db:"pk"`
	ID         string `db:"id"`
	UserName   string `db:"user_name"`
	ExternalID string `db:"external_id"`
	Username   string `db:"username"`
	Email      string `db:"email"`
	GivenName  string `db:"given_name"`
	FamilyName string `db:"family_name"`
	NickName   string `db:"nick_name"`
	Title      string `db:"title"`
	Locale     string `db:"locale"`
	Active     bool   `db:"active"`
	DeleteAt   int64  `db:"delete_at"`
	// Roles (store/roles.go): the guest status and whether a system admin grant exists;
	// a guest's grants have no effect, so its roles are the guest's.
	Guest       bool `db:"guest"`
	SystemAdmin bool `db:"system_admin"`
}

// exportAccounts sends the accounts, a page at a time, in username order byte by byte
// (the dialect's binaryCollation). Where the dialect has cursors, one statement sorts
// them once and each page is a FETCH from its cursor; elsewhere each page is a keyset
// read after the last username, an index range where the index sorts byte by byte
// (SQLite's BINARY). On PostgreSQL, whose index on username sorts by the database's
// collation, a keyset page was a sort of every account: 27 s for 100k accounts.
func (s *Store) exportAccounts(ctx context.Context, tx *sqlx.Tx, q store.ExportQuery, teamPKs []int64, sink store.BulkSink) error {
	query := exportAccountsSQL
	p := params{"teams": s.d.int64List(teamPKs), "limit": exportPage}
	if !q.IncludeDeactivated {
		query += ` AND active AND delete_at = 0`
	}
	if len(q.Teams) > 0 {
		query += ` AND EXISTS (SELECT 1 FROM team_members tm WHERE tm.user_pk = users.pk AND tm.team_pk IN :teams)`
	}
	order := ` ORDER BY username` + s.d.binaryCollation
	if s.d.cursors {
		text, args := bind(`DECLARE export_accounts NO SCROLL CURSOR FOR `+query+order, p)
		if _, err := tx.ExecContext(ctx, tx.Rebind(text), args...); err != nil {
			return fmt.Errorf("export accounts: %w", err)
		}
	} else {
		query += ` AND username` + s.d.binaryCollation + ` > :after` + order + ` LIMIT :limit`
	}
	after := ""
	for {
		var page []exportAccount
		if s.d.cursors {
			if err := tx.SelectContext(ctx, &page, fmt.Sprintf(`FETCH FORWARD %d FROM export_accounts`, exportPage)); err != nil {
				return fmt.Errorf("export accounts: %w", err)
			}
		} else {
			p["after"] = after
			text, args := bind(query, p)
			if err := tx.SelectContext(ctx, &page, tx.Rebind(text), args...); err != nil {
				return fmt.Errorf("export accounts: %w", err)
			}
		}
		if len(page) == 0 {
			return nil
		}
		users, err := s.exportMemberships(ctx, tx, page, q, teamPKs)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := sink.User(u); err != nil {
				return &callerError{err}
			}
		}
		if len(page) < exportPage {
			return nil
		}
		after = page[len(page)-1].Username
	}
}

// exportMemberships reads the teams and channels of one page of accounts (limited to
// teamPKs when the export names teams) and returns the page as ExportUsers, each
// membership once, teams and channels by name.
func (s *Store) exportMemberships(ctx context.Context, tx *sqlx.Tx, page []exportAccount, q store.ExportQuery, teamPKs []int64) ([]store.ExportUser, error) {
	pks := make([]int64, len(page))
	for i, a := range page {
		pks[i] = a.PK
	}
	p := params{"users": s.d.int64List(pks), "teams": s.d.int64List(teamPKs)}
	onlyTeams := ""
	if len(q.Teams) > 0 {
		onlyTeams = ` AND t.pk IN :teams`
	}
	var rows []membershipRow
	// A team membership is a row with an empty channel: channel names are never empty.
	text, args := bind(`SELECT DISTINCT m.user_pk, t.name AS team, '' AS channel,
		  EXISTS (SELECT 1 FROM team_admins a WHERE a.team_pk = m.team_pk AND a.user_pk = m.user_pk) AS admin
		FROM team_members m JOIN teams t ON t.pk = m.team_pk
		WHERE m.user_pk IN :users`+onlyTeams+`
		UNION ALL
		SELECT DISTINCT m.user_pk, t.name, c.name,
		  EXISTS (SELECT 1 FROM channel_admins a WHERE a.channel_pk = m.channel_pk AND a.user_pk = m.user_pk)
		FROM channel_members m JOIN channels c ON c.pk = m.channel_pk JOIN teams t ON t.pk = c.team_pk
		WHERE m.user_pk IN :users`+onlyTeams, p)
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(text), args...); err != nil {
		return nil, fmt.Errorf("export memberships: %w", err)
	}
	slices.SortFunc(rows, func(a, b membershipRow) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Team, b.Team), cmp.Compare(a.Channel, b.Channel))
	})
	out := make([]store.ExportUser, len(page))
	for i, a := range page {
		u := store.ExportUser{ID: a.ID, UserName: a.UserName, ExternalID: a.ExternalID, Username: a.Username, Email: a.Email,
			FirstName: a.GivenName, LastName: a.FamilyName, Nickname: a.NickName, Position: a.Title, Locale: a.Locale,
			Roles: store.SystemRoles(a.SystemAdmin, a.Guest)}
		if !a.Active || a.DeleteAt != 0 {
			u.DeleteAt = a.DeleteAt
		}
		// The rows of this account: sorted by key, then team, then channel ("" first).
		lo, found := slices.BinarySearchFunc(rows, a.PK, func(r membershipRow, pk int64) int {
			return cmp.Compare(r.User, pk)
		})
		for j := lo; found && j < len(rows) && rows[j].User == a.PK; j++ {
			r := rows[j]
			if r.Channel == "" {
				u.Teams = append(u.Teams, store.ExportTeamMembership{Name: r.Team, Roles: store.TeamRoles(r.Admin, a.Guest)})
				continue
			}
			if n := len(u.Teams); n > 0 && u.Teams[n-1].Name == r.Team {
				u.Teams[n-1].Channels = append(u.Teams[n-1].Channels, store.ExportChannelMembership{Name: r.Channel, Roles: store.ChannelRoles(r.Admin, a.Guest)})
				continue
			}
			return nil, fmt.Errorf("export: %s is in channel %s/%s but not in its team", a.Username, r.Team, r.Channel)
		}
		out[i] = u
	}
	return out, nil
}

// errRollback ends a transaction that must not commit (a dry run) without failing it.
var errRollback = errors.New("rolled back")
