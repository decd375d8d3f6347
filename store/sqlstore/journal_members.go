package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/townsquare/townsquare/store"
)

// Membership entries are effective transitions: an account joins a team when its first
// membership row for the team appears and leaves it when its last goes, whatever rows of
// other sources come and go meanwhile.
//
// journalMemberships computes them from what the change wrote, not from the accounts'
// memberships: every statement that inserts or deletes membership rows inside it returns
// those rows (RETURNING, the columns of memberChange), so the work and the memory follow
// the rows the change wrote, never the rows the accounts already hold. For each (account,
// team) or (account, channel) pair a row of which was written, one statement then counts
// the pair's rows now (dialect.countPairs, in the statement that also reads the names the
// entries carry), and the count before follows without reading it:
// before = now − inserted + deleted. The pair was joined when it goes from 0 rows to some,
// left when it goes from some to 0; a pair that kept a row (a source replaced by another,
// as a group's team replacing the default membership) is neither.

// The RETURNING clauses of the statements that change memberships inside
// journalMemberships: each row they return is a memberChange. op says the table (t:
// team_members, c: channel_members) and what happened (+ inserted, - deleted).
const (
	returningTeamsJoined    = ` RETURNING '+t' AS op, user_pk, team_pk AS target, source`
	returningTeamsLeft      = ` RETURNING '-t' AS op, user_pk, team_pk AS target, source`
	returningChannelsJoined = ` RETURNING '+c' AS op, user_pk, channel_pk AS target, source`
	returningChannelsLeft   = ` RETURNING '-c' AS op, user_pk, channel_pk AS target, source`

	// Role grants (system_admins: S, team_admins: T, channel_admins: C) and guest
	// changes (g: '+g' became a guest, '-g' stopped being one).
	returningSystemAdminsJoined  = ` RETURNING '+S' AS op, user_pk, 0 AS target, source`
	returningSystemAdminsLeft    = ` RETURNING '-S' AS op, user_pk, 0 AS target, source`
	returningTeamAdminsJoined    = ` RETURNING '+T' AS op, user_pk, team_pk AS target, source`
	returningTeamAdminsLeft      = ` RETURNING '-T' AS op, user_pk, team_pk AS target, source`
	returningChannelAdminsJoined = ` RETURNING '+C' AS op, user_pk, channel_pk AS target, source`
	returningChannelAdminsLeft   = ` RETURNING '-C' AS op, user_pk, channel_pk AS target, source`
	returningGuest               = ` RETURNING CASE WHEN guest THEN '+g' ELSE '-g' END AS op, pk AS user_pk, 0 AS target, '' AS source`
)

// memberChange is one membership row a change inserted or deleted (see the RETURNING
// clauses above).
type memberChange struct {
	channel, inserted bool
	user, target      int64
	source            string
}

// memberChanges collects the rows the statements of a change return. Sources are
// interned: a change of thousands of rows names a handful of them.
type memberChanges struct {
	rows []memberChange
	// roles are the role grant rows and guest changes written (their op's table letter
	// S, T, C or g in kind); journalMemberships journals their effective transitions.
	roles   []roleChange
	sources map[string]string
	// lacking adds up the rows whose op is opLacking (grantGroup).
	lacking int64
}

// scan collects the rows of a statement that changes memberships, and closes them.
func (c *memberChanges) scan(rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	var op, src sql.RawBytes
	var user, target int64
	for rows.Next() {
		if err := rows.Scan(&op, &user, &target, &src); err != nil {
			return err
		}
		if string(op) == opLacking {
			c.lacking += target
			continue
		}
		if len(op) != 2 || (op[0] != '+' && op[0] != '-') {
			return fmt.Errorf("membership change %q: not an op", op)
		}
		s, ok := c.sources[string(src)]
		if !ok {
			if c.sources == nil {
				c.sources = make(map[string]string)
			}
			s = string(src)
			c.sources[s] = s
		}
		switch op[1] {
		case 't', 'c':
			c.rows = append(c.rows, memberChange{channel: op[1] == 'c', inserted: op[0] == '+', user: user, target: target, source: s})
		case 'S', 'T', 'C', 'g':
			c.roles = append(c.roles, roleChange{kind: op[1], inserted: op[0] == '+', user: user, target: target, source: s})
		default:
			return fmt.Errorf("membership change %q: not an op", op)
		}
	}
	return rows.Err()
}

// query runs a statement that changes memberships and collects the rows it returns.
func (c *memberChanges) query(ctx context.Context, tx *sqlx.Tx, q string, args ...any) error {
	return c.scan(tx.QueryContext(ctx, q, args...))
}

// txQueryChanges is query through the statement cache.
func (s *Store) txQueryChanges(ctx context.Context, tx *sqlx.Tx, c *memberChanges, q string, args ...any) error {
	if st := s.txStmt(ctx, tx, q); st != nil {
		return c.scan(st.QueryContext(ctx, args...))
	}
	return c.query(ctx, tx, q, args...)
}

// pair is an account in a team or a channel.
type pair struct {
	channel      bool
	user, target int64
}

// comparePairs orders pairs: teams before channels, then by account, then by target.
func comparePairs(a, b pair) int {
	switch {
	case a.channel != b.channel:
		if b.channel {
			return -1
		}
		return 1
	case a.user != b.user:
		return cmp.Compare(a.user, b.user)
	}
	return cmp.Compare(a.target, b.target)
}

// pair is the pair the row belongs to.
func (r memberChange) pair() pair { return pair{r.channel, r.user, r.target} }

// appendMinus appends to dst the sources of xs not matched one for one in ys (ys is
// left as it is).
func appendMinus(dst, xs, ys []string) []string {
	var used uint64 // ys[i] matched; a pair has a few sources, never 64
	if len(ys) > 64 {
		ys = slices.Clone(ys)
	}
next:
	for _, x := range xs {
		for i, y := range ys {
			if y == x && (i >= 64 || used&(1<<i) == 0) {
				if i < 64 {
					used |= 1 << i
				} else {
					ys[i] = "\x00matched"
				}
				continue next
			}
		}
		dst = append(dst, x)
	}
	return dst
}

// journalReadNames completes the dialect's countPairs into the one statement
// journalMemberships reads with: after the counts (kinds 0 and 1), the names its entries
// carry (kinds 2–5), each by primary key; an account's row (kind 2) carries in n whether
// it is a guest. Every row has the columns (kind, pk, target, n, a, b).
const journalReadNames = `
	UNION ALL SELECT 2, pk, 0, CASE WHEN guest THEN 1 ELSE 0 END, id, COALESCE(username, '') FROM users WHERE pk IN :name_users
	UNION ALL SELECT 3, pk, 0, 0, name, '' FROM teams WHERE pk IN :name_teams
	UNION ALL SELECT 4, c.pk, 0, 0, t.name, c.name FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE c.pk IN :name_channels
	UNION ALL SELECT 5, pk, 0, 0, display_name, '' FROM groups WHERE pk IN :name_groups`

// journalReadRoles follows journalReadNames when a change wrote role grant rows: the
// grant rows of each (account, team), (account, channel) and account written now (kinds
// 6, 7 and 8), read by account.
const journalReadRoles = `
	UNION ALL SELECT 6, user_pk, team_pk, COUNT(*), '', '' FROM team_admins
	  WHERE user_pk IN :role_team_users AND team_pk IN :role_teams GROUP BY user_pk, team_pk
	UNION ALL SELECT 7, user_pk, channel_pk, COUNT(*), '', '' FROM channel_admins
	  WHERE user_pk IN :role_channel_users AND channel_pk IN :role_channels GROUP BY user_pk, channel_pk
	UNION ALL SELECT 8, user_pk, 0, COUNT(*), '', '' FROM system_admins WHERE user_pk IN :role_users GROUP BY user_pk`

// roleChange is one role grant row a change inserted or deleted, or a change of an
// account's guest status (kind 'g', inserted: it became a guest).
type roleChange struct {
	kind         byte // 'S' system_admins, 'T' team_admins, 'C' channel_admins, 'g' users.guest
	inserted     bool
	user, target int64
	source       string
}

func compareRoleChanges(a, b roleChange) int {
	if c := cmp.Compare(a.user, b.user); c != 0 {
		return c
	}
	if c := cmp.Compare(a.kind, b.kind); c != 0 {
		return c
	}
	return cmp.Compare(a.target, b.target)
}

// journalMemberships runs change, whose statements return every membership row they
// insert or delete into the memberChanges it is given, and journals the effective
// transitions it made: one statement reads the counts and the names, one appends the
// entries, and a change that wrote no membership row costs nothing more. The rows are
// sorted by pair and walked in runs, so the memory is the rows written and the entries.
//
// Role grant rows and guest changes are journaled the same way (roles.go): a role entry
// (account.roles, team.roles, channel.roles) when a role comes into or goes out of
// effect, none while the account is a guest, and one account.roles entry for a
// promotion or a demotion, which stands for the member roles that follow from it.
func (s *Store) journalMemberships(ctx context.Context, tx *sqlx.Tx, change func(c *memberChanges) error) error {
	_, err := s.journalMembershipEvents(ctx, tx, change)
	return err
}

// journalMembershipEvents is journalMemberships, returning the entries it appended (an
// import reports them).
func (s *Store) journalMembershipEvents(ctx context.Context, tx *sqlx.Tx, change func(c *memberChanges) error) ([]store.Event, error) {
	var c memberChanges
	if err := change(&c); err != nil {
		return nil, err
	}
	if len(c.rows) == 0 && len(c.roles) == 0 {
		return nil, nil
	}
	rows := c.rows
	slices.SortFunc(rows, func(a, b memberChange) int { return comparePairs(a.pair(), b.pair()) })
	roles := c.roles
	slices.SortFunc(roles, compareRoleChanges)
	// The keys to read: the accounts and targets of the pairs written, per table, and
	// the groups the sources name.
	var teamUsers, teams, channelUsers, channels, users, groups []int64
	var roleTeamUsers, roleTeams, roleChannelUsers, roleChannels, roleUsers []int64
	for _, r := range rows {
		if r.channel {
			channelUsers, channels = append(channelUsers, r.user), append(channels, r.target)
		} else {
			teamUsers, teams = append(teamUsers, r.user), append(teams, r.target)
		}
	}
	for _, r := range roles {
		roleUsers = append(roleUsers, r.user)
		switch r.kind {
		case 'T':
			roleTeamUsers, roleTeams = append(roleTeamUsers, r.user), append(roleTeams, r.target)
		case 'C':
			roleChannelUsers, roleChannels = append(roleChannelUsers, r.user), append(roleChannels, r.target)
		}
	}
	users = append(append(append(users, teamUsers...), channelUsers...), roleUsers...)
	nameTeams := append(slices.Clone(teams), roleTeams...)
	nameChannels := append(slices.Clone(channels), roleChannels...)
	for src := range c.sources {
		if m := parseSource(src); m.Kind == store.SourceGroup {
			groups = append(groups, m.GroupPK)
		}
	}
	for _, l := range []*[]int64{&teamUsers, &teams, &channelUsers, &channels, &users, &groups, &nameTeams, &nameChannels,
		&roleTeamUsers, &roleTeams, &roleChannelUsers, &roleChannels, &roleUsers} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	p := params{
		"team_users": s.d.int64List(teamUsers), "teams": s.d.int64List(teams),
		"channel_users": s.d.int64List(channelUsers), "channels": s.d.int64List(channels),
		"name_users": s.d.int64List(users), "name_teams": s.d.int64List(nameTeams),
		"name_channels": s.d.int64List(nameChannels), "name_groups": s.d.int64List(groups)}
	query := s.d.countPairs + journalReadNames
	if len(roles) > 0 {
		query += journalReadRoles
		p["role_team_users"], p["role_teams"] = s.d.int64List(roleTeamUsers), s.d.int64List(roleTeams)
		p["role_channel_users"], p["role_channels"] = s.d.int64List(roleChannelUsers), s.d.int64List(roleChannels)
		p["role_users"] = s.d.int64List(roleUsers)
	}
	q, args := bind(query, p)
	type pairCount struct {
		p pair
		n int
	}
	var counts []pairCount
	roleCounts := map[roleKey]int{}
	guest := map[int64]bool{}
	n := journalNameSet{users: make(map[int64]struct{ id, username string }, len(users)), teams: make(map[int64]string, len(nameTeams)),
		channels: make(map[int64]struct{ team, name string }, len(nameChannels)), groups: make(map[int64]string, len(groups)),
		sources: make(map[string]string)}
	err := func() error {
		q := tx.Rebind(q)
		var res *sql.Rows
		var err error
		if st := s.txStmt(ctx, tx, q); st != nil {
			res, err = st.QueryContext(ctx, args...)
		} else {
			res, err = tx.QueryContext(ctx, q, args...)
		}
		if err != nil {
			return err
		}
		defer res.Close()
		var kind, cnt int
		var pk, target int64
		var a, b string
		for res.Next() {
			if err := res.Scan(&kind, &pk, &target, &cnt, &a, &b); err != nil {
				return err
			}
			switch kind {
			case 0, 1:
				counts = append(counts, pairCount{pair{kind == 1, pk, target}, cnt})
			case 2:
				n.users[pk] = struct{ id, username string }{a, b}
				guest[pk] = cnt == 1
			case 3:
				n.teams[pk] = a
			case 4:
				n.channels[pk] = struct{ team, name string }{a, b}
			case 5:
				n.groups[pk] = a
			case 6:
				roleCounts[roleKey{'T', pk, target}] = cnt
			case 7:
				roleCounts[roleKey{'C', pk, target}] = cnt
			case 8:
				roleCounts[roleKey{'S', pk, 0}] = cnt
			}
		}
		return res.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("read memberships and names for the journal: %w", err)
	}
	slices.SortFunc(counts, func(a, b pairCount) int { return comparePairs(a.p, b.p) })

	// A transition's sources are srcs[lo:hi]: one slice for them all.
	type transition struct {
		kind          store.EventKind
		p             pair
		lo, hi        int
		before, after string // role strings of a role entry
	}
	ts := make([]transition, 0, len(rows))
	var srcs, ins, del []string
	for i, k := 0, 0; i < len(rows); {
		p := rows[i].pair()
		ins, del = ins[:0], del[:0]
		for ; i < len(rows) && rows[i].pair() == p; i++ {
			if rows[i].inserted {
				ins = append(ins, rows[i].source)
			} else {
				del = append(del, rows[i].source)
			}
		}
		for k < len(counts) && comparePairs(counts[k].p, p) < 0 {
			k++
		}
		after := 0
		if k < len(counts) && counts[k].p == p {
			after = counts[k].n
		}
		before := after - len(ins) + len(del)
		switch {
		case before < 0:
			return nil, fmt.Errorf("journal memberships: user %d, target %d: %d rows now, %d inserted: a statement did not return its rows", p.user, p.target, after, len(ins))
		case before == 0 && after > 0:
			kind := store.EventTeamJoined
			if p.channel {
				kind = store.EventChannelJoined
			}
			lo := len(srcs)
			srcs = appendMinus(srcs, ins, del)
			ts = append(ts, transition{kind: kind, p: p, lo: lo, hi: len(srcs)})
		case before > 0 && after == 0:
			kind := store.EventTeamLeft
			if p.channel {
				kind = store.EventChannelLeft
			}
			lo := len(srcs)
			srcs = appendMinus(srcs, del, ins)
			ts = append(ts, transition{kind: kind, p: p, lo: lo, hi: len(srcs)})
		}
	}

	// Role transitions, from the runs of grant rows of one (kind, account, target).
	promoted := map[int64]int{} // +1 became a guest (a demotion), -1 stopped being one (a promotion)
	sysBefore := map[int64]bool{}
	for _, r := range roles {
		switch {
		case r.kind == 'g' && r.inserted:
			promoted[r.user] = 1
		case r.kind == 'g':
			promoted[r.user] = -1
		}
	}
	for i := 0; i < len(roles); {
		r := roles[i]
		ins, del = ins[:0], del[:0]
		for ; i < len(roles) && roles[i].kind == r.kind && roles[i].user == r.user && roles[i].target == r.target; i++ {
			if roles[i].inserted {
				ins = append(ins, roles[i].source)
			} else {
				del = append(del, roles[i].source)
			}
		}
		if r.kind == 'g' {
			continue
		}
		after := roleCounts[roleKey{r.kind, r.user, r.target}]
		before := after - len(ins) + len(del)
		if before < 0 {
			return nil, fmt.Errorf("journal roles: user %d, target %d: %d grants now, %d inserted: a statement did not return its rows", r.user, r.target, after, len(ins))
		}
		if r.kind == 'S' {
			sysBefore[r.user] = before > 0
		}
		if promoted[r.user] != 0 || guest[r.user] || (before > 0) == (after > 0) {
			continue // a promotion or demotion is one entry; a guest's grants have no effect
		}
		lo := len(srcs)
		if after > 0 {
			srcs = appendMinus(srcs, ins, del)
		} else {
			srcs = appendMinus(srcs, del, ins)
		}
		t := transition{p: pair{user: r.user, target: r.target}, lo: lo, hi: len(srcs)}
		switch r.kind {
		case 'S':
			t.kind, t.before, t.after = store.EventAccountRoles, store.SystemRoles(before > 0, false), store.SystemRoles(after > 0, false)
		case 'T':
			t.kind, t.before, t.after = store.EventTeamRoles, store.TeamRoles(before > 0, false), store.TeamRoles(after > 0, false)
		case 'C':
			t.p.channel = true
			t.kind, t.before, t.after = store.EventChannelRoles, store.ChannelRoles(before > 0, false), store.ChannelRoles(after > 0, false)
		}
		ts = append(ts, t)
	}
	for user, dir := range promoted {
		admin := roleCounts[roleKey{'S', user, 0}] > 0
		if _, wrote := sysBefore[user]; !wrote {
			sysBefore[user] = admin
		}
		ts = append(ts, transition{kind: store.EventAccountRoles, p: pair{user: user}, lo: len(srcs), hi: len(srcs),
			before: store.SystemRoles(sysBefore[user], dir < 0), after: store.SystemRoles(admin, dir > 0)})
	}
	if len(ts) == 0 {
		return nil, nil
	}
	// Per account: its system roles, teams joined, then channels joined, roles in teams
	// and channels, channels left, teams left (the order a chat server takes them in);
	// accounts and targets in key order.
	slices.SortFunc(ts, func(a, b transition) int {
		if c := cmp.Compare(a.p.user, b.p.user); c != 0 {
			return c
		}
		if c := cmp.Compare(transitionRank[a.kind], transitionRank[b.kind]); c != 0 {
			return c
		}
		return cmp.Compare(a.p.target, b.p.target)
	})
	es := make([]store.Event, len(ts))
	for i, t := range ts {
		e := store.Event{Kind: t.kind, Account: n.users[t.p.user].id, Username: n.users[t.p.user].username}
		if t.hi > t.lo {
			e.Source = n.source(ctx, srcs[t.lo:t.hi])
		}
		switch {
		case t.kind == store.EventAccountRoles:
		case t.p.channel:
			ch := n.channels[t.p.target]
			e.Team, e.Channel = ch.team, ch.name
		default:
			e.Team = n.teams[t.p.target]
		}
		if t.kind.IsRoleEvent() {
			e.Before, e.After = map[string]string{store.AttrRoles: t.before}, map[string]string{store.AttrRoles: t.after}
		}
		es[i] = e
	}
	return es, s.appendEvents(ctx, tx, es)
}

// roleKey names the grant rows of one role: kind 'S' (target 0), 'T' or 'C'.
type roleKey struct {
	kind         byte
	user, target int64
}

// transitionRank orders an account's transitions as a chat server takes them.
var transitionRank = map[store.EventKind]int{store.EventAccountRoles: 0, store.EventTeamJoined: 1, store.EventChannelJoined: 2,
	store.EventTeamRoles: 3, store.EventChannelRoles: 4, store.EventChannelLeft: 5, store.EventTeamLeft: 6}

// journalNameSet is what the entries of a set of transitions name, by key.
type journalNameSet struct {
	users    map[int64]struct{ id, username string }
	teams    map[int64]string
	channels map[int64]struct{ team, name string }
	groups   map[int64]string  // displayName
	sources  map[string]string // source's answers for one source, by that source
}

// sourceRank orders the sources of an entry and of a membership (Sources): groups first,
// then the rules', an import's, the admin's, and values this version does not know.
var sourceRank = map[store.SourceKind]int{store.SourceGroup: 0, store.SourceTeamJoin: 1, store.SourceDefault: 2, store.SourceImport: 3,
	store.SourceManual: 4, store.SourceOther: 5}

// deletedGroupKey carries the displayName of a group being deleted (withDeletedGroup),
// so that the entries of the memberships it ended name it.
type deletedGroupKey struct{}

type deletedGroup struct {
	pk   int64
	name string
}

func withDeletedGroup(ctx context.Context, pk int64, name string) context.Context {
	return context.WithValue(ctx, deletedGroupKey{}, deletedGroup{pk, name})
}

// source renders the sources of a membership as its entry's Source: each as the admin
// API shows it ("group:Engineering", "team-join", "default", "import", "manual"), in the order
// Sources lists them, joined by ", ".
func (n journalNameSet) source(ctx context.Context, sources []string) string {
	if len(sources) == 1 {
		if out, ok := n.sources[sources[0]]; ok {
			return out
		}
		out := n.render(ctx, sources)
		n.sources[sources[0]] = out
		return out
	}
	return n.render(ctx, sources)
}

func (n journalNameSet) render(ctx context.Context, sources []string) string {
	ms := make([]store.MembershipSource, len(sources))
	for i, src := range sources {
		ms[i] = parseSource(src)
		if ms[i].Kind != store.SourceGroup {
			continue
		}
		name, ok := n.groups[ms[i].GroupPK]
		if d, isDeleted := ctx.Value(deletedGroupKey{}).(deletedGroup); !ok && isDeleted && d.pk == ms[i].GroupPK {
			name, ok = d.name, true
		}
		if ok {
			ms[i].Group = &store.GroupRef{DisplayName: name}
		}
	}
	rank := sourceRank
	sort.SliceStable(ms, func(i, j int) bool {
		if rank[ms[i].Kind] != rank[ms[j].Kind] {
			return rank[ms[i].Kind] < rank[ms[j].Kind]
		}
		return ms[i].String() < ms[j].String()
	})
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return strings.Join(out, ", ")
}
