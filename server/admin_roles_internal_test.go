package server

import (
	"encoding/json"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// The admin API's views of roles and privacy, from store values set directly: the role
// strings of store/roles.go, the grants as sources, and "private" beside Mattermost's
// type letters.
func TestAdminRoleViews(t *testing.T) {
	leads := store.MembershipSource{Kind: store.SourceGroup, Group: &store.GroupRef{ID: "g1", DisplayName: "Eng Leads"}}
	manual := store.MembershipSource{Kind: store.SourceManual}
	asJSON := func(v any) string {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"team open", NewTeamJSON(store.TeamSummary{Name: "e", DisplayName: "Engineering", Type: store.TeamOpen}),
			`{"name":"e","display_name":"Engineering","type":"O","private":false,"member_count":0,"channel_count":0}`},
		{"team invite only", NewTeamJSON(store.TeamSummary{Name: "e", DisplayName: "E", Type: store.TeamInviteOnly}),
			`{"name":"e","display_name":"E","type":"I","private":true,"member_count":0,"channel_count":0}`},
		{"channel public", NewChannelJSON(store.ChannelSummary{Name: "c", DisplayName: "C", Type: store.ChannelOpen}),
			`{"name":"c","display_name":"C","type":"O","private":false,"member_count":0}`},
		{"channel private", NewChannelJSON(store.ChannelSummary{Name: "c", DisplayName: "Incidents", Type: store.ChannelPrivate}),
			`{"name":"c","display_name":"Incidents","type":"P","private":true,"member_count":0}`},
		{"admin account", NewAccountJSON(store.AccountDetails{ID: "1", Username: "a", SystemAdmin: true,
			SystemAdminSources: []store.MembershipSource{leads, manual},
			Teams:              []store.TeamMembership{{Team: "e", Admin: true, AdminSources: []store.MembershipSource{leads}}, {Team: "x"}},
			Channels: []store.ChannelMembership{{Team: "e", Channel: "inc", Admin: true, AdminSources: []store.MembershipSource{manual}},
				{Team: "e", Channel: "town-square"}}}),
			`{"id":"1","user_name":"","username":"a","email":"","active":false,"status":"","delete_at":0,"scim_deleted":false,` +
				`"first_name":"","last_name":"","nickname":"","position":"","auth_service":"","auth_data":"","origin":"",` +
				`"guest":false,"system_admin":true,"system_admin_sources":["group:Eng Leads","manual"],"roles":"system_admin system_user",` +
				`"teams":[{"name":"e","sources":[],"admin":true,"admin_sources":["group:Eng Leads"],"roles":"team_user team_admin"},` +
				`{"name":"x","sources":[],"admin":false,"admin_sources":[],"roles":"team_user"}],` +
				`"channels":[{"team":"e","channel":"inc","sources":[],"admin":true,"admin_sources":["manual"],"roles":"channel_user channel_admin"},` +
				`{"team":"e","channel":"town-square","sources":[],"admin":false,"admin_sources":[],"roles":"channel_user"}],"groups":[]}`},
		// A guest's grants are kept, without effect: the store reports Admin false.
		{"guest account", NewAccountJSON(store.AccountDetails{ID: "2", Username: "g", Guest: true,
			SystemAdminSources: []store.MembershipSource{manual},
			Teams:              []store.TeamMembership{{Team: "p", AdminSources: []store.MembershipSource{manual}}},
			Channels:           []store.ChannelMembership{{Team: "p", Channel: "acme"}}}),
			`{"id":"2","user_name":"","username":"g","email":"","active":false,"status":"","delete_at":0,"scim_deleted":false,` +
				`"first_name":"","last_name":"","nickname":"","position":"","auth_service":"","auth_data":"","origin":"",` +
				`"guest":true,"system_admin":false,"system_admin_sources":["manual"],"roles":"system_guest",` +
				`"teams":[{"name":"p","sources":[],"admin":false,"admin_sources":["manual"],"roles":"team_guest"}],` +
				`"channels":[{"team":"p","channel":"acme","sources":[],"admin":false,"admin_sources":[],"roles":"channel_guest"}],"groups":[]}`},
		{"team members", memberPage("e", "", 10, 0, store.MemberPage{Total: 3, Members: []store.MemberSummary{
			{ID: "1", Username: "a", Admin: true}, {ID: "2", Username: "g", Guest: true}, {ID: "3", Username: "m"}}}),
			`{"team":"e","total":3,"limit":10,"offset":0,"members":[` +
				`{"id":"1","username":"a","active":false,"status":"","scim_deleted":false,"guest":false,"admin":true,"roles":"team_user team_admin","sources":[],"groups":[]},` +
				`{"id":"2","username":"g","active":false,"status":"","scim_deleted":false,"guest":true,"admin":false,"roles":"team_guest","sources":[],"groups":[]},` +
				`{"id":"3","username":"m","active":false,"status":"","scim_deleted":false,"guest":false,"admin":false,"roles":"team_user","sources":[],"groups":[]}]}`},
		{"channel members", memberPage("e", "inc", 10, 0, store.MemberPage{Total: 2, Members: []store.MemberSummary{
			{ID: "1", Username: "a", Admin: true}, {ID: "2", Username: "g", Guest: true}}}),
			`{"team":"e","channel":"inc","total":2,"limit":10,"offset":0,"members":[` +
				`{"id":"1","username":"a","active":false,"status":"","scim_deleted":false,"guest":false,"admin":true,"roles":"channel_user channel_admin","sources":[],"groups":[]},` +
				`{"id":"2","username":"g","active":false,"status":"","scim_deleted":false,"guest":true,"admin":false,"roles":"channel_guest","sources":[],"groups":[]}]}`},
		{"role change", NewRoleJSON(store.RoleChange{Account: "1", Username: "a", Role: store.RoleRef{Role: store.RoleTeamAdmin, Team: "e"},
			Changed: false, Has: true, Remaining: []store.MembershipSource{leads}}),
			`{"account":"1","username":"a","role":"team_admin","team":"e","changed":false,"has":true,"remaining":["group:Eng Leads"],` +
				`"message":"a stays team_admin of e: granted by group Eng Leads"}`},
	} {
		if got := asJSON(c.v); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}
