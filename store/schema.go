package store

// The schemas of the resources kept here (RFC 7643 §8.7, and Townsquare's read-only
// extension). Filters and PATCH paths name attributes with these URNs; they are spelled
// nowhere else.
const (
	UserSchema           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	TownsquareUserSchema = "urn:townsquare:params:scim:schemas:extension:2.0:User"
)
