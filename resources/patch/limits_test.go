package patch_test

import (
	"context"
	stderrors "errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/elimity-com/scim/errors"

	"github.com/townsquare/townsquare/resources/limits"
	"github.com/townsquare/townsquare/resources/patch"
	"github.com/townsquare/townsquare/store"
)

// The limits of a PATCH request (resources/limits) and of a multi-valued attribute
// (store.MaxMultiValues), at their edges; the applier's cost and its context.

// wantScimError fails unless err is a 400 with scimType t whose detail says detail.
func wantScimError(t *testing.T, err error, st errors.ScimType, detail string) {
	t.Helper()
	var se errors.ScimError
	if !stderrors.As(err, &se) || se.Status != 400 || se.ScimType != st || !strings.Contains(se.Detail, detail) {
		t.Fatalf("err = %v, want 400 %s saying %q", err, st, detail)
	}
}

func patchRequest(ops []string) []byte {
	return []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`)
}

func TestParseRequestOperationLimit(t *testing.T) {
	op := `{"op":"remove","path":"members[value eq \"x\"]"}`
	ops := make([]string, limits.MaxPatchOperations)
	for i := range ops {
		ops[i] = op
	}
	got, err := patch.ParseRequest(patchRequest(ops))
	if err != nil || len(got) != limits.MaxPatchOperations {
		t.Fatalf("%d operations: %d, %v", limits.MaxPatchOperations, len(got), err)
	}
	_, err = patch.ParseRequest(patchRequest(append(ops, op)))
	wantScimError(t, err, errors.ScimTypeInvalidValue, "at most 2000 operations; this one has 2001")
}

func TestSplitGroupOpsMemberLimit(t *testing.T) {
	values := func(n, from int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"value":"u%d"}`, from+i)
		}
		return b.String()
	}
	for _, c := range []struct {
		name string
		ops  []string
		err  bool
	}{
		{"at the limit in one operation", []string{`{"op":"add","path":"members","value":[` + values(limits.MaxPatchMemberIDs, 0) + `]}`}, false},
		{"one over in one operation", []string{`{"op":"add","path":"members","value":[` + values(limits.MaxPatchMemberIDs+1, 0) + `]}`}, true},
		{"at the limit over two", []string{`{"op":"remove","path":"members","value":[` + values(limits.MaxPatchMemberIDs-1, 0) + `]}`,
			`{"op":"remove","path":"members[value eq \"last\"]"}`}, false},
		{"one over over two", []string{`{"op":"remove","path":"members","value":[` + values(limits.MaxPatchMemberIDs, 0) + `]}`,
			`{"op":"add","value":{"members":[{"value":"last"}]}}`}, true},
		{"duplicates count once", []string{`{"op":"add","path":"members","value":[` + values(limits.MaxPatchMemberIDs, 0) + `,` + values(10, 0) + `]}`}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ops, err := patch.ParseRequest(patchRequest(c.ops))
			if err != nil {
				t.Fatal(err)
			}
			members, _, err := patch.SplitGroupOps(ops)
			if c.err {
				wantScimError(t, err, errors.ScimTypeInvalidValue, "at most 10000 members")
				return
			}
			n := 0
			for _, m := range members {
				n += len(m.IDs)
			}
			if err != nil || n != limits.MaxPatchMemberIDs {
				t.Fatalf("%d ids, %v", n, err)
			}
		})
	}
}

// emailOps is one operation adding n emails, from the from-th.
func emailOps(n, from int) string {
	var b strings.Builder
	b.WriteString(`[{"op":"add","path":"emails","value":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"value":"e%d@example.com","type":"work"}`, from+i)
	}
	b.WriteString(`]}]`)
	return b.String()
}

func TestMultiValueLimit(t *testing.T) {
	max := store.MaxMultiValues
	for _, c := range []struct {
		name string
		ops  string
		n    int // emails after; 0 for the error
	}{
		{"at the limit", emailOps(max, 0), max},
		{"one over", emailOps(max+1, 0), 0},
		{"at the limit with duplicates", strings.Replace(emailOps(max, 0), `]}]`, `,{"value":"e0@example.com","type":"work"}]}]`, 1), max},
		{"20,000 duplicates of one", `[{"op":"add","path":"emails","value":[` +
			strings.Repeat(`{"value":"same@example.com"},`, 20000) + `{"value":"same@example.com"}]}]`, 1},
		{"replace at the limit", strings.Replace(emailOps(max, 0), `"add"`, `"replace"`, 1), max},
		{"replace one over", strings.Replace(emailOps(max+1, 0), `"add"`, `"replace"`, 1), 0},
		{"a filtered add one over", strings.TrimSuffix(emailOps(max, 0), `]`) + `,{"op":"add","path":"emails[type eq \"home\"].value","value":"h@example.com"}]`, 0},
		{"a filtered add at the limit", strings.TrimSuffix(emailOps(max-1, 0), `]`) + `,{"op":"add","path":"emails[type eq \"home\"].value","value":"h@example.com"}]`, max},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := bare()
			err := patch.Apply(m, parseOps(t, c.ops), userSchema)
			if c.n == 0 {
				wantScimError(t, err, errors.ScimTypeInvalidValue, "emails must not hold more than 100 values")
				return
			}
			if err != nil || len(m["emails"].([]any)) != c.n {
				t.Fatalf("%v; %d emails, want %d", err, len(m["emails"].([]any)), c.n)
			}
		})
	}
}

// TestApplyCostIsLinear is the quadratic half of finding 2 of issue 10: 10,000 email adds
// in one PATCH took 51 s of CPU, every element compared with every other. Elements are
// now compared by key, and the list stops at the limit: 20,000 distinct emails are
// refused, and 20,000 emails of which 100 are distinct are taken, each in far less time
// than the pairwise comparison needed (minutes for these sizes).
func TestApplyCostIsLinear(t *testing.T) {
	distinct := parseOps(t, emailOps(20000, 0))
	var few strings.Builder
	few.WriteString(`[{"op":"add","path":"emails","value":[`)
	for i := range 20000 {
		if i > 0 {
			few.WriteString(",")
		}
		fmt.Fprintf(&few, `{"value":"e%d@example.com"}`, i%store.MaxMultiValues)
	}
	few.WriteString(`]},{"op":"remove","path":"emails","value":[` + strings.Repeat(`{"value":"E1@EXAMPLE.COM"},`, 20000) + `{"value":"x"}]}]`)
	for name, ops := range map[string][]patch.Operation{"distinct": distinct, "duplicates": parseOps(t, few.String())} {
		start := time.Now()
		err := patch.Apply(bare(), ops, userSchema)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: %v", name, d)
		}
		if (name == "distinct") != (err != nil) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestProgramIsReusable: a compiled program applies the same way every time (a store
// transaction that lost a race runs its closure again), sharing nothing with what it
// produced before.
func TestProgramIsReusable(t *testing.T) {
	prog := patch.Compile(parseOps(t, `[{"op":"add","path":"emails","value":[{"value":"x@example.com"}]},
		{"op":"replace","path":"emails[value eq \"x@example.com\"].type","value":"work"},
		{"op":"add","value":{"name":{"givenName":"G"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m"}}}},
		{"op":"replace","path":"name.familyName","value":"F"}]`), userSchema, entSchema)
	first, second := bare(), bare()
	if err := prog.Apply(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if err := prog.Apply(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("second application differs:\n%s\n%s", dump(first), dump(second))
	}
	email(first, 0)["type"] = "changed"
	first["name"].(map[string]any)["givenName"] = "changed"
	if email(second, 0)["type"] != "work" || second["name"].(map[string]any)["givenName"] != "G" {
		t.Fatalf("the applications share values: %s", dump(second))
	}
}

// TestApplyStopsWhenTheClientIsGone: Apply checks its context between operations and
// leaves the map as it was.
func TestApplyStopsWhenTheClientIsGone(t *testing.T) {
	prog := patch.Compile(parseOps(t, `[{"op":"replace","path":"displayName","value":"x"}]`), userSchema)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := alice()
	if err := prog.Apply(ctx, m); !stderrors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !reflect.DeepEqual(m, alice()) {
		t.Fatalf("a cancelled Apply changed the map: %s", dump(m))
	}
}

// TestCompileReportsErrorsWhereApplyDid: an operation that cannot be compiled fails when
// Apply reaches it, so an earlier operation's error is the one reported, as before.
func TestCompileReportsErrorsWhereApplyDid(t *testing.T) {
	err := patch.Apply(alice(), parseOps(t, `[{"op":"remove","path":"userName"},{"op":"replace","path":"active","value":"maybe"}]`), userSchema)
	wantScimError(t, err, errors.ScimTypeInvalidValue, "operation 1: userName is required")
	err = patch.Apply(alice(), parseOps(t, `[{"op":"replace","path":"displayName","value":"x"},{"op":"replace","path":"active","value":"maybe"}]`), userSchema)
	wantScimError(t, err, errors.ScimTypeInvalidValue, "operation 2: active")
}

func TestLastSet(t *testing.T) {
	for _, c := range []struct {
		ops   string
		v     any
		isSet bool
	}{
		{`[{"op":"replace","path":"displayName","value":"x"}]`, nil, false},
		{`[{"op":"replace","path":"password","value":"p1"}]`, "p1", true},
		{`[{"op":"add","value":{"PASSWORD":"p2"}},{"op":"replace","path":"displayName","value":"x"}]`, "p2", true},
		{`[{"op":"add","value":{"urn:ietf:params:scim:schemas:core:2.0:User:password":"p3"}}]`, "p3", true},
		{`[{"op":"replace","path":"password","value":"p1"},{"op":"remove","path":"password"}]`, nil, false},
		{`[{"op":"replace","path":"password","value":"p1"},{"op":"replace","value":{"password":null}}]`, nil, false},
	} {
		v, set := patch.Compile(parseOps(t, c.ops), userSchema).LastSet("password")
		if set != c.isSet || (set && v != c.v) {
			t.Errorf("%s: %v %v, want %v %v", c.ops, v, set, c.v, c.isSet)
		}
	}
}
