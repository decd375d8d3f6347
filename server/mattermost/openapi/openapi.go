// Package openapi holds Townsquare's OpenAPI 3 description of the part of Mattermost's
// REST API v4 that server/mattermost may call (v4-subset.yaml); server/mattermost/mmtest
// checks every request and answer against it. docs/mattermost.md gives its provenance.
package openapi

import _ "embed"

// Spec is v4-subset.yaml.
//
//go:embed v4-subset.yaml
var Spec []byte
