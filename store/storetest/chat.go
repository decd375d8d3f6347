package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// adminScenario builds, on exampleRules:
//
//	alice  in Engineering and Leads (00g1abcd)
//	bob    in no group: the default team
//	carol  in Engineering and Temp, then deactivated, then Temp deleted (her rows stay)
//	dave   SCIM-deleted (deactivate mode): the account and its default team stay
type adminScenario struct {
	alice, bob, carol, dave store.User
	eng, leads, temp        store.Group
	tempPK                  int64 // Temp's internal key, named by carol's frozen rows
}

func newAdminScenario(t *testing.T, s store.Store) adminScenario {
	t.Helper()
	ctx := context.Background()
	var sc adminScenario
	sc.alice = mustUser(t, s, "alice@example.com", "00uA")
	sc.bob = mustUser(t, s, "bob@example.com", "00uB")
	sc.carol = mustUser(t, s, "carol@example.com", "00uC")
	sc.dave = mustUser(t, s, "dave@example.com", "00uD")
	sc.eng = mustGroup(t, s, "Engineering", "", sc.alice.ID, sc.carol.ID)
	sc.leads = mustGroup(t, s, "Leads", "00g1abcd", sc.alice.ID)
	sc.temp = mustGroup(t, s, "Temp", "", sc.carol.ID)
	sc.tempPK = groupPK(t, s, sc.carol.ID, sc.temp.ID)
	if _, err := s.UpdateUser(ctx, sc.carol.ID, 0, func(u *store.User) error { u.Active = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, sc.temp.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, sc.dave.ID, 0); err != nil {
		t.Fatal(err)
	}
	return sc
}

// groupPK returns the internal key that the sources of a membership of account userID
// name for the group groupID, as AccountDetails shows it while the group exists.
func groupPK(t *testing.T, s store.Store, userID, groupID string) int64 {
	t.Helper()
	d, err := s.AccountDetails(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range d.Teams {
		for _, src := range tm.Sources {
			if src.Kind == store.SourceGroup && src.Group != nil && src.Group.ID == groupID {
				return src.GroupPK
			}
		}
	}
	t.Fatalf("no membership of %s comes from group %s: %+v", userID, groupID, d.Teams)
	return 0
}

func sourceStrings(src []store.MembershipSource) string {
	var out []string
	for _, m := range src {
		out = append(out, m.String())
	}
	return "[" + strings.Join(out, " ") + "]"
}

func memberLines(p store.MemberPage) []string {
	var out []string
	for _, m := range p.Members {
		out = append(out, fmt.Sprintf("%s %s active=%v %s deleted=%v %s", m.Username, m.ID, m.Active, m.Status, m.SCIMDeleted, sourceStrings(m.Sources)))
	}
	return out
}

func testAdminListTeamsAndChannels(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	newAdminScenario(t, s)
	teams, err := s.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tm := range teams {
		got = append(got, fmt.Sprintf("%s %q %s members=%d channels=%d", tm.Name, tm.DisplayName, tm.Type, tm.MemberCount, tm.ChannelCount))
	}
	wantLines(t, "teams", got, []string{
		`engineering "engineering" O members=2 channels=3`,
		`everyone "everyone" O members=4 channels=4`,
		`temp "Temp" O members=1 channels=2`, // the display name of the unmapped group it was made from
	})

	chans, err := s.TeamChannels(ctx, "everyone")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, c := range chans {
		got = append(got, fmt.Sprintf("%s %q %s members=%d", c.Name, c.DisplayName, c.Type, c.MemberCount))
	}
	wantLines(t, "channels of everyone", got, []string{
		`eng-news "eng-news" O members=2`,
		`leads "leads" O members=1`,
		`off-topic "Off-Topic" O members=4`,
		`town-square "Town Square" O members=4`,
	})

	if _, err := s.TeamChannels(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("channels of unknown team: %v", err)
	}
}

func testAdminTeamAndChannelMembers(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	sc := newAdminScenario(t, s)
	page, err := s.TeamMembers(ctx, "everyone", 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 4 {
		t.Fatalf("total %d", page.Total)
	}
	wantLines(t, "members of everyone", memberLines(page), []string{
		"alice " + sc.alice.ID + " active=true online deleted=false [group:Engineering group:Leads]",
		"bob " + sc.bob.ID + " active=true online deleted=false [default]",
		"carol " + sc.carol.ID + " active=false offline deleted=false [group:Engineering]",
		"dave " + sc.dave.ID + " active=false offline deleted=true [default]",
	})
	// Group sources carry the group's SCIM id.
	if g := page.Members[0].Sources[0].Group; g == nil || g.ID != sc.eng.ID || g.DisplayName != "Engineering" {
		t.Fatalf("group source: %+v", page.Members[0].Sources[0])
	}

	page, err = s.TeamMembers(ctx, "temp", 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "members of temp (group deleted)", memberLines(page), []string{
		fmt.Sprintf("carol %s active=false offline deleted=false [group:(deleted #%d)]", sc.carol.ID, sc.tempPK),
	})
	if src := page.Members[0].Sources[0]; src.Kind != store.SourceGroup || src.Group != nil || src.GroupPK != sc.tempPK {
		t.Fatalf("deleted group source: %+v", src)
	}

	page, err = s.ChannelMembers(ctx, "everyone", "town-square", 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "members of everyone/town-square", memberLines(page), []string{
		"alice " + sc.alice.ID + " active=true online deleted=false [team-join]",
		"bob " + sc.bob.ID + " active=true online deleted=false [team-join]",
		"carol " + sc.carol.ID + " active=false offline deleted=false [team-join]",
		"dave " + sc.dave.ID + " active=false offline deleted=true [team-join]",
	})
	page, err = s.ChannelMembers(ctx, "everyone", "eng-news", 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "members of everyone/eng-news", memberLines(page), []string{
		"alice " + sc.alice.ID + " active=true online deleted=false [group:Engineering]",
		"carol " + sc.carol.ID + " active=false offline deleted=false [group:Engineering]",
	})

	// Pages.
	page, err = s.TeamMembers(ctx, "everyone", 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 4 || len(page.Members) != 2 || page.Members[0].Username != "bob" || page.Members[1].Username != "carol" {
		t.Fatalf("page 2 of 2 from 1: total %d, %q", page.Total, memberLines(page))
	}
	for _, lo := range [][2]int{{0, 0}, {10, 4}, {10, 100}} {
		page, err = s.TeamMembers(ctx, "everyone", lo[0], lo[1])
		if err != nil || page.Total != 4 || page.Members == nil || len(page.Members) != 0 {
			t.Fatalf("limit %d offset %d: %+v %v", lo[0], lo[1], page, err)
		}
	}

	for _, err := range []error{
		func() error { _, err := s.TeamMembers(ctx, "nope", 10, 0); return err }(),
		func() error { _, err := s.ChannelMembers(ctx, "nope", "town-square", 10, 0); return err }(),
		func() error { _, err := s.ChannelMembers(ctx, "everyone", "nope", 10, 0); return err }(),
		func() error { _, err := s.ChannelMembers(ctx, "engineering", "leads", 10, 0); return err }(), // leads is in everyone
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown team or channel: %v", err)
		}
	}
}

func testAdminAccountDetails(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	sc := newAdminScenario(t, s)
	render := func(d store.AccountDetails) []string {
		out := []string{fmt.Sprintf("%s %s %s %s active=%v %s deleteAt=%v deleted=%v", d.ID, d.UserName, d.Username, d.Email, d.Active, d.Status, d.DeleteAt != 0, d.SCIMDeleted)}
		for _, tm := range d.Teams {
			out = append(out, "team "+tm.Team+" "+sourceStrings(tm.Sources))
		}
		for _, c := range d.Channels {
			out = append(out, "channel "+c.Team+"/"+c.Channel+" "+sourceStrings(c.Sources))
		}
		for _, g := range d.Groups {
			out = append(out, "group "+g.ID+" "+g.DisplayName)
		}
		return out
	}
	d, err := s.AccountDetails(ctx, sc.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	groups := []string{"group " + sc.eng.ID + " Engineering", "group " + sc.leads.ID + " Leads"}
	wantLines(t, "alice", render(d), append([]string{
		sc.alice.ID + " alice@example.com alice alice@example.com active=true online deleteAt=false deleted=false",
		"team engineering [group:Engineering]",
		"team everyone [group:Engineering group:Leads]",
		"channel engineering/backend [group:Engineering]",
		"channel engineering/off-topic [team-join]",
		"channel engineering/town-square [team-join]",
		"channel everyone/eng-news [group:Engineering]",
		"channel everyone/leads [group:Leads]",
		"channel everyone/off-topic [team-join]",
		"channel everyone/town-square [team-join]",
	}, groups...))

	// Deactivated: memberships frozen, including one from a group deleted since.
	d, err = s.AccountDetails(ctx, sc.carol.ID)
	if err != nil {
		t.Fatal(err)
	}
	deleted := fmt.Sprintf("[group:(deleted #%d)]", sc.tempPK)
	wantLines(t, "carol", render(d), []string{
		sc.carol.ID + " carol@example.com carol carol@example.com active=false offline deleteAt=true deleted=false",
		"team engineering [group:Engineering]",
		"team everyone [group:Engineering]",
		"team temp " + deleted,
		"channel engineering/backend [group:Engineering]",
		"channel engineering/off-topic [team-join]",
		"channel engineering/town-square [team-join]",
		"channel everyone/eng-news [group:Engineering]",
		"channel everyone/off-topic [team-join]",
		"channel everyone/town-square [team-join]",
		"channel temp/off-topic [team-join]",
		"channel temp/town-square [team-join]",
		"group " + sc.eng.ID + " Engineering",
	})

	// SCIM-deleted: not a SCIM resource any more, still an account.
	if _, err := s.GetUser(ctx, sc.dave.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted user readable over SCIM: %v", err)
	}
	d, err = s.AccountDetails(ctx, sc.dave.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "dave", render(d), []string{
		sc.dave.ID + " dave@example.com dave dave@example.com active=false offline deleteAt=true deleted=true",
		"team everyone [default]",
		"channel everyone/off-topic [team-join]",
		"channel everyone/town-square [team-join]",
	})
	if d.Teams == nil || d.Groups == nil || len(d.Groups) != 0 {
		t.Fatalf("empty lists should be empty, not nil: %+v", d)
	}

	if _, err := s.AccountDetails(ctx, "no-such-id"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}

// testAdminMemberPages pages through a team in several page sizes: every member exactly
// once, in username order (byte order on both databases), with the right total.
func testAdminMemberPages(t *testing.T, s store.Store) {
	useRules(t, s, "")
	ctx := context.Background()
	var want []string
	for _, name := range []string{"zed", "al.x", "al2", "Al_b", "bo", "a-c", "al", "m1", "m10", "m9", "q", "r", "s"} {
		u := mustUser(t, s, name+"@example.com", "")
		want = append(want, u.Account.Username)
	}
	slices.Sort(want)
	for _, limit := range []int{1, 3, 5, 13, 20} {
		var got []string
		for offset := 0; ; offset += limit {
			page, err := s.TeamMembers(ctx, "everyone", limit, offset)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != len(want) {
				t.Fatalf("total %d, want %d", page.Total, len(want))
			}
			if len(page.Members) == 0 {
				break
			}
			if len(page.Members) > limit {
				t.Fatalf("page of %d for limit %d", len(page.Members), limit)
			}
			for _, m := range page.Members {
				got = append(got, m.Username)
			}
		}
		wantLines(t, fmt.Sprintf("limit %d", limit), got, want)
		chGot := []string{}
		for offset := 0; offset < len(want); offset += limit {
			page, err := s.ChannelMembers(ctx, "everyone", "town-square", limit, offset)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Members {
				chGot = append(chGot, m.Username)
			}
		}
		wantLines(t, fmt.Sprintf("channel, limit %d", limit), chGot, want)
	}
	// The cap.
	page, err := s.TeamMembers(ctx, "everyone", store.MaxMemberPage+5, 0)
	if err != nil || len(page.Members) != len(want) {
		t.Fatalf("over the cap: %v %v", len(page.Members), err)
	}
}
