package scimtest

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	v := vars{"p": "st-ab-", "u.id": "a/b c", "q": `say "hi"`}
	tests := []struct {
		tmpl string
		esc  escaper
		want string
	}{
		{"plain", noEscape, "plain"},
		{"${p}x", noEscape, "st-ab-x"},
		{"${p|upper}X${p}", noEscape, "ST-AB-Xst-ab-"},
		{"${ p | upper | lower }", noEscape, "st-ab-"},
		{`{"v":"${q}"}`, jsonEscape, `{"v":"say \"hi\""}`},
		{`{"v":"${q|raw}"}`, jsonEscape, `{"v":"say "hi""}`},
		{"$p and $ {p}", noEscape, "$p and $ {p}"},
	}
	for _, tt := range tests {
		got, err := v.expand(tt.tmpl, tt.esc)
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
	for _, bad := range []string{"${nosuch}", "${p", "${p|shout}"} {
		if _, err := v.expand(bad, noEscape); err == nil {
			t.Errorf("expand(%q): want an error", bad)
		}
	}
}

func TestExpandURL(t *testing.T) {
	v := vars{"p": "st-ab-", "id": "a/b c", "name": "A&B=C"}
	tests := []struct{ tmpl, want string }{
		{"/Users", "/Users"},
		{"/Users/${id}", "/Users/a%2Fb%20c"},
		{`/Users?filter=userName eq "${p}x"`, "/Users?filter=userName%20eq%20%22st-ab-x%22"},
		{`/Groups?filter=displayName eq "${name}"&excludedAttributes=members`,
			"/Groups?filter=displayName%20eq%20%22A%26B%3DC%22&excludedAttributes=members"},
		{"/Users?count=1&startIndex=2", "/Users?count=1&startIndex=2"},
		{"/Users?attributes=urn:x:2.0:User:department", "/Users?attributes=urn%3Ax%3A2.0%3AUser%3Adepartment"},
		{"/Users?", "/Users"},
	}
	for _, tt := range tests {
		got, err := v.expandURL(tt.tmpl)
		if err != nil || got != tt.want {
			t.Errorf("expandURL(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
	if _, err := v.expandURL("/Users?filter=${nosuch}"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("want an error naming the variable, got %v", err)
	}
}

func TestExpandValue(t *testing.T) {
	v := vars{"a": "1", "b": "2"}
	got, err := v.expandValue(map[string]any{"x": []any{"${a}", 3, []string{"${b}"}}, "y": true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"x": []any{"1", 3, []any{"2"}}, "y": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}
