package jsonl

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// exportFixture is a fake holding what testdata/full.jsonl imports, plus a user with
// long attributes.
func exportFixture(t *testing.T) *fakeBulk {
	t.Helper()
	f := newFake()
	if rep, err := Import(context.Background(), f, f, FileSource("testdata/full.jsonl"), ImportOptions{HashPassword: fakeHash}); err != nil {
		t.Fatalf("%v %v", err, rep.Errors)
	}
	return f
}

func TestExportLines(t *testing.T) {
	f := exportFixture(t)
	got := exportString(t, f, store.ExportQuery{IncludeDeactivated: true})
	want := strings.Join([]string{
		`{"type":"version","version":1,"info":{"generator":"townsquare","version":"test"}}`,
		`{"type":"team","team":{"name":"engineering","display_name":"Engineering","type":"I"}}`,
		`{"type":"team","team":{"name":"sales","display_name":"Sales & Marketing","type":"O"}}`,
		`{"type":"channel","channel":{"team":"engineering","name":"backend","display_name":"Backend","type":"P"}}`,
		`{"type":"channel","channel":{"team":"engineering","name":"frontend","display_name":"frontend","type":"O"}}`,
		`{"type":"channel","channel":{"team":"engineering","name":"off-topic","display_name":"off-topic","type":"O"}}`,
		`{"type":"channel","channel":{"team":"engineering","name":"town-square","display_name":"town-square","type":"O"}}`,
		`{"type":"channel","channel":{"team":"sales","name":"deals","display_name":"Deals","type":"O"}}`,
		`{"type":"channel","channel":{"team":"sales","name":"off-topic","display_name":"off-topic","type":"O"}}`,
		`{"type":"channel","channel":{"team":"sales","name":"town-square","display_name":"town-square","type":"O"}}`,
		`{"type":"user","user":{"username":"alice","email":"alice@example.com","auth_service":"saml","auth_data":"00u1alice","nickname":"Al","first_name":"Alice","last_name":"Liddell","position":"Engineer","roles":"system_user","locale":"en","teams":[{"name":"engineering","roles":"team_user","channels":[{"name":"backend","roles":"channel_user"},{"name":"off-topic","roles":"channel_user"},{"name":"town-square","roles":"channel_user"}]}]}}`,
		`{"type":"user","user":{"username":"bob","email":"Bob@Example.com","roles":"system_user","teams":[{"name":"sales","roles":"team_user","channels":[{"name":"deals","roles":"channel_user"},{"name":"off-topic","roles":"channel_user"},{"name":"town-square","roles":"channel_user"}]}]}}`,
		`{"type":"user","user":{"username":"carol","email":"carol@example.com","auth_service":"saml","auth_data":"carol-dn","roles":"system_user","delete_at":1700000000000}}`,
		`{"type":"user","user":{"username":"dave","email":"dave@example.com","roles":"system_user","teams":[{"name":"engineering","roles":"team_user","channels":[{"name":"frontend","roles":"channel_user"},{"name":"off-topic","roles":"channel_user"},{"name":"town-square","roles":"channel_user"}]}]}}`,
	}, "\n") + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// Without deactivated users, carol is left out; with --team, only that team.
	if s := exportString(t, f, store.ExportQuery{}); strings.Contains(s, "carol") {
		t.Errorf("deactivated exported:\n%s", s)
	}
	s := exportString(t, f, store.ExportQuery{Teams: []string{"sales"}})
	if strings.Contains(s, "engineering") || !strings.Contains(s, `"username":"bob"`) || strings.Contains(s, "alice") {
		t.Errorf("--team sales:\n%s", s)
	}
}

func TestExportAuth(t *testing.T) {
	f := exportFixture(t)
	for _, tc := range []struct {
		svc, data, want string
	}{
		{"saml", "externalId", `"auth_service":"saml","auth_data":"00u1alice"`},
		{"openid", "userName", `"auth_service":"openid","auth_data":"alice@example.com"`},
		{"ldap", "email", `"auth_service":"ldap","auth_data":"alice@example.com"`},
		{"email", "externalId", `"email":"alice@example.com","nickname"`},
		{"", "", `"email":"alice@example.com","nickname"`},
	} {
		var buf bytes.Buffer
		if _, err := Export(context.Background(), f, &buf, ExportOptions{AuthService: tc.svc, AuthData: tc.data}); err != nil {
			t.Fatal(err)
		}
		alice, dave := lineOf(buf.String(), `"username":"alice"`), lineOf(buf.String(), `"username":"dave"`)
		if !strings.Contains(alice, tc.want) {
			t.Errorf("%s/%s: %s", tc.svc, tc.data, alice)
		}
		// A user with an empty value gets neither field.
		if tc.data == "externalId" && strings.Contains(dave, "auth_") {
			t.Errorf("dave without externalId: %s", dave)
		}
	}
	for _, o := range []ExportOptions{{AuthService: "okta", AuthData: "externalId"}, {AuthService: "saml", AuthData: "objectId"}} {
		if _, err := Export(context.Background(), f, io.Discard, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestExportCutsToMattermostLimits(t *testing.T) {
	f := newFake()
	f.accounts = append(f.accounts, &fakeAccount{ExportUser: store.ExportUser{
		Username: "zed", Email: "z@example.com",
		FirstName: strings.Repeat("é", 65), LastName: strings.Repeat("l", 64), Nickname: strings.Repeat("n", 70),
		Position: strings.Repeat("p", 129), Locale: "en-GB-x",
	}})
	var buf bytes.Buffer
	if _, err := Export(context.Background(), f, &buf, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"first_name":"` + strings.Repeat("é", 64) + `"`, `"last_name":"` + strings.Repeat("l", 64) + `"`,
		`"nickname":"` + strings.Repeat("n", 64) + `"`, `"position":"` + strings.Repeat("p", 128) + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want[:20])
		}
	}
	if strings.Contains(out, "locale") {
		t.Errorf("a locale longer than 5 exported: %s", out)
	}
	// What Export writes, Validate accepts.
	sum, err := Validate(context.Background(), bytesSource(buf.Bytes()), f, nil)
	if err != nil || sum.ErrorCount != 0 {
		t.Fatalf("%v %v", err, sum.Errors)
	}
}

func TestExportZipDeterministic(t *testing.T) {
	f := exportFixture(t)
	export := func() []byte {
		var buf bytes.Buffer
		if _, err := Export(context.Background(), f, &buf, ExportOptions{Zip: true, AuthService: "saml", AuthData: "externalId"}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a, b := export(), export()
	if !bytes.Equal(a, b) {
		t.Fatal("two zips of the same state differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != ZipEntryName || !zr.File[0].Modified.Equal(zipTime) {
		t.Fatalf("%v %+v", err, zr.File)
	}
	p := filepath.Join(t.TempDir(), "export.zip")
	os.WriteFile(p, a, 0o600)
	sum, err := Validate(context.Background(), FileSource(p), f, nil)
	if err != nil || sum.ErrorCount != 0 || sum.Types[TypeUser] != 3 {
		t.Fatalf("%v %+v", err, sum)
	}
}

func TestExportRoundTrip(t *testing.T) {
	// Export → import into an empty store → export gives the same bytes.
	f := exportFixture(t)
	first := exportString(t, f, store.ExportQuery{IncludeDeactivated: true})
	g := newFake()
	if rep, err := Import(context.Background(), g, g, bytesSource([]byte(first)), ImportOptions{}); err != nil {
		t.Fatalf("%v %v", err, rep.Errors)
	}
	if second := exportString(t, g, store.ExportQuery{IncludeDeactivated: true}); second != first {
		t.Errorf("first\n%s\nsecond\n%s", first, second)
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestExportWriteError(t *testing.T) {
	f := exportFixture(t)
	if _, err := Export(context.Background(), f, &failingWriter{n: 10}, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatal(err)
	}
	if _, err := Export(context.Background(), f, io.Discard, ExportOptions{Query: store.ExportQuery{Teams: []string{"nope"}}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
}

// lineOf is the line of s holding sub.
func lineOf(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
