package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestConformanceToken: the conformance run's token comes from --token, --token-file,
// TOWNSQUARE_CONFORMANCE_TOKEN or SCIM_TOKEN, in that order, and reaches the server as
// the bearer token; --token with --token-file, or a file without a token, is an error.
func TestConformanceToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-file\n# a comment line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")] = true
		mu.Unlock()
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer srv.Close()
	for _, c := range []struct {
		name       string
		args       []string
		env, scim  string
		want, fail string
	}{
		{name: "flag", args: []string{"--token", "from-flag"}, env: "from-env", want: "from-flag"},
		{name: "file", args: []string{"--token-file", file}, env: "from-env", want: "from-file"},
		{name: "environment", env: "from-env", scim: "from-scim", want: "from-env"},
		{name: "SCIM_TOKEN", scim: "from-scim", want: "from-scim"},
		{name: "both flags", args: []string{"--token", "a", "--token-file", file}, fail: "not both"},
		{name: "empty file", args: []string{"--token-file", empty}, fail: "holds no token"},
		{name: "missing file", args: []string{"--token-file", filepath.Join(dir, "none")}, fail: "--token-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TOWNSQUARE_CONFORMANCE_TOKEN", c.env)
			t.Setenv("SCIM_TOKEN", c.scim)
			mu.Lock()
			clear(seen)
			mu.Unlock()
			_, _, err := runCmd(t, append([]string{"conformance", "--url", srv.URL + "/scim/v2", "--only", "rfc"}, c.args...)...)
			if c.fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("err = %v, want one saying %q", err, c.fail)
				}
				return
			}
			mu.Lock()
			defer mu.Unlock()
			// The kit also sends no token and a wrong one, to check that they are refused.
			for h := range seen {
				if strings.HasPrefix(h, "Bearer from-") && h != "Bearer "+c.want {
					t.Fatalf("the server saw %q, want Bearer %s", h, c.want)
				}
			}
			if !seen["Bearer "+c.want] {
				t.Fatalf("the server saw %v, not Bearer %s", seen, c.want)
			}
		})
	}
}
