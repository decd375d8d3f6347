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

// AdminPrefix is where the admin read API is served: plain JSON (not SCIM) views of
// teams, channels and accounts for IdP consoles, scripts and tests, behind the same
// bearer tokens as SCIM, with the admin scopes (adminScope).
const AdminPrefix = "/api/v1"

// Admin API page sizes for member lists.
const (
	DefaultAdminPageSize = 1000
	MaxAdminPageSize     = store.MaxMemberPage
)

type adminAPI struct{ store store.Store }

// adminScope is the scope an admin request needs: admin:read to read (GET, HEAD),
// admin:write for any other method.
func adminScope(r *http.Request) store.Scope {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return store.ScopeAdminRead
	}
	return store.ScopeAdminWrite
}

// registerAdminAPI mounts the admin read API on r under AdminPrefix. Only GET is
// served; every answer, errors included, is application/json.
func registerAdminAPI(r *mux.Router, s store.Store, auth *authenticator, log *slog.Logger) {
	a := &adminAPI{store: s}
	api := r.PathPrefix(AdminPrefix).Subrouter()
	api.Use(recoverPanics(log, writeAdminError), auth.require(adminScope, writeAdminError))
	routes := []struct {
		path string
		h    http.HandlerFunc
	}{
		{"/teams", a.teams},
		{"/teams/{team}/members", a.teamMembers},
		{"/teams/{team}/channels", a.teamChannels},
		{"/teams/{team}/channels/{channel}/members", a.channelMembers},
		{"/accounts/{id}", a.account},
		{"/events", a.events},
	}
	for _, rt := range routes {
		api.HandleFunc(rt.path, rt.h).Methods(http.MethodGet)
		api.HandleFunc(rt.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodGet)
			writeAdminError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; allowed: GET", r.Method))
		})
	}
	api.PathPrefix("/").HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeAdminError(w, http.StatusNotFound, "no admin API endpoint at this path")
	})
}

// The JSON shapes. Lists are always arrays, never null.

type adminTeam struct {
	Name         string `json:"name"`
	DisplayName  string `json:"display_name"`
	Type         string `json:"type"` // "O" open, "I" invite only
	MemberCount  int    `json:"member_count"`
	ChannelCount int    `json:"channel_count"`
}

type adminChannel struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	Type        string `json:"type"`
	MemberCount int    `json:"member_count"`
}

type adminGroup struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
}

type adminMember struct {
	ID          string       `json:"id"`
	Username    string       `json:"username"`
	Active      bool         `json:"active"`
	Status      string       `json:"status"`
	SCIMDeleted bool         `json:"scim_deleted"`
	Sources     []string     `json:"sources"`
	Groups      []adminGroup `json:"groups"` // the existing groups among the sources
}

type adminMemberPage struct {
	Team    string        `json:"team"`
	Channel string        `json:"channel,omitempty"`
	Total   int           `json:"total"`
	Limit   int           `json:"limit"`
	Offset  int           `json:"offset"`
	Members []adminMember `json:"members"`
}

type adminAccountTeam struct {
	Name    string   `json:"name"`
	Sources []string `json:"sources"`
}

type adminAccountChannel struct {
	Team    string   `json:"team"`
	Channel string   `json:"channel"`
	Sources []string `json:"sources"`
}

type adminAccount struct {
	ID          string                `json:"id"`
	UserName    string                `json:"user_name"`
	Username    string                `json:"username"`
	Email       string                `json:"email"`
	Active      bool                  `json:"active"`
	Status      string                `json:"status"`
	DeleteAt    int64                 `json:"delete_at"`
	SCIMDeleted bool                  `json:"scim_deleted"`
	Teams       []adminAccountTeam    `json:"teams"`
	Channels    []adminAccountChannel `json:"channels"`
	Groups      []adminGroup          `json:"groups"`
}

func (a *adminAPI) teams(w http.ResponseWriter, r *http.Request) {
	teams, err := a.store.ListTeams(r.Context())
	if err != nil {
		adminStoreError(w, r, err, "")
		return
	}
	out := make([]adminTeam, len(teams))
	for i, t := range teams {
		out[i] = adminTeam{Name: t.Name, DisplayName: t.DisplayName, Type: t.Type, MemberCount: t.MemberCount, ChannelCount: t.ChannelCount}
	}
	writeAdminJSON(w, http.StatusOK, struct {
		Teams []adminTeam `json:"teams"`
	}{out})
}

func (a *adminAPI) teamChannels(w http.ResponseWriter, r *http.Request) {
	team := mux.Vars(r)["team"]
	chans, err := a.store.TeamChannels(r.Context(), team)
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no team named %q", team))
		return
	}
	out := make([]adminChannel, len(chans))
	for i, c := range chans {
		out[i] = adminChannel{Name: c.Name, DisplayName: c.DisplayName, Type: c.Type, MemberCount: c.MemberCount}
	}
	writeAdminJSON(w, http.StatusOK, struct {
		Team     string         `json:"team"`
		Channels []adminChannel `json:"channels"`
	}{team, out})
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

func (a *adminAPI) account(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	d, err := a.store.AccountDetails(r.Context(), id)
	if err != nil {
		adminStoreError(w, r, err, fmt.Sprintf("no account with id %q", id))
		return
	}
	out := adminAccount{ID: d.ID, UserName: d.UserName, Username: d.Username, Email: d.Email, Active: d.Active,
		Status: d.Status, DeleteAt: d.DeleteAt, SCIMDeleted: d.SCIMDeleted,
		Teams: make([]adminAccountTeam, len(d.Teams)), Channels: make([]adminAccountChannel, len(d.Channels)),
		Groups: make([]adminGroup, len(d.Groups))}
	for i, t := range d.Teams {
		out.Teams[i] = adminAccountTeam{Name: t.Team, Sources: sourceStrings(t.Sources)}
	}
	for i, c := range d.Channels {
		out.Channels[i] = adminAccountChannel{Team: c.Team, Channel: c.Channel, Sources: sourceStrings(c.Sources)}
	}
	for i, g := range d.Groups {
		out.Groups[i] = adminGroup{ID: g.ID, DisplayName: g.DisplayName}
	}
	writeAdminJSON(w, http.StatusOK, out)
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
			writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("%s must be an integer from 0 to %d", p.name, p.max))
			return
		}
		*p.dst = n
		if p.name == "limit" {
			eq.Limit = int(n)
		}
	}
	if key := q.Get("account"); key != "" {
		id, err := a.store.AccountID(r.Context(), key)
		switch {
		case errors.Is(err, store.ErrInvalid):
			writeAdminError(w, http.StatusBadRequest, "account: "+err.Error())
			return
		case err != nil:
			adminStoreError(w, r, err, fmt.Sprintf("no account with the id, username or email %q", key))
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
	for i, m := range p.Members {
		am := adminMember{ID: m.ID, Username: m.Username, Active: m.Active, Status: m.Status, SCIMDeleted: m.SCIMDeleted,
			Sources: sourceStrings(m.Sources), Groups: []adminGroup{}}
		for _, src := range m.Sources {
			if src.Group != nil {
				am.Groups = append(am.Groups, adminGroup{ID: src.Group.ID, DisplayName: src.Group.DisplayName})
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
// and ?offset= (default 0), answering 400 for anything but a non-negative integer.
func pageParams(w http.ResponseWriter, r *http.Request) (limit, offset int, ok bool) {
	q := r.URL.Query()
	limit, offset = DefaultAdminPageSize, 0
	for name, dst := range map[string]*int{"limit": &limit, "offset": &offset} {
		raw := strings.TrimSpace(q.Get(name))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			writeAdminError(w, http.StatusBadRequest, name+" must be a non-negative integer")
			return 0, 0, false
		}
		*dst = n
	}
	return min(limit, MaxAdminPageSize), offset, true
}

// adminStoreError answers 404 with notFound for store.ErrNotFound (when notFound is
// set), 503 with Retry-After when the store cannot serve now or the request ran out of
// time, and a logged 500 for anything else.
func adminStoreError(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	if errors.Is(err, store.ErrNotFound) && notFound != "" {
		writeAdminError(w, http.StatusNotFound, notFound)
		return
	}
	requestLog(r.Context()).setErr(err)
	if resources.Unavailable(r.Context(), err) {
		setRetryAfter(w)
		writeAdminError(w, http.StatusServiceUnavailable, "the database is unavailable; try again later")
		return
	}
	writeAdminError(w, http.StatusInternalServerError, "internal server error; the server log has the details")
}

func writeAdminError(w http.ResponseWriter, status int, msg string) {
	writeAdminJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // our own types; cannot happen
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
