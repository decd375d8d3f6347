package store

// SCIM's vocabulary (RFC 7643 §8.7, RFC 7644 §3), spelled here and nowhere else: the
// schemas of the resources kept here (filters and PATCH paths name attributes with
// them), Townsquare's read-only extension, and the schemas of SCIM's messages and
// discovery documents.
const (
	UserSchema           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	TownsquareUserSchema = "urn:townsquare:params:scim:schemas:extension:2.0:User"

	ListResponseSchema          = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SearchRequestSchema         = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	ErrorSchema                 = "urn:ietf:params:scim:api:messages:2.0:Error"
	PatchOpSchema               = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	ServiceProviderConfigSchema = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ResourceTypeSchema          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
)
