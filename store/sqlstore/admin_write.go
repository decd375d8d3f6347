package sqlstore

import (
	"context"
	"errors"

	"github.com/townsquare/townsquare/store"
)

// store.Admin (store/admin.go). Placeholders until issue 13's store work lands; every
// one answers errAdminPending so that the CLI and HTTP work can build on the contract.

var errAdminPending = errors.New("sqlstore: admin writes are not implemented yet")

func (s *Store) ListAccounts(ctx context.Context, q store.AccountQuery) (store.AccountPage, error) {
	return store.AccountPage{}, errAdminPending
}
func (s *Store) CreateAccount(ctx context.Context, a store.NewAccount) (store.AccountDetails, error) {
	return store.AccountDetails{}, errAdminPending
}
func (s *Store) SetAccountActive(ctx context.Context, id string, active bool) (store.AccountDetails, bool, error) {
	return store.AccountDetails{}, false, errAdminPending
}
func (s *Store) DeleteAccount(ctx context.Context, id string) error { return errAdminPending }
func (s *Store) EditAccount(ctx context.Context, id string, e store.AccountEdit) (store.AccountDetails, error) {
	return store.AccountDetails{}, errAdminPending
}
func (s *Store) CreateTeam(ctx context.Context, t store.NewTeam) (store.TeamSummary, error) {
	return store.TeamSummary{}, errAdminPending
}
func (s *Store) CreateChannel(ctx context.Context, c store.NewChannel) (store.ChannelSummary, error) {
	return store.ChannelSummary{}, errAdminPending
}
func (s *Store) AddTeamMember(ctx context.Context, team, id string) (store.MembershipChange, error) {
	return store.MembershipChange{}, errAdminPending
}
func (s *Store) RemoveTeamMember(ctx context.Context, team, id string, toDefault bool) (store.MembershipChange, error) {
	return store.MembershipChange{}, errAdminPending
}
func (s *Store) AddChannelMember(ctx context.Context, team, channel, id string) (store.MembershipChange, error) {
	return store.MembershipChange{}, errAdminPending
}
func (s *Store) RemoveChannelMember(ctx context.Context, team, channel, id string) (store.MembershipChange, error) {
	return store.MembershipChange{}, errAdminPending
}
func (s *Store) Login(ctx context.Context, r store.LoginRequest) (store.LoginResult, error) {
	return store.LoginResult{}, errAdminPending
}
func (s *Store) JoinTeam(ctx context.Context, id, team string) (store.MembershipChange, error) {
	return store.MembershipChange{}, errAdminPending
}
