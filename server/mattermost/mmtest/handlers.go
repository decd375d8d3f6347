package mmtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/townsquare/townsquare/server/mattermost"
)

// The JSON the double answers with: Mattermost's field names (model.User, Team, Channel,
// TeamMember, ChannelMember), only the fields a provisioning client reads plus the
// timestamps. A user never carries auth_data (model.User.Sanitize).

type userJSON struct {
	ID          string `json:"id"`
	CreateAt    int64  `json:"create_at"`
	UpdateAt    int64  `json:"update_at"`
	DeleteAt    int64  `json:"delete_at"`
	Username    string `json:"username"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Nickname    string `json:"nickname"`
	Position    string `json:"position"`
	Email       string `json:"email"`
	AuthService string `json:"auth_service"`
	Roles       string `json:"roles"`
	Locale      string `json:"locale"`
	IsBot       bool   `json:"is_bot,omitempty"`
}

type teamJSON struct {
	ID          string `json:"id"`
	CreateAt    int64  `json:"create_at"`
	UpdateAt    int64  `json:"update_at"`
	DeleteAt    int64  `json:"delete_at"`
	DisplayName string `json:"display_name"`
	Name        string `json:"name"`
	Type        string `json:"type"`
}

type channelJSON struct {
	ID          string `json:"id"`
	CreateAt    int64  `json:"create_at"`
	UpdateAt    int64  `json:"update_at"`
	DeleteAt    int64  `json:"delete_at"`
	TeamID      string `json:"team_id"`
	Type        string `json:"type"`
	DisplayName string `json:"display_name"`
	Name        string `json:"name"`
	CreatorID   string `json:"creator_id"`
}

type teamMemberJSON struct {
	TeamID        string `json:"team_id"`
	UserID        string `json:"user_id"`
	Roles         string `json:"roles"`
	DeleteAt      int64  `json:"delete_at"`
	SchemeGuest   bool   `json:"scheme_guest"`
	SchemeUser    bool   `json:"scheme_user"`
	SchemeAdmin   bool   `json:"scheme_admin"`
	ExplicitRoles string `json:"explicit_roles"`
}

type channelMemberJSON struct {
	ChannelID     string `json:"channel_id"`
	UserID        string `json:"user_id"`
	Roles         string `json:"roles"`
	LastViewedAt  int64  `json:"last_viewed_at"`
	MsgCount      int64  `json:"msg_count"`
	MentionCount  int64  `json:"mention_count"`
	LastUpdateAt  int64  `json:"last_update_at"`
	SchemeGuest   bool   `json:"scheme_guest"`
	SchemeUser    bool   `json:"scheme_user"`
	SchemeAdmin   bool   `json:"scheme_admin"`
	ExplicitRoles string `json:"explicit_roles"`
}

// appError is Mattermost's error body (model.AppError as it is serialised).
type appError struct {
	ID            string `json:"id"`
	Message       string `json:"message"`
	DetailedError string `json:"detailed_error"`
	RequestID     string `json:"request_id"`
	StatusCode    int    `json:"status_code"`
	IsOAuth       bool   `json:"is_oauth"`
}

var statusOK = map[string]string{"status": "OK"}

func fail(status int, id, message string) (int, any) {
	return status, &appError{ID: id, Message: message, StatusCode: status}
}

// The errors several handlers give (ids as Mattermost's server source spells them).
func invalidURLParam(name string) (int, any) {
	return fail(http.StatusBadRequest, "api.context.invalid_url_param.app_error", "Invalid or missing "+name+" parameter in request URL.")
}

func invalidBodyParam(name string) (int, any) {
	return fail(http.StatusBadRequest, "api.context.invalid_body_param.app_error", "Invalid or missing "+name+" in request body.")
}

func missingUser() (int, any) {
	return fail(http.StatusNotFound, "app.user.missing_account.const", "Unable to find the user.")
}

func missingTeam() (int, any) {
	return fail(http.StatusNotFound, "app.team.get.find.app_error", "Unable to find the existing team.")
}

func missingChannel() (int, any) {
	return fail(http.StatusNotFound, "app.channel.get.existing.app_error", "Unable to find the existing channel.")
}

func (u *userRec) json() userJSON {
	return userJSON{ID: u.u.ID, CreateAt: u.createAt, UpdateAt: u.updateAt, DeleteAt: u.u.DeleteAt,
		Username: u.u.Username, FirstName: u.u.FirstName, LastName: u.u.LastName, Nickname: u.u.Nickname,
		Position: u.u.Position, Email: u.u.Email, AuthService: u.u.AuthService, Roles: u.u.Roles,
		Locale: "en", IsBot: u.u.IsBot}
}

func (t *teamRec) json() teamJSON {
	return teamJSON{ID: t.t.ID, CreateAt: t.createAt, UpdateAt: t.createAt, DisplayName: t.t.DisplayName, Name: t.t.Name, Type: t.t.Type}
}

func (c *channelRec) json() channelJSON {
	return channelJSON{ID: c.c.ID, CreateAt: c.createAt, UpdateAt: c.createAt, TeamID: c.c.TeamID, Type: c.c.Type,
		DisplayName: c.c.DisplayName, Name: c.c.Name, CreatorID: c.creator}
}

func teamMember(teamID, userID string, m *member) teamMemberJSON {
	return teamMemberJSON{TeamID: teamID, UserID: userID, Roles: teamRoles(m), SchemeGuest: m.guest, SchemeUser: m.user, SchemeAdmin: m.admin}
}

func channelMember(channelID, userID string, m *member) channelMemberJSON {
	return channelMemberJSON{ChannelID: channelID, UserID: userID, Roles: channelRoles(m), SchemeGuest: m.guest, SchemeUser: m.user, SchemeAdmin: m.admin}
}

// call is one routed request.
type call struct {
	caller *userRec
	params map[string]string
	query  map[string][]string
	body   []byte
}

// decode reads the body as Mattermost does (json.Decoder into its model type): unknown
// fields are ignored; malformed JSON is 400 invalid_body_param naming what was expected.
func (c *call) decode(v any, what string) (int, any, bool) {
	if err := json.NewDecoder(bytes.NewReader(c.body)).Decode(v); err != nil {
		st, body := invalidBodyParam(what)
		return st, body, false
	}
	return 0, nil, true
}

// paging reads page and per_page as web/params.go does: a missing, malformed or negative
// value is the default (0, 60); per_page above 200 is 200.
func (c *call) paging() (int, int) {
	page, perPage := 0, defaultPerPage
	if v, err := strconv.Atoi(first(c.query["page"])); err == nil && v >= 0 {
		page = v
	}
	if v, err := strconv.Atoi(first(c.query["per_page"])); err == nil && v >= 0 {
		perPage = min(v, maxPerPage)
	}
	return page, perPage
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// ---- users

func (st *state) getMe(c *call) (int, any) { return http.StatusOK, c.caller.json() }

func (st *state) userParam(c *call) (*userRec, int, any) {
	id := c.params["user_id"]
	if !validID(id) {
		s, b := invalidURLParam("user_id")
		return nil, s, b
	}
	u := st.users[id]
	if u == nil {
		s, b := missingUser()
		return nil, s, b
	}
	return u, 0, nil
}

func (st *state) getUser(c *call) (int, any) {
	u, s, b := st.userParam(c)
	if u == nil {
		return s, b
	}
	return http.StatusOK, u.json()
}

func (st *state) getUserByUsername(c *call) (int, any) {
	name := c.params["username"]
	if !validUsername(name) { // Context.RequireUsername: SetInvalidParam, not the URL one
		return invalidBodyParam("username")
	}
	u := st.users[st.byUsername[name]]
	if u == nil {
		return fail(http.StatusNotFound, "app.user.get_by_username.app_error", "Unable to find an existing account matching your username for this team.")
	}
	return http.StatusOK, u.json()
}

func (st *state) getUserByEmail(c *call) (int, any) {
	email := lower(c.params["email"]) // Context.SanitizeEmail lower-cases, then validates
	if !validEmail(email) {
		return invalidURLParam("email")
	}
	u := st.users[st.byEmail[email]]
	if u == nil {
		return missingUser()
	}
	return http.StatusOK, u.json()
}

type userBody struct {
	Username    *string `json:"username"`
	Email       *string `json:"email"`
	FirstName   *string `json:"first_name"`
	LastName    *string `json:"last_name"`
	Nickname    *string `json:"nickname"`
	Position    *string `json:"position"`
	AuthService *string `json:"auth_service"`
	AuthData    *string `json:"auth_data"`
	Password    *string `json:"password"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// checkUser is model.User.IsValid for the fields provisioning sets.
func checkUser(u *userRec) (int, any, bool) {
	bad := func(field string) (int, any, bool) {
		s, b := fail(http.StatusBadRequest, "model.user.is_valid."+field+".app_error", "Invalid "+field+".")
		return s, b, false
	}
	switch {
	case !validUsername(u.u.Username):
		return bad("username")
	case !validEmail(u.u.Email):
		return bad("email")
	case runes(u.u.Nickname) > nameMaxRunes:
		return bad("nickname")
	case runes(u.u.Position) > positionMaxRunes:
		return bad("position")
	case runes(u.u.FirstName) > nameMaxRunes:
		return bad("first_name")
	case runes(u.u.LastName) > nameMaxRunes:
		return bad("last_name")
	case len(u.u.AuthData) > authDataMaxLength:
		return bad("auth_data")
	case u.u.AuthData != "" && u.u.AuthService == "":
		return bad("auth_data_type")
	}
	return 0, nil, true
}

// createUser is POST /users as a system admin (CreateUserAsAdmin → createUserOrGuest):
// username and email are lower-cased (PreSave), validated, and must be free; a taken
// auth_data violates a unique key the app does not map, hence 500 app.user.save.app_error.
func (st *state) createUser(c *call) (int, any) {
	var b userBody
	if s, body, ok := c.decode(&b, "user"); !ok {
		return s, body
	}
	u := &userRec{u: userFrom(b)}
	if s, body, ok := checkUser(u); !ok {
		return s, body
	}
	if b.AuthData != nil && *b.AuthData != "" && str(b.Password) != "" {
		return fail(http.StatusBadRequest, "model.user.is_valid.auth_data_pwd.app_error", "Invalid user, password and auth data cannot both be set.")
	}
	if u.u.AuthService == "" && str(b.Password) == "" {
		// An email-login account needs a password; Townsquare never sends one.
		return fail(http.StatusBadRequest, "model.user.is_valid.pwd.app_error", "Your password must contain at least 5 characters.")
	}
	if _, taken := st.byEmail[u.u.Email]; taken {
		return fail(http.StatusBadRequest, "app.user.save.email_exists.app_error", "An account with that email already exists.")
	}
	if _, taken := st.byUsername[u.u.Username]; taken {
		return fail(http.StatusBadRequest, "app.user.save.username_exists.app_error", "An account with that username already exists.")
	}
	if _, taken := st.byAuthData[u.u.AuthData]; taken && u.u.AuthData != "" {
		return fail(http.StatusInternalServerError, "app.user.save.app_error", "Unable to save the account.")
	}
	return http.StatusCreated, st.addUser(u.u).json()
}

func userFrom(b userBody) (u mattermost.User) {
	u.Username = lower(str(b.Username))
	u.Email = lower(str(b.Email))
	u.FirstName, u.LastName, u.Nickname, u.Position = str(b.FirstName), str(b.LastName), str(b.Nickname), str(b.Position)
	u.AuthService, u.AuthData = str(b.AuthService), str(b.AuthData)
	return u
}

// patchUser is PUT /users/{id}/patch (api4/user.go patchUser): an unknown user is the
// handler's invalid user_id parameter; changing the username of a user with any
// auth_service is 409 (App.CheckProviderAttributes); then UpdateUser's checks.
func (st *state) patchUser(c *call) (int, any) {
	id := c.params["user_id"]
	if !validID(id) {
		return invalidURLParam("user_id")
	}
	var p userBody
	if s, body, ok := c.decode(&p, "user"); !ok {
		return s, body
	}
	u := st.users[id]
	if u == nil {
		return invalidBodyParam("user_id")
	}
	if u.u.AuthService != "" && p.Username != nil && *p.Username != u.u.Username {
		return fail(http.StatusConflict, "api.user.patch_user.login_provider_attribute_set.app_error", "User must be updated through the login provider. Field: username")
	}
	next := *u
	if p.Username != nil {
		next.u.Username = lower(*p.Username)
	}
	if p.Email != nil {
		next.u.Email = lower(*p.Email)
	}
	for _, f := range []struct {
		dst *string
		src *string
	}{{&next.u.FirstName, p.FirstName}, {&next.u.LastName, p.LastName}, {&next.u.Nickname, p.Nickname}, {&next.u.Position, p.Position}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if s, body, ok := checkUser(&next); !ok {
		return s, body
	}
	if other, taken := st.byUsername[next.u.Username]; taken && other != id {
		return fail(http.StatusBadRequest, "app.user.save.username_exists.app_error", "An account with that username already exists.")
	}
	if other, taken := st.byEmail[next.u.Email]; taken && other != id {
		return fail(http.StatusBadRequest, "app.user.save.email_exists.app_error", "An account with that email already exists.")
	}
	delete(st.byUsername, u.u.Username)
	delete(st.byEmail, u.u.Email)
	u.u = next.u
	u.updateAt = now()
	st.byUsername[u.u.Username] = id
	st.byEmail[u.u.Email] = id
	return http.StatusOK, u.json()
}

// updateUserAuth is PUT /users/{id}/auth (App.UpdateUserAuth): an auth_data another user
// holds is 400 app.user.update_auth_data.email_exists.app_error; the answer echoes the
// binding (model.UserAuth).
func (st *state) updateUserAuth(c *call) (int, any) {
	u, s, b := st.userParam(c)
	if u == nil {
		return s, b
	}
	var body struct {
		AuthData    *string `json:"auth_data"`
		AuthService string  `json:"auth_service"`
	}
	if s, b, ok := c.decode(&body, "user"); !ok {
		return s, b
	}
	data := str(body.AuthData)
	if other, taken := st.byAuthData[data]; taken && data != "" && other != u.u.ID {
		return fail(http.StatusBadRequest, "app.user.update_auth_data.email_exists.app_error", "Unable to switch the account: another account is bound to that authentication data.")
	}
	if len(data) > authDataMaxLength {
		return fail(http.StatusBadRequest, "model.user.is_valid.auth_data.app_error", "Invalid auth_data.")
	}
	if u.u.AuthData != "" {
		delete(st.byAuthData, u.u.AuthData)
	}
	u.u.AuthData, u.u.AuthService = data, body.AuthService
	if data != "" {
		st.byAuthData[data] = u.u.ID
	}
	u.updateAt = now()
	return http.StatusOK, map[string]string{"auth_data": data, "auth_service": body.AuthService}
}

// updateUserActive is PUT /users/{id}/active: delete_at becomes now, or 0. Memberships
// are kept (App.UpdateActive).
func (st *state) updateUserActive(c *call) (int, any) {
	u, s, b := st.userParam(c)
	if u == nil {
		return s, b
	}
	var body map[string]any
	if s, b, ok := c.decode(&body, "active"); !ok {
		return s, b
	}
	active, ok := body["active"].(bool)
	if !ok {
		return invalidBodyParam("active")
	}
	st.setActive(u, active)
	u.updateAt = now()
	return http.StatusOK, statusOK
}

// updateUserRoles is PUT /users/{id}/roles: the role string is replaced when valid.
func (st *state) updateUserRoles(c *call) (int, any) {
	id := c.params["user_id"]
	if !validID(id) {
		return invalidURLParam("user_id")
	}
	var body map[string]string
	if s, b, ok := c.decode(&body, "roles"); !ok {
		return s, b
	}
	roles := body["roles"]
	if !validUserRoles(roles) {
		return invalidBodyParam("roles")
	}
	u := st.users[id]
	if u == nil {
		return missingUser()
	}
	u.u.Roles = strings.Join(strings.Fields(roles), " ")
	u.updateAt = now()
	return http.StatusOK, statusOK
}

// demoteUser is POST /users/{id}/demote (api4 demoteUserToGuest; App.DemoteUserToGuest):
// unlicensed 501; a guest already 501; else system_user becomes system_guest,
// system_admin goes (other roles stay), and every membership becomes a guest membership
// without scheme_admin (SqlUserStore.DemoteUserToGuest).
func (st *state) demoteUser(c *call) (int, any) {
	if !st.licensed {
		return fail(http.StatusNotImplemented, "api.team.demote_user_to_guest.license.error", "Your license does not support guest accounts")
	}
	u, s, b := st.userParam(c)
	if u == nil {
		return s, b
	}
	if isGuest(u) {
		return fail(http.StatusNotImplemented, "api.user.demote_user_to_guest.already_guest.app_error", "Unable to convert the user to guest because is already a guest.")
	}
	u.u.Roles = mapRoles(u.u.Roles, "system_user", "system_guest", "system_admin")
	u.updateAt = now()
	st.setGuest(u.u.ID, true)
	return http.StatusOK, statusOK
}

// promoteUser is POST /users/{id}/promote: a non-guest is 501; a guest becomes
// system_user, its memberships user memberships, and it joins its teams' default channels.
func (st *state) promoteUser(c *call) (int, any) {
	u, s, b := st.userParam(c)
	if u == nil {
		return s, b
	}
	if !isGuest(u) {
		return fail(http.StatusNotImplemented, "api.user.promote_guest_to_user.no_guest.app_error", "Unable to convert the guest to regular user because is not a guest.")
	}
	u.u.Roles = mapRoles(u.u.Roles, "system_guest", "system_user", "")
	u.updateAt = now()
	st.setGuest(u.u.ID, false)
	for _, t := range st.teams {
		if _, ok := t.members.m[u.u.ID]; ok {
			st.joinDefaultChannels(t, u)
		}
	}
	return http.StatusOK, statusOK
}

// mapRoles is the role string rewrite of SqlUserStore.DemoteUserToGuest and
// PromoteGuestToUser: from becomes to, drop goes, every other role stays.
func mapRoles(roles, from, to, drop string) string {
	var out []string
	for _, r := range strings.Fields(roles) {
		switch r {
		case from:
			out = append(out, to)
		case drop:
		default:
			out = append(out, r)
		}
	}
	return strings.Join(out, " ")
}

func (st *state) setGuest(userID string, guest bool) {
	for _, t := range st.teams {
		if m, ok := t.members.m[userID]; ok {
			*m = member{user: !guest, guest: guest}
		}
	}
	for _, ch := range st.channels {
		if m, ok := ch.members.m[userID]; ok {
			*m = member{user: !guest, guest: guest}
		}
	}
}

// deleteUser is DELETE /users/{id}?permanent=true (App.PermanentDeleteUser): refused
// with 401 unless ServiceSettings.EnableAPIUserDeletion (WithAPIUserDeletion); the user
// and all its memberships are gone. Without permanent=true it deactivates.
func (st *state) deleteUser(c *call) (int, any) {
	u, s, b := st.userParam(c)
	if u == nil {
		return s, b
	}
	if first(c.query["permanent"]) != "true" {
		st.setActive(u, false)
		return http.StatusOK, statusOK
	}
	if !st.apiUserDeletion {
		return fail(http.StatusUnauthorized, "api.user.delete_user.not_enabled.app_error", "Permanent user deletion feature is not enabled. Please contact your System Administrator.")
	}
	for _, t := range st.teams {
		st.leaveTeam(t, u.u.ID)
	}
	for _, ch := range st.channels {
		ch.members.del(u.u.ID) // channels of no team are not modelled; kept for safety
	}
	delete(st.users, u.u.ID)
	delete(st.byUsername, u.u.Username)
	delete(st.byEmail, u.u.Email)
	if u.u.AuthData != "" {
		delete(st.byAuthData, u.u.AuthData)
	}
	for tok, id := range st.tokens {
		if id == u.u.ID {
			delete(st.tokens, tok)
		}
	}
	return http.StatusOK, statusOK
}

// ---- teams

func (st *state) teamParam(c *call) (*teamRec, int, any) {
	id := c.params["team_id"]
	if !validID(id) {
		s, b := invalidURLParam("team_id")
		return nil, s, b
	}
	t := st.teams[id]
	if t == nil {
		s, b := missingTeam()
		return nil, s, b
	}
	return t, 0, nil
}

func (st *state) getTeamByName(c *call) (int, any) {
	name := c.params["name"]
	if !validTeamName(name) {
		return invalidURLParam("team_name")
	}
	t := st.teams[st.teamByName[name]]
	if t == nil {
		return fail(http.StatusNotFound, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.")
	}
	return http.StatusOK, t.json()
}

// createTeam is POST /teams (App.CreateTeamWithUser): model.Team.IsValid, a free name,
// then the creator joins as team admin (and the default channels).
func (st *state) createTeam(c *call) (int, any) {
	var b struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Type        string `json:"type"`
	}
	if s, body, ok := c.decode(&b, "team"); !ok {
		return s, body
	}
	bad := func(field string) (int, any) {
		return fail(http.StatusBadRequest, "model.team.is_valid."+field+".app_error", "Invalid team "+field+".")
	}
	switch {
	case runes(b.DisplayName) == 0 || runes(b.DisplayName) > displayNameMaxRunes:
		return bad("name")
	case len(b.Name) > teamNameMaxLength:
		return bad("url")
	case reservedTeamName(b.Name):
		return bad("reserved")
	case !validTeamName(b.Name):
		return bad("characters")
	case b.Type != "O" && b.Type != "I":
		return bad("type")
	}
	if _, taken := st.teamByName[b.Name]; taken {
		return fail(http.StatusBadRequest, "app.team.save.existing.app_error", "A team with that name already exists.")
	}
	t := st.addTeam(b.Name, b.DisplayName, b.Type)
	st.joinTeam(t, c.caller, true)
	return http.StatusCreated, t.json()
}

func (st *state) getTeamMembers(c *call) (int, any) {
	t, s, b := st.teamParam(c)
	if t == nil {
		return s, b
	}
	page, perPage := c.paging()
	out := []teamMemberJSON{}
	for _, id := range t.members.page(page, perPage) {
		out = append(out, teamMember(t.t.ID, id, t.members.m[id]))
	}
	return http.StatusOK, out
}

// addTeamMember is POST /teams/{id}/members (App.AddTeamMember → JoinUserToTeam): an
// existing member is returned as it is; a deactivated user may join; a new member
// beyond MaxUsersPerTeam active members is 400 max_accounts.
func (st *state) addTeamMember(c *call) (int, any) {
	t, s, b := st.teamParam(c)
	if t == nil {
		return s, b
	}
	var body struct {
		TeamID string `json:"team_id"`
		UserID string `json:"user_id"`
	}
	if s, b, ok := c.decode(&body, "team_member"); !ok {
		return s, b
	}
	if body.TeamID != t.t.ID {
		return invalidBodyParam("team_id")
	}
	if !validID(body.UserID) {
		return invalidBodyParam("user_id")
	}
	u := st.users[body.UserID]
	if u == nil {
		return missingUser()
	}
	if m, ok := t.members.m[u.u.ID]; ok {
		return http.StatusCreated, teamMember(t.t.ID, u.u.ID, m)
	}
	if t.active >= st.maxUsersPerTeam {
		return fail(http.StatusBadRequest, "app.team.join_user_to_team.max_accounts.app_error", "This team has reached the maximum number of allowed accounts. Contact your System Administrator to set a higher limit.")
	}
	return http.StatusCreated, teamMember(t.t.ID, u.u.ID, st.joinTeam(t, u, false))
}

// removeTeamMember is DELETE /teams/{id}/members/{user_id} (LeaveTeam): a non-member is
// 400; a member leaves the team and all its channels.
func (st *state) removeTeamMember(c *call) (int, any) {
	t, s, b := st.teamParam(c)
	if t == nil {
		return s, b
	}
	u, s, b := st.userParam(c)
	if u == nil {
		return s, b
	}
	if _, ok := t.members.m[u.u.ID]; !ok {
		return fail(http.StatusBadRequest, "api.team.remove_user_from_team.missing.app_error", "The user does not appear to be part of this team.")
	}
	st.leaveTeam(t, u.u.ID)
	return http.StatusOK, statusOK
}

// getTeamMember is GET /teams/{id}/members/{user_id} (App.GetTeamMember): a non-member
// is 404 app.team.get_member.missing.app_error.
func (st *state) getTeamMember(c *call) (int, any) {
	t, s, b := st.teamParam(c)
	if t == nil {
		return s, b
	}
	if !validID(c.params["user_id"]) {
		return invalidURLParam("user_id")
	}
	m, ok := t.members.m[c.params["user_id"]]
	if !ok {
		return fail(http.StatusNotFound, "app.team.get_member.missing.app_error", "No team member found for that user ID and team ID.")
	}
	return http.StatusOK, teamMember(t.t.ID, c.params["user_id"], m)
}

// patchTeam is PUT /teams/{id}/patch (App.PatchTeam): the display name is checked as
// Team.IsValid checks it (1–64 runes: 400 model.team.is_valid.name.app_error).
func (st *state) patchTeam(c *call) (int, any) {
	t, s, b := st.teamParam(c)
	if t == nil {
		return s, b
	}
	var body struct {
		DisplayName *string `json:"display_name"`
	}
	if s, b, ok := c.decode(&body, "team"); !ok {
		return s, b
	}
	if body.DisplayName != nil {
		if n := runes(*body.DisplayName); n == 0 || n > displayNameMaxRunes {
			return fail(http.StatusBadRequest, "model.team.is_valid.name.app_error", "Invalid team name.")
		}
		t.t.DisplayName = *body.DisplayName
	}
	return http.StatusOK, t.json()
}

// updateTeamPrivacy is PUT /teams/{id}/privacy (api4 updateTeamPrivacy): "O" or "I",
// else 400 invalid_body_param (c.SetInvalidParam("privacy") ?).
func (st *state) updateTeamPrivacy(c *call) (int, any) {
	t, s, b := st.teamParam(c)
	if t == nil {
		return s, b
	}
	var body map[string]string
	if s, b, ok := c.decode(&body, "privacy"); !ok {
		return s, b
	}
	p := body["privacy"]
	if p != "O" && p != "I" {
		return invalidBodyParam("privacy")
	}
	t.t.Type = p
	return http.StatusOK, t.json()
}

type schemeRolesBody struct {
	SchemeAdmin *bool `json:"scheme_admin"`
	SchemeUser  *bool `json:"scheme_user"`
	SchemeGuest bool  `json:"scheme_guest"`
}

// setSchemeRoles applies a schemeRoles body to m: guest status cannot change this way
// (App.UpdateTeamMemberSchemeRoles / UpdateChannelMemberSchemeRoles).
func setSchemeRoles(c *call, m *member, kind string) (int, any) {
	var body schemeRolesBody
	if s, b, ok := c.decode(&body, "scheme_roles"); !ok {
		return s, b
	}
	if body.SchemeAdmin == nil || body.SchemeUser == nil {
		return invalidBodyParam("scheme_roles")
	}
	if m.guest != body.SchemeGuest || m.guest == *body.SchemeUser || (body.SchemeGuest && *body.SchemeAdmin) {
		return fail(http.StatusBadRequest, "api."+kind+".update_"+kind+"_member_roles.guest_and_user.app_error", "Invalid "+kind+" member update: a user must be a guest or a user but not both.")
	}
	m.admin = *body.SchemeAdmin
	return http.StatusOK, statusOK
}

func (st *state) updateTeamMemberSchemeRoles(c *call) (int, any) {
	t, s, b := st.teamParam(c)
	if t == nil {
		return s, b
	}
	if !validID(c.params["user_id"]) {
		return invalidURLParam("user_id")
	}
	m, ok := t.members.m[c.params["user_id"]]
	if !ok {
		return fail(http.StatusNotFound, "app.team.get_member.missing.app_error", "No team member found for that user ID and team ID.")
	}
	return setSchemeRoles(c, m, "team")
}

// ---- channels

func (st *state) channelParam(c *call) (*channelRec, int, any) {
	id := c.params["channel_id"]
	if !validID(id) {
		s, b := invalidURLParam("channel_id")
		return nil, s, b
	}
	ch := st.channels[id]
	if ch == nil {
		s, b := missingChannel()
		return nil, s, b
	}
	return ch, 0, nil
}

func (st *state) getChannelByName(c *call) (int, any) {
	tn, cn := c.params["team_name"], c.params["channel_name"]
	if !validTeamName(tn) {
		return invalidURLParam("team_name")
	}
	if !validChannelName(cn) {
		return invalidURLParam("channel_name")
	}
	t := st.teams[st.teamByName[tn]]
	if t == nil {
		return fail(http.StatusNotFound, "app.team.get_by_name.missing.app_error", "Unable to find the existing team.")
	}
	ch := st.channels[t.channels[cn]]
	if ch == nil {
		return fail(http.StatusNotFound, "app.channel.get_by_name.missing.app_error", "Unable to find the existing channel.")
	}
	return http.StatusOK, ch.json()
}

// createChannel is POST /channels (App.CreateChannelWithUser): model.Channel.IsValid, a
// name free in its team, and the creator joins as channel admin.
func (st *state) createChannel(c *call) (int, any) {
	var b struct {
		TeamID      string `json:"team_id"`
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Type        string `json:"type"`
	}
	if s, body, ok := c.decode(&b, "channel"); !ok {
		return s, body
	}
	bad := func(field string) (int, any) {
		return fail(http.StatusBadRequest, "model.channel.is_valid."+field+".app_error", "Invalid channel "+field+".")
	}
	switch {
	case !validID(b.TeamID):
		return bad("team_id")
	case runes(b.DisplayName) == 0 || runes(b.DisplayName) > displayNameMaxRunes:
		return bad("display_name")
	case !validChannelName(b.Name):
		return bad("1_or_more")
	case b.Type != "O" && b.Type != "P":
		return bad("type")
	}
	t := st.teams[b.TeamID]
	if t == nil {
		return missingTeam()
	}
	if _, taken := t.channels[b.Name]; taken {
		return fail(http.StatusBadRequest, "store.sql_channel.save_channel.exists.app_error", "A channel with that name already exists on the same team.")
	}
	ch := st.addChannel(t, b.Name, b.DisplayName, b.Type, c.caller.u.ID)
	st.joinChannel(ch, c.caller, true)
	return http.StatusCreated, ch.json()
}

func (st *state) getChannelMembers(c *call) (int, any) {
	ch, s, b := st.channelParam(c)
	if ch == nil {
		return s, b
	}
	page, perPage := c.paging()
	out := []channelMemberJSON{}
	for _, id := range ch.members.page(page, perPage) {
		out = append(out, channelMember(ch.c.ID, id, ch.members.m[id]))
	}
	return http.StatusOK, out
}

// addChannelMember is POST /channels/{id}/members (AddChannelMember → AddUserToChannel):
// a deactivated user is 403; an existing member is returned; a user outside the team is
// 404 app.team.get_member.missing.app_error.
func (st *state) addChannelMember(c *call) (int, any) {
	ch, s, b := st.channelParam(c)
	if ch == nil {
		return s, b
	}
	var body struct {
		UserID string `json:"user_id"`
	}
	if s, b, ok := c.decode(&body, "user_id"); !ok {
		return s, b
	}
	if !validID(body.UserID) {
		return invalidBodyParam("user_id")
	}
	u := st.users[body.UserID]
	if u == nil {
		return missingUser()
	}
	if u.u.DeleteAt != 0 {
		return fail(http.StatusForbidden, "app.channel.add_member.deleted_user.app_error", "Cannot add a deactivated user to a channel.")
	}
	if m, ok := ch.members.m[u.u.ID]; ok {
		return http.StatusCreated, channelMember(ch.c.ID, u.u.ID, m)
	}
	if _, ok := st.teams[ch.c.TeamID].members.m[u.u.ID]; !ok {
		return fail(http.StatusNotFound, "app.team.get_member.missing.app_error", "No team member found for that user ID and team ID.")
	}
	return http.StatusCreated, channelMember(ch.c.ID, u.u.ID, st.joinChannel(ch, u, false))
}

// removeChannelMember is DELETE /channels/{id}/members/{user_id} (removeUserFromChannel):
// a non-guest is never removed from town-square (400); a non-member is 404; a guest
// removed from its last channel of a team leaves the team too.
func (st *state) removeChannelMember(c *call) (int, any) {
	ch, s, b := st.channelParam(c)
	if ch == nil {
		return s, b
	}
	u, s, b := st.userParam(c)
	if u == nil {
		return s, b
	}
	if ch.c.Name == townSquare && !isGuest(u) {
		return fail(http.StatusBadRequest, "api.channel.remove.default.app_error", "Unable to remove user from the default channel town-square.")
	}
	if _, ok := ch.members.m[u.u.ID]; !ok {
		return fail(http.StatusNotFound, "app.channel.get_member.missing.app_error", "No channel member found for that user ID and channel ID.")
	}
	ch.members.del(u.u.ID)
	if isGuest(u) {
		t := st.teams[ch.c.TeamID]
		stillIn := false
		for _, cid := range t.channels {
			if _, ok := st.channels[cid].members.m[u.u.ID]; ok {
				stillIn = true
				break
			}
		}
		if !stillIn {
			t.members.del(u.u.ID)
		}
	}
	return http.StatusOK, statusOK
}

func (st *state) updateChannelMemberSchemeRoles(c *call) (int, any) {
	ch, s, b := st.channelParam(c)
	if ch == nil {
		return s, b
	}
	if !validID(c.params["user_id"]) {
		return invalidURLParam("user_id")
	}
	m, ok := ch.members.m[c.params["user_id"]]
	if !ok {
		return fail(http.StatusNotFound, "app.channel.get_member.missing.app_error", "No channel member found for that user ID and channel ID.")
	}
	return setSchemeRoles(c, m, "channel")
}

// getChannelMember is GET /channels/{id}/members/{user_id} (App.GetChannelMember): a
// non-member is 404 app.channel.get_member.missing.app_error.
func (st *state) getChannelMember(c *call) (int, any) {
	ch, s, b := st.channelParam(c)
	if ch == nil {
		return s, b
	}
	if !validID(c.params["user_id"]) {
		return invalidURLParam("user_id")
	}
	m, ok := ch.members.m[c.params["user_id"]]
	if !ok {
		return fail(http.StatusNotFound, "app.channel.get_member.missing.app_error", "No channel member found for that user ID and channel ID.")
	}
	return http.StatusOK, channelMember(ch.c.ID, c.params["user_id"], m)
}

// patchChannel is PUT /channels/{id}/patch (App.PatchChannel): the display name is
// checked as Channel.IsValid checks it (1–64 runes).
func (st *state) patchChannel(c *call) (int, any) {
	ch, s, b := st.channelParam(c)
	if ch == nil {
		return s, b
	}
	var body struct {
		DisplayName *string `json:"display_name"`
	}
	if s, b, ok := c.decode(&body, "channel"); !ok {
		return s, b
	}
	if body.DisplayName != nil {
		if n := runes(*body.DisplayName); n == 0 || n > displayNameMaxRunes {
			return fail(http.StatusBadRequest, "model.channel.is_valid.display_name.app_error", "Invalid display name.")
		}
		ch.c.DisplayName = *body.DisplayName
	}
	return http.StatusOK, ch.json()
}

// updateChannelPrivacy is PUT /channels/{id}/privacy (api4 updateChannelPrivacy): "O"
// or "P", else 400 invalid_body_param (c.SetInvalidParam("privacy") ?); the
// default channel town-square is never made private (400
// api.channel.update_channel_privacy.default_channel_error).
func (st *state) updateChannelPrivacy(c *call) (int, any) {
	ch, s, b := st.channelParam(c)
	if ch == nil {
		return s, b
	}
	var body map[string]string
	if s, b, ok := c.decode(&body, "privacy"); !ok {
		return s, b
	}
	p := body["privacy"]
	if p != "O" && p != "P" {
		return invalidBodyParam("privacy")
	}
	if ch.c.Name == townSquare && p == "P" {
		return fail(http.StatusBadRequest, "api.channel.update_channel_privacy.default_channel_error", "The default channel cannot be made private.")
	}
	ch.c.Type = p
	return http.StatusOK, ch.json()
}
