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
// other sources come and go meanwhile. journalMemberships brackets a set-based change of
// a chunk of accounts with two reads of their membership rows (one statement per table
// each time, whatever the chunk's size), compares which (account, team) and (account,
// channel) pairs exist before and after, and appends one entry per pair that appeared or
// went: a few statements per chunk, not a few per account.

// memberRow is one membership row of an account, in a team (team_members) or a channel
// (channel_members).
type memberRow struct {
	User   int64  `db:"user_pk"`
	Target int64  `db:"target"`
	Source string `db:"source"`
}

// pair is an account in a team or a channel.
type pair struct{ user, target int64 }

// memberSnapshot is the membership rows of a set of accounts: the sources of each pair.
type memberSnapshot struct{ teams, channels map[pair][]string }

func (s *Store) readMemberships(ctx context.Context, tx *sqlx.Tx, pks []int64) (memberSnapshot, error) {
	snap := memberSnapshot{teams: map[pair][]string{}, channels: map[pair][]string{}}
	p := params{"users": s.d.int64List(pks)}
	for _, t := range [...]struct {
		sql string
		m   map[pair][]string
	}{
		{`SELECT user_pk, team_pk AS target, source FROM team_members WHERE user_pk IN :users`, snap.teams},
		{`SELECT user_pk, channel_pk AS target, source FROM channel_members WHERE user_pk IN :users`, snap.channels},
	} {
		q, args := bind(t.sql, p)
		var rows []memberRow
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return snap, fmt.Errorf("read memberships for the journal: %w", err)
		}
		for _, r := range rows {
			k := pair{r.User, r.Target}
			t.m[k] = append(t.m[k], r.Source)
		}
	}
	return snap, nil
}

// journalMemberships runs change, which changes the memberships of the accounts pks
// (and of no other account), and journals the effective transitions it made.
func (s *Store) journalMemberships(ctx context.Context, tx *sqlx.Tx, pks []int64, change func() error) error {
	if len(pks) == 0 {
		return change()
	}
	before, err := s.readMemberships(ctx, tx, pks)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, err := s.readMemberships(ctx, tx, pks)
	if err != nil {
		return err
	}
	type transition struct {
		kind    store.EventKind
		p       pair
		sources []string
	}
	var ts []transition
	diff := func(from, to map[pair][]string, kind store.EventKind) {
		for k, src := range from {
			if _, ok := to[k]; !ok {
				ts = append(ts, transition{kind, k, src})
			}
		}
	}
	diff(after.teams, before.teams, store.EventTeamJoined)
	diff(after.channels, before.channels, store.EventChannelJoined)
	diff(before.channels, after.channels, store.EventChannelLeft)
	diff(before.teams, after.teams, store.EventTeamLeft)
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
