package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
)

// AdminPrefix is where the admin API is served: plain JSON (not SCIM) views of teams,
// channels and accounts for IdP consoles, scripts and tests, the admin's writes, and
// on-demand provisioning at sign-in, behind the same bearer tokens as SCIM with scopes
// decided per route (adminRoutes).
const AdminPrefix = "/api/v1"

// Admin API page sizes for member lists.
const (
	DefaultAdminPageSize = 1000
	MaxAdminPageSize     = store.MaxMemberPage
)

// AdminMaxBodyBytes bounds an admin API request body (below Config.MaxBodyBytes when
// that is smaller): the largest, an account with every field at its limit, is a few KiB.
const AdminMaxBodyBytes = 64 << 10

type adminAPI struct{ store store.Store }

// adminScope is the scope an admin request needs by its method alone: admin:read to read
// (GET, HEAD), admin:write for any other. Routes that need another (the login routes)
// say so in adminRoutes; requests that match no route (404, and 405 on a path of admin
// routes) are decided here.
func adminScope(r *http.Request) store.Scope {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return store.ScopeAdminRead
	}
	return store.ScopeAdminWrite
}

// adminRoute is one endpoint: the one handler of its method and path, and the scope it
// needs ("" : adminScope's).
type adminRoute struct {
	method, path string
	scope        store.Scope
	h            func(a *adminAPI, w http.ResponseWriter, r *http.Request)
}

// adminRoutes are every endpoint of the admin API but /mattermost/status (mattermost.go).
var adminRoutes = []adminRoute{
	{http.MethodGet, "/teams", "", (*adminAPI).teams},
	{http.MethodPost, "/teams", "", (*adminAPI).createTeam},
	{http.MethodGet, "/teams/{team}/members", "", (*adminAPI).teamMembers},
	{http.MethodPost, "/teams/{team}/members", "", (*adminAPI).addTeamMember},
	{http.MethodDelete, "/teams/{team}/members/{key}", "", (*adminAPI).removeTeamMember},
	{http.MethodPut, "/teams/{team}/admins/{key}", "", (*adminAPI).grantRole},
	{http.MethodDelete, "/teams/{team}/admins/{key}", "", (*adminAPI).revokeRole},
	{http.MethodGet, "/teams/{team}/channels", "", (*adminAPI).teamChannels},
	{http.MethodPost, "/teams/{team}/channels", "", (*adminAPI).createChannel},
	{http.MethodGet, "/teams/{team}/channels/{channel}/members", "", (*adminAPI).channelMembers},
	{http.MethodPost, "/teams/{team}/channels/{channel}/members", "", (*adminAPI).addChannelMember},
	{http.MethodDelete, "/teams/{team}/channels/{channel}/members/{key}", "", (*adminAPI).removeChannelMember},
	{http.MethodPut, "/teams/{team}/channels/{channel}/admins/{key}", "", (*adminAPI).grantRole},
	{http.MethodDelete, "/teams/{team}/channels/{channel}/admins/{key}", "", (*adminAPI).revokeRole},
	{http.MethodGet, "/accounts", "", (*adminAPI).listAccounts},
	{http.MethodPost, "/accounts", "", (*adminAPI).createAccount},
	{http.MethodGet, "/accounts/{key}", "", (*adminAPI).account},
	{http.MethodPatch, "/accounts/{key}", "", (*adminAPI).editAccount},
	{http.MethodDelete, "/accounts/{key}", "", (*adminAPI).deleteAccount},
	{http.MethodPut, "/accounts/{key}/active", "", (*adminAPI).setActive},
	{http.MethodPut, "/accounts/{key}/roles/{role}", "", (*adminAPI).grantRole},
	{http.MethodDelete, "/accounts/{key}/roles/{role}", "", (*adminAPI).revokeRole},
	{http.MethodPost, "/accounts/{id}/teams/{team}", store.ScopeLogin, (*adminAPI).joinTeam},
	{http.MethodPost, "/logins", store.ScopeLogin, (*adminAPI).login},
	{http.MethodGet, "/events", "", (*adminAPI).events},
}

// registerAdminAPI mounts the admin API on r under AdminPrefix. Each route authenticates
// for its own scope, then reads its body (at most maxBody bytes); a path's other methods
// answer 405 with Allow, and a path of no route 404. Every answer, errors included, is
// application/json, every error {"error": message, "code": stable code} (adminError).
func registerAdminAPI(r *mux.Router, s store.Store, auth *authenticator, log *slog.Logger, maxBody int64) {
	a := &adminAPI{store: s}
	api := r.PathPrefix(AdminPrefix).Subrouter()
	api.Use(recoverPanics(log, writeAdminError))
	var paths []string
	allowed := map[string][]string{}
	scopes := map[string]store.Scope{} // a path's scope when all its routes share one
	for _, rt := range adminRoutes {
		need := scopeFor(adminScope)
		if rt.scope != "" {
			need = needs(rt.scope)
		}
		h := func(w http.ResponseWriter, r *http.Request) { rt.h(a, w, r) }
		api.Handle(rt.path, auth.require(need, writeAdminError)(limitBody(maxBody, writeAdminError)(http.HandlerFunc(h)))).
			Methods(rt.method)
		if _, seen := allowed[rt.path]; !seen {
			paths = append(paths, rt.path)
			scopes[rt.path] = rt.scope
		} else if scopes[rt.path] != rt.scope {
			scopes[rt.path] = ""
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, path := range paths {
		allow := strings.Join(allowed[path], ", ")
		need := scopeFor(adminScope)
		if scopes[path] != "" {
			need = needs(scopes[path])
		}
		api.Handle(path, auth.require(need, writeAdminError)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reject(w, r)
			w.Header().Set("Allow", allow)
			writeAdminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, allow))
		})))
	}
	notFound := auth.require(adminScope, writeAdminError)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reject(w, r)
		writeAdminError(w, http.StatusNotFound, "no admin API endpoint at this path")
	}))
	api.PathPrefix("/").Handler(notFound)
	r.Handle(AdminPrefix, recoverPanics(log, writeAdminError)(notFound)) // the prefix itself, without a slash
}

// The JSON shapes of the admin API, which "townsquare user|team|channel … --json" prints
// too (one definition for both). Lists are always arrays, never null.

// TeamJSON is a team (store.TeamSummary).
type TeamJSON struct {
	Name         string `json:"name"`
	DisplayName  string `json:"display_name"`
	Type         string `json:"type"`    // "O" open, "I" invite only (Mattermost's)
	Private      bool   `json:"private"` // type "I"
	MemberCount  int    `json:"member_count"`
	ChannelCount int    `json:"channel_count"`
}

// ChannelJSON is a channel of a team (store.ChannelSummary).
type ChannelJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Type        string `json:"type"`    // "O" public, "P" private (Mattermost's)
	Private     bool   `json:"private"` // type "P"
	MemberCount int    `json:"member_count"`
}

// GroupJSON names a SCIM group. Indirect (only ever present as true) marks a group of
// an account's that the account is in only through groups nested in it.
type GroupJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Indirect    bool   `json:"indirect,omitempty"`
}

type adminMember struct {
	ID          string      `json:"id"`
	Username    string      `json:"username"`
	Active      bool        `json:"active"`
	Status      string      `json:"status"`
	SCIMDeleted bool        `json:"scim_deleted"`
	Guest       bool        `json:"guest"`
	Admin       bool        `json:"admin"` // team_admin or channel_admin in effect here
	Roles       string      `json:"roles"` // store.TeamRoles or store.ChannelRoles
	Sources     []string    `json:"sources"`
	Groups      []GroupJSON `json:"groups"` // the existing groups among the sources
}

type adminMemberPage struct {
	Team    string        `json:"team"`
	Channel string        `json:"channel,omitempty"`
	Total   int           `json:"total"`
	Limit   int           `json:"limit"`
	Offset  int           `json:"offset"`
	Members []adminMember `json:"members"`
}

// AccountTeamJSON is a team an account is in, and why; whether it is a team admin
// there, and what grants that (kept while a guest, without effect).
type AccountTeamJSON struct {
	Name         string   `json:"name"`
	Sources      []string `json:"sources"`
	Admin        bool     `json:"admin"`
	AdminSources []string `json:"admin_sources"`
	Roles        string   `json:"roles"` // store.TeamRoles: "team_user", "team_user team_admin", "team_guest"
}

// AccountChannelJSON is a channel an account is in, and why, as AccountTeamJSON.
type AccountChannelJSON struct {
	Team         string   `json:"team"`
	Channel      string   `json:"channel"`
	Sources      []string `json:"sources"`
	Admin        bool     `json:"admin"`
	AdminSources []string `json:"admin_sources"`
	Roles        string   `json:"roles"` // store.ChannelRoles
}

// AccountJSON is an account with its memberships and groups (store.AccountDetails), and
// its roles (store/roles.go): guest, the system admin role in effect (never for a guest)
// and what grants it, and its role string as Mattermost writes it.
type AccountJSON struct {
	ID                 string               `json:"id"`
	UserName           string               `json:"user_name"`
	Username           string               `json:"username"`
	Email              string               `json:"email"`
	Active             bool                 `json:"active"`
	Status             string               `json:"status"`
	DeleteAt           int64                `json:"delete_at"`
	SCIMDeleted        bool                 `json:"scim_deleted"`
	FirstName          string               `json:"first_name"`
	LastName           string               `json:"last_name"`
	Nickname           string               `json:"nickname"`
	Position           string               `json:"position"`
	AuthService        string               `json:"auth_service"`
	AuthData           string               `json:"auth_data"`
	Origin             string               `json:"origin"`
	Guest              bool                 `json:"guest"`
	SystemAdmin        bool                 `json:"system_admin"`
	SystemAdminSources []string             `json:"system_admin_sources"`
	Roles              string               `json:"roles"` // store.SystemRoles
	Teams              []AccountTeamJSON    `json:"teams"`
	Channels           []AccountChannelJSON `json:"channels"`
	Groups             []GroupJSON          `json:"groups"`
}

func (a *adminAPI) teams(w http.ResponseWriter, r *http.Request) {
	teams, err := a.store.ListTeams(r.Context())
	if err != nil {
		adminStoreError(w, r, err, "")
		return
	}
	writeAdminJSON(w, http.StatusOK, NewTeamListJSON(teams))
}

// TeamListJSON is the list of GET /teams and "townsquare team list --json".
type TeamListJSON struct {
	Teams []TeamJSON `json:"teams"`
}

// NewTeamListJSON renders teams as TeamListJSON.
func NewTeamListJSON(teams []store.TeamSummary) TeamListJSON {
	out := TeamListJSON{Teams: make([]TeamJSON, len(teams))}
	for i, t := range teams {
		out.Teams[i] = NewTeamJSON(t)
	}
	return out
}

// ChannelListJSON is the list of GET /teams/{team}/channels and "townsquare channel list
// TEAM --json".
type ChannelListJSON struct {
	Team     string        `json:"team"`
	Channels []ChannelJSON `json:"channels"`
}

// NewChannelListJSON renders a team's channels as ChannelListJSON.
func NewChannelListJSON(team string, chans []store.ChannelSummary) ChannelListJSON {
	out := ChannelListJSON{Team: team, Channels: make([]ChannelJSON, len(chans))}
	for i, c := range chans {
		out.Channels[i] = NewChannelJSON(c)
	}
	return out
}

func (a *adminAPI) teamChannels(w http.ResponseWriter, r *http.Request) {
	team := mux.Vars(r)["team"]
	chans, err := a.store.TeamChannels(r.Context(), team)
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no team named %q", team))
		return
	}
	writeAdminJSON(w, http.StatusOK, NewChannelListJSON(team, chans))
}

func (a *adminAPI) teamMembers(w http.ResponseWriter, r *http.Request) {
	team := mux.Vars(r)["team"]
	limit, offset, ok := pageParams(w, r)
	if !ok {
		return
	}
	page, err := a.store.TeamMembers(r.Context(), team, limit, offset)
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no team named %q", team))
		return
	}
	writeAdminJSON(w, http.StatusOK, memberPage(team, "", limit, offset, page))
}

func (a *adminAPI) channelMembers(w http.ResponseWriter, r *http.Request) {
	team, channel := mux.Vars(r)["team"], mux.Vars(r)["channel"]
	limit, offset, ok := pageParams(w, r)
	if !ok {
		return
	}
	page, err := a.store.ChannelMembers(r.Context(), team, channel, limit, offset)
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no channel named %q in a team named %q", channel, team))
		return
	}
	writeAdminJSON(w, http.StatusOK, memberPage(team, channel, limit, offset, page))
}

// account answers GET /accounts/{key}: the account its SCIM id, chat username or email
// names.
func (a *adminAPI) account(w http.ResponseWriter, r *http.Request) {
	id, ok := a.accountID(w, r, mux.Vars(r)["key"])
	if !ok {
		return
	}
	d, err := a.store.AccountDetails(r.Context(), id)
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no account with the id, username or email %q", mux.Vars(r)["key"]))
		return
	}
	writeAdminJSON(w, http.StatusOK, NewAccountJSON(d))
}

// NewAccountJSON renders an account as AccountJSON.
func NewAccountJSON(d store.AccountDetails) AccountJSON {
	out := AccountJSON{ID: d.ID, UserName: d.UserName, Username: d.Username, Email: d.Email, Active: d.Active,
		Status: d.Status, DeleteAt: d.DeleteAt, SCIMDeleted: d.SCIMDeleted, FirstName: d.FirstName, LastName: d.LastName,
		Nickname: d.Nickname, Position: d.Position, AuthService: d.AuthService, AuthData: d.AuthData, Origin: d.Origin,
		Guest: d.Guest, SystemAdmin: d.SystemAdmin, SystemAdminSources: sourceStrings(d.SystemAdminSources),
		Roles: store.SystemRoles(d.SystemAdmin, d.Guest),
		Teams: make([]AccountTeamJSON, len(d.Teams)), Channels: make([]AccountChannelJSON, len(d.Channels)),
		Groups: make([]GroupJSON, len(d.Groups))}
	for i, t := range d.Teams {
		out.Teams[i] = AccountTeamJSON{Name: t.Team, Sources: sourceStrings(t.Sources), Admin: t.Admin,
			AdminSources: sourceStrings(t.AdminSources), Roles: store.TeamRoles(t.Admin, d.Guest)}
	}
	for i, c := range d.Channels {
		out.Channels[i] = AccountChannelJSON{Team: c.Team, Channel: c.Channel, Sources: sourceStrings(c.Sources), Admin: c.Admin,
			AdminSources: sourceStrings(c.AdminSources), Roles: store.ChannelRoles(c.Admin, d.Guest)}
	}
	for i, g := range d.Groups {
		out.Groups[i] = GroupJSON{ID: g.ID, DisplayName: g.DisplayName, Indirect: g.Indirect}
	}
	return out
}

// EventJSON is a journal entry (store.Event) as /api/v1/events and "townsquare events
// --json" show it.
type EventJSON struct {
	Cursor    int64             `json:"cursor"`
	Time      string            `json:"time"` // RFC 3339, UTC, milliseconds
	Kind      string            `json:"kind"`
	Actor     string            `json:"actor"`
	RequestID string            `json:"request_id"`
	Account   string            `json:"account"`
	Username  string            `json:"username"`
	Team      string            `json:"team"`
	Channel   string            `json:"channel"`
	Source    string            `json:"source"`
	Before    map[string]string `json:"before"` // {} when none
	After     map[string]string `json:"after"`
}

// EventTimeFormat is how an entry's time is written: RFC 3339 in UTC, with milliseconds
// (the journal's precision).
const EventTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// NewEventJSON renders a journal entry as EventJSON.
func NewEventJSON(e store.Event) EventJSON {
	out := EventJSON{Cursor: e.Cursor, Time: e.Time.UTC().Format(EventTimeFormat), Kind: string(e.Kind), Actor: e.Actor,
		RequestID: e.RequestID, Account: e.Account, Username: e.Username, Team: e.Team, Channel: e.Channel, Source: e.Source,
		Before: e.Before, After: e.After}
	if out.Before == nil {
		out.Before = map[string]string{}
	}
	if out.After == nil {
		out.After = map[string]string{}
	}
	return out
}

// events answers GET /events?after=C&limit=N&account=X: a page of the change journal
// after cursor C (default 0), at most N entries (1..store.MaxEventPage; default
// store.DefaultEventPage), only account X's when given (its SCIM id, chat username or
// email; 404 when it names none). next is the cursor to resume from: the last entry's,
// or after itself when the page is empty.
func (a *adminAPI) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var eq store.EventQuery
	for _, p := range []struct {
		name string
		dst  *int64
		max  int64
	}{{"after", &eq.After, math.MaxInt64}, {"limit", new(int64), store.MaxEventPage}} {
		raw := strings.TrimSpace(q.Get(p.name))
		if raw == "" {
			continue
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 || n > p.max {
			adminError(w, http.StatusBadRequest, store.CodeInvalid, fmt.Sprintf("%s must be an integer from 0 to %d", p.name, p.max))
			return
		}
		*p.dst = n
		if p.name == "limit" {
			eq.Limit = int(n)
		}
	}
	if key := q.Get("account"); key != "" {
		id, ok := a.accountID(w, r, key)
		if !ok {
			return
		}
		eq.Account = id
	}
	es, err := a.store.Events(r.Context(), eq)
	if err != nil {
		adminStoreError(w, r, err, "")
		return
	}
	out := struct {
		Events []EventJSON `json:"events"`
		Next   int64       `json:"next"`
	}{make([]EventJSON, len(es)), eq.After}
	for i, e := range es {
		out.Events[i] = NewEventJSON(e)
	}
	if len(es) > 0 {
		out.Next = es[len(es)-1].Cursor
	}
	writeAdminJSON(w, http.StatusOK, out)
}

func memberPage(team, channel string, limit, offset int, p store.MemberPage) adminMemberPage {
	out := adminMemberPage{Team: team, Channel: channel, Total: p.Total, Limit: limit, Offset: offset,
		Members: make([]adminMember, len(p.Members))}
	roles := store.TeamRoles
	if channel != "" {
		roles = store.ChannelRoles
	}
	for i, m := range p.Members {
		am := adminMember{ID: m.ID, Username: m.Username, Active: m.Active, Status: m.Status, SCIMDeleted: m.SCIMDeleted,
			Guest: m.Guest, Admin: m.Admin, Roles: roles(m.Admin, m.Guest), Sources: sourceStrings(m.Sources), Groups: []GroupJSON{}}
		for _, src := range m.Sources {
			if src.Group != nil {
				am.Groups = append(am.Groups, GroupJSON{ID: src.Group.ID, DisplayName: src.Group.DisplayName})
			}
		}
		out.Members[i] = am
	}
	return out
}

func sourceStrings(src []store.MembershipSource) []string {
	out := make([]string, len(src))
	for i, s := range src {
		out[i] = s.String()
	}
	return out
}

// pageParams reads ?limit= (default DefaultAdminPageSize, capped to MaxAdminPageSize)
// and ?offset= (default 0), answering 400 invalid for anything but a non-negative
// integer.
func pageParams(w http.ResponseWriter, r *http.Request) (limit, offset int, ok bool) {
	return pageParamsUpTo(w, r, DefaultAdminPageSize, MaxAdminPageSize)
}

// pageParamsUpTo is pageParams with a limit of def by default, capped to max.
func pageParamsUpTo(w http.ResponseWriter, r *http.Request, def, max int) (limit, offset int, ok bool) {
	q := r.URL.Query()
	limit, offset = def, 0
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &limit}, {"offset", &offset}} {
		raw := strings.TrimSpace(q.Get(p.name))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			adminError(w, http.StatusBadRequest, store.CodeInvalid, p.name+" must be a non-negative integer")
			return 0, 0, false
		}
		*p.dst = n
	}
	return min(limit, max), offset, true
}

// adminStoreError answers an error of a store call in the admin API's one error shape,
// by its stable code (store.ErrorCode; the status adminCodeStatus gives): not_found
// with notFound as the message when set; unavailable (the store cannot serve now, or the
// request ran out of time) with Retry-After and words of our own; internal logged and
// never shown; a refusal with its Reason alone; every other code with the error's own
// words (an InvalidError's attribute and reason).
func adminStoreError(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	code := store.ErrorCode(err)
	if resources.Unavailable(r.Context(), err) {
		code = store.CodeUnavailable
	}
	msg := err.Error()
	var refused *store.RefusedError
	if errors.As(err, &refused) {
		msg = refused.Reason // names the account and team itself; the wrapping repeats ids
	}
	switch code {
	case store.CodeNotFound:
		if notFound != "" {
			msg = notFound
		}
	case store.CodeUnavailable:
		requestLog(r.Context()).setErr(err)
		setRetryAfter(w)
		msg = "the database is unavailable; try again later"
	case store.CodeInternal:
		requestLog(r.Context()).setErr(err)
		msg = "internal server error; the server log has the details"
	}
	status, ok := adminCodeStatus[code]
	if !ok { // a refusal this version has no status for: still a refusal
		status = http.StatusConflict
	}
	adminError(w, status, code, msg)
}

// The stable codes of errors the HTTP layer answers itself (the store's are store.Code…).
const (
	CodeBadRequest           = "bad_request" // a body that is not one JSON object of the endpoint's fields
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden" // the token lacks the route's scope
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeTooLarge             = "too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeRateLimited          = "rate_limited"
)

// adminCodeStatus is the HTTP status of each store code.
var adminCodeStatus = map[string]int{
	store.CodeNotFound:      http.StatusNotFound,
	store.CodeConflict:      http.StatusConflict,
	store.CodeInvalid:       http.StatusBadRequest,
	store.CodeDeactivated:   http.StatusForbidden,
	store.CodePrivateTeam:   http.StatusForbidden,
	store.CodeSCIMDeleted:   http.StatusConflict,
	store.CodeLastTeam:      http.StatusConflict,
	store.CodeStillGranted:  http.StatusConflict,
	store.CodeNotMember:     http.StatusNotFound,
	store.CodeNotTeamMember: http.StatusConflict,
	store.CodeGuest:         http.StatusForbidden,
	store.CodeNoRole:        http.StatusNotFound,
	store.CodeUnavailable:   http.StatusServiceUnavailable,
	store.CodeInternal:      http.StatusInternalServerError,
}

// statusCode is the stable code of an error the HTTP layer answers by its status alone
// (authentication, scopes, limits, routing, panics).
func statusCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return store.CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return store.CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable:
		return store.CodeUnavailable
	}
	if status >= 500 {
		return store.CodeInternal
	}
	return CodeBadRequest
}

// writeAdminError is adminError with the code of the status (statusCode): the
// errorWriter of the admin API's middleware.
func writeAdminError(w http.ResponseWriter, status int, msg string) {
	adminError(w, status, statusCode(status), msg)
}

// adminError writes every error of the admin API: {"error": msg, "code": code}.
func adminError(w http.ResponseWriter, status int, code, msg string) {
	writeAdminJSON(w, status, struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, code})
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // our own types; cannot happen
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal server error","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
