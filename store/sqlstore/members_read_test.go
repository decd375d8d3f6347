package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/townsquare/townsquare/store"
	"github.com/townsquare/townsquare/store/sqlstore"
	"github.com/townsquare/townsquare/store/sqlstore/sqltest"
)

// EachGroupMember lists every member exactly once, in the order the members' accounts
// were created (key order), whatever the size of the chunks it reads (a chunk boundary
// falling on the last member, and one past it, are both covered), stops when fn fails,
// and lists nothing for an unknown group.
func TestEachGroupMemberInChunks(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		var want []string
		var ids []string
		for i := range 9 {
			u := store.User{UserName: fmt.Sprintf("chunk%d", i), Active: true}
			if i%2 == 0 {
				u.DisplayName = fmt.Sprintf("Chunk %d", i)
			}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
			display := u.DisplayName
			if display == "" {
				display = u.UserName
			}
			want = append(want, u.ID+"|"+display)
		}
		g := store.Group{DisplayName: "chunked"}
		if err := s.CreateGroup(ctx, &g, ids); err != nil {
			t.Fatal(err)
		}
		for _, chunk := range []int{1, 2, 3, 9, 10, 1000} {
			t.Run(fmt.Sprint("chunk=", chunk), func(t *testing.T) {
				defer sqlstore.SetMemberChunkForTest(chunk)()
				var got []string
				if err := s.EachGroupMember(ctx, g.ID, func(m store.Member) error {
					got = append(got, m.Value+"|"+m.Display)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("members\n got %v\nwant %v", got, want)
				}
			})
		}
		defer sqlstore.SetMemberChunkForTest(2)()
		stop := errors.New("enough")
		n := 0
		err := s.EachGroupMember(ctx, g.ID, func(store.Member) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 {
			t.Fatalf("fn's error should stop the walk: err %v after %d members", err, n)
		}
		if err := s.EachGroupMember(ctx, "no-such-group", func(store.Member) error {
			t.Fatal("member of an unknown group")
			return nil
		}); err != nil {
			t.Fatalf("unknown group: %v", err)
		}
	})
}
