package patch

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/elimity-com/scim/errors"
	fp "github.com/scim2/filter-parser/v2"

	"github.com/townsquare/townsquare/resources/limits"
	"github.com/townsquare/townsquare/store"
)

// Operation is one PATCH operation as the client sent it: op lower-cased, the path
// parsed (nil when there is none), the value as decoded (numbers as json.Number). Apply
// and SplitGroupOps resolve names and check values against the schema.
type Operation struct {
	Op    string
	Path  *fp.Path
	Value any
}

// ParseRequest reads a PATCH request body: one JSON object (trailing data is
// invalidSyntax), exactly the PatchOp schema, one or more
// operations, each an add, remove or replace (in any case) whose path, if any, parses.
// Errors are ScimError values: invalidSyntax for a body that is not JSON, invalidValue
// for a wrong envelope or op, or more than limits.MaxPatchOperations operations (counted
// before any path is parsed), invalidPath for a path that does not parse.
func ParseRequest(body []byte) ([]Operation, error) {
	var req struct {
		Schemas    []string
		Operations []struct {
			Op    string
			Path  string
			Value any
		}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&req); err != nil {
		return nil, errf(errors.ScimTypeInvalidSyntax, "the request body is not a PATCH request: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errf(errors.ScimTypeInvalidSyntax, "the request body holds more than one JSON value")
	}
	if len(req.Schemas) != 1 || req.Schemas[0] != store.PatchOpSchema {
		return nil, errf(errors.ScimTypeInvalidValue, "schemas must be exactly [%q]", store.PatchOpSchema)
	}
	if len(req.Operations) == 0 {
		return nil, errf(errors.ScimTypeInvalidValue, "Operations must hold at least one operation")
	}
	if len(req.Operations) > limits.MaxPatchOperations {
		return nil, errf(errors.ScimTypeInvalidValue, "a PATCH request holds at most %d operations; this one has %d",
			limits.MaxPatchOperations, len(req.Operations))
	}
	ops := make([]Operation, len(req.Operations))
	for i, o := range req.Operations {
		op := Operation{Op: strings.ToLower(o.Op), Value: o.Value}
		switch op.Op {
		case opAdd, opRemove, opReplace:
		default:
			return nil, atOp(i, errf(errors.ScimTypeInvalidValue, "unknown op %q: want add, remove or replace", o.Op))
		}
		if o.Path != "" {
			p, err := ParsePath(o.Path)
			if err != nil {
				return nil, atOp(i, err)
			}
			op.Path = &p
		}
		ops[i] = op
	}
	return ops, nil
}

// ParsePath parses a PATCH path (RFC 7644 §3.5.2, "path"). The shapes IdPs send on every
// request, attr, attr.sub and attr[sub eq "value"] with an optional .sub after the
// brackets, are read here; anything else goes to the filter parser. Both give the same
// path for the same text (FuzzParsePath). A path's value filter is a filter: the text
// is bounded first (limits.CheckFilter). The error is a ScimError, invalidPath.
func ParsePath(s string) (fp.Path, error) {
	if err := limits.CheckFilter(s); err != nil {
		return fp.Path{}, errf(errors.ScimTypeInvalidPath, "the path is %v", err)
	}
	if p, ok := parseSimplePath(s); ok {
		return p, nil
	}
	p, err := fp.ParsePath([]byte(s))
	if err != nil {
		return fp.Path{}, errf(errors.ScimTypeInvalidPath, "invalid path %q", s)
	}
	return p, nil
}

// parseSimplePath reads attr, attr.sub, and attr[sub eq "value"] optionally followed by
// .sub, where every name is an ATTRNAME, the spaces are the grammar's, and the value
// needs no escape; ok is false for anything else.
func parseSimplePath(s string) (fp.Path, bool) {
	name, rest := s, ""
	if i := strings.IndexAny(s, " ["); i >= 0 {
		name, rest = s[:i], s[i:]
	}
	var p fp.Path
	attr, sub, hasSub := strings.Cut(name, ".")
	if !attrName(attr) || hasSub && !attrName(sub) {
		return fp.Path{}, false
	}
	p.AttributePath.AttributeName = attr
	if hasSub {
		p.AttributePath.SubAttribute = &sub
	}
	if rest == "" {
		return p, true
	}
	if hasSub {
		return fp.Path{}, false // attr.sub[...] is no path
	}
	// ValuePath: attrPath *SP "[" *SP attrExp *SP "]", attrExp: attrPath 1*SP "eq" 1*SP string.
	rest = strings.TrimLeft(rest, " ")
	end := strings.LastIndexByte(rest, ']')
	if !strings.HasPrefix(rest, "[") || end < 0 {
		return fp.Path{}, false
	}
	expr, after := strings.TrimLeft(rest[1:end], " "), rest[end+1:]
	left, expr, ok := strings.Cut(expr, " ")
	if !ok || !attrName(left) {
		return fp.Path{}, false
	}
	op, expr, ok := strings.Cut(strings.TrimLeft(expr, " "), " ")
	if !ok || !asciiFold(op, "eq") {
		return fp.Path{}, false
	}
	lit := strings.TrimRight(strings.TrimLeft(expr, " "), " ")
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' || !plainString(lit[1:len(lit)-1]) {
		return fp.Path{}, false
	}
	p.ValueExpression = &fp.AttributeExpression{
		AttributePath: fp.AttributePath{AttributeName: left},
		Operator:      fp.EQ,
		CompareValue:  lit[1 : len(lit)-1],
	}
	if after != "" {
		sub, ok := strings.CutPrefix(after, ".")
		if !ok || !attrName(sub) {
			return fp.Path{}, false
		}
		p.SubAttribute = &sub
	}
	return p, true
}

// attrName reports whether s is an RFC 7643 ATTRNAME: ALPHA *(ALPHA / DIGIT / "-" / "_").
func attrName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '-' || c == '_')) {
			return false
		}
	}
	return true
}

// asciiFold reports whether s is name in any ASCII case. strings.EqualFold is not used:
// it folds non-ASCII letters too (U+017F, the long s, matches "s"), which the grammar's
// ALPHA does not accept.
func asciiFold(s, name string) bool {
	if len(s) != len(name) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c, n := s[i], name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= n && n <= 'Z' {
			n += 'a' - 'A'
		}
		if c != n {
			return false
		}
	}
	return true
}

// plainString reports whether s can stand between the quotes of a filter string without
// escapes: valid UTF-8, no control characters, no " and no \ (the parser keeps escapes
// verbatim).
func plainString(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}
