package jsonl

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeZip writes a zip of files (name → content) at p.
func writeZip(t *testing.T, p string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// readAll reads every line of r: the lines and the per-line errors, and the final error.
func readAll(r *Reader) (ls []Line, errs []Error, err error) {
	for {
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			return ls, errs, nil
		}
		var le Error
		if errors.As(err, &le) {
			errs = append(errs, le)
			continue
		}
		if err != nil {
			return ls, errs, err
		}
		ls = append(ls, l)
	}
}

// postLine is a valid post line of exactly n bytes.
func postLine(n int) string {
	const head, tail = `{"type":"post","post":{"message":"`, `"}}`
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func TestMaxLineBytes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		eol     string
		wantErr bool
	}{
		{"at the limit", MaxLineBytes, "\n", false},
		{"at the limit, CRLF", MaxLineBytes, "\r\n", false},
		{"at the limit, last line without newline", MaxLineBytes, "", false},
		{"one byte over", MaxLineBytes + 1, "\n", true},
		{"one byte over, no newline", MaxLineBytes + 1, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := versionLine + "\n" + postLine(tc.size) + tc.eol
			if tc.eol != "" {
				in += versionLine + "\n" // reading goes on after a line too long
			}
			ls, errs, err := readAll(NewReader(strings.NewReader(in)))
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr {
				if len(errs) != 1 || errs[0].Line != 2 || !strings.Contains(errs[0].Message, "longer than") {
					t.Fatalf("errors %v", errs)
				}
				if tc.eol != "" && (len(ls) != 2 || ls[1].Number != 3) {
					t.Fatalf("the line after: %d lines", len(ls))
				}
				return
			}
			if len(errs) != 0 || len(ls) < 2 || ls[1].Type != TypePost || ls[1].Number != 2 {
				t.Fatalf("errors %v, %d lines", errs, len(ls))
			}
		})
	}
}

func TestMaxInputBytes(t *testing.T) {
	in := versionLine + "\n" + versionLine + "\n"
	for _, tc := range []struct {
		max     int64
		wantErr bool
	}{{int64(len(in)), false}, {int64(len(in)) - 1, true}} {
		r := NewReader(strings.NewReader(in))
		r.maxBytes = tc.max
		_, _, err := readAll(r)
		if (err != nil) != tc.wantErr {
			t.Errorf("max %d: %v", tc.max, err)
		}
		if err != nil {
			if _, err2 := r.Next(); err2 == nil || errors.Is(err2, io.EOF) {
				t.Errorf("the error is not kept: %v", err2)
			}
		}
	}
}

func TestReaderLineErrors(t *testing.T) {
	for _, tc := range []struct {
		line, field, msg string
	}{
		{``, "", "is empty"},
		{`   `, "", "is empty"},
		{`{"type":"team"`, "", "not valid JSON"},
		{`{"type":"team"} {}`, "", "not valid JSON"},
		{`[1,2]`, "", "not an object"},
		{`"team"`, "", "not an object"},
		{`{}`, "type", "is required"},
		{`{"type":"widget"}`, "type", "not a line type"},
		{`{"type":7}`, "type", "must be a string"},
		{`{"type":"team"}`, "team", "is required"},
		{`{"type":"team","team":null}`, "team", "is required"},
		{`{"type":"post","post":[]}`, "post", "is required"},
		{`{"type":"version"}`, "version", "is required"},
		{`{"type":"version","version":"1"}`, "version", "must be an integer"},
		{`{"type":"version","version":1.5}`, "version", "must be an integer"},
		{`{"type":"team","team":{"name":5}}`, "team.name", "must be a string"},
		{`{"type":"user","user":{"teams":{}}}`, "user.teams", "must be an array"},
		{`{"type":"user","user":{"teams":[{"channels":[{"favorite":"yes"}]}]}}`, "user.teams.channels.favorite", "must be true or false"},
		{`{"type":"user","user":{"delete_at":"now"}}`, "user.delete_at", "must be an integer"},
	} {
		_, errs, err := readAll(NewReader(strings.NewReader(tc.line + "\n")))
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Message, tc.msg) || errs[0].Line != 1 {
			t.Errorf("%s: %+v, want %s: %s", tc.line, errs, tc.field, tc.msg)
		}
	}
}

func TestFileSourceZip(t *testing.T) {
	dir := t.TempDir()
	good := versionLine + "\n"
	for _, tc := range []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"one jsonl and attachments", map[string]string{"data.jsonl": good, "data/a.png": "x", "data/": ""}, ""},
		{"jsonl in a folder", map[string]string{"export/import.jsonl": good}, ""},
		{"two jsonl", map[string]string{"a.jsonl": good, "b.jsonl": good}, "more than one .jsonl"},
		{"no jsonl", map[string]string{"data.txt": good}, "no .jsonl"},
		{"dot-dot", map[string]string{"data.jsonl": good, "../evil": "x"}, "climbs out"},
		{"dot-dot inside", map[string]string{"data.jsonl": good, "data/../../evil": "x"}, "climbs out"},
		{"absolute", map[string]string{"data.jsonl": good, "/etc/passwd": "x"}, "absolute"},
		{"backslash", map[string]string{"data.jsonl": good, `..\evil`: "x"}, "backslash"},
		{"drive", map[string]string{"data.jsonl": good, `C:evil`: "x"}, "drive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".zip")
			writeZip(t, p, tc.files)
			rc, err := FileSource(p)()
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrZip) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			if string(b) != good {
				t.Fatalf("read %q", b)
			}
		})
	}
	// A symbolic link entry.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.Create("data.jsonl")
	h := &zip.FileHeader{Name: "data/link"}
	h.SetMode(os.ModeSymlink | 0o777)
	w, _ := zw.CreateHeader(h)
	w.Write([]byte("/etc/passwd"))
	zw.Close()
	p := filepath.Join(dir, "link.zip")
	os.WriteFile(p, buf.Bytes(), 0o600)
	if _, err := FileSource(p)(); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("symlink: %v", err)
	}
	// Not a zip at all, by its name.
	os.WriteFile(filepath.Join(dir, "bad.zip"), []byte(good), 0o600)
	if _, err := FileSource(filepath.Join(dir, "bad.zip"))(); !errors.Is(err, ErrZip) {
		t.Fatalf("bad zip: %v", err)
	}
	// A zip by its bytes, whatever its name; a .jsonl by its name.
	writeZip(t, filepath.Join(dir, "data.bin"), map[string]string{"data.jsonl": good})
	if rc, err := FileSource(filepath.Join(dir, "data.bin"))(); err != nil {
		t.Fatal(err)
	} else {
		rc.Close()
	}
	if n, err := ZipAttachments(filepath.Join(dir, "one_jsonl_and_attachments.zip")); err != nil || n != 1 {
		t.Errorf("attachments %d %v", n, err)
	}
	os.WriteFile(filepath.Join(dir, "plain.jsonl"), []byte(good), 0o600)
	if n, err := ZipAttachments(filepath.Join(dir, "plain.jsonl")); err != nil || n != 0 {
		t.Errorf("attachments of a .jsonl %d %v", n, err)
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Line: 3, Field: "user.email", Message: "is required"}, "line 3: user.email: is required"},
		{Error{Line: 3, Message: "is empty"}, "line 3: is empty"},
		{Error{Message: "the file is empty"}, "the file is empty"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}
