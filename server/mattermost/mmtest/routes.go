package mmtest

import (
	"net/http"
	"net/url"
	"strings"
)

// op is one allowed call: its method, its path template (the OpenAPI subset's), whether
// it needs a system admin, and its handler.
type op struct {
	method string
	tmpl   string
	segs   []string
	admin  bool
	handle func(*state, *call) (int, any)
}

// ops is the allow-list: issue 11's calls, the one permanent delete, and issue 14's
// member reads, team and channel patches and privacy changes. Reads of a
// user, team or channel need only a session; every change, and member lists, need a
// system admin (a plain user gets 403 api.context.permissions.app_error).
var ops = []*op{
	{method: http.MethodGet, tmpl: "/api/v4/users/me", handle: (*state).getMe},
	{method: http.MethodGet, tmpl: "/api/v4/users/{user_id}", handle: (*state).getUser},
	{method: http.MethodGet, tmpl: "/api/v4/users/username/{username}", handle: (*state).getUserByUsername},
	{method: http.MethodGet, tmpl: "/api/v4/users/email/{email}", handle: (*state).getUserByEmail},
	{method: http.MethodPost, tmpl: "/api/v4/users", admin: true, handle: (*state).createUser},
	{method: http.MethodPut, tmpl: "/api/v4/users/{user_id}/patch", admin: true, handle: (*state).patchUser},
	{method: http.MethodPut, tmpl: "/api/v4/users/{user_id}/auth", admin: true, handle: (*state).updateUserAuth},
	{method: http.MethodPut, tmpl: "/api/v4/users/{user_id}/active", admin: true, handle: (*state).updateUserActive},
	{method: http.MethodPut, tmpl: "/api/v4/users/{user_id}/roles", admin: true, handle: (*state).updateUserRoles},
	{method: http.MethodPost, tmpl: "/api/v4/users/{user_id}/demote", admin: true, handle: (*state).demoteUser},
	{method: http.MethodPost, tmpl: "/api/v4/users/{user_id}/promote", admin: true, handle: (*state).promoteUser},
	{method: http.MethodDelete, tmpl: "/api/v4/users/{user_id}", admin: true, handle: (*state).deleteUser},
	{method: http.MethodGet, tmpl: "/api/v4/teams/name/{name}", handle: (*state).getTeamByName},
	{method: http.MethodPut, tmpl: "/api/v4/teams/{team_id}/patch", admin: true, handle: (*state).patchTeam},
	{method: http.MethodPut, tmpl: "/api/v4/teams/{team_id}/privacy", admin: true, handle: (*state).updateTeamPrivacy},
	{method: http.MethodPost, tmpl: "/api/v4/teams", admin: true, handle: (*state).createTeam},
	{method: http.MethodGet, tmpl: "/api/v4/teams/{team_id}/members", admin: true, handle: (*state).getTeamMembers},
	{method: http.MethodPost, tmpl: "/api/v4/teams/{team_id}/members", admin: true, handle: (*state).addTeamMember},
	{method: http.MethodGet, tmpl: "/api/v4/teams/{team_id}/members/{user_id}", admin: true, handle: (*state).getTeamMember},
	{method: http.MethodDelete, tmpl: "/api/v4/teams/{team_id}/members/{user_id}", admin: true, handle: (*state).removeTeamMember},
	{method: http.MethodPut, tmpl: "/api/v4/teams/{team_id}/members/{user_id}/schemeRoles", admin: true, handle: (*state).updateTeamMemberSchemeRoles},
	{method: http.MethodGet, tmpl: "/api/v4/teams/name/{team_name}/channels/name/{channel_name}", handle: (*state).getChannelByName},
	{method: http.MethodPost, tmpl: "/api/v4/channels", admin: true, handle: (*state).createChannel},
	{method: http.MethodPut, tmpl: "/api/v4/channels/{channel_id}/patch", admin: true, handle: (*state).patchChannel},
	{method: http.MethodPut, tmpl: "/api/v4/channels/{channel_id}/privacy", admin: true, handle: (*state).updateChannelPrivacy},
	{method: http.MethodGet, tmpl: "/api/v4/channels/{channel_id}/members", admin: true, handle: (*state).getChannelMembers},
	{method: http.MethodPost, tmpl: "/api/v4/channels/{channel_id}/members", admin: true, handle: (*state).addChannelMember},
	{method: http.MethodGet, tmpl: "/api/v4/channels/{channel_id}/members/{user_id}", admin: true, handle: (*state).getChannelMember},
	{method: http.MethodDelete, tmpl: "/api/v4/channels/{channel_id}/members/{user_id}", admin: true, handle: (*state).removeChannelMember},
	{method: http.MethodPut, tmpl: "/api/v4/channels/{channel_id}/members/{user_id}/schemeRoles", admin: true, handle: (*state).updateChannelMemberSchemeRoles},
}

func init() {
	for _, o := range ops {
		o.segs = strings.Split(o.tmpl, "/")
	}
}

// route finds the allowed call for method and an escaped path, and its path parameters
// (unescaped). Where two templates match ("/teams/name/x" and "/teams/{team_id}/x"), the
// one with a literal segment earlier wins. nil when the call is not allowed.
func route(method, escapedPath string) (*op, map[string]string) {
	raw := strings.Split(escapedPath, "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		s, err := url.PathUnescape(r)
		if err != nil {
			return nil, nil
		}
		segs[i] = s
	}
	var best *op
	bestScore := ""
	for _, o := range ops {
		if o.method != method || len(o.segs) != len(segs) {
			continue
		}
		var score strings.Builder
		ok := true
		for i, t := range o.segs {
			switch {
			case strings.HasPrefix(t, "{"):
				score.WriteByte('0')
			case t == segs[i]:
				score.WriteByte('1')
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if ok && score.String() > bestScore {
			best, bestScore = o, score.String()
		}
	}
	if best == nil {
		return nil, nil
	}
	params := map[string]string{}
	for i, t := range best.segs {
		if strings.HasPrefix(t, "{") {
			params[strings.Trim(t, "{}")] = segs[i]
		}
	}
	return best, params
}
