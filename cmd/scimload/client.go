package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/townsquare/townsquare/store"
)

// The tool talks to loopback addresses only: it is a load generator, and a typo in a URL
// must never point it at someone else's server. The check is made on the address
// actually dialled, so neither a DNS name nor a redirect can get around it.

// checkLoopbackURL rejects a URL whose host is not a loopback address (or localhost).
func checkLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("URL %q has no host", raw)
	}
	if strings.EqualFold(host, "localhost") {
		return u, nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("URL %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed", raw)
	}
	return u, nil
}

// loopbackOnly is a net.Dialer Control function refusing any non-loopback address.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to dial %s: not a loopback address", address)
	}
	return nil
}

// newHTTPClient returns a keep-alive client sized for conc concurrent requests.
func newHTTPClient(conc int, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        4 * conc,
		MaxIdleConnsPerHost: 4 * conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("redirects are not followed")
		},
	}
}

// scimClient sends SCIM requests to one or more servers (round-robin by operation
// index, so two processes sharing a database can be loaded at once).
type scimClient struct {
	http  *http.Client
	bases []string // SCIM base URLs without trailing slash
	token string
}

// response is what a request returned.
type response struct {
	status int
	body   []byte
	n      int64 // bytes read
}

// do sends one request to base i%len(bases). body is JSON-encoded unless nil. With
// discard, the body is read and counted but not kept (large member lists).
func (c *scimClient) do(ctx context.Context, i int, method, path string, body any, discard bool) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	base := c.bases[i%len(c.bases)]
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode}
	if discard {
		out.n, err = io.Copy(io.Discard, resp.Body)
	} else {
		out.body, err = io.ReadAll(resp.Body)
		out.n = int64(len(out.body))
	}
	if err != nil {
		return out, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return out, nil
}

// expect turns an unexpected status into an error carrying the start of the body.
func expect(r response, method, path string, want ...int) error {
	for _, w := range want {
		if r.status == w {
			return nil
		}
	}
	snippet := string(r.body)
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return fmt.Errorf("%s %s: status %d, want %v: %s", method, shortPath(path), r.status, want, strings.TrimSpace(snippet))
}

func shortPath(p string) string {
	if len(p) > 120 {
		return p[:120] + "…"
	}
	return p
}

// The SCIM shapes the tool reads back.
type scimResource struct {
	ID         string `json:"id"`
	UserName   string `json:"userName"`
	ExternalID string `json:"externalId"`
	Active     *bool  `json:"active"`
	Members    []struct {
		Value string `json:"value"`
	} `json:"members"`
}

type listResponse struct {
	TotalResults int            `json:"totalResults"`
	ItemsPerPage int            `json:"itemsPerPage"`
	StartIndex   int            `json:"startIndex"`
	Resources    []scimResource `json:"Resources"`
}

// userBody is a create-user request shaped like Okta's.
func userBody(userName, externalID string, i int) map[string]any {
	return map[string]any{
		"schemas":     []string{store.UserSchema},
		"userName":    userName,
		"externalId":  externalID,
		"name":        map[string]any{"givenName": fmt.Sprintf("Given%d", i), "familyName": fmt.Sprintf("Family%d", i)},
		"displayName": fmt.Sprintf("Given%d Family%d", i, i),
		"emails":      []map[string]any{{"value": userName, "type": "work", "primary": true}},
		"active":      true,
	}
}

// addMembersBody is an Okta-style PATCH adding the given users in one operation.
func addMembersBody(ids []string) map[string]any {
	vals := make([]map[string]string, len(ids))
	for i, id := range ids {
		vals[i] = map[string]string{"value": id}
	}
	return map[string]any{
		"schemas":    []string{store.PatchOpSchema},
		"Operations": []map[string]any{{"op": "add", "path": "members", "value": vals}},
	}
}

var deactivateBody = map[string]any{
	"schemas":    []string{store.PatchOpSchema},
	"Operations": []map[string]any{{"op": "replace", "value": map[string]any{"active": false}}},
}

func filterPath(attr, value string) string {
	return "/Users?filter=" + url.QueryEscape(fmt.Sprintf("%s eq %q", attr, value)) + "&startIndex=1&count=100"
}
