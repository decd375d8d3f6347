package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
)

// Bulk import (store.Bulk.ImportChat). A batch is one transaction, written set by set
// rather than line by line: its accounts are matched in one statement, created in
// multi-row INSERTs, and their memberships added and reconciled a chunk of accounts at a
// time (the import's rows and the rules' in one journalMemberships per chunk), so a
// batch of thousands of accounts costs tens of statements, not thousands. Teams and
// channels, few in any batch, are written one by one.

// importChunk is how many accounts one membership step of an import adds and
// reconciles, as reconcile chunks its accounts.
const importChunk = 400

// importInsertRows bounds the rows of one multi-row INSERT of an import: the users row
// binds 37 parameters, so 400 rows bind 14,800, below SQLite's 32,766 and PostgreSQL's
// 65,535.
const importInsertRows = 400

// ImportChat applies one batch in one transaction: teams, channels, then accounts and
// their memberships; see store.Bulk. A dry run makes every change and rolls back.
func (s *Store) ImportChat(ctx context.Context, b store.ImportBatch, opts store.ImportOptions) (_ store.ImportReport, err error) {
	defer s.classify(&err)
	if err := s.checkImportBatch(b); err != nil {
		return store.ImportReport{}, fmt.Errorf("import: %w", err)
	}
	var rep store.ImportReport
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		im := &importer{s: s, tx: tx, verbose: opts.Verbose, ts: micros(now())}
		if err := im.run(ctx, b); err != nil {
			return err
		}
		rep = im.rep
		if opts.DryRun {
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err != nil {
		return store.ImportReport{}, fmt.Errorf("import: %w", err)
	}
	return rep, nil
}

// CheckImport makes ImportChat's checks (checkImportBatch, then match) in one read-only
// snapshot, and writes nothing; see store.Bulk.
func (s *Store) CheckImport(ctx context.Context, b store.ImportBatch) (_ store.ImportCheck, err error) {
	defer s.classify(&err)
	if err := s.checkImportBatch(b); err != nil {
		return store.ImportCheck{}, fmt.Errorf("check import: %w", err)
	}
	if len(b.Users) == 0 {
		return store.ImportCheck{}, nil
	}
	opts := s.d.readSnapshot
	tx, err := s.db.BeginTxx(ctx, &opts)
	if err != nil {
		return store.ImportCheck{}, fmt.Errorf("check import: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to keep
	im := &importer{s: s, tx: tx}
	accts, err := im.match(ctx, b.Users)
	if err != nil {
		return store.ImportCheck{}, fmt.Errorf("check import: %w", err)
	}
	chk := store.ImportCheck{Accounts: make([]string, len(accts))}
	for i, a := range accts {
		chk.Accounts[i] = a.id
	}
	return chk, nil
}

// lineError is an InvalidError naming the line of the file an item came from.
func lineError(line int, field, reason string) error {
	return &store.InvalidError{Attribute: fmt.Sprintf("line %d: %s", line, field), Reason: reason}
}

// problems collects the problems of a batch, each with its line.
type problems store.ImportProblems

func (p *problems) add(line int, field, reason string) {
	*p = append(*p, store.ImportProblem{Line: line, Field: field, Reason: reason})
}

// err is the problems in line order (the order found among one line's), or nil.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	out := store.ImportProblems(slices.Clone(p))
	slices.SortStableFunc(out, func(a, b store.ImportProblem) int { return a.Line - b.Line })
	return out
}

// Reasons of the checks of a batch.
const (
	reasonRequired = "is required"
	reasonLimit    = "must be valid UTF-8 without NUL, of at most 256 characters" // store.MaxNameLength
)

// checkImportBatch checks what can be checked without the database, and returns every
// problem found (store.ImportProblems) or nil: the batch's size (MaxImportBatch, which
// alone is reported when broken), that every name and string is one the store may keep,
// the types, that no private channel bears the name of a team-join channel (reconcile
// joins team-join channels by name, so every team member would join it), and that no two
// lines of the batch name the same team, channel or person (applying such a batch twice
// would not leave it as it was).
func (s *Store) checkImportBatch(b store.ImportBatch) error {
	if n := len(b.Teams) + len(b.Channels) + len(b.Users); n > store.MaxImportBatch {
		return store.ImportProblems{{Field: "batch", Reason: fmt.Sprintf("holds %d items; at most %d", n, store.MaxImportBatch)}}
	}
	members := 0
	for _, u := range b.Users {
		for _, t := range u.Teams {
			members += 1 + len(t.Channels)
		}
	}
	if members > store.MaxImportBatch {
		return store.ImportProblems{{Field: "batch", Reason: fmt.Sprintf("holds %d memberships; at most %d", members, store.MaxImportBatch)}}
	}
	var probs problems
	// check adds a problem of v and reports whether v is fine.
	check := func(line int, field, v string, required bool) bool {
		switch {
		case v == "" && required:
			probs.add(line, field, reasonRequired)
		case !store.PossibleName(v):
			probs.add(line, field, reasonLimit)
		default:
			return true
		}
		return false
	}
	teams := map[string]int{}
	for _, t := range b.Teams {
		check(t.Line, "team.name", t.Name, true)
		check(t.Line, "team.display_name", t.DisplayName, false)
		if t.Type != "" && t.Type != store.TeamOpen && t.Type != store.TeamInviteOnly {
			probs.add(t.Line, "team.type", `must be "O" or "I"`)
		}
		if prev, dup := teams[t.Name]; dup {
			probs.add(t.Line, "team.name", fmt.Sprintf("%q is the team of line %d too", t.Name, prev))
		} else {
			teams[t.Name] = t.Line
		}
	}
	joins := s.rules.TeamJoinChannels()
	channels := map[[2]string]int{}
	for _, c := range b.Channels {
		check(c.Line, "channel.team", c.Team, true)
		check(c.Line, "channel.name", c.Name, true)
		check(c.Line, "channel.display_name", c.DisplayName, false)
		switch c.Type {
		case "", store.ChannelOpen:
		case store.ChannelPrivate:
			if slices.Contains(joins, c.Name) {
				probs.add(c.Line, "channel.type", fmt.Sprintf("%q is a channel every team member joins, so it cannot be private", c.Name))
			}
		default:
			probs.add(c.Line, "channel.type", `must be "O" or "P"`)
		}
		k := [2]string{c.Team, c.Name}
		if prev, dup := channels[k]; dup {
			probs.add(c.Line, "channel.name", fmt.Sprintf("%s/%s is the channel of line %d too", c.Team, c.Name, prev))
		} else {
			channels[k] = c.Line
		}
	}
	keys := map[string]int{} // "u:" username, "e:" email, "x:" externalId → line
	for _, u := range b.Users {
		for _, f := range []struct {
			field, v string
			required bool
		}{
			{"user.username", u.Username, true}, {"user.email", u.Email, true}, {"user.auth_data", u.ExternalID, false}, {"user.auth_service", u.AuthService, false},
			{"user.first_name", u.FirstName, false}, {"user.last_name", u.LastName, false}, {"user.nickname", u.Nickname, false},
			{"user.position", u.Position, false}, {"user.locale", u.Locale, false},
		} {
			check(u.Line, f.field, f.v, f.required)
		}
		if len(u.PasswordHash) > store.MaxTextLength {
			probs.add(u.Line, "user.password", "is too long")
		}
		for _, k := range []struct{ key, field string }{
			{"u:" + u.Username, "user.username"}, {"e:" + strings.ToLower(u.Email), "user.email"}, {"x:" + u.ExternalID, "user.auth_data"},
		} {
			if k.key == "x:" {
				continue
			}
			if prev, dup := keys[k.key]; dup {
				probs.add(u.Line, k.field, fmt.Sprintf("names the person of line %d too", prev))
			} else {
				keys[k.key] = u.Line
			}
		}
		for _, t := range u.Teams {
			check(u.Line, "user.teams.name", t.Name, true)
			for _, c := range t.Channels {
				check(u.Line, "user.teams.channels.name", c, true)
			}
		}
	}
	return probs.err()
}

// importer applies one batch in its transaction.
type importer struct {
	s       *Store
	tx      *sqlx.Tx
	verbose bool
	ts      int64 // the time of the batch's rows (micros)
	rep     store.ImportReport
	// defaultPK is the default team's key once defaultTeam has been asked.
	defaultPK int64
}

func (im *importer) change(format string, args ...any) {
	if im.verbose {
		im.rep.Changes = append(im.rep.Changes, fmt.Sprintf(format, args...))
	}
}

func (im *importer) run(ctx context.Context, b store.ImportBatch) error {
	for _, t := range b.Teams {
		if err := im.team(ctx, t); err != nil {
			return err
		}
	}
	for _, c := range b.Channels {
		if err := im.channel(ctx, c); err != nil {
			return err
		}
	}
	return im.users(ctx, b.Users)
}

// team creates or updates one team. A new team gets the channels every team has
// (town-square, off-topic and the team-join channels), as ensureTeam gives them.
func (im *importer) team(ctx context.Context, t store.ImportTeam) error {
	tx := im.tx
	var cur struct {
		PK          int64  `db:"pk"`
		DisplayName string `db:"display_name"`
		Type        string `db:"type"`
	}
	err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT pk, display_name, type FROM teams WHERE name = ?`), t.Name)
	switch {
	case err == nil:
		disp, typ := given(t.DisplayName, cur.DisplayName), given(t.Type, cur.Type)
		if disp == cur.DisplayName && typ == cur.Type {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE teams SET display_name = ?, type = ? WHERE pk = ?`), disp, typ, cur.PK); err != nil {
			return fmt.Errorf("update team %q: %w", t.Name, err)
		}
		im.rep.TeamsUpdated++
		im.change("team %s updated", t.Name)
		before, after := store.ChangedAttributes(nameAndType(cur.DisplayName, cur.Type), nameAndType(disp, typ))
		return im.s.appendEvents(ctx, tx, []store.Event{{Kind: store.EventTeamUpdated, Team: t.Name, Before: before, After: after}})
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("find team %q: %w", t.Name, err)
	}
	var pk int64
	if err := tx.GetContext(ctx, &pk, tx.Rebind(`INSERT INTO teams (name, display_name, type, created_at) VALUES (?, ?, ?, ?) RETURNING pk`),
		t.Name, given(t.DisplayName, t.Name), given(t.Type, store.TeamOpen), im.ts); err != nil {
		// A team created concurrently under the same name: the retry finds it.
		return fmt.Errorf("create team %q: %w", t.Name, mapRetry(err))
	}
	im.rep.TeamsCreated++
	im.change("team %s created", t.Name)
	if err := im.s.appendEvents(ctx, tx, []store.Event{{Kind: store.EventTeamCreated, Team: t.Name}}); err != nil {
		return err
	}
	for _, ch := range append([]string{rules.TownSquare, rules.OffTopic}, im.s.rules.TeamJoinChannels()...) {
		_, created, err := im.s.ensureChannelCreated(ctx, tx, pk, ch)
		if err != nil {
			return err
		}
		if created {
			im.rep.ChannelsCreated++
			im.change("channel %s/%s created", t.Name, ch)
		}
	}
	return nil
}

// nameAndType is what team.updated and channel.updated compare.
func nameAndType(displayName, typ string) map[string]string {
	return map[string]string{store.AttrDisplayName: displayName, store.AttrType: typ}
}

// given is v when given, else the current value.
func given(v, cur string) string {
	if v == "" {
		return cur
	}
	return v
}

// mapRetry maps a driver error (mapErr), turning a unique violation of a row another
// transaction inserted meanwhile (a team, a channel, a live user's userName) into
// errInsertRace: the transaction runs again and finds the row, which it then matches
// or reports. A chat username taken meanwhile is retryable already (errUsernameRace).
func mapRetry(err error) error {
	e := mapErr(err)
	if errors.Is(e, store.ErrConflict) {
		return fmt.Errorf("%w (%v)", errInsertRace, err)
	}
	return e
}

// errInsertRace is a row an import meant to insert that another transaction inserted
// meanwhile. Like errUsernameRace, each loss is another writer's progress, so it is
// retried as long (retry): an import of many accounts racing SCIM creates of the same
// people may lose once per create.
var errInsertRace = errors.New("a row was inserted concurrently")

// channel creates or updates one channel of a team that exists (in the database, or
// earlier in the batch).
func (im *importer) channel(ctx context.Context, c store.ImportChannel) error {
	tx := im.tx
	var teamPK int64
	err := tx.GetContext(ctx, &teamPK, tx.Rebind(`SELECT pk FROM teams WHERE name = ?`), c.Team)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return lineError(c.Line, "channel.team", fmt.Sprintf("%q is no team", c.Team))
	case err != nil:
		return fmt.Errorf("find team %q: %w", c.Team, err)
	}
	var cur struct {
		PK          int64  `db:"pk"`
		DisplayName string `db:"display_name"`
		Type        string `db:"type"`
	}
	err = tx.GetContext(ctx, &cur, tx.Rebind(`SELECT pk, display_name, type FROM channels WHERE team_pk = ? AND name = ?`), teamPK, c.Name)
	switch {
	case err == nil:
		disp, typ := given(c.DisplayName, cur.DisplayName), given(c.Type, cur.Type)
		if disp == cur.DisplayName && typ == cur.Type {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE channels SET display_name = ?, type = ? WHERE pk = ?`), disp, typ, cur.PK); err != nil {
			return fmt.Errorf("update channel %s/%s: %w", c.Team, c.Name, err)
		}
		im.rep.ChannelsUpdated++
		im.change("channel %s/%s updated", c.Team, c.Name)
		before, after := store.ChangedAttributes(nameAndType(cur.DisplayName, cur.Type), nameAndType(disp, typ))
		return im.s.appendEvents(ctx, tx, []store.Event{{Kind: store.EventChannelUpdated, Team: c.Team, Channel: c.Name, Before: before, After: after}})
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("find channel %s/%s: %w", c.Team, c.Name, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO channels (team_pk, name, display_name, type, created_at) VALUES (?, ?, ?, ?, ?)`),
		teamPK, c.Name, given(c.DisplayName, c.Name), given(c.Type, store.ChannelOpen), im.ts); err != nil {
		return fmt.Errorf("create channel %s/%s: %w", c.Team, c.Name, mapRetry(err))
	}
	im.rep.ChannelsCreated++
	im.change("channel %s/%s created", c.Team, c.Name)
	return im.s.appendEvents(ctx, tx, []store.Event{{Kind: store.EventChannelCreated, Team: c.Team, Channel: c.Name}})
}

// importAccount is a user line resolved to its account.
type importAccount struct {
	line       *store.ImportUser
	pk         int64
	id         string
	created    bool
	reactivate bool // the account is to be (was) reactivated
	teams      []int64
	channels   []int64
	// The admin roles the line grants (source import), of teams and channels of teams
	// and channels above.
	adminTeams, adminChannels []int64
}

// users applies the user lines: match, check, update the matched accounts, create the
// others, then add the memberships.
func (im *importer) users(ctx context.Context, lines []store.ImportUser) error {
	if len(lines) == 0 {
		return nil
	}
	accts, err := im.match(ctx, lines)
	if err != nil {
		return err
	}
	if err := im.resolveMemberships(ctx, accts); err != nil {
		return err
	}
	if err := im.update(ctx, accts); err != nil {
		return err
	}
	if err := im.create(ctx, accts); err != nil {
		return err
	}
	return im.memberships(ctx, accts)
}

// matchRow is an account found by one of the keys of a line.
type matchRow struct {
	Kind  int    `db:"kind"`
	PK    int64  `db:"pk"`
	Key   string `db:"k"`
	Live  bool   `db:"live"`
	Email string `db:"em"` // the account's email (kinds 0 and 2; kind 1's is Key)
	ID    string `db:"id"` // the account's SCIM id (kinds 0, 1, 2 and 4)
}

// match finds each line's account, in one statement (by externalId, by email, by chat
// username; live accounts only, the lowest key first), and checks what would stop
// the batch: a username another account or a group holds, a new account's userName
// (its email) that a live user has, two lines that find the same account, a new email
// that would give its account more than store.MaxMultiValues emails (a second
// statement, only when a line changes an account's email). Every such problem is
// returned, as store.ImportProblems; CheckImport and ImportChat both check through here.
func (im *importer) match(ctx context.Context, lines []store.ImportUser) ([]importAccount, error) {
	tx, d := im.tx, im.s.d
	var exts, emails, names []string
	for i := range lines {
		l := &lines[i]
		if l.ExternalID != "" {
			exts = append(exts, l.ExternalID)
		}
		emails = append(emails, strings.ToLower(l.Email))
		names = append(names, l.Username)
	}
	// One statement, so that every answer is of one moment: on PostgreSQL each
	// statement of a transaction sees the commits made before it, and an account
	// created between two reads would be missed by one and found by the next. An account
	// created after it makes the INSERT below fail on a unique index, and the
	// transaction runs again.
	text, args := bind(`SELECT 0 AS kind, pk, external_id AS k, true AS live, email AS em, id FROM users
		WHERE external_id IN :exts AND scim_deleted_at IS NULL
	UNION ALL
	SELECT 1, u.pk, u.email, true, u.email, u.id FROM user_emails e JOIN users u ON u.pk = e.user_pk
		WHERE e.value_ci IN :emails AND u.email = e.value_ci AND u.scim_deleted_at IS NULL
	UNION ALL
	SELECT 2, pk, username, scim_deleted_at IS NULL, email, id FROM users WHERE username IN :names
	UNION ALL
	SELECT 3, 0, name, true, '', '' FROM groups WHERE name IN :names
	UNION ALL
	SELECT 4, pk, user_name_ci, true, '', id FROM users WHERE user_name_ci IN :emails AND scim_deleted_at IS NULL
	ORDER BY 1, 2`, params{"exts": d.textList(exts), "emails": d.textList(emails), "names": d.textList(names)})
	var rows []matchRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(text), args...); err != nil {
		return nil, fmt.Errorf("match accounts: %w", err)
	}
	// By kind: externalId, email (through user_emails' index: an account's email is one
	// of its user's emails), chat username, group name, userName; the lowest key first.
	found := [5]map[string]matchRow{{}, {}, {}, {}, {}}
	for _, r := range rows {
		if r.Kind < 0 || r.Kind >= len(found) {
			return nil, fmt.Errorf("match accounts: kind %d", r.Kind)
		}
		if _, ok := found[r.Kind][r.Key]; !ok {
			found[r.Kind][r.Key] = r
		}
	}
	byExt, byEmail, byName, groupNames, userNames := found[0], found[1], found[2], found[3], found[4]
	accts := make([]importAccount, len(lines))
	seen := map[int64]int{} // account → line
	var probs problems
	newEmail := map[int64]int{} // account → index of the line giving it another email
	for i := range lines {
		l := &lines[i]
		a := importAccount{line: l}
		var m matchRow
		if r, ok := byExt[l.ExternalID]; ok && l.ExternalID != "" {
			m = r
		} else if r, ok := byEmail[strings.ToLower(l.Email)]; ok {
			m = r
		} else if r, ok := byName[l.Username]; ok && r.Live {
			m = r
		}
		a.pk, a.id = m.PK, m.ID
		if r, ok := byName[l.Username]; ok && r.PK != a.pk {
			reason := "is the username of another account"
			if !r.Live {
				reason = "is the username of another account (whose SCIM user was deleted)"
			}
			probs.add(l.Line, "user.username", reason)
		}
		if _, ok := groupNames[l.Username]; ok {
			probs.add(l.Line, "user.username", "is the name of a group")
		}
		if a.pk == 0 {
			if _, ok := userNames[strings.ToLower(l.Email)]; ok {
				probs.add(l.Line, "user.email", "is the userName of another user, whose account has another email")
			}
		} else {
			if prev, dup := seen[a.pk]; dup {
				probs.add(l.Line, "user", fmt.Sprintf("finds the account line %d finds too", prev))
			} else {
				seen[a.pk] = l.Line
			}
			if m.Email != strings.ToLower(l.Email) {
				newEmail[a.pk] = i
			}
		}
		accts[i] = a
	}
	if err := im.checkEmailCounts(ctx, lines, newEmail, &probs); err != nil {
		return nil, err
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return accts, nil
}

// checkEmailCounts adds a problem for each account (key → index of its line) whose
// line's email, made its primary one with its other emails kept (updateOne), would give
// it more than store.MaxMultiValues emails: one statement, none when no line changes an
// account's email.
func (im *importer) checkEmailCounts(ctx context.Context, lines []store.ImportUser, newEmail map[int64]int, probs *problems) error {
	if len(newEmail) == 0 {
		return nil
	}
	pks := make([]int64, 0, len(newEmail))
	for pk := range newEmail {
		pks = append(pks, pk)
	}
	slices.Sort(pks)
	var rows []struct {
		PK    int64  `db:"user_pk"`
		Value string `db:"value_ci"`
	}
	text, args := bind(`SELECT user_pk, value_ci FROM user_emails WHERE user_pk IN :users`, params{"users": im.s.d.int64List(pks)})
	if err := im.tx.SelectContext(ctx, &rows, im.tx.Rebind(text), args...); err != nil {
		return fmt.Errorf("count the matched accounts' emails: %w", err)
	}
	kept := map[int64]int{} // emails that stay beside the new one
	for _, r := range rows {
		if r.Value != strings.ToLower(lines[newEmail[r.PK]].Email) {
			kept[r.PK]++
		}
	}
	for _, pk := range pks {
		if n := 1 + kept[pk]; n > store.MaxMultiValues {
			l := &lines[newEmail[pk]]
			probs.add(l.Line, "user.email", fmt.Sprintf("would be the account's email number %d: at most %d are kept", n, store.MaxMultiValues))
		}
	}
	return nil
}

// resolveMemberships finds the keys of the teams and channels the lines name, in one
// statement; a name of nothing is an InvalidError naming the line.
func (im *importer) resolveMemberships(ctx context.Context, accts []importAccount) error {
	tx, d := im.tx, im.s.d
	teamSet, chanSet := map[string]bool{}, map[string]bool{}
	for _, a := range accts {
		for _, t := range a.line.Teams {
			teamSet[t.Name] = true
			for _, c := range t.Channels {
				chanSet[c] = true
			}
		}
	}
	if len(teamSet) == 0 {
		return nil
	}
	teamNames, chanNames := keys(teamSet), keys(chanSet)
	var rows []struct {
		PK      int64  `db:"pk"`
		Team    string `db:"team"`
		Channel string `db:"channel"`
	}
	text, args := bind(`SELECT pk, name AS team, '' AS channel FROM teams WHERE name IN :teams
		UNION ALL
		SELECT c.pk, t.name, c.name FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE t.name IN :teams AND c.name IN :channels`,
		params{"teams": d.textList(teamNames), "channels": d.textList(chanNames)})
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(text), args...); err != nil {
		return fmt.Errorf("find the teams and channels of the memberships: %w", err)
	}
	found := make(map[[2]string]int64, len(rows))
	for _, r := range rows {
		found[[2]string{r.Team, r.Channel}] = r.PK
	}
	for i := range accts {
		a := &accts[i]
		for _, t := range a.line.Teams {
			pk, ok := found[[2]string{t.Name, ""}]
			if !ok {
				return lineError(a.line.Line, "user.teams.name", fmt.Sprintf("%q is no team", t.Name))
			}
			a.teams = append(a.teams, pk)
			if t.Admin {
				a.adminTeams = append(a.adminTeams, pk)
			}
			for _, c := range t.Channels {
				pk, ok := found[[2]string{t.Name, c}]
				if !ok {
					return lineError(a.line.Line, "user.teams.channels.name", fmt.Sprintf("%q is no channel of team %q", c, t.Name))
				}
				a.channels = append(a.channels, pk)
				if slices.Contains(t.AdminChannels, c) {
					a.adminChannels = append(a.adminChannels, pk)
				}
			}
		}
	}
	return nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// update locks and reads the matched accounts (in key order, one statement), and writes
// those the batch changes, one by one (a re-import changes none): the given attributes,
// the chat username, the email (made the primary one; the old one stays, not primary),
// deactivation and reactivation, each journaled as a SCIM update is.
func (im *importer) update(ctx context.Context, accts []importAccount) error {
	tx, s := im.tx, im.s
	var pks []int64
	for _, a := range accts {
		if a.pk != 0 {
			pks = append(pks, a.pk)
		}
	}
	if len(pks) == 0 {
		return nil
	}
	slices.Sort(pks)
	text, args := bind(`SELECT `+userColumns+` FROM users WHERE users.pk IN :users ORDER BY users.pk`+s.d.lockForUpdate,
		params{"users": s.d.int64List(pks)})
	rows, err := tx.QueryxContext(ctx, tx.Rebind(text), args...)
	if err != nil {
		return fmt.Errorf("lock the matched accounts: %w", err)
	}
	byPK := make(map[int64]userRow, len(pks))
	for rows.Next() {
		r, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("read the matched accounts: %w", err)
		}
		byPK[r.PK] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the matched accounts: %w", err)
	}
	for i := range accts {
		a := &accts[i]
		if a.pk == 0 {
			continue
		}
		r, ok := byPK[a.pk]
		if !ok {
			return fmt.Errorf("matched account %d is gone: %w", a.pk, errJoinTargetChanged) // deleted meanwhile: run again
		}
		a.id = r.ID
		if err := im.updateOne(ctx, a, r); err != nil {
			return err
		}
	}
	return nil
}

// updateOne writes what line l changes of the account r, if anything.
func (im *importer) updateOne(ctx context.Context, a *importAccount, r userRow) error {
	tx, s, l := im.tx, im.s, a.line
	prev := r.user()
	u := prev
	changed := false
	for _, f := range []struct {
		dst *string
		v   string
	}{{&u.ExternalID, l.ExternalID}, {&u.Name.GivenName, l.FirstName}, {&u.Name.FamilyName, l.LastName},
		{&u.NickName, l.Nickname}, {&u.Title, l.Position}, {&u.Locale, l.Locale}} {
		if f.v != "" && *f.dst != f.v {
			*f.dst, changed = f.v, true
		}
	}
	if u.Account.Username != l.Username {
		u.Account.Username, changed = l.Username, true
	}
	email := strings.ToLower(l.Email)
	newEmail := u.Account.Email != email
	active := r.Active && r.DeleteAt == 0
	deactivate := l.DeleteAt > 0 && active
	a.reactivate = l.DeleteAt == 0 && l.Reactivate && !active
	if !changed && !newEmail && !deactivate && !a.reactivate {
		return nil
	}
	if newEmail {
		full, err := s.loadUserChildren(ctx, tx, []userRow{r})
		if err != nil {
			return err
		}
		prev.Emails, prev.PhoneNumbers, prev.Addresses = full[0].Emails, full[0].PhoneNumbers, full[0].Addresses
		u.PhoneNumbers, u.Addresses = prev.PhoneNumbers, prev.Addresses
		u.Emails = []store.MultiValue{{Value: l.Email, Type: "work", Primary: true}}
		for _, e := range prev.Emails {
			if strings.ToLower(e.Value) != email {
				e.Primary = false
				u.Emails = append(u.Emails, e)
			}
		}
		changed = true
		if err := u.Check(); err != nil { // one more email may pass store.MaxMultiValues
			return lineError(l.Line, "user.email", err.Error())
		}
	}
	if newEmail { // else the emails were not read: the account's email stands
		u.Account.Email = accountEmail(&u)
	}
	u.LastModified = now()
	u.Version = r.Version + 1
	switch {
	case deactivate:
		u.Active, u.Account.Status, u.Account.DeleteAt = false, store.StatusOffline, l.DeleteAt
	case a.reactivate:
		u.Active, u.Account.Status, u.Account.DeleteAt = true, store.StatusOnline, 0
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(updateUserSQL), append(userValues(&u), r.PK)...); err != nil {
		return fmt.Errorf("update account %s: %w", prev.Account.Username, mapErr(err))
	}
	if newEmail {
		if err := writeUserChildren(ctx, tx, r.PK, &u, &prev); err != nil {
			return err
		}
	}
	if err := s.appendEvents(ctx, tx, accountEvents(u.ID, u.Account.Username, store.AccountAttributes(&prev), store.AccountAttributes(&u), "")); err != nil {
		return err
	}
	if changed {
		im.rep.UsersUpdated++
		im.change("user %s updated", l.Username)
	}
	if deactivate {
		im.rep.UsersDeactivated++
		im.change("user %s deactivated", l.Username)
	}
	if a.reactivate {
		im.rep.UsersReactivated++
		im.change("user %s reactivated", l.Username)
	}
	return nil
}

// newImportedUser is the SCIM User of a line that matched no account.
func newImportedUser(l *store.ImportUser, ts int64) store.User {
	u := store.User{
		ID: uuid.NewString(), UserName: l.Email, ExternalID: l.ExternalID,
		Name:     store.Name{GivenName: l.FirstName, FamilyName: l.LastName},
		NickName: l.Nickname, Title: l.Position, Locale: l.Locale, PasswordHash: l.PasswordHash,
		Active:  l.DeleteAt == 0,
		Emails:  []store.MultiValue{{Value: l.Email, Type: "work", Primary: true}},
		Created: fromMicros(ts), LastModified: fromMicros(ts), Version: 1,
	}
	u.Account.Username = l.Username
	u.Account.Email = accountEmail(&u)
	if u.Active {
		u.Account.Status = store.StatusOnline
	} else {
		u.Account.Status, u.Account.DeleteAt = store.StatusOffline, l.DeleteAt
	}
	return u
}

// create inserts the accounts no line matched (origin import, with the line's auth
// service), importInsertRows at a time: the users rows in one INSERT, their emails in another, and their account.created entries
// together. Their memberships follow (memberships).
func (im *importer) create(ctx context.Context, accts []importAccount) error {
	tx, s := im.tx, im.s
	var idx []int
	for i := range accts {
		if accts[i].pk == 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	events := make([]store.Event, 0, len(idx))
	for len(idx) > 0 {
		n := min(len(idx), importInsertRows)
		users := make([]store.User, n)
		var b strings.Builder
		args := make([]any, 0, n*(4+len(userWriteColumns)))
		b.WriteString(`INSERT INTO users (id, created_at, origin, auth_service, ` + strings.Join(userWriteColumns, ", ") + `) VALUES `)
		row := `(?, ?, ?, ?` + strings.Repeat(", ?", len(userWriteColumns)) + `)`
		for k, i := range idx[:n] {
			users[k] = newImportedUser(accts[i].line, im.ts)
			if err := users[k].Check(); err != nil {
				return lineError(accts[i].line.Line, "user", err.Error())
			}
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString(row)
			args = append(append(args, users[k].ID, im.ts, store.OriginImport, null(accts[i].line.AuthService)), userValues(&users[k])...)
		}
		b.WriteString(` RETURNING pk, id`)
		var got []struct {
			PK int64  `db:"pk"`
			ID string `db:"id"`
		}
		if err := tx.SelectContext(ctx, &got, tx.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("create accounts: %w", mapRetry(err))
		}
		pkOf := make(map[string]int64, len(got))
		for _, g := range got {
			pkOf[g.ID] = g.PK
		}
		b.Reset()
		args = args[:0]
		b.WriteString(`INSERT INTO user_emails (user_pk, ord, value, value_ci, display, type, is_primary) VALUES `)
		for k, i := range idx[:n] {
			u := &users[k]
			a := &accts[i]
			a.pk, a.id, a.created = pkOf[u.ID], u.ID, true
			if k > 0 {
				b.WriteString(", ")
			}
			e := u.Emails[0]
			b.WriteString(`(?, 0, ?, ?, NULL, ?, ?)`)
			args = append(args, a.pk, e.Value, strings.ToLower(e.Value), e.Type, e.Primary)
			events = append(events, createdEvent(u))
			im.rep.UsersCreated++
			im.change("user %s created", u.Account.Username)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("create accounts' emails: %w", err)
		}
		idx = idx[n:]
	}
	return s.appendEvents(ctx, tx, events)
}

// memberships adds the lines' memberships (source import) and makes the rules hold for
// the accounts that need it, importChunk accounts at a time, each chunk journaled as one
// change (journalMembershipEvents).
//
// A new account has no group and no row yet, so the reconcile of it comes down to rule
// 1 (the default team, with source default, when the line gives no team; only while
// active) and rule 2 (the team-join channels of each of its teams, with source team):
// those rows are computed here and go into the same two multi-row INSERTs as the
// import's. An account that existed goes through the reconcile steps when it is
// reactivated or got a row: an import team replaces its default team, and its groups
// apply again after a reactivation; an inactive one that got a row gets its teams'
// team-join channels (rule 2 holds for every member, active or not).
func (im *importer) memberships(ctx context.Context, accts []importAccount) error {
	tx, s := im.tx, im.s
	var todo []*importAccount
	needDefault := false // by a new account without a team
	var newTeams []int64
	for i := range accts {
		a := &accts[i]
		switch {
		case a.created:
			todo = append(todo, a)
			newTeams = append(newTeams, a.teams...)
			if len(a.teams) == 0 && a.line.DeleteAt == 0 {
				needDefault = true
			}
		case a.reactivate || len(a.teams) > 0 || a.line.SystemAdmin:
			todo = append(todo, a)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if needDefault {
		pk, err := im.defaultTeam(ctx)
		if err != nil {
			return err
		}
		newTeams = append(newTeams, pk)
	}
	joinNames := s.rules.TeamJoinChannels()
	joinsOf, err := im.teamJoinChannels(ctx, newTeams, joinNames)
	if err != nil {
		return err
	}
	for len(todo) > 0 {
		chunk := todo[:min(len(todo), importChunk)]
		todo = todo[len(chunk):]
		es, err := s.journalMembershipEvents(ctx, tx, func(c *memberChanges) error {
			return im.membershipChunk(ctx, chunk, joinNames, joinsOf, c)
		})
		if err != nil {
			return err
		}
		for _, e := range es {
			switch e.Kind {
			case store.EventTeamJoined:
				im.rep.TeamMembershipsAdded++
				im.change("%s joined %s", e.Username, e.Team)
			case store.EventChannelJoined:
				im.rep.ChannelMembershipsAdded++
				im.change("%s joined %s/%s", e.Username, e.Team, e.Channel)
			case store.EventTeamLeft:
				im.change("%s left %s (%s)", e.Username, e.Team, e.Source)
			case store.EventChannelLeft:
				im.change("%s left %s/%s (%s)", e.Username, e.Team, e.Channel, e.Source)
			case store.EventAccountRoles, store.EventTeamRoles, store.EventChannelRoles:
				if e.RoleChange(store.RoleSystemAdmin)+e.RoleChange(store.RoleTeamAdmin)+e.RoleChange(store.RoleChannelAdmin) > 0 {
					im.rep.RolesGranted++
				}
				im.change("%s", describeRoleEvent(e))
			}
		}
	}
	return nil
}

// defaultTeam returns the key of the default team, which rule 1 and the reconcile
// steps need, creating it when it is missing: a change of the import's, counted. It is
// asked only when an account needs it, so that a batch that changes nothing creates
// nothing.
func (im *importer) defaultTeam(ctx context.Context) (int64, error) {
	if im.defaultPK != 0 {
		return im.defaultPK, nil
	}
	tx, s := im.tx, im.s
	var had bool
	if err := tx.GetContext(ctx, &had, tx.Rebind(`SELECT EXISTS (SELECT 1 FROM teams WHERE name = ?)`), s.rules.DefaultTeam); err != nil {
		return 0, fmt.Errorf("find the default team: %w", err)
	}
	pk, err := s.ensureTeam(ctx, tx, s.rules.DefaultTeam)
	if err != nil {
		return 0, err
	}
	if !had {
		im.rep.TeamsCreated++
		im.change("team %s created", s.rules.DefaultTeam)
		for _, ch := range slices.Compact(slices.Sorted(slices.Values(append([]string{rules.TownSquare, rules.OffTopic}, s.rules.TeamJoinChannels()...)))) {
			im.rep.ChannelsCreated++
			im.change("channel %s/%s created", s.rules.DefaultTeam, ch)
		}
	}
	im.defaultPK = pk
	return pk, nil
}

// teamJoinChannels returns the keys of the team-join channels of each of teams, in one
// statement, creating those a team lacks (a team made under other rules).
func (im *importer) teamJoinChannels(ctx context.Context, teams []int64, joinNames []string) (map[int64][]int64, error) {
	tx, s := im.tx, im.s
	slices.Sort(teams)
	teams = slices.Compact(teams)
	out := make(map[int64][]int64, len(teams))
	if len(teams) == 0 {
		return out, nil
	}
	var rows []struct {
		Team int64 `db:"team_pk"`
		PK   int64 `db:"pk"`
	}
	q, args := bind(`SELECT team_pk, pk FROM channels WHERE team_pk IN :teams AND name IN :joins`,
		params{"teams": s.d.int64List(teams), "joins": s.d.textList(joinNames)})
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("find team-join channels: %w", err)
	}
	for _, r := range rows {
		out[r.Team] = append(out[r.Team], r.PK)
	}
	for _, team := range teams {
		if len(out[team]) == len(joinNames) {
			continue
		}
		out[team] = out[team][:0]
		for _, name := range joinNames {
			pk, err := s.ensureChannel(ctx, tx, team, name)
			if err != nil {
				return nil, err
			}
			out[team] = append(out[team], pk)
		}
	}
	return out, nil
}

// membershipRowsPerInsert bounds the rows of one INSERT of memberships: 4 parameters
// each, 16,000 in all.
const membershipRowsPerInsert = 4000

func (im *importer) membershipChunk(ctx context.Context, chunk []*importAccount, joinNames []string,
	joinsOf map[int64][]int64, c *memberChanges) error {
	if err := im.membershipRows(ctx, chunk, joinNames, joinsOf, c); err != nil {
		return err
	}
	return im.roleRows(ctx, chunk, c)
}

// roleRows grants the admin roles the chunk's lines give (source import), once their
// memberships are in: a team or channel admin row only beside a membership of the same
// pair (a guest's, or a deactivated account's frozen rows, may lack it), as the
// reconcile keeps them.
func (im *importer) roleRows(ctx context.Context, chunk []*importAccount, c *memberChanges) error {
	tx := im.tx
	var system []any
	type pairs struct {
		table, target, members, returning string
		args                              []any
	}
	teams := pairs{"team_admins", "team_pk", "team_members", returningTeamAdminsJoined, nil}
	channels := pairs{"channel_admins", "channel_pk", "channel_members", returningChannelAdminsJoined, nil}
	for _, a := range chunk {
		if a.line.SystemAdmin {
			system = append(system, a.pk)
		}
		for _, t := range a.adminTeams {
			teams.args = append(teams.args, t, a.pk)
		}
		for _, ch := range a.adminChannels {
			channels.args = append(channels.args, ch, a.pk)
		}
	}
	for len(system) > 0 {
		n := min(len(system), membershipRowsPerInsert)
		q := `INSERT INTO system_admins (user_pk, source, created_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?, '`+sourceImport+`', ?), `, n), ", ") + ` ON CONFLICT DO NOTHING` + returningSystemAdminsJoined
		args := make([]any, 0, 2*n)
		for _, pk := range system[:n] {
			args = append(args, pk, im.ts)
		}
		if err := c.query(ctx, tx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("grant imported system admin roles: %w", err)
		}
		system = system[n:]
	}
	for _, p := range []pairs{teams, channels} {
		for args := p.args; len(args) > 0; {
			n := min(len(args)/2, membershipRowsPerInsert)
			q := `INSERT INTO ` + p.table + ` (` + p.target + `, user_pk, source, created_at)
				SELECT v.column1, v.column2, '` + sourceImport + `', CAST(? AS BIGINT) FROM (VALUES ` +
				strings.TrimSuffix(strings.Repeat(`(CAST(? AS BIGINT), CAST(? AS BIGINT)), `, n), ", ") + `) v
				WHERE EXISTS (SELECT 1 FROM ` + p.members + ` m WHERE m.` + p.target + ` = v.column1 AND m.user_pk = v.column2)
				ON CONFLICT DO NOTHING` + p.returning
			if err := c.query(ctx, tx, tx.Rebind(q), append([]any{im.ts}, args[:2*n]...)...); err != nil {
				return fmt.Errorf("grant imported admin roles: %w", err)
			}
			args = args[2*n:]
		}
	}
	return nil
}

// describeRoleEvent words a role entry for an import's changes: "alice: team_user →
// team_user team_admin in engineering".
func describeRoleEvent(e store.Event) string {
	where := ""
	switch e.Kind {
	case store.EventTeamRoles:
		where = " in " + e.Team
	case store.EventChannelRoles:
		where = " in " + e.Team + "/" + e.Channel
	}
	return fmt.Sprintf("%s: %s → %s%s", e.Username, e.Before[store.AttrRoles], e.After[store.AttrRoles], where)
}

// membershipRows adds the chunk's membership rows and reconciles the accounts that
// existed (membershipChunk).
func (im *importer) membershipRows(ctx context.Context, chunk []*importAccount, joinNames []string,
	joinsOf map[int64][]int64, c *memberChanges) error {
	tx, s := im.tx, im.s
	defaultTeam := im.defaultPK // set (defaultTeam) when a new account needs it
	type row struct {
		target, user int64
		source       string
	}
	var teamRows, chanRows []row
	for _, a := range chunk {
		for _, t := range a.teams {
			teamRows = append(teamRows, row{t, a.pk, sourceImport})
		}
		for _, ch := range a.channels {
			chanRows = append(chanRows, row{ch, a.pk, sourceImport})
		}
		if !a.created {
			continue
		}
		teams := a.teams
		if len(teams) == 0 && a.line.DeleteAt == 0 {
			teams = []int64{defaultTeam}
			teamRows = append(teamRows, row{defaultTeam, a.pk, sourceDefault})
		}
		for _, t := range teams {
			for _, ch := range joinsOf[t] {
				chanRows = append(chanRows, row{ch, a.pk, sourceTeam})
			}
		}
	}
	for _, table := range []struct {
		name, target, returning string
		rows                    []row
	}{
		{"team_members", "team_pk", returningTeamsJoined, teamRows}, {"channel_members", "channel_pk", returningChannelsJoined, chanRows},
	} {
		for rows := table.rows; len(rows) > 0; {
			n := min(len(rows), membershipRowsPerInsert)
			var b strings.Builder
			args := make([]any, 0, 4*n)
			b.WriteString(`INSERT INTO ` + table.name + ` (` + table.target + `, user_pk, source, created_at) VALUES `)
			for i, r := range rows[:n] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(`(?, ?, ?, ?)`)
				args = append(args, r.target, r.user, r.source, im.ts)
			}
			b.WriteString(` ON CONFLICT DO NOTHING` + table.returning)
			if err := c.query(ctx, tx, tx.Rebind(b.String()), args...); err != nil {
				return fmt.Errorf("add imported memberships: %w", err)
			}
			rows = rows[n:]
		}
	}
	// The accounts that existed: reconcile those reactivated or given a row.
	got := map[int64]bool{}
	for _, r := range c.rows {
		got[r.user] = true
	}
	var candidates []int64
	for _, a := range chunk {
		if !a.created && (a.reactivate || got[a.pk]) {
			candidates = append(candidates, a.pk)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	defaultTeam, err := im.defaultTeam(ctx)
	if err != nil {
		return err
	}
	active, err := s.lockUsers(ctx, tx, candidates)
	if err != nil {
		return err
	}
	if len(active) > 0 {
		if err := s.reconcileChunk(ctx, tx, active, defaultTeam, joinNames, c); err != nil {
			return err
		}
	}
	var inactive []int64
	for _, pk := range candidates {
		if got[pk] && !slices.Contains(active, pk) {
			inactive = append(inactive, pk)
		}
	}
	if len(inactive) == 0 {
		return nil
	}
	p := params{"users": s.d.int64List(inactive), "joins": s.d.textList(joinNames), "joins_count": len(joinNames),
		"ts": im.ts, "default_team": defaultTeam}
	if err := s.ensureJoinChannels(ctx, tx, p, joinNames); err != nil {
		return err
	}
	st := s.d.reconcile[stepJoinTeamJoinChannels]
	q, args := bind(st.sql, p)
	if err := c.query(ctx, tx, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("import: %s: %w", st.what, err)
	}
	return nil
}
