// Package mattermost is a client for the part of Mattermost's REST API v4 that
// provisioning uses, and nothing more: one method per allowed call (docs/mattermost.md
// lists them), so a request to any other endpoint cannot be written with it. It imports
// nothing of Townsquare's.
//
// Every call is bounded: a per-call timeout (Config.Timeout), an answer read through a
// limit (MaxListResponse for member lists, MaxResponse otherwise; a larger answer is an
// error), per_page clamped to 1..MaxPerPage. No method retries: the caller decides with
// Retryable and Backoff.
package mattermost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits of one call.
const (
	// DefaultTimeout bounds a call when Config.Timeout is zero.
	DefaultTimeout = 30 * time.Second
	// MaxResponse bounds the body of any answer but a list; MaxListResponse a list's
	// (200 members at a few hundred bytes each is well below it).
	MaxResponse     = 1 << 20
	MaxListResponse = 4 << 20
	// MaxPerPage is Mattermost's own cap on per_page (a larger value is served as 200).
	MaxPerPage = 200
	// maxErrorBody bounds how much of an error's body is read; maxExcerpt how much of a
	// body that is not Mattermost's JSON becomes Error.Message.
	maxErrorBody = 64 << 10
	maxExcerpt   = 256
)

// ErrResponseTooLarge is returned (wrapped) when an answer exceeds its limit.
var ErrResponseTooLarge = errors.New("mattermost: response larger than its limit")

// Config configures a Client.
type Config struct {
	URL        string        // server root; calls go to URL+"/api/v4/…"
	Token      string        // a bot's or personal access token, sent as Bearer
	Timeout    time.Duration // per call; DefaultTimeout when zero
	HTTPClient *http.Client  // optional; the default one does not follow redirects
	UserAgent  string        // optional
}

// Client calls Mattermost. It is safe for concurrent use.
type Client struct {
	base    string // scheme://host[/path] without a trailing slash
	token   string
	timeout time.Duration
	hc      *http.Client
	ua      string
}

// New validates c: the URL is absolute http or https with a host, no query, fragment or
// user info; the token is not empty and holds no control characters or spaces.
func New(c Config) (*Client, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("mattermost: url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("mattermost: url %q: scheme must be http or https", c.URL)
	}
	if u.Host == "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("mattermost: url %q: want scheme://host[/path] with no query, fragment or user info", c.URL)
	}
	if c.Token == "" || strings.ContainsFunc(c.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("mattermost: token must be non-empty with no spaces or control characters")
	}
	if c.Timeout < 0 {
		return nil, errors.New("mattermost: timeout must not be negative")
	}
	cl := &Client{
		base:    strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		token:   c.Token,
		timeout: c.Timeout,
		hc:      c.HTTPClient,
		ua:      c.UserAgent,
	}
	if cl.timeout == 0 {
		cl.timeout = DefaultTimeout
	}
	if cl.hc == nil {
		// A redirect would carry the call elsewhere; it is answered as the 3xx it is.
		cl.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cl.ua == "" {
		cl.ua = "townsquare-mattermost"
	}
	return cl, nil
}

// path fills a template such as "/api/v4/users/{id}/patch" with args in order, each
// escaped with url.PathEscape. An {id} must be a Mattermost id (26 lower-case letters and
// digits): "me" or a name there would address another user or another endpoint. A
// {name} may be anything but empty, "." or "..", which a proxy cleaning the path could
// resolve to another endpoint. Either is refused before anything is sent.
func path(tmpl string, args ...string) (string, error) {
	var b strings.Builder
	for i, seg := range strings.Split(tmpl, "/")[1:] {
		b.WriteByte('/')
		if seg != "{id}" && seg != "{name}" {
			b.WriteString(seg)
			continue
		}
		if len(args) == 0 {
			panic("mattermost: path " + tmpl + ": too few arguments")
		}
		a := args[0]
		args = args[1:]
		switch {
		case seg == "{id}" && !ValidID(a):
			return "", fmt.Errorf("mattermost: %q is not a Mattermost id (segment %d of %s)", a, i+1, tmpl)
		case a == "" || a == "." || a == "..":
			return "", fmt.Errorf("mattermost: invalid path segment %q", a)
		}
		b.WriteString(url.PathEscape(a))
	}
	if len(args) != 0 {
		panic("mattermost: path " + tmpl + ": too many arguments")
	}
	return b.String(), nil
}

// ValidID reports whether s has the shape of a Mattermost id: 26 lower-case letters and
// digits (model.IsValidId).
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// call is one request: method and path (built by path), an optional query, a JSON body
// (nil for none), the answer decoded into out (nil to discard) read through limit.
func (c *Client) call(ctx context.Context, method, p string, q url.Values, body, out any, limit int64) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("mattermost: %s %s: encoding the body: %w", method, p, err)
		}
		rd = bytes.NewReader(b)
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	target := c.base + p
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(cctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("mattermost: %s %s: %w", method, p, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	err = c.exchange(req, out, limit)
	if err == nil {
		return nil
	}
	var mmErr *Error
	if errors.As(err, &mmErr) {
		return err
	}
	if ctx.Err() != nil {
		// The caller gave up (cancelled, or its own deadline passed): not the call's
		// failure, and not one to retry.
		return &callerDoneError{op: method + " " + p, err: err}
	}
	if cctx.Err() == context.DeadlineExceeded {
		return &TimeoutError{Op: method + " " + p, Limit: c.timeout}
	}
	return fmt.Errorf("mattermost: %s %s: %w", method, p, err)
}

func (c *Client) exchange(req *http.Request, out any, limit int64) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if rerr != nil && len(b) == 0 {
			return rerr
		}
		return parseError(resp, b)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("%w (%d bytes)", ErrResponseTooLarge, limit)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}

// clampPage bounds paging: page ≥ 0, per_page in 1..MaxPerPage.
func clampPage(page, perPage int) url.Values {
	if page < 0 {
		page = 0
	}
	perPage = max(1, min(perPage, MaxPerPage))
	return url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
}

// Me is GET /users/me: the token's own user (its Roles tell whether it is an admin).
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	err := c.call(ctx, http.MethodGet, "/api/v4/users/me", nil, nil, &u, MaxResponse)
	return u, err
}

// GetUser is GET /users/{id}; a 404 when there is none.
func (c *Client) GetUser(ctx context.Context, id string) (User, error) {
	return c.getUser(ctx, "/api/v4/users/{id}", id)
}

// GetUserByUsername is GET /users/username/{username}.
func (c *Client) GetUserByUsername(ctx context.Context, username string) (User, error) {
	return c.getUser(ctx, "/api/v4/users/username/{name}", username)
}

// GetUserByEmail is GET /users/email/{email}.
func (c *Client) GetUserByEmail(ctx context.Context, email string) (User, error) {
	return c.getUser(ctx, "/api/v4/users/email/{name}", email)
}

func (c *Client) getUser(ctx context.Context, tmpl, arg string) (User, error) {
	var u User
	p, err := path(tmpl, arg)
	if err != nil {
		return u, err
	}
	err = c.call(ctx, http.MethodGet, p, nil, nil, &u, MaxResponse)
	return u, err
}

// createUserBody is what POST /users reads for a provisioned user. No password: SSO
// users have none, and Townsquare never sets one.
type createUserBody struct {
	Username    string `json:"username"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Nickname    string `json:"nickname,omitempty"`
	Position    string `json:"position,omitempty"`
	AuthService string `json:"auth_service,omitempty"`
	AuthData    string `json:"auth_data,omitempty"`
}

// CreateUser is POST /users with u's username, email, names, nickname, position,
// auth_service and auth_data (never a password). The answer has no AuthData.
func (c *Client) CreateUser(ctx context.Context, u User) (User, error) {
	body := createUserBody{u.Username, u.Email, u.FirstName, u.LastName, u.Nickname, u.Position, u.AuthService, u.AuthData}
	var out User
	err := c.call(ctx, http.MethodPost, "/api/v4/users", nil, body, &out, MaxResponse)
	return out, err
}

// PatchUser is PUT /users/{id}/patch with the fields of p that are not nil.
func (c *Client) PatchUser(ctx context.Context, id string, p UserPatch) (User, error) {
	var out User
	pa, err := path("/api/v4/users/{id}/patch", id)
	if err != nil {
		return out, err
	}
	err = c.call(ctx, http.MethodPut, pa, nil, p, &out, MaxResponse)
	return out, err
}

// UpdateUserAuth is PUT /users/{id}/auth {"auth_service", "auth_data"}: binds a user to
// its identity at the IdP.
func (c *Client) UpdateUserAuth(ctx context.Context, id, authService, authData string) error {
	pa, err := path("/api/v4/users/{id}/auth", id)
	if err != nil {
		return err
	}
	body := struct {
		AuthData    string `json:"auth_data"`
		AuthService string `json:"auth_service"`
	}{authData, authService}
	return c.call(ctx, http.MethodPut, pa, nil, body, nil, MaxResponse)
}

// UpdateUserActive is PUT /users/{id}/active {"active": …}; deactivating ends the
// user's sessions.
func (c *Client) UpdateUserActive(ctx context.Context, id string, active bool) error {
	pa, err := path("/api/v4/users/{id}/active", id)
	if err != nil {
		return err
	}
	body := struct {
		Active bool `json:"active"`
	}{active}
	return c.call(ctx, http.MethodPut, pa, nil, body, nil, MaxResponse)
}

// UpdateUserRoles is PUT /users/{id}/roles {"roles": …}: replaces the system role string.
func (c *Client) UpdateUserRoles(ctx context.Context, id, roles string) error {
	pa, err := path("/api/v4/users/{id}/roles", id)
	if err != nil {
		return err
	}
	body := struct {
		Roles string `json:"roles"`
	}{roles}
	return c.call(ctx, http.MethodPut, pa, nil, body, nil, MaxResponse)
}

// DemoteUser is POST /users/{id}/demote: the user becomes a guest, keeping memberships.
func (c *Client) DemoteUser(ctx context.Context, id string) error {
	pa, err := path("/api/v4/users/{id}/demote", id)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPost, pa, nil, nil, nil, MaxResponse)
}

// PromoteUser is POST /users/{id}/promote: a guest becomes a member.
func (c *Client) PromoteUser(ctx context.Context, id string) error {
	pa, err := path("/api/v4/users/{id}/promote", id)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPost, pa, nil, nil, nil, MaxResponse)
}

// DeleteUserPermanently is DELETE /users/{id}?permanent=true: the one call outside
// issue 11's list, for delete_mode purge with allow_permanent_delete only. Mattermost
// answers it only with ServiceSettings.EnableAPIUserDeletion on.
func (c *Client) DeleteUserPermanently(ctx context.Context, id string) error {
	pa, err := path("/api/v4/users/{id}", id)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, pa, url.Values{"permanent": {"true"}}, nil, nil, MaxResponse)
}

// GetTeamByName is GET /teams/name/{name}.
func (c *Client) GetTeamByName(ctx context.Context, name string) (Team, error) {
	var t Team
	pa, err := path("/api/v4/teams/name/{name}", name)
	if err != nil {
		return t, err
	}
	err = c.call(ctx, http.MethodGet, pa, nil, nil, &t, MaxResponse)
	return t, err
}

// CreateTeam is POST /teams {"name", "display_name", "type"}; the token's user joins
// the new team as its admin.
func (c *Client) CreateTeam(ctx context.Context, t Team) (Team, error) {
	body := struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Type        string `json:"type"`
	}{t.Name, t.DisplayName, t.Type}
	var out Team
	err := c.call(ctx, http.MethodPost, "/api/v4/teams", nil, body, &out, MaxResponse)
	return out, err
}

// GetTeamMembers is GET /teams/{team_id}/members?page=&per_page= (per_page clamped to
// 1..MaxPerPage). A page shorter than perPage is the last.
func (c *Client) GetTeamMembers(ctx context.Context, teamID string, page, perPage int) ([]TeamMember, error) {
	var out []TeamMember
	pa, err := path("/api/v4/teams/{id}/members", teamID)
	if err != nil {
		return nil, err
	}
	err = c.call(ctx, http.MethodGet, pa, clampPage(page, perPage), nil, &out, MaxListResponse)
	return out, err
}

// AddTeamMember is POST /teams/{team_id}/members {"team_id", "user_id"}. Mattermost
// joins the team's default channels (town-square, off-topic) itself, except for guests;
// adding a member again succeeds.
func (c *Client) AddTeamMember(ctx context.Context, teamID, userID string) (TeamMember, error) {
	var out TeamMember
	pa, err := path("/api/v4/teams/{id}/members", teamID)
	if err != nil {
		return out, err
	}
	if !ValidID(userID) {
		return out, fmt.Errorf("mattermost: user %q is not a Mattermost id", userID)
	}
	body := struct {
		TeamID string `json:"team_id"`
		UserID string `json:"user_id"`
	}{teamID, userID}
	err = c.call(ctx, http.MethodPost, pa, nil, body, &out, MaxResponse)
	return out, err
}

// RemoveTeamMember is DELETE /teams/{team_id}/members/{user_id}; the user also leaves
// the team's channels. A non-member is 400 ErrNotTeamMember.
func (c *Client) RemoveTeamMember(ctx context.Context, teamID, userID string) error {
	pa, err := path("/api/v4/teams/{id}/members/{id}", teamID, userID)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, pa, nil, nil, nil, MaxResponse)
}

// UpdateTeamMemberSchemeRoles is PUT /teams/{team_id}/members/{user_id}/schemeRoles.
func (c *Client) UpdateTeamMemberSchemeRoles(ctx context.Context, teamID, userID string, r SchemeRoles) error {
	pa, err := path("/api/v4/teams/{id}/members/{id}/schemeRoles", teamID, userID)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPut, pa, nil, r, nil, MaxResponse)
}

// GetTeamMember is GET /teams/{team_id}/members/{user_id}: one membership with its
// scheme roles; a non-member is 404.
func (c *Client) GetTeamMember(ctx context.Context, teamID, userID string) (TeamMember, error) {
	var out TeamMember
	pa, err := path("/api/v4/teams/{id}/members/{id}", teamID, userID)
	if err != nil {
		return out, err
	}
	err = c.call(ctx, http.MethodGet, pa, nil, nil, &out, MaxResponse)
	return out, err
}

// PatchTeam is PUT /teams/{team_id}/patch with the fields of p that are not nil.
func (c *Client) PatchTeam(ctx context.Context, teamID string, p TeamPatch) (Team, error) {
	var out Team
	pa, err := path("/api/v4/teams/{id}/patch", teamID)
	if err != nil {
		return out, err
	}
	err = c.call(ctx, http.MethodPut, pa, nil, p, &out, MaxResponse)
	return out, err
}

// UpdateTeamPrivacy is PUT /teams/{team_id}/privacy {"privacy": "O" or "I"}: a team's
// type changes only this way (a patch does not carry it).
func (c *Client) UpdateTeamPrivacy(ctx context.Context, teamID, privacy string) (Team, error) {
	var out Team
	pa, err := path("/api/v4/teams/{id}/privacy", teamID)
	if err != nil {
		return out, err
	}
	body := struct {
		Privacy string `json:"privacy"`
	}{privacy}
	err = c.call(ctx, http.MethodPut, pa, nil, body, &out, MaxResponse)
	return out, err
}

// GetChannelByName is GET /teams/name/{team_name}/channels/name/{channel_name}.
func (c *Client) GetChannelByName(ctx context.Context, teamName, channelName string) (Channel, error) {
	var ch Channel
	pa, err := path("/api/v4/teams/name/{name}/channels/name/{name}", teamName, channelName)
	if err != nil {
		return ch, err
	}
	err = c.call(ctx, http.MethodGet, pa, nil, nil, &ch, MaxResponse)
	return ch, err
}

// CreateChannel is POST /channels {"team_id", "name", "display_name", "type"}; the
// token's user joins the new channel as its admin.
func (c *Client) CreateChannel(ctx context.Context, ch Channel) (Channel, error) {
	if !ValidID(ch.TeamID) {
		return Channel{}, fmt.Errorf("mattermost: team %q is not a Mattermost id", ch.TeamID)
	}
	body := struct {
		TeamID      string `json:"team_id"`
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
		Type        string `json:"type"`
	}{ch.TeamID, ch.Name, ch.DisplayName, ch.Type}
	var out Channel
	err := c.call(ctx, http.MethodPost, "/api/v4/channels", nil, body, &out, MaxResponse)
	return out, err
}

// GetChannelMembers is GET /channels/{channel_id}/members?page=&per_page=.
func (c *Client) GetChannelMembers(ctx context.Context, channelID string, page, perPage int) ([]ChannelMember, error) {
	var out []ChannelMember
	pa, err := path("/api/v4/channels/{id}/members", channelID)
	if err != nil {
		return nil, err
	}
	err = c.call(ctx, http.MethodGet, pa, clampPage(page, perPage), nil, &out, MaxListResponse)
	return out, err
}

// AddChannelMember is POST /channels/{channel_id}/members {"user_id"}. A deactivated
// user is 403 ErrDeletedUserChannel; the user must be a member of the channel's team.
func (c *Client) AddChannelMember(ctx context.Context, channelID, userID string) (ChannelMember, error) {
	var out ChannelMember
	pa, err := path("/api/v4/channels/{id}/members", channelID)
	if err != nil {
		return out, err
	}
	if !ValidID(userID) {
		return out, fmt.Errorf("mattermost: user %q is not a Mattermost id", userID)
	}
	body := struct {
		UserID string `json:"user_id"`
	}{userID}
	err = c.call(ctx, http.MethodPost, pa, nil, body, &out, MaxResponse)
	return out, err
}

// RemoveChannelMember is DELETE /channels/{channel_id}/members/{user_id}. A non-member
// is 404 ErrChannelMemberMissing; town-square refuses every removal.
func (c *Client) RemoveChannelMember(ctx context.Context, channelID, userID string) error {
	pa, err := path("/api/v4/channels/{id}/members/{id}", channelID, userID)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, pa, nil, nil, nil, MaxResponse)
}

// UpdateChannelMemberSchemeRoles is PUT /channels/{channel_id}/members/{user_id}/schemeRoles.
func (c *Client) UpdateChannelMemberSchemeRoles(ctx context.Context, channelID, userID string, r SchemeRoles) error {
	pa, err := path("/api/v4/channels/{id}/members/{id}/schemeRoles", channelID, userID)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodPut, pa, nil, r, nil, MaxResponse)
}

// GetChannelMember is GET /channels/{channel_id}/members/{user_id}: one membership with
// its scheme roles; a non-member is 404 ErrChannelMemberMissing.
func (c *Client) GetChannelMember(ctx context.Context, channelID, userID string) (ChannelMember, error) {
	var out ChannelMember
	pa, err := path("/api/v4/channels/{id}/members/{id}", channelID, userID)
	if err != nil {
		return out, err
	}
	err = c.call(ctx, http.MethodGet, pa, nil, nil, &out, MaxResponse)
	return out, err
}

// PatchChannel is PUT /channels/{channel_id}/patch with the fields of p that are not nil.
func (c *Client) PatchChannel(ctx context.Context, channelID string, p ChannelPatch) (Channel, error) {
	var out Channel
	pa, err := path("/api/v4/channels/{id}/patch", channelID)
	if err != nil {
		return out, err
	}
	err = c.call(ctx, http.MethodPut, pa, nil, p, &out, MaxResponse)
	return out, err
}

// UpdateChannelPrivacy is PUT /channels/{channel_id}/privacy {"privacy": "O" or "P"}: a
// channel's type changes only this way. town-square cannot be made private.
func (c *Client) UpdateChannelPrivacy(ctx context.Context, channelID, privacy string) (Channel, error) {
	var out Channel
	pa, err := path("/api/v4/channels/{id}/privacy", channelID)
	if err != nil {
		return out, err
	}
	body := struct {
		Privacy string `json:"privacy"`
	}{privacy}
	err = c.call(ctx, http.MethodPut, pa, nil, body, &out, MaxResponse)
	return out, err
}
