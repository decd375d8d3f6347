package sqlstore

import (
	"testing"

	fp "github.com/scim2/filter-parser/v2"
)

// Benchmarks of the filter path of GET /Users?filter=…: the parse (scim2/filter-parser,
// which the HTTP side runs, the same parser elimity uses) and the compile to SQL here,
// separately and together, for the filters IdPs send on every lookup and one richer
// filter, in every dialect.
//
//	go test -run '^$' -bench 'Filter|Compile' -benchmem ./store/sqlstore

var benchFilters = []struct{ name, filter string }{
	{"userName_eq", `userName eq "ltabc123u4567@example.com"`},
	{"externalId_eq", `externalId eq "00u1a2b3c4d5e6f7g8h9"`},
	{"emails_valuepath", `emails[type eq "work" and value co "@example.com"] and active eq true`},
}

func BenchmarkParseFilter(b *testing.B) {
	for _, f := range benchFilters {
		b.Run(f.name, func(b *testing.B) {
			raw := []byte(f.filter)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fp.ParseFilter(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompileUsers(b *testing.B) {
	for _, f := range benchFilters {
		expr, err := fp.ParseFilter([]byte(f.filter))
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range dialects {
			b.Run(f.name+"/"+d.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := compileFilter(userFilter, expr, d); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkParseAndCompile is what one filtered GET pays before it reaches the database.
func BenchmarkParseAndCompile(b *testing.B) {
	for _, f := range benchFilters {
		for _, d := range dialects {
			b.Run(f.name+"/"+d.name, func(b *testing.B) {
				raw := []byte(f.filter)
				b.ReportAllocs()
				for b.Loop() {
					expr, err := fp.ParseFilter(raw)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := compileFilter(userFilter, expr, d); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
