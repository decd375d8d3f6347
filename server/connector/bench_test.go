package connector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/townsquare/townsquare/server/connector"
	"github.com/townsquare/townsquare/server/mattermost"
	"github.com/townsquare/townsquare/server/mattermost/mmtest"
	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/rules"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// BenchmarkReconcile measures a reconcile with nothing to repair over b.N delivered
// accounts (half in a mapped group): every account read from the store and its user
// from the double, and every managed team's and channel's members paged, against a
// double answering in 5 ms. It reports accounts a second.
func BenchmarkReconcile(b *testing.B) {
	for _, be := range sqltest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			st := sqltest.Open(b, be)
			cfg, err := rules.Parse([]byte(mappingFile))
			if err != nil {
				b.Fatal(err)
			}
			st.SetRules(cfg)
			mm := mmtest.New(b, mmtest.WithMaxUsersPerTeam(1<<30), mmtest.WithoutOpenAPIChecks())
			client, _ := mattermost.New(mattermost.Config{URL: mm.URL(), Token: mm.AdminToken()})
			e, err := connector.New(connector.Config{Settings: *cfg.Mattermost, Store: st, Client: client, Holder: "bench",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var ids []string
			for i := range b.N {
				u := store.User{UserName: fmt.Sprintf("user%06d@example.com", i), ExternalID: fmt.Sprintf("ext%d", i), Active: true,
					Emails: []store.MultiValue{{Value: fmt.Sprintf("user%06d@example.com", i), Primary: true}}}
				if err := st.CreateUser(ctx, &u); err != nil {
					b.Fatal(err)
				}
				if i%2 == 0 {
					ids = append(ids, u.ID)
				}
			}
			g := store.Group{DisplayName: "Engineering"}
			if err := st.CreateGroup(ctx, &g, ids); err != nil {
				b.Fatal(err)
			}
			if ok, err := st.AcquireLease(ctx, connector.LeaseName, "bench", time.Hour); err != nil || !ok {
				b.Fatal(ok, err)
			}
			for {
				if n, err := e.Step(ctx); err != nil {
					b.Fatal(err)
				} else if n == 0 {
					break
				}
			}
			mm.SetLatency(5 * time.Millisecond)
			calls := len(mm.Requests())
			b.ResetTimer()
			start := time.Now()
			plan, err := e.Reconcile(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(plan.Counts) != 0 {
				b.Fatalf("a reconcile with nothing to repair changed: %v", plan.Counts)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "accounts/s")
			b.ReportMetric(float64(len(mm.Requests())-calls)/time.Since(start).Seconds(), "calls/s")
		})
	}
}
