package sqlstore

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/townsquare/townsquare/store"
)

// appendEntries writes exactly what json.Marshal writes for the row's []storedEntry, so
// rows written before and after it are the same bytes: strings that need escaping of
// every kind, invalid UTF-8, empty and absent fields, maps of several keys, and random
// strings.
func TestAppendEntriesIsJSONMarshal(t *testing.T) {
	tricky := []string{"", "plain", `quote " backslash \ slash /`, "\b\f\n\r\t\x00\x01\x1f\x7f", "<script>&amp;</script>",
		"\u2028\u2029", "é日本語🙂", "\xff\xfe broken \xc3", "a\xe2\x80", "\u00e9\u0301", "ok\ufffdok"}
	rng := rand.New(rand.NewPCG(11, 11))
	for range 300 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		tricky = append(tricky, string(b))
	}
	pick := func() string { return tricky[rng.IntN(len(tricky))] }
	var cases [][]store.Event
	cases = append(cases, nil, []store.Event{{Kind: store.EventAccountCreated}})
	u := &store.User{ID: "id", Active: true, ExternalID: "ext<1>"}
	u.Account.Username, u.Account.Email, u.Name.GivenName = "alice", "a@example.com", "Al\u2028ice"
	cases = append(cases, []store.Event{createdEvent(u), {Kind: store.EventTeamJoined, Team: "everyone", Source: "default"},
		{Kind: store.EventChannelJoined, Team: "everyone", Channel: "town-square", Source: "team"}})
	for range 300 {
		es := make([]store.Event, 1+rng.IntN(4))
		for i := range es {
			es[i] = store.Event{Kind: store.EventKind(pick()), Team: pick(), Channel: pick(), Source: pick()}
			for _, m := range []*map[string]string{&es[i].Before, &es[i].After} {
				if n := rng.IntN(10); n > 0 {
					*m = map[string]string{}
					for range n {
						(*m)[pick()] = pick()
					}
				}
			}
		}
		cases = append(cases, es)
	}
	for _, es := range cases {
		stored := make([]storedEntry, len(es))
		for k, e := range es {
			stored[k] = storedEntry{Kind: string(e.Kind), Team: e.Team, Channel: e.Channel, Source: e.Source, Before: e.Before, After: e.After}
		}
		want, err := json.Marshal(stored)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEntries(nil, es); string(got) != string(want) {
			t.Fatalf("appendEntries(%+v)\n got %s\nwant %s", es, got, want)
		}
	}
}
