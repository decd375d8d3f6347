package mmtest

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/townsquare/townsquare/server/mattermost"
)

// Seeding writes state directly, as an existing Mattermost would have it: no OpenAPI
// check, no team cap. A seed that breaks a uniqueness Mattermost keeps panics: it is a
// bug in the test.

// SeedUser stores u (AuthData kept; Roles "system_user" when empty; username and email
// lower-cased) and returns its id.
func (s *Server) SeedUser(u mattermost.User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Username, u.Email = lower(u.Username), lower(u.Email)
	if _, taken := s.st.byUsername[u.Username]; taken {
		panic(fmt.Sprintf("mmtest: SeedUser: username %q is taken", u.Username))
	}
	if _, taken := s.st.byEmail[u.Email]; taken {
		panic(fmt.Sprintf("mmtest: SeedUser: email %q is taken", u.Email))
	}
	if _, taken := s.st.byAuthData[u.AuthData]; taken && u.AuthData != "" {
		panic(fmt.Sprintf("mmtest: SeedUser: auth_data %q is taken", u.AuthData))
	}
	if u.ID != "" && (!validID(u.ID) || s.st.users[u.ID] != nil) {
		panic(fmt.Sprintf("mmtest: SeedUser: id %q is malformed or taken", u.ID))
	}
	return s.st.addUser(u).u.ID
}

// SeedTeam creates a team with its town-square and off-topic channels and no members.
func (s *Server) SeedTeam(name, displayName, typ string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.st.teamByName[name]; taken {
		panic(fmt.Sprintf("mmtest: SeedTeam: %q exists", name))
	}
	return s.st.addTeam(name, displayName, typ).t.ID
}

// SeedChannel creates a channel in the named team, with no members.
func (s *Server) SeedChannel(teamName, name, displayName, typ string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.team(teamName)
	if _, taken := t.channels[name]; taken {
		panic(fmt.Sprintf("mmtest: SeedChannel: %s/%s exists", teamName, name))
	}
	return s.st.addChannel(t, name, displayName, typ, "").c.ID
}

// SeedTeamMember joins the user to the team as a team join does (town-square and
// off-topic too, unless a guest), without the team cap.
func (s *Server) SeedTeamMember(teamName, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.joinTeam(s.team(teamName), s.user(userID), false)
}

// SeedChannelMember adds the user to the channel (a manual membership, say).
func (s *Server) SeedChannelMember(teamName, channelName, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.team(teamName)
	c := s.st.channels[t.channels[channelName]]
	if c == nil {
		panic(fmt.Sprintf("mmtest: no channel %s/%s", teamName, channelName))
	}
	s.st.joinChannel(c, s.user(userID), false)
}

func (s *Server) team(name string) *teamRec {
	t := s.st.teams[s.st.teamByName[name]]
	if t == nil {
		panic(fmt.Sprintf("mmtest: no team %q", name))
	}
	return t
}

func (s *Server) user(id string) *userRec {
	u := s.st.users[id]
	if u == nil {
		panic(fmt.Sprintf("mmtest: no user %q", id))
	}
	return u
}

// Snapshot is a copy of the double's state. Users carry AuthData.
type Snapshot struct {
	Users                     []mattermost.User    // sorted by username
	Teams                     []mattermost.Team    // sorted by name
	Channels                  []mattermost.Channel // sorted by team id, then name
	TeamMembers               map[string][]string  // team name → user ids (sorted)
	ChannelMembers            map[string][]string  // "team/channel" → user ids (sorted)
	TeamAdmins, ChannelAdmins map[string][]string  // the same, scheme admins only
}

// Snapshot copies the state.
func (s *Server) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{TeamMembers: map[string][]string{}, ChannelMembers: map[string][]string{},
		TeamAdmins: map[string][]string{}, ChannelAdmins: map[string][]string{}}
	for _, u := range s.st.users {
		snap.Users = append(snap.Users, u.u)
	}
	slices.SortFunc(snap.Users, func(a, b mattermost.User) int { return cmp.Compare(a.Username, b.Username) })
	for _, t := range s.st.teams {
		snap.Teams = append(snap.Teams, t.t)
		members, admins := split(t.members)
		snap.TeamMembers[t.t.Name], snap.TeamAdmins[t.t.Name] = members, admins
		for _, cid := range t.channels {
			c := s.st.channels[cid]
			snap.Channels = append(snap.Channels, c.c)
			members, admins := split(c.members)
			key := t.t.Name + "/" + c.c.Name
			snap.ChannelMembers[key], snap.ChannelAdmins[key] = members, admins
		}
	}
	slices.SortFunc(snap.Teams, func(a, b mattermost.Team) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(snap.Channels, func(a, b mattermost.Channel) int {
		if c := cmp.Compare(a.TeamID, b.TeamID); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return snap
}

func split(ms *memberSet) (members, admins []string) {
	members = slices.Clone(ms.ids())
	for _, id := range members {
		if ms.m[id].admin {
			admins = append(admins, id)
		}
	}
	return members, admins
}

// UserByUsername is the user with that username (AuthData included).
func (s *Server) UserByUsername(name string) (mattermost.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.users[s.st.byUsername[lower(name)]]
	if u == nil {
		return mattermost.User{}, false
	}
	return u.u, true
}
