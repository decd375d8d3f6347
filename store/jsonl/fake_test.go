package jsonl

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/townsquare/townsquare/store"
)

// fakeBulk is store.Bulk in memory, following the contract in store/bulk.go closely
// enough to test this package without a database: match by externalId, email,
// username; create teams with town-square and off-topic; rule 1 (the default team
// "everyone") and rule 2; dry runs roll back; export in the contract's order.
type fakeBulk struct {
	mu       sync.Mutex
	teams    map[string]store.ExportTeam
	channels map[string]store.ExportChannel // team/name
	accounts []*fakeAccount
	calls    int // ImportChat calls
}

type fakeAccount struct {
	store.ExportUser
	PasswordHash string
	teams        map[string]bool
	channels     map[string]bool // team/channel
}

func newFake() *fakeBulk {
	return &fakeBulk{teams: map[string]store.ExportTeam{}, channels: map[string]store.ExportChannel{}}
}

func (f *fakeBulk) clone() *fakeBulk {
	c := &fakeBulk{teams: maps.Clone(f.teams), channels: maps.Clone(f.channels)}
	for _, a := range f.accounts {
		b := *a
		b.teams, b.channels = maps.Clone(a.teams), maps.Clone(a.channels)
		c.accounts = append(c.accounts, &b)
	}
	return c
}

func (f *fakeBulk) ListTeams(ctx context.Context) ([]store.TeamSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ts []store.TeamSummary
	for _, n := range slices.Sorted(maps.Keys(f.teams)) {
		ts = append(ts, store.TeamSummary{Name: n, DisplayName: f.teams[n].DisplayName})
	}
	return ts, nil
}

func (f *fakeBulk) TeamChannels(ctx context.Context, team string) ([]store.ChannelSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.teams[team]; !ok {
		return nil, store.ErrNotFound
	}
	var cs []store.ChannelSummary
	for _, k := range slices.Sorted(maps.Keys(f.channels)) {
		if c := f.channels[k]; c.Team == team {
			cs = append(cs, store.ChannelSummary{Name: c.Name, DisplayName: c.DisplayName, Type: c.Type})
		}
	}
	return cs, nil
}

func (f *fakeBulk) ImportChat(ctx context.Context, b store.ImportBatch, opts store.ImportOptions) (store.ImportReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := ctx.Err(); err != nil {
		return store.ImportReport{}, err
	}
	if store.Actor(ctx) != store.ActorImport {
		return store.ImportReport{}, fmt.Errorf("actor %q, want import", store.Actor(ctx))
	}
	work := f.clone()
	rep, err := work.apply(b, opts.Verbose)
	if err != nil || opts.DryRun {
		return rep, err
	}
	f.teams, f.channels, f.accounts = work.teams, work.channels, work.accounts
	return rep, nil
}

// CheckImport reports, as the contract says, the username another account holds of
// each user line (against the accounts as they are: not those of earlier lines of b),
// and else the account each line finds.
func (f *fakeBulk) CheckImport(ctx context.Context, b store.ImportBatch) (store.ImportCheck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return store.ImportCheck{}, err
	}
	var probs store.ImportProblems
	var chk store.ImportCheck
	for _, u := range b.Users {
		a := f.match(u)
		for _, o := range f.accounts {
			if o != a && o.Username == u.Username {
				probs = append(probs, store.ImportProblem{Line: u.Line, Field: "user.username", Reason: "is another account's"})
			}
		}
		id := ""
		if a != nil {
			id = a.ID
		}
		chk.Accounts = append(chk.Accounts, id)
	}
	if len(probs) > 0 {
		return store.ImportCheck{}, probs
	}
	return chk, nil
}

func (f *fakeBulk) ensureTeam(name string, rep *store.ImportReport, verbose bool) {
	if _, ok := f.teams[name]; ok {
		return
	}
	f.teams[name] = store.ExportTeam{Name: name, DisplayName: name, Type: store.TeamOpen}
	rep.TeamsCreated++
	if verbose {
		rep.Changes = append(rep.Changes, "team "+name+" created")
	}
	for _, c := range []string{"town-square", "off-topic"} {
		f.channels[name+"/"+c] = store.ExportChannel{Team: name, Name: c, DisplayName: c, Type: store.ChannelOpen}
	}
}

func (f *fakeBulk) apply(b store.ImportBatch, verbose bool) (store.ImportReport, error) {
	var rep store.ImportReport
	if len(b.Teams)+len(b.Channels)+len(b.Users) > store.MaxImportBatch {
		return rep, &store.InvalidError{Attribute: "batch", Reason: "too large"}
	}
	mems := 0
	for _, u := range b.Users {
		mems += memberships(u)
	}
	if mems > store.MaxImportBatch {
		return rep, &store.InvalidError{Attribute: "batch", Reason: "too many memberships"}
	}
	note := func(s string) {
		if verbose {
			rep.Changes = append(rep.Changes, s)
		}
	}
	for _, t := range b.Teams {
		old, ok := f.teams[t.Name]
		f.ensureTeam(t.Name, &rep, verbose)
		if nt := (store.ExportTeam{Name: t.Name, DisplayName: t.DisplayName, Type: t.Type}); f.teams[t.Name] != nt {
			f.teams[t.Name] = nt
			if ok && old != nt {
				rep.TeamsUpdated++
				note("team " + t.Name + " updated")
			}
		}
	}
	for _, c := range b.Channels {
		if _, ok := f.teams[c.Team]; !ok {
			return rep, &store.InvalidError{Attribute: fmt.Sprintf("line %d: team", c.Line), Reason: "no such team"}
		}
		k := c.Team + "/" + c.Name
		nc := store.ExportChannel{Team: c.Team, Name: c.Name, DisplayName: c.DisplayName, Type: c.Type}
		old, ok := f.channels[k]
		switch {
		case !ok:
			rep.ChannelsCreated++
			note("channel " + k + " created")
		case old != nc:
			rep.ChannelsUpdated++
			note("channel " + k + " updated")
		}
		f.channels[k] = nc
	}
	for _, u := range b.Users {
		if err := f.user(u, &rep, note); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (f *fakeBulk) match(u store.ImportUser) *fakeAccount {
	if u.ExternalID != "" {
		for _, a := range f.accounts {
			if a.ExternalID == u.ExternalID {
				return a
			}
		}
	}
	for _, a := range f.accounts {
		if strings.EqualFold(a.Email, u.Email) {
			return a
		}
	}
	for _, a := range f.accounts {
		if a.Username == u.Username {
			return a
		}
	}
	return nil
}

func (f *fakeBulk) user(u store.ImportUser, rep *store.ImportReport, note func(string)) error {
	a := f.match(u)
	var before store.ExportUser
	if a != nil {
		before = a.ExportUser
	}
	if a == nil {
		a = &fakeAccount{ExportUser: store.ExportUser{
			ID: fmt.Sprintf("id-%d", len(f.accounts)+1), UserName: u.Email, Username: u.Username,
			Roles: "system_user",
		}, teams: map[string]bool{}, channels: map[string]bool{}, PasswordHash: u.PasswordHash}
		f.accounts = append(f.accounts, a)
		rep.UsersCreated++
		note("user " + u.Username + " created")
	}
	for _, o := range f.accounts {
		if o != a && o.Username == u.Username {
			return &store.InvalidError{Attribute: fmt.Sprintf("line %d: username", u.Line), Reason: "is another account's"}
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	a.Username = u.Username
	set(&a.Email, u.Email)
	set(&a.ExternalID, u.ExternalID)
	set(&a.FirstName, u.FirstName)
	set(&a.LastName, u.LastName)
	set(&a.Nickname, u.Nickname)
	set(&a.Position, u.Position)
	set(&a.Locale, u.Locale)
	created := before.Username == ""
	switch {
	case created && u.DeleteAt > 0:
		a.DeleteAt = u.DeleteAt // created deactivated, as the store does: not a deactivation
	case u.DeleteAt > 0 && a.DeleteAt == 0:
		a.DeleteAt = u.DeleteAt
		rep.UsersDeactivated++
		note("user " + u.Username + " deactivated")
	case u.Reactivate && a.DeleteAt != 0:
		a.DeleteAt = 0
		rep.UsersReactivated++
		note("user " + u.Username + " reactivated")
	}
	if !created {
		b := before
		b.DeleteAt = a.DeleteAt
		if !equalUser(b, a.ExportUser) {
			rep.UsersUpdated++
			note("user " + u.Username + " updated")
		}
	}
	join := func(team string) error {
		if _, ok := f.teams[team]; !ok {
			return &store.InvalidError{Attribute: fmt.Sprintf("line %d: teams", u.Line), Reason: "no team " + team}
		}
		if !a.teams[team] {
			a.teams[team] = true
			rep.TeamMembershipsAdded++
			note(u.Username + " joined " + team)
		}
		for _, c := range []string{"town-square", "off-topic"} {
			if k := team + "/" + c; !a.channels[k] {
				a.channels[k] = true
				rep.ChannelMembershipsAdded++
				note(u.Username + " joined " + k)
			}
		}
		return nil
	}
	for _, t := range u.Teams {
		if err := join(t.Name); err != nil {
			return err
		}
		for _, c := range t.Channels {
			k := t.Name + "/" + c
			if _, ok := f.channels[k]; !ok {
				return &store.InvalidError{Attribute: fmt.Sprintf("line %d: channels", u.Line), Reason: "no channel " + k}
			}
			if !a.channels[k] {
				a.channels[k] = true
				rep.ChannelMembershipsAdded++
				note(u.Username + " joined " + k)
			}
		}
	}
	if a.DeleteAt == 0 && len(a.teams) == 0 {
		f.ensureTeam("everyone", rep, note != nil)
		return join("everyone")
	}
	return nil
}

func equalUser(a, b store.ExportUser) bool {
	return a.ID == b.ID && a.Email == b.Email && a.ExternalID == b.ExternalID && a.DeleteAt == b.DeleteAt &&
		a.FirstName == b.FirstName && a.LastName == b.LastName && a.Nickname == b.Nickname &&
		a.Position == b.Position && a.Locale == b.Locale && a.Username == b.Username
}

func (f *fakeBulk) ExportChat(ctx context.Context, q store.ExportQuery, sink store.BulkSink) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	only := map[string]bool{}
	for _, t := range q.Teams {
		if _, ok := f.teams[t]; !ok {
			return store.ErrNotFound
		}
		only[t] = true
	}
	in := func(team string) bool { return len(only) == 0 || only[team] }
	for _, n := range slices.Sorted(maps.Keys(f.teams)) {
		if in(n) {
			if err := sink.Team(f.teams[n]); err != nil {
				return err
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.channels)) {
		if c := f.channels[k]; in(c.Team) {
			if err := sink.Channel(c); err != nil {
				return err
			}
		}
	}
	accts := slices.Clone(f.accounts)
	sort.Slice(accts, func(i, j int) bool { return accts[i].Username < accts[j].Username })
	for _, a := range accts {
		if a.DeleteAt != 0 && !q.IncludeDeactivated {
			continue
		}
		u := a.ExportUser
		u.Teams = nil
		for _, t := range slices.Sorted(maps.Keys(a.teams)) {
			if !in(t) {
				continue
			}
			m := store.ExportTeamMembership{Name: t, Roles: "team_user"}
			for _, k := range slices.Sorted(maps.Keys(a.channels)) {
				if team, ch, _ := strings.Cut(k, "/"); team == t {
					m.Channels = append(m.Channels, store.ExportChannelMembership{Name: ch, Roles: "channel_user"})
				}
			}
			u.Teams = append(u.Teams, m)
		}
		if len(only) > 0 && len(u.Teams) == 0 {
			continue
		}
		if err := sink.User(u); err != nil {
			return err
		}
	}
	return nil
}

// failingBulk fails the failAt-th ImportChat call (from 1) that is not a dry run,
// as a crash half-way would: the batches before it are applied.
type failingBulk struct {
	*fakeBulk
	failAt, n int
}

var errCrash = errors.New("crash")

func (f *failingBulk) ImportChat(ctx context.Context, b store.ImportBatch, opts store.ImportOptions) (store.ImportReport, error) {
	if !opts.DryRun {
		f.n++
		if f.n == f.failAt {
			return store.ImportReport{}, errCrash
		}
	}
	return f.fakeBulk.ImportChat(ctx, b, opts)
}
