package jsonl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// FuzzImport reads any bytes as a bulk file. Whatever they are: no panic; every error
// names a line of the file; a file without errors imports into the in-memory store (or
// is refused by it with an InvalidError, for what only a database can see), importing
// it again changes nothing, and what is then exported validates. The seeds run in
// `make test`; `make fuzz` searches further.
func FuzzImport(f *testing.F) {
	full, err := os.ReadFile("testdata/full.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add(bigFile())
	for _, s := range []string{
		"", "\n", versionLine, versionLine + "\n\n", "{}\n", "[]\n", "null\n", "\xff\n",
		versionLine + "\n" + `{"type":"team","team":{"name":"eng","display_name":"E","type":"O"}}` + "\r\n",
		versionLine + "\n" + `{"type":"user","user":{"username":"alice","email":"a@example.com","delete_at":0,"teams":[{"name":"x"}]}}`,
		versionLine + "\n" + `{"type":"user","user":{"username":"ALICE","email":"a@example.com","auth_service":"saml","auth_data":"1"}}`,
		versionLine + "\n" + `{"TYPE":"user","User":{"username":"alice","email":"a\u0000@example.com"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		fb := newFake()
		rep, err := Import(ctx, fb, fb, bytesSource(data), ImportOptions{HashPassword: fakeHash})
		if rep == nil {
			t.Fatalf("no report: %v", err)
		}
		lineCount := bytes.Count(data, []byte("\n")) + 1
		for _, e := range rep.Errors {
			if e.Line < 0 || e.Line > lineCount || e.Message == "" {
				t.Fatalf("error %+v of a file of %d lines", e, lineCount)
			}
		}
		if rep.ErrorCount > 0 {
			if !errors.Is(err, ErrInvalidFile) || fb.calls != 0 {
				t.Fatalf("%d errors, err %v, %d calls", rep.ErrorCount, err, fb.calls)
			}
			return
		}
		if errors.Is(err, store.ErrInvalid) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		again, err := Import(ctx, fb, fb, bytesSource(data), ImportOptions{HashPassword: fakeHash})
		if err != nil || !reflect.DeepEqual(again.Applied, store.ImportReport{}) {
			t.Fatalf("again: %v %+v", err, again.Applied)
		}
		var out bytes.Buffer
		if _, err := Export(ctx, fb, &out, ExportOptions{Query: store.ExportQuery{IncludeDeactivated: true}, AuthService: "saml", AuthData: "externalId"}); err != nil {
			t.Fatal(err)
		}
		sum, err := Validate(ctx, bytesSource(out.Bytes()), fb, nil)
		if err != nil || sum.ErrorCount != 0 {
			t.Fatalf("the export does not validate: %v %v\n%s", err, sum.Errors, out.String())
		}
	})
}
