package patch

import (
	"strings"

	"github.com/elimity-com/scim/errors"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/resources/limits"
	"github.com/townsquare/townsquare/store"
)

// SplitGroupOps separates the operations on a group's "members" from the others, so the
// handler can apply membership changes as O(delta) store calls without loading the member
// list (groups reach 50k members; Okta sends up to 1000 changes per PATCH). rest holds the
// remaining operations, for Apply on the group's scalar attributes.
//
// Recognised forms (op in any case, "members" in any case, optionally Group-URN-prefixed):
//
//	add members [{"value":"id"},...] or {"value":"id"}     AddMembers (an empty list: nothing)
//	replace members [...] (an empty list too)                ReplaceMembers
//	remove members                                           RemoveAllMembers
//	remove members [{"value":"id"}] (Entra)                  RemoveMembers, only those (an empty list: nothing)
//	remove members[value eq "id"] (Okta; or-ed eqs too)      RemoveMembers
//	add|replace members[value eq "id"]                       AddMembers (upsert, as in Apply)
//	add|replace {"members":[...], "displayName":...}         AddMembers|ReplaceMembers + a rest op without members
//
// A member id names a user or a group (nested groups); the store tells which. Paths to
// member sub-attributes (members[value eq "id"].display) are accepted and dropped:
// display, $ref and type are not stored, and value is immutable (mutability). Member
// entries may carry display, $ref and type, which describe the member and are ignored
// (the id alone names it, and RFC 7643 §4.2 makes type immutable). An entry without a
// non-empty string "value" is invalidValue, and so are more than
// limits.MaxPatchMemberIDs member ids over all the operations. Errors are
// errors.ScimError values.
func SplitGroupOps(ops []Operation) (members []store.MemberOp, rest []Operation, err error) {
	ids := 0
	for i, op := range ops {
		kind := strings.ToLower(op.Op)
		var mo *store.MemberOp
		if op.Path == nil {
			m, ok := op.Value.(map[string]any)
			if !ok {
				rest = append(rest, op) // Apply reports the error
				continue
			}
			mv, others, found, err := takeMembers(m)
			if err != nil {
				return nil, nil, atOp(i, err)
			}
			if !found {
				rest = append(rest, op)
				continue
			}
			if kind == opRemove {
				return nil, nil, atOp(i, errf(errors.ScimTypeNoTarget, "remove needs a path"))
			}
			if mo, err = memberListOp(kind, mv); err != nil {
				return nil, nil, atOp(i, err)
			}
			if len(others) > 0 {
				rest = append(rest, Operation{Op: op.Op, Value: others})
			}
		} else {
			if !isMembersPath(op.Path.AttributePath) {
				rest = append(rest, op)
				continue
			}
			if mo, err = membersPathOp(kind, op.Path, op.Value); err != nil {
				return nil, nil, atOp(i, err)
			}
		}
		if mo != nil {
			if ids += len(mo.IDs); ids > limits.MaxPatchMemberIDs {
				return nil, nil, atOp(i, errf(errors.ScimTypeInvalidValue,
					"a PATCH request names at most %d members over all its operations", limits.MaxPatchMemberIDs))
			}
			members = append(members, *mo)
		}
	}
	return members, rest, nil
}

func isMembersPath(ap fp.AttributePath) bool {
	return strings.EqualFold(ap.AttributeName, "members") &&
		(ap.URIPrefix == nil || strings.EqualFold(*ap.URIPrefix, store.GroupSchema))
}

// isMembersKey reports a path-less value key naming members.
func isMembersKey(k string) bool {
	return strings.EqualFold(k, "members") || strings.EqualFold(k, store.GroupSchema+":members")
}

// takeMembers pulls the members value out of a path-less value (also from a Group-URN
// container), returning a copy of the rest; m itself is not modified.
func takeMembers(m map[string]any) (mv any, others map[string]any, found bool, err error) {
	others = make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case isMembersKey(k):
			if found {
				return nil, nil, false, errf(errors.ScimTypeInvalidSyntax, "members given twice")
			}
			mv, found = v, true
		case strings.EqualFold(k, store.GroupSchema):
			inner, ok := v.(map[string]any)
			if !ok {
				others[k] = v
				continue
			}
			imv, irest, ifound, err := takeMembers(inner)
			if err != nil {
				return nil, nil, false, err
			}
			if ifound {
				if found {
					return nil, nil, false, errf(errors.ScimTypeInvalidSyntax, "members given twice")
				}
				mv, found = imv, true
			}
			if len(irest) > 0 {
				others[k] = irest
			}
		default:
			others[k] = v
		}
	}
	return mv, others, found, nil
}

// memberListOp handles add/replace/remove of the whole members attribute with value v.
func memberListOp(kind string, v any) (*store.MemberOp, error) {
	switch kind {
	case opAdd, opReplace:
		if v == nil {
			return nil, errf(errors.ScimTypeInvalidValue, "%s members needs a value", kind)
		}
		ids, err := memberIDs(v)
		if err != nil {
			return nil, err
		}
		if kind == opReplace {
			return &store.MemberOp{Kind: store.ReplaceMembers, IDs: ids}, nil
		}
		if len(ids) == 0 {
			return nil, nil
		}
		return &store.MemberOp{Kind: store.AddMembers, IDs: ids}, nil
	case opRemove:
		if v == nil {
			return &store.MemberOp{Kind: store.RemoveAllMembers, IDs: []string{}}, nil
		}
		// Entra's {"op":"Remove","path":"members","value":[{"value":"id"}]} removes only
		// those members; a spec-literal reading would wipe the group.
		ids, err := memberIDs(v)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, nil // an empty list removes nothing, never everything
		}
		return &store.MemberOp{Kind: store.RemoveMembers, IDs: ids}, nil
	}
	return nil, errf(errors.ScimTypeInvalidValue, "unknown op %q", kind)
}

func membersPathOp(kind string, p *fp.Path, v any) (*store.MemberOp, error) {
	switch kind {
	case opAdd, opReplace, opRemove:
	default:
		return nil, errf(errors.ScimTypeInvalidValue, "unknown op %q", kind)
	}
	var filterIDs []string
	if p.ValueExpression != nil {
		var err error
		if filterIDs, err = memberFilterIDs(p.ValueExpression); err != nil {
			return nil, err
		}
	}
	sub, hasSub := "", false
	if p.AttributePath.SubAttribute != nil {
		sub, hasSub = *p.AttributePath.SubAttribute, true
	}
	if p.SubAttribute != nil {
		if hasSub {
			return nil, errf(errors.ScimTypeInvalidPath, "invalid path %q", p.String())
		}
		sub, hasSub = *p.SubAttribute, true
	}
	if hasSub {
		switch {
		case strings.EqualFold(sub, "value"):
			return nil, errf(errors.ScimTypeMutability, "members.value is immutable")
		case strings.EqualFold(sub, "display"), strings.EqualFold(sub, "$ref"), strings.EqualFold(sub, "type"):
			return nil, nil // not stored: nothing to do
		}
		return nil, errf(errors.ScimTypeInvalidPath, "unknown sub-attribute %q", p.String())
	}
	if p.ValueExpression == nil {
		return memberListOp(kind, v)
	}
	if kind == opRemove {
		return &store.MemberOp{Kind: store.RemoveMembers, IDs: filterIDs}, nil
	}
	// add/replace members[value eq "id"]: make sure id is a member (upsert). The value
	// may only describe that member, so check its shape and otherwise ignore it.
	if v != nil {
		if err := checkMemberEntries(v); err != nil {
			return nil, err
		}
	}
	return &store.MemberOp{Kind: store.AddMembers, IDs: filterIDs}, nil
}

// memberFilterIDs accepts value eq "id" comparisons, optionally joined by or: the only
// member filters that need no member list to evaluate.
func memberFilterIDs(e fp.Expression) ([]string, error) {
	var ids []string
	var walk func(e fp.Expression) bool
	walk = func(e fp.Expression) bool {
		switch x := e.(type) {
		case *fp.AttributeExpression:
			if x == nil || x.AttributePath.URIPrefix != nil || x.AttributePath.SubAttribute != nil ||
				!strings.EqualFold(x.AttributePath.AttributeName, "value") || !strings.EqualFold(string(x.Operator), "eq") {
				return false
			}
			s, ok := x.CompareValue.(string)
			if ok && s != "" {
				ids = append(ids, s)
			}
			return ok && s != ""
		case *fp.LogicalExpression:
			return x != nil && strings.EqualFold(string(x.Operator), "or") && walk(x.Left) && walk(x.Right)
		}
		return false
	}
	if !walk(e) {
		return nil, errf(errors.ScimTypeInvalidPath, `only members[value eq "id"] filters (optionally joined by or) are supported`)
	}
	return dedupe(ids), nil
}

// memberIDs reads member entries: a list of objects or a single object.
func memberIDs(v any) ([]string, error) {
	var raw []any
	switch x := v.(type) {
	case []any:
		raw = x
	case []map[string]any:
		for _, m := range x {
			raw = append(raw, m)
		}
	case map[string]any:
		raw = []any{x}
	default:
		return nil, errf(errors.ScimTypeInvalidValue, "members needs a list of {\"value\": id} objects")
	}
	ids := make([]string, 0, len(raw))
	for _, e := range raw {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, errf(errors.ScimTypeInvalidValue, "a member must be an object with a string \"value\"")
		}
		id, err := memberID(m, true)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return dedupe(ids), nil
}

// checkMemberEntries checks entries like memberIDs but does not require "value".
func checkMemberEntries(v any) error {
	switch x := v.(type) {
	case map[string]any:
		_, err := memberID(x, false)
		return err
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				if _, err := memberID(m, false); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// memberID returns an entry's "value" (keys in any case); its other keys describe the
// member and are ignored.
func memberID(m map[string]any, needValue bool) (string, error) {
	id, found := "", false
	for k, x := range m {
		if !strings.EqualFold(k, "value") {
			continue
		}
		s, ok := x.(string)
		if found || !ok || s == "" {
			if !needValue && x == nil {
				continue
			}
			return "", errf(errors.ScimTypeInvalidValue, "a member must have one non-empty string \"value\"")
		}
		id, found = s, true
	}
	if needValue && !found {
		return "", errf(errors.ScimTypeInvalidValue, "a member must have a string \"value\"")
	}
	return id, nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
