package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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
	var once sync.Once
	var stopErr error
	s.stop = func() error { // may be called more than once
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("serve did not shut down")
			}
		})
		return stopErr
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

// writeCertPair writes a self-signed certificate for 127.0.0.1 with serial, and its key,
// as PEM, and returns the certificate.
func writeCertPair(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "townsquare test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// TestServeTLS: with --tls-cert and --tls-key serve speaks HTTPS only, its default base
// URL is https, and SIGHUP makes it serve a renewed pair at once (long before it would
// notice the change by itself).
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCertPair(t, certFile, keyFile, 1)
	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	addr := freeAddr(t)
	s := startServe(t, client, "https://"+addr+"/readyz", "--addr", addr, "--tls-cert", certFile, "--tls-key", keyFile)
	defer s.stop()
	if strings.Contains(s.errOut.String(), "without TLS") {
		t.Fatalf("a plaintext warning with TLS on: %s", s.errOut.String())
	}
	if !strings.Contains(s.errOut.String(), "scim=https://"+addr+"/scim/v2") {
		t.Fatalf("the default base URL is not https: %s", s.errOut.String())
	}
	if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200")
		}
	}
	serial := func() int64 {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // inspecting what is served
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	writeCertPair(t, certFile, keyFile, 2)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for i := 0; serial() != 2; i++ {
		if i == 100 { // 1 s, a tenth of the interval at which serve looks by itself
			t.Fatalf("the renewed certificate is not served after SIGHUP: %s", s.errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeSurvivesSIGHUPWithoutTLS: SIGHUP, which reloads the TLS pair, is harmless
// without one: the server says so and keeps serving (Go's default would end it).
func TestServeSurvivesSIGHUPWithoutTLS(t *testing.T) {
	addr := freeAddr(t)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	s := startServe(t, client, "http://"+addr+"/readyz", "--addr", addr)
	defer s.stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for i := 0; !strings.Contains(s.errOut.String(), "nothing to reload"); i++ {
		if i == 200 {
			t.Fatalf("SIGHUP was not noticed: %s", s.errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := client.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after SIGHUP /readyz is %d", resp.StatusCode)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeWarnsOfPlaintextOffLoopback: serve without TLS warns when it listens on more
// than the loopback interface, and not when it listens on loopback only.
func TestServeWarnsOfPlaintextOffLoopback(t *testing.T) {
	for _, c := range []struct {
		host string
		warn bool
	}{{"127.0.0.1", false}, {"0.0.0.0", true}} {
		port := freeAddr(t)[len("127.0.0.1:"):]
		s := startServe(t, http.DefaultClient, "http://127.0.0.1:"+port+"/readyz", "--addr", c.host+":"+port)
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(s.errOut.String(), "without TLS"); got != c.warn {
			t.Errorf("listening on %s: warned %v, want %v: %s", c.host, got, c.warn, s.errOut.String())
		}
	}
}
