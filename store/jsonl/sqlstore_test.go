package jsonl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// The end-to-end tests: this package over the real store, on every backend of the run.

func importDB(t *testing.T, s *sqlstore.Store, src Source, opts ImportOptions) *Report {
	t.Helper()
	if opts.HashPassword == nil {
		opts.HashPassword = resources.HashPassword
	}
	rep, err := Import(context.Background(), s, s, src, opts)
	if err != nil {
		var errs []string
		if rep != nil {
			for _, e := range rep.Errors {
				errs = append(errs, e.Error())
			}
		}
		t.Fatalf("import: %v\n%s", err, strings.Join(errs, "\n"))
	}
	return rep
}

func exportDB(t *testing.T, s store.Bulk, q store.ExportQuery) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Export(context.Background(), s, &buf, ExportOptions{Query: q, AuthService: "saml", AuthData: "externalId", Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func checkInvariants(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	if v, err := s.CheckInvariants(context.Background()); err != nil || len(v) > 0 {
		t.Fatalf("invariants: %v %v", v, err)
	}
}

func TestDatabaseImportFullFile(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			ctx := context.Background()
			rep := importDB(t, s, FileSource("testdata/full.jsonl"), ImportOptions{Verbose: true})
			a := rep.Applied
			if a.TeamsCreated < 2 || a.ChannelsCreated < 3 || a.UsersCreated != 4 || a.UsersDeactivated != 0 || len(a.Changes) == 0 {
				t.Errorf("applied %+v", a)
			}
			checkInvariants(t, s)
			// Imported users are SCIM users: userName = email, externalId = auth_data of an
			// IdP service, the password hashed as SCIM's.
			users, _, err := s.ListUsers(ctx, store.Query{Count: 100})
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]store.User{}
			for _, u := range users {
				byName[u.UserName] = u
			}
			if al := byName["alice@example.com"]; al.ExternalID != "00u1alice" || !al.Active {
				t.Errorf("alice %+v", al)
			}
			if c := byName["carol@example.com"]; c.ExternalID != "carol-dn" || c.Active {
				t.Errorf("carol %+v", c)
			}
			if d := byName["dave@example.com"]; d.ExternalID != "" {
				t.Errorf("dave (auth_service email) %+v", d)
			}
			if len(byName) != 4 {
				t.Errorf("users %v", byName)
			}
			if bob, ok := byName["Bob@Example.com"]; !ok {
				t.Errorf("bob missing: %v", byName)
			} else if ok, err := resources.VerifyPassword(bob.PasswordHash, "correct horse battery"); !ok || err != nil {
				t.Errorf("bob's password: %v %v", ok, err)
			}
			// Every change is journaled with the actor import.
			es, err := s.Events(ctx, store.EventQuery{Limit: 1000})
			if err != nil || len(es) == 0 {
				t.Fatal(err)
			}
			for _, e := range es {
				if e.Actor != store.ActorImport {
					t.Fatalf("entry %+v: actor %q", e, e.Actor)
				}
			}
			// Again: nothing changes, nothing is journaled.
			before := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true})
			rep = importDB(t, s, FileSource("testdata/full.jsonl"), ImportOptions{Verbose: true})
			if !reflect.DeepEqual(rep.Applied, store.ImportReport{}) {
				t.Errorf("re-import changed %+v", rep.Applied)
			}
			if after := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true}); after != before {
				t.Errorf("re-import changed the export:\n%s\n%s", before, after)
			}
			es2, _ := s.Events(ctx, store.EventQuery{Limit: 1000})
			if len(es2) != len(es) {
				t.Errorf("re-import journaled %d entries", len(es2)-len(es))
			}
		})
	}
}

func TestDatabaseRoundTrip(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			src := sqltest.Open(t, b)
			importDB(t, src, FileSource("testdata/full.jsonl"), ImportOptions{})
			importDB(t, src, bytesSource(bigFile()), ImportOptions{BatchSize: 4})
			for _, q := range []store.ExportQuery{{}, {IncludeDeactivated: true}, {Teams: []string{"engineering", "t1"}}} {
				first := exportDB(t, src, q)
				dst := sqltest.Open(t, b)
				importDB(t, dst, bytesSource([]byte(first)), ImportOptions{})
				checkInvariants(t, dst)
				if second := exportDB(t, dst, q); second != first {
					t.Errorf("%+v: first\n%s\nsecond\n%s", q, first, second)
				}
			}
		})
	}
}

func TestDatabaseDryRunWritesNothing(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			dry := importDB(t, s, bytesSource(bigFile()), ImportOptions{DryRun: true, Verbose: true, BatchSize: 4})
			if ts, _ := s.ListTeams(context.Background()); len(ts) != 0 {
				t.Fatalf("a dry run wrote %v", ts)
			}
			real := importDB(t, s, bytesSource(bigFile()), ImportOptions{Verbose: true, BatchSize: 4})
			if dry.Applied.UsersCreated != 7 || !reflect.DeepEqual(dry.Applied, real.Applied) {
				t.Errorf("dry %+v\nreal %+v", dry.Applied, real.Applied)
			}
		})
	}
}

// failingStore fails its failAt-th ImportChat, as a crash half-way would.
type failingStore struct {
	*sqlstore.Store
	failAt, n int
}

func (f *failingStore) ImportChat(ctx context.Context, b store.ImportBatch, opts store.ImportOptions) (store.ImportReport, error) {
	if f.n++; f.n == f.failAt {
		return store.ImportReport{}, errCrash
	}
	return f.Store.ImportChat(ctx, b, opts)
}

func TestDatabaseCrashThenRerun(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ref := sqltest.Open(t, b)
			importDB(t, ref, bytesSource(bigFile()), ImportOptions{BatchSize: 3})
			want := exportDB(t, ref, store.ExportQuery{IncludeDeactivated: true})
			for _, failAt := range []int{2, 4} {
				s := sqltest.Open(t, b)
				fs := &failingStore{Store: s, failAt: failAt}
				rep, err := Import(context.Background(), fs, s, bytesSource(bigFile()), ImportOptions{BatchSize: 3})
				if !errors.Is(err, errCrash) || rep.Batches != failAt-1 {
					t.Fatalf("%v, %d batches", err, rep.Batches)
				}
				checkInvariants(t, s)
				importDB(t, s, bytesSource(bigFile()), ImportOptions{BatchSize: 3})
				checkInvariants(t, s)
				if got := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true}); got != want {
					t.Errorf("crash at batch %d, then again:\n%s\nwant\n%s", failAt, got, want)
				}
			}
		})
	}
}

func TestDatabaseInvalidFileWritesNothing(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			file := lines(versionLine, `{"type":"team","team":{"name":"eng","display_name":"E","type":"O"}}`,
				`{"type":"user","user":{"username":"alice","email":"a@example.com","teams":[{"name":"ops"}]}}`)
			rep, err := Import(context.Background(), s, s, bytesSource(file), ImportOptions{})
			if !errors.Is(err, ErrInvalidFile) || rep.ErrorCount != 1 {
				t.Fatalf("%v %+v", err, rep)
			}
			if es, _ := s.Events(context.Background(), store.EventQuery{}); len(es) != 0 {
				t.Fatalf("wrote %v", es)
			}
		})
	}
}

// A conflict only the database knows (a username another account holds) is found in
// the first pass: the import writes nothing and names the line.
func TestDatabaseConflictFoundFirst(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			importDB(t, s, bytesSource(lines(versionLine,
				`{"type":"user","user":{"username":"alice","email":"a@example.com"}}`,
				`{"type":"user","user":{"username":"bob","email":"b@example.com"}}`)), ImportOptions{})
			before := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true})
			// b@example.com is bob's account; the line would rename it to alice's username.
			rep, err := Import(context.Background(), s, s, bytesSource(lines(versionLine,
				`{"type":"user","user":{"username":"carol","email":"c@example.com"}}`,
				`{"type":"user","user":{"username":"alice","email":"b@example.com"}}`)), ImportOptions{})
			if !errors.Is(err, ErrInvalidFile) || rep.Batches != 0 || rep.ErrorCount != 1 ||
				rep.Errors[0] != (Error{Line: 3, Field: "user.username", Message: "is the username of another account"}) {
				t.Fatalf("%v, %d batches, %+v", err, rep.Batches, rep.Errors)
			}
			if got := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true}); got != before {
				t.Errorf("wrote:\n%s", got)
			}
		})
	}
}

// A conflict in a later batch (line 9000 of 10,001, in the second batch of 5,000) stops
// the import before its first batch: nothing is written, and every conflict is listed.
func TestDatabaseConflictInLaterBatchWritesNothing(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			ctx := context.Background()
			importDB(t, s, bytesSource(lines(versionLine,
				`{"type":"user","user":{"username":"zed","email":"zed@example.com"}}`,
				`{"type":"user","user":{"username":"yves","email":"yves@example.com"}}`,
				`{"type":"user","user":{"username":"xena","email":"xena@example.com"}}`,
				`{"type":"user","user":{"username":"wes","email":"wes@example.com"}}`)), ImportOptions{})
			before := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true})
			cur, err := s.Events(ctx, store.EventQuery{Limit: store.MaxEventPage})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.WriteString(versionLine + "\n")
			for line := 2; line <= 10001; line++ {
				name := fmt.Sprintf("user%d", line)
				email := name + "@example.org"
				switch line {
				case 9000: // finds yves by email, and would rename it to zed's username
					name, email = "zed", "yves@example.com"
				case 9500:
					name, email = "xena", "wes@example.com"
				}
				fmt.Fprintf(&buf, `{"type":"user","user":{"username":%q,"email":%q}}`+"\n", name, email)
			}
			rep, err := Import(ctx, s, s, bytesSource(buf.Bytes()), ImportOptions{})
			want := []Error{{Line: 9000, Field: "user.username", Message: "is the username of another account"},
				{Line: 9500, Field: "user.username", Message: "is the username of another account"}}
			if !errors.Is(err, ErrInvalidFile) || rep.Batches != 0 || !reflect.DeepEqual(rep.Errors, want) {
				t.Fatalf("%v, %d batches, %+v", err, rep.Batches, rep.Errors)
			}
			if got := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true}); got != before {
				t.Error("the import wrote")
			}
			if after, err := s.Events(ctx, store.EventQuery{Limit: store.MaxEventPage}); err != nil || len(after) != len(cur) {
				t.Errorf("journaled %d entries, %v", len(after)-len(cur), err)
			}
		})
	}
}

// Two lines in two batches that find one account (the first by auth_data, the second
// by the email the account has before the import) are refused before anything is
// written: applied, the first would give the account its email, and the second would
// find no account and stop the import half-way on the account's userName.
func TestDatabaseOneAccountFoundAcrossBatches(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			importDB(t, s, bytesSource(lines(versionLine,
				`{"type":"user","user":{"username":"xavier","email":"x@example.com","auth_service":"saml","auth_data":"00uX"}}`)), ImportOptions{})
			before := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true})
			rep, err := Import(context.Background(), s, s, bytesSource(lines(versionLine,
				`{"type":"user","user":{"username":"xavier2","email":"new@example.com","auth_service":"saml","auth_data":"00uX"}}`,
				`{"type":"user","user":{"username":"yolanda","email":"y@example.com"}}`,
				`{"type":"user","user":{"username":"zach","email":"x@example.com"}}`)), ImportOptions{BatchSize: 2})
			want := []Error{{Line: 4, Field: "user", Message: "finds the account line 2 finds too"}}
			if !errors.Is(err, ErrInvalidFile) || rep.Batches != 0 || !reflect.DeepEqual(rep.Errors, want) {
				t.Fatalf("%v, %d batches, %+v", err, rep.Batches, rep.Errors)
			}
			if got := exportDB(t, s, store.ExportQuery{IncludeDeactivated: true}); got != before {
				t.Errorf("wrote:\n%s", got)
			}
		})
	}
}

// checklessStore passes every check, as if the conflicting change were committed
// between the check and the batch.
type checklessStore struct{ *sqlstore.Store }

func (checklessStore) CheckImport(context.Context, store.ImportBatch) (store.ImportCheck, error) {
	return store.ImportCheck{}, nil
}

// A batch the store refuses all the same (a conflict committed after the check) stops
// the import with an error naming the line.
func TestDatabaseRefusedBatch(t *testing.T) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := sqltest.Open(t, b)
			importDB(t, s, bytesSource(lines(versionLine,
				`{"type":"user","user":{"username":"alice","email":"a@example.com"}}`,
				`{"type":"user","user":{"username":"bob","email":"b@example.com"}}`)), ImportOptions{})
			rep, err := Import(context.Background(), checklessStore{s}, s, bytesSource(lines(versionLine,
				`{"type":"user","user":{"username":"alice","email":"b@example.com"}}`)), ImportOptions{})
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "line 2") || rep.Batches != 0 {
				t.Fatalf("%v, %d batches", err, rep.Batches)
			}
		})
	}
}
