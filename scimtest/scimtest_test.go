package scimtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestChecksWellFormed lints the check tables: unique names, known suites, every
// variable defined before use, and every request body valid JSON.
func TestChecksWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks() {
		id := c.Suite + "/" + c.Name
		if c.Name == "" || seen[id] {
			t.Errorf("check %q: empty or duplicate name", id)
		}
		seen[id] = true
		if _, ok := styles[c.Suite]; !ok {
			t.Errorf("check %q: unknown suite", id)
		}
		if len(c.Steps) == 0 && c.Func == nil {
			t.Errorf("check %q: nothing to run", id)
		}
		v := vars{"run": "st-x-", "p": "st-x-01-", "rand": "0a1b2c3d"}
		for g := 1; g <= 5; g++ {
			v[fmt.Sprintf("guid%d", g)] = newUUID()
		}
		for _, kv := range c.Vars {
			e, err := v.expand(kv[1], noEscape)
			if err != nil {
				t.Errorf("check %q: var %s: %v", id, kv[0], err)
			}
			v[kv[0]] = e
		}
		for i, st := range c.Steps {
			where := fmt.Sprintf("check %q step %d (%s)", id, i+1, st.Name)
			if !strings.HasPrefix(st.Path, "/") {
				t.Errorf("%s: path %q must start with /", where, st.Path)
			}
			if _, err := v.expandURL(st.Path); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			if st.Body != "" {
				b, err := v.expand(st.Body, jsonEscape)
				if err != nil {
					t.Errorf("%s: %v", where, err)
				} else if !json.Valid([]byte(b)) && c.Name != "errors-malformed-json" {
					t.Errorf("%s: body is not JSON: %s", where, b)
				}
			}
			for k, h := range st.Header {
				if _, err := v.expand(h, noEscape); err != nil {
					t.Errorf("%s: header %s: %v", where, k, err)
				}
			}
			for name := range st.Capture {
				v[name] = "captured-" + name
			}
		}
	}
	if len(seen) < 50 {
		t.Errorf("only %d checks", len(seen))
	}
}

// TestRunAgainstBrokenServer: every check fails with a diagnosable reason, none panics,
// and Run returns one result per check.
func TestRunAgainstBrokenServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(500)
		fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"broken"}`)
	}))
	defer srv.Close()
	results := Run(context.Background(), Config{BaseURL: srv.URL + "/scim/v2/", Token: "x"})
	if len(results) != len(Checks()) {
		t.Fatalf("%d results for %d checks", len(results), len(Checks()))
	}
	for _, r := range results {
		if r.Err == nil {
			t.Errorf("%s/%s passed against a broken server", r.Suite, r.Name)
		} else if msg := r.Err.Error(); !strings.Contains(msg, "→ 500") || !strings.Contains(msg, "broken") {
			t.Errorf("%s/%s: reason lacks the exchange: %s", r.Suite, r.Name, msg)
		}
	}
	var buf bytes.Buffer
	if n := Report(&buf, results); n != len(results) {
		t.Errorf("Report counted %d failures", n)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; last != fmt.Sprintf("0 passed, %d failed", len(results)) {
		t.Errorf("last line %q", last)
	}
}

func TestRunSelection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	for _, only := range []string{"okta", "entra", "rfc", "OKTA, entra"} {
		results := Run(context.Background(), Config{BaseURL: srv.URL, Only: only})
		if len(results) == 0 {
			t.Errorf("%s: no results", only)
		}
		for _, r := range results {
			if !strings.Contains(strings.ToLower(only), r.Suite) {
				t.Errorf("Only=%q ran %s/%s", only, r.Suite, r.Name)
			}
		}
	}
	if r := Run(context.Background(), Config{BaseURL: srv.URL, Only: "scim"}); len(r) != 1 || r[0].Err == nil {
		t.Errorf("unknown suite: %v", r)
	}
	if r := Run(context.Background(), Config{}); len(r) != 1 || r[0].Err == nil {
		t.Errorf("no URL: %v", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range Run(ctx, Config{BaseURL: srv.URL, Only: "entra"}) {
		if r.Err == nil || !strings.Contains(r.Err.Error(), "not run") {
			t.Errorf("cancelled run: %s/%s: %v", r.Suite, r.Name, r.Err)
		}
	}
}

// TestAgainstURL runs the kit against a live server:
//
//	SCIMTEST_URL=http://127.0.0.1:8080/scim/v2 SCIMTEST_TOKEN=… [SCIMTEST_ONLY=okta] go test -run TestAgainstURL -v ./scimtest/
func TestAgainstURL(t *testing.T) {
	url := os.Getenv("SCIMTEST_URL")
	if url == "" {
		t.Skip("SCIMTEST_URL is not set")
	}
	results := Run(context.Background(), Config{BaseURL: url, Token: os.Getenv("SCIMTEST_TOKEN"), Only: os.Getenv("SCIMTEST_ONLY")})
	var buf bytes.Buffer
	failed := Report(&buf, results)
	t.Log("\n" + buf.String())
	if failed > 0 {
		t.Errorf("%d check(s) failed", failed)
	}
}
