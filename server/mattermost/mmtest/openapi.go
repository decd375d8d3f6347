package mmtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/townsquare/townsquare/server/mattermost/openapi"
)

// checker validates requests and answers against Townsquare's OpenAPI subset of
// Mattermost's API (server/mattermost/openapi/v4-subset.yaml) with kin-openapi. Routing
// is the double's own (an operation and its path parameters), so the checker is handed
// the route rather than guessing it.
type checker struct {
	routes map[string]*routers.Route // "METHOD /api/v4/template"
}

func newChecker() (*checker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Spec)
	if err != nil {
		return nil, fmt.Errorf("mmtest: loading the OpenAPI subset: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("mmtest: the OpenAPI subset is invalid: %w", err)
	}
	c := &checker{routes: map[string]*routers.Route{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			c.routes[method+" "+path] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return c, nil
}

var validationOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc, // the double answers 401 itself
	IncludeResponseStatus: true,                                  // an undeclared status is a violation
	MultiError:            true,
}

// request checks one request; the input it returns is handed to response.
func (c *checker) request(ctx context.Context, r *http.Request, body []byte, key string, params map[string]string) (*openapi3filter.RequestValidationInput, error) {
	route := c.routes[key]
	if route == nil {
		return nil, fmt.Errorf("operation %s is not in the OpenAPI subset", key)
	}
	rc := r.Clone(ctx)
	rc.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: rc, PathParams: params, Route: route, Options: validationOptions}
	return in, openapi3filter.ValidateRequest(ctx, in)
}

func (c *checker) response(ctx context.Context, in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: validationOptions}
	out.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(ctx, out)
}
