package jsonl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// fakeHash stands in for resources.HashPassword.
func fakeHash(ctx context.Context, pw string) (string, error) { return "hash:" + pw, nil }

// bytesSource is a Source over b.
func bytesSource(b []byte) Source {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

const versionLine = `{"type":"version","version":1}`

func exportString(t *testing.T, b store.Bulk, q store.ExportQuery) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Export(context.Background(), b, &buf, ExportOptions{Query: q, AuthService: "saml", AuthData: "externalId", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestImportFullFile(t *testing.T) {
	f := newFake()
	ctx := context.Background()
	rep, err := Import(ctx, f, f, FileSource("testdata/full.jsonl"), ImportOptions{HashPassword: fakeHash, Verbose: true})
	if err != nil {
		t.Fatalf("%v: %+v", err, rep.Errors)
	}
	wantTypes := map[string]int{"version": 1, "scheme": 1, "role": 1, "emoji": 1, "team": 2, "channel": 3, "user": 5, "bot": 1, "post": 1, "direct_channel": 1, "direct_post": 1}
	if !reflect.DeepEqual(rep.Types, wantTypes) || rep.Lines != 18 {
		t.Errorf("types %v, lines %d", rep.Types, rep.Lines)
	}
	if rep.Guests != 1 || rep.CustomRoles != 3 || !reflect.DeepEqual(rep.AdminRoles, map[string]int{"system_admin": 1, "team_admin": 1, "channel_admin": 1}) {
		t.Errorf("guests %d, custom %d, admin %v", rep.Guests, rep.CustomRoles, rep.AdminRoles)
	}
	for _, k := range []string{"team.description", "team.allow_open_invite", "team.scheme", "channel.header", "channel.purpose",
		"channel.scheme", "channel.deleted_at", "user.profile_image", "user.notify_props", "user.preferences", "user.teams.theme",
		"user.teams.channels.notify_props", "user.teams.channels.favorite", "user.teams.channels.counts"} {
		if rep.Ignored[k] == 0 {
			t.Errorf("ignored %s not counted: %v", k, rep.Ignored)
		}
	}
	w := rep.Warnings()
	// Admin roles are imported (role grants of source import): no warning says they are not.
	if len(w) != 4 || !strings.Contains(w[0], "scheme 1, role 1, emoji 1, bot 1, post 1, direct_channel 1, direct_post 1") ||
		!strings.Contains(w[1], "1 guest user(s)") || !strings.Contains(w[2], "3 custom role(s)") {
		t.Errorf("warnings:\n%s", strings.Join(w, "\n"))
	}
	a := rep.Applied
	if a.TeamsCreated != 2 || a.ChannelsCreated != 3 || a.UsersCreated != 4 || a.UsersDeactivated != 0 || len(a.Changes) == 0 {
		t.Errorf("applied %+v", a)
	}
	// The mapping: names lower-cased, auth_data → externalId only for an IdP service,
	// the password hashed, delete_at, the guest left out.
	byName := map[string]*fakeAccount{}
	for _, acc := range f.accounts {
		byName[acc.Username] = acc
	}
	if len(byName) != 4 || byName["gina"] != nil {
		t.Fatalf("accounts %v", byName)
	}
	if al := byName["alice"]; al.ExternalID != "00u1alice" || al.UserName != "alice@example.com" || al.FirstName != "Alice" ||
		al.LastName != "Liddell" || al.Nickname != "Al" || al.Position != "Engineer" || al.Locale != "en" || al.DeleteAt != 0 ||
		!al.channels["engineering/backend"] || !al.teams["engineering"] {
		t.Errorf("alice %+v", al)
	}
	if b := byName["bob"]; b.PasswordHash != "hash:correct horse battery" || b.Email != "Bob@Example.com" || !b.channels["sales/deals"] {
		t.Errorf("bob %+v", b)
	}
	if c := byName["carol"]; c.ExternalID != "carol-dn" || c.DeleteAt != 1700000000000 || len(c.teams) != 0 {
		t.Errorf("carol %+v", c)
	}
	if d := byName["dave"]; d.ExternalID != "" || !d.channels["engineering/frontend"] {
		t.Errorf("dave %+v", d)
	}
	if ch := f.channels["engineering/frontend"]; ch.DisplayName != "frontend" || ch.Type != "O" {
		t.Errorf("frontend %+v", ch)
	}
	if tm := f.teams["sales"]; tm.DisplayName != "Sales & Marketing" {
		t.Errorf("sales %+v", tm)
	}

	// Again: nothing changes.
	before := exportString(t, f, store.ExportQuery{IncludeDeactivated: true})
	rep, err = Import(ctx, f, f, FileSource("testdata/full.jsonl"), ImportOptions{HashPassword: fakeHash, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := rep.Applied; !reflect.DeepEqual(a, store.ImportReport{}) {
		t.Errorf("re-import changed %+v", a)
	}
	if after := exportString(t, f, store.ExportQuery{IncludeDeactivated: true}); after != before {
		t.Errorf("re-import changed the export:\n%s\n%s", before, after)
	}
}

func TestImportInvalidWritesNothing(t *testing.T) {
	f := newFake()
	file := lines(versionLine,
		`{"type":"team","team":{"name":"eng","display_name":"Eng","type":"O"}}`,
		`{"type":"user","user":{"username":"alice","email":"a@example.com","teams":[{"name":"nope"}]}}`)
	rep, err := Import(context.Background(), f, f, bytesSource(file), ImportOptions{})
	if !errors.Is(err, ErrInvalidFile) || rep.ErrorCount != 1 || rep.Errors[0].Line != 3 || rep.Errors[0].Field != "user.teams[0].name" {
		t.Fatalf("%v %+v", err, rep)
	}
	if f.calls != 0 || len(f.teams) != 0 {
		t.Errorf("wrote: %d calls, %v", f.calls, f.teams)
	}
}

func TestImportDryRun(t *testing.T) {
	f := newFake()
	file := lines(versionLine,
		`{"type":"team","team":{"name":"eng","display_name":"Eng","type":"O"}}`,
		`{"type":"channel","channel":{"team":"eng","name":"backend","display_name":"Backend","type":"P"}}`,
		`{"type":"user","user":{"username":"alice","email":"a@example.com","password":"pw","teams":[{"name":"eng","channels":[{"name":"backend"}]}]}}`,
		`{"type":"user","user":{"username":"bob","email":"b@example.com","teams":[{"name":"eng","channels":[{"name":"town-square"}]}]}}`)
	// Batches of two items: the users' batches need the file's team and channel, which
	// the dry run gives them without counting them twice.
	rep, err := Import(context.Background(), f, f, bytesSource(file), ImportOptions{DryRun: true, Verbose: true, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Applied
	if a.TeamsCreated != 1 || a.ChannelsCreated != 1 || a.UsersCreated != 2 || a.TeamMembershipsAdded != 2 || a.ChannelMembershipsAdded != 5 {
		t.Errorf("dry run %+v", a)
	}
	for _, c := range []string{"team eng created", "channel eng/backend created"} {
		n := 0
		for _, got := range a.Changes {
			if got == c {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q listed %d times: %v", c, n, a.Changes)
		}
	}
	if len(f.teams) != 0 || len(f.accounts) != 0 {
		t.Errorf("a dry run wrote %v %v", f.teams, f.accounts)
	}
	// The same, for real, reports the same.
	real, err := Import(context.Background(), f, f, bytesSource(file), ImportOptions{Verbose: true, BatchSize: 2, HashPassword: fakeHash})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(real.Applied, a) {
		t.Errorf("real %+v\ndry  %+v", real.Applied, a)
	}
}

func TestImportDeleteAt(t *testing.T) {
	f := newFake()
	ctx := context.Background()
	user := func(deleteAt string) []byte {
		return lines(versionLine, `{"type":"user","user":{"username":"alice","email":"a@example.com"`+deleteAt+`}}`)
	}
	steps := []struct {
		name, field  string
		wantDeleteAt int64
	}{
		{"absent creates active", ``, 0},
		{"> 0 deactivates", `,"delete_at":5`, 5},
		{"absent leaves it deactivated", ``, 5},
		{"explicit 0 reactivates", `,"delete_at":0`, 0},
		{"absent leaves it active", ``, 0},
	}
	for _, s := range steps {
		if _, err := Import(ctx, f, f, bytesSource(user(s.field)), ImportOptions{}); err != nil {
			t.Fatal(s.name, err)
		}
		if got := f.accounts[0].DeleteAt; got != s.wantDeleteAt {
			t.Errorf("%s: delete_at %d, want %d", s.name, got, s.wantDeleteAt)
		}
	}
}

func TestImportAuthData(t *testing.T) {
	for _, tc := range []struct {
		svc, want string
	}{
		{"saml", "X"}, {"ldap", "X"}, {"openid", "X"}, {"office365", "X"}, {"google", "X"}, {"gitlab", "X"}, {"email", ""},
	} {
		f := newFake()
		file := lines(versionLine, `{"type":"user","user":{"username":"alice","email":"a@example.com","auth_service":"`+tc.svc+`","auth_data":"X"}}`)
		if _, err := Import(context.Background(), f, f, bytesSource(file), ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := f.accounts[0].ExternalID; got != tc.want {
			t.Errorf("%s: externalId %q, want %q", tc.svc, got, tc.want)
		}
	}
}

func TestImportNeedsHashPassword(t *testing.T) {
	f := newFake()
	file := lines(versionLine, `{"type":"user","user":{"username":"alice","email":"a@example.com","password":"pw"}}`)
	if _, err := Import(context.Background(), f, f, bytesSource(file), ImportOptions{}); err == nil || !strings.Contains(err.Error(), "HashPassword") {
		t.Fatal(err)
	}
}

// bigFile has teams, channels and users enough for several batches of size 3.
func bigFile() []byte {
	ls := []string{versionLine}
	for _, tm := range []string{"t1", "t2", "t3"} {
		ls = append(ls, `{"type":"team","team":{"name":"`+tm+`","display_name":"`+tm+`","type":"O"}}`)
	}
	for _, tm := range []string{"t1", "t2", "t3"} {
		ls = append(ls, `{"type":"channel","channel":{"team":"`+tm+`","name":"c","display_name":"C","type":"P"}}`)
	}
	for _, u := range []string{"ann", "ben", "cat", "dan", "eve", "fay", "gus"} {
		ls = append(ls, `{"type":"user","user":{"username":"`+u+`","email":"`+u+`@example.com","auth_service":"saml","auth_data":"ext-`+u+
			`","teams":[{"name":"t1","channels":[{"name":"c"}]},{"name":"t3"}]}}`)
	}
	return lines(ls...)
}

func TestImportCrashThenRerun(t *testing.T) {
	file := bigFile()
	want := newFake()
	if _, err := Import(context.Background(), want, want, bytesSource(file), ImportOptions{BatchSize: 3}); err != nil {
		t.Fatal(err)
	}
	wantExport := exportString(t, want, store.ExportQuery{IncludeDeactivated: true})
	for failAt := 1; failAt <= 5; failAt++ {
		f := &failingBulk{fakeBulk: newFake(), failAt: failAt}
		rep, err := Import(context.Background(), f, f, bytesSource(file), ImportOptions{BatchSize: 3})
		if !errors.Is(err, errCrash) || rep.Batches != failAt-1 {
			t.Fatalf("fail at %d: %v, %d batches", failAt, err, rep.Batches)
		}
		if _, err := Import(context.Background(), f, f, bytesSource(file), ImportOptions{BatchSize: 3}); err != nil {
			t.Fatal(err)
		}
		if got := exportString(t, f, store.ExportQuery{IncludeDeactivated: true}); got != wantExport {
			t.Errorf("fail at %d, then again:\n%s\nwant\n%s", failAt, got, wantExport)
		}
	}
	// A cancelled context stops between batches, the same way.
	ctx, cancel := context.WithCancel(context.Background())
	f := newFake()
	calls := 0
	cb := &cancelAfter{fakeBulk: f, n: 2, cancel: cancel, calls: &calls}
	if _, err := Import(ctx, cb, f, bytesSource(file), ImportOptions{BatchSize: 3}); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if _, err := Import(context.Background(), f, f, bytesSource(file), ImportOptions{BatchSize: 3}); err != nil {
		t.Fatal(err)
	}
	if got := exportString(t, f, store.ExportQuery{IncludeDeactivated: true}); got != wantExport {
		t.Errorf("cancelled, then again:\n%s", got)
	}
}

// cancelAfter cancels its context after n batches.
type cancelAfter struct {
	*fakeBulk
	n      int
	cancel func()
	calls  *int
}

func (c *cancelAfter) ImportChat(ctx context.Context, b store.ImportBatch, opts store.ImportOptions) (store.ImportReport, error) {
	r, err := c.fakeBulk.ImportChat(ctx, b, opts)
	if *c.calls++; *c.calls == c.n {
		c.cancel()
	}
	return r, err
}

func TestImportBatchBounds(t *testing.T) {
	// Every batch within the size, users with more memberships than a batch holds cut
	// into pieces; the end state is the one of a single batch.
	rec := &recordingBulk{fakeBulk: newFake()}
	if _, err := Import(context.Background(), rec, rec, bytesSource(bigFile()), ImportOptions{BatchSize: 2}); err != nil {
		t.Fatal(err)
	}
	for i, b := range rec.batches {
		mems := 0
		for _, u := range b.Users {
			mems += memberships(u)
		}
		if n := len(b.Teams) + len(b.Channels) + len(b.Users); n > 2 || mems > 2 {
			t.Errorf("batch %d: %d items, %d memberships", i, n, mems)
		}
	}
	one := newFake()
	if _, err := Import(context.Background(), one, one, bytesSource(bigFile()), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if a, b := exportString(t, rec.fakeBulk, store.ExportQuery{}), exportString(t, one, store.ExportQuery{}); a != b {
		t.Errorf("batches of 2:\n%s\none batch:\n%s", a, b)
	}
}

type recordingBulk struct {
	*fakeBulk
	batches []store.ImportBatch
}

func (r *recordingBulk) ImportChat(ctx context.Context, b store.ImportBatch, opts store.ImportOptions) (store.ImportReport, error) {
	r.batches = append(r.batches, b)
	return r.fakeBulk.ImportChat(ctx, b, opts)
}

func TestSplitUser(t *testing.T) {
	u := store.ImportUser{Username: "a", Teams: []store.ImportTeamMembership{
		{Name: "t1", Channels: []string{"a", "b", "c", "d"}}, {Name: "t2"}, {Name: "t3", Channels: []string{"x"}},
	}}
	pieces := splitUser(u, 3)
	var got []string
	for _, p := range pieces {
		if memberships(p) > 3 {
			t.Errorf("piece of %d", memberships(p))
		}
		for _, tm := range p.Teams {
			got = append(got, tm.Name+":"+strings.Join(tm.Channels, ","))
		}
	}
	want := []string{"t1:a,b", "t1:c,d", "t2:", "t3:x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pieces %v, want %v", got, want)
	}
	if p := splitUser(u, 100); len(p) != 1 {
		t.Errorf("%d pieces", len(p))
	}
}

func TestImportZip(t *testing.T) {
	data, err := os.ReadFile("testdata/full.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "data.zip")
	writeZip(t, p, map[string]string{"data.jsonl": string(data), "data/alice.png": "png"})
	f := newFake()
	rep, err := Import(context.Background(), f, f, FileSource(p), ImportOptions{HashPassword: fakeHash})
	if err != nil || rep.Applied.UsersCreated != 4 {
		t.Fatalf("%v %+v", err, rep)
	}
}

func TestImportFileChangedBetweenPasses(t *testing.T) {
	good := lines(versionLine, `{"type":"team","team":{"name":"eng","display_name":"E","type":"O"}}`)
	for _, changed := range [][]byte{
		lines(versionLine, `{"type":"team","team":{}}`), // would be a nil name
		lines(versionLine, `{"type":"team","team":`),    // no longer JSON
		lines(versionLine, `{"type":"user","user":{"username":"alice","email":"a@example.com","teams":[{"name":"ops"}]}}`),
	} {
		calls := 0
		src := func() (io.ReadCloser, error) {
			calls++
			if calls == 1 {
				return io.NopCloser(bytes.NewReader(good)), nil
			}
			return io.NopCloser(bytes.NewReader(changed)), nil
		}
		f := newFake()
		_, err := Import(context.Background(), f, f, src, ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), "the file changed since it was checked: line 2") {
			t.Errorf("%s: %v", changed, err)
		}
		if len(f.teams) != 0 {
			t.Errorf("%s: wrote %v", changed, f.teams)
		}
	}
}

func TestImportHashesEveryPassword(t *testing.T) {
	ls := []string{versionLine}
	for _, u := range []string{"ann", "ben", "cat", "dan", "eve"} {
		ls = append(ls, `{"type":"user","user":{"username":"`+u+`","email":"`+u+`@example.com","password":"pw-`+u+`"}}`)
	}
	f := newFake()
	if _, err := Import(context.Background(), f, f, bytesSource(lines(ls...)), ImportOptions{HashPassword: fakeHash}); err != nil {
		t.Fatal(err)
	}
	for _, a := range f.accounts {
		if a.PasswordHash != "hash:pw-"+a.Username {
			t.Errorf("%s: %q", a.Username, a.PasswordHash)
		}
	}
	failing := func(ctx context.Context, pw string) (string, error) {
		if pw == "pw-cat" {
			return "", errors.New("no slot")
		}
		return "h", nil
	}
	g := newFake()
	_, err := Import(context.Background(), g, g, bytesSource(lines(ls...)), ImportOptions{HashPassword: failing})
	if err == nil || !strings.Contains(err.Error(), "line 4: password: no slot") || len(g.accounts) != 0 {
		t.Fatalf("%v, %d accounts", err, len(g.accounts))
	}
}

func TestImportProgress(t *testing.T) {
	f := newFake()
	var seen []int
	rep, err := Import(context.Background(), f, f, bytesSource(bigFile()), ImportOptions{BatchSize: 3,
		Progress: func(r *Report) { seen = append(seen, r.Batches) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != rep.Batches || seen[0] != 1 || seen[len(seen)-1] != rep.Batches {
		t.Errorf("progress %v, %d batches", seen, rep.Batches)
	}
}

// A user line's admin roles reach the store as grants: system_admin on the account,
// team_admin on its team, channel_admin on each channel whose roles hold it.
func TestToUserRoles(t *testing.T) {
	var l Line
	if err := json.Unmarshal([]byte(`{"type":"user","user":{"username":"Ann","email":"ann@example.com","roles":"system_admin system_user",
		"teams":[{"name":"Eng","roles":"team_user team_admin","channels":[{"name":"town-square","roles":"channel_user"},{"name":"Ops","roles":"channel_admin channel_user"}]},
		{"name":"sales","channels":[{"name":"deals"}]}]}}`), &l); err != nil {
		t.Fatal(err)
	}
	u := toUser(l)
	want := []store.ImportTeamMembership{
		{Name: "eng", Channels: []string{"town-square", "ops"}, Admin: true, AdminChannels: []string{"ops"}},
		{Name: "sales", Channels: []string{"deals"}},
	}
	if !u.SystemAdmin || !reflect.DeepEqual(u.Teams, want) {
		t.Errorf("toUser = admin %v, teams %+v", u.SystemAdmin, u.Teams)
	}
	l.User.Roles = nil
	if toUser(l).SystemAdmin {
		t.Error("a line without roles is a system admin")
	}
}
