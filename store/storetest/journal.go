package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
)

// The change journal (store.Journal): what each change journals, the order and pages,
// cursors, leases, the connector's entries and pruning.

// allEvents reads the whole journal after after, page by page.
func allEvents(t *testing.T, s store.Store, q store.EventQuery) []store.Event {
	t.Helper()
	var out []store.Event
	for {
		page, err := s.Events(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if len(page) < q.PageSize() {
			return out
		}
		q.After = page[len(page)-1].Cursor
	}
}

// eventLine renders an entry without its cursor, time, actor and request id.
func eventLine(e store.Event) string {
	line := fmt.Sprintf("%s %s", e.Kind, e.Username)
	if e.Team != "" {
		line += " " + e.Team
		if e.Channel != "" {
			line += "/" + e.Channel
		}
	}
	if e.Source != "" {
		line += " (" + e.Source + ")"
	}
	for _, side := range []map[string]string{e.Before, e.After} {
		if side == nil {
			continue
		}
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(side)) {
			kv = append(kv, k+"="+side[k])
		}
		line += " {" + strings.Join(kv, " ") + "}"
	}
	return line
}

// journalSince returns the lines of the entries after cursor, and the new head.
func journalSince(t *testing.T, s store.Store, cursor int64) ([]string, int64) {
	t.Helper()
	var lines []string
	for _, e := range allEvents(t, s, store.EventQuery{After: cursor}) {
		if e.Cursor <= cursor {
			t.Fatalf("entry %d returned after cursor %d", e.Cursor, cursor)
		}
		cursor = e.Cursor
		lines = append(lines, eventLine(e))
	}
	return lines, cursor
}

func head(t *testing.T, s store.Store) int64 {
	t.Helper()
	c, _, err := s.JournalHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testJournalAccountLifecycle(t *testing.T, s store.Store) {
	ctx := store.WithRequestID(store.WithActor(context.Background(), "okta-prod"), "req-1")
	if c, tm, err := s.JournalHead(ctx); err != nil || c != 0 || !tm.IsZero() {
		t.Fatalf("head of an empty journal = %d, %v, %v", c, tm, err)
	}
	// The first account creates the default team; the second takes the usual path (on
	// PostgreSQL, one statement).
	var users []store.User
	for _, name := range []string{"alice", "bob"} {
		u := store.User{UserName: name, ExternalID: "ext-" + name, Active: true, Name: store.Name{GivenName: "G" + name},
			Emails: []store.MultiValue{{Value: name + "@Example.com", Primary: true}}}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	lines, cur := journalSince(t, s, 0)
	wantLines(t, "journal of two creates", lines, []string{
		"team.created  everyone",
		"channel.created  everyone/town-square",
		"channel.created  everyone/off-topic",
		"account.created alice {active=true auth_data=ext-alice email=alice@example.com first_name=Galice username=alice}",
		"team.joined alice everyone (default)",
		"channel.joined alice everyone/town-square (team-join)",
		"channel.joined alice everyone/off-topic (team-join)",
		"account.created bob {active=true auth_data=ext-bob email=bob@example.com first_name=Gbob username=bob}",
		"team.joined bob everyone (default)",
		"channel.joined bob everyone/town-square (team-join)",
		"channel.joined bob everyone/off-topic (team-join)",
	})
	for _, e := range allEvents(t, s, store.EventQuery{}) {
		if e.Actor != "okta-prod" || e.RequestID != "req-1" || e.Time.IsZero() || time.Since(e.Time) > time.Minute {
			t.Fatalf("entry %s: actor %q, request id %q, time %v", eventLine(e), e.Actor, e.RequestID, e.Time)
		}
		if (e.Username != "") != (e.Account != "") || e.Account != "" && e.Account != users[0].ID && e.Account != users[1].ID {
			t.Fatalf("entry %s: account %q", eventLine(e), e.Account)
		}
	}
	if c := head(t, s); c != cur {
		t.Fatalf("head %d, last entry read %d", c, cur)
	}

	alice := users[0].ID
	update := func(fn func(u *store.User)) {
		t.Helper()
		if _, err := s.UpdateUser(context.Background(), alice, 0, func(u *store.User) error { fn(u); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		what   string
		change func(u *store.User)
		want   []string
	}{
		{"a change no chat server sees", func(u *store.User) { u.PhoneNumbers = []store.MultiValue{{Value: "+1 555"}} }, nil},
		{"the same values again", func(u *store.User) { u.Name.GivenName = "Galice" }, nil},
		{"attributes", func(u *store.User) {
			u.Name.GivenName, u.Name.FamilyName, u.Title, u.NickName = "Alicia", "Smith", "Engineer", "al"
			u.Emails = []store.MultiValue{{Value: "alicia@example.com", Primary: true}}
		}, []string{"account.updated alice {email=alice@example.com first_name=Galice last_name= nickname= position=} " +
			"{email=alicia@example.com first_name=Alicia last_name=Smith nickname=al position=Engineer}"}},
		{"userName and externalId", func(u *store.User) { u.UserName, u.ExternalID = "alicia", "" },
			[]string{"account.updated alicia {auth_data=ext-alice username=alice} {auth_data= username=alicia}"}},
		{"deactivation", func(u *store.User) { u.Active = false }, []string{"account.deactivated alicia {active=true} {active=false}"}},
		{"deactivated again", func(u *store.User) { u.Active = false }, nil},
		{"reactivation", func(u *store.User) { u.Active = true }, []string{"account.reactivated alicia {active=false} {active=true}"}},
	}
	for _, st := range steps {
		update(st.change)
		var lines []string
		lines, cur = journalSince(t, s, cur)
		wantLines(t, st.what, lines, st.want)
	}
	if err := s.DeleteUser(ctx, alice, 0); err != nil {
		t.Fatal(err)
	}
	lines, cur = journalSince(t, s, cur)
	wantLines(t, "SCIM DELETE (deactivate mode)", lines, []string{"account.deactivated alicia (delete) {active=true} {active=false}"})
	for _, e := range allEvents(t, s, store.EventQuery{After: cur - 1}) {
		if e.Account != alice || e.Actor != "okta-prod" {
			t.Fatalf("DELETE's entry: account %q actor %q", e.Account, e.Actor)
		}
	}
	// Unset actor: "system".
	u := mustUser(t, s, "carol", "")
	es := allEvents(t, s, store.EventQuery{After: cur})
	if len(es) == 0 || es[0].Actor != store.ActorSystem || es[0].RequestID != "" || es[0].Account != u.ID {
		t.Fatalf("entries of a create without actor: %+v", es)
	}
}

func testJournalPurgeAndTeams(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules+"delete_mode: purge\n")
	u := mustUser(t, s, "dave", "")
	cur := head(t, s)
	if err := s.DeleteUser(context.Background(), u.ID, 0); err != nil {
		t.Fatal(err)
	}
	lines, _ := journalSince(t, s, cur)
	wantLines(t, "purge", lines, []string{"account.deleted dave (delete) {active=true email=dave username=dave}"})
}

func testJournalPages(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		ids = append(ids, mustUser(t, s, fmt.Sprintf("user%d", i), "").ID)
	}
	// Entries of the connector fill the journal up past the largest page.
	for i := range store.MaxEventPage + 5 {
		if err := s.AppendEvent(ctx, store.Event{Kind: store.EventMattermostDryRun, Source: fmt.Sprintf("call %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	all := allEvents(t, s, store.EventQuery{Limit: store.MaxEventPage})
	for i := 1; i < len(all); i++ {
		if all[i].Cursor <= all[i-1].Cursor {
			t.Fatalf("cursors out of order: %d after %d", all[i].Cursor, all[i-1].Cursor)
		}
	}
	n := len(all)
	if n < store.MaxEventPage+5+3 {
		t.Fatalf("%d entries", n)
	}
	for _, c := range []struct{ limit, want int }{{0, store.DefaultEventPage}, {1, 1}, {store.MaxEventPage, store.MaxEventPage}} {
		page, err := s.Events(ctx, store.EventQuery{Limit: c.limit})
		if err != nil || len(page) != c.want || page[0].Cursor != all[0].Cursor {
			t.Fatalf("limit %d: %d entries, %v", c.limit, len(page), err)
		}
	}
	for _, q := range []store.EventQuery{{Limit: store.MaxEventPage + 1}, {Limit: -1}, {After: -1}, {Account: strings.Repeat("x", store.MaxNameLength+1)}} {
		if _, err := s.Events(ctx, q); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("query %+v: %v, want an InvalidError", q, err)
		}
	}
	// Resuming after any cursor returns exactly the entries after it.
	for _, i := range []int{0, 1, n / 2, n - 2, n - 1} {
		page, err := s.Events(ctx, store.EventQuery{After: all[i].Cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		want := all[i+1 : min(i+3, n)]
		if len(page) != len(want) || len(page) > 0 && page[0].Cursor != want[0].Cursor {
			t.Fatalf("after entry %d: %d entries", i, len(page))
		}
	}
	// The account filter.
	got := allEvents(t, s, store.EventQuery{Account: ids[1]})
	var lines []string
	for _, e := range got {
		lines = append(lines, eventLine(e))
	}
	wantLines(t, "entries of user1", lines, []string{
		"account.created user1 {active=true email=user1 username=user1}",
		"team.joined user1 everyone (default)",
		"channel.joined user1 everyone/town-square (team-join)",
		"channel.joined user1 everyone/off-topic (team-join)",
	})
	if es, err := s.Events(ctx, store.EventQuery{Account: "no-such-account"}); err != nil || len(es) != 0 {
		t.Fatalf("unknown account: %d entries, %v", len(es), err)
	}
}

func testJournalAppendEvent(t *testing.T, s store.Store) {
	ctx := store.WithRequestID(store.WithActor(context.Background(), store.ActorMattermost), "req-9")
	e := store.Event{Kind: store.EventMattermostDeadLetter, Account: "acc", Username: "alice", Team: "t", Channel: "c",
		Source: "POST /api/v4/users", Before: map[string]string{"id": "app.user.save.username_exists.app_error"}}
	if err := s.AppendEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	got := allEvents(t, s, store.EventQuery{})
	if len(got) != 1 {
		t.Fatalf("%d entries", len(got))
	}
	g := got[0]
	if g.Actor != store.ActorMattermost || g.RequestID != "req-9" || g.Kind != e.Kind || g.Account != "acc" ||
		eventLine(g) != eventLine(e) || g.Cursor <= 0 {
		t.Fatalf("appended %+v, read %+v", e, g)
	}
	for _, bad := range []store.Event{
		{Kind: store.EventAccountCreated},
		{Kind: store.EventTeamJoined, Account: "acc"},
		{Kind: "mattermostish"},
		{Kind: store.EventMattermostDryRun, Source: atLimit(store.MaxEventText + 1)},
		{Kind: store.EventMattermostDryRun, Account: atLimit(store.MaxNameLength + 1)},
		{Kind: store.EventMattermostDryRun, After: map[string]string{"k": "a\x00b"}},
		{Kind: store.EventMattermostDryRun, After: func() map[string]string {
			m := map[string]string{}
			for i := range store.MaxEventAttributes + 1 {
				m[fmt.Sprint(i)] = "v"
			}
			return m
		}()},
	} {
		if err := s.AppendEvent(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("AppendEvent(%s): %v, want an InvalidError", bad.Kind, err)
		}
	}
	// At the limits.
	ok := store.Event{Kind: store.EventMattermostDryRun, Source: atLimit(store.MaxEventText), After: map[string]string{}}
	for i := range store.MaxEventAttributes {
		ok.After[fmt.Sprint(i)] = atLimit(store.MaxEventText)
	}
	if err := s.AppendEvent(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if got := allEvents(t, s, store.EventQuery{}); len(got) != 2 || eventLine(got[1]) != eventLine(ok) {
		t.Fatalf("entry at the limits read back as %d entries", len(got))
	}
}

func testJournalCursors(t *testing.T, s store.Store) {
	ctx := context.Background()
	if c, err := s.Cursor(ctx, "mattermost"); err != nil || c != 0 {
		t.Fatalf("cursor of a new consumer: %d, %v", c, err)
	}
	for _, step := range []struct{ set, want int64 }{{5, 5}, {3, 5}, {5, 5}, {9, 9}, {0, 9}} {
		if err := s.SetCursor(ctx, "mattermost", step.set); err != nil {
			t.Fatal(err)
		}
		if c, err := s.Cursor(ctx, "mattermost"); err != nil || c != step.want {
			t.Fatalf("after SetCursor(%d): %d, %v; want %d", step.set, c, err, step.want)
		}
	}
	if c, err := s.Cursor(ctx, "other"); err != nil || c != 0 {
		t.Fatalf("another consumer: %d, %v", c, err)
	}
	for _, name := range []string{"", atLimit(store.MaxNameLength + 1)} {
		if err := s.SetCursor(ctx, name, 1); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("SetCursor(%d characters): %v", len(name), err)
		}
		if _, err := s.Cursor(ctx, name); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Cursor(%d characters): %v", len(name), err)
		}
	}
	if err := s.SetCursor(ctx, atLimit(store.MaxNameLength), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx, "mattermost", -1); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("negative cursor: %v", err)
	}
}

func testJournalLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	acquire := func(holder string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := s.AcquireLease(ctx, "connector", holder, ttl)
		if err != nil || got != want {
			t.Fatalf("AcquireLease(%s, %v) = %v, %v; want %v", holder, ttl, got, err, want)
		}
	}
	acquire("a", time.Minute, true)
	acquire("b", time.Minute, false) // held
	acquire("a", time.Minute, true)  // renewed
	if ok, err := s.AcquireLease(ctx, "other", "b", time.Minute); err != nil || !ok {
		t.Fatalf("another lease: %v, %v", ok, err)
	}
	if err := s.ReleaseLease(ctx, "connector", "b"); err != nil { // not b's: no effect
		t.Fatal(err)
	}
	acquire("b", time.Minute, false)
	if err := s.ReleaseLease(ctx, "connector", "a"); err != nil {
		t.Fatal(err)
	}
	acquire("b", 200*time.Millisecond, true) // free after release
	acquire("a", time.Minute, false)
	time.Sleep(400 * time.Millisecond) // b did not renew: expired
	acquire("a", time.Minute, true)    // stolen
	acquire("b", time.Minute, false)
	for _, bad := range []struct {
		name, holder string
		ttl          time.Duration
	}{
		{"", "a", time.Minute}, {"x", "", time.Minute}, {atLimit(store.MaxNameLength + 1), "a", time.Minute},
		{"x", "a", 0}, {"x", "a", -time.Second}, {"x", "a", store.MaxLeaseTTL + time.Millisecond},
	} {
		if _, err := s.AcquireLease(ctx, bad.name, bad.holder, bad.ttl); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("AcquireLease(%d characters, %q, %v): %v", len(bad.name), bad.holder, bad.ttl, err)
		}
	}
	if ok, err := s.AcquireLease(ctx, atLimit(store.MaxNameLength), "a", store.MaxLeaseTTL); err != nil || !ok {
		t.Fatalf("lease at the limits: %v, %v", ok, err)
	}
}

func testJournalPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 10 {
		if err := s.AppendEvent(ctx, store.Event{Kind: store.EventMattermostDryRun, Source: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	all := allEvents(t, s, store.EventQuery{})
	if n, err := s.PruneEvents(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("pruning before every entry: %d, %v", n, err)
	}
	// A consumer at the 4th entry keeps it and everything after.
	if err := s.SetCursor(ctx, "mattermost", all[3].Cursor); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 4 {
		t.Fatalf("prune up to the cursor: %d, %v", n, err)
	}
	left := allEvents(t, s, store.EventQuery{})
	if len(left) != 6 || left[0].Cursor != all[4].Cursor {
		t.Fatalf("%d entries left, first %d", len(left), left[0].Cursor)
	}
	// Without a lagging consumer, everything but the newest goes: it carries the
	// position the next entry numbers on from.
	if err := s.SetCursor(ctx, "mattermost", all[9].Cursor); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 5 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	if err := s.AppendEvent(ctx, store.Event{Kind: store.EventMattermostDryRun}); err != nil {
		t.Fatal(err)
	}
	left = allEvents(t, s, store.EventQuery{After: all[9].Cursor})
	if len(left) != 1 || left[0].Cursor <= all[9].Cursor {
		t.Fatalf("after pruning, a new entry: %+v", left)
	}
	if c := head(t, s); c != left[0].Cursor {
		t.Fatalf("head %d", c)
	}
}

func testJournalMemberships(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	alice := mustUser(t, s, "alice", "")
	bob := mustUser(t, s, "bob", "")
	step := func(what string, change func(), want ...string) {
		t.Helper()
		cur := head(t, s)
		change()
		lines, _ := journalSince(t, s, cur)
		wantLines(t, what, lines, want)
	}
	var eng store.Group
	step("a group created with a member", func() { eng = mustGroup(t, s, "Engineering", "", alice.ID) },
		"team.created  engineering",
		"channel.created  engineering/town-square",
		"channel.created  engineering/off-topic",
		"channel.created  engineering/backend",
		"channel.created  everyone/eng-news",
		"team.joined alice engineering (group:Engineering)",
		"channel.joined alice engineering/town-square (team-join)",
		"channel.joined alice engineering/off-topic (team-join)",
		"channel.joined alice engineering/backend (group:Engineering)",
		"channel.joined alice everyone/eng-news (group:Engineering)",
	)
	step("a member added (the delta path)", func() { patchMembers(t, s, eng.ID, store.AddMembers, bob.ID) },
		"team.joined bob engineering (group:Engineering)",
		"channel.joined bob engineering/town-square (team-join)",
		"channel.joined bob engineering/off-topic (team-join)",
		"channel.joined bob engineering/backend (group:Engineering)",
		"channel.joined bob everyone/eng-news (group:Engineering)",
	)
	step("a member added again", func() { patchMembers(t, s, eng.ID, store.AddMembers, bob.ID) })
	// A second group granting the same team: its removal later ends no membership.
	var team store.Group
	step("a second source of a team", func() { team = mustGroup(t, s, "team-engineering", "", bob.ID) })
	// Bob's only source of the default team was now Engineering's channel there (the
	// 'default' row ended when another team granted one): he leaves it, and keeps the
	// team the other group grants.
	step("a member removed", func() { patchMembers(t, s, eng.ID, store.RemoveMembers, bob.ID) },
		"channel.left bob everyone/town-square (team-join)",
		"channel.left bob everyone/off-topic (team-join)",
		"channel.left bob engineering/backend (group:Engineering)",
		"channel.left bob everyone/eng-news (group:Engineering)",
		"team.left bob everyone (group:Engineering)",
	)
	step("the other source removed: back to the default team", func() { patchMembers(t, s, team.ID, store.RemoveMembers, bob.ID) },
		"team.joined bob everyone (default)",
		"channel.joined bob everyone/town-square (team-join)",
		"channel.joined bob everyone/off-topic (team-join)",
		"channel.left bob engineering/town-square (team-join)",
		"channel.left bob engineering/off-topic (team-join)",
		"team.left bob engineering (group:team-engineering)",
	)
	step("deactivation keeps memberships", func() { setActive(t, s, alice.ID, false) },
		"account.deactivated alice {active=true} {active=false}")
	step("a deactivated member removed", func() { patchMembers(t, s, eng.ID, store.RemoveMembers, alice.ID) })
	step("reactivation follows the groups of now", func() { setActive(t, s, alice.ID, true) },
		"account.reactivated alice {active=false} {active=true}",
		"channel.left alice engineering/town-square (team-join)",
		"channel.left alice engineering/off-topic (team-join)",
		"channel.left alice engineering/backend (group:Engineering)",
		"channel.left alice everyone/eng-news (group:Engineering)",
		"team.left alice engineering (group:Engineering)",
	)
	patchMembers(t, s, eng.ID, store.AddMembers, alice.ID)
	step("a group deleted", func() {
		if err := s.DeleteGroup(ctx, eng.ID, 0); err != nil {
			t.Fatal(err)
		}
	},
		"channel.left alice engineering/town-square (team-join)",
		"channel.left alice engineering/off-topic (team-join)",
		"channel.left alice engineering/backend (group:Engineering)",
		"channel.left alice everyone/eng-news (group:Engineering)",
		"team.left alice engineering (group:Engineering)",
	)
}

// testJournalReplayMatchesState changes memberships from two replicas at once while a
// follower reads the journal from its cursor. What the follower read must be the whole
// journal (nothing missed, nothing twice, cursors increasing), and replaying its
// membership entries must give exactly every account's teams and channels: each join of
// a pair not held, each leave of a pair held.
func testJournalReplayMatchesState(t *testing.T, open func() store.Store) {
	s1, s2 := replicas(t, open, exampleRules)
	stores := []store.Store{s1, s2}
	var users []string
	for i := range 10 {
		users = append(users, mustUser(t, s1, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("00u%d", i)).ID)
	}
	groups := []string{
		mustGroup(t, s1, "Engineering", "").ID,
		mustGroup(t, s1, "Leads", "00g1abcd").ID,
		mustGroup(t, s1, "team-sales", "").ID,
	}
	var followed []store.Event
	done := make(chan struct{})
	followerDone := make(chan struct{})
	go func() { // the follower
		defer close(followerDone)
		var cursor int64
		for {
			select {
			case <-done:
				return
			default:
			}
			page, err := stores[1].Events(context.Background(), store.EventQuery{After: cursor, Limit: 7})
			if err != nil {
				t.Error(err)
				return
			}
			for _, e := range page {
				if e.Cursor <= cursor {
					t.Errorf("cursor %d after %d", e.Cursor, cursor)
					return
				}
				cursor = e.Cursor
			}
			followed = append(followed, page...)
		}
	}()
	churn(t, stores, users, groups, 6, 15, false)
	close(done)
	<-followerDone
	// Catch up, then compare with one read of the whole journal.
	last := int64(0)
	if len(followed) > 0 {
		last = followed[len(followed)-1].Cursor
	}
	followed = append(followed, allEvents(t, s2, store.EventQuery{After: last})...)
	all := allEvents(t, s1, store.EventQuery{Limit: store.MaxEventPage})
	if len(all) != len(followed) {
		t.Fatalf("the follower read %d entries, the journal has %d", len(followed), len(all))
	}
	held := map[string]map[string]bool{} // account → "team" or "team/channel"
	for i, e := range all {
		if followed[i].Cursor != e.Cursor || eventLine(followed[i]) != eventLine(e) {
			t.Fatalf("entry %d: followed %d %s, journal %d %s", i, followed[i].Cursor, eventLine(followed[i]), e.Cursor, eventLine(e))
		}
		key := e.Team
		if e.Channel != "" {
			key += "/" + e.Channel
		}
		if held[e.Account] == nil {
			held[e.Account] = map[string]bool{}
		}
		switch e.Kind {
		case store.EventTeamJoined, store.EventChannelJoined:
			if held[e.Account][key] {
				t.Fatalf("entry %d: %s, already a member", e.Cursor, eventLine(e))
			}
			held[e.Account][key] = true
		case store.EventTeamLeft, store.EventChannelLeft:
			if !held[e.Account][key] {
				t.Fatalf("entry %d: %s, not a member", e.Cursor, eventLine(e))
			}
			delete(held[e.Account], key)
		}
	}
	for _, id := range users {
		a := account(t, s1, id)
		want := append(append([]string{}, a.Teams...), a.Channels...)
		var got []string
		for k := range held[id] {
			got = append(got, k)
		}
		wantLines(t, "memberships replayed from the journal of "+id, sorted(got...), sorted(want...))
	}
}

func testJournalApplyRules(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	mustUser(t, s, "ivy", "")
	cur := head(t, s)
	useRules(t, s, exampleRules+"default_channels: [announcements]\n")
	if _, err := s.ApplyRules(context.Background(), acceptAll); err != nil {
		t.Fatal(err)
	}
	es := allEvents(t, s, store.EventQuery{After: cur})
	var lines []string
	for _, e := range es {
		if e.Actor != store.ActorConfig {
			t.Fatalf("%s: actor %q", eventLine(e), e.Actor)
		}
		lines = append(lines, eventLine(e))
	}
	wantLines(t, "new default channels", lines, []string{
		"channel.created  everyone/announcements",
		"channel.joined ivy everyone/announcements (team-join)",
		"channel.left ivy everyone/off-topic (team-join)",
	})
	// The same rules again change nothing, and journal nothing.
	cur = head(t, s)
	if _, err := s.ApplyRules(store.WithActor(context.Background(), "cli"), acceptAll); err != nil {
		t.Fatal(err)
	}
	if lines, _ := journalSince(t, s, cur); len(lines) != 0 {
		t.Fatalf("rules applied again: %q", lines)
	}
}

func testAccountID(t *testing.T, s store.Store) {
	ctx := context.Background()
	alice := mustUser(t, s, "Alice@Example.com", "")
	twin1 := mustUser(t, s, "twin1", "")
	twin2 := mustUser(t, s, "twin2", "")
	for _, id := range []string{twin1.ID, twin2.ID} {
		if _, err := s.UpdateUser(ctx, id, 0, func(u *store.User) error {
			u.Emails = []store.MultiValue{{Value: "shared@example.com", Primary: true}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	gone := mustUser(t, s, "gone", "")
	if err := s.DeleteUser(ctx, gone.ID, 0); err != nil { // deactivate mode: the account stays
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		alice.ID: alice.ID, "alice": alice.ID, "ALICE": alice.ID, "alice@example.com": alice.ID, "ALICE@example.COM": alice.ID,
		"twin1": twin1.ID, "gone": gone.ID, gone.ID: gone.ID,
	} {
		if got, err := s.AccountID(ctx, key); err != nil || got != want {
			t.Errorf("AccountID(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"", "nobody", "nobody@example.com", strings.ToUpper(alice.ID)} {
		if _, err := s.AccountID(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AccountID(%q): %v, want ErrNotFound", key, err)
		}
	}
	for _, key := range []string{"shared@example.com", atLimit(store.MaxNameLength + 1), "a\x00b"} {
		if _, err := s.AccountID(ctx, key); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AccountID(%d characters): %v, want an InvalidError", len(key), err)
		}
	}
	// A purged account is named by the id its entries carry.
	useRules(t, s, "delete_mode: purge\n")
	purged := mustUser(t, s, "purged", "")
	if err := s.DeleteUser(ctx, purged.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.AccountID(ctx, purged.ID); err != nil || got != purged.ID {
		t.Fatalf("purged account: %q, %v", got, err)
	}
	if _, err := s.AccountID(ctx, "purged"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a purged account's username: %v", err)
	}
}
