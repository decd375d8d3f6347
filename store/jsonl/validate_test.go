package jsonl

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// dbWith is a fake database holding the team "db-team" with its channel "db-chan".
func dbWith(t *testing.T) *fakeBulk {
	t.Helper()
	f := newFake()
	_, err := f.ImportChat(store.WithActor(context.Background(), store.ActorImport), store.ImportBatch{
		Teams:    []store.ImportTeam{{Name: "db-team", DisplayName: "DB", Type: "O"}},
		Channels: []store.ImportChannel{{Team: "db-team", Name: "db-chan", DisplayName: "C", Type: "O"}},
	}, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestValidateErrors(t *testing.T) {
	const (
		team    = `{"type":"team","team":{"name":"eng","display_name":"Eng","type":"O"}}`
		channel = `{"type":"channel","channel":{"team":"eng","name":"backend","display_name":"B","type":"O"}}`
	)
	user := func(fields string) string {
		return `{"type":"user","user":{"username":"alice","email":"a@example.com"` + fields + `}}`
	}
	long := func(n int) string { return strings.Repeat("é", n) }
	for _, tc := range []struct {
		name  string
		lines []string // after the version line unless noVersion
		line  int      // of the error
		field string
		msg   string
	}{
		// Version and order.
		{"no version line", []string{"!" + team}, 1, "type", "first line must be the version line"},
		{"version twice", []string{versionLine}, 2, "type", "only the first"},
		{"version 2", []string{"!" + `{"type":"version","version":2}`}, 1, "version", "only version 1"},
		{"channel before team", []string{`{"type":"channel","channel":{"team":"db-team","name":"x","type":"O"}}`, team}, 3, "type", "a team line after the channel line of line 2"},
		{"team after user", []string{user(``), team}, 3, "type", "a team line after the user line"},
		{"emoji after team", []string{team, `{"type":"emoji","emoji":{}}`}, 3, "type", "emoji line after the team"},
		{"user after post", []string{`{"type":"post","post":{}}`, user(``)}, 3, "type", "user line after the post"},
		{"post after direct_post", []string{`{"type":"direct_post","direct_post":{}}`, `{"type":"post","post":{}}`}, 3, "type", "post line after"},
		{"direct_channel after direct_post", []string{`{"type":"direct_post","direct_post":{}}`, `{"type":"direct_channel","direct_channel":{}}`}, 3, "type", "direct_channel line after"},
		// Teams.
		{"team name missing", []string{`{"type":"team","team":{"display_name":"E","type":"O"}}`}, 2, "team.name", "is required"},
		{"team name reserved", []string{`{"type":"team","team":{"name":"admins","display_name":"E","type":"O"}}`}, 2, "team.name", "reserved word"},
		{"team name characters", []string{`{"type":"team","team":{"name":"a b","display_name":"E","type":"O"}}`}, 2, "team.name", "not a valid team name"},
		{"team name too long", []string{`{"type":"team","team":{"name":"` + strings.Repeat("a", 65) + `","display_name":"E","type":"O"}}`}, 2, "team.name", "at most 64"},
		{"team display name missing", []string{`{"type":"team","team":{"name":"eng","type":"O"}}`}, 2, "team.display_name", "is required"},
		{"team display name empty", []string{`{"type":"team","team":{"name":"eng","display_name":"","type":"O"}}`}, 2, "team.display_name", "must not be empty"},
		{"team display name 65", []string{`{"type":"team","team":{"name":"eng","display_name":"` + long(65) + `","type":"O"}}`}, 2, "team.display_name", "65 characters long; at most 64"},
		{"team type missing", []string{`{"type":"team","team":{"name":"eng","display_name":"E"}}`}, 2, "team.type", "is required"},
		{"team type", []string{`{"type":"team","team":{"name":"eng","display_name":"E","type":"P"}}`}, 2, "team.type", `"P"`},
		{"team description 256 bytes", []string{`{"type":"team","team":{"name":"eng","display_name":"E","type":"O","description":"` + strings.Repeat("a", 256) + `"}}`}, 2, "team.description", "at most 255"},
		{"team scheme", []string{`{"type":"team","team":{"name":"eng","display_name":"E","type":"O","scheme":"Bad Scheme"}}`}, 2, "team.scheme", "not a scheme name"},
		{"team display name NUL", []string{`{"type":"team","team":{"name":"eng","display_name":"a\u0000b","type":"O"}}`}, 2, "team.display_name", "NUL"},
		// Channels.
		{"channel team missing", []string{`{"type":"channel","channel":{"name":"c","type":"O"}}`}, 2, "channel.team", "is required"},
		{"channel team unknown", []string{`{"type":"channel","channel":{"team":"nope","name":"c","type":"O"}}`}, 2, "channel.team", "no team"},
		{"channel name missing", []string{team, `{"type":"channel","channel":{"team":"eng","type":"O"}}`}, 3, "channel.name", "is required"},
		{"channel name characters", []string{team, `{"type":"channel","channel":{"team":"eng","name":"a.b","type":"O"}}`}, 3, "channel.name", "not a valid channel name"},
		{"channel name 65", []string{team, `{"type":"channel","channel":{"team":"eng","name":"` + strings.Repeat("c", 65) + `","type":"O"}}`}, 3, "channel.name", "at most 64"},
		{"channel type", []string{team, `{"type":"channel","channel":{"team":"eng","name":"c","type":"D"}}`}, 3, "channel.type", `"D"`},
		{"channel type missing", []string{team, `{"type":"channel","channel":{"team":"eng","name":"c"}}`}, 3, "channel.type", "is required"},
		{"channel display name 65", []string{team, `{"type":"channel","channel":{"team":"eng","name":"c","type":"O","display_name":"` + long(65) + `"}}`}, 3, "channel.display_name", "at most 64"},
		{"channel header 1025", []string{team, `{"type":"channel","channel":{"team":"eng","name":"c","type":"O","header":"` + long(1025) + `"}}`}, 3, "channel.header", "at most 1024"},
		{"channel purpose 251", []string{team, `{"type":"channel","channel":{"team":"eng","name":"c","type":"O","purpose":"` + long(251) + `"}}`}, 3, "channel.purpose", "at most 250"},
		{"channel scheme", []string{team, `{"type":"channel","channel":{"team":"eng","name":"c","type":"O","scheme":"x-y"}}`}, 3, "channel.scheme", "not a scheme name"},
		// Users.
		{"username twice", []string{user(``), `{"type":"user","user":{"username":"ALICE","email":"b@example.com"}}`}, 3, "user.username", "is the username of line 2 too"},
		{"email twice", []string{user(``), `{"type":"user","user":{"username":"bob","email":"A@Example.com"}}`}, 3, "user.email", "is the email of line 2 too"},
		{"auth_data twice", []string{user(`,"auth_service":"saml","auth_data":"x1"`), `{"type":"user","user":{"username":"bob","email":"b@example.com","auth_service":"ldap","auth_data":"x1"}}`}, 3, "user.auth_data", "is the auth_data of line 2 too"},
		{"username missing", []string{`{"type":"user","user":{"email":"a@example.com"}}`}, 2, "user.username", "is required"},
		{"username characters", []string{`{"type":"user","user":{"username":"al ice","email":"a@example.com"}}`}, 2, "user.username", "may hold only"},
		{"username 65", []string{`{"type":"user","user":{"username":"` + strings.Repeat("a", 65) + `","email":"a@example.com"}}`}, 2, "user.username", "1–64"},
		{"username reserved", []string{`{"type":"user","user":{"username":"system","email":"a@example.com"}}`}, 2, "user.username", "reserved"},
		{"username Townsquare's rule", []string{`{"type":"user","user":{"username":"ab","email":"a@example.com"}}`}, 2, "user.username", "3–22"},
		{"username starting with a digit", []string{`{"type":"user","user":{"username":"1alice","email":"a@example.com"}}`}, 2, "user.username", "3–22"},
		{"email missing", []string{`{"type":"user","user":{"username":"alice"}}`}, 2, "user.email", "is required"},
		{"email empty", []string{user(`,"email":""`)}, 2, "user.email", "must not be empty"},
		{"email 129 bytes", []string{`{"type":"user","user":{"username":"alice","email":"` + strings.Repeat("a", 117) + `@example.com"}}`}, 2, "user.email", "129 bytes long; at most 128"},
		{"email not an address", []string{`{"type":"user","user":{"username":"alice","email":"not-an-email"}}`}, 2, "user.email", "not an email address"},
		{"email with a display name", []string{`{"type":"user","user":{"username":"alice","email":"Alice <alice@example.com>"}}`}, 2, "user.email", "not an email address"},
		{"email with two addresses", []string{`{"type":"user","user":{"username":"alice","email":"a@example.com, b@example.com"}}`}, 2, "user.email", "not an email address"},
		{"auth_data and password", []string{user(`,"auth_service":"saml","auth_data":"x","password":"p"`)}, 2, "user.password", "with auth_data"},
		{"auth_data without service", []string{user(`,"auth_data":"x"`)}, 2, "user.auth_service", "together"},
		{"service without auth_data", []string{user(`,"auth_service":"saml"`)}, 2, "user.auth_service", "together"},
		{"service with empty auth_data", []string{user(`,"auth_service":"saml","auth_data":""`)}, 2, "user.auth_service", "together"},
		{"unknown service", []string{user(`,"auth_service":"okta","auth_data":"x"`)}, 2, "user.auth_service", `"okta" is not`},
		{"auth_data 129", []string{user(`,"auth_service":"saml","auth_data":"` + strings.Repeat("x", 129) + `"`)}, 2, "user.auth_data", "at most 128"},
		{"password empty", []string{user(`,"password":""`)}, 2, "user.password", "must not be empty"},
		{"password 73 bytes", []string{user(`,"password":"` + strings.Repeat("p", 73) + `"`)}, 2, "user.password", "at most 72"},
		{"nickname 65", []string{user(`,"nickname":"` + long(65) + `"`)}, 2, "user.nickname", "at most 64"},
		{"first_name 65", []string{user(`,"first_name":"` + long(65) + `"`)}, 2, "user.first_name", "at most 64"},
		{"last_name 65", []string{user(`,"last_name":"` + long(65) + `"`)}, 2, "user.last_name", "at most 64"},
		{"position 129", []string{user(`,"position":"` + long(129) + `"`)}, 2, "user.position", "at most 128"},
		{"locale 257", []string{user(`,"locale":"` + long(257) + `"`)}, 2, "user.locale", "at most 256"},
		{"roles invalid", []string{user(`,"roles":"system-user"`)}, 2, "user.roles", "not a list of role names"},
		{"roles system_admin alone", []string{user(`,"roles":"system_admin"`)}, 2, "user.roles", "alone"},
		{"delete_at negative", []string{user(`,"delete_at":-1`)}, 2, "user.delete_at", "must be 0"},
		{"notify desktop", []string{user(`,"notify_props":{"desktop":"loud"}`)}, 2, "user.notify_props.desktop", `"loud"`},
		{"notify desktop_sound", []string{user(`,"notify_props":{"desktop_sound":"yes"}`)}, 2, "user.notify_props.desktop_sound", `"yes"`},
		{"notify email", []string{user(`,"notify_props":{"email":"yes"}`)}, 2, "user.notify_props.email", `"yes"`},
		{"notify mobile", []string{user(`,"notify_props":{"mobile":"x"}`)}, 2, "user.notify_props.mobile", `"x"`},
		{"notify push status", []string{user(`,"notify_props":{"mobile_push_status":"dnd"}`)}, 2, "user.notify_props.mobile_push_status", `"dnd"`},
		{"notify channel", []string{user(`,"notify_props":{"channel":"x"}`)}, 2, "user.notify_props.channel", `"x"`},
		{"notify comments", []string{user(`,"notify_props":{"comments":"crt"}`)}, 2, "user.notify_props.comments", `"crt"`},
		{"markdown preview", []string{user(`,"feature_enabled_markdown_preview":"on"`)}, 2, "user.feature_enabled_markdown_preview", `"on"`},
		{"formatting", []string{user(`,"formatting":"on"`)}, 2, "user.formatting", `"on"`},
		{"show unread", []string{user(`,"show_unread_section":"on"`)}, 2, "user.show_unread_section", `"on"`},
		{"email interval", []string{user(`,"email_interval":"daily"`)}, 2, "user.email_interval", `"daily"`},
		{"team name missing in user", []string{team, user(`,"teams":[{"roles":"team_user"}]`)}, 3, "user.teams[0].name", "is required"},
		{"team unknown in user", []string{team, user(`,"teams":[{"name":"eng"},{"name":"ops"}]`)}, 3, "user.teams[1].name", `"ops" is no team`},
		{"team roles", []string{team, user(`,"teams":[{"name":"eng","roles":"team user!"}]`)}, 3, "user.teams[0].roles", "not a list"},
		{"team theme", []string{team, user(`,"teams":[{"name":"eng","theme":"not json"}]`)}, 3, "user.teams[0].theme", "JSON object"},
		{"channel name missing in user", []string{team, user(`,"teams":[{"name":"eng","channels":[{"roles":"channel_user"}]}]`)}, 3, "user.teams[0].channels[0].name", "is required"},
		{"channel unknown in user", []string{team, channel, user(`,"teams":[{"name":"eng","channels":[{"name":"backend"},{"name":"nope"}]}]`)}, 4, "user.teams[0].channels[1].name", `"nope" is no channel of team "eng"`},
		{"db channel in a file team", []string{team, user(`,"teams":[{"name":"eng","channels":[{"name":"db-chan"}]}]`)}, 3, "user.teams[0].channels[0].name", "no channel"},
		{"channel roles", []string{team, user(`,"teams":[{"name":"eng","channels":[{"name":"town-square","roles":"a b c!"}]}]`)}, 3, "user.teams[0].channels[0].roles", "not a list"},
		{"channel notify desktop", []string{team, user(`,"teams":[{"name":"eng","channels":[{"name":"town-square","notify_props":{"desktop":"x"}}]}]`)}, 3, "user.teams[0].channels[0].notify_props.desktop", `"x"`},
		{"channel notify mobile", []string{team, user(`,"teams":[{"name":"eng","channels":[{"name":"town-square","notify_props":{"mobile":"x"}}]}]`)}, 3, "user.teams[0].channels[0].notify_props.mobile", `"x"`},
		{"channel mark unread", []string{team, user(`,"teams":[{"name":"eng","channels":[{"name":"town-square","notify_props":{"mark_unread":"none"}}]}]`)}, 3, "user.teams[0].channels[0].notify_props.mark_unread", `"none"`},
		// Guests.
		{"system guest not team guest", []string{team, user(`,"roles":"system_guest","teams":[{"name":"eng","roles":"team_user"}]`)}, 3, "user.teams", "team_guest in every team: 0 of 1"},
		{"system guest not channel guest", []string{team, user(`,"roles":"system_guest","teams":[{"name":"eng","roles":"team_guest","channels":[{"name":"town-square","roles":"channel_user"}]}]`)}, 3, "user.teams", "channel_guest in every channel: 0 of 1"},
		{"team guest not system guest", []string{team, user(`,"roles":"system_user","teams":[{"name":"eng","roles":"team_guest"}]`)}, 3, "user.roles", "must be a system_guest"},
		{"channel guest not system guest", []string{team, user(`,"roles":"system_user","teams":[{"name":"eng","roles":"team_user","channels":[{"name":"town-square","roles":"channel_guest"}]}]`)}, 3, "user.roles", "must be a system_guest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := []string{versionLine}
			if strings.HasPrefix(tc.lines[0], "!") {
				ls = nil
				tc.lines[0] = tc.lines[0][1:]
			}
			ls = append(ls, tc.lines...)
			sum, err := Validate(context.Background(), bytesSource(lines(ls...)), dbWith(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.ErrorCount != 1 || len(sum.Errors) != 1 {
				t.Fatalf("%d errors: %v", sum.ErrorCount, sum.Errors)
			}
			e := sum.Errors[0]
			if e.Line != tc.line || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got %v\nwant line %d: %s: …%s…", e, tc.line, tc.field, tc.msg)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	const team = `{"type":"team","team":{"name":"eng","display_name":"Eng","type":"O"}}`
	long := func(n int) string { return strings.Repeat("é", n) }
	for _, tc := range []struct {
		name  string
		lines []string
	}{
		{"only the version line", nil},
		{"version with info", nil},
		{"upper case names, lower-cased as upstream", []string{`{"type":"team","team":{"name":"ENG","display_name":"E","type":"O"}}`,
			`{"type":"channel","channel":{"team":"Eng","name":"BackEnd","type":"P"}}`,
			`{"type":"user","user":{"username":"Alice","email":"a@example.com","teams":[{"name":"eng","channels":[{"name":"backend"}]}]}}`}},
		{"a team and channel of the database", []string{`{"type":"channel","channel":{"team":"db-team","name":"new","type":"O"}}`,
			`{"type":"user","user":{"username":"alice","email":"a@example.com","teams":[{"name":"db-team","channels":[{"name":"db-chan"},{"name":"new"}]}]}}`}},
		{"a new team's own channels", []string{team, `{"type":"user","user":{"username":"alice","email":"a@example.com","teams":[{"name":"eng","channels":[{"name":"town-square"},{"name":"off-topic"}]}]}}`}},
		{"limits at their edges", []string{`{"type":"team","team":{"name":"` + strings.Repeat("a", 64) + `","display_name":"` + long(64) + `","type":"O","description":"` + strings.Repeat("d", 255) + `"}}`,
			`{"type":"channel","channel":{"team":"` + strings.Repeat("a", 64) + `","name":"` + strings.Repeat("c", 64) + `","display_name":"` + long(64) + `","type":"O","header":"` + long(1024) + `","purpose":"` + long(250) + `"}}`,
			`{"type":"user","user":{"username":"` + "a" + strings.Repeat("b", 21) + `","email":"` + strings.Repeat("a", 116) + `@example.com","auth_service":"saml","auth_data":"` + strings.Repeat("x", 128) + `","nickname":"` + long(64) + `","first_name":"` + long(64) + `","last_name":"` + long(64) + `","position":"` + long(128) + `","locale":"` + long(256) + `"}}`,
			`{"type":"user","user":{"username":"bob","email":"b@example.com","password":"` + strings.Repeat("p", 72) + `"}}`}},
		{"empty auth service without auth data", []string{`{"type":"user","user":{"username":"alice","email":"a@example.com","auth_service":""}}`}},
		{"a guest everywhere", []string{team, `{"type":"user","user":{"username":"gina","email":"g@example.com","roles":"system_guest","teams":[{"name":"eng","roles":"team_guest","channels":[{"name":"town-square","roles":"channel_guest"}]}]}}`}},
		{"a system guest without teams", []string{`{"type":"user","user":{"username":"gina","email":"g@example.com","roles":"system_guest"}}`}},
		{"admins", []string{team, `{"type":"user","user":{"username":"root","email":"r@example.com","roles":"system_admin system_user","teams":[{"name":"eng","roles":"team_user team_admin","channels":[{"name":"town-square","roles":"channel_user channel_admin"}]}]}}`}},
		{"unknown fields are ignored, as upstream", []string{`{"type":"user","user":{"username":"alice","email":"a@example.com","custom_attributes":{"x":1}},"extra":true}`}},
		{"skipped types in order", []string{`{"type":"scheme","scheme":{}}`, `{"type":"role","role":{}}`, `{"type":"emoji","emoji":{}}`, team,
			`{"type":"bot","bot":{}}`, `{"type":"user","user":{"username":"alice","email":"a@example.com"}}`, `{"type":"post","post":{}}`,
			`{"type":"direct_channel","direct_channel":{}}`, `{"type":"direct_post","direct_post":{}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, err := Validate(context.Background(), bytesSource(lines(append([]string{versionLine}, tc.lines...)...)), dbWith(t), nil)
			if err != nil || sum.ErrorCount != 0 {
				t.Fatalf("%v %v", err, sum.Errors)
			}
		})
	}
}

func TestValidateCollectsEveryError(t *testing.T) {
	ls := []string{versionLine}
	// Two errors on one line, an unreadable line, and errors on the lines after.
	ls = append(ls, `{"type":"team","team":{"name":"a b","type":"X","display_name":"D"}}`, `{oops`, `{"type":"team","team":{}}`)
	sum, err := Validate(context.Background(), bytesSource(lines(ls...)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range sum.Errors {
		got = append(got, fmt.Sprintf("%d:%s", e.Line, e.Field))
	}
	want := "2:team.name 2:team.type 3: 4:team.name 4:team.display_name 4:team.type"
	if strings.Join(got, " ") != want || sum.ErrorCount != 6 {
		t.Errorf("errors %v (%d), want %s", got, sum.ErrorCount, want)
	}
}

func TestMaxErrors(t *testing.T) {
	for _, tc := range []struct{ bad, listed int }{{MaxErrors, MaxErrors}, {MaxErrors + 1, MaxErrors}} {
		ls := []string{versionLine}
		for i := 0; i < tc.bad; i++ {
			ls = append(ls, `{"type":"team","team":{"name":"eng","display_name":"E","type":"X"}}`)
		}
		sum, err := Validate(context.Background(), bytesSource(lines(ls...)), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Errors) != tc.listed || sum.ErrorCount != tc.bad {
			t.Errorf("%d bad lines: %d listed, %d counted", tc.bad, len(sum.Errors), sum.ErrorCount)
		}
	}
}

func TestValidateEmptyFile(t *testing.T) {
	sum, err := Validate(context.Background(), bytesSource(nil), nil, nil)
	if err != nil || sum.ErrorCount != 1 || !strings.Contains(sum.Errors[0].Message, "empty") {
		t.Fatalf("%v %+v", err, sum)
	}
}
