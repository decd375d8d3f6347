package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Error ids the connector acts on, as Mattermost's server source spells them
// (mattermost/mattermost; each checked in the file named beside it).
const (
	// POST /users, PUT /users/{id}/patch: 400 (server/channels/app/user.go: createUser
	// maps the store's invalid-input error on field "email"/"username", UpdateUser its
	// conflict error).
	ErrUsernameExists = "app.user.save.username_exists.app_error"
	ErrEmailExists    = "app.user.save.email_exists.app_error"
	// POST /users with a taken auth_data: 500, the generic save error
	// (server/channels/app/user.go: createUser's default case).
	ErrUserSave = "app.user.save.app_error"
	// POST /teams with a taken name: 400 (server/channels/app/team.go: CreateTeam).
	ErrTeamExists = "app.team.save.existing.app_error"
	// POST /channels with a taken name in the team: 400 (store.ChannelExistsError in
	// server/channels/store/constants.go, returned by server/channels/app/channel.go).
	ErrChannelExists = "store.sql_channel.save_channel.exists.app_error"
	// PUT /users/{id}/patch changing an SSO user's username: 409
	// (server/channels/api4/user.go: patchUser).
	ErrLoginProviderAttr = "api.user.patch_user.login_provider_attribute_set.app_error"
	// POST /channels/{id}/members for a deactivated user: 403
	// (server/channels/app/channel.go: the add-member checks).
	ErrDeletedUserChannel = "app.channel.add_member.deleted_user.app_error"
	// POST /teams/{id}/members beyond TeamSettings.MaxUsersPerTeam: 400
	// (server/channels/app/team.go: JoinUserToTeam).
	ErrMaxTeamAccounts = "app.team.join_user_to_team.max_accounts.app_error"
	// DELETE /teams/{id}/members/{user_id} of a non-member: 400
	// (server/channels/app/team.go: LeaveTeam / RemoveUserFromTeam).
	ErrNotTeamMember = "api.team.remove_user_from_team.missing.app_error"
	// DELETE /channels/{id}/members/{user_id} of a non-member: 404
	// (server/channels/app/channel.go: GetChannelMember).
	ErrChannelMemberMissing = "app.channel.get_member.missing.app_error"
)

// Error is a non-2xx answer. The fields come from Mattermost's error body (model.AppError:
// id, message, detailed_error, request_id, status_code); a body that is not one (a
// proxy's HTML page) leaves ID empty and puts a bounded excerpt of it in Message.
// StatusCode is always the HTTP status.
type Error struct {
	StatusCode    int
	ID            string
	Message       string
	DetailedError string
	RequestID     string
	// RetryAfter is the Retry-After header of the answer (delta seconds or an HTTP date),
	// zero when absent or unparsable, at most MaxRetryAfter.
	RetryAfter time.Duration
}

// MaxRetryAfter bounds a Retry-After: a server asking for more is waited on this long.
const MaxRetryAfter = time.Hour

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mattermost: %d", e.StatusCode)
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

type appErrorBody struct {
	ID            string `json:"id"`
	Message       string `json:"message"`
	DetailedError string `json:"detailed_error"`
	RequestID     string `json:"request_id"`
	StatusCode    int    `json:"status_code"`
}

func parseError(resp *http.Response, body []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var ab appErrorBody
	if json.Unmarshal(body, &ab) == nil && ab.ID != "" {
		e.ID, e.Message, e.DetailedError, e.RequestID = ab.ID, ab.Message, ab.DetailedError, ab.RequestID
		return e
	}
	e.Message = excerpt(body)
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-Request-Id")
	}
	return e
}

// excerpt is at most maxExcerpt bytes of b, whitespace collapsed, cut at a rune boundary.
func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) <= maxExcerpt {
		return strings.ToValidUTF8(s, "?")
	}
	cut := maxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.ToValidUTF8(s[:cut], "?") + "…"
}

// parseRetryAfter reads delta-seconds or an HTTP date (RFC 9110 §10.2.3) relative to now;
// anything else, or a time in the past, is zero. The result is at most MaxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if errors.Is(err, strconv.ErrRange) && v[0] != '-' {
		return MaxRetryAfter
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, MaxRetryAfter))
}

// TimeoutError is a call that ran past its own timeout (Config.Timeout) while the
// caller's context was still live: retryable.
type TimeoutError struct {
	Op    string
	Limit time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("mattermost: %s: no answer within %s", e.Op, e.Limit)
}

// Timeout reports true, as net.Error does.
func (e *TimeoutError) Timeout() bool { return true }

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true.
func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// callerDoneError is a call abandoned because the caller's context ended: never retried.
type callerDoneError struct {
	op  string
	err error
}

func (e *callerDoneError) Error() string { return "mattermost: " + e.op + ": " + e.err.Error() }
func (e *callerDoneError) Unwrap() error { return e.err }

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// ErrorID is the Mattermost error id of err, "" when err is not an *Error.
func ErrorID(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.ID
	}
	return ""
}

// Retryable reports whether the same call may succeed later: a 5xx or 429 answer, the
// call's own timeout, a network timeout, a refused or reset connection, a connection
// closed before the answer was complete. A call abandoned because the caller's context
// ended is not (the caller is going away), nor is any other 4xx, nor an answer too large.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var done *callerDoneError
	if errors.As(err, &done) || errors.Is(err, context.Canceled) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
	}
	if errors.Is(err, ErrResponseTooLarge) {
		return false
	}
	var te *TimeoutError
	if errors.As(err, &te) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Backoff bounds.
const (
	BackoffBase = 250 * time.Millisecond
	BackoffCap  = time.Minute
)

// Backoff is how long to wait before attempt (0 for the first retry): a uniformly random
// duration in [0, min(BackoffCap, BackoffBase·2^attempt)] ("full jitter"), and at least
// the RetryAfter that err carries.
func Backoff(attempt int, err error) time.Duration {
	ceil := BackoffCap
	if attempt < 0 {
		attempt = 0
	}
	if attempt < 30 { // 250ms·2^8 already exceeds the cap; no shift overflows
		ceil = min(BackoffCap, BackoffBase<<attempt)
	}
	d := rand.N(ceil + 1)
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > d {
		d = e.RetryAfter
	}
	return d
}
