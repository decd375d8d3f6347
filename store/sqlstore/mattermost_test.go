package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
)

// TestEachChatAccountStateAcrossChunks walks accounts in chunks smaller than the
// tenant: every account once, in order, each with its own memberships (a chunk's
// membership statements span a key range, and must not hand one account's rows to
// another).
func TestEachChatAccountStateAcrossChunks(t *testing.T) {
	sqlstore.SetChatStateChunkForTest(t, 2)
	withRules(t, exampleRules, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var ids []string
		for i := range 5 {
			u := mustUser(t, s, fmt.Sprintf("user%d@example.com", i), "")
			ids = append(ids, u.ID)
		}
		mustGroup(t, s, "Engineering", "", ids[1], ids[4])
		var got []string
		if err := s.EachChatAccountState(ctx, func(a store.ChatAccountState) error {
			got = append(got, fmt.Sprintf("%s:%v:%d", a.Username, a.Teams, len(a.Channels)))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := []string{"user0:[everyone]:2", "user1:[engineering everyone]:6", "user2:[everyone]:2", "user3:[everyone]:2", "user4:[engineering everyone]:6"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("walk:\n got  %v\n want %v", got, want)
		}
	})
}
