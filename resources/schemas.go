package resources

import (
	"slices"
	"strings"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/townsquare/townsquare/store"
)

// The resource kinds, as meta.resourceType and error details name them.
const (
	userKind  = "User"
	groupKind = "Group"
)

// The schemas, built once: the library's constructors compile a regexp per attribute.
// PATCH resolves paths against these (the patch package adds the common attributes id,
// externalId and meta itself).
var (
	userSchema           = UserSchema()
	enterpriseUserSchema = EnterpriseUserSchema()
	townsquareUserSchema = TownsquareUserSchema()
	groupSchema          = GroupSchema()
)

// The resource types served, User first: what decoding, rendering and /ResourceTypes
// know of each.
var (
	userType = resourceType{name: userKind, description: "User Account", endpoint: "Users", core: userSchema, withCommon: withExternalID(userSchema),
		extensions: []schema.Schema{enterpriseUserSchema, townsquareUserSchema}}
	groupType = resourceType{name: groupKind, description: "Group", endpoint: "Groups", core: groupSchema, withCommon: withExternalID(groupSchema)}
)

// withExternalID is s with the common attribute externalId (RFC 7643 §3.1), which a
// client may set on POST and PUT.
func withExternalID(s schema.Schema) schema.Schema {
	s.Attributes = append(slices.Clone(s.Attributes), schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		Name: schema.CommonAttributeExternalID, CaseExact: true,
		Mutability: schema.AttributeMutabilityReadWrite(), Uniqueness: schema.AttributeUniquenessNone(),
	})))
	return s
}

// storedUserAttributes are the core User attributes the store keeps and returns. The
// schema we advertise lists only these, so /Schemas tells an IdP the truth: an attribute
// such as ims or x509Certificates would be accepted and silently lost.
var storedUserAttributes = func() map[string]bool {
	m := map[string]bool{"userName": true, "active": true, "password": true, "emails": true,
		"phoneNumbers": true, "addresses": true, "groups": true}
	for _, a := range store.UserStrings {
		if a.Schema == "" {
			name, _, _ := strings.Cut(a.Name, ".")
			m[name] = true
		}
	}
	return m
}()

// UserSchema is RFC 7643's core User schema restricted to the attributes Townsquare stores.
func UserSchema() schema.Schema {
	s := schema.CoreUserSchema()
	kept := s.Attributes[:0:0]
	for _, a := range s.Attributes {
		if storedUserAttributes[a.Name()] {
			kept = append(kept, a)
		}
	}
	s.Attributes = kept
	return s
}

// EnterpriseUserSchema is RFC 7643's enterprise User extension; every attribute is stored.
func EnterpriseUserSchema() schema.Schema { return schema.ExtensionEnterpriseUser() }

// GroupSchema is RFC 7643's core Group schema.
func GroupSchema() schema.Schema { return schema.CoreGroupSchema() }

// TownsquareUserSchema is the read-only extension that shows what provisioning did with a
// user: its chat account's username and status, the teams and channels it is in, and its
// roles there (store/roles.go): its Mattermost system role string, whether it is a guest,
// and the teams and channels where it is an admin. Every attribute is readOnly, so
// POST/PUT drop whatever a client sends for it and PATCH answers 400 mutability.
func TownsquareUserSchema() schema.Schema {
	ro := func(name, desc string, multi bool) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name: name, Description: optional.NewString(desc), MultiValued: multi, CaseExact: true,
			Mutability: schema.AttributeMutabilityReadOnly(), Returned: schema.AttributeReturnedDefault(),
		}))
	}
	return schema.Schema{
		ID:          store.TownsquareUserSchema,
		Name:        optional.NewString("TownsquareUser"),
		Description: optional.NewString("The chat account provisioning made of this user (read-only)."),
		Attributes: schema.Attributes{
			ro("username", "The chat username, derived from userName (lower case, 3-22 characters of [a-z0-9._-]).", false),
			ro("status", "online, or offline while the account is deactivated.", false),
			ro("teams", "Names of the teams the account is in.", true),
			ro("channels", "Channels the account is in, as team/channel.", true),
			ro("roles", "The account's system roles as Mattermost writes them: system_user, \"system_admin system_user\" or system_guest.", false),
			schema.SimpleCoreAttribute(schema.SimpleBooleanParams(schema.BooleanParams{
				Name: "guest", Description: optional.NewString("Whether the account is a guest (system_guest): a member of exactly the channels its guest groups name."),
				Mutability: schema.AttributeMutabilityReadOnly(), Returned: schema.AttributeReturnedDefault(),
			})),
			ro("teamAdmin", "Names of the teams where the account is a team admin.", true),
			ro("channelAdmin", "Channels where the account is a channel admin, as team/channel.", true),
		},
	}
}
