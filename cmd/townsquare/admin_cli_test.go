package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// adminCLI runs an admin command on dsn.
func adminCLI(t *testing.T, dsn string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append(slices.Clone(args), "--database", dsn), &out, &errOut)
	return out.String(), errOut.String(), err
}

// many returns n account names.
func many(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%d", i)
	}
	return out
}

// Command lines refused before any store call: the database is not even opened.
func TestAdminCLIUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"no user command", []string{"user"}, "no command given"},
		{"unknown user command", []string{"user", "frob"}, `unknown command "frob"`},
		{"unknown team users command", []string{"team", "users", "kick", "t", "alice"}, `unknown command "kick"`},
		{"unknown channel command", []string{"channel", "rename", "a:b"}, `unknown command "rename"`},
		{"unknown edit", []string{"user", "edit", "nickname", "alice", "al"}, `unknown command "nickname"`},
		{"unknown flag", []string{"user", "list", "--bogus"}, "bogus"},
		{"show without USER", []string{"user", "show"}, "missing arguments"},
		{"show two", []string{"user", "show", "a", "b"}, "at most 1"},
		{"list with an argument", []string{"user", "list", "alice"}, "takes no arguments"},
		{"search without terms", []string{"user", "search"}, "missing arguments"},
		{"search with too many terms", append([]string{"user", "search"}, many(store.MaxSearchTerms+1)...), "at most 10"},
		{"deactivate without USER", []string{"user", "deactivate"}, "missing arguments"},
		{"deactivate too many", append([]string{"user", "deactivate"}, many(maxAdminArgs+1)...), "at most 1000"},
		{"team users add too many", append([]string{"team", "users", "add", "support"}, many(maxAdminArgs+1)...), "at most 1001"},
		{"channel users remove too many", append([]string{"channel", "users", "remove", "support:help"}, many(maxAdminArgs+1)...), "at most 1001"},
		{"edit without NEW", []string{"user", "edit", "email", "alice"}, "missing arguments"},
		{"per-page over the limit", []string{"user", "list", "--per-page", "1001"}, "--per-page 1001: want 1 to 1000"},
		{"per-page 0", []string{"user", "list", "--per-page", "0"}, "--per-page 0"},
		{"negative page", []string{"user", "list", "--page", "-1"}, "--page -1"},
		{"page past the limit", []string{"user", "list", "--page", "1000001"}, "--page 1000001"},
		{"page not a number", []string{"user", "list", "--page", "two"}, "invalid value"},
		{"create without email", []string{"user", "create", "--username", "alice", "--password", "Passw0rd!x"}, "--email and --username"},
		{"create without username", []string{"user", "create", "--email", "a@example.com"}, "--email and --username"},
		{"delete without --confirm off a terminal", []string{"user", "delete", "alice"}, "pass --confirm"},
		{"team create without NAME", []string{"team", "create"}, "missing arguments"},
		{"team users add without USER", []string{"team", "users", "add", "support"}, "missing arguments"},
		{"channel list without TEAM", []string{"channel", "list"}, "missing arguments"},
		{"channel without separator", []string{"channel", "create", "design"}, "TEAM:CHANNEL"},
		{"channel without team", []string{"channel", "create", ":reviews"}, "TEAM:CHANNEL"},
		{"channel without name", []string{"channel", "create", "design:"}, "TEAM:CHANNEL"},
		{"channel with two separators", []string{"channel", "create", "design:a:b"}, "TEAM:CHANNEL"},
		{"channel with mixed separators", []string{"channel", "create", "design/a:b"}, "TEAM:CHANNEL"},
		{"channel argument too long", []string{"channel", "create", strings.Repeat("a", store.MaxNameLength) + ":" + strings.Repeat("b", store.MaxNameLength+1)}, "at most 513"},
		{"channel users with a bad channel", []string{"channel", "users", "add", "design", "erin"}, "TEAM:CHANNEL"},
		{"no roles command", []string{"roles"}, "no command given"},
		{"unknown role", []string{"roles", "system_user", "alice"}, `unknown command "system_user"`},
		{"roles system_admin without USER", []string{"roles", "system_admin"}, "missing arguments"},
		{"roles member too many", append([]string{"roles", "member"}, many(maxAdminArgs+1)...), "at most 1000"},
		{"unknown team admins command", []string{"team", "admins", "promote", "t", "alice"}, `unknown command "promote"`},
		{"team admins add without USER", []string{"team", "admins", "add", "support"}, "missing arguments"},
		{"team admins remove too many", append([]string{"team", "admins", "remove", "support"}, many(maxAdminArgs+1)...), "at most 1001"},
		{"channel admins with a bad channel", []string{"channel", "admins", "add", "design", "erin"}, "TEAM:CHANNEL"},
		{"channel admins without USER", []string{"channel", "admins", "remove", "design:reviews"}, "missing arguments"},
	}
	term := stdinIsTerminal
	t.Cleanup(func() { stdinIsTerminal = term })
	stdinIsTerminal = func() bool { return false }
	dir := t.TempDir()
	db := filepath.Join(dir, "never.db")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := adminCLI(t, db, tc.args...)
			if code := cliCode(err); code != "usage" {
				t.Fatalf("code %q (%v), want usage", code, err)
			}
			if said := out + errOut + err.Error(); !strings.Contains(said, tc.says) {
				t.Errorf("said %q, want %q", said, tc.says)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the database was opened: %v", err)
			}
		})
	}
}

// The limits' edges that are accepted reach the store.
func TestAdminCLILimitEdges(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			for _, args := range [][]string{
				{"user", "list", "--per-page", "1000", "--page", "1000000"},
				{"user", "list", "--per-page", "1"},
				append([]string{"user", "search"}, strings.Split("a b c d e f g h i j", " ")...),
				{"channel", "list", strings.Repeat("a", store.MaxNameLength)},
				{"channel", "create", strings.Repeat("a", store.MaxNameLength) + ":" + strings.Repeat("b", store.MaxNameLength)},
				append([]string{"user", "deactivate"}, many(maxAdminArgs)...),
				append([]string{"team", "users", "add", "everyone"}, many(maxAdminArgs)...),
				{"user", "create", "--email", "p8@example.com", "--username", "peight", "--password", strings.Repeat("p", store.MinPasswordLength)},
				{"user", "create", "--email", "p72@example.com", "--username", "pseventytwo", "--password", strings.Repeat("p", store.MaxPasswordLength)},
			} {
				_, _, err := adminCLI(t, dsn, args...)
				if code := cliCode(err); code == "usage" || code == store.CodeInternal || (args[1] == "create" && args[0] == "user" && err != nil) {
					t.Errorf("%.80v: %.200v (%s)", args, err, code)
				}
			}
		})
	}
}

func TestAdminCLIHelp(t *testing.T) {
	for _, c := range adminCommands {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append(strings.Fields(c.name), "-h"), &out, &errOut)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s -h: %v", c.name, err)
		}
		if h := errOut.String(); !strings.Contains(h, "usage: townsquare "+c.name) || !strings.Contains(h, "-database") {
			t.Errorf("%s -h said %q", c.name, h)
		}
	}
	var out, errOut bytes.Buffer
	_ = run(context.Background(), []string{"user", "deactivate", "--help"}, &out, &errOut)
	if h := errOut.String(); !strings.Contains(h, "the next push of the IdP may\nactivate it again") {
		t.Errorf("user deactivate --help does not warn about the IdP's next push: %q", h)
	}
	for _, group := range []string{"user", "team", "channel", "team users", "roles", "team admins", "channel admins"} {
		out.Reset()
		if err := run(context.Background(), append(strings.Fields(group), "help"), &out, &errOut); err != nil {
			t.Fatal(err)
		}
		for _, c := range adminCommands {
			if strings.HasPrefix(c.name, group+" ") && !strings.Contains(out.String(), "townsquare "+c.name+" ") {
				t.Errorf("%s help does not list %s:\n%s", group, c.name, out.String())
			}
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "user list|search|show") ||
		!strings.Contains(out.String(), "roles system_admin|member") {
		t.Errorf("townsquare help: %v\n%s", err, out.String())
	}
}

// A password is refused by its rule before anything is opened, and never echoed.
func TestAdminCLIPassword(t *testing.T) {
	db := filepath.Join(t.TempDir(), "never.db")
	for _, pw := range []string{"short1!", strings.Repeat("p", store.MaxPasswordLength+1), "bad\x00password"} {
		out, errOut, err := adminCLI(t, db, "user", "create", "--email", "a@example.com", "--username", "alice", "--password", pw)
		if cliCode(err) != store.CodeInvalid || !strings.Contains(err.Error(), "password") {
			t.Errorf("password %q: %v", pw, err)
		}
		if strings.Contains(out+errOut+err.Error(), pw) {
			t.Errorf("password %q echoed", pw)
		}
	}
	t.Setenv(PasswordEnv, "short1!")
	if _, _, err := adminCLI(t, db, "user", "create", "--email", "a@example.com", "--username", "alice"); cliCode(err) != store.CodeInvalid {
		t.Errorf("%s not read: %v", PasswordEnv, err)
	}
}

func TestAdminCLIParse(t *testing.T) {
	tests := []struct {
		args []string
		pos  []string
		json bool
	}{
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true},
		{[]string{"--json", "a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b", "--json"}, []string{"a", "b"}, true},
		{[]string{"a", "--", "--json", "b"}, []string{"a", "--json", "b"}, false},
		{[]string{"--json=false", "a"}, []string{"a"}, false},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		j := fs.Bool("json", false, "")
		c := &adminCall{name: "x", fs: fs, rawArgs: tc.args}
		if err := c.parse(0, -1); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if !slices.Equal(c.args, tc.pos) || *j != tc.json {
			t.Errorf("%v: positional %v json %v, want %v %v", tc.args, c.args, *j, tc.pos, tc.json)
		}
	}
}

// tableRows returns a table's lines with the runs of spaces between columns made one.
func tableRows(s string) []string {
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	return rows
}

// adminCLIStore opens a store on dsn, as the scenarios' setup does.
func adminCLIStore(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// mustCLI runs an admin command that must succeed.
func mustCLI(t *testing.T, dsn string, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, err := adminCLI(t, dsn, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s%s", args, err, out, errOut)
	}
	return out, errOut
}

// jsonKeys decodes a JSON object and returns it, failing on anything else.
func jsonKeys(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, s)
	}
	return m
}

// wantKeys checks that m has exactly keys, and that lists are arrays (never null).
func wantKeys(t *testing.T, what string, m map[string]any, keys []string, lists ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	keys = slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, keys) {
		t.Errorf("%s: keys %v, want %v", what, got, keys)
	}
	for _, l := range lists {
		if _, ok := m[l].([]any); !ok {
			t.Errorf("%s: %s is %v, want an array", what, l, m[l])
		}
	}
}

var (
	accountSummaryKeys = []string{"id", "username", "email", "first_name", "last_name", "nickname", "active", "status",
		"scim_deleted", "auth_service", "auth_data", "origin"}
	accountKeys = []string{"id", "user_name", "username", "email", "first_name", "last_name", "nickname", "position", "active",
		"status", "delete_at", "scim_deleted", "auth_service", "auth_data", "origin", "guest", "system_admin", "system_admin_sources",
		"roles", "groups", "teams", "channels"}
)

// Each command's output, as text and as --json, after a sequence that a check of the
// rules passes, journaled with the actor cli.
func TestAdminCLIOutput(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			ctx := context.Background()
			st := adminCLIStore(t, dsn)
			bobID, _ := scimMember(t, ctx, st, "bob@example.com", "Engineering")

			out, _ := mustCLI(t, dsn, "user", "create", "--email", "alice@example.com", "--username", "alice",
				"--password", "Passw0rd!x", "--first-name", "Alice", "--last-name", "Liddell")
			if !strings.HasPrefix(out, "created alice (SCIM id ") || !strings.HasSuffix(out, "), in everyone\n") || strings.Contains(out, "Passw0rd") {
				t.Errorf("user create said %q", out)
			}
			out, _ = mustCLI(t, dsn, "user", "create", "--email", "sso@example.com", "--username", "sso",
				"--auth-service", "saml", "--auth-data", "00u1sso")
			if !strings.HasPrefix(out, "created sso ") {
				t.Errorf("user create said %q", out)
			}

			// user list: a table by username, then where the page is on stderr.
			out, errOut := mustCLI(t, dsn, "user", "list")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 4 || !strings.HasPrefix(lines[0], "USERNAME") || !strings.HasPrefix(lines[1], "alice ") ||
				!strings.HasPrefix(lines[2], "bob ") || !strings.HasPrefix(lines[3], "sso ") {
				t.Errorf("user list:\n%s", out)
			}
			if !strings.Contains(lines[1], "Alice Liddell") || !strings.Contains(lines[1], "manual") || !strings.Contains(lines[3], "saml 00u1sso") ||
				!strings.Contains(lines[2], bobID) || !strings.Contains(lines[2], "active") {
				t.Errorf("user list rows:\n%s", out)
			}
			if errOut != "accounts 1 to 3 of 3\n" {
				t.Errorf("user list stderr %q", errOut)
			}
			_, errOut = mustCLI(t, dsn, "user", "list", "--per-page", "2")
			if errOut != "accounts 1 to 2 of 3; the next page: --page 1\n" {
				t.Errorf("user list --per-page 2 stderr %q", errOut)
			}
			out, _ = mustCLI(t, dsn, "user", "list", "--json", "--page", "1", "--per-page", "2")
			m := jsonKeys(t, out)
			wantKeys(t, "user list --json", m, []string{"total", "page", "per_page", "accounts"}, "accounts")
			if m["total"] != 3.0 || m["page"] != 1.0 || m["per_page"] != 2.0 || len(m["accounts"].([]any)) != 1 {
				t.Errorf("user list --json: %s", out)
			}
			wantKeys(t, "user list --json account", m["accounts"].([]any)[0].(map[string]any), accountSummaryKeys)
			out, _ = mustCLI(t, dsn, "user", "list", "--team", "engineering", "--json")
			if m := jsonKeys(t, out); m["total"] != 1.0 {
				t.Errorf("user list --team engineering: %s", out)
			}
			out, _ = mustCLI(t, dsn, "user", "list", "--inactive", "--json")
			if m := jsonKeys(t, out); m["total"] != 0.0 || len(m["accounts"].([]any)) != 0 {
				t.Errorf("user list --inactive (none): %s", out)
			}
			if _, _, err := adminCLI(t, dsn, "user", "list", "--team", "nosuchteam"); cliCode(err) != store.CodeNotFound ||
				!strings.Contains(err.Error(), "nosuchteam") {
				t.Errorf("user list --team nosuchteam: %v", err)
			}

			// user search: every term must match.
			out, _ = mustCLI(t, dsn, "user", "search", "ALI", "example")
			if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "alice ") {
				t.Errorf("user search ALI example:\n%s", out)
			}
			out, _ = mustCLI(t, dsn, "user", "search", "nobody-at-all", "--json")
			if m := jsonKeys(t, out); m["total"] != 0.0 || len(m["accounts"].([]any)) != 0 {
				t.Errorf("user search --json (none): %s", out)
			}

			// user show.
			out, _ = mustCLI(t, dsn, "user", "show", "bob@example.com")
			for _, want := range []string{"id:           " + bobID, "username:     bob\n", "user_name:    bob@example.com",
				"state:        active", "auth_data:    ext-bob@example.com", "origin:       scim", "groups:       Engineering",
				"roles:        system_user\n", "guest:        no\n",
				"teams:\n  engineering  group:Engineering\n", "channels:\n  engineering:off-topic"} {
				if !strings.Contains(out, want) {
					t.Errorf("user show bob: want %q in\n%s", want, out)
				}
			}
			out, _ = mustCLI(t, dsn, "user", "show", "--json", "alice")
			m = jsonKeys(t, out)
			wantKeys(t, "user show --json", m, accountKeys, "groups", "teams", "channels", "system_admin_sources")
			if m["roles"] != "system_user" || m["guest"] != false || m["system_admin"] != false {
				t.Errorf("user show --json roles: %s", out)
			}
			if m["username"] != "alice" || m["origin"] != store.OriginManual || m["first_name"] != "Alice" {
				t.Errorf("user show --json: %s", out)
			}

			// team and channel lists and creation.
			out, _ = mustCLI(t, dsn, "team", "create", "support", "--display-name", "Support")
			if !strings.HasPrefix(out, "created team support (Support, open) with ") {
				t.Errorf("team create said %q", out)
			}
			out, _ = mustCLI(t, dsn, "team", "create", "--private", "secret")
			if !strings.HasPrefix(out, "created team secret (secret, invite only) with ") {
				t.Errorf("team create --private said %q", out)
			}
			out, _ = mustCLI(t, dsn, "team", "list")
			if rows := tableRows(out); len(rows) != 5 || rows[0] != "NAME DISPLAY NAME TYPE MEMBERS CHANNELS" ||
				!strings.HasPrefix(rows[3], "secret secret invite only 0 ") || !strings.HasPrefix(rows[4], "support Support open 0 ") {
				t.Errorf("team list:\n%s", out)
			}
			out, _ = mustCLI(t, dsn, "team", "list", "--json")
			m = jsonKeys(t, out)
			wantKeys(t, "team list --json", m, []string{"teams"}, "teams")
			wantKeys(t, "team list --json team", m["teams"].([]any)[0].(map[string]any),
				[]string{"name", "display_name", "type", "private", "member_count", "channel_count"})
			out, _ = mustCLI(t, dsn, "channel", "create", "support/help", "--private", "--display-name", "Help")
			if out != "created channel support:help (Help, private)\n" {
				t.Errorf("channel create said %q", out)
			}
			out, _ = mustCLI(t, dsn, "channel", "list", "support")
			if rows := tableRows(out); len(rows) < 4 || rows[0] != "NAME DISPLAY NAME TYPE MEMBERS" || rows[1] != "help Help private 0" ||
				!slices.Contains(rows, "town-square Town Square public 0") {
				t.Errorf("channel list:\n%s", out)
			}
			out, _ = mustCLI(t, dsn, "channel", "list", "support", "--json")
			m = jsonKeys(t, out)
			wantKeys(t, "channel list --json", m, []string{"team", "channels"}, "channels")
			wantKeys(t, "channel list --json channel", m["channels"].([]any)[0].(map[string]any),
				[]string{"name", "display_name", "type", "private", "member_count"})
			if _, _, err := adminCLI(t, dsn, "channel", "list", "nosuchteam"); cliCode(err) != store.CodeNotFound {
				t.Errorf("channel list nosuchteam: %v", err)
			}

			// Memberships: one line per account, in order.
			out, _ = mustCLI(t, dsn, "team", "users", "add", "support", "alice", "bob@example.com")
			if out != "added alice to support\nadded bob to support\n" {
				t.Errorf("team users add said %q", out)
			}
			out, _ = mustCLI(t, dsn, "team", "users", "add", "support", "alice")
			if out != "alice was already added to support by hand\n" {
				t.Errorf("team users add again said %q", out)
			}
			out, _ = mustCLI(t, dsn, "channel", "users", "add", "support:help", "alice")
			if out != "added alice to support:help\n" {
				t.Errorf("channel users add said %q", out)
			}
			out, _ = mustCLI(t, dsn, "channel", "users", "remove", "support:help", "alice")
			if out != "removed alice from support:help\n" {
				t.Errorf("channel users remove said %q", out)
			}

			out, _ = mustCLI(t, dsn, "team", "users", "remove", "support", "bob")
			if out != "removed bob from support\n" {
				t.Errorf("team users remove said %q", out)
			}
			out, _ = mustCLI(t, dsn, "team", "users", "remove", "--to-default", "support", "alice")
			if out != "removed alice from support; they are in the default team now\n" {
				t.Errorf("team users remove --to-default said %q", out)
			}

			// Activation.
			out, _ = mustCLI(t, dsn, "user", "deactivate", "alice", "sso")
			if out != "deactivated alice\ndeactivated sso\n" {
				t.Errorf("user deactivate said %q", out)
			}
			out, _ = mustCLI(t, dsn, "user", "deactivate", "alice")
			if out != "alice was deactivated already\n" {
				t.Errorf("user deactivate again said %q", out)
			}
			out, _ = mustCLI(t, dsn, "user", "list", "--inactive")
			if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "deactivated") {
				t.Errorf("user list --inactive:\n%s", out)
			}
			out, _ = mustCLI(t, dsn, "user", "activate", "sso")
			if out != "activated sso\n" {
				t.Errorf("user activate said %q", out)
			}

			// Edits.
			out, _ = mustCLI(t, dsn, "user", "edit", "authdata", "sso", "00u2sso")
			if out != "sso: auth data is saml 00u2sso now\n" {
				t.Errorf("user edit authdata said %q", out)
			}
			out, _ = mustCLI(t, dsn, "user", "edit", "email", "sso", "sso2@example.com")
			if out != "sso: email is sso2@example.com now\n" {
				t.Errorf("user edit email said %q", out)
			}
			out, _ = mustCLI(t, dsn, "user", "edit", "username", "sso", "single")
			if out != "sso is single now\n" {
				t.Errorf("user edit username said %q", out)
			}

			// Delete.
			out, _ = mustCLI(t, dsn, "user", "delete", "--confirm", "single")
			if !strings.HasPrefix(out, "deleted single (SCIM id ") {
				t.Errorf("user delete said %q", out)
			}

			// The journal says the CLI did it.
			out, _ = mustCLI(t, dsn, "events", "--account", "alice", "--json")
			var n int
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var e struct{ Actor, Kind string }
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatal(err)
				}
				if e.Actor != store.ActorCLI {
					t.Errorf("journal entry by %q, want cli: %s", e.Actor, line)
				}
				n++
			}
			if n < 4 { // created, joined everyone, joined support, deactivated, …
				t.Errorf("alice's journal has %d entries:\n%s", n, out)
			}
			out, _ = mustCLI(t, dsn, "events", "--account", "bob")
			if !strings.Contains(out, "  cli  team.joined  bob  support  manual") {
				t.Errorf("bob's journal:\n%s", out)
			}

			out, _ = mustCLI(t, dsn, "check")
			if out != "all provisioning rules hold\n" {
				t.Errorf("check: %q", out)
			}
		})
	}
}

// A command naming several accounts changes each that it can, prints a line for each,
// and fails naming those it could not change.
func TestAdminCLIPartialFailure(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			mustCLI(t, dsn, "user", "create", "--email", "alice@example.com", "--username", "alice", "--password", "Passw0rd!x")
			mustCLI(t, dsn, "user", "create", "--email", "carol@example.com", "--username", "carol", "--password", "Passw0rd!x")
			mustCLI(t, dsn, "team", "create", "support")
			out, errOut, err := adminCLI(t, dsn, "team", "users", "add", "support", "alice", "nobody", "carol")
			if err == nil || cliCode(err) != store.CodeNotFound {
				t.Fatalf("err %v (%s), want not_found", err, cliCode(err))
			}
			if out != "added alice to support\nadded carol to support\n" {
				t.Errorf("stdout %q", out)
			}
			if !strings.Contains(errOut, `nobody: no account has the id, username or email "nobody"`) ||
				err.Error() != "failed for 1 of 3 accounts: nobody" {
				t.Errorf("stderr %q, error %q", errOut, err)
			}
			// Two failures of different kinds: both named, each code found.
			mustCLI(t, dsn, "team", "create", "sales")
			mustCLI(t, dsn, "user", "deactivate", "carol")
			out, errOut, err = adminCLI(t, dsn, "team", "users", "add", "sales", "carol", "alice", "ghost")
			if err == nil || err.Error() != "failed for 2 of 3 accounts: carol, ghost" || out != "added alice to sales\n" ||
				!strings.Contains(errOut, "error: carol: ") || !strings.Contains(errOut, "error: ghost: ") {
				t.Errorf("add: %v\n%s%s", err, out, errOut)
			}
			if uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`); uuid.MatchString(errOut) {
				t.Errorf("a refusal names the account by its id again: %s", errOut)
			}
			var refused *store.RefusedError
			if !errors.As(err, &refused) || refused.Code != store.CodeDeactivated || !errors.Is(err, store.ErrNotFound) {
				t.Errorf("add: the failures' errors are not kept: %#v", err)
			}
			// One account: its error, naming it.
			_, _, err = adminCLI(t, dsn, "user", "deactivate", "ghost")
			if err == nil || !strings.HasPrefix(err.Error(), "ghost: ") || cliCode(err) != store.CodeNotFound {
				t.Errorf("deactivate ghost: %v", err)
			}
		})
	}
}

// Without --confirm, delete asks on a terminal and deletes only on "yes".
func TestAdminCLIDeleteConfirm(t *testing.T) {
	term, input := stdinIsTerminal, confirmInput
	t.Cleanup(func() { stdinIsTerminal, confirmInput = term, input })
	stdinIsTerminal = func() bool { return true }
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			mustCLI(t, dsn, "user", "create", "--email", "alice@example.com", "--username", "alice", "--password", "Passw0rd!x")
			for _, answer := range []string{"no\n", "", "yes please\n", strings.Repeat("y", 100) + "yes\n"} {
				confirmInput = strings.NewReader(answer)
				_, errOut, err := adminCLI(t, dsn, "user", "delete", "alice")
				if cliCode(err) != "usage" || !strings.Contains(err.Error(), "not confirmed") || !strings.Contains(errOut, "Type yes") {
					t.Errorf("answer %q: %v\n%s", answer, err, errOut)
				}
			}
			mustCLI(t, dsn, "user", "show", "alice")
			confirmInput = strings.NewReader("yes\n")
			out, _ := mustCLI(t, dsn, "user", "delete", "alice")
			if !strings.HasPrefix(out, "deleted alice") {
				t.Errorf("delete said %q", out)
			}
			if _, _, err := adminCLI(t, dsn, "user", "show", "alice"); cliCode(err) != store.CodeNotFound {
				t.Errorf("alice after delete: %v", err)
			}
		})
	}
}

// /dev/null and a pipe are no terminal to ask on.
func TestStdinIsTerminal(t *testing.T) {
	orig := os.Stdin
	t.Cleanup(func() { os.Stdin = orig })
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, f := range []*os.File{null, r} {
		os.Stdin = f
		if stdinIsTerminal() {
			t.Errorf("%s is taken for a terminal", f.Name())
		}
	}
}

// TestGroupList: "user show" marks the groups an account is in only through nested
// groups.
func TestGroupList(t *testing.T) {
	for _, c := range []struct {
		groups []store.GroupRef
		want   string
	}{
		{nil, ""},
		{[]store.GroupRef{{DisplayName: "Backend"}}, "Backend"},
		{[]store.GroupRef{{DisplayName: "Backend"}, {DisplayName: "Eng", Indirect: true}}, "Backend, Eng (indirect)"},
	} {
		if got := groupList(c.groups); got != c.want {
			t.Errorf("groupList(%v) = %q, want %q", c.groups, got, c.want)
		}
	}
}

// "user show" marks an account's indirect groups, as text and as --json.
func TestUserShowIndirectGroups(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			ctx := context.Background()
			st := adminCLIStore(t, dsn)
			u := store.User{UserName: "nested@example.com", Active: true}
			if err := st.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			backend := store.Group{DisplayName: "Backend"}
			if err := st.CreateGroup(ctx, &backend, []string{u.ID}); err != nil {
				t.Fatal(err)
			}
			eng := store.Group{DisplayName: "Eng"}
			if err := st.CreateGroup(ctx, &eng, []string{backend.ID}); err != nil {
				t.Fatal(err)
			}
			out, _ := mustCLI(t, dsn, "user", "show", u.ID)
			if !strings.Contains(out, "groups:       Backend, Eng (indirect)\n") {
				t.Errorf("user show:\n%s", out)
			}
			out, _ = mustCLI(t, dsn, "user", "show", "--json", u.ID)
			want := fmt.Sprintf(`"groups":[{"id":"%s","display_name":"Backend"},{"id":"%s","display_name":"Eng","indirect":true}]`, backend.ID, eng.ID)
			if !strings.Contains(strings.Join(strings.Fields(out), ""), want) {
				t.Errorf("user show --json: want %s in\n%s", want, out)
			}
		})
	}
}
