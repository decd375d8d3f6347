package patch_test

import (
	"bytes"
	"encoding/json"
	stderrors "errors"
	"reflect"
	"strings"
	"testing"

	"github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

const ent = store.EnterpriseUserSchema

var (
	userSchema  = resources.UserSchema()
	entSchema   = resources.EnterpriseUserSchema()
	groupSchema = resources.GroupSchema()
)

// parseOps turns a JSON array of wire operations into what elimity hands a handler, minus
// elimity's value sanitising (Apply must cope with raw values too). Op case is kept.
func parseOps(t testing.TB, js string) []patch.Operation {
	t.Helper()
	var raw []struct {
		Op    string
		Path  string
		Value any
	}
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		t.Fatalf("bad test ops %s: %v", js, err)
	}
	ops := make([]patch.Operation, len(raw))
	for i, r := range raw {
		ops[i] = patch.Operation{Op: r.Op, Value: r.Value}
		if r.Path != "" {
			p, err := fp.ParsePath([]byte(r.Path))
			if err != nil {
				t.Fatalf("bad test path %q: %v", r.Path, err)
			}
			ops[i].Path = &p
		}
	}
	return ops
}

// alice is the canonical map of a typical provisioned user.
func alice() map[string]any {
	return map[string]any{
		"userName":    "alice@example.com",
		"active":      true,
		"displayName": "Alice Smith",
		"name":        map[string]any{"givenName": "Alice", "familyName": "Smith"},
		"emails": []any{
			map[string]any{"value": "alice@work.example", "type": "work", "primary": true},
			map[string]any{"value": "alice@home.example", "type": "home"},
		},
		"addresses": []any{
			map[string]any{"type": "work", "formatted": "1 Main St", "country": "US"},
		},
		ent: map[string]any{
			"employeeNumber": "42",
			"manager":        map[string]any{"value": "7", "displayName": "Bob"},
		},
	}
}

// bare is a user with nothing but a userName, as Entra creates them.
func bare() map[string]any { return map[string]any{"userName": "bare@example.com"} }

func emails(m map[string]any) []any { return m["emails"].([]any) }
func email(m map[string]any, i int) map[string]any {
	return emails(m)[i].(map[string]any)
}
func entMap(m map[string]any) map[string]any { return m[ent].(map[string]any) }

type applyCase struct {
	name    string
	start   func() map[string]any // alice when nil
	ops     string
	want    func(m map[string]any) // edits the start map into the expected result
	wantErr errors.ScimType
}

func runApply(t *testing.T, cases []applyCase, s schema.Schema, exts ...schema.Schema) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := alice
			if tc.start != nil {
				start = tc.start
			}
			got := start()
			err := patch.Apply(got, parseOps(t, tc.ops), s, exts...)
			if tc.wantErr != "" {
				var se errors.ScimError
				if !stderrors.As(err, &se) {
					t.Fatalf("want %s error, got %v", tc.wantErr, err)
				}
				if _, isPtr := err.(*errors.ScimError); isPtr {
					t.Fatalf("error is a pointer")
				}
				if se.ScimType != tc.wantErr || se.Status != 400 {
					t.Fatalf("want 400 %s, got %d %s: %s", tc.wantErr, se.Status, se.ScimType, se.Detail)
				}
				if !reflect.DeepEqual(got, start()) {
					t.Fatalf("failed Apply changed the map:\n%s", dump(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			want := start()
			if tc.want != nil {
				tc.want(want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", dump(got), dump(want))
			}
		})
	}
}

func dump(v any) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetIndent("", "  ")
	_ = e.Encode(v)
	return b.String()
}

func TestApplySimple(t *testing.T) {
	runApply(t, []applyCase{
		{name: "okta deactivate, path-less", ops: `[{"op":"replace","value":{"active":false}}]`,
			want: func(m map[string]any) { m["active"] = false }},
		{name: "okta reactivate", start: func() map[string]any { m := alice(); m["active"] = false; return m },
			ops: `[{"op":"replace","value":{"active":true}}]`, want: func(m map[string]any) { m["active"] = true }},
		{name: "entra string False", ops: `[{"op":"Replace","path":"active","value":"False"}]`,
			want: func(m map[string]any) { m["active"] = false }},
		{name: "entra FALSE, upper-case path", ops: `[{"op":"Replace","path":"ACTIVE","value":"FALSE"}]`,
			want: func(m map[string]any) { m["active"] = false }},
		{name: "string True", ops: `[{"op":"replace","path":"active","value":"True"}]`},
		{name: "path-less Active key", ops: `[{"op":"Replace","value":{"Active":"false"}}]`,
			want: func(m map[string]any) { m["active"] = false }},
		{name: "not a boolean", ops: `[{"op":"replace","path":"active","value":"Flase"}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "number for boolean", ops: `[{"op":"replace","path":"active","value":0}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "number for string", ops: `[{"op":"replace","path":"displayName","value":5}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "object for string", ops: `[{"op":"replace","path":"displayName","value":{"a":1}}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "replace userName", ops: `[{"op":"Replace","path":"userName","value":"new@example.com"}]`,
			want: func(m map[string]any) { m["userName"] = "new@example.com" }},
		{name: "add single-valued replaces", ops: `[{"op":"add","path":"displayName","value":"A"}]`,
			want: func(m map[string]any) { m["displayName"] = "A" }},
		{name: "add to absent attribute", ops: `[{"op":"add","path":"nickName","value":"Ali"}]`,
			want: func(m map[string]any) { m["nickName"] = "Ali" }},
		{name: "empty string is kept", ops: `[{"op":"replace","path":"title","value":""}]`,
			want: func(m map[string]any) { m["title"] = "" }},
		{name: "remove displayName", ops: `[{"op":"remove","path":"displayName"}]`,
			want: func(m map[string]any) { delete(m, "displayName") }},
		{name: "remove absent attribute", ops: `[{"op":"remove","path":"nickName"}]`},
		{name: "remove active deletes the key", ops: `[{"op":"Remove","path":"active"}]`,
			want: func(m map[string]any) { delete(m, "active") }},
		{name: "remove userName (required)", ops: `[{"op":"remove","path":"userName"}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "path-less null userName", ops: `[{"op":"replace","value":{"userName":null}}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "path-less null removes", ops: `[{"op":"replace","value":{"displayName":null}}]`,
			want: func(m map[string]any) { delete(m, "displayName") }},
		{name: "replace without value", ops: `[{"op":"replace","path":"displayName"}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "externalId (common attribute)", ops: `[{"op":"Replace","path":"externalId","value":"6c75de36"}]`,
			want: func(m map[string]any) { m["externalId"] = "6c75de36" }},
		{name: "password is writeOnly, writable", ops: `[{"op":"replace","path":"password","value":"s3cret"}]`,
			want: func(m map[string]any) { m["password"] = "s3cret" }},
		{name: "core URN-prefixed path", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:userName","value":"u@x"}]`,
			want: func(m map[string]any) { m["userName"] = "u@x" }},
		{name: "core URN path in other case", ops: `[{"op":"replace","path":"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:DisplayName","value":"D"}]`,
			want: func(m map[string]any) { m["displayName"] = "D" }},
		{name: "op in any case", ops: `[{"op":"rEpLaCe","path":"displayName","value":"D"}]`,
			want: func(m map[string]any) { m["displayName"] = "D" }},

		{name: "id is readOnly", ops: `[{"op":"replace","path":"id","value":"x"}]`, wantErr: errors.ScimTypeMutability},
		{name: "meta is readOnly", ops: `[{"op":"replace","path":"meta.lastModified","value":"2020-01-01T00:00:00Z"}]`, wantErr: errors.ScimTypeMutability},
		{name: "groups is readOnly", ops: `[{"op":"add","path":"groups","value":[{"value":"g1"}]}]`, wantErr: errors.ScimTypeMutability},
		{name: "remove groups", ops: `[{"op":"remove","path":"groups"}]`, wantErr: errors.ScimTypeMutability},
		{name: "path-less groups", ops: `[{"op":"add","value":{"groups":[{"value":"g1"}]}}]`, wantErr: errors.ScimTypeMutability},
		{name: "unknown attribute", ops: `[{"op":"replace","path":"nosuch","value":"x"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "attribute not served (ims)", ops: `[{"op":"add","path":"ims","value":[{"value":"x"}]}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "unknown sub-attribute", ops: `[{"op":"replace","path":"name.nosuch","value":"x"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "sub-attribute of simple", ops: `[{"op":"replace","path":"userName.x","value":"x"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "unknown schema", ops: `[{"op":"replace","path":"urn:example:nosuch:2.0:User:x","value":"x"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "unknown op", ops: `[{"op":"move","path":"displayName","value":"x"}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "remove without path", ops: `[{"op":"remove","value":{"displayName":"x"}}]`, wantErr: errors.ScimTypeNoTarget},
		{name: "path-less non-object", ops: `[{"op":"replace","value":"x"}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "path-less unknown key", ops: `[{"op":"replace","value":{"nosuch":"x"}}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "path-less duplicate key spellings", ops: `[{"op":"replace","value":{"active":true,"ACTIVE":false}}]`, wantErr: errors.ScimTypeInvalidSyntax},
		{name: "path-less ignores id, schemas, meta", ops: `[{"op":"replace","value":{"id":"x","schemas":["y"],"meta":{"version":"z"},"displayName":"D"}}]`,
			want: func(m map[string]any) { m["displayName"] = "D" }},
		{name: "path-less core container", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"displayName":"D"}}}]`,
			want: func(m map[string]any) { m["displayName"] = "D" }},

		{name: "atomic: a later failure undoes earlier ops",
			ops:     `[{"op":"replace","path":"displayName","value":"X"},{"op":"remove","path":"emails"},{"op":"replace","path":"nosuch","value":"x"}]`,
			wantErr: errors.ScimTypeInvalidPath},
		{name: "ops apply in order",
			ops:  `[{"op":"replace","path":"displayName","value":"X"},{"op":"remove","path":"displayName"},{"op":"add","path":"displayName","value":"Y"}]`,
			want: func(m map[string]any) { m["displayName"] = "Y" }},
	}, userSchema, entSchema)
}

func TestApplyComplex(t *testing.T) {
	runApply(t, []applyCase{
		{name: "entra name.familyName", ops: `[{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]`,
			want: func(m map[string]any) { m["name"].(map[string]any)["familyName"] = "updatedFamilyName" }},
		{name: "NAME.GivenName any case", ops: `[{"op":"Replace","path":"NAME.GivenName","value":"Al"}]`,
			want: func(m map[string]any) { m["name"].(map[string]any)["givenName"] = "Al" }},
		{name: "sub-attribute creates the complex", start: bare, ops: `[{"op":"add","path":"name.givenName","value":"B"}]`,
			want: func(m map[string]any) { m["name"] = map[string]any{"givenName": "B"} }},
		{name: "remove name.givenName", ops: `[{"op":"remove","path":"name.givenName"}]`,
			want: func(m map[string]any) { delete(m["name"].(map[string]any), "givenName") }},
		{name: "removing the last sub-attribute removes the complex",
			ops:  `[{"op":"remove","path":"name.givenName"},{"op":"remove","path":"name.familyName"}]`,
			want: func(m map[string]any) { delete(m, "name") }},
		{name: "remove sub-attribute of absent complex", start: bare, ops: `[{"op":"remove","path":"name.givenName"}]`},
		{name: "replace complex merges (RFC 7644 3.5.2.3)", ops: `[{"op":"replace","path":"name","value":{"givenName":"A2"}}]`,
			want: func(m map[string]any) { m["name"].(map[string]any)["givenName"] = "A2" }},
		{name: "add complex merges", ops: `[{"op":"add","path":"name","value":{"MiddleName":"Q"}}]`,
			want: func(m map[string]any) { m["name"].(map[string]any)["middleName"] = "Q" }},
		{name: "null sub-attribute clears it", ops: `[{"op":"replace","path":"name","value":{"givenName":null}}]`,
			want: func(m map[string]any) { delete(m["name"].(map[string]any), "givenName") }},
		{name: "unknown sub-attributes in a value are ignored", ops: `[{"op":"replace","path":"name","value":{"givenName":"A","nickname":"x"}}]`,
			want: func(m map[string]any) { m["name"].(map[string]any)["givenName"] = "A" }},
		{name: "path-less name object merges", ops: `[{"op":"replace","value":{"name":{"familyName":"S2"}}}]`,
			want: func(m map[string]any) { m["name"].(map[string]any)["familyName"] = "S2" }},
		{name: "remove name", ops: `[{"op":"remove","path":"name"}]`, want: func(m map[string]any) { delete(m, "name") }},
		{name: "string for complex without value", ops: `[{"op":"replace","path":"name","value":"x"}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "list for single complex", ops: `[{"op":"replace","path":"name","value":[{"givenName":"x"}]}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "same sub-attribute twice", ops: `[{"op":"replace","path":"name","value":{"givenName":"a","GIVENNAME":"b"}}]`, wantErr: errors.ScimTypeInvalidSyntax},
		{name: "wrong sub-attribute type", ops: `[{"op":"replace","path":"name","value":{"givenName":1}}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "entra path-less dotted and URN keys (aadOptscim062020)",
			ops: `[{"op":"replace","value":{"displayName":"New Name","name.givenName":"New","name.familyName":"Name",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"99"}}]`,
			want: func(m map[string]any) {
				m["displayName"] = "New Name"
				m["name"] = map[string]any{"givenName": "New", "familyName": "Name"}
				entMap(m)["employeeNumber"] = "99"
			}},
		{name: "path-less object and dotted key for the same complex",
			ops:  `[{"op":"replace","value":{"name":{"givenName":"G"},"name.familyName":"F"}}]`,
			want: func(m map[string]any) { m["name"] = map[string]any{"givenName": "G", "familyName": "F"} }},
	}, userSchema, entSchema)
}

func TestApplyMultiValued(t *testing.T) {
	noEmails := func() map[string]any { m := alice(); delete(m, "emails"); return m }
	runApply(t, []applyCase{
		{name: "entra emails[type eq work].value", ops: `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"}]`,
			want: func(m map[string]any) { email(m, 0)["value"] = "updatedEmail@microsoft.com" }},
		{name: "filter values compare case-insensitively (caseExact=false)", ops: `[{"op":"replace","path":"EMAILS[TYPE eq \"WORK\"].Value","value":"w@x"}]`,
			want: func(m map[string]any) { email(m, 0)["value"] = "w@x" }},
		{name: "upsert: replace creates the missing element", start: bare,
			ops:  `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a@x"}]`,
			want: func(m map[string]any) { m["emails"] = []any{map[string]any{"type": "work", "value": "a@x"}} }},
		{name: "upsert: add creates next to others", ops: `[{"op":"Add","path":"emails[type eq \"other\"].value","value":"o@x"}]`,
			want: func(m map[string]any) {
				m["emails"] = append(emails(m), map[string]any{"type": "other", "value": "o@x"})
			}},
		{name: "upsert seeds every eq of a conjunction", start: noEmails,
			ops: `[{"op":"replace","path":"emails[type eq \"work\" and primary eq true].value","value":"p@x"}]`,
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"type": "work", "primary": true, "value": "p@x"}}
			}},
		{name: "upsert on a seeded primary demotes the old primary",
			ops: `[{"op":"add","path":"emails[type eq \"other\" and primary eq true].value","value":"p@x"}]`,
			want: func(m map[string]any) {
				email(m, 0)["primary"] = false
				m["emails"] = append(emails(m), map[string]any{"type": "other", "primary": true, "value": "p@x"})
			}},
		{name: "upsert impossible with or", start: noEmails,
			ops: `[{"op":"replace","path":"emails[type eq \"work\" or type eq \"home\"].value","value":"x"}]`, wantErr: errors.ScimTypeNoTarget},
		{name: "upsert impossible with co",
			ops: `[{"op":"replace","path":"emails[value co \"nomatch\"].display","value":"x"}]`, wantErr: errors.ScimTypeNoTarget},
		{name: "upsert impossible with contradicting eqs", start: noEmails,
			ops: `[{"op":"replace","path":"emails[type eq \"work\" and type eq \"home\"].value","value":"x"}]`, wantErr: errors.ScimTypeNoTarget},
		{name: "or matches several elements",
			ops:  `[{"op":"replace","path":"emails[type eq \"work\" or type eq \"home\"].display","value":"D"}]`,
			want: func(m map[string]any) { email(m, 0)["display"] = "D"; email(m, 1)["display"] = "D" }},
		{name: "primary eq true", ops: `[{"op":"replace","path":"emails[primary eq true].value","value":"p@x"}]`,
			want: func(m map[string]any) { email(m, 0)["value"] = "p@x" }},
		// RFC 7643 §2.4: the home email has no primary, which a filter reads as false.
		{name: "primary eq false matches a primary left out", ops: `[{"op":"replace","path":"emails[primary eq false].display","value":"H"}]`,
			want: func(m map[string]any) { email(m, 1)["display"] = "H" }},
		{name: "primary replaced with false is false", ops: `[{"op":"replace","path":"emails[type eq \"work\"].primary","value":false}]`,
			want: func(m map[string]any) { email(m, 0)["primary"] = false }},
		{name: "primary added as \"False\" is false", ops: `[{"op":"add","path":"emails[type eq \"home\"].primary","value":"False"}]`,
			want: func(m map[string]any) { email(m, 1)["primary"] = false }},
		{name: "whole element by filter merges", ops: `[{"op":"replace","path":"emails[type eq \"work\"]","value":{"Value":"w2@x"}}]`,
			want: func(m map[string]any) { email(m, 0)["value"] = "w2@x" }},
		{name: "whole element by filter sets primary", ops: `[{"op":"replace","path":"emails[type eq \"home\"]","value":{"primary":"True"}}]`,
			want: func(m map[string]any) { email(m, 0)["primary"] = false; email(m, 1)["primary"] = true }},
		{name: "whole element upsert", start: bare, ops: `[{"op":"add","path":"emails[type eq \"home\"]","value":{"value":"h@x"}}]`,
			want: func(m map[string]any) { m["emails"] = []any{map[string]any{"type": "home", "value": "h@x"}} }},
		{name: "filtered path takes one value", ops: `[{"op":"replace","path":"emails[type eq \"home\"]","value":[{"value":"a"},{"value":"b"}]}]`,
			wantErr: errors.ScimTypeInvalidValue},
		{name: "remove by filter", ops: `[{"op":"remove","path":"emails[type eq \"work\"]"}]`,
			want: func(m map[string]any) { m["emails"] = emails(m)[1:] }},
		{name: "remove by filter without match is a no-op", ops: `[{"op":"remove","path":"emails[type eq \"other\"]"}]`},
		{name: "remove last element removes the attribute", ops: `[{"op":"remove","path":"addresses[type eq \"work\"]"}]`,
			want: func(m map[string]any) { delete(m, "addresses") }},
		{name: "remove sub-attribute on matches", ops: `[{"op":"remove","path":"emails[type eq \"work\"].primary"}]`,
			want: func(m map[string]any) { delete(email(m, 0), "primary") }},
		{name: "remove display on matches where absent", ops: `[{"op":"remove","path":"emails[type eq \"work\"].display"}]`},
		{name: "remove emails", ops: `[{"op":"remove","path":"emails"}]`, want: func(m map[string]any) { delete(m, "emails") }},
		{name: "remove emails with a value list removes those", ops: `[{"op":"remove","path":"emails","value":[{"value":"ALICE@home.example"}]}]`,
			want: func(m map[string]any) { m["emails"] = emails(m)[:1] }},
		{name: "add emails appends", ops: `[{"op":"add","path":"emails","value":[{"value":"o@x","type":"other"}]}]`,
			want: func(m map[string]any) {
				m["emails"] = append(emails(m), map[string]any{"value": "o@x", "type": "other"})
			}},
		{name: "add emails skips exact duplicates", ops: `[{"op":"add","path":"emails","value":[{"value":"alice@home.example","type":"home"}]}]`},
		{name: "add single object to multi-valued", ops: `[{"op":"add","path":"emails","value":{"value":"o@x"}}]`,
			want: func(m map[string]any) { m["emails"] = append(emails(m), map[string]any{"value": "o@x"}) }},
		{name: "add bare string to multi-valued", start: bare, ops: `[{"op":"add","path":"emails","value":"o@x"}]`,
			want: func(m map[string]any) { m["emails"] = []any{map[string]any{"value": "o@x"}} }},
		{name: "add with any-case keys, new primary demotes old",
			ops: `[{"op":"add","path":"emails","value":[{"Value":"n@x","TYPE":"other","Primary":"True"}]}]`,
			want: func(m map[string]any) {
				email(m, 0)["primary"] = false
				m["emails"] = append(emails(m), map[string]any{"value": "n@x", "type": "other", "primary": true})
			}},
		{name: "replace emails replaces the list", ops: `[{"op":"replace","path":"emails","value":[{"value":"only@x","type":"work"}]}]`,
			want: func(m map[string]any) { m["emails"] = []any{map[string]any{"value": "only@x", "type": "work"}} }},
		{name: "replace emails with two primaries: last wins",
			ops: `[{"op":"replace","path":"emails","value":[{"value":"a@x","primary":true},{"value":"b@x","primary":true}]}]`,
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"value": "a@x", "primary": false}, map[string]any{"value": "b@x", "primary": true}}
			}},
		{name: "replace emails with empty list removes it", ops: `[{"op":"replace","path":"emails","value":[]}]`,
			want: func(m map[string]any) { delete(m, "emails") }},
		{name: "path-less emails list appends on add", ops: `[{"op":"add","value":{"emails":[{"value":"o@x"}]}}]`,
			want: func(m map[string]any) { m["emails"] = append(emails(m), map[string]any{"value": "o@x"}) }},
		{name: "path-less filtered key", ops: `[{"op":"replace","value":{"emails[type eq \"work\"].value":"w@x"}}]`,
			want: func(m map[string]any) { email(m, 0)["value"] = "w@x" }},
		{name: "sub-attribute without filter targets all", ops: `[{"op":"replace","path":"emails.display","value":"D"}]`,
			want: func(m map[string]any) { email(m, 0)["display"] = "D"; email(m, 1)["display"] = "D" }},
		{name: "addresses[type eq work].formatted", ops: `[{"op":"replace","path":"addresses[type eq \"work\"].formatted","value":"2 Main St"}]`,
			want: func(m map[string]any) { m["addresses"].([]any)[0].(map[string]any)["formatted"] = "2 Main St" }},
		{name: "entra addresses upsert", ops: `[{"op":"Add","path":"addresses[type eq \"home\"].postalCode","value":"12345"}]`,
			want: func(m map[string]any) {
				m["addresses"] = append(m["addresses"].([]any), map[string]any{"type": "home", "postalCode": "12345"})
			}},
		{name: "entra phoneNumbers upsert", start: bare,
			ops: `[{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555"},{"op":"Add","path":"phoneNumbers[type eq \"work\"].value","value":"+1 666"}]`,
			want: func(m map[string]any) {
				m["phoneNumbers"] = []any{map[string]any{"type": "mobile", "value": "+1 555"}, map[string]any{"type": "work", "value": "+1 666"}}
			}},
		{name: "stored []map[string]any is accepted",
			start: func() map[string]any {
				return map[string]any{"userName": "u", "emails": []map[string]any{{"value": "a@x", "type": "work"}}}
			},
			ops:  `[{"op":"replace","path":"emails[type eq \"work\"].value","value":"b@x"}]`,
			want: func(m map[string]any) { m["emails"] = []any{map[string]any{"value": "b@x", "type": "work"}} }},

		{name: "filter on unknown sub-attribute", ops: `[{"op":"replace","path":"emails[nosuch eq \"x\"].value","value":"x"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "unknown sub-attribute after filter", ops: `[{"op":"replace","path":"emails[type eq \"work\"].nosuch","value":"x"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "filter on single-valued", ops: `[{"op":"replace","path":"name[givenName eq \"x\"].familyName","value":"x"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "ordering on a boolean", ops: `[{"op":"remove","path":"emails[primary gt true]"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "number compared with string attr", ops: `[{"op":"remove","path":"emails[value eq 5]"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "wrong element type", ops: `[{"op":"add","path":"emails","value":[5]}]`, wantErr: errors.ScimTypeInvalidValue},
	}, userSchema, entSchema)
}

func TestApplyEnterprise(t *testing.T) {
	runApply(t, []applyCase{
		{name: "entra employeeNumber by URN path", ops: `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"99"}]`,
			want: func(m map[string]any) { entMap(m)["employeeNumber"] = "99" }},
		{name: "path-less URN-prefixed key", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"R&D"}}]`,
			want: func(m map[string]any) { entMap(m)["department"] = "R&D" }},
		{name: "path-less extension container", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x"}}}]`,
			want: func(m map[string]any) { entMap(m)["department"] = "x" }},
		{name: "extension container creates the extension map", start: bare,
			ops: `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"x","Manager":{"Value":"123"}}}}]`,
			want: func(m map[string]any) {
				m[ent] = map[string]any{"department": "x", "manager": map[string]any{"value": "123"}}
			}},
		{name: "entra manager as bare string", start: bare,
			ops:  `[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"271"}]`,
			want: func(m map[string]any) { m[ent] = map[string]any{"manager": map[string]any{"value": "271"}} }},
		{name: "new manager drops the old readOnly displayName",
			ops:  `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"271"}]`,
			want: func(m map[string]any) { entMap(m)["manager"] = map[string]any{"value": "271"} }},
		{name: "same manager keeps displayName",
			ops: `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"Value":"7"}}]`},
		{name: "manager.value path", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"8"}]`,
			want: func(m map[string]any) { entMap(m)["manager"].(map[string]any)["value"] = "8" }},
		{name: "manager.displayName is readOnly", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName","value":"x"}]`,
			wantErr: errors.ScimTypeMutability},
		{name: "readOnly sub-attribute in a value is dropped", start: bare,
			ops:  `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"1","displayName":"x"}}]`,
			want: func(m map[string]any) { m[ent] = map[string]any{"manager": map[string]any{"value": "1"}} }},
		{name: "remove manager", ops: `[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
			want: func(m map[string]any) { delete(entMap(m), "manager") }},
		{name: "emptied extension disappears",
			ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"},
				{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}]`,
			want: func(m map[string]any) { delete(m, ent) }},
		{name: "remove from absent extension", start: bare, ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]`},
		{name: "bare extension URN as path", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"costCenter":"cc"}}]`,
			want: func(m map[string]any) { entMap(m)["costCenter"] = "cc" }},
		{name: "remove bare extension URN", ops: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]`,
			want: func(m map[string]any) { delete(m, ent) }},
		{name: "extension attribute without URN is unknown", ops: `[{"op":"replace","path":"employeeNumber","value":"1"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "core attribute inside the extension container", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"userName":"x"}}}]`,
			wantErr: errors.ScimTypeInvalidValue},
		{name: "extension container must be an object", ops: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}}]`,
			wantErr: errors.ScimTypeInvalidValue},
	}, userSchema, entSchema)
}

func TestApplyGroupScalars(t *testing.T) {
	group := func() map[string]any { return map[string]any{"displayName": "Eng", "externalId": "e1"} }
	runApply(t, []applyCase{
		{name: "okta rename with id", start: group, ops: `[{"op":"replace","value":{"id":"abf4dd94","displayName":"Test SCIMv2"}}]`,
			want: func(m map[string]any) { m["displayName"] = "Test SCIMv2" }},
		{name: "entra rename", start: group, ops: `[{"op":"Replace","path":"displayName","value":"New"}]`,
			want: func(m map[string]any) { m["displayName"] = "New" }},
		{name: "externalId", start: group, ops: `[{"op":"replace","path":"externalId","value":"e2"}]`,
			want: func(m map[string]any) { m["externalId"] = "e2" }},
		{name: "remove externalId", start: group, ops: `[{"op":"remove","path":"externalId"}]`,
			want: func(m map[string]any) { delete(m, "externalId") }},
		{name: "displayName is required", start: group, ops: `[{"op":"remove","path":"displayName"}]`, wantErr: errors.ScimTypeInvalidValue},
		// Apply also handles members generically (the handler splits them off first).
		{name: "members generically", start: group, ops: `[{"op":"add","path":"members","value":[{"value":"u1","display":"x"}]}]`,
			want: func(m map[string]any) { m["members"] = []any{map[string]any{"value": "u1", "display": "x"}} }},
		{name: "immutable members.value", start: func() map[string]any {
			m := group()
			m["members"] = []any{map[string]any{"value": "u1"}}
			return m
		}, ops: `[{"op":"replace","path":"members[value eq \"u1\"].value","value":"u2"}]`, wantErr: errors.ScimTypeMutability},
	}, groupSchema)
}

// TestFilterOperators checks the value-filter evaluator by removing the matching emails.
func TestFilterOperators(t *testing.T) {
	start := func() map[string]any {
		return map[string]any{"userName": "u", "emails": []any{
			map[string]any{"value": "Ann@Work.example", "type": "work", "primary": true},
			map[string]any{"value": "ann@home.example", "type": "home", "primary": false},
			map[string]any{"value": "ann@other.example", "display": "Other"},
		}}
	}
	cases := []struct {
		filter string
		kept   []int // indices of start's emails that must remain
	}{
		{`type eq "work"`, []int{1, 2}},
		{`type eq "WORK"`, []int{1, 2}},
		{`type ne "work"`, []int{0}}, // ne matches elements without a type too
		{`value co "@home"`, []int{0, 2}},
		{`value co "WORK"`, []int{1, 2}},
		{`value sw "ann@"`, []int{}},
		{`value ew ".EXAMPLE"`, []int{}},
		{`value gt "ann@home.example"`, []int{1}},
		{`value ge "ann@home.example"`, []int{}},
		{`value lt "ann@other.example"`, []int{0, 2}},
		{`value le "ann@other.example"`, []int{0}},
		{`display pr`, []int{0, 1}},
		{`type pr`, []int{2}},
		{`primary eq true`, []int{1, 2}},
		// RFC 7643 §2.4: a primary left out is false, to a filter as to the list filters.
		{`primary eq false`, []int{0}},
		{`primary ne true`, []int{0}},
		{`primary ne false`, []int{1, 2}},
		{`primary pr`, []int{}},
		{`primary eq null`, []int{0, 1, 2}},
		{`type eq "work" and primary eq true`, []int{1, 2}},
		{`type eq "work" and primary eq false`, []int{0, 1, 2}},
		{`type eq "work" or type eq "home"`, []int{2}},
		{`not (type eq "work")`, []int{0}},
		{`type eq "work" and not (value co "home")`, []int{1, 2}},
		{`(type eq "home" or type eq "work") and primary eq false`, []int{0, 2}},
		{`type eq null and primary eq false`, []int{0, 1}},
		{`type eq null`, []int{0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.filter, func(t *testing.T) {
			expr, err := fp.ParseFilter([]byte(tc.filter))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			p := fp.Path{AttributePath: fp.AttributePath{AttributeName: "emails"}, ValueExpression: expr}
			got := start()
			if err := patch.Apply(got, []patch.Operation{{Op: "remove", Path: &p}}, userSchema); err != nil {
				t.Fatal(err)
			}
			var want []any
			for _, i := range tc.kept {
				want = append(want, emails(start())[i])
			}
			var have []any
			if l, ok := got["emails"].([]any); ok {
				have = l
			}
			if !reflect.DeepEqual(have, want) {
				t.Fatalf("kept\n%s\nwant\n%s", dump(have), dump(want))
			}
		})
	}
}

// TestCoerceNumbers uses a test schema: the served schemas have no numeric attributes.
func TestCoerceNumbers(t *testing.T) {
	s := schema.Schema{ID: "urn:test:2.0:Thing", Attributes: []schema.CoreAttribute{
		schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "count", Type: schema.AttributeTypeInteger()})),
		schema.SimpleCoreAttribute(schema.SimpleNumberParams(schema.NumberParams{Name: "ratio", Type: schema.AttributeTypeDecimal()})),
		schema.ComplexCoreAttribute(schema.ComplexParams{Name: "items", MultiValued: true, SubAttributes: []schema.SimpleParams{
			schema.SimpleNumberParams(schema.NumberParams{Name: "weight", Type: schema.AttributeTypeDecimal()}),
			schema.SimpleStringParams(schema.StringParams{Name: "label", CaseExact: true}),
		}}),
	}}
	start := func() map[string]any {
		return map[string]any{"items": []any{
			map[string]any{"weight": 1.5, "label": "a"}, map[string]any{"weight": 3.0, "label": "B"},
		}}
	}
	runApply(t, []applyCase{
		{name: "integer", start: start, ops: `[{"op":"add","path":"count","value":7}]`, want: func(m map[string]any) { m["count"] = int64(7) }},
		{name: "integer as string", start: start, ops: `[{"op":"add","path":"count","value":"7"}]`, want: func(m map[string]any) { m["count"] = int64(7) }},
		{name: "fraction for integer", start: start, ops: `[{"op":"add","path":"count","value":7.5}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "decimal", start: start, ops: `[{"op":"add","path":"ratio","value":0.25}]`, want: func(m map[string]any) { m["ratio"] = 0.25 }},
		{name: "bool for decimal", start: start, ops: `[{"op":"add","path":"ratio","value":true}]`, wantErr: errors.ScimTypeInvalidValue},
		{name: "numeric filter gt", start: start, ops: `[{"op":"remove","path":"items[weight gt 2]"}]`,
			want: func(m map[string]any) { m["items"] = m["items"].([]any)[:1] }},
		{name: "numeric filter le", start: start, ops: `[{"op":"remove","path":"items[weight le 1.5]"}]`,
			want: func(m map[string]any) { m["items"] = m["items"].([]any)[1:] }},
		{name: "co on a number", start: start, ops: `[{"op":"remove","path":"items[weight co 1]"}]`, wantErr: errors.ScimTypeInvalidPath},
		{name: "caseExact string filter", start: start, ops: `[{"op":"remove","path":"items[label eq \"b\"]"}]`},
		{name: "numeric upsert seed", start: start, ops: `[{"op":"add","path":"items[weight eq 9].label","value":"n"}]`,
			want: func(m map[string]any) {
				m["items"] = append(m["items"].([]any), map[string]any{"weight": 9.0, "label": "n"})
			}},
	}, s)
}

// TestApplyNilAndEmpty covers the degenerate inputs a handler might pass.
func TestApplyNilAndEmpty(t *testing.T) {
	if err := patch.Apply(nil, nil, userSchema); err != nil {
		t.Fatalf("nil map, no ops: %v", err)
	}
	m := alice()
	if err := patch.Apply(m, nil, userSchema, entSchema); err != nil || !reflect.DeepEqual(m, alice()) {
		t.Fatalf("no ops changed the map or failed: %v", err)
	}
	err := patch.Apply(nil, parseOps(t, `[{"op":"add","path":"displayName","value":"x"}]`), userSchema)
	var se errors.ScimError
	if !stderrors.As(err, &se) || se.Status != 500 {
		t.Fatalf("nil map with ops: want a 500 ScimError, got %v", err)
	}
}

// TestApplyDoesNotAliasInput checks that the result shares no maps or lists with the
// caller's original values (the work happens on a copy).
func TestApplyDoesNotAliasInput(t *testing.T) {
	m := alice()
	name := m["name"].(map[string]any)
	list := m["emails"].([]any)
	first := list[0].(map[string]any)
	ops := parseOps(t, `[{"op":"replace","path":"name.givenName","value":"X"},{"op":"replace","path":"emails[type eq \"work\"].value","value":"w@x"}]`)
	if err := patch.Apply(m, ops, userSchema, entSchema); err != nil {
		t.Fatal(err)
	}
	if name["givenName"] != "Alice" || first["value"] != "alice@work.example" {
		t.Fatal("Apply modified the caller's nested values in place")
	}
}
