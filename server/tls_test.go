package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server"
)

// writeCertPair writes a self-signed certificate for 127.0.0.1 with the given serial and
// its key as PEM files, and returns the certificate.
func writeCertPair(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "townsquare test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// servedSerial connects to addr, trusting any certificate, and returns the serial of the
// one served.
func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test inspects what is served
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestTLSServesAndReloads: the server speaks TLS with the pair given, verifiable by a
// client that trusts it; a renewed pair is served once the files change, without a
// restart; a bad pair is logged and the one in use kept; Reload (SIGHUP) reads the files
// at once.
func TestTLSServesAndReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCertPair(t, certFile, keyFile, 1)
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	rl, err := server.NewCertReloader(certFile, keyFile, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rl.Watch(ctx, 10*time.Millisecond)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	done := make(chan error, 1)
	go func() {
		done <- server.Serve(ctx, tls.NewListener(ln, rl.TLSConfig()), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil {
				t.Error("a request without TLS")
			}
			_, _ = w.Write([]byte("ok"))
		}), log, time.Second)
	}()

	// A client that trusts the first certificate verifies it.
	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("TLS request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if plain, err := http.Get("http://" + addr + "/"); err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on the TLS port")
		}
	}

	waitSerial := func(want int64) {
		t.Helper()
		for range 200 {
			if servedSerial(t, addr) == want {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("serial %d still served, want %d; log: %s", servedSerial(t, addr), want, logs.String())
	}
	// Renewed: the files change, the new pair is served.
	time.Sleep(20 * time.Millisecond) // a modification time apart from the first
	writeCertPair(t, certFile, keyFile, 2)
	waitSerial(2)

	// A bad pair (a certificate without its key) is refused and the good one kept.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if strings.Contains(logs.String(), "TLS certificate not reloaded") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "TLS certificate not reloaded") {
		t.Fatalf("a bad pair was not logged: %s", logs.String())
	}
	if got := servedSerial(t, addr); got != 2 {
		t.Fatalf("serial %d served after a bad pair, want the previous, 2", got)
	}
	if err := rl.Reload(); err == nil {
		t.Fatal("Reload of a bad pair succeeded")
	}

	// Reload reads a good pair at once.
	cancel() // no more watching: only Reload can pick the next pair up
	<-done
	writeCertPair(t, certFile, keyFile, 3)
	if err := rl.Reload(); err != nil {
		t.Fatal(err)
	}
	if c, _ := rl.GetCertificate(nil); c.Leaf == nil || c.Leaf.SerialNumber.Int64() != 3 {
		t.Fatalf("after Reload: %+v", c.Leaf)
	}
}

// TestCertReloaderRefusesABadPairAtStart: a missing file or a key that is not the
// certificate's stops the server at start.
func TestCertReloaderRefusesABadPairAtStart(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	certA, keyA := filepath.Join(dir, "a.pem"), filepath.Join(dir, "a.key")
	certB, keyB := filepath.Join(dir, "b.pem"), filepath.Join(dir, "b.key")
	writeCertPair(t, certA, keyA, 1)
	writeCertPair(t, certB, keyB, 2)
	for _, c := range []struct{ name, cert, key string }{
		{"missing certificate", filepath.Join(dir, "none.pem"), keyA},
		{"missing key", certA, filepath.Join(dir, "none.key")},
		{"another key", certA, keyB},
		{"not PEM", keyA, certA},
	} {
		if _, err := server.NewCertReloader(c.cert, c.key, log); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// lockedBuffer is a buffer that a server writes and a test reads at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestIsLoopback(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true}, {"127.3.4.5:80", true}, {"[::1]:8080", true}, {"[::ffff:127.0.0.1]:80", true},
		{"localhost:8080", true}, {"0.0.0.0:8080", false}, {"[::]:8080", false}, {":8080", false},
		{"192.0.2.1:8080", false}, {"no-port", false},
	} {
		if got := server.IsLoopback(c.addr); got != c.want {
			t.Errorf("IsLoopback(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
}
