package patch

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/elimity-com/scim/schema"
)

// The applier compares elements by key (elemKey, valueKey) instead of pairwise; these
// tests hold the keys to the comparisons they replace.

// foldRunes are characters whose case folding is not one-to-one or not ASCII.
var foldRunes = []string{"k", "K", "\u212a", "s", "S", "\u017f", "ß", "ẞ", "σ", "ς", "Σ", "İ", "ı", "i", "I",
	"Ω", "\u2126", "ω", "ǅ", "Ǆ", "ǆ", "a", "A", "é", "É", "1", "-", "\xff", "\xfe", ""}

func TestFoldKeyIsEqualFold(t *testing.T) {
	var strs []string
	for _, a := range foldRunes {
		for _, b := range foldRunes {
			strs = append(strs, a+b)
		}
	}
	for _, x := range strs {
		for _, y := range strs {
			if got, want := foldKey(x) == foldKey(y), strings.EqualFold(x, y); got != want {
				t.Errorf("%q, %q: same fold key %v, EqualFold %v", x, y, got, want)
			}
		}
	}
}

func FuzzFoldKey(f *testing.F) {
	f.Add("k", "\u212a")
	f.Add("straße", "STRASSE")
	f.Fuzz(func(t *testing.T, x, y string) {
		if got, want := foldKey(x) == foldKey(y), strings.EqualFold(x, y); got != want {
			t.Fatalf("%q, %q: same fold key %v, EqualFold %v", x, y, got, want)
		}
	})
}

// randomValue is a canonical value such as the attribute map holds, from a small space
// so that equal values are frequent.
func randomValue(r *rand.Rand, depth int) any {
	switch n := r.IntN(9); {
	case n == 0:
		return nil
	case n == 1:
		return r.IntN(2) == 0
	case n == 2:
		return int64(r.IntN(3))
	case n == 3:
		return float64(r.IntN(3))
	case n == 4 && depth < 2:
		m := map[string]any{}
		for range r.IntN(3) {
			m[[]string{"value", "type", "primary"}[r.IntN(3)]] = randomValue(r, depth+1)
		}
		return m
	case n == 5 && depth < 2:
		l := []any{}
		for range r.IntN(3) {
			l = append(l, randomValue(r, depth+1))
		}
		return l
	default:
		return []string{"a", "A", "b", `"`, "a,", ""}[r.IntN(6)]
	}
}

func TestElemKeyIsDeepEqual(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		x, y := randomValue(r, 0), randomValue(r, 0)
		if got, want := elemKey(x) == elemKey(y), reflect.DeepEqual(x, y); got != want {
			t.Fatalf("%#v, %#v: same key %v, DeepEqual %v", x, y, got, want)
		}
	}
}

// removeItemsPairwise is removeItems as it was: every element against every item.
func removeItemsPairwise(a schema.CoreAttribute, list, items []any) []any {
	valueSub, hasValue := findAttr(a.SubAttributes(), "value")
	sameScalar := func(x, y any) bool {
		xs, xok := x.(string)
		ys, yok := y.(string)
		if xok && yok && !valueSub.CaseExact() {
			return strings.EqualFold(xs, ys)
		}
		return reflect.DeepEqual(x, y)
	}
	out := list[:0:0]
	for _, e := range list {
		drop := false
		for _, it := range items {
			im, iok := it.(map[string]any)
			em, eok := e.(map[string]any)
			if iok && eok && hasValue && im["value"] != nil {
				drop = sameScalar(em["value"], im["value"])
			} else {
				drop = reflect.DeepEqual(e, it)
			}
			if drop {
				break
			}
		}
		if !drop {
			out = append(out, e)
		}
	}
	return out
}

func TestRemoveItemsIsPairwise(t *testing.T) {
	emails := schema.ComplexCoreAttribute(schema.ComplexParams{Name: "emails", MultiValued: true,
		SubAttributes: []schema.SimpleParams{
			schema.SimpleStringParams(schema.StringParams{Name: "value"}),
			schema.SimpleStringParams(schema.StringParams{Name: "type"}),
			schema.SimpleBooleanParams(schema.BooleanParams{Name: "primary"}),
		}})
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		var list, items []any
		for range r.IntN(6) {
			list = append(list, randomValue(r, 0))
		}
		for range r.IntN(4) {
			items = append(items, randomValue(r, 0))
		}
		got := removeItems(emails, slices.Clone(list), items)
		want := removeItemsPairwise(emails, slices.Clone(list), items)
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Fatalf("case %d: removeItems(%#v, %#v) = %#v, want %#v", i, list, items, got, want)
		}
	}
}
