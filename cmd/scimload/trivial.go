package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/townsquare/townsquare/store"
)

// The trivial handler is the HTTP ceiling of the machine: a plain net/http server
// answering every request with a small, fixed SCIM list response, no database, no
// routing, no authentication. A SCIM server cannot answer a filtered GET faster than the
// same client gets answers from it.

// trivialBody is shaped like the answer to `userName eq` (one resource), so that the
// client decodes about the same JSON in both cases.
var trivialBody = func() []byte {
	b, _ := json.Marshal(map[string]any{
		"schemas":      []string{store.ListResponseSchema},
		"totalResults": 1, "itemsPerPage": 1, "startIndex": 1,
		"Resources": []map[string]any{{
			"schemas":  []string{store.UserSchema},
			"id":       "00000000-0000-0000-0000-000000000000",
			"userName": "trivial@example.com", "active": true,
			"name":   map[string]any{"givenName": "Trivial", "familyName": "Handler"},
			"emails": []map[string]any{{"value": "trivial@example.com", "type": "work", "primary": true}},
			"meta":   map[string]any{"resourceType": "User", "version": `W/"1"`},
		}},
	})
	return b
}()

func trivialHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write(trivialBody)
	})
}

// serveTrivial serves the trivial handler on addr (loopback only) until ctx ends. It
// prints "listening on http://ADDR" first, which --ceiling self reads.
func serveTrivial(ctx context.Context, addr string, stdout io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--addr %q: the trivial server listens on loopback addresses only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: trivialHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// trivialChild is a trivial server this process started as a child (--ceiling self), so
// that the ceiling is measured against a separate process, as the SCIM server is.
type trivialChild struct {
	cmd *exec.Cmd
	URL string
}

func startTrivialChild() (*trivialChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "trivial", "--addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("start trivial server: %w", err)
	}
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("start trivial server: unexpected output %q", line)
	}
	return &trivialChild{cmd: cmd, URL: u}, nil
}

// stop ends the child this process started (by its own pid) and waits for it.
func (c *trivialChild) stop() {
	if c == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func (c *trivialChild) pid() int {
	if c == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}
