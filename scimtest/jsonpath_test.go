package scimtest

import (
	"encoding/json"
	"reflect"
	"testing"
)

const pathDoc = `{
  "id": "1",
  "userName": "bjensen",
  "active": false,
  "title": null,
  "name": {"givenName": "Barbara"},
  "emails": [
    {"value": "w@example.com", "type": "work", "primary": true},
    {"value": "h@example.com", "type": "home"}
  ],
  "phoneNumbers": [],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops", "manager": {"value": "9"}},
  "Resources": [{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"x": 3}]
}`

func TestLookup(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(pathDoc), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want any
		ok   bool
	}{
		{"id", "1", true},
		{"USERNAME", "bjensen", true}, // attribute names are case-insensitive
		{"active", false, true},
		{"title", nil, true},
		{"nosuch", nil, false},
		{"name.givenName", "Barbara", true},
		{"name.nosuch", nil, false},
		{"emails[0].value", "w@example.com", true},
		{"emails[5].value", nil, false},
		{"emails[type=home].value", "h@example.com", true},
		{"emails[primary=true].type", "work", true},
		{"emails[type=other].value", nil, false},
		{"emails[*].type", []any{"work", "home"}, true},
		{"emails.#", 2.0, true},
		{"phoneNumbers.#", 0.0, true},
		{ent + ".department", "Ops", true},
		{ent + ".manager.value", "9", true},
		{`["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`, map[string]any{"department": "Ops", "manager": map[string]any{"value": "9"}}, true},
		{"Resources[*].id", []any{"a", "b"}, true},
		{"Resources[id=b].n", 2.0, true},
		{"Resources[n=2].id", "b", true},
		{"title[*]", []any{}, true},
		{"id.x", nil, false},
		{"", doc, true},
	}
	for _, tt := range tests {
		got, ok, err := lookup(doc, tt.path)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got (%#v, %v), want (%#v, %v)", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, p := range []string{"a..b", ".a", "a[", "a[x", `a["x`, "a[-1]", "a[=x]", "a.#.b", "a]", "a."} {
		if _, err := parsePath(p); err == nil {
			t.Errorf("parsePath(%q): want an error", p)
		}
	}
}

func TestIsAbsent(t *testing.T) {
	for _, tt := range []struct {
		v    any
		ok   bool
		want bool
	}{
		{nil, false, true}, {nil, true, true}, {[]any{}, true, true},
		{[]any{1.0}, true, false}, {"", true, false}, {false, true, false}, {map[string]any{}, true, false},
	} {
		if got := isAbsent(tt.v, tt.ok); got != tt.want {
			t.Errorf("isAbsent(%#v, %v) = %v", tt.v, tt.ok, got)
		}
	}
}
