package sqlstore

import (
	"context"
	"errors"

	"github.com/townsquare/townsquare/store"
)

// GrantRole implements store.Admin. CONTRACT: implemented by the store branch of issue 14.
func (s *Store) GrantRole(ctx context.Context, id string, r store.RoleRef) (store.RoleChange, error) {
	return store.RoleChange{}, errors.New("sqlstore: GrantRole is not implemented yet")
}

// RevokeRole implements store.Admin. CONTRACT: implemented by the store branch of issue 14.
func (s *Store) RevokeRole(ctx context.Context, id string, r store.RoleRef) (store.RoleChange, error) {
	return store.RoleChange{}, errors.New("sqlstore: RevokeRole is not implemented yet")
}
