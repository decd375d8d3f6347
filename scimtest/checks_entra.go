package scimtest

import (
	"net/http"

	"github.com/townsquare/townsquare/store"
)

// The "entra" suite: what Microsoft Entra ID's provisioning service sends when the
// tenant URL has no ?aadOptscim062020 flag (MicrosoftDocs entra-docs
// application-provisioning-config-problem-scim-compatibility.md and
// use-scim-to-provision-users-and-groups.md, and Microsoft's validator payloads):
// capitalised ops and attribute names, booleans as strings, remove-by-value, path-less
// replace with dotted and URN keys, bare-string manager, upsert on a filtered path. Its
// requests carry no User-Agent header.

// entraUser follows the Microsoft reference payload: capitalised keys, "Active":"True".
const entraUser = `{"UserName":"${un}","Active":"True","DisplayName":"Ryan Leenay",
	"schemas":["` + store.EnterpriseUserSchema + `","` + store.UserSchema + `"],
	"externalId":"${guid1}",
	"name":{"formatted":"Ryan Leenay","familyName":"Leenay","givenName":"Ryan"},
	"emails":[{"Primary":true,"type":"work","value":"${p}ryan@contoso.com"},{"Primary":false,"type":"home","value":"${p}ryan@home.example"}],
	"` + store.EnterpriseUserSchema + `":{"Department":"Tech Infrastructure","EmployeeNumber":"E100"}}`

// entraUserNoWork has no work email, so a Replace on emails[type eq "work"].value must create one.
const entraUserNoWork = `{"UserName":"${un}","Active":"True","DisplayName":"Nora Work",
	"schemas":["` + store.EnterpriseUserSchema + `","` + store.UserSchema + `"],"externalId":"${guid1}",
	"name":{"familyName":"Work","givenName":"Nora"},
	"emails":[{"Primary":true,"type":"home","value":"${p}nora@home.example"}],
	"` + store.EnterpriseUserSchema + `":{"Department":"Old Department"}}`

var entraVars = [][2]string{{"un", "${p}Ryan.Leenay@contoso.com"}}

func entraGroup(name string) string {
	return `{"schemas":["` + store.GroupSchema + `","` + URNEntraGroup + `"],"externalId":"${guid3}","displayName":"` + name + `","members":[]}`
}

func entraChecks() []Check {
	cs := []Check{
		{Name: "test-connection", Steps: []Step{
			getStep("users: userName eq <random GUID>", `/Users?filter=userName eq "${guid1}"`, emptyList()...),
			getStep("groups: displayName eq <random GUID>", `/Groups?filter=displayName eq "${guid2}"&excludedAttributes=members`, emptyList()...),
		}},
		{Name: "unknown-externalid-empty", Steps: []Step{
			getStep("externalId eq <unknown GUID>", `/Users?filter=externalId eq "${guid1}"`, emptyList()...),
		}},
		{Name: "create-user-capitalised", Vars: entraVars, Steps: []Step{
			getStep("lookup before create", `/Users?filter=userName eq "${un}"`, emptyList()...),
			createUser("u", entraUser,
				Eq("userName", "${un}"), Eq("active", true), Eq("displayName", "Ryan Leenay"),
				Eq("externalId", "${guid1}"), Eq("name.givenName", "Ryan"),
				Eq("emails[type=work].value", "${p}ryan@contoso.com"), Eq("emails[type=work].primary", true),
				Eq(ent+".department", "Tech Infrastructure"), Eq(ent+".employeeNumber", "E100")),
			getStep("GET /Users/{id}", "/Users/${u.id}", Eq("userName", "${un}"), Eq("active", true),
				Eq(ent+".department", "Tech Infrastructure")),
			getStep("lookup by userName", `/Users?filter=userName eq "${un}"`, listOf("${u.id}")...),
			getStep("lookup by externalId", `/Users?filter=externalId eq "${guid1}"`, listOf("${u.id}")...),
		}},
		{Name: "patch-string-boolean", Vars: entraVars, Steps: []Step{
			createUser("u", entraUser),
			patchStep(`Replace active "False"`, "/Users/${u.id}", `{"op":"Replace","path":"active","value":"False"}`,
				If200(Eq("active", false))),
			getStep("active is the boolean false", "/Users/${u.id}", Eq("active", false), Eq("userName", "${un}")),
			getStep("a disabled user is still found", `/Users?filter=userName eq "${un}"`,
				append(listOf("${u.id}"), Eq("Resources[0].active", false))...),
			patchStep(`Replace active "True"`, "/Users/${u.id}", `{"op":"Replace","path":"active","value":"True"}`),
			getStep("active is the boolean true", "/Users/${u.id}", Eq("active", true)),
		}},
		{Name: "patch-upsert-work-email", Vars: entraVars, Steps: []Step{
			createUser("u", entraUserNoWork),
			patchStep(`Replace emails[type eq "work"].value with no work email`, "/Users/${u.id}",
				`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"${p}nora@contoso.com"}`),
			getStep("the work email was created", "/Users/${u.id}", Len("emails", 2),
				Eq("emails[type=work].value", "${p}nora@contoso.com"), Eq("emails[type=home].value", "${p}nora@home.example")),
			patchStep(`Replace it again`, "/Users/${u.id}",
				`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"${p}nora.w@contoso.com"}`),
			getStep("updated in place, not duplicated", "/Users/${u.id}", Len("emails", 2),
				Eq("emails[type=work].value", "${p}nora.w@contoso.com")),
		}},
		{Name: "patch-manager-bare-string", Vars: entraVars, Steps: []Step{
			createUser("m", simpleUser("${p}boss@contoso.com", `"name":{"givenName":"Big","familyName":"Boss"}`)),
			createUser("u", entraUser),
			patchStep("Add manager as a bare string", "/Users/${u.id}",
				`{"op":"Add","path":"`+store.EnterpriseUserSchema+`:manager","value":"${m.id}"}`),
			getStep("manager.value is the id", "/Users/${u.id}", Eq(ent+".manager.value", "${m.id}"),
				Eq(ent+".department", "Tech Infrastructure")),
		}},
		{Name: "patch-pathless-dotted-urn", Vars: entraVars, Steps: []Step{
			createUser("u", entraUserNoWork),
			patchStep("replace {name.givenName, <enterprise URN>:department}", "/Users/${u.id}",
				`{"op":"replace","value":{"name.givenName":"Xavier","`+store.EnterpriseUserSchema+`:department":"New Department"}}`),
			getStep("GET", "/Users/${u.id}", Eq("name.givenName", "Xavier"), Eq("name.familyName", "Work"),
				Eq(ent+".department", "New Department"), Eq("displayName", "Nora Work")),
		}},
		{Name: "patch-one-replace-per-attribute", Vars: entraVars, Steps: []Step{
			createUser("u", entraUser),
			patchStep("several Replace ops in one request", "/Users/${u.id}",
				`{"op":"Replace","path":"displayName","value":"Ryan L."},`+
					`{"op":"Replace","path":"name.familyName","value":"Leenay-Smith"},`+
					`{"op":"Replace","path":"externalId","value":"${guid2}"},`+
					`{"op":"Replace","path":"`+store.EnterpriseUserSchema+`:employeeNumber","value":"E200"},`+
					`{"op":"Replace","path":"title","value":"Architect"}`),
			getStep("GET", "/Users/${u.id}", Eq("displayName", "Ryan L."), Eq("name.familyName", "Leenay-Smith"),
				Eq("name.givenName", "Ryan"), Eq("externalId", "${guid2}"), Eq(ent+".employeeNumber", "E200"),
				Eq("title", "Architect"), Eq(ent+".department", "Tech Infrastructure")),
		}},
		{Name: "group-create-extra-schema", Steps: []Step{
			getStep("lookup before create", `/Groups?filter=displayName eq "${p}Entra Group"&excludedAttributes=members`, emptyList()...),
			createGroup("g", entraGroup("${p}Entra Group"),
				Eq("displayName", "${p}Entra Group"), Eq("externalId", "${guid3}"), Absent("members")),
			getStep("GET with excludedAttributes=members", "/Groups/${g.id}?excludedAttributes=members",
				Eq("id", "${g.id}"), Eq("displayName", "${p}Entra Group")),
		}},
		{Name: "group-members-add-remove-by-value", Steps: []Step{
			createUser("u1", simpleUser("${p}member1@contoso.com", "")),
			createUser("u2", simpleUser("${p}member2@contoso.com", "")),
			createGroup("g", entraGroup("${p}Entra Group")),
			patchStep("Add two members in one op", "/Groups/${g.id}",
				`{"op":"Add","path":"members","value":[{"value":"${u1.id}"},{"value":"${u2.id}"}]}`),
			getStep("both are members", "/Groups/${g.id}", Set("members[*].value", "${u1.id}", "${u2.id}")),
			patchStep("Remove path members with a value list", "/Groups/${g.id}",
				`{"op":"Remove","path":"members","value":[{"value":"${u1.id}"}]}`),
			getStep("only the listed member was removed", "/Groups/${g.id}", Set("members[*].value", "${u2.id}")),
		}},
		{Name: "group-lookup-excluding-members", Steps: []Step{
			createUser("u1", simpleUser("${p}member1@contoso.com", "")),
			createGroup("g", entraGroup("${p}Entra Group")),
			patchStep("Add a member", "/Groups/${g.id}", `{"op":"Add","path":"members","value":[{"value":"${u1.id}"}]}`),
			getStep("filter displayName eq with excludedAttributes=members",
				`/Groups?filter=displayName eq "${p}Entra Group"&excludedAttributes=members`,
				Contains("schemas", store.ListResponseSchema), Eq("totalResults", 1), Eq("Resources[0].id", "${g.id}"),
				Eq("Resources[0].displayName", "${p}Entra Group"), Absent("Resources[0].members")),
			getStep("GET /Groups/{id}?excludedAttributes=members", "/Groups/${g.id}?excludedAttributes=members",
				Eq("id", "${g.id}"), Eq("displayName", "${p}Entra Group"), Absent("members")),
			getStep("the member is still there", "/Groups/${g.id}", Set("members[*].value", "${u1.id}")),
		}},
		{Name: "delete-user", Vars: entraVars, Steps: []Step{
			createUser("u", entraUser),
			{Name: "DELETE", Method: http.MethodDelete, Path: "/Users/${u.id}", Status: http.StatusNoContent},
			{Name: "GET after DELETE", Path: "/Users/${u.id}", Status: http.StatusNotFound, Want: scimError(404, "")},
		}},
		// The whole Entra lifecycle as Entra sends it WITHOUT aadOptscim062020: lookup,
		// create, one Replace per changed attribute, group create empty, members added
		// and removed by value list, soft delete ("False"), restore, then the DELETE Entra
		// sends 30 days after a hard delete.
		{Name: "lifecycle-without-flag", Vars: entraVars, Steps: []Step{
			getStep("match by userName", `/Users?filter=userName eq "${un}"`, emptyList()...),
			createUser("u", entraUser),
			createUser("u2", simpleUser("${p}colleague@contoso.com", "")),
			patchStep("Replace changed attributes", "/Users/${u.id}",
				`{"op":"Replace","path":"title","value":"Lead"},{"op":"Replace","path":"name.givenName","value":"Ry"}`),
			getStep("match group by displayName", `/Groups?filter=displayName eq "${p}Lifecycle"&excludedAttributes=members`, emptyList()...),
			createGroup("g", entraGroup("${p}Lifecycle")),
			patchStep("Add members", "/Groups/${g.id}",
				`{"op":"Add","path":"members","value":[{"$ref":null,"value":"${u.id}"},{"$ref":null,"value":"${u2.id}"}]}`),
			getStep("the user shows its group", "/Users/${u.id}", Set("groups[*].value", "${g.id}")),
			patchStep("Remove one member by value list", "/Groups/${g.id}",
				`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"${u2.id}"}]}`),
			getStep("only that member left", "/Groups/${g.id}", Set("members[*].value", "${u.id}")),
			patchStep("soft delete", "/Users/${u.id}", `{"op":"Replace","path":"active","value":"False"}`),
			getStep("still readable, inactive", "/Users/${u.id}", Eq("active", false), Eq("title", "Lead")),
			patchStep("restore", "/Users/${u.id}", `{"op":"Replace","path":"active","value":"True"}`),
			getStep("active again", "/Users/${u.id}", Eq("active", true), Eq("name.givenName", "Ry")),
			{Name: "DELETE after the hard delete", Method: http.MethodDelete, Path: "/Users/${u.id}", Status: http.StatusNoContent},
			getStep("gone from lookups", `/Users?filter=userName eq "${un}"`, emptyList()...),
		}},
		// The same lifecycle WITH aadOptscim062020: lower-case ops, JSON booleans, path-less
		// replace with dotted and URN keys, and member removal by a filtered path.
		{Name: "lifecycle-with-flag", Vars: entraVars, Steps: []Step{
			getStep("match by userName", `/Users?filter=userName eq "${un}"`, emptyList()...),
			createUser("u", entraUser),
			createUser("u2", simpleUser("${p}colleague@contoso.com", "")),
			patchStep("path-less replace with dotted and URN keys", "/Users/${u.id}",
				`{"op":"replace","value":{"title":"Lead","name.givenName":"Ry","`+store.EnterpriseUserSchema+`:department":"Platform"}}`),
			getStep("attributes replaced", "/Users/${u.id}", Eq("title", "Lead"), Eq("name.givenName", "Ry"),
				Eq("name.familyName", "Leenay"), Eq(ent+".department", "Platform")),
			createGroup("g", entraGroup("${p}Lifecycle")),
			patchStep("add members", "/Groups/${g.id}",
				`{"op":"add","path":"members","value":[{"value":"${u.id}"},{"value":"${u2.id}"}]}`),
			patchStep("remove a member by filter", "/Groups/${g.id}",
				`{"op":"remove","path":"members[value eq \"${u2.id}\"]"}`),
			getStep("only that member left", "/Groups/${g.id}", Set("members[*].value", "${u.id}")),
			patchStep("soft delete", "/Users/${u.id}", `{"op":"replace","path":"active","value":false}`),
			getStep("still readable, inactive", "/Users/${u.id}", Eq("active", false)),
			patchStep("restore", "/Users/${u.id}", `{"op":"replace","path":"active","value":true}`),
			getStep("active again", "/Users/${u.id}", Eq("active", true)),
			{Name: "DELETE", Method: http.MethodDelete, Path: "/Users/${u.id}", Status: http.StatusNoContent},
			{Name: "GET after DELETE", Path: "/Users/${u.id}", Status: http.StatusNotFound, Want: scimError(404, "")},
		}},
	}
	for i := range cs {
		cs[i].Suite = "entra"
	}
	return cs
}
