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
//	townsquare conformance --url URL [--token TOKEN | --token-file FILE] [--only rfc|okta|entra]
//
// The token may also come from TOWNSQUARE_CONFORMANCE_TOKEN (or SCIM_TOKEN), so that it
// need not appear in the process list, as a flag's value does.
//
// It prints one PASS/FAIL line per check and a summary, and fails when any check fails.
func cmdConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baseURL := fs.String("url", envDefault("SCIM_BASE_URL", ""),
		"SCIM base URL of the server to test, e.g. http://127.0.0.1:8080/scim/v2 (env SCIM_BASE_URL)")
	token := fs.String("token", "", "bearer token; visible in the process list, so prefer --token-file or the environment")
	tokenFile := fs.String("token-file", "", "file holding the bearer token (its first line)")
	only := fs.String("only", "", "run only these suites: "+strings.Join(scimtest.Suites, ", ")+" (comma-separated; default all)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: townsquare conformance --url URL [--token TOKEN | --token-file FILE] [--only rfc|okta|entra]")
		fmt.Fprintln(stderr, "\nRuns SCIM 2.0 conformance checks against a server. Every resource the checks")
		fmt.Fprintln(stderr, "create is named st-<random>-… and deleted afterwards. The token is --token, or the")
		fmt.Fprintln(stderr, "first line of --token-file, or TOWNSQUARE_CONFORMANCE_TOKEN, or SCIM_TOKEN.")
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
	tok, err := conformanceToken(*token, *tokenFile)
	if err != nil {
		return err
	}
	if tok == "" {
		fmt.Fprintln(stderr, "warning: no token given (--token, --token-file, TOWNSQUARE_CONFORMANCE_TOKEN); requests carry an empty bearer token")
	}

	// Ctrl-C skips the remaining checks; the running check still cleans up.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	results := scimtest.Run(ctx, scimtest.Config{
		BaseURL: *baseURL,
		Token:   tok,
		Client:  &http.Client{Timeout: *timeout},
		Only:    *only,
	})
	if failed := scimtest.Report(stdout, results); failed > 0 {
		return fmt.Errorf("%d of %d conformance checks failed", failed, len(results))
	}
	return nil
}

// conformanceToken is the bearer token of a conformance run: --token, else the first
// line of --token-file (both at once is an error), else TOWNSQUARE_CONFORMANCE_TOKEN,
// else SCIM_TOKEN (its earlier name), else "".
func conformanceToken(flagToken, file string) (string, error) {
	switch {
	case flagToken != "" && file != "":
		return "", errors.New("conformance: give --token or --token-file, not both")
	case flagToken != "":
		return flagToken, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("conformance: --token-file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		tok := strings.TrimSpace(line)
		if tok == "" {
			return "", fmt.Errorf("conformance: --token-file %s holds no token", file)
		}
		return tok, nil
	}
	if tok := os.Getenv("TOWNSQUARE_CONFORMANCE_TOKEN"); tok != "" {
		return tok, nil
	}
	return os.Getenv("SCIM_TOKEN"), nil
}
