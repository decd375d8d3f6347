package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

const connTestToken = "conn-test-token"

// startServer serves the full handler on s through srv's settings (newHTTPServer, as
// Serve does, then adjusted by adjust) on a loopback listener wrapped by wrap.
func startServer(t *testing.T, s store.Store, adjust func(*http.Server), wrap func(net.Listener) net.Listener) string {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := Handler(Config{Store: s, Log: log, BootstrapToken: connTestToken, Limits: DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if wrap != nil {
		ln = wrap(ln)
	}
	srv := newHTTPServer(h, log)
	if adjust != nil {
		adjust(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, srv, log, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return addr
}

// sendHead writes a POST's request line and headers (and the start of its body).
func sendHead(t *testing.T, conn net.Conn, auth, framing, start string) {
	t.Helper()
	head := "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\n" + framing + "\r\n"
	if auth != "" {
		head += "Authorization: Bearer " + auth + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"+start); err != nil {
		t.Fatal(err)
	}
}

// closedWithin reads conn until the server closes it, failing t if that takes longer
// than d; it returns what was read.
func closedWithin(t *testing.T, conn net.Conn, d time.Duration) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(d))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection was still open after %v; read so far: %q", d, got)
	}
	return string(got)
}

// A request refused before its body is read (here: no token) is answered at once and its
// connection closed, however slowly the client sends the body it announced.
func TestRejectedBodyIsNotAwaited(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		addr := startServer(t, s, nil, nil)
		for _, tc := range []struct{ name, auth, framing string }{
			{"no token, Content-Length", "", "Content-Length: 100000"},
			{"no token, chunked", "", "Transfer-Encoding: chunked"},
			{"wrong token, Content-Length", "wrong", "Content-Length: 100000"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				start := "{"
				if strings.Contains(tc.framing, "chunked") {
					start = "1\r\n{\r\n"
				}
				sendHead(t, conn, tc.auth, tc.framing, start)
				got := closedWithin(t, conn, 2*time.Second)
				if !strings.HasPrefix(got, "HTTP/1.1 401 ") || !strings.Contains(got, "Connection: close") {
					t.Fatalf("answer: %q", got)
				}
			})
		}
	})
}

// A client that trickles a body holds its connection for ReadTimeout at most.
func TestTrickledBodyTimesOut(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		const readTimeout = 500 * time.Millisecond
		addr := startServer(t, s, func(srv *http.Server) { srv.ReadTimeout = readTimeout }, nil)
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		sendHead(t, conn, connTestToken, "Content-Length: 1000", "{")
		stop := make(chan struct{})
		defer close(stop)
		go func() { // one byte every 50 ms: 50 s for the whole body
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		start := time.Now()
		got := closedWithin(t, conn, readTimeout+3*time.Second)
		if took := time.Since(start); took < readTimeout/2 {
			t.Fatalf("closed after %v, before the read timeout: %q", took, got)
		}
		if strings.Contains(got, "201 Created") {
			t.Fatalf("a trickled body was accepted: %q", got)
		}
	})
}

// The timeouts Serve uses leave a 1 MiB body, sent in pieces as a slow link would, time
// to arrive.
func TestLargeBodyWithinTimeouts(t *testing.T) {
	if ReadTimeout < 16*time.Second { // 1 MiB at 64 KiB/s
		t.Fatalf("ReadTimeout %v is too short for a 1 MiB body on a slow link", ReadTimeout)
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		addr := startServer(t, s, nil, nil)
		user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"big@example.com"}`
		body := user + strings.Repeat(" ", DefaultMaxBodyBytes-len(user))
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		sendHead(t, conn, connTestToken, fmt.Sprintf("Content-Length: %d", len(body)), "")
		for i := 0; i < len(body); i += 64 << 10 {
			if _, err := io.WriteString(conn, body[i:min(i+64<<10, len(body))]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("a 1 MiB body: %s", resp.Status)
		}
	})
}

// With a cap of n connections, the n+1st is not served until one of the others closes.
func TestConnectionCap(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		const maxConns = 2
		addr := startServer(t, s, nil, func(ln net.Listener) net.Listener { return LimitListener(ln, maxConns) })
		get := func(conn net.Conn, wait time.Duration) error {
			if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				return err
			}
			_ = conn.SetReadDeadline(time.Now().Add(wait))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %s", resp.Status)
			}
			return nil
		}
		var held []net.Conn
		for range maxConns {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := get(conn, 5*time.Second); err != nil { // accepted and kept alive
				t.Fatal(err)
			}
			held = append(held, conn)
		}
		extra, err := net.Dial("tcp", addr) // the kernel accepts it; the server does not
		if err != nil {
			t.Fatal(err)
		}
		defer extra.Close()
		if err := get(extra, 300*time.Millisecond); err == nil {
			t.Fatalf("connection %d was served beyond the cap of %d", maxConns+1, maxConns)
		}
		held[0].Close()
		_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
		if err != nil {
			t.Fatalf("after one closed, the waiting connection was not served: %v", err)
		}
		resp.Body.Close()
	})
}

func TestLimitListenerOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if LimitListener(ln, 0) != ln {
		t.Fatal("a cap of 0 wrapped the listener")
	}
}
