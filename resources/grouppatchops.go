package resources

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"
)

// groupPatchOps reads a group PATCH body into the operations the library would hand
// Groups.Patch, when every operation has one of the shapes Okta and Entra send:
//
//	add|replace|remove  path members                with a list or one member object
//	remove              path members                without a value (remove all)
//	remove              path members[value eq "id"] without a value (Okta, one per member)
//	add|replace         no path, a value object whose keys are members, displayName,
//	                    externalId (any case) and Okta's id, which is dropped
//
// It repeats the library's steps for these shapes (elimity's ResourceType.validatePatch
// and internal/patch: the same decoding, the same "id" removal, the same member
// validation through the schema's own ValidateSingular) with one difference: paths are
// read by parseMemberPath instead of the PEG parser. ok is false for anything else, and
// for anything the library would reject, so the caller hands the request to the library
// and its validation and error bodies apply unchanged.
func groupPatchOps(body []byte) (ops []scim.PatchOperation, ok bool) {
	var req struct {
		Schemas    []string
		Operations []json.RawMessage
	}
	if decodeNumber(body, &req) != nil || len(req.Schemas) != 1 || req.Schemas[0] != PatchOpURN || len(req.Operations) == 0 {
		return nil, false
	}
	ops = make([]scim.PatchOperation, 0, len(req.Operations))
	for _, raw := range req.Operations {
		op, ok := groupPatchOp(raw)
		if !ok {
			return nil, false
		}
		ops = append(ops, op)
	}
	return ops, true
}

// decodeNumber decodes the first JSON value of data as the library does (numbers as
// json.Number, struct fields matched in any case, trailing data ignored).
func decodeNumber(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// groupPatchOp reads one operation; see groupPatchOps.
func groupPatchOp(raw []byte) (scim.PatchOperation, bool) {
	var o struct {
		Op    string
		Path  string
		Value any
	}
	if decodeNumber(raw, &o) != nil {
		return scim.PatchOperation{}, false
	}
	o.Op = strings.ToLower(o.Op)
	if m, isMap := o.Value.(map[string]any); isMap && !dropID(m) {
		return scim.PatchOperation{}, false
	}
	switch o.Op {
	case "add", "replace", "remove":
	default:
		return scim.PatchOperation{}, false
	}
	if o.Path == "" {
		if o.Op == "remove" {
			return scim.PatchOperation{}, false // the library's noTarget
		}
		v, ok := groupValueMap(o.Value)
		return scim.PatchOperation{Op: o.Op, Value: v}, ok
	}
	path, ok := parseMemberPath(o.Path)
	if !ok {
		return scim.PatchOperation{}, false
	}
	if path.ValueExpression != nil {
		// Only Okta's remove; an add or replace on a filtered path, or a remove with a
		// value, is rare enough to leave to the library.
		if o.Op != "remove" || o.Value != nil {
			return scim.PatchOperation{}, false
		}
		return scim.PatchOperation{Op: o.Op, Path: &path}, true
	}
	if o.Value == nil {
		// remove members without a value clears the group; add and replace need a value.
		return scim.PatchOperation{Op: o.Op, Path: &path}, o.Op == "remove"
	}
	v, ok := memberValues(o.Value)
	return scim.PatchOperation{Op: o.Op, Path: &path, Value: v}, ok
}

// dropID removes the "id" key (any case) from a value object, as the library does for
// Okta, which sends the group's id with a rename. Like the library it then deletes the
// key it found, which is "" when there was none. Two spellings of id make the library
// answer invalidPath: ok is false.
func dropID(m map[string]any) bool {
	var key string
	found := false
	for k := range m {
		if strings.ToLower(k) == "id" {
			if found {
				return false
			}
			found, key = true, k
		}
	}
	delete(m, key)
	return true
}

// groupValueMap checks a path-less value object whose keys are only members,
// displayName and externalId, and returns it as the library would: each key as sent,
// each value validated for its attribute.
func groupValueMap(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		switch {
		case asciiFold(k, "members"):
			mv, ok := memberValues(x)
			if !ok {
				return nil, false
			}
			out[k] = mv
		case asciiFold(k, "displayName"), asciiFold(k, "externalId"):
			// Both are simple strings: the library's ValidateSingular accepts exactly a
			// string and returns it.
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out[k] = s
		default:
			return nil, false
		}
	}
	return out, true
}

// membersAttribute is the Group schema's members attribute, whose ValidateSingular the
// library applies to every member object of a PATCH.
var membersAttribute = func() schema.CoreAttribute {
	for _, a := range groupSchema.Attributes {
		if a.Name() == "members" {
			return a
		}
	}
	panic("resources: the Group schema has no members attribute")
}()

// memberValues validates the value of an operation on members as the library does for a
// multi-valued attribute: a list element by element, a single object as a one-element
// list. A nil value is the library's error for add and replace: ok is false.
func memberValues(v any) (any, bool) {
	if v == nil {
		return nil, false
	}
	if list, isList := v.([]any); isList {
		var out []any // nil for an empty list, as the library leaves it
		for _, e := range list {
			x, err := membersAttribute.ValidateSingular(e)
			if err != nil {
				return nil, false
			}
			out = append(out, x)
		}
		return out, true
	}
	x, err := membersAttribute.ValidateSingular(v)
	if err != nil {
		return nil, false
	}
	return []any{x}, true
}
