package resources

import (
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
