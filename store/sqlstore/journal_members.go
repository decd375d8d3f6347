package sqlstore

import (
	"context"
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
)

// memberChange is one membership row a change inserted or deleted (see the RETURNING
// clauses above).
type memberChange struct {
	Op     string `db:"op"`
	User   int64  `db:"user_pk"`
	Target int64  `db:"target"`
	Source string `db:"source"`
}

// memberChanges collects the rows the statements of a change return.
type memberChanges struct{ rows []memberChange }

// selectChanges runs a statement that changes memberships and collects the rows it
// returns.
func (c *memberChanges) selectChanges(ctx context.Context, tx *sqlx.Tx, q string, args ...any) error {
	var rows []memberChange
	if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
		return err
	}
	c.rows = append(c.rows, rows...)
	return nil
}

// pair is an account in a team or a channel.
type pair struct {
	channel      bool
	user, target int64
}

// minus returns the sources of xs not matched one for one in ys.
func minus(xs, ys []string) []string {
	var out []string
next:
	for _, x := range xs {
		for i, y := range ys {
			if y == x {
				ys = append(ys[:i:i], ys[i+1:]...)
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

// journalReadNames completes the dialect's countPairs into the one statement
// journalMemberships reads with: after the counts (kinds 0 and 1), the names its entries
// carry (kinds 2–5), each by primary key. Every row has the columns (kind, pk, target, n,
// a, b).
const journalReadNames = `
	UNION ALL SELECT 2, pk, 0, 0, id, COALESCE(username, '') FROM users WHERE pk IN :name_users
	UNION ALL SELECT 3, pk, 0, 0, name, '' FROM teams WHERE pk IN :name_teams
	UNION ALL SELECT 4, c.pk, 0, 0, t.name, c.name FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE c.pk IN :name_channels
	UNION ALL SELECT 5, pk, 0, 0, display_name, '' FROM groups WHERE pk IN :name_groups`

// journalRead is one row of that statement.
type journalRead struct {
	Kind   int    `db:"kind"`
	PK     int64  `db:"pk"`
	Target int64  `db:"target"`
	N      int    `db:"n"`
	A      string `db:"a"`
	B      string `db:"b"`
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// journalMemberships runs change, whose statements return every membership row they
// insert or delete into the memberChanges it is given, and journals the effective
// transitions it made: one statement reads the counts and the names, one appends the
// entries, and a change that wrote no membership row costs nothing more.
func (s *Store) journalMemberships(ctx context.Context, tx *sqlx.Tx, change func(c *memberChanges) error) error {
	var c memberChanges
	if err := change(&c); err != nil {
		return err
	}
	if len(c.rows) == 0 {
		return nil
	}
	type delta struct{ ins, del []string }
	deltas := make(map[pair]*delta)
	// team users, teams, channel users, channels, groups named by a source
	sets := [5]map[int64]bool{{}, {}, {}, {}, {}}
	for _, r := range c.rows {
		k := pair{channel: r.Op[1] == 'c', user: r.User, target: r.Target}
		d := deltas[k]
		if d == nil {
			d = &delta{}
			deltas[k] = d
		}
		if r.Op[0] == '+' {
			d.ins = append(d.ins, r.Source)
		} else {
			d.del = append(d.del, r.Source)
		}
		i := 0
		if k.channel {
			i = 2
		}
		sets[i][r.User], sets[i+1][r.Target] = true, true
		if m := parseSource(r.Source); m.Kind == store.SourceGroup {
			sets[4][m.GroupPK] = true
		}
	}
	users := make(map[int64]bool, len(sets[0])+len(sets[2]))
	for _, m := range []map[int64]bool{sets[0], sets[2]} {
		for k := range m {
			users[k] = true
		}
	}
	teamUsers, teams, channelUsers, channels := sortedKeys(sets[0]), sortedKeys(sets[1]), sortedKeys(sets[2]), sortedKeys(sets[3])
	q, args := bind(s.d.countPairs+journalReadNames, params{
		"team_users": s.d.int64List(teamUsers), "teams": s.d.int64List(teams),
		"channel_users": s.d.int64List(channelUsers), "channels": s.d.int64List(channels),
		"name_users": s.d.int64List(sortedKeys(users)), "name_teams": s.d.int64List(teams),
		"name_channels": s.d.int64List(channels), "name_groups": s.d.int64List(sortedKeys(sets[4]))})
	var read []journalRead
	if err := s.txSelect(ctx, tx, &read, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("read memberships and names for the journal: %w", err)
	}
	rowsNow := make(map[pair]int)
	n := journalNameSet{users: map[int64]struct{ id, username string }{}, teams: map[int64]string{},
		channels: map[int64]struct{ team, name string }{}, groups: map[int64]string{}}
	for _, r := range read {
		switch r.Kind {
		case 0, 1:
			rowsNow[pair{r.Kind == 1, r.PK, r.Target}] = r.N
		case 2:
			n.users[r.PK] = struct{ id, username string }{r.A, r.B}
		case 3:
			n.teams[r.PK] = r.A
		case 4:
			n.channels[r.PK] = struct{ team, name string }{r.A, r.B}
		case 5:
			n.groups[r.PK] = r.A
		}
	}

	type transition struct {
		kind    store.EventKind
		p       pair
		sources []string
	}
	var ts []transition
	for k, d := range deltas {
		after := rowsNow[k]
		before := after - len(d.ins) + len(d.del)
		switch {
		case before < 0:
			return fmt.Errorf("journal memberships: user %d, target %d: %d rows now, %d inserted: a statement did not return its rows", k.user, k.target, after, len(d.ins))
		case before == 0 && after > 0:
			kind := store.EventTeamJoined
			if k.channel {
				kind = store.EventChannelJoined
			}
			ts = append(ts, transition{kind, k, minus(d.ins, d.del)})
		case before > 0 && after == 0:
			kind := store.EventTeamLeft
			if k.channel {
				kind = store.EventChannelLeft
			}
			ts = append(ts, transition{kind, k, minus(d.del, d.ins)})
		}
	}
	if len(ts) == 0 {
		return nil
	}
	// Per account: teams joined, then channels joined, channels left, teams left (the
	// order a chat server takes them in); accounts and targets in key order.
	rank := map[store.EventKind]int{store.EventTeamJoined: 0, store.EventChannelJoined: 1, store.EventChannelLeft: 2, store.EventTeamLeft: 3}
	sort.Slice(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.p.user != b.p.user {
			return a.p.user < b.p.user
		}
		if rank[a.kind] != rank[b.kind] {
			return rank[a.kind] < rank[b.kind]
		}
		return a.p.target < b.p.target
	})
	es := make([]store.Event, len(ts))
	for i, t := range ts {
		e := store.Event{Kind: t.kind, Account: n.users[t.p.user].id, Username: n.users[t.p.user].username,
			Source: n.source(ctx, t.sources)}
		if t.p.channel {
			ch := n.channels[t.p.target]
			e.Team, e.Channel = ch.team, ch.name
		} else {
			e.Team = n.teams[t.p.target]
		}
		es[i] = e
	}
	return s.appendEvents(ctx, tx, es)
}

// journalNameSet is what the entries of a set of transitions name, by key.
type journalNameSet struct {
	users    map[int64]struct{ id, username string }
	teams    map[int64]string
	channels map[int64]struct{ team, name string }
	groups   map[int64]string // displayName
}

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
// API shows it ("group:Engineering", "team-join", "default", "import"), in the order
// Sources lists them, joined by ", ".
func (n journalNameSet) source(ctx context.Context, sources []string) string {
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
	rank := map[store.SourceKind]int{store.SourceGroup: 0, store.SourceTeamJoin: 1, store.SourceDefault: 2, store.SourceImport: 3, store.SourceOther: 4}
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
