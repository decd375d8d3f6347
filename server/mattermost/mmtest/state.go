package mmtest

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/townsquare/townsquare/server/mattermost"
)

// The double's state. Every field is guarded by Server.mu.

type userRec struct {
	u                  mattermost.User // AuthData kept: the double knows it, answers never carry it
	createAt, updateAt int64
}

type teamRec struct {
	t        mattermost.Team
	createAt int64
	members  *memberSet
	channels map[string]string // channel name → id
	// active counts the members whose account is active, as TeamStore's
	// GetActiveMemberCount does for the MaxUsersPerTeam check; kept up to date by
	// joinTeam, leaveTeam and setActive so a join costs O(1), not O(team).
	active int
}

type channelRec struct {
	c        mattermost.Channel
	createAt int64
	creator  string
	members  *memberSet
}

type member struct{ admin, user, guest bool }

// memberSet is a team's or channel's members with their ids in order, sorted again only
// when a member was added or removed since the last page was read: paging a large team
// costs a slice per page, not a sort.
type memberSet struct {
	m      map[string]*member
	sorted []string
	dirty  bool
}

func newMemberSet() *memberSet { return &memberSet{m: map[string]*member{}} }

func (ms *memberSet) put(id string, m *member) {
	if _, ok := ms.m[id]; !ok {
		ms.dirty = true
	}
	ms.m[id] = m
}

func (ms *memberSet) del(id string) {
	if _, ok := ms.m[id]; ok {
		delete(ms.m, id)
		ms.dirty = true
	}
}

func (ms *memberSet) ids() []string {
	if ms.dirty || ms.sorted == nil {
		ms.sorted = slices.Sorted(maps.Keys(ms.m))
		ms.dirty = false
	}
	return ms.sorted
}

// page is Mattermost's paging of members: ordered by user id, page·perPage skipped.
func (ms *memberSet) page(page, perPage int) []string {
	ids := ms.ids()
	if perPage <= 0 || page > len(ids)/perPage {
		return nil
	}
	start := page * perPage
	return slices.Clone(ids[start:min(start+perPage, len(ids))])
}

type state struct {
	users      map[string]*userRec
	byUsername map[string]string
	byEmail    map[string]string
	byAuthData map[string]string
	teams      map[string]*teamRec
	teamByName map[string]string
	channels   map[string]*channelRec
	tokens     map[string]string // token → user id

	maxUsersPerTeam int
	licensed        bool
	apiUserDeletion bool
}

func newState() *state {
	return &state{
		users: map[string]*userRec{}, byUsername: map[string]string{}, byEmail: map[string]string{},
		byAuthData: map[string]string{}, teams: map[string]*teamRec{}, teamByName: map[string]string{},
		channels: map[string]*channelRec{}, tokens: map[string]string{},
		maxUsersPerTeam: 50, licensed: true,
	}
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID is a 26-character lower-case alphanumeric id, the shape of model.NewId.
func newID() string {
	b := make([]byte, 26)
	for i := range b {
		b[i] = idAlphabet[rand.N(len(idAlphabet))]
	}
	return string(b)
}

func now() int64 { return time.Now().UnixMilli() }

func isGuest(u *userRec) bool { return hasRole(u.u.Roles, "system_guest") }

// addUser stores u (id assigned when empty) and indexes it.
func (st *state) addUser(u mattermost.User) *userRec {
	if u.ID == "" {
		u.ID = newID()
	}
	if u.Roles == "" {
		u.Roles = "system_user"
	}
	t := now()
	r := &userRec{u: u, createAt: t, updateAt: t}
	st.users[u.ID] = r
	st.byUsername[u.Username] = u.ID
	st.byEmail[u.Email] = u.ID
	if u.AuthData != "" {
		st.byAuthData[u.AuthData] = u.ID
	}
	return r
}

func (st *state) addTeam(name, displayName, typ string) *teamRec {
	t := &teamRec{t: mattermost.Team{ID: newID(), Name: name, DisplayName: displayName, Type: typ},
		createAt: now(), members: newMemberSet(), channels: map[string]string{}}
	st.teams[t.t.ID] = t
	st.teamByName[name] = t.t.ID
	// app/teams/teams.go createDefaultChannels: town-square and off-topic, both open.
	st.addChannel(t, townSquare, "Town Square", "O", "")
	st.addChannel(t, offTopic, "Off-Topic", "O", "")
	return t
}

func (st *state) addChannel(t *teamRec, name, displayName, typ, creator string) *channelRec {
	c := &channelRec{c: mattermost.Channel{ID: newID(), TeamID: t.t.ID, Name: name, DisplayName: displayName, Type: typ},
		createAt: now(), creator: creator, members: newMemberSet()}
	st.channels[c.c.ID] = c
	t.channels[name] = c.c.ID
	return c
}

// joinTeam makes u a member of t as TeamService.JoinUserToTeam does, and a non-guest a
// member of the team's open default channels (JoinDefaultChannels). An existing member
// is left as it is.
func (st *state) joinTeam(t *teamRec, u *userRec, admin bool) *member {
	if m, ok := t.members.m[u.u.ID]; ok {
		return m
	}
	g := isGuest(u)
	m := &member{admin: admin && !g, user: !g, guest: g}
	t.members.put(u.u.ID, m)
	if u.u.DeleteAt == 0 {
		t.active++
	}
	if !g {
		st.joinDefaultChannels(t, u)
	}
	return m
}

func (st *state) joinDefaultChannels(t *teamRec, u *userRec) {
	for _, name := range []string{townSquare, offTopic} {
		if id, ok := t.channels[name]; ok && st.channels[id].c.Type == "O" {
			st.joinChannel(st.channels[id], u, false)
		}
	}
}

func (st *state) joinChannel(c *channelRec, u *userRec, admin bool) *member {
	if m, ok := c.members.m[u.u.ID]; ok {
		return m
	}
	g := isGuest(u)
	m := &member{admin: admin && !g, user: !g, guest: g}
	c.members.put(u.u.ID, m)
	return m
}

// leaveTeam removes u from t and from every channel of t (LeaveTeam).
func (st *state) leaveTeam(t *teamRec, userID string) {
	if _, ok := t.members.m[userID]; !ok {
		return
	}
	for _, cid := range t.channels {
		st.channels[cid].members.del(userID)
	}
	t.members.del(userID)
	if u := st.users[userID]; u != nil && u.u.DeleteAt == 0 {
		t.active--
	}
}

// setActive sets u's delete_at (now, or 0) and the active counts of its teams.
func (st *state) setActive(u *userRec, active bool) {
	if active == (u.u.DeleteAt == 0) {
		return
	}
	delta := -1
	if active {
		u.u.DeleteAt, delta = 0, 1
	} else {
		u.u.DeleteAt = now()
	}
	for _, t := range st.teams {
		if _, ok := t.members.m[u.u.ID]; ok {
			t.active += delta
		}
	}
}

func teamRoles(m *member) string {
	switch {
	case m.guest:
		return "team_guest"
	case m.admin:
		return "team_user team_admin"
	}
	return "team_user"
}

func channelRoles(m *member) string {
	switch {
	case m.guest:
		return "channel_guest"
	case m.admin:
		return "channel_user channel_admin"
	}
	return "channel_user"
}

func lower(s string) string { return strings.ToLower(s) }
