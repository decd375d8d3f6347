package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/townsquare/townsquare/scimtest"
)

// cmdConformance runs the scimtest conformance kit against a SCIM server:
//
//	townsquare conformance --url URL --token TOKEN [--only rfc|okta|entra]
//
// It prints one PASS/FAIL line per check and a summary, and fails when any check fails.
func cmdConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baseURL := fs.String("url", envDefault("SCIM_BASE_URL", ""),
		"SCIM base URL of the server to test, e.g. http://127.0.0.1:8080/scim/v2 (env SCIM_BASE_URL)")
	token := fs.String("token", envDefault("SCIM_TOKEN", ""), "bearer token (env SCIM_TOKEN)")
	only := fs.String("only", "", "run only these suites: "+strings.Join(scimtest.Suites, ", ")+" (comma-separated; default all)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: townsquare conformance --url URL --token TOKEN [--only rfc|okta|entra]")
		fmt.Fprintln(stderr, "\nRuns SCIM 2.0 conformance checks against a server. Every resource the checks")
		fmt.Fprintln(stderr, "create is named st-<random>-… and deleted afterwards.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if strings.TrimSpace(*baseURL) == "" {
		fs.Usage()
		return errors.New("conformance: --url (or SCIM_BASE_URL) is required")
	}
	if *token == "" {
		fmt.Fprintln(stderr, "warning: no --token (or SCIM_TOKEN) given; requests carry an empty bearer token")
	}

	// Ctrl-C skips the remaining checks; the running check still cleans up.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	results := scimtest.Run(ctx, scimtest.Config{
		BaseURL: *baseURL,
		Token:   *token,
		Client:  &http.Client{Timeout: *timeout},
		Only:    *only,
	})
	if failed := scimtest.Report(stdout, results); failed > 0 {
		return fmt.Errorf("%d of %d conformance checks failed", failed, len(results))
	}
	return nil
}
