package rules

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Mattermost is the mattermost: block of the mapping file: where and how the connector
// delivers the provisioned state to a live Mattermost (server/connector). Its token is
// never here; it comes from TOWNSQUARE_MATTERMOST_TOKEN only.
//
// It is not part of what ApplyRules compares (the rules fingerprint serialises Config
// as JSON and this field is left out of it): turning the connector on, or changing how
// it delivers, re-maps no group.
type Mattermost struct {
	// URL is the server root (http or https, no query or fragment); calls go to
	// URL/api/v4/….
	URL string
	// AuthService is the login method of the users the connector creates and binds:
	// one of AuthServices.
	AuthService string
	// AuthData says which value of the account Mattermost's auth_data holds: one of
	// AuthDataSources.
	AuthData string
	// AdoptBy lists, in order, how an existing Mattermost user is matched to an account
	// that has none yet ("email", "username"); empty means never adopt (always create).
	AdoptBy []string
	// ReconcileEvery is the interval of the full comparison and repair; 0 turns it off.
	ReconcileEvery time.Duration
	// DryRun logs and journals every call that would change Mattermost, and sends none.
	DryRun bool
	// MaxDeactivationsPerHour is the circuit breaker: deactivations beyond it in any
	// hour are held until released; 0 turns it off.
	MaxDeactivationsPerHour int
	// AllowPermanentDelete lets a purged account's user be deleted permanently; it has
	// an effect only with delete_mode: purge.
	AllowPermanentDelete bool
}

// The values of Mattermost.AuthService, as Mattermost's user model names them.
var AuthServices = []string{"saml", "ldap", "openid", "office365", "gitlab", "email"}

// The values of Mattermost.AuthData: the account value sent as auth_data.
const (
	AuthDataExternalID = "externalId"
	AuthDataUserName   = "userName"
	AuthDataEmail      = "email"
)

// AuthDataSources lists the values of Mattermost.AuthData.
var AuthDataSources = []string{AuthDataExternalID, AuthDataUserName, AuthDataEmail}

// The values of Mattermost.AdoptBy.
const (
	AdoptByEmail    = "email"
	AdoptByUsername = "username"
)

// Defaults of the mattermost: block.
const (
	DefaultReconcileEvery          = time.Hour
	DefaultMaxDeactivationsPerHour = 50
	// MaxMattermostURLLength bounds url: a longer one is a mistake, not a server.
	MaxMattermostURLLength = 2048
)

// fileMattermost is the YAML form of Mattermost: pointers tell an absent key (its
// default) from one set to a zero value.
type fileMattermost struct {
	URL                     *string   `yaml:"url"`
	AuthService             *string   `yaml:"auth_service"`
	AuthData                *string   `yaml:"auth_data"`
	AdoptBy                 *[]string `yaml:"adopt_by"`
	ReconcileEvery          *string   `yaml:"reconcile_every"`
	DryRun                  *bool     `yaml:"dry_run"`
	MaxDeactivationsPerHour *int      `yaml:"max_deactivations_per_hour"`
	AllowPermanentDelete    *bool     `yaml:"allow_permanent_delete"`
}

// mattermostKeys are fileMattermost's keys, for messages.
const mattermostKeys = "url, auth_service, auth_data, adopt_by, reconcile_every, dry_run, max_deactivations_per_hour, allow_permanent_delete"

// config turns the block into a Mattermost, with the defaults of absent keys, and the
// problems of values that cannot even be read (a duration that does not parse).
func (f *fileMattermost) config() (*Mattermost, []Problem) {
	m := &Mattermost{
		AuthService:             "saml",
		AuthData:                AuthDataExternalID,
		AdoptBy:                 []string{AdoptByEmail, AdoptByUsername},
		ReconcileEvery:          DefaultReconcileEvery,
		MaxDeactivationsPerHour: DefaultMaxDeactivationsPerHour,
	}
	var ps []Problem
	if f.URL != nil {
		m.URL = *f.URL
	}
	if f.AuthService != nil {
		m.AuthService = *f.AuthService
	}
	if f.AuthData != nil {
		m.AuthData = *f.AuthData
	}
	if f.AdoptBy != nil {
		m.AdoptBy = append([]string{}, (*f.AdoptBy)...)
	}
	if f.ReconcileEvery != nil {
		d, err := time.ParseDuration(strings.TrimSpace(*f.ReconcileEvery))
		if err != nil {
			ps = append(ps, mmProblem("reconcile_every", -1, *f.ReconcileEvery, `is not a duration (write it like "1h", "30m" or "0")`))
		}
		m.ReconcileEvery = d
	}
	if f.DryRun != nil {
		m.DryRun = *f.DryRun
	}
	if f.MaxDeactivationsPerHour != nil {
		m.MaxDeactivationsPerHour = *f.MaxDeactivationsPerHour
	}
	if f.AllowPermanentDelete != nil {
		m.AllowPermanentDelete = *f.AllowPermanentDelete
	}
	return m, ps
}

func mmProblem(field string, index int, value, reason string) Problem {
	path := "mattermost." + field
	if index >= 0 {
		path = fmt.Sprintf("%s[%d]", path, index)
	}
	return Problem{Path: path, Value: value, Reason: reason, loc: location{key: "mattermost", rule: -1, field: field, index: index}}
}

// problems checks a mattermost: block: url is an absolute http or https URL without
// query, fragment or credentials; auth_service and auth_data are known values; adopt_by
// lists known ways at most once each; reconcile_every is not negative (and at least a
// minute when not 0, so one reconcile cannot start before the last has had time to
// end); max_deactivations_per_hour is not negative.
func (m *Mattermost) problems() []Problem {
	var ps []Problem
	if reason := mattermostURLProblem(m.URL); reason != "" {
		ps = append(ps, mmProblem("url", -1, m.URL, reason))
	}
	if !contains(AuthServices, m.AuthService) {
		ps = append(ps, mmProblem("auth_service", -1, m.AuthService, "is not allowed: use one of "+strings.Join(AuthServices, ", ")))
	}
	if !contains(AuthDataSources, m.AuthData) {
		ps = append(ps, mmProblem("auth_data", -1, m.AuthData, "is not allowed: use one of "+strings.Join(AuthDataSources, ", ")))
	}
	for i, a := range m.AdoptBy {
		switch {
		case a != AdoptByEmail && a != AdoptByUsername:
			ps = append(ps, mmProblem("adopt_by", i, a, fmt.Sprintf("is not allowed: use %q or %q", AdoptByEmail, AdoptByUsername)))
		case contains(m.AdoptBy[:i], a):
			ps = append(ps, mmProblem("adopt_by", i, a, "is listed twice"))
		}
	}
	if m.ReconcileEvery < 0 || (m.ReconcileEvery > 0 && m.ReconcileEvery < time.Minute) {
		ps = append(ps, mmProblem("reconcile_every", -1, m.ReconcileEvery.String(), "must be 0 (off) or at least 1m"))
	}
	if m.MaxDeactivationsPerHour < 0 {
		ps = append(ps, mmProblem("max_deactivations_per_hour", -1, fmt.Sprint(m.MaxDeactivationsPerHour), "must be 0 (off) or more"))
	}
	return ps
}

func mattermostURLProblem(s string) string {
	if s == "" {
		return "is required: the Mattermost server's root, like https://chat.example.com"
	}
	if len(s) > MaxMattermostURLLength {
		return fmt.Sprintf("is longer than %d characters", MaxMattermostURLLength)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URL"
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "must start with http:// or https://"
	case u.Host == "":
		return "has no host"
	case u.User != nil:
		return "must not hold credentials (the token comes from TOWNSQUARE_MATTERMOST_TOKEN)"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "must not have a query or fragment"
	}
	return ""
}
