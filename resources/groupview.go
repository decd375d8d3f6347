package resources

// groupView is what a request's projection leaves of a group resource: which of its
// attributes survive, and which keys of each member object. The streamed renderer
// (groupstream.go) writes exactly these.
type groupView struct {
	displayName bool
	externalID  bool
	members     bool
	member      memberKeys
}

// memberKeys are the keys kept in each member object.
type memberKeys struct{ ref, display, typ, value bool }

// viewGroup finds the view by applying p to a probe shaped like a group's attribute map
// with one member, so the projection rules stay in projection.go alone. Projections act
// on member objects by key, never by value, so every real member keeps the keys the
// probe member kept, and members is present (possibly empty) exactly when it is present
// in the probe.
func viewGroup(p projection, hasExternalID bool) groupView {
	attrs := map[string]any{"displayName": ""}
	if !p.excludes("members") {
		attrs["members"] = []any{map[string]any{"value": "", "display": "", "type": "User", "$ref": ""}}
	}
	p.apply(attrs)
	v := groupView{externalID: hasExternalID && p.wantsExternalID()}
	_, v.displayName = attrs["displayName"]
	if list, ok := attrs["members"].([]any); ok {
		v.members = true
		if len(list) == 1 {
			if m, ok := list[0].(map[string]any); ok {
				_, v.member.ref = m["$ref"]
				_, v.member.display = m["display"]
				_, v.member.typ = m["type"]
				_, v.member.value = m["value"]
			}
		}
	}
	return v
}
