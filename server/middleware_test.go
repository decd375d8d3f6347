package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/townsquare/townsquare/store"
)

func TestRecoverPanicsAnswersSCIM500AndLogs(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := accessLog(log, nil)(recoverPanics(log, writeSCIMError)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/scim/v2/Users", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d", rec.Code)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["status"] != "500" {
		t.Fatalf("body %q (%v)", rec.Body.String(), err)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic value leaked to the client: %s", rec.Body.String())
	}
	if !strings.Contains(logs.String(), "panic in handler") || !strings.Contains(logs.String(), "boom") {
		t.Fatalf("panic not logged: %s", logs.String())
	}
}

func TestLimitBodyChunked(t *testing.T) {
	var got int
	h := limitBody(10, writeSCIMError)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = len(b)
	}))
	// A body without Content-Length (chunked) over the limit is still refused.
	req := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(strings.Repeat("x", 11))))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", rec.Code)
	}
	req = httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 10)))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || got != 10 {
		t.Fatalf("at the limit: status %d, read %d", rec.Code, got)
	}
}

// TestBoundedHandler: every value of a record the bounded handler passes on, whatever its
// kind, has at most MaxLogValue bytes plus the note of the cut, keeps its start and end,
// and stays valid UTF-8; short values pass as they are.
func TestBoundedHandler(t *testing.T) {
	long := strings.Repeat("é", 300) + "END" // 603 bytes, 2-byte characters
	for _, c := range []struct {
		name string
		log  func(l *slog.Logger)
		want []string // substrings of the line
	}{
		{"short string", func(l *slog.Logger) { l.Info("m", "v", "short") }, []string{`"v":"short"`}},
		{"exactly the bound", func(l *slog.Logger) { l.Info("m", "v", strings.Repeat("x", MaxLogValue)) },
			[]string{`"v":"` + strings.Repeat("x", MaxLogValue) + `"`}},
		{"one past the bound", func(l *slog.Logger) { l.Info("m", "v", strings.Repeat("x", MaxLogValue+1)) },
			[]string{"…[1 bytes cut]…"}},
		{"multibyte", func(l *slog.Logger) { l.Info("m", "v", long) }, []string{"bytes cut]…", "END\""}},
		{"error", func(l *slog.Logger) { l.Info("m", "err", errors.New("create user "+long+": the cause")) },
			[]string{"create user é", "the cause"}},
		{"any", func(l *slog.Logger) { l.Info("m", "v", []string{long}) }, []string{"bytes cut]"}},
		{"group", func(l *slog.Logger) { l.Info("m", slog.Group("g", "v", long)) }, []string{`"g":{"v":"éé`}},
		{"with attrs", func(l *slog.Logger) { l.With("v", long).Info("m") }, []string{"bytes cut]"}},
		{"message", func(l *slog.Logger) { l.Info(long) }, []string{"bytes cut]"}},
		{"request id from the context", func(l *slog.Logger) {
			l.InfoContext(store.WithRequestID(context.Background(), "req-7"), "m")
		}, []string{`"request_id":"req-7"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			c.log(boundedLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
			line := buf.String()
			if len(line) > 1024 {
				t.Fatalf("line of %d bytes: %s", len(line), line)
			}
			if !utf8.ValidString(line) || strings.Contains(line, `\ufffd`) {
				t.Fatalf("invalid UTF-8 after the cut: %s", line)
			}
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Fatalf("line %s lacks %q", line, w)
				}
			}
		})
	}
}
