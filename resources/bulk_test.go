package resources

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// TestBulkConcurrencyPerToken: a token runs at most MaxConcurrentBulk bulk requests at
// once; one more is 429 with Retry-After, another token is not affected, and a slot is
// free again once its request is answered.
func TestBulkConcurrencyPerToken(t *testing.T) {
	a, err := New(nil, slog.New(slog.DiscardHandler), "http://scim.test/scim/v2")
	if err != nil {
		t.Fatal(err)
	}
	post := func(actor string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/Bulk", strings.NewReader(`{"schemas":["`+BulkRequestSchema+`"],"Operations":[]}`))
		r = r.WithContext(store.WithActor(r.Context(), actor))
		w := httptest.NewRecorder()
		a.ops.ServeHTTP(w, r)
		return w
	}
	for range MaxConcurrentBulk {
		if !a.bulkSlots.acquire("okta") {
			t.Fatal("a slot below the limit was refused")
		}
	}
	if w := post("okta"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" ||
		!strings.Contains(w.Body.String(), `"status":"429"`) {
		t.Fatalf("one bulk request over the limit: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	if w := post("entra"); w.Code != http.StatusOK {
		t.Fatalf("another token: %d %s", w.Code, w.Body.String())
	}
	a.bulkSlots.release("okta")
	if w := post("okta"); w.Code != http.StatusOK {
		t.Fatalf("after a slot was freed: %d %s", w.Code, w.Body.String())
	}
	a.bulkSlots.release("okta")
	if len(a.bulkSlots.running) != 0 {
		t.Fatalf("slots left after every request ended: %v", a.bulkSlots.running)
	}
}

// TestBulkOperationPanicsAndDeadline: a panic in an operation's handler is that
// operation's 500, logged, and the next operation runs; once the request's context has
// ended, no further operation runs and the answer lists those that did.
func TestBulkOperationPanicsAndDeadline(t *testing.T) {
	var logs strings.Builder
	a, err := New(nil, slog.New(slog.NewTextHandler(&logs, nil)), "http://scim.test/scim/v2")
	if err != nil {
		t.Fatal(err)
	}
	var cancel context.CancelFunc
	a.ops = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/Users/panics":
			panic("boom")
		case "/Users/times-out":
			cancel()
			WriteError(w, errTimeout)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	run := func(ops ...string) []map[string]any {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		body := `{"Operations":[` + strings.Join(ops, ",") + `]}`
		r := httptest.NewRequest(http.MethodPost, "/Bulk", strings.NewReader(body)).WithContext(ctx)
		w := httptest.NewRecorder()
		a.bulk(w, r)
		var resp struct{ Operations []map[string]any }
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &resp) != nil {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		return resp.Operations
	}
	del := func(id string) string { return `{"method":"DELETE","path":"/Users/` + id + `"}` }
	res := run(del("panics"), del("ok"))
	if len(res) != 2 || res[0]["status"] != "500" || res[1]["status"] != "204" || !strings.Contains(logs.String(), "panic in bulk operation") {
		t.Fatalf("after a panic: %v; log %s", res, logs.String())
	}
	res = run(del("ok"), del("times-out"), del("never"))
	if len(res) != 2 || res[1]["status"] != "503" {
		t.Fatalf("past the deadline: %v", res)
	}
}
