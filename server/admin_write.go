package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
)

// The admin API's writes (store.Admin), and on-demand provisioning at sign-in. Every
// handler reads its body once (readAdminBody), names accounts as admins do (accountID)
// and answers a store error with adminStoreError.

// AccountSummaryJSON is an account as a list shows it (store.AccountSummary).
type AccountSummaryJSON struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Nickname    string `json:"nickname"`
	Active      bool   `json:"active"`
	Status      string `json:"status"`
	SCIMDeleted bool   `json:"scim_deleted"`
	AuthService string `json:"auth_service"`
	AuthData    string `json:"auth_data"`
	Origin      string `json:"origin"`
}

// MembershipJSON is what a membership call did; message is store.MembershipChange's
// String, the words the CLI prints.
type MembershipJSON struct {
	Account   string   `json:"account"`
	Username  string   `json:"username"`
	Team      string   `json:"team"`
	Channel   string   `json:"channel,omitempty"`
	Changed   bool     `json:"changed"`
	Member    bool     `json:"member"`
	Moved     bool     `json:"moved"`
	Removed   []string `json:"removed"`   // the sources a remove took away
	Remaining []string `json:"remaining"` // the sources that still grant it
	Message   string   `json:"message"`
}

// NewMembershipJSON renders what a membership call did as MembershipJSON.
func NewMembershipJSON(c store.MembershipChange) MembershipJSON {
	return MembershipJSON{Account: c.Account, Username: c.Username, Team: c.Team, Channel: c.Channel, Changed: c.Changed,
		Member: c.Member, Moved: c.Moved, Removed: sourceStrings(c.Removed), Remaining: sourceStrings(c.Remaining),
		Message: c.String()}
}

// NewChannelJSON renders a channel as ChannelJSON.
func NewChannelJSON(c store.ChannelSummary) ChannelJSON {
	return ChannelJSON{Name: c.Name, DisplayName: c.DisplayName, Type: c.Type, Private: c.Type == store.ChannelPrivate,
		MemberCount: c.MemberCount}
}

// NewAccountSummaryJSON renders an account of a list as AccountSummaryJSON.
func NewAccountSummaryJSON(s store.AccountSummary) AccountSummaryJSON {
	return AccountSummaryJSON{ID: s.ID, Username: s.Username, Email: s.Email, FirstName: s.FirstName,
		LastName: s.LastName, Nickname: s.Nickname, Active: s.Active, Status: s.Status, SCIMDeleted: s.SCIMDeleted,
		AuthService: s.AuthService, AuthData: s.AuthData, Origin: s.Origin}
}

// NewTeamJSON renders a team as TeamJSON.
func NewTeamJSON(t store.TeamSummary) TeamJSON {
	return TeamJSON{Name: t.Name, DisplayName: t.DisplayName, Type: t.Type, Private: t.Type == store.TeamInviteOnly,
		MemberCount: t.MemberCount, ChannelCount: t.ChannelCount}
}

// readAdminBody decodes the request body, exactly one JSON object, into dst (a pointer
// to a struct). The body must be sent as JSON (the media types SCIM takes; unlike SCIM,
// Content-Type is required: curl's -d sends a form's otherwise). With strict, a field
// dst does not have is refused, naming it; without, it is ignored. Anything else than one
// JSON object of the right types is 400 bad_request; a missing or other media type 415.
// It answers itself and reports false when the body cannot be used.
func readAdminBody(w http.ResponseWriter, r *http.Request, dst any, strict bool) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		adminError(w, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"the request body must be JSON, sent with Content-Type: application/json")
		return false
	}
	if p := resources.MediaTypeProblem(ct); p != "" {
		adminError(w, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, p)
		return false
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil { // already read into memory by limitBody
			adminError(w, http.StatusBadRequest, CodeBadRequest, "could not read the request body")
			return false
		}
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		adminError(w, http.StatusBadRequest, CodeBadRequest, "the request body must be one JSON object")
		return false
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if strict {
		d.DisallowUnknownFields()
	}
	if err := d.Decode(dst); err != nil {
		adminError(w, http.StatusBadRequest, CodeBadRequest, decodeProblem(err))
		return false
	}
	if _, err := d.Token(); err != io.EOF {
		adminError(w, http.StatusBadRequest, CodeBadRequest, "the request body must be one JSON object, with nothing after it")
		return false
	}
	return true
}

// decodeProblem says what encoding/json found wrong with a body, for the client.
func decodeProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		want := typeErr.Type.String()
		switch typeErr.Type.Kind() {
		case reflect.Bool:
			want = "boolean"
		case reflect.String:
			want = "string"
		case reflect.Pointer:
			if typeErr.Type.Elem().Kind() == reflect.Bool {
				want = "boolean"
			} else if typeErr.Type.Elem().Kind() == reflect.String {
				want = "string"
			}
		}
		return fmt.Sprintf("%s must be a JSON %s, not %s", typeErr.Field, want, typeErr.Value)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return "the request body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	// encoding/json's words for an unknown field: json: unknown field "x".
	return "the request body has an " + strings.TrimPrefix(err.Error(), "json: ")
}

// accountID resolves what an admin typed (a SCIM id, chat username or email) to the
// account's SCIM id, answering 404 not_found (400 invalid for an ambiguous email or an
// overlong key) itself when it cannot.
func (a *adminAPI) accountID(w http.ResponseWriter, r *http.Request, key string) (string, bool) {
	id, err := a.store.AccountID(r.Context(), key)
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no account with the id, username or email %q", key))
		return "", false
	}
	return id, true
}

// boolParam reads a query parameter that is true or false (absent: false), answering
// 400 invalid for anything else.
func boolParam(w http.ResponseWriter, r *http.Request, name string) (v, ok bool) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return false, true
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		adminError(w, http.StatusBadRequest, store.CodeInvalid, name+" must be true or false")
		return false, false
	}
	return v, true
}

// listAccounts answers GET /accounts?team=&inactive=&term=…&limit=&offset=: a page of
// accounts by username (store.ListAccounts), at most store.MaxAccountPage (the default
// too), with at most store.MaxSearchTerms terms.
func (a *adminAPI) listAccounts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	inactive, ok := boolParam(w, r, "inactive")
	if !ok {
		return
	}
	if n := len(q["term"]); n > store.MaxSearchTerms {
		adminError(w, http.StatusBadRequest, store.CodeInvalid, fmt.Sprintf("at most %d terms, not %d", store.MaxSearchTerms, n))
		return
	}
	limit, offset, ok := pageParamsUpTo(w, r, store.MaxAccountPage, store.MaxAccountPage)
	if !ok {
		return
	}
	team := q.Get("team")
	page, err := a.store.ListAccounts(r.Context(), store.AccountQuery{Team: team, Inactive: inactive, Terms: q["term"],
		Limit: limit, Offset: offset})
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no team named %q", team))
		return
	}
	out := struct {
		Total    int                  `json:"total"`
		Limit    int                  `json:"limit"`
		Offset   int                  `json:"offset"`
		Accounts []AccountSummaryJSON `json:"accounts"`
	}{page.Total, limit, offset, make([]AccountSummaryJSON, len(page.Accounts))}
	for i, s := range page.Accounts {
		out.Accounts[i] = NewAccountSummaryJSON(s)
	}
	writeAdminJSON(w, http.StatusOK, out)
}

// createAccount answers POST /accounts: 201 with the account. A password is checked
// (store.CheckPassword) and hashed here; it is never stored, logged or answered as sent.
func (a *adminAPI) createAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email       string `json:"email"`
		Username    string `json:"username"`
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
		Nickname    string `json:"nickname"`
		Position    string `json:"position"`
		AuthService string `json:"auth_service"`
		AuthData    string `json:"auth_data"`
		Password    string `json:"password"`
	}
	if !readAdminBody(w, r, &in, true) {
		return
	}
	na := store.NewAccount{Email: in.Email, Username: in.Username, FirstName: in.FirstName, LastName: in.LastName,
		Nickname: in.Nickname, Position: in.Position, AuthService: in.AuthService, AuthData: in.AuthData}
	if in.Password != "" {
		if err := store.CheckPassword(in.Password); err != nil {
			adminStoreError(w, r, err, "")
			return
		}
		hash, err := resources.HashPassword(r.Context(), in.Password)
		if err != nil {
			adminStoreError(w, r, err, "")
			return
		}
		na.PasswordHash = hash
	}
	d, err := a.store.CreateAccount(r.Context(), na)
	if err != nil {
		adminStoreError(w, r, err, "")
		return
	}
	w.Header().Set("Location", AdminPrefix+"/accounts/"+d.ID)
	writeAdminJSON(w, http.StatusCreated, NewAccountJSON(d))
}

// editAccount answers PATCH /accounts/{key}: the fields the body has are changed (null
// or absent ones kept).
func (a *adminAPI) editAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email       *string `json:"email"`
		Username    *string `json:"username"`
		AuthService *string `json:"auth_service"`
		AuthData    *string `json:"auth_data"`
		FirstName   *string `json:"first_name"`
		LastName    *string `json:"last_name"`
		Nickname    *string `json:"nickname"`
		Position    *string `json:"position"`
	}
	if !readAdminBody(w, r, &in, true) {
		return
	}
	id, ok := a.accountID(w, r, mux.Vars(r)["key"])
	if !ok {
		return
	}
	d, err := a.store.EditAccount(r.Context(), id, store.AccountEdit{Email: in.Email, Username: in.Username,
		AuthService: in.AuthService, AuthData: in.AuthData, FirstName: in.FirstName, LastName: in.LastName,
		Nickname: in.Nickname, Position: in.Position})
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no account with the id, username or email %q", mux.Vars(r)["key"]))
		return
	}
	writeAdminJSON(w, http.StatusOK, NewAccountJSON(d))
}

// setActive answers PUT /accounts/{key}/active {"active": bool} (Mattermost's PUT
// /users/{id}/active): 200 with the account.
func (a *adminAPI) setActive(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Active *bool `json:"active"`
	}
	if !readAdminBody(w, r, &in, true) {
		return
	}
	if in.Active == nil {
		adminError(w, http.StatusBadRequest, store.CodeInvalid, "active is required: true or false")
		return
	}
	id, ok := a.accountID(w, r, mux.Vars(r)["key"])
	if !ok {
		return
	}
	d, _, err := a.store.SetAccountActive(r.Context(), id, *in.Active)
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no account with the id, username or email %q", mux.Vars(r)["key"]))
		return
	}
	writeAdminJSON(w, http.StatusOK, NewAccountJSON(d))
}

// deleteAccount answers DELETE /accounts/{key}: 204, the account gone for good.
func (a *adminAPI) deleteAccount(w http.ResponseWriter, r *http.Request) {
	id, ok := a.accountID(w, r, mux.Vars(r)["key"])
	if !ok {
		return
	}
	if err := a.store.DeleteAccount(r.Context(), id); err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no account with the id, username or email %q", mux.Vars(r)["key"]))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// newTeamOrChannel is the body of POST /teams and POST /teams/{team}/channels.
type newTeamOrChannel struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Private     bool   `json:"private"`
}

// createTeam answers POST /teams: 201 with the team.
func (a *adminAPI) createTeam(w http.ResponseWriter, r *http.Request) {
	var in newTeamOrChannel
	if !readAdminBody(w, r, &in, true) {
		return
	}
	t, err := a.store.CreateTeam(r.Context(), store.NewTeam{Name: in.Name, DisplayName: in.DisplayName, Private: in.Private})
	if err != nil {
		adminStoreError(w, r, err, "")
		return
	}
	writeAdminJSON(w, http.StatusCreated, NewTeamJSON(t))
}

// createChannel answers POST /teams/{team}/channels: 201 with the channel.
func (a *adminAPI) createChannel(w http.ResponseWriter, r *http.Request) {
	var in newTeamOrChannel
	if !readAdminBody(w, r, &in, true) {
		return
	}
	team := mux.Vars(r)["team"]
	c, err := a.store.CreateChannel(r.Context(), store.NewChannel{Team: team, Name: in.Name, DisplayName: in.DisplayName,
		Private: in.Private})
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no team named %q", team))
		return
	}
	writeAdminJSON(w, http.StatusCreated, struct {
		Team string `json:"team"`
		ChannelJSON
	}{team, NewChannelJSON(c)})
}

// memberAccount reads the body of a membership POST, {"account": key}, and resolves the
// key.
func (a *adminAPI) memberAccount(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Account string `json:"account"`
	}
	if !readAdminBody(w, r, &in, true) {
		return "", false
	}
	if in.Account == "" {
		adminError(w, http.StatusBadRequest, store.CodeInvalid, "account is required: an id, username or email")
		return "", false
	}
	return a.accountID(w, r, in.Account)
}

// addTeamMember answers POST /teams/{team}/members {"account": key}.
func (a *adminAPI) addTeamMember(w http.ResponseWriter, r *http.Request) {
	id, ok := a.memberAccount(w, r)
	if !ok {
		return
	}
	team := mux.Vars(r)["team"]
	c, err := a.store.AddTeamMember(r.Context(), team, id)
	a.membershipAnswer(w, r, c, err, fmt.Sprintf("no team named %q", team))
}

// removeTeamMember answers DELETE /teams/{team}/members/{key}?to_default=.
func (a *adminAPI) removeTeamMember(w http.ResponseWriter, r *http.Request) {
	toDefault, ok := boolParam(w, r, "to_default")
	if !ok {
		return
	}
	id, ok := a.accountID(w, r, mux.Vars(r)["key"])
	if !ok {
		return
	}
	team := mux.Vars(r)["team"]
	c, err := a.store.RemoveTeamMember(r.Context(), team, id, toDefault)
	a.membershipAnswer(w, r, c, err, fmt.Sprintf("no team named %q", team))
}

// addChannelMember answers POST /teams/{team}/channels/{channel}/members {"account": key}.
func (a *adminAPI) addChannelMember(w http.ResponseWriter, r *http.Request) {
	id, ok := a.memberAccount(w, r)
	if !ok {
		return
	}
	team, channel := mux.Vars(r)["team"], mux.Vars(r)["channel"]
	c, err := a.store.AddChannelMember(r.Context(), team, channel, id)
	a.membershipAnswer(w, r, c, err, fmt.Sprintf("no channel named %q in a team named %q", channel, team))
}

// removeChannelMember answers DELETE /teams/{team}/channels/{channel}/members/{key}.
func (a *adminAPI) removeChannelMember(w http.ResponseWriter, r *http.Request) {
	id, ok := a.accountID(w, r, mux.Vars(r)["key"])
	if !ok {
		return
	}
	team, channel := mux.Vars(r)["team"], mux.Vars(r)["channel"]
	c, err := a.store.RemoveChannelMember(r.Context(), team, channel, id)
	a.membershipAnswer(w, r, c, err, fmt.Sprintf("no channel named %q in a team named %q", channel, team))
}

func (a *adminAPI) membershipAnswer(w http.ResponseWriter, r *http.Request, c store.MembershipChange, err error, notFound string) {
	if err != nil {
		adminStoreError(w, r, err, notFound)
		return
	}
	writeAdminJSON(w, http.StatusOK, NewMembershipJSON(c))
}

// RoleJSON is what a role call did (store.RoleChange): the role, where it applies, whether
// the grant by hand was added or removed (changed), whether the account holds the role
// afterwards (has) and what grants it then (remaining); message is store.RoleChange's
// String, the words the CLI prints.
type RoleJSON struct {
	Account   string   `json:"account"`
	Username  string   `json:"username"`
	Role      string   `json:"role"`
	Team      string   `json:"team,omitempty"`
	Channel   string   `json:"channel,omitempty"`
	Changed   bool     `json:"changed"`
	Has       bool     `json:"has"`
	Remaining []string `json:"remaining"`
	Message   string   `json:"message"`
}

// NewRoleJSON renders what a role call did as RoleJSON.
func NewRoleJSON(c store.RoleChange) RoleJSON {
	return RoleJSON{Account: c.Account, Username: c.Username, Role: c.Role.Role, Team: c.Role.Team, Channel: c.Role.Channel,
		Changed: c.Changed, Has: c.Has, Remaining: sourceStrings(c.Remaining), Message: c.String()}
}

// roleRef is the role a role route names: PUT|DELETE /accounts/{key}/roles/system_admin
// (the only role granted to an account as such), /teams/{team}/admins/{key} (team_admin)
// and /teams/{team}/channels/{channel}/admins/{key} (channel_admin). Another role in
// /accounts/{key}/roles/{role} is 404 not_found, saying where admin roles are granted.
func roleRef(w http.ResponseWriter, r *http.Request) (store.RoleRef, bool) {
	v := mux.Vars(r)
	role, isAccountRole := v["role"]
	switch {
	case isAccountRole && role == store.RoleSystemAdmin:
		return store.RoleRef{Role: store.RoleSystemAdmin}, true
	case isAccountRole:
		adminError(w, http.StatusNotFound, store.CodeNotFound, fmt.Sprintf(
			"no role %q is granted here: an account's role is %s; team_admin is granted at /teams/{team}/admins/{key}, channel_admin at /teams/{team}/channels/{channel}/admins/{key}",
			role, store.RoleSystemAdmin))
		return store.RoleRef{}, false
	case v["channel"] != "":
		return store.RoleRef{Role: store.RoleChannelAdmin, Team: v["team"], Channel: v["channel"]}, true
	}
	return store.RoleRef{Role: store.RoleTeamAdmin, Team: v["team"]}, true
}

// readNoBody accepts a request with no body, or with an empty JSON object (clients that
// send one with every PUT): a role route takes nothing but its path. Anything else is
// refused as readAdminBody refuses it (a field is 400 bad_request naming it).
func readNoBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil {
		return true
	}
	body, err := io.ReadAll(r.Body) // already read into memory by limitBody
	if err != nil {
		adminError(w, http.StatusBadRequest, CodeBadRequest, "could not read the request body")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var none struct{}
	return readAdminBody(w, r, &none, true)
}

// grantRole answers PUT on a role route: the account is given the role by hand (source
// manual, which no group or rules change removes). 200 and what happened.
func (a *adminAPI) grantRole(w http.ResponseWriter, r *http.Request) {
	a.roleCall(w, r, a.store.GrantRole)
}

// revokeRole answers DELETE on a role route: the grant by hand ends; a group granting the
// role still does (remaining), and a role only a group grants is 409 still_granted.
func (a *adminAPI) revokeRole(w http.ResponseWriter, r *http.Request) {
	a.roleCall(w, r, a.store.RevokeRole)
}

func (a *adminAPI) roleCall(w http.ResponseWriter, r *http.Request, call func(context.Context, string, store.RoleRef) (store.RoleChange, error)) {
	if !readNoBody(w, r) {
		return
	}
	ref, ok := roleRef(w, r)
	if !ok {
		return
	}
	id, ok := a.accountID(w, r, mux.Vars(r)["key"])
	if !ok {
		return
	}
	c, err := call(r.Context(), id, ref)
	if err != nil {
		notFound := fmt.Sprintf("no account with the id, username or email %q", mux.Vars(r)["key"])
		switch {
		case ref.Channel != "":
			notFound = fmt.Sprintf("no channel named %q in a team named %q", ref.Channel, ref.Team)
		case ref.Team != "":
			notFound = fmt.Sprintf("no team named %q", ref.Team)
		}
		adminStoreError(w, r, err, notFound)
		return
	}
	writeAdminJSON(w, http.StatusOK, NewRoleJSON(c))
}

// login answers POST /logins (scope login), what the chat's sign-in layer asks when a
// person signs in: 201 when the account was made now, else 200, with the open teams it
// may join; a deactivated account is 403 deactivated. Fields the body has beside these
// are ignored: sign-in layers send what their IdP gave them.
func (a *adminAPI) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AuthService string `json:"auth_service"`
		AuthData    string `json:"auth_data"`
		Email       string `json:"email"`
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
	}
	if !readAdminBody(w, r, &in, false) {
		return
	}
	res, err := a.store.Login(r.Context(), store.LoginRequest{AuthService: in.AuthService, AuthData: in.AuthData,
		Email: in.Email, FirstName: in.FirstName, LastName: in.LastName})
	if err != nil {
		adminStoreError(w, r, err, "")
		return
	}
	out := struct {
		Account  AccountJSON `json:"account"`
		Created  bool        `json:"created"`
		Bound    bool        `json:"bound"`
		Joinable []TeamJSON  `json:"joinable"`
	}{NewAccountJSON(res.Account), res.Created, res.Bound, make([]TeamJSON, len(res.Joinable))}
	for i, t := range res.Joinable {
		out.Joinable[i] = NewTeamJSON(t)
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeAdminJSON(w, status, out)
}

// joinTeam answers POST /accounts/{id}/teams/{team} (scope login): the account (by SCIM
// id, as /logins answered it) joins an open team; an invite-only one is 403
// private_team.
func (a *adminAPI) joinTeam(w http.ResponseWriter, r *http.Request) {
	id, team := mux.Vars(r)["id"], mux.Vars(r)["team"]
	c, err := a.store.JoinTeam(r.Context(), id, team)
	a.membershipAnswer(w, r, c, err, fmt.Sprintf("no account with the id %q, or no team named %q", id, team))
}
