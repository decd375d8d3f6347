package patch_test

import (
	stderrors "errors"
	"testing"

	"github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/resources/patch"
)

func TestParseRequest(t *testing.T) {
	for body, want := range map[string]errors.ScimType{
		`{"schemas":`:                   errors.ScimTypeInvalidSyntax,
		`[1]`:                           errors.ScimTypeInvalidSyntax,
		`{"Operations":[{"op":"add"}]}`: errors.ScimTypeInvalidValue,
		`{"schemas":["urn:x"],"Operations":[{"op":"add","path":"title","value":"x"}]}`:                                                               errors.ScimTypeInvalidValue,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp","urn:x"],"Operations":[{"op":"add","path":"title","value":"x"}]}`:               errors.ScimTypeInvalidValue,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}`:                                                              errors.ScimTypeInvalidValue,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"title"}]}`:                                  errors.ScimTypeInvalidValue,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq]","value":"x"}]}`:             errors.ScimTypeInvalidPath,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"x"},{"op":"x","path":"a"}]}`: errors.ScimTypeInvalidValue,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"x"}]} trailing`:              errors.ScimTypeInvalidSyntax,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"x"}]}{}`:                     errors.ScimTypeInvalidSyntax,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":"x"}]}}`:                      errors.ScimTypeInvalidSyntax,
	} {
		_, err := patch.ParseRequest([]byte(body))
		var se errors.ScimError
		if !stderrors.As(err, &se) || se.ScimType != want || se.Status != 400 {
			t.Errorf("%s: %v, want 400 %s", body, err, want)
		}
	}
	ops, err := patch.ParseRequest([]byte(`{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[
		{"OP":"Replace","PATH":"emails[type eq \"work\"].value","VALUE":"x"},{"op":"add","value":{"n":1}},{"op":"remove","path":"members"}]}` + " \n\t"))
	if err != nil || len(ops) != 3 || ops[0].Op != "replace" || ops[0].Path == nil || ops[0].Path.SubAttributeName() != "value" ||
		ops[0].Value != "x" || ops[1].Path != nil || ops[2].Op != "remove" || ops[2].Value != nil {
		t.Fatalf("%+v %v", ops, err)
	}
	if n, ok := ops[1].Value.(map[string]any)["n"]; !ok || n.(interface{ String() string }).String() != "1" {
		t.Fatalf("numbers are kept as json.Number: %#v", ops[1].Value)
	}
}

// FuzzParseRequest: any body is either operations or a 400 ScimError; never a panic.
func FuzzParseRequest(f *testing.F) {
	for _, s := range applySeeds {
		f.Add(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + s + `}`)
	}
	f.Add(`{"schemas":`)
	f.Add(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members[value eq \"x\"]"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		ops, err := patch.ParseRequest([]byte(body))
		if err != nil {
			var se errors.ScimError
			if !stderrors.As(err, &se) || se.Status != 400 {
				t.Fatalf("%q: %#v", body, err)
			}
			return
		}
		if len(ops) == 0 {
			t.Fatalf("%q: no operations and no error", body)
		}
		for _, op := range ops {
			if op.Op != "add" && op.Op != "remove" && op.Op != "replace" {
				t.Fatalf("%q: op %q", body, op.Op)
			}
		}
	})
}
