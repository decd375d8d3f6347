// Package resources turns SCIM requests into store operations: the elimity resource
// handlers for Users and Groups, the mapping between SCIM attributes and the typed store
// model, attribute projection, and the schemas Townsquare advertises.
package resources

import (
	"github.com/elimity-com/scim/schema"
)

// URNs of the schemas Townsquare serves.
const (
	UserSchemaURN     = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchemaURN    = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ListResponseURN   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	ErrorURN          = "urn:ietf:params:scim:api:messages:2.0:Error"
	PatchOpURN        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// storedUserAttributes are the core User attributes the store keeps and returns. The
// schema we advertise lists only these, so /Schemas tells an IdP the truth: an attribute
// such as ims or x509Certificates would be accepted and silently lost.
var storedUserAttributes = map[string]bool{
	"userName": true, "name": true, "displayName": true, "nickName": true, "profileUrl": true,
	"title": true, "userType": true, "preferredLanguage": true, "locale": true, "timezone": true,
	"active": true, "password": true, "emails": true, "phoneNumbers": true, "addresses": true,
	"groups": true,
}

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
