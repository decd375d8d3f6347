package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/townsquare/townsquare/resources"
	"github.com/townsquare/townsquare/server"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// BenchmarkBulk compares one POST /Bulk of resources.MaxBulkOperations operations with
// as many single requests doing the same, through the whole handler, in process: one
// iteration is all 1000 operations. The creates are users without a password (a
// password adds its hash, about 20 ms of CPU, to both); the PATCH and DELETE runs work on
// the users the creates made.
//
//	go test -run '^$' -bench BenchmarkBulk -benchmem ./server
func BenchmarkBulk(b *testing.B) {
	const n = resources.MaxBulkOperations
	for _, be := range sqltest.Backends(b) {
		s := sqltest.Open(b, be)
		limits := server.DefaultLimits()
		limits.TokenRate, limits.TokenBurst = 1e9, 1e9
		h, err := server.Handler(server.Config{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			BaseURL: "http://bench/scim/v2", BootstrapToken: benchToken, Limits: limits})
		if err != nil {
			b.Fatal(err)
		}
		run := 0
		// created are the ids of the latest run's users, for the PATCH and DELETE runs.
		var created []string
		bulk := func(b *testing.B, ops []string) {
			rec := call(b, h, http.MethodPost, "/scim/v2/Bulk",
				`{"schemas":["`+resources.BulkRequestSchema+`"],"Operations":[`+strings.Join(ops, ",")+`]}`, http.StatusOK)
			if got := strings.Count(rec.Body.String(), `"status":"2`); got != len(ops) {
				b.Fatalf("%d of %d operations succeeded: %.300s", got, len(ops), rec.Body.String())
			}
			if strings.Contains(ops[0], `"POST"`) {
				created = created[:0]
				for _, loc := range strings.Split(rec.Body.String(), `"location":"http://bench/scim/v2/Users/`)[1:] {
					created = append(created, loc[:strings.IndexByte(loc, '"')])
				}
			}
		}
		createOps := func() []string {
			run++
			ops := make([]string, n)
			for i := range ops {
				ops[i] = fmt.Sprintf(`{"method":"POST","path":"/Users","bulkId":"u%d","data":%s}`, i, benchUserBody(fmt.Sprintf("b%d-%d", run, i)))
			}
			return ops
		}
		patchBody := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"T"}]}`
		b.Run(be.Name+"/create/bulk", func(b *testing.B) {
			for b.Loop() {
				bulk(b, createOps())
			}
		})
		b.Run(be.Name+"/create/single", func(b *testing.B) {
			for b.Loop() {
				run++
				for i := range n {
					call(b, h, http.MethodPost, "/scim/v2/Users", benchUserBody(fmt.Sprintf("s%d-%d", run, i)), http.StatusCreated)
				}
			}
		})
		b.Run(be.Name+"/patch/bulk", func(b *testing.B) {
			bulk(b, createOps())
			ops := make([]string, len(created))
			for i, id := range created {
				ops[i] = `{"method":"PATCH","path":"/Users/` + id + `","data":` + patchBody + `}`
			}
			b.ResetTimer()
			for b.Loop() {
				bulk(b, ops)
			}
		})
		b.Run(be.Name+"/patch/single", func(b *testing.B) {
			bulk(b, createOps())
			ids := append([]string(nil), created...)
			b.ResetTimer()
			for b.Loop() {
				for _, id := range ids {
					call(b, h, http.MethodPatch, "/scim/v2/Users/"+id, patchBody, http.StatusOK)
				}
			}
		})
		b.Run(be.Name+"/delete/bulk", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				bulk(b, createOps())
				ops := make([]string, len(created))
				for i, id := range created {
					ops[i] = `{"method":"DELETE","path":"/Users/` + id + `"}`
				}
				b.StartTimer()
				bulk(b, ops)
			}
		})
		b.Run(be.Name+"/delete/single", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				bulk(b, createOps())
				b.StartTimer()
				for _, id := range created {
					call(b, h, http.MethodDelete, "/scim/v2/Users/"+id, "", http.StatusNoContent)
				}
			}
		})
	}
}
