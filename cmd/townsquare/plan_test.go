package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// planBaseYAML maps two groups to two teams; other groups map to nothing.
const planBaseYAML = `default_team: everyone
unmapped_groups: ignore
groups:
  - match: {displayName: "Engineering"}
    teams: [engineering]
  - match: {displayName: "Sales"}
    teams: [sales]
`

// planRenamedYAML moves engineering's rule from Engineering to Platform: alice and bob
// leave engineering for the default team, dave joins it, and 9 of 15 memberships end.
var planRenamedYAML = strings.Replace(planBaseYAML, `"Engineering"`, `"Platform"`, 1)

// planFixture makes a database at dsn with planBaseYAML applied: alice and bob in
// Engineering, carol in Sales, dave in Platform, erin in no group. It writes the two
// mapping files and returns their paths.
func planFixture(t *testing.T, dsn string) (base, renamed string) {
	t.Helper()
	dir := t.TempDir()
	base, renamed = filepath.Join(dir, "base.yaml"), filepath.Join(dir, "renamed.yaml")
	if err := writeFile(base, planBaseYAML); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(renamed, planRenamedYAML); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg, err := rules.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	st.SetRules(cfg)
	ids := map[string]string{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		u := store.User{UserName: name, Active: true, Emails: []store.MultiValue{{Value: name + "@example.com", Primary: true}}}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		ids[name] = u.ID
	}
	for group, members := range map[string][]string{"Engineering": {"alice", "bob"}, "Sales": {"carol"}, "Platform": {"dave"}} {
		var m []string
		for _, name := range members {
			m = append(m, ids[name])
		}
		if err := st.CreateGroup(ctx, &store.Group{DisplayName: group}, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ApplyRules(ctx, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	return base, renamed
}

// journalHead is the database's journal head: what a plan must leave as it is.
func journalHead(t *testing.T, dsn string) int64 {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, _, err := st.JournalHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const planRenamedOutput = `mapping change: 2 groups remapped; teams +3 join, -3 leave; channels +6 join, -6 leave; 9 of 15 memberships removed (max_removals_on_reload 10%: over it: a server refuses it without --accept-mapping-change)
  engineering: +1 join, -2 leave
  everyone: +2 join, -1 leave
  engineering/off-topic: +1 join, -2 leave
  engineering/town-square: +1 join, -2 leave
  everyone/off-topic: +2 join, -1 leave
  everyone/town-square: +2 join, -1 leave
serve refuses it at start-up: 9 of 15 memberships removed is more than max_removals_on_reload (10%) allows; start it with --accept-mapping-change to apply it
`

// TestPlanCommand: "townsquare plan" prints what a mapping file would change, in words or
// JSON, with each change under --verbose, flags in any order, and writes nothing.
func TestPlanCommand(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dsn := b.DSN(t)
			base, renamed := planFixture(t, dsn)
			head := journalHead(t, dsn)

			out, _, err := runCmd(t, "plan", "--config", renamed, "--database", dsn)
			if err != nil {
				t.Fatal(err)
			}
			if out != planRenamedOutput {
				t.Fatalf("plan:\n%s\nwant\n%s", out, planRenamedOutput)
			}
			out, _, err = runCmd(t, "plan", "--database", dsn, "--config", base)
			if err != nil || out != "the mapping is the one applied: no change\n" {
				t.Fatalf("plan of the mapping applied: %q, %v", out, err)
			}

			out, _, err = runCmd(t, "plan", "--verbose", "--database", dsn, "--config", renamed)
			if err != nil {
				t.Fatal(err)
			}
			changes := out[strings.Index(out, "changes:\n"):]
			for _, want := range []string{"  team.joined dave engineering (group:", "  team.left alice engineering (group:",
				"  team.joined alice everyone (default)", "  channel.left bob engineering/town-square (team-join)"} {
				if !strings.Contains(changes, want) {
					t.Errorf("--verbose lacks %q:\n%s", want, changes)
				}
			}
			if n := strings.Count(changes, "\n  "); n != 18 {
				t.Errorf("--verbose lists %d changes, want 18:\n%s", n, changes)
			}

			out, _, err = runCmd(t, "plan", "--json", "--config", renamed, "--database", dsn)
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Changed           bool             `json:"changed"`
				GroupsRemapped    int              `json:"groups_remapped"`
				MembershipsBefore int              `json:"memberships_before"`
				Removals          int              `json:"removals"`
				Limit             string           `json:"max_removals_on_reload"`
				WithinLimit       *bool            `json:"within_limit"`
				Teams             []map[string]any `json:"teams"`
				Channels          []map[string]any `json:"channels"`
				TeamTotals        map[string]int   `json:"team_totals"`
				ChannelTotals     map[string]int   `json:"channel_totals"`
				Accounts          map[string]int   `json:"accounts"`
				Changes           []any            `json:"changes"`
				ChangesLeftOut    *int             `json:"changes_left_out"`
			}
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("--json: %v\n%s", err, out)
			}
			if !p.Changed || p.GroupsRemapped != 2 || p.MembershipsBefore != 15 || p.Removals != 9 || p.Limit != "10%" ||
				p.WithinLimit == nil || *p.WithinLimit || len(p.Teams) != 2 || p.Teams[0]["team"] != "engineering" ||
				p.Teams[0]["joins"] != 1.0 || p.Teams[0]["leaves"] != 2.0 || p.Teams[0]["admins_gained"] != 0.0 || p.Teams[0]["become_guests"] != 0.0 ||
				len(p.Channels) != 4 || p.Channels[0]["channel"] != "off-topic" || p.TeamTotals["leaves"] != 3 || p.ChannelTotals["joins"] != 6 ||
				p.Accounts["become_guests"] != 0 || len(p.Accounts) != 4 || p.Changes != nil || p.ChangesLeftOut != nil {
				t.Fatalf("--json:\n%s", out)
			}
			out, _, err = runCmd(t, "plan", "--json", "--config", base, "--database", dsn)
			if err != nil || !strings.Contains(out, `"teams": []`) || !strings.Contains(out, `"changed": false`) {
				t.Fatalf("--json of no change: %v\n%s", err, out)
			}

			if got := journalHead(t, dsn); got != head {
				t.Fatalf("plan wrote to the journal: head %d, was %d", got, head)
			}
		})
	}
}

// TestPlanCommandErrors: plan needs --config, reports a mapping file's problems with their
// lines as serve does, and takes no argument.
func TestPlanCommandErrors(t *testing.T) {
	t.Setenv("TOWNSQUARE_CONFIG", "")
	db := filepath.Join(t.TempDir(), "x.db")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := writeFile(bad, "groups:\n  - match: {displayName: x}\n    teams: [\"Admin Team\"]\n"); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := writeFile(good, planBaseYAML); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--database", db}, "plan needs --config"},
		{[]string{"plan", "--database", db, "--config", bad}, `line 3: groups[0].teams[0]: "Admin Team"`},
		{[]string{"plan", "--database", db, "--config", bad, "extra"}, "plan takes no argument"},
		{[]string{"plan", "--database", db, "--config", filepath.Join(t.TempDir(), "none.yaml")}, "none.yaml"},
		// A database not migrated is not migrated by a plan.
		{[]string{"plan", "--database", db, "--config", good}, `run "townsquare migrate"`},
	} {
		if _, _, err := runCmd(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestServeRefusesMappingChangeOverLimit: serve with a mapping that removes more than
// max_removals_on_reload refuses to start, naming --accept-mapping-change, and writes
// nothing; with the flag it applies the change, logging its plan.
func TestServeRefusesMappingChangeOverLimit(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Setenv("TOWNSQUARE_TOKEN", "")
			dsn := b.DSN(t)
			_, renamed := planFixture(t, dsn)
			head := journalHead(t, dsn)
			_, errOut, err := runCmd(t, "serve", "--addr", freeAddr(t), "--database", dsn, "--config", renamed)
			if err == nil || !strings.Contains(err.Error(), "9 of 15 memberships") || !strings.Contains(err.Error(), "--accept-mapping-change") {
				t.Fatalf("serve over the limit: %v", err)
			}
			if !strings.Contains(errOut, "mapping change: engineering: +1 join, -2 leave") || !strings.Contains(errOut, "applied=false") {
				t.Fatalf("serve's log of the refused change:\n%s", errOut)
			}
			if got := journalHead(t, dsn); got != head {
				t.Fatalf("a refused change wrote to the journal: head %d, was %d", got, head)
			}

			_, errOut = serveBriefly(t, dsn, "127.0.0.1:0", "--config", renamed, "--accept-mapping-change")
			for _, want := range []string{"removals=9", "within_limit=false", "applied=true", "mapping change: everyone/town-square: +2 join, -1 leave", "--accept-mapping-change"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("serve's log lacks %q:\n%s", want, errOut)
				}
			}
			out, _, err := runCmd(t, "plan", "--config", renamed, "--database", dsn)
			if err != nil || out != "the mapping is the one applied: no change\n" {
				t.Fatalf("after --accept-mapping-change: %q, %v", out, err)
			}
			// Started again with the same file: nothing changes, nothing is logged.
			if _, errOut = serveBriefly(t, dsn, "127.0.0.1:0", "--config", renamed); strings.Contains(errOut, "mapping change") {
				t.Fatalf("an unchanged mapping logged:\n%s", errOut)
			}
		})
	}
}
