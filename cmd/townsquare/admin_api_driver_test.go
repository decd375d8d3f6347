package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
)

// The scenarios through /api/v1: each step's CLI words become the requests the README's
// REST section documents, sent to the whole server (server.Handler) on the scenario's
// database, with the rules of its mapping file and a token of the admin scopes.

func init() { adminDrivers["api"] = newAPIDriver }

type apiDriver struct {
	srv   *httptest.Server
	token string
}

func newAPIDriver(t *testing.T, dsn, configPath string) adminDriver {
	t.Helper()
	ctx := context.Background()
	cfg, err := rules.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.SetRules(cfg)
	secret, err := server.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, "scenario-api", server.HashToken(secret),
		[]store.Scope{store.ScopeAdminRead, store.ScopeAdminWrite}); err != nil {
		t.Fatal(err)
	}
	h, err := server.Handler(server.Config{Store: st, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &apiDriver{srv: srv, token: secret}
}

// apiArgs are a step's words: positional arguments and --flags (valueFlags take the
// next word).
type apiArgs struct {
	pos   []string
	flags map[string]string
}

var valueFlags = map[string]bool{"email": true, "username": true, "password": true, "first-name": true, "last-name": true,
	"nickname": true, "position": true, "auth-service": true, "auth-data": true, "display-name": true, "team": true,
	"page": true, "per-page": true}

func parseAPIArgs(words []string) (apiArgs, bool) {
	a := apiArgs{flags: map[string]string{}}
	for i := 0; i < len(words); i++ {
		name, ok := strings.CutPrefix(words[i], "--")
		if !ok {
			a.pos = append(a.pos, words[i])
			continue
		}
		if name, v, ok := strings.Cut(name, "="); ok {
			a.flags[name] = v
			continue
		}
		if valueFlags[name] {
			if i+1 == len(words) {
				return a, false
			}
			a.flags[name] = words[i+1]
			i++
			continue
		}
		a.flags[name] = "true"
	}
	return a, true
}

// apiCall is one request of a step.
type apiCall struct {
	method, path string
	body         any // nil: none
}

func esc(s string) string { return url.PathEscape(s) }

// teamChannel splits "team:channel" or "team/channel".
func teamChannel(s string) (team, channel string, ok bool) {
	if team, channel, ok = strings.Cut(s, ":"); ok {
		return team, channel, true
	}
	return strings.Cut(s, "/")
}

// apiCalls translates a step into requests; false for words the CLI would refuse as a
// usage error.
func apiCalls(words []string) ([]apiCall, bool) {
	a, ok := parseAPIArgs(words)
	if !ok || len(a.pos) < 2 {
		return nil, false
	}
	f := a.flags
	cmd, rest := a.pos[0]+" "+a.pos[1], a.pos[2:]
	perUser := func(users []string, call func(u string) apiCall) ([]apiCall, bool) {
		var out []apiCall
		for _, u := range users {
			out = append(out, call(u))
		}
		return out, len(out) > 0
	}
	switch cmd {
	case "user create":
		body := map[string]string{}
		for flag, field := range map[string]string{"email": "email", "username": "username", "password": "password",
			"first-name": "first_name", "last-name": "last_name", "nickname": "nickname", "position": "position",
			"auth-service": "auth_service", "auth-data": "auth_data"} {
			if v, ok := f[flag]; ok {
				body[field] = v
			}
		}
		return []apiCall{{"POST", "/accounts", body}}, len(rest) == 0
	case "user show":
		return perUser(rest, func(u string) apiCall { return apiCall{"GET", "/accounts/" + esc(u), nil} })
	case "user list", "user search":
		q := url.Values{}
		if v := f["team"]; v != "" {
			q.Set("team", v)
		}
		if f["inactive"] == "true" {
			q.Set("inactive", "true")
		}
		if pp, err := strconv.Atoi(f["per-page"]); err == nil {
			page, _ := strconv.Atoi(f["page"])
			q.Set("limit", strconv.Itoa(pp))
			q.Set("offset", strconv.Itoa(page*pp))
		}
		for _, term := range rest {
			q.Add("term", term)
		}
		return []apiCall{{"GET", "/accounts?" + q.Encode(), nil}}, cmd == "user list" || len(rest) > 0
	case "user deactivate", "user activate":
		active := cmd == "user activate"
		return perUser(rest, func(u string) apiCall {
			return apiCall{"PUT", "/accounts/" + esc(u) + "/active", map[string]bool{"active": active}}
		})
	case "user delete":
		if f["confirm"] != "true" {
			return nil, false
		}
		return perUser(rest, func(u string) apiCall { return apiCall{"DELETE", "/accounts/" + esc(u), nil} })
	case "user edit":
		field := map[string]string{"authdata": "auth_data", "email": "email", "username": "username"}
		if len(rest) != 3 || field[rest[0]] == "" {
			return nil, false
		}
		return []apiCall{{"PATCH", "/accounts/" + esc(rest[1]), map[string]string{field[rest[0]]: rest[2]}}}, true
	case "team list":
		return []apiCall{{"GET", "/teams", nil}}, true
	case "team create":
		if len(rest) != 1 {
			return nil, false
		}
		return []apiCall{{"POST", "/teams", map[string]any{"name": rest[0], "display_name": f["display-name"],
			"private": f["private"] == "true"}}}, true
	case "channel list":
		if len(rest) != 1 {
			return nil, false
		}
		return []apiCall{{"GET", "/teams/" + esc(rest[0]) + "/channels", nil}}, true
	case "channel create":
		if len(rest) != 1 {
			return nil, false
		}
		team, channel, ok := teamChannel(rest[0])
		return []apiCall{{"POST", "/teams/" + esc(team) + "/channels", map[string]any{"name": channel,
			"display_name": f["display-name"], "private": f["private"] == "true"}}}, ok
	case "team users", "channel users":
		if len(rest) < 3 || rest[0] != "add" && rest[0] != "remove" {
			return nil, false
		}
		var members string
		if a.pos[0] == "team" {
			members = "/teams/" + esc(rest[1]) + "/members"
		} else {
			team, channel, ok := teamChannel(rest[1])
			if !ok {
				return nil, false
			}
			members = "/teams/" + esc(team) + "/channels/" + esc(channel) + "/members"
		}
		if rest[0] == "add" {
			return perUser(rest[2:], func(u string) apiCall { return apiCall{"POST", members, map[string]string{"account": u}} })
		}
		query := ""
		if f["to-default"] == "true" {
			query = "?to_default=true"
		}
		return perUser(rest[2:], func(u string) apiCall { return apiCall{"DELETE", members + "/" + esc(u) + query, nil} })
	case "roles system_admin", "roles member":
		method := map[bool]string{true: "PUT", false: "DELETE"}[a.pos[1] == "system_admin"]
		return perUser(rest, func(u string) apiCall {
			return apiCall{method, "/accounts/" + esc(u) + "/roles/" + store.RoleSystemAdmin, nil}
		})
	case "team admins", "channel admins":
		if len(rest) < 3 || rest[0] != "add" && rest[0] != "remove" {
			return nil, false
		}
		admins := "/teams/" + esc(rest[1]) + "/admins/"
		if a.pos[0] == "channel" {
			team, channel, ok := teamChannel(rest[1])
			if !ok {
				return nil, false
			}
			admins = "/teams/" + esc(team) + "/channels/" + esc(channel) + "/admins/"
		}
		method := map[bool]string{true: "PUT", false: "DELETE"}[rest[0] == "add"]
		return perUser(rest[2:], func(u string) apiCall { return apiCall{method, admins + esc(u), nil} })
	}
	return nil, false
}

// do sends a step's requests, one per user, and answers their bodies and the code of
// the first that failed.
func (d *apiDriver) do(t *testing.T, s adminStep) (said, code string) {
	t.Helper()
	calls, ok := apiCalls(s.args)
	if !ok {
		return "the API driver cannot send " + strings.Join(s.args, " "), "usage"
	}
	var bodies []string
	for _, c := range calls {
		var rd io.Reader
		if c.body != nil {
			b, err := json.Marshal(c.body)
			if err != nil {
				t.Fatal(err)
			}
			rd = strings.NewReader(string(b))
		}
		req, err := http.NewRequest(c.method, d.srv.URL+server.AdminPrefix+c.path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+d.token)
		if c.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := d.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
		var e struct {
			Code string `json:"code"`
		}
		if resp.StatusCode >= 400 {
			if json.Unmarshal(b, &e) != nil || e.Code == "" {
				t.Fatalf("%s %s: %d without the error shape: %s", c.method, c.path, resp.StatusCode, b)
			}
			if code == "" {
				code = e.Code
			}
		}
	}
	return strings.Join(bodies, ""), code
}

// The driver's translation, where the scenarios do not reach: several users, both
// spellings of a channel, pages, and words the CLI refuses.
func TestAdminAPIDriverTranslates(t *testing.T) {
	for _, c := range []struct {
		words string
		want  string // "METHOD path" of each request, "; "-separated; "usage" for none
	}{
		{"user deactivate a b", "PUT /accounts/a/active; PUT /accounts/b/active"},
		{"user delete a", "usage"},
		{"user delete a b --confirm", "DELETE /accounts/a; DELETE /accounts/b"},
		{"channel users add t:c a", "POST /teams/t/channels/c/members"},
		{"channel users remove t/c a b", "DELETE /teams/t/channels/c/members/a; DELETE /teams/t/channels/c/members/b"},
		{"channel create tc", "usage"},
		{"team users remove t a --to-default", "DELETE /teams/t/members/a?to_default=true"},
		{"user list --team t --inactive --page 2 --per-page 10", "GET /accounts?inactive=true&limit=10&offset=20&team=t"},
		{"user search al ex", "GET /accounts?term=al&term=ex"},
		{"user search", "usage"},
		{"user edit authdata a", "usage"},
		{"user create --email", "usage"},
		{"roles system_admin a b", "PUT /accounts/a/roles/system_admin; PUT /accounts/b/roles/system_admin"},
		{"roles member a", "DELETE /accounts/a/roles/system_admin"},
		{"roles member", "usage"},
		{"team admins add t a b", "PUT /teams/t/admins/a; PUT /teams/t/admins/b"},
		{"team admins remove t a", "DELETE /teams/t/admins/a"},
		{"team admins add t", "usage"},
		{"channel admins add t:c a", "PUT /teams/t/channels/c/admins/a"},
		{"channel admins remove t/c a", "DELETE /teams/t/channels/c/admins/a"},
		{"channel admins add tc a", "usage"},
	} {
		calls, ok := apiCalls(strings.Fields(c.words))
		got := "usage"
		if ok {
			var parts []string
			for _, call := range calls {
				parts = append(parts, call.method+" "+call.path)
			}
			got = strings.Join(parts, "; ")
		}
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.words, got, c.want)
		}
	}
}
