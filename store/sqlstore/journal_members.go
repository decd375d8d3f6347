package sqlstore

import (
	"context"
	"fmt"
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
// the pair's rows now (dialect.countPairs), and the count before follows without reading it:
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

// journalMemberships runs change, whose statements return every membership row they
// insert or delete into the memberChanges it is given, and journals the effective
// transitions it made.
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
	sets := [4]map[int64]bool{{}, {}, {}, {}} // team users, teams, channel users, channels
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
	}
	var lists [4][]int64
	for i, m := range sets {
		lists[i] = make([]int64, 0, len(m))
		for k := range m {
			lists[i] = append(lists[i], k)
		}
		sort.Slice(lists[i], func(a, b int) bool { return lists[i][a] < lists[i][b] })
	}
	q, args := bind(s.d.countPairs, params{"team_users": s.d.int64List(lists[0]), "teams": s.d.int64List(lists[1]),
		"channel_users": s.d.int64List(lists[2]), "channels": s.d.int64List(lists[3])})
	var counts []struct {
		Channel int   `db:"channel"`
		User    int64 `db:"user_pk"`
		Target  int64 `db:"target"`
		N       int   `db:"n"`
	}
	if err := s.txSelect(ctx, tx, &counts, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("count memberships for the journal: %w", err)
	}
	now := make(map[pair]int, len(counts))
	for _, r := range counts {
		now[pair{r.Channel == 1, r.User, r.Target}] = r.N
	}

	type transition struct {
		kind    store.EventKind
		p       pair
		sources []string
	}
	var ts []transition
	for k, d := range deltas {
		after := now[k]
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
	n, err := s.journalNames(ctx, tx, func(add func(user, team, channel int64, sources []string)) {
		for _, t := range ts {
			if t.kind == store.EventTeamJoined || t.kind == store.EventTeamLeft {
				add(t.p.user, t.p.target, 0, t.sources)
			} else {
				add(t.p.user, 0, t.p.target, t.sources)
			}
		}
	})
	if err != nil {
		return err
	}
	es := make([]store.Event, len(ts))
	for i, t := range ts {
		e := store.Event{Kind: t.kind, Account: n.users[t.p.user].id, Username: n.users[t.p.user].username,
			Source: n.source(ctx, t.sources)}
		if t.kind == store.EventTeamJoined || t.kind == store.EventTeamLeft {
			e.Team = n.teams[t.p.target]
		} else {
			c := n.channels[t.p.target]
			e.Team, e.Channel = c.team, c.name
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

// journalNames reads the names of the accounts, teams, channels and groups the
// transitions listed by each name, one statement per kind.
func (s *Store) journalNames(ctx context.Context, tx *sqlx.Tx, each func(add func(user, team, channel int64, sources []string))) (journalNameSet, error) {
	n := journalNameSet{users: map[int64]struct{ id, username string }{}, teams: map[int64]string{},
		channels: map[int64]struct{ team, name string }{}, groups: map[int64]string{}}
	set := func(m map[int64]bool) []int64 {
		out := make([]int64, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	users, teams, channels, groups := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	each(func(user, team, channel int64, sources []string) {
		users[user] = true
		if team != 0 {
			teams[team] = true
		}
		if channel != 0 {
			channels[channel] = true
		}
		for _, src := range sources {
			if m := parseSource(src); m.Kind == store.SourceGroup {
				groups[m.GroupPK] = true
			}
		}
	})
	type named struct {
		PK int64  `db:"pk"`
		A  string `db:"a"`
		B  string `db:"b"`
	}
	read := func(sql string, keys map[int64]bool, fn func(r named)) error {
		if len(keys) == 0 {
			return nil
		}
		q, args := bind(sql, params{"keys": s.d.int64List(set(keys))})
		var rows []named
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("read names for the journal: %w", err)
		}
		for _, r := range rows {
			fn(r)
		}
		return nil
	}
	if err := read(`SELECT pk, id AS a, COALESCE(username, '') AS b FROM users WHERE pk IN :keys`, users, func(r named) {
		n.users[r.PK] = struct{ id, username string }{r.A, r.B}
	}); err != nil {
		return n, err
	}
	if err := read(`SELECT pk, name AS a, '' AS b FROM teams WHERE pk IN :keys`, teams, func(r named) { n.teams[r.PK] = r.A }); err != nil {
		return n, err
	}
	if err := read(`SELECT c.pk, t.name AS a, c.name AS b FROM channels c JOIN teams t ON t.pk = c.team_pk WHERE c.pk IN :keys`, channels, func(r named) {
		n.channels[r.PK] = struct{ team, name string }{r.A, r.B}
	}); err != nil {
		return n, err
	}
	if err := read(`SELECT pk, display_name AS a, '' AS b FROM groups WHERE pk IN :keys`, groups, func(r named) { n.groups[r.PK] = r.A }); err != nil {
		return n, err
	}
	return n, nil
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
