package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
)

// The Mattermost connector's state and desired-state reads (store.MattermostState).

func testChatAccountState(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules)
	ctx := context.Background()
	full := fullUser("ann")
	if err := s.CreateUser(ctx, &full); err != nil {
		t.Fatal(err)
	}
	bob := mustUser(t, s, "bob@example.com", "00uB")
	cid := mustUser(t, s, "cid@example.com", "")
	mustGroup(t, s, "Engineering", "", full.ID, bob.ID)
	setActive(t, s, bob.ID, false)
	if err := s.DeleteUser(ctx, cid.ID, 0); err != nil { // deactivate mode: the account stays
		t.Fatal(err)
	}

	st, err := s.ChatAccountState(ctx, full.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.ChatAccountState{ID: full.ID, UserName: "ann", ExternalID: "ext-ann", Username: "ann",
		Email: "ann@example.com", FirstName: "Given", LastName: "Family", Nickname: "nick", Position: "Engineer", Active: true,
		Teams: []string{"engineering", "everyone"},
		Channels: []store.ChannelWithType{{Team: "engineering", Channel: "backend", Type: "O"}, {Team: "engineering", Channel: "off-topic", Type: "O"},
			{Team: "engineering", Channel: "town-square", Type: "O"}, {Team: "everyone", Channel: "eng-news", Type: "O"}, {Team: "everyone", Channel: "off-topic", Type: "O"}, {Team: "everyone", Channel: "town-square", Type: "O"}}}
	if fmt.Sprintf("%+v", st) != fmt.Sprintf("%+v", want) {
		t.Fatalf("ChatAccountState:\n got  %+v\n want %+v", st, want)
	}
	b, err := s.ChatAccountState(ctx, bob.ID)
	if err != nil || b.Active || b.SCIMDeleted || !slices.Equal(b.Teams, []string{"engineering", "everyone"}) {
		t.Fatalf("deactivated account keeps its memberships, inactive: %+v %v", b, err)
	}
	c, err := s.ChatAccountState(ctx, cid.ID)
	if err != nil || c.Active || !c.SCIMDeleted {
		t.Fatalf("SCIM-deleted account: %+v %v", c, err)
	}
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", "", "x\x00"} {
		if _, err := s.ChatAccountState(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ChatAccountState(%q): %v, want ErrNotFound", id, err)
		}
	}

	// The walk gives every account, in creation order, each as ChatAccountState reads it.
	var walked []string
	if err := s.EachChatAccountState(ctx, func(a store.ChatAccountState) error {
		one, err := s.ChatAccountState(ctx, a.ID)
		if err != nil {
			return err
		}
		if fmt.Sprintf("%+v", one) != fmt.Sprintf("%+v", a) {
			t.Errorf("walk and read differ:\n %+v\n %+v", a, one)
		}
		walked = append(walked, a.Username)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "walked", walked, []string{"ann", "bob", "cid"})
	stop := errors.New("stop")
	n := 0
	if err := s.EachChatAccountState(ctx, func(store.ChatAccountState) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("fn's error: %v after %d", err, n)
	}
}

func testChatAccountStatePurged(t *testing.T, s store.Store) {
	useRules(t, s, exampleRules+"delete_mode: purge\n")
	ctx := context.Background()
	u := mustUser(t, s, "gina@example.com", "00uG")
	if err := s.DeleteUser(ctx, u.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ChatAccountState(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged account: %v, want ErrNotFound", err)
	}
}

func testMMPurgedLinks(t *testing.T, s store.Store) {
	useRules(t, s, "delete_mode: purge\n")
	ctx := context.Background()
	kept, gone := mustUser(t, s, "kept@example.com", ""), mustUser(t, s, "gone@example.com", "")
	for i, id := range []string{kept.ID, gone.ID} {
		if err := s.LinkMMUser(ctx, store.MMUserLink{AccountID: id, MMUserID: fmt.Sprintf("mmuser0000000000000000000%d", i), Origin: store.MMOriginCreated}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctx, gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := s.EachPurgedMMUser(ctx, func(l store.MMUserLink) error { ids = append(ids, l.AccountID); return nil }); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "purged links", ids, []string{gone.ID})
}

func testMMLinks(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.MMUser(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no link: %v", err)
	}
	l := store.MMUserLink{AccountID: "a1", MMUserID: "mmuser00000000000000000001", Origin: store.MMOriginAdopted}
	if err := s.LinkMMUser(ctx, l); err != nil {
		t.Fatal(err)
	}
	l.AuthData = "00u1"
	if err := s.LinkMMUser(ctx, l); err != nil { // replaced: the auth_data sent is kept
		t.Fatal(err)
	}
	if got, err := s.MMUser(ctx, "a1"); err != nil || got != l {
		t.Fatalf("MMUser = %+v, %v; want %+v", got, err, l)
	}
	if err := s.LinkMMUser(ctx, store.MMUserLink{AccountID: "a2", MMUserID: l.MMUserID, Origin: store.MMOriginCreated}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("one Mattermost user for two accounts: %v, want ErrConflict", err)
	}
	if err := s.LinkMMUser(ctx, store.MMUserLink{AccountID: "a2", MMUserID: "x", Origin: "stolen"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("unknown origin: %v, want ErrInvalid", err)
	}
	if err := s.LinkMMUser(ctx, store.MMUserLink{AccountID: "a0", MMUserID: "mmuser00000000000000000000", Origin: store.MMOriginCreated}); err != nil {
		t.Fatal(err)
	}
	var all []string
	if err := s.EachMMUser(ctx, func(l store.MMUserLink) error { all = append(all, l.AccountID+"="+l.Origin); return nil }); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "links", all, []string{"a0=created", "a1=adopted"})

	if _, err := s.MMTeamID(ctx, "eng"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no team id: %v", err)
	}
	if _, err := s.MMChannelID(ctx, "eng", "backend"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no channel id: %v", err)
	}
	for _, id := range []string{"t1", "t2"} { // the second replaces the first
		if err := s.SetMMTeamID(ctx, "eng", id); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMMChannelID(ctx, "eng", "backend", "c"+id); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := s.MMTeamID(ctx, "eng"); err != nil || id != "t2" {
		t.Fatalf("team id %q, %v", id, err)
	}
	if id, err := s.MMChannelID(ctx, "eng", "backend"); err != nil || id != "ct2" {
		t.Fatalf("channel id %q, %v", id, err)
	}
}

func testMMOwnedMemberships(t *testing.T, s store.Store) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.OwnTeam(ctx, "a1", "eng"))
	must(s.OwnTeam(ctx, "a1", "eng")) // twice is once
	must(s.OwnTeam(ctx, "a1", "ops"))
	must(s.OwnChannel(ctx, "a1", "eng", "backend"))
	must(s.OwnChannel(ctx, "a1", "eng", "frontend"))
	must(s.OwnChannel(ctx, "a1", "ops", "pager"))
	must(s.OwnTeam(ctx, "a2", "eng"))
	must(s.OwnChannel(ctx, "a2", "eng", "backend"))
	owned := func(id string) string {
		t.Helper()
		teams, chans, err := s.OwnedMemberships(ctx, id)
		must(err)
		return fmt.Sprint(teams, chans)
	}
	if got := owned("a1"); got != "[eng ops] [{eng backend} {eng frontend} {ops pager}]" {
		t.Fatalf("owned: %s", got)
	}
	members := func(team, channel string) []string {
		t.Helper()
		var ids []string
		must(s.EachOwnedMember(ctx, team, channel, func(id, mmID string) error { ids = append(ids, id+"="+mmID); return nil }))
		return ids
	}
	// Each with its Mattermost user: a2 has no link yet, then one.
	wantLines(t, "owned members of eng", members("eng", ""), []string{"a1=", "a2="})
	must(s.LinkMMUser(ctx, store.MMUserLink{AccountID: "a2", MMUserID: "mm-of-a2", Origin: store.MMOriginCreated}))
	wantLines(t, "owned members of eng", members("eng", ""), []string{"a1=", "a2=mm-of-a2"})
	wantLines(t, "owned members of eng/backend", members("eng", "backend"), []string{"a1=", "a2=mm-of-a2"})
	wantLines(t, "owned members of ops/pager", members("ops", "pager"), []string{"a1="})
	must(s.DisownChannel(ctx, "a1", "eng", "frontend"))
	must(s.DisownChannel(ctx, "a1", "eng", "frontend")) // not recorded: no error
	// Leaving a team leaves its channels: their records go with it, and only a1's.
	must(s.DisownTeam(ctx, "a1", "eng"))
	if got := owned("a1"); got != "[ops] [{ops pager}]" {
		t.Fatalf("after disowning eng: %s", got)
	}
	if got := owned("a2"); got != "[eng] [{eng backend}]" {
		t.Fatalf("another account's records changed: %s", got)
	}
	if got := owned("nobody"); got != "[] []" {
		t.Fatalf("nobody: %s", got)
	}
}

func testMMDeadLetters(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ids []int64
	for i, acc := range []string{"a1", "a2", "a1"} {
		id, err := s.AddDeadLetter(ctx, store.DeadLetter{AccountID: acc, Cursor: int64(10 + i), Call: "POST /api/v4/users",
			Status: 400, ErrorID: "model.user.is_valid.email.app_error", Message: "bad email"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	list, total, err := s.DeadLetters(ctx, 2)
	if err != nil || total != 3 || len(list) != 2 || list[0].ID != ids[0] || list[0].Cursor != 10 || list[0].Attempts != 1 ||
		list[0].Requeued || list[0].ErrorID != "model.user.is_valid.email.app_error" || list[0].Status != 400 || list[0].Time.IsZero() {
		t.Fatalf("DeadLetters(2) = %+v, %d, %v", list, total, err)
	}
	if acc, err := s.RequeuedAccounts(ctx, 10); err != nil || len(acc) != 0 {
		t.Fatalf("nothing requeued yet: %v %v", acc, err)
	}
	if n, err := s.RequeueDeadLetters(ctx, []int64{ids[1], 999999}, false); err != nil || n != 1 {
		t.Fatalf("requeue one: %d %v", n, err)
	}
	if acc, err := s.RequeuedAccounts(ctx, 10); err != nil || !slices.Equal(acc, []string{"a2"}) {
		t.Fatalf("requeued: %v %v", acc, err)
	}
	// A failed retry clears the mark and counts the attempt.
	if err := s.UnqueueDeadLetters(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	list, _, _ = s.DeadLetters(ctx, 10)
	if list[1].Requeued || list[1].Attempts != 2 {
		t.Fatalf("after a failed retry: %+v", list[1])
	}
	if n, err := s.RequeueDeadLetters(ctx, nil, true); err != nil || n != 3 {
		t.Fatalf("requeue all: %d %v", n, err)
	}
	if acc, err := s.RequeuedAccounts(ctx, 10); err != nil || !slices.Equal(acc, []string{"a1", "a2"}) {
		t.Fatalf("requeued: %v %v", acc, err)
	}
	if err := s.ResolveDeadLetters(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if list, total, err := s.DeadLetters(ctx, 0); err != nil || total != 1 || len(list) != 1 || list[0].AccountID != "a2" {
		t.Fatalf("after resolving a1: %+v %d %v", list, total, err)
	}
}

func testMMBreaker(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Now().Add(-2 * time.Hour)
	for i := range 5 {
		if err := s.RecordDeactivation(ctx, fmt.Sprintf("a%d", i), base.Add(time.Duration(i)*30*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// Sent at -2h, -1h30, -1h, -30m, now: the last hour holds the last two (and -1h at
	// its edge when since is exactly -1h).
	if n, err := s.DeactivationsSince(ctx, base.Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("since -1h: %d %v", n, err)
	}
	if n, err := s.DeactivationsSince(ctx, base.Add(time.Hour+time.Second)); err != nil || n != 2 {
		t.Fatalf("since -59m59s: %d %v", n, err)
	}

	for _, h := range []store.HeldDeactivation{{AccountID: "h1", Username: "ann"}, {AccountID: "h2", Username: "bob", Permanent: true}, {AccountID: "h1", Username: "ann"}} {
		if err := s.HoldDeactivation(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	held, total, err := s.HeldDeactivations(ctx, 10)
	if err != nil || total != 2 || len(held) != 2 || held[0].AccountID != "h1" || !held[1].Permanent || held[0].Released {
		t.Fatalf("held: %+v %d %v", held, total, err)
	}
	if h, r, err := s.IsHeld(ctx, "h1"); err != nil || !h || r {
		t.Fatalf("IsHeld(h1) = %v %v %v", h, r, err)
	}
	if h, _, err := s.IsHeld(ctx, "zz"); err != nil || h {
		t.Fatalf("IsHeld(zz) = %v %v", h, err)
	}
	if ids, err := s.ReleasedHeld(ctx, 10); err != nil || len(ids) != 0 {
		t.Fatalf("nothing released yet: %v %v", ids, err)
	}
	if n, err := s.ReleaseHeld(ctx, []string{"h2", "zz"}, false); err != nil || n != 1 {
		t.Fatalf("release h2: %d %v", n, err)
	}
	if ids, err := s.ReleasedHeld(ctx, 10); err != nil || !slices.Equal(ids, []string{"h2"}) {
		t.Fatalf("released: %v %v", ids, err)
	}
	if n, err := s.ReleaseHeld(ctx, nil, true); err != nil || n != 1 {
		t.Fatalf("release all: %d %v", n, err)
	}
	if err := s.DropHeld(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, total, err := s.HeldDeactivations(ctx, 10); err != nil || total != 1 {
		t.Fatalf("after drop: %d %v", total, err)
	}
}

func testMMFailuresAndStatus(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range store.MaxMMFailures + 5 {
		if err := s.AddMMFailure(ctx, store.MMFailure{AccountID: fmt.Sprint(i), Call: "PUT /api/v4/users/x/patch", Status: 409,
			ErrorID: "api.user.patch_user.login_provider_attribute_set.app_error"}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := s.RecentMMFailures(ctx, 0)
	if err != nil || len(f) != store.MaxMMFailures || f[0].AccountID != fmt.Sprint(store.MaxMMFailures+4) || f[len(f)-1].AccountID != "5" {
		t.Fatalf("ring: %d kept, newest %+v, %v", len(f), f[0], err)
	}
	if f, _ := s.RecentMMFailures(ctx, 3); len(f) != 3 || f[0].Status != 409 || f[0].Time.IsZero() {
		t.Fatalf("3 newest: %+v", f)
	}

	if st, err := s.MMStatus(ctx); err != nil || len(st) != 0 {
		t.Fatalf("empty status: %v %v", st, err)
	}
	if err := s.SetMMStatus(ctx, map[string]string{"state": "running", "reason": "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMMStatus(ctx, map[string]string{"reason": "", "last_success": "2026-01-01T00:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.MMStatus(ctx)
	if err != nil || fmt.Sprint(st) != "map[last_success:2026-01-01T00:00:00Z state:running]" {
		t.Fatalf("status: %v %v", st, err)
	}
}
