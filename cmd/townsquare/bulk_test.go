package main

import (
	"archive/zip"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store/jsonl"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

const fullFile = "../../store/jsonl/testdata/full.jsonl"

// TestImportExportCommands runs import and export as an admin would, on every backend:
// import with its report, check, the journal's actor, a second import changing nothing,
// export to stdout and to a zip, and the zip imported into an empty database exporting
// the same bytes.
func TestImportExportCommands(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			db := b.DSN(t)
			out, _, err := runCmd(t, "import", fullFile, "--database", db, "--verbose")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range []string{
				"read 18 lines: version 1, scheme 1, role 1, emoji 1, team 2, channel 3, user 5, bot 1, post 1, direct_channel 1, direct_post 1\n",
				"changed in 1 batch(es):\n",
				"  users: 4 created, 0 updated, 0 deactivated, 0 reactivated\n",
				"    user alice created\n",
				"warning: skipped what Townsquare does not keep: scheme 1, role 1, emoji 1, bot 1, post 1, direct_channel 1, direct_post 1\n",
				"warning: 1 guest user(s) (system_guest) not imported",
				"admin roles granted: 3", "alice: team_user → team_user team_admin in engineering",
				"warning: fields Townsquare does not keep were ignored: ",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("import output lacks %q:\n%s", want, out)
				}
			}
			// Counts come before warnings.
			if strings.Index(out, "users:") > strings.Index(out, "warning:") {
				t.Errorf("order:\n%s", out)
			}
			if out, _, err := runCmd(t, "check", "--database", db); err != nil {
				t.Fatalf("check: %v\n%s", err, out)
			}
			if out, _, err := runCmd(t, "events", "--database", db, "--limit", "3"); err != nil || strings.Count(out, "  import  ") != 3 {
				t.Fatalf("events: %v\n%s", err, out)
			}
			out, _, err = runCmd(t, "import", "--database", db, fullFile)
			if err != nil || !strings.Contains(out, "users: 0 created, 0 updated") || !strings.Contains(out, "teams: 0 created, 0 updated") {
				t.Fatalf("again: %v\n%s", err, out)
			}
			stdout, errOut, err := runCmd(t, "export", "--database", db, "--include-deactivated")
			if err != nil || !strings.HasPrefix(stdout, `{"type":"version","version":1,"info":{"generator":"townsquare","version":"dev"}}`+"\n") ||
				!strings.Contains(stdout, `"auth_service":"saml","auth_data":"00u1alice"`) || !strings.Contains(errOut, "4 users to standard output") {
				t.Fatalf("export: %v\n%s%s", err, stdout, errOut)
			}
			zipPath := filepath.Join(dir, "data.zip")
			if _, _, err := runCmd(t, "export", "--database", db, "--include-deactivated", "--output", zipPath); err != nil {
				t.Fatal(err)
			}
			zr, err := zip.OpenReader(zipPath)
			if err != nil || len(zr.File) != 1 || zr.File[0].Name != "data.jsonl" {
				t.Fatalf("zip: %v", err)
			}
			zr.Close()
			if st, err := os.Stat(zipPath); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("zip mode: %v %v", st.Mode(), err)
			}
			db2 := b.DSN(t)
			if out, _, err := runCmd(t, "import", zipPath, "--database", db2); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			again, _, err := runCmd(t, "export", "--database", db2, "--include-deactivated")
			if err != nil || again != stdout {
				t.Fatalf("round trip: %v\n%s\nwant\n%s", err, again, stdout)
			}
			if out, _, err := runCmd(t, "check", "--database", db2); err != nil {
				t.Fatalf("check: %v\n%s", err, out)
			}
		})
	}
}

func TestImportCommandFailures(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir := t.TempDir()
			db := b.DSN(t)
			bad := filepath.Join(dir, "bad.jsonl")
			writeFile(bad, `{"type":"version","version":1}
{"type":"team","team":{"name":"eng","display_name":"Eng","type":"X"}}
{"type":"user","user":{"username":"alice","email":"a@example.com","auth_data":"x","teams":[{"name":"ops"}]}}
`)
			out, _, err := runCmd(t, "import", bad, "--database", db)
			if err == nil || !strings.Contains(err.Error(), "3 error(s) in") || !strings.Contains(err.Error(), "nothing was imported") {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range []string{"error: line 2: team.type: is \"X\"", "error: line 3: user.auth_service: ", "error: line 3: user.teams[0].name: \"ops\" is no team"} {
				if !strings.Contains(out, want) {
					t.Errorf("lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "created") {
				t.Errorf("counts printed for an invalid file:\n%s", out)
			}
			if exp, _, _ := runCmd(t, "export", "--database", db); strings.Count(exp, "\n") != 1 {
				t.Errorf("an invalid file wrote:\n%s", exp)
			}
			// Beyond MaxErrors, the rest are counted.
			many := `{"type":"version","version":1}` + "\n" + strings.Repeat(`{"type":"team","team":{"name":"eng","display_name":"E","type":"X"}}`+"\n", 1002)
			writeFile(bad, many)
			out, _, err = runCmd(t, "import", bad, "--database", db)
			if err == nil || !strings.Contains(out, "error: … and 2 more (only the first 1000 are listed)") || strings.Count(out, "\nerror: line") != 1000 {
				t.Fatalf("%v\n%s", err, out[len(out)-300:])
			}
			// A dry run writes nothing and says so.
			out, _, err = runCmd(t, "import", fullFile, "--database", db, "--dry-run", "--verbose")
			if err != nil || !strings.Contains(out, "would change (dry run: nothing was written)") || !strings.Contains(out, "  users: 4 created") ||
				!strings.Contains(out, "    user bob created") {
				t.Fatalf("dry run: %v\n%s", err, out)
			}
			if exp, _, _ := runCmd(t, "export", "--database", db); strings.Count(exp, "\n") != 1 {
				t.Errorf("a dry run wrote:\n%s", exp)
			}
		})
	}
}

func TestBulkCommandArguments(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.db")
	cfg := filepath.Join(dir, "mapping.yaml")
	writeFile(cfg, "mattermost:\n  url: https://chat.example.com\n  auth_service: ldap\n  auth_data: email\n")
	if out, _, err := runCmd(t, "import", fullFile, "--database", db); err != nil {
		t.Fatal(err, out)
	}
	for _, tc := range []struct {
		args    []string
		wantErr string
		wantOut string
	}{
		{[]string{"import"}, "no file given", ""},
		{[]string{"import", filepath.Join(dir, "missing.jsonl")}, "no such file", ""},
		{[]string{"import", fullFile, "other.jsonl"}, "one file", ""},
		{[]string{"export", "extra"}, "takes no arguments", ""},
		{[]string{"export", "--auth-service", "okta"}, `--auth-service "okta"`, ""},
		{[]string{"export", "--auth-data", "objectId"}, `--auth-data "objectId"`, ""},
		{[]string{"export", "--team", "nope"}, "--team", ""},
		{[]string{"export", "--config", cfg}, "", `"auth_service":"ldap","auth_data":"alice@example.com"`},
		{[]string{"export", "--config", cfg, "--auth-service", "openid", "--auth-data", "userName"}, "", `"auth_service":"openid","auth_data":"alice@example.com"`},
		{[]string{"export", "--auth-service", "email"}, "", `{"username":"alice","email":"alice@example.com","nickname"`},
		{[]string{"export", "--team", "sales"}, "", `"username":"bob"`},
	} {
		out, _, err := runCmd(t, append(tc.args, "--database", db)...)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: %v, want %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || !strings.Contains(out, tc.wantOut)):
			t.Errorf("%v: %v\n%s", tc.args, err, out)
		}
	}
	for _, cmd := range []string{"import", "export"} {
		if _, errOut, err := runCmd(t, cmd, "-h"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut, "usage: townsquare "+cmd) {
			t.Errorf("%s -h: %v\n%s", cmd, err, errOut)
		}
	}
	if out, _, _ := runCmd(t, "help"); !strings.Contains(out, "export [--output FILE|-]") || !strings.Contains(out, "import FILE [--dry-run]") {
		t.Errorf("help:\n%s", out)
	}
}

// printImport tells an import that stopped half-way from one that finished, and says to
// run it again.
func TestPrintImportStopped(t *testing.T) {
	rep := &jsonl.Report{Summary: jsonl.Summary{Lines: 3, Types: map[string]int{"version": 1, "user": 2}}, Batches: 1}
	rep.Applied.UsersCreated = 1
	var b strings.Builder
	printImport(&b, rep, false, false)
	if !strings.Contains(b.String(), "changed before the import stopped (run it again to finish: it is idempotent) in 1 batch(es):\n  teams") ||
		!strings.Contains(b.String(), "users: 1 created") {
		t.Errorf("%s", b.String())
	}
}

// A zip's attachment files are counted in the warning of what was skipped.
func TestImportZipAttachments(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(fullFile)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "export.zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	for name, content := range map[string][]byte{"data.jsonl": data, "data/alice.png": []byte("png"), "data/file.txt": []byte("x")} {
		w, _ := zw.Create(name)
		w.Write(content)
	}
	zw.Close()
	f.Close()
	out, _, err := runCmd(t, "import", p, "--database", filepath.Join(dir, "t.db"), "--dry-run")
	if err != nil || !strings.Contains(out, "direct_post 1, attachment files 2\n") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestImportProgressLines(t *testing.T) {
	defer func(n int) { progressEvery = n }(progressEvery)
	progressEvery = 1
	_, errOut, err := runCmd(t, "import", fullFile, "--database", filepath.Join(t.TempDir(), "t.db"))
	if err != nil || errOut != "1 batches applied: 4 users created, 0 updated so far\n" {
		t.Fatalf("%v %q", err, errOut)
	}
}
