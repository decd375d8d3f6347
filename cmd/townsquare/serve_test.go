package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address no one listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// served is a "townsquare serve" running in the test.
type served struct {
	out, errOut *syncBuffer
	stop        func() error // cancels serve and returns what it returned
}

// startServe runs serve with args (and a fresh SQLite database, unless args name one),
// waiting until ready answers 200 at readyURL.
func startServe(t *testing.T, client *http.Client, readyURL string, args ...string) *served {
	t.Helper()
	t.Setenv("TOWNSQUARE_TOKEN", "")
	if !strings.Contains(strings.Join(args, " "), "--database") {
		args = append(args, "--database", filepath.Join(t.TempDir(), "s.db"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{out: &syncBuffer{}, errOut: &syncBuffer{}}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), s.out, s.errOut) }()
	s.stop = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not shut down")
			return nil
		}
	}
	for range 100 {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v; %s", err, s.errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := client.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
	}
	s.stop()
	t.Fatalf("serve not ready at %s: %s", readyURL, s.errOut.String())
	return nil
}

func get(t *testing.T, client *http.Client, url, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestServeMetricsOnTheirOwnAddress: --metrics-addr serves /metrics there, counting the
// SCIM port's requests, and the SCIM port does not serve them.
func TestServeMetricsOnTheirOwnAddress(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	t.Setenv("TOWNSQUARE_METRICS_ADDR", metricsAddr)
	s := startServe(t, http.DefaultClient, "http://"+addr+"/readyz", "--addr", addr)
	if status, _ := get(t, http.DefaultClient, "http://"+addr+"/scim/v2/Users", ""); status != 401 {
		t.Fatalf("unauthenticated SCIM request: %d", status)
	}
	if status, _ := get(t, http.DefaultClient, "http://"+addr+"/metrics", ""); status != 404 {
		t.Fatalf("/metrics on the SCIM port: %d, want 404", status)
	}
	status, body := get(t, http.DefaultClient, "http://"+metricsAddr+"/metrics", "")
	if status != 200 || !strings.Contains(body, `townsquare_http_requests_total{method="GET",route="/scim/v2/Users",status="401"} 1`) ||
		!strings.Contains(body, `go_sql_open_connections{db_name="sqlite"}`) {
		t.Fatalf("/metrics: %d\n%s", status, body)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", metricsAddr, time.Second); err == nil {
		t.Fatal("the metrics listener outlived serve")
	}
}
