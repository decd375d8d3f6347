package rules

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMattermostBlockDefaults(t *testing.T) {
	c, err := Parse([]byte("mattermost:\n  url: https://chat.example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Mattermost{
		URL: "https://chat.example.com", AuthService: "saml", AuthData: "externalId",
		AdoptBy: []string{"email", "username"}, ReconcileEvery: time.Hour, MaxDeactivationsPerHour: 50,
	}
	if !reflect.DeepEqual(c.Mattermost, want) {
		t.Fatalf("got %+v, want %+v", c.Mattermost, want)
	}
	if c, err := Parse([]byte("default_team: everyone\n")); err != nil || c.Mattermost != nil {
		t.Fatalf("no block: %+v, %v", c.Mattermost, err)
	}
}

func TestMattermostBlockEveryKey(t *testing.T) {
	c, err := Parse([]byte(`delete_mode: purge
mattermost:
  url: http://10.0.0.5:8065/mm
  auth_service: openid
  auth_data: email
  adopt_by: []
  reconcile_every: "0"
  dry_run: true
  max_deactivations_per_hour: 0
  allow_permanent_delete: true
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Mattermost{URL: "http://10.0.0.5:8065/mm", AuthService: "openid", AuthData: "email",
		AdoptBy: []string{}, DryRun: true, AllowPermanentDelete: true}
	if !reflect.DeepEqual(c.Mattermost, want) {
		t.Fatalf("got %+v, want %+v", c.Mattermost, want)
	}
	c, err = Parse([]byte("mattermost:\n  url: https://c\n  adopt_by: [username]\n  reconcile_every: 90m\n  max_deactivations_per_hour: 7\n"))
	if err != nil || !reflect.DeepEqual(c.Mattermost.AdoptBy, []string{"username"}) || c.Mattermost.ReconcileEvery != 90*time.Minute || c.Mattermost.MaxDeactivationsPerHour != 7 {
		t.Fatalf("got %+v, %v", c.Mattermost, err)
	}
}

func TestMattermostBlockProblems(t *testing.T) {
	longURL := "https://c.example.com/" + strings.Repeat("a", MaxMattermostURLLength)
	for _, tc := range []struct {
		name, yaml string
		want       string // the error's text, which names the line
	}{
		{"url missing", "mattermost:\n  auth_service: saml\n", `mattermost.url: "" is required`},
		{"url scheme", "mattermost:\n  url: ftp://c\n", `line 2: mattermost.url: "ftp://c" must start with http:// or https://`},
		{"url relative", "mattermost:\n  url: chat.example.com\n", `must start with http:// or https://`},
		{"url query", "mattermost:\n  url: https://c/?x=1\n", `must not have a query or fragment`},
		{"url credentials", "mattermost:\n  url: https://u:p@c/\n", `must not hold credentials`},
		{"url too long", "mattermost:\n  url: " + longURL + "\n", `is longer than 2048 characters`},
		{"auth_service", "mattermost:\n  url: https://c\n  auth_service: google\n", `line 3: mattermost.auth_service: "google" is not allowed`},
		{"auth_data", "mattermost:\n  url: https://c\n  auth_data: objectId\n", `line 3: mattermost.auth_data: "objectId" is not allowed`},
		{"adopt_by value", "mattermost:\n  url: https://c\n  adopt_by:\n    - email\n    - id\n", `line 5: mattermost.adopt_by[1]: "id" is not allowed`},
		{"adopt_by twice", "mattermost:\n  url: https://c\n  adopt_by: [email, email]\n", `mattermost.adopt_by[1]: "email" is listed twice`},
		{"reconcile_every unparsable", "mattermost:\n  url: https://c\n  reconcile_every: hourly\n", `line 3: mattermost.reconcile_every: "hourly" is not a duration`},
		{"reconcile_every negative", "mattermost:\n  url: https://c\n  reconcile_every: -1h\n", `must be 0 (off) or at least 1m`},
		{"reconcile_every too short", "mattermost:\n  url: https://c\n  reconcile_every: 59s\n", `"59s" must be 0 (off) or at least 1m`},
		{"breaker negative", "mattermost:\n  url: https://c\n  max_deactivations_per_hour: -1\n", `line 3: mattermost.max_deactivations_per_hour: "-1" must be 0 (off) or more`},
		{"unknown key", "mattermost:\n  url: https://c\n  token: x\n", `unknown key "token" in mattermost (allowed: url,`},
		{"dry_run not a bool", "mattermost:\n  url: https://c\n  dry_run: maybe\n", `cannot unmarshal`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Every problem is listed at once, with the rest of the file's.
	_, err := Parse([]byte("delete_mode: x\nmattermost:\n  url: ftp://c\n  reconcile_every: soon\n"))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	// The edge of each limit passes.
	if _, err := Parse([]byte("mattermost:\n  url: https://c.example.com/" + strings.Repeat("a", MaxMattermostURLLength-len("https://c.example.com/")) + "\n  reconcile_every: 1m\n")); err != nil {
		t.Fatalf("url of exactly %d characters, reconcile_every 1m: %v", MaxMattermostURLLength, err)
	}
}

// The block is left out of the rules' JSON form, which is the fingerprint that makes
// ApplyRules re-map every group: adding or changing it must re-map nothing.
func TestMattermostBlockIsNotInTheFingerprint(t *testing.T) {
	without, err := Parse([]byte("default_team: everyone\n"))
	if err != nil {
		t.Fatal(err)
	}
	with, err := Parse([]byte("default_team: everyone\nmattermost:\n  url: https://c\n  dry_run: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(without)
	b, _ := json.Marshal(with)
	if string(a) != string(b) {
		t.Fatalf("JSON form differs:\n%s\n%s", a, b)
	}
}
