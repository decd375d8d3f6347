package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// Bulk export and import (store.Bulk): the export's order, snapshot and selection; the
// import's matching, idempotence, rules, journal, dry run, errors and limits.

// bulkRecorder is a BulkSink that renders what it receives as lines. before, when set,
// runs before the first user is recorded (a write during an export).
type bulkRecorder struct {
	lines  []string
	before func() error
}

func (r *bulkRecorder) Team(t store.ExportTeam) error {
	r.lines = append(r.lines, fmt.Sprintf("team %s %q %s", t.Name, t.DisplayName, t.Type))
	return nil
}

func (r *bulkRecorder) Channel(c store.ExportChannel) error {
	r.lines = append(r.lines, fmt.Sprintf("channel %s/%s %q %s", c.Team, c.Name, c.DisplayName, c.Type))
	return nil
}

func (r *bulkRecorder) User(u store.ExportUser) error {
	if r.before != nil {
		before := r.before
		r.before = nil
		if err := before(); err != nil {
			return err
		}
	}
	// Roles other than a plain member's are part of the line (roles.go): an account's
	// after its name, a membership's in braces after its name.
	if u.ID == "" || u.Roles == "" {
		return fmt.Errorf("user %s: id %q, roles %q", u.Username, u.ID, u.Roles)
	}
	roles := func(name, roles, plain string) string {
		if roles == plain {
			return name
		}
		return name + "{" + roles + "}"
	}
	var teams []string
	for _, t := range u.Teams {
		var chans []string
		for _, c := range t.Channels {
			chans = append(chans, roles(c.Name, c.Roles, store.RoleChannelUser))
		}
		teams = append(teams, roles(t.Name, t.Roles, store.RoleTeamUser)+"["+strings.Join(chans, " ")+"]")
	}
	r.lines = append(r.lines, fmt.Sprintf("user %s %s ext=%s %s %s/%s nick=%s pos=%s locale=%s deleted=%v %s",
		roles(u.Username, u.Roles, store.RoleSystemUser), u.UserName, u.ExternalID, u.Email, u.FirstName, u.LastName, u.Nickname, u.Position, u.Locale,
		u.DeleteAt != 0, strings.Join(teams, " ")))
	return nil
}

// exportLines exports q and returns the lines.
func exportLines(t *testing.T, s store.Store, q store.ExportQuery) []string {
	t.Helper()
	var r bulkRecorder
	if err := s.ExportChat(context.Background(), q, &r); err != nil {
		t.Fatal(err)
	}
	return r.lines
}

func mustImport(t *testing.T, s store.Store, ctx context.Context, b store.ImportBatch, opts store.ImportOptions) store.ImportReport {
	t.Helper()
	rep, err := s.ImportChat(ctx, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// exampleBatch: two teams, a public and a private channel, an account in a team and
// two of its channels, one in two teams, one in none (rule 1), one deactivated.
func exampleBatch() store.ImportBatch {
	return store.ImportBatch{
		Teams: []store.ImportTeam{{Line: 2, Name: "eng", DisplayName: "Engineering", Type: store.TeamInviteOnly},
			{Line: 3, Name: "ops", DisplayName: "Ops", Type: store.TeamOpen}},
		Channels: []store.ImportChannel{{Line: 4, Team: "eng", Name: "backend", DisplayName: "Backend", Type: store.ChannelOpen},
			{Line: 5, Team: "eng", Name: "secret", DisplayName: "Secret", Type: store.ChannelPrivate}},
		Users: []store.ImportUser{
			{Line: 6, Username: "alice", Email: "Alice@Example.com", ExternalID: "00u1", FirstName: "Alice", LastName: "Liddell",
				Nickname: "al", Position: "Dev", Locale: "fr", PasswordHash: "hash",
				Teams: []store.ImportTeamMembership{{Name: "eng", Channels: []string{"backend", "secret"}}}},
			{Line: 7, Username: "bob", Email: "bob@example.com",
				Teams: []store.ImportTeamMembership{{Name: "ops"}, {Name: "eng", Channels: []string{"backend"}}}},
			{Line: 8, Username: "carol", Email: "carol@example.com"},
			{Line: 9, Username: "dave", Email: "dave@example.com", DeleteAt: 1700000000000,
				Teams: []store.ImportTeamMembership{{Name: "ops"}}},
		},
	}
}

// exampleExport is the export of exampleBatch imported into an empty store, without the
// deactivated account.
var exampleExport = []string{
	`team eng "Engineering" I`,
	`team everyone "everyone" O`,
	`team ops "Ops" O`,
	`channel eng/backend "Backend" O`,
	`channel eng/off-topic "Off-Topic" O`,
	`channel eng/secret "Secret" P`,
	`channel eng/town-square "Town Square" O`,
	`channel everyone/off-topic "Off-Topic" O`,
	`channel everyone/town-square "Town Square" O`,
	`channel ops/off-topic "Off-Topic" O`,
	`channel ops/town-square "Town Square" O`,
	`user alice Alice@Example.com ext=00u1 alice@example.com Alice/Liddell nick=al pos=Dev locale=fr deleted=false eng[backend off-topic secret town-square]`,
	`user bob bob@example.com ext= bob@example.com / nick= pos= locale= deleted=false eng[backend off-topic town-square] ops[off-topic town-square]`,
	`user carol carol@example.com ext= carol@example.com / nick= pos= locale= deleted=false everyone[off-topic town-square]`,
}

// userByName finds a live user by userName.
func userByName(t *testing.T, s store.Store, userName string) store.User {
	t.Helper()
	users, _, err := s.ListUsers(context.Background(), store.Query{Filter: parseFilter(t, `userName eq "`+userName+`"`), Count: 2})
	if err != nil || len(users) != 1 {
		t.Fatalf("user %q: %v, %d found", userName, err, len(users))
	}
	return users[0]
}

func testBulkImportCreates(t *testing.T, s store.Store) {
	ctx := context.Background()
	rep := mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{Verbose: true})
	// eng, ops and the default team (rule 1, for carol), each with town-square and
	// off-topic; eng/backend and eng/secret.
	want := store.ImportReport{TeamsCreated: 3, ChannelsCreated: 8, UsersCreated: 4, UsersDeactivated: 0,
		TeamMembershipsAdded: 5, ChannelMembershipsAdded: 13}
	if got := rep; got.TeamsCreated != want.TeamsCreated || got.ChannelsCreated != want.ChannelsCreated || got.UsersCreated != want.UsersCreated ||
		got.TeamMembershipsAdded != want.TeamMembershipsAdded || got.ChannelMembershipsAdded != want.ChannelMembershipsAdded ||
		got.TeamsUpdated+got.ChannelsUpdated+got.UsersUpdated+got.UsersDeactivated+got.UsersReactivated != 0 {
		t.Fatalf("report %+v, want %+v", got, want)
	}
	for _, line := range []string{"team eng created", "channel eng/secret created", "user alice created",
		"alice joined eng", "alice joined eng/secret", "carol joined everyone/town-square"} {
		if !slices.Contains(rep.Changes, line) {
			t.Fatalf("changes lack %q: %q", line, rep.Changes)
		}
	}
	// Imported users are SCIM users: userName = email, externalId = auth_data.
	alice := userByName(t, s, "Alice@Example.com")
	if alice.ExternalID != "00u1" || alice.Name.GivenName != "Alice" || alice.Name.FamilyName != "Liddell" || alice.NickName != "al" ||
		alice.Title != "Dev" || alice.Locale != "fr" || !alice.Active || alice.Account.Username != "alice" ||
		fmt.Sprint(alice.Emails) != fmt.Sprint([]store.MultiValue{{Value: "Alice@Example.com", Type: "work", Primary: true}}) {
		t.Fatalf("alice: %+v", alice)
	}
	// The private channel is joined by the account that names it only; rule 1 gives carol
	// the default team; the deactivated account keeps its team with its team-join channels.
	wantAccount(t, s, alice.ID, []string{"eng"}, []string{"eng/backend", "eng/off-topic", "eng/secret", "eng/town-square"})
	bob := userByName(t, s, "bob@example.com")
	wantAccount(t, s, bob.ID, []string{"eng", "ops"}, []string{"eng/backend", "eng/off-topic", "eng/town-square", "ops/off-topic", "ops/town-square"})
	wantAccount(t, s, userByName(t, s, "carol@example.com").ID, []string{"everyone"}, everyoneDefault)
	dave := userByName(t, s, "dave@example.com")
	if dave.Active || dave.Account.DeleteAt != 1700000000000 {
		t.Fatalf("dave: active %v, delete_at %d", dave.Active, dave.Account.DeleteAt)
	}
	wantAccount(t, s, dave.ID, []string{"ops"}, []string{"ops/off-topic", "ops/town-square"})
	teams, err := s.ListTeams(ctx)
	if err != nil || len(teams) != 3 || teams[0].Type != store.TeamInviteOnly || teams[2].Type != store.TeamOpen {
		t.Fatalf("teams: %+v, %v", teams, err)
	}
	wantLines(t, "export", exportLines(t, s, store.ExportQuery{}), exampleExport)
}

func testBulkImportIdempotent(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{})
	before, cursor := exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}), head(t, s)
	rep := mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{Verbose: true})
	if fmt.Sprint(rep) != fmt.Sprint(store.ImportReport{}) {
		t.Fatalf("second import reported %+v", rep)
	}
	wantLines(t, "export after the second import", exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}), before)
	if lines, _ := journalSince(t, s, cursor); len(lines) > 0 {
		t.Fatalf("second import journaled %q", lines)
	}
}

func testBulkImportDryRun(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustUser(t, s, "zoe@example.com", "")
	before, cursor := exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}), head(t, s)
	dry := mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{DryRun: true, Verbose: true})
	wantLines(t, "export after a dry run", exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}), before)
	if lines, _ := journalSince(t, s, cursor); len(lines) > 0 {
		t.Fatalf("dry run journaled %q", lines)
	}
	real := mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{Verbose: true})
	if fmt.Sprint(dry) != fmt.Sprint(real) || dry.UsersCreated != 4 {
		t.Fatalf("dry run reported\n %+v\nthe import\n %+v", dry, real)
	}
}

func testBulkImportMatches(t *testing.T, s store.Store) {
	ctx := context.Background()
	// by externalId, by email (without regard to case), by chat username; externalId wins.
	one := mustUser(t, s, "one@example.com", "ext-1")
	two := store.User{UserName: "two", Active: true, Emails: []store.MultiValue{{Value: "Two@Example.com", Type: "work", Primary: true}}}
	if err := s.CreateUser(ctx, &two); err != nil {
		t.Fatal(err)
	}
	three := mustUser(t, s, "three", "")
	// An explicit primary false survives the import's new primary email.
	if _, err := s.UpdateUser(ctx, three.ID, 0, func(u *store.User) error {
		u.Emails = append(u.Emails, store.MultiValue{Value: "three-home@example.com", Type: "home", PrimaryFalse: true})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	four := mustUser(t, s, "four@example.com", "ext-4")
	five := mustUser(t, s, "five@example.com", "")
	rep := mustImport(t, s, ctx, store.ImportBatch{Users: []store.ImportUser{
		{Line: 1, Username: "uno", Email: "uno@example.com", ExternalID: "ext-1"},
		{Line: 2, Username: "dos", Email: "TWO@example.com", ExternalID: "ext-2"},
		{Line: 3, Username: "three", Email: "tres@example.com", Nickname: "3"},
		{Line: 4, Username: "four", Email: "five@example.com", ExternalID: "ext-4"},
	}}, store.ImportOptions{})
	if rep.UsersCreated != 0 || rep.UsersUpdated != 4 {
		t.Fatalf("report %+v", rep)
	}
	for _, c := range []struct {
		id, userName, ext, username, email string
		emails                             int
	}{
		{one.ID, "one@example.com", "ext-1", "uno", "uno@example.com", 2},
		{two.ID, "two", "ext-2", "dos", "two@example.com", 1},
		{three.ID, "three", "", "three", "tres@example.com", 3},
		{four.ID, "four@example.com", "ext-4", "four", "five@example.com", 2},
		{five.ID, "five@example.com", "", "five", "five@example.com", 1},
	} {
		u, err := s.GetUser(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if u.UserName != c.userName || u.ExternalID != c.ext || u.Account.Username != c.username || u.Account.Email != c.email ||
			len(u.Emails) != c.emails || !u.Emails[0].Primary || u.Version < 2 && c.id != five.ID {
			t.Fatalf("%s: userName %q ext %q username %q email %q emails %+v version %d", c.userName, u.UserName, u.ExternalID,
				u.Account.Username, u.Account.Email, u.Emails, u.Version)
		}
	}
	if u, _ := s.GetUser(ctx, three.ID); u.NickName != "3" || u.Emails[1].Primary || u.Emails[1].PrimaryFalse ||
		u.Emails[2].Value != "three-home@example.com" || u.Emails[2].Primary || !u.Emails[2].PrimaryFalse {
		t.Fatalf("three's nickName %q, emails %+v (the former primary left out, the explicit false kept)", u.NickName, u.Emails)
	}
}

func testBulkImportNeverRemoves(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{})
	alice := userByName(t, s, "Alice@Example.com")
	mustGroup(t, s, "Sales", "", alice.ID) // unmapped groups become teams: sales
	// A line that gives less: no names, no teams, another team only.
	rep := mustImport(t, s, ctx, store.ImportBatch{Users: []store.ImportUser{
		{Line: 1, Username: "alice", Email: "alice@example.com", Teams: []store.ImportTeamMembership{{Name: "ops"}}}}}, store.ImportOptions{})
	if rep.UsersUpdated != 0 || rep.TeamMembershipsAdded != 1 {
		t.Fatalf("report %+v", rep)
	}
	u, err := s.GetUser(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name.GivenName != "Alice" || u.NickName != "al" || u.ExternalID != "00u1" || u.Locale != "fr" {
		t.Fatalf("alice lost attributes: %+v", u)
	}
	wantAccount(t, s, alice.ID, []string{"eng", "ops", "sales"}, []string{"eng/backend", "eng/off-topic", "eng/secret", "eng/town-square",
		"ops/off-topic", "ops/town-square", "sales/off-topic", "sales/town-square"})
}

func testBulkImportActivity(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{})
	alice := userByName(t, s, "Alice@Example.com")
	teams, channels := account(t, s, alice.ID).Teams, account(t, s, alice.ID).Channels
	line := store.ImportUser{Line: 1, Username: "alice", Email: "alice@example.com", DeleteAt: 1234}
	for i, want := range []int{1, 0} { // the second time, nothing to do
		rep := mustImport(t, s, ctx, store.ImportBatch{Users: []store.ImportUser{line}}, store.ImportOptions{})
		if rep.UsersDeactivated != want || rep.UsersUpdated != 0 {
			t.Fatalf("deactivation %d: %+v", i, rep)
		}
	}
	u, err := s.GetUser(ctx, alice.ID)
	if err != nil || u.Active || u.Account.DeleteAt != 1234 || u.Account.Status != store.StatusOffline {
		t.Fatalf("deactivated alice: %+v, %v", u.Account, err)
	}
	wantAccount(t, s, alice.ID, teams, channels) // kept
	line.DeleteAt = 0                            // not given: activity as it is
	if rep := mustImport(t, s, ctx, store.ImportBatch{Users: []store.ImportUser{line}}, store.ImportOptions{}); rep.UsersReactivated != 0 {
		t.Fatalf("delete_at left out reactivated: %+v", rep)
	}
	line.Reactivate = true
	if rep := mustImport(t, s, ctx, store.ImportBatch{Users: []store.ImportUser{line}}, store.ImportOptions{}); rep.UsersReactivated != 1 {
		t.Fatalf("reactivation: %+v", rep)
	}
	if u, _ := s.GetUser(ctx, alice.ID); !u.Active || u.Account.DeleteAt != 0 {
		t.Fatalf("reactivated alice: %+v", u.Account)
	}
	wantAccount(t, s, alice.ID, teams, channels)
}

func testBulkImportJournal(t *testing.T, s store.Store) {
	mustUser(t, s, "zoe@example.com", "") // the default team exists already
	cursor := head(t, s)
	ctx := store.WithActor(context.Background(), store.ActorImport)
	b := store.ImportBatch{
		Teams:    []store.ImportTeam{{Line: 1, Name: "eng"}},
		Channels: []store.ImportChannel{{Line: 2, Team: "eng", Name: "backend"}},
		Users: []store.ImportUser{{Line: 3, Username: "alice", Email: "alice@example.com", ExternalID: "00u1",
			Teams: []store.ImportTeamMembership{{Name: "eng", Channels: []string{"backend"}}}}},
	}
	mustImport(t, s, ctx, b, store.ImportOptions{})
	b.Users[0].Nickname, b.Users[0].DeleteAt = "al", 99
	mustImport(t, s, ctx, b, store.ImportOptions{})
	b.Users[0].DeleteAt, b.Users[0].Reactivate = 0, true
	mustImport(t, s, ctx, b, store.ImportOptions{})
	// A team's display name and a channel's type, then both of each again (unchanged:
	// nothing journaled).
	b.Teams[0].DisplayName, b.Channels[0].Type = "Engineering", store.ChannelPrivate
	mustImport(t, s, ctx, b, store.ImportOptions{})
	b.Teams[0].Type, b.Channels[0].DisplayName = store.TeamInviteOnly, "Back end"
	mustImport(t, s, ctx, b, store.ImportOptions{})
	mustImport(t, s, ctx, b, store.ImportOptions{})
	lines, _ := journalSince(t, s, cursor)
	wantLines(t, "journal of imports", lines, []string{
		"team.created  eng",
		"channel.created  eng/town-square",
		"channel.created  eng/off-topic",
		"channel.created  eng/backend",
		"account.created alice {active=true auth_data=00u1 email=alice@example.com username=alice}",
		"team.joined alice eng (import)",
		"channel.joined alice eng/town-square (team-join)",
		"channel.joined alice eng/off-topic (team-join)",
		"channel.joined alice eng/backend (import)",
		"account.updated alice {nickname=} {nickname=al}",
		"account.deactivated alice {active=true} {active=false}",
		"account.reactivated alice {active=false} {active=true}",
		"team.updated  eng {display_name=eng} {display_name=Engineering}",
		"channel.updated  eng/backend {type=O} {type=P}",
		"team.updated  eng {type=O} {type=I}",
		"channel.updated  eng/backend {display_name=backend} {display_name=Back end}",
	})
	for _, e := range allEvents(t, s, store.EventQuery{After: cursor}) {
		if e.Actor != store.ActorImport {
			t.Fatalf("entry %s: actor %q", eventLine(e), e.Actor)
		}
	}
}

func testBulkImportInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{})
	mustGroup(t, s, "Sales", "")
	frank := store.User{UserName: "frank@example.com", Active: true, Emails: []store.MultiValue{{Value: "f@example.com", Primary: true}}}
	if err := s.CreateUser(ctx, &frank); err != nil {
		t.Fatal(err)
	}
	gone := mustUser(t, s, "gone@example.com", "")
	if err := s.DeleteUser(ctx, gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	before, cursor := exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}), head(t, s)
	user := func(u store.ImportUser) store.ImportBatch {
		u.Line = 7
		return store.ImportBatch{Teams: []store.ImportTeam{{Line: 1, Name: "newteam"}}, Users: []store.ImportUser{u}}
	}
	long := strings.Repeat("x", store.MaxNameLength+1)
	for _, c := range []struct {
		name string
		b    store.ImportBatch
		line string // what the error names
	}{
		{"channel of no team", store.ImportBatch{Channels: []store.ImportChannel{{Line: 7, Team: "nope", Name: "x"}}}, "line 7: channel.team"},
		{"membership of no team", user(store.ImportUser{Username: "eve", Email: "eve@example.com",
			Teams: []store.ImportTeamMembership{{Name: "nope"}}}), "line 7: user.teams.name"},
		{"membership of no channel", user(store.ImportUser{Username: "eve", Email: "eve@example.com",
			Teams: []store.ImportTeamMembership{{Name: "eng", Channels: []string{"nope"}}}}), "line 7: user.teams.channels.name"},
		{"username of another account", user(store.ImportUser{Username: "bob", Email: "alice@example.com"}), "line 7: user.username"},
		{"username of a deleted account", user(store.ImportUser{Username: "gone", Email: "eve@example.com"}), "line 7: user.username"},
		{"username of a group", user(store.ImportUser{Username: "sales", Email: "eve@example.com"}), "line 7: user.username"},
		{"email that is another userName", user(store.ImportUser{Username: "frank2", Email: "Frank@example.com"}), "line 7: user.email"},
		{"no email", user(store.ImportUser{Username: "eve"}), "line 7: user.email"},
		{"name too long", user(store.ImportUser{Username: "eve", Email: "eve@example.com", FirstName: long}), "line 7: user.first_name"},
		{"invalid UTF-8", user(store.ImportUser{Username: "eve", Email: "eve@example.com", Position: "\xff"}), "line 7: user.position"},
		{"team type", store.ImportBatch{Teams: []store.ImportTeam{{Line: 7, Name: "t", Type: "P"}}}, "line 7: team.type"},
		{"channel type", store.ImportBatch{Channels: []store.ImportChannel{{Line: 7, Team: "eng", Name: "c", Type: "I"}}}, "line 7: channel.type"},
		{"private team-join channel", store.ImportBatch{Channels: []store.ImportChannel{{Line: 7, Team: "eng", Name: "off-topic",
			Type: store.ChannelPrivate}}}, "line 7: channel.type"},
		{"a team twice", store.ImportBatch{Teams: []store.ImportTeam{{Line: 6, Name: "t"}, {Line: 7, Name: "t"}}}, "line 7: team.name"},
		{"a person twice", store.ImportBatch{Users: []store.ImportUser{{Line: 6, Username: "eve", Email: "eve@example.com"},
			{Line: 7, Username: "eve2", Email: "EVE@example.com"}}}, "line 7: user.email"},
		{"two lines, one account", store.ImportBatch{Users: []store.ImportUser{{Line: 6, Username: "alice", Email: "x@example.com"},
			{Line: 7, Username: "al", Email: "y@example.com", ExternalID: "00u1"}}}, "line 7: user"},
	} {
		_, err := s.ImportChat(ctx, c.b, store.ImportOptions{})
		var inv *store.InvalidError
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.line) {
			t.Errorf("%s: %v, want an InvalidError naming %q", c.name, err, c.line)
		}
		// CheckImport finds the same, but for references (an earlier batch may create
		// what they name).
		_, err = s.CheckImport(ctx, c.b)
		var probs store.ImportProblems
		if strings.HasPrefix(c.name, "membership of") || strings.HasPrefix(c.name, "channel of") {
			if err != nil {
				t.Errorf("CheckImport of a %s: %v, want nil", c.name, err)
			}
		} else if !errors.As(err, &probs) || len(probs) != 1 || !strings.Contains(probs[0].String(), c.line) {
			t.Errorf("CheckImport of a %s: %v, want one problem naming %q", c.name, err, c.line)
		}
	}
	// Every problem at once, in line order, from both.
	several := store.ImportBatch{Users: []store.ImportUser{
		{Line: 3, Username: "bob", Email: "alice@example.com"},                // finds alice, renames her to bob
		{Line: 4, Username: "eve", Email: "eve@example.com"},                  // fine
		{Line: 5, Username: "sales", Email: "sales@example.com"},              // a group's name
		{Line: 6, Username: "frank2", Email: "frank@example.com"},             // frank's userName
		{Line: 8, Username: "gone", Email: "x@example.com"},                   // a deleted account's
		{Line: 9, Username: "al", Email: "y@example.com", ExternalID: "00u1"}, // alice again
	}}
	want := []string{"line 3: user.username", "line 5: user.username", "line 6: user.email", "line 8: user.username", "line 9: user"}
	for _, call := range []struct {
		name string
		fn   func() error
	}{
		{"CheckImport", func() error { _, err := s.CheckImport(ctx, several); return err }},
		{"ImportChat", func() error { _, err := s.ImportChat(ctx, several, store.ImportOptions{}); return err }},
	} {
		var probs store.ImportProblems
		if err := call.fn(); !errors.As(err, &probs) || !errors.Is(err, store.ErrInvalid) || len(probs) != len(want) {
			t.Errorf("%s of several problems: %v (%v), want %q", call.name, err, probs, want)
			continue
		}
		for i, p := range probs {
			if got := fmt.Sprintf("line %d: %s", p.Line, p.Field); got != want[i] {
				t.Errorf("%s: problem %d is %s (%s), want %s", call.name, i, got, p.Reason, want[i])
			}
		}
	}
	wantLines(t, "export after refused imports", exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}), before)
	if lines, _ := journalSince(t, s, cursor); len(lines) > 0 {
		t.Fatalf("refused imports journaled %q", lines)
	}
}

// A line's new email is made its account's primary one, its other emails kept: both
// CheckImport and ImportChat refuse one that would pass store.MaxMultiValues, and take
// one that replaces an email the account has.
func testBulkImportEmailLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	full := store.User{UserName: "full@example.com", Active: true}
	for i := range store.MaxMultiValues {
		full.Emails = append(full.Emails, store.MultiValue{Value: fmt.Sprintf("full%d@example.com", i), Primary: i == 0})
	}
	if err := s.CreateUser(ctx, &full); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	name := got.Account.Username
	over := store.ImportBatch{Users: []store.ImportUser{{Line: 4, Username: name, Email: "one-more@example.com"}}}
	var probs store.ImportProblems
	if _, err := s.CheckImport(ctx, over); !errors.As(err, &probs) || len(probs) != 1 || probs[0].Line != 4 || probs[0].Field != "user.email" {
		t.Fatalf("CheckImport of a 101st email: %v", err)
	}
	if _, err := s.ImportChat(ctx, over, store.ImportOptions{}); !errors.As(err, &probs) || probs[0].Field != "user.email" {
		t.Fatalf("ImportChat of a 101st email: %v", err)
	}
	// One of its emails made the primary one: still 100.
	// CheckImport says which account each line finds ("" for a new one).
	same := store.ImportBatch{Users: []store.ImportUser{{Line: 4, Username: name, Email: "FULL7@example.com"},
		{Line: 5, Username: "newcomer", Email: "newcomer@example.com"}}}
	if chk, err := s.CheckImport(ctx, same); err != nil || !slices.Equal(chk.Accounts, []string{full.ID, ""}) {
		t.Fatalf("CheckImport of an email it has: %v, %q", err, chk.Accounts)
	}
	same.Users = same.Users[:1]
	if rep := mustImport(t, s, ctx, same, store.ImportOptions{}); rep.UsersUpdated != 1 {
		t.Fatalf("an email it has: %+v", rep)
	}
}

func testBulkImportBatchLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{})
	users := func(n int, teams []store.ImportTeamMembership) store.ImportBatch {
		var b store.ImportBatch
		for i := range n {
			b.Users = append(b.Users, store.ImportUser{Line: i + 1, Username: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i), Teams: teams})
		}
		return b
	}
	// Items: MaxImportBatch accounts (rule 1 for each), then one more.
	if rep := mustImport(t, s, ctx, users(store.MaxImportBatch, nil), store.ImportOptions{DryRun: true}); rep.UsersCreated != store.MaxImportBatch {
		t.Fatalf("a full batch: %+v", rep)
	}
	var inv *store.InvalidError
	if _, err := s.ImportChat(ctx, users(store.MaxImportBatch+1, nil), store.ImportOptions{}); !errors.As(err, &inv) {
		t.Fatalf("a batch of %d items: %v", store.MaxImportBatch+1, err)
	}
	// Memberships: a team and four channels each (team and channel memberships count).
	five := []store.ImportTeamMembership{{Name: "eng", Channels: []string{"backend", "secret", "off-topic", "town-square"}}}
	rep := mustImport(t, s, ctx, users(store.MaxImportBatch/5, five), store.ImportOptions{})
	if rep.UsersCreated != store.MaxImportBatch/5 || rep.ChannelMembershipsAdded != 4*store.MaxImportBatch/5 {
		t.Fatalf("a batch of %d memberships: %+v", store.MaxImportBatch, rep)
	}
	over := users(store.MaxImportBatch/5, five)
	over.Users[0].Teams = append(slices.Clone(five), store.ImportTeamMembership{Name: "ops"})
	if _, err := s.ImportChat(ctx, over, store.ImportOptions{}); !errors.As(err, &inv) {
		t.Fatalf("a batch of %d memberships: %v", store.MaxImportBatch+1, err)
	}
}

func testBulkExportSelection(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{})
	gone := mustUser(t, s, "gone@example.com", "")
	if err := s.DeleteUser(ctx, gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	// Deactivated accounts when asked, SCIM-deleted ones never.
	all := exportLines(t, s, store.ExportQuery{IncludeDeactivated: true})
	wantLines(t, "export with deactivated accounts", all[len(all)-4:], append(slices.Clone(exampleExport[len(exampleExport)-3:]),
		`user dave dave@example.com ext= dave@example.com / nick= pos= locale= deleted=true ops[off-topic town-square]`))
	// Teams: those teams, their channels, their members with those memberships only.
	wantLines(t, "export of ops and eng", exportLines(t, s, store.ExportQuery{Teams: []string{"ops", "eng"}, IncludeDeactivated: true}), []string{
		`team eng "Engineering" I`,
		`team ops "Ops" O`,
		`channel eng/backend "Backend" O`,
		`channel eng/off-topic "Off-Topic" O`,
		`channel eng/secret "Secret" P`,
		`channel eng/town-square "Town Square" O`,
		`channel ops/off-topic "Off-Topic" O`,
		`channel ops/town-square "Town Square" O`,
		`user alice Alice@Example.com ext=00u1 alice@example.com Alice/Liddell nick=al pos=Dev locale=fr deleted=false eng[backend off-topic secret town-square]`,
		`user bob bob@example.com ext= bob@example.com / nick= pos= locale= deleted=false eng[backend off-topic town-square] ops[off-topic town-square]`,
		`user dave dave@example.com ext= dave@example.com / nick= pos= locale= deleted=true ops[off-topic town-square]`,
	})
	var r bulkRecorder
	if err := s.ExportChat(ctx, store.ExportQuery{Teams: []string{"eng", "nope"}}, &r); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("export of an unknown team: %v", err)
	}
	// A sink's error ends the export with it.
	boom := errors.New("boom")
	r = bulkRecorder{before: func() error { return boom }}
	if err := s.ExportChat(ctx, store.ExportQuery{}, &r); !errors.Is(err, boom) {
		t.Fatalf("export with a failing sink: %v", err)
	}
}

// testBulkExportSnapshot: writes committed while an export runs (here, from its sink,
// between its reads) do not show in it, and are not held up by it.
func testBulkExportSnapshot(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{})
	first := exportLines(t, s, store.ExportQuery{})
	r := bulkRecorder{before: func() error {
		mustUser(t, s, "aaron@example.com", "") // sorts first among the accounts
		_, err := s.ImportChat(ctx, store.ImportBatch{Teams: []store.ImportTeam{{Line: 1, Name: "aaa"}},
			Users: []store.ImportUser{{Line: 2, Username: "zed", Email: "zed@example.com", Teams: []store.ImportTeamMembership{{Name: "eng"}}}}},
			store.ImportOptions{})
		return err
	}}
	if err := s.ExportChat(ctx, store.ExportQuery{}, &r); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "export during writes", r.lines, first)
	again := exportLines(t, s, store.ExportQuery{})
	if len(again) != len(first)+5 { // team aaa and its two channels, aaron, zed
		t.Fatalf("export after the writes:\n%s", strings.Join(again, "\n"))
	}
	wantLines(t, "a second export", exportLines(t, s, store.ExportQuery{}), again)
}

// testBulkImportTeamLackingJoinChannel: a new account imported into a team made under
// other rules joins the team-join channels of the rules in force, which the import
// creates in that team.
func testBulkImportTeamLackingJoinChannel(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustImport(t, s, ctx, store.ImportBatch{Teams: []store.ImportTeam{{Line: 1, Name: "eng"}}}, store.ImportOptions{})
	useRules(t, s, "default_channels: [general]\n")
	rep := mustImport(t, s, ctx, store.ImportBatch{Users: []store.ImportUser{{Line: 1, Username: "alice", Email: "alice@example.com",
		Teams: []store.ImportTeamMembership{{Name: "eng"}}}}}, store.ImportOptions{})
	if rep.TeamMembershipsAdded != 1 || rep.ChannelMembershipsAdded != 2 {
		t.Fatalf("report %+v", rep)
	}
	wantAccount(t, s, userByName(t, s, "alice@example.com").ID, []string{"eng"}, []string{"eng/general", "eng/town-square"})
}

// testBulkImportCreatesNothingUnneeded: a batch whose accounts all have a team needs no
// default team, so none is created, neither the first time nor when it is applied again
// (where every account exists and nothing changes).
func testBulkImportCreatesNothingUnneeded(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := store.ImportBatch{Teams: []store.ImportTeam{{Line: 1, Name: "eng"}},
		Users: []store.ImportUser{{Line: 2, Username: "alice", Email: "alice@example.com", Teams: []store.ImportTeamMembership{{Name: "eng"}}}}}
	for i := range 2 {
		rep := mustImport(t, s, ctx, b, store.ImportOptions{})
		if i == 1 && fmt.Sprint(rep) != fmt.Sprint(store.ImportReport{}) {
			t.Fatalf("second import reported %+v", rep)
		}
		if teams, err := s.ListTeams(ctx); err != nil || len(teams) != 1 {
			t.Fatalf("import %d: teams %+v, %v", i, teams, err)
		}
	}
}

// testConcurrentImports applies the same batch of new accounts from two replicas at
// once, and SCIM creates of some of the same people beside them: every call succeeds
// (a transaction that lost the race for a name runs again and matches the account the
// other made), each person is one account, and the rules hold.
func testConcurrentImports(t *testing.T, open func() store.Store) {
	s1, s2 := replicas(t, open, "default_team: everyone\n")
	ctx := context.Background()
	mustImport(t, s1, ctx, store.ImportBatch{Teams: []store.ImportTeam{{Line: 1, Name: "eng"}}}, store.ImportOptions{})
	var b store.ImportBatch
	for i := range 40 {
		b.Users = append(b.Users, store.ImportUser{Line: i + 1, Username: fmt.Sprintf("p%d", i), Email: fmt.Sprintf("p%d@example.com", i),
			Teams: []store.ImportTeamMembership{{Name: "eng"}}})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	created := make(chan int, 4)
	for _, s := range []store.Store{s1, s2, s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := s.ImportChat(ctx, b, store.ImportOptions{})
			errs <- err
			created <- rep.UsersCreated
		}()
	}
	wg.Add(1)
	go func() { // SCIM creates of p0…p9, whose usernames and userNames an import wants
		defer wg.Done()
		for i := range 10 {
			u := store.User{UserName: fmt.Sprintf("p%d@example.com", i), Active: true,
				Emails: []store.MultiValue{{Value: fmt.Sprintf("p%d@example.com", i), Primary: true}}}
			if err := s2.CreateUser(ctx, &u); err != nil && !errors.Is(err, store.ErrConflict) {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	close(created)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for n := range created {
		total += n
	}
	_, n, err := s1.ListUsers(ctx, store.Query{})
	if err != nil || n != 40 || total > 40 {
		t.Fatalf("%d users (%v), %d created by imports; want 40 people, one account each", n, err, total)
	}
}

// testBulkImportIsReconciled: what an import leaves is what the rules give, so a
// reconcile of every account afterwards (ApplyRules under rules that differ only by a
// group rule matching nothing) changes no membership.
func testBulkImportIsReconciled(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustUser(t, s, "zoe@example.com", "")
	mustImport(t, s, ctx, exampleBatch(), store.ImportOptions{})
	b := exampleBatch() // again, with more: a matched account given a team, one reactivated
	b.Users[2].Teams = []store.ImportTeamMembership{{Name: "ops"}}
	b.Users[3].DeleteAt, b.Users[3].Reactivate = 0, true
	mustImport(t, s, ctx, b, store.ImportOptions{})
	before, cursor := exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}), head(t, s)
	useRules(t, s, "groups:\n  - match: {displayName: \"No Such Group\"}\n    teams: [eng]\n")
	if _, err := s.ApplyRules(ctx, acceptAll); err != nil {
		t.Fatal(err)
	}
	if lines, _ := journalSince(t, s, cursor); len(lines) > 0 {
		t.Fatalf("a reconcile after the import changed %q", lines)
	}
	wantLines(t, "export after a reconcile", exportLines(t, s, store.ExportQuery{IncludeDeactivated: true}), before)
}
