package resources

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/gorilla/mux"

	"github.com/townsquare/townsquare/store"
)

// POST /Bulk (RFC 7644 §3.7): a list of POST, PUT, PATCH and DELETE requests on /Users
// and /Groups, run in order, each answered in the BulkResponse at its place. An
// operation is not a second implementation of its request: it is made into an
// *http.Request with the operation's method, path, data and version (as If-Match) and
// the bulk request's context (deadline, request id, actor), and served by the same
// router and handlers as a single request (ops, built from endpoints), so every rule and
// limit of the single request holds for it. Only its answer differs in shape: the
// status, Location and ETag become the operation's status, location and version, and an
// error's body its response.

// The URNs of the bulk messages (RFC 7644 §3.7).
const (
	BulkRequestSchema  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	BulkResponseSchema = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
)

// The bulk limits, advertised in /ServiceProviderConfig (bulk.maxOperations,
// bulk.maxPayloadSize) as RFC 7644 §3.7.4 asks; a request beyond either is a 413 that
// names the limit.
const (
	// MaxBulkOperations bounds the operations of one bulk request: the RFC's example
	// value, and what one request deadline holds (docs/performance.md, "Issue 15: /Bulk").
	MaxBulkOperations = 1000
	// MaxBulkPayloadBytes bounds a bulk request's body (the server reads it whole, as
	// it does every body, before the API sees it). 4 KiB an operation at the most
	// operations: a full user is about 1.3 KB, a group naming 50 members 2.5 KB.
	MaxBulkPayloadBytes = 4 << 20
	// MaxBulkOperationBytes bounds one operation's data: the body limit of the single
	// request (server.DefaultMaxBodyBytes), answered the same way, 413.
	MaxBulkOperationBytes = 1 << 20
	// MaxBulkIDLength bounds a bulkId in bytes. Clients use short tokens or UUIDs.
	MaxBulkIDLength = 256
	// MaxConcurrentBulk bounds the bulk requests one token (store.Actor) runs at once;
	// beyond, 429 with Retry-After. The token's rate (LimitBulk) bounds how many
	// operations it may send a second; this bounds how many of its requests hold the
	// database at once, each running up to MaxBulkOperations operations one after
	// another, and is the only bound when the server limits no rate.
	MaxConcurrentBulk = 2
)

// ChargeFunc charges a bulk request's operations against the rate limit of the client
// that sent it (its context names the client), once the request has been read and
// before any operation runs. n is how many operations the request holds, at least 1 and
// at most the maxOps given to LimitBulk. It spends the budget and reports true, or,
// when the client's budget cannot cover n operations now, spends nothing more and
// reports how long until it can.
type ChargeFunc func(ctx context.Context, n int) (retryAfter time.Duration, ok bool)

// LimitBulk makes every bulk request cost one unit of its client's rate limit per
// operation, charged through charge, so that a client's bulk operations are bounded by
// the same rate as its single requests. maxOps (at most MaxBulkOperations, which it is
// when 0 or less) becomes bulk.maxOperations: a request of more operations than the
// largest budget the client can ever hold (the limit's burst) could never run, so it is
// refused as too large (413) rather than asked to wait forever. Call it before Register.
func (a *API) LimitBulk(maxOps int, charge ChargeFunc) error {
	if maxOps <= 0 || maxOps > MaxBulkOperations {
		maxOps = MaxBulkOperations
	}
	docs, err := buildDiscovery(a.baseURL, maxOps)
	if err != nil {
		return fmt.Errorf("build discovery documents: %w", err)
	}
	a.docs, a.maxBulkOps, a.chargeBulk = docs, maxOps, charge
	return nil
}

// bulkIDPrefix marks a reference to the resource an operation of the same request
// created (RFC 7644 §3.7.2): "bulkId:qwerty" as a whole string value of data, or as the
// id segment of a path.
const bulkIDPrefix = "bulkId:"

// bulkRequest is a BulkRequest body; attribute names are matched without regard to
// case (encoding/json does, as RFC 7643 §2.1 asks).
type bulkRequest struct {
	Schemas      []string        `json:"schemas"`
	FailOnErrors json.Number     `json:"failOnErrors"`
	Operations   []bulkOperation `json:"Operations"`
}

// bulkOperation is one operation as sent.
type bulkOperation struct {
	Method  string          `json:"method"`
	BulkID  *string         `json:"bulkId"`
	Version string          `json:"version"`
	Path    string          `json:"path"`
	Data    json.RawMessage `json:"data"`
}

// bulkResult is one operation's entry of the BulkResponse. status is a string, as in
// the RFC's examples; response is the SCIM error of a failed operation (§3.7.3 requires
// it for a status other than 2xx) and is left out on success, as §3.7 allows.
type bulkResult struct {
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId,omitempty"`
	Version  string          `json:"version,omitempty"`
	Location string          `json:"location,omitempty"`
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
}

type bulkResponse struct {
	Schemas    []string     `json:"schemas"`
	Operations []bulkResult `json:"Operations"`
}

// bulk serves POST /Bulk. The request as a whole is refused, running nothing, only when
// its token already runs MaxConcurrentBulk (429), when it cannot be read (400, 415),
// exceeds a limit (413), its bulkIds are not unique (400) or its operations are more
// than its client's rate limit allows now (429, LimitBulk); otherwise it answers
// 200 with one result per operation run. Operations run in order; each commits on its
// own, and the others go on after one fails (§3.7: "continue performing as many changes
// as possible") until failOnErrors errors have happened, after which the remaining
// operations are neither run nor listed. An operation past the request's deadline fails
// with its 503 and ends the request there.
func (a *API) bulk(w http.ResponseWriter, r *http.Request) {
	actor := store.Actor(r.Context())
	if !a.bulkSlots.acquire(actor) {
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
		WriteError(w, errorf(http.StatusTooManyRequests, "",
			"this token already runs %d bulk requests; send this one when one of them has been answered", MaxConcurrentBulk))
		return
	}
	defer a.bulkSlots.release(actor)
	req, failOnErrors, err := decodeBulk(r, a.maxBulkOps)
	if err != nil {
		WriteError(w, err)
		return
	}
	plan, err := planBulk(req.Operations)
	if err != nil {
		WriteError(w, err)
		return
	}
	if a.chargeBulk != nil {
		// All or nothing: an operation that ran cannot be taken back, so a request
		// whose operations the budget cannot cover runs none, and its client may send
		// it again whole after Retry-After (RFC 6585 §4).
		if wait, ok := a.chargeBulk(r.Context(), max(1, len(req.Operations))); !ok {
			secs := strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
			w.Header().Set("Retry-After", secs)
			WriteError(w, errorf(http.StatusTooManyRequests, "",
				"the %d operations of this bulk request are more than this token's rate limit allows now (each operation counts as a request); none was run: send the request again after %s seconds",
				len(req.Operations), secs))
			return
		}
	}
	results := make([]bulkResult, 0, len(req.Operations))
	created := map[string]string{} // bulkId → id of the resource its POST made
	errCount := 0
	for i := range req.Operations {
		if r.Context().Err() != nil {
			break
		}
		res := a.runBulkOp(r, plan, i, created)
		results = append(results, res)
		if res.Status[0] >= '4' {
			errCount++
			if failOnErrors > 0 && errCount >= failOnErrors {
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, bulkResponse{Schemas: []string{BulkResponseSchema}, Operations: results})
}

// decodeBulk reads a BulkRequest: one JSON object whose schemas, when sent, name the
// BulkRequest schema, at most MaxBulkPayloadBytes and maxOps operations (413 beyond,
// RFC 7644 §3.7.4), and failOnErrors a non-negative integer (0, or absent: no limit).
func decodeBulk(r *http.Request, maxOps int) (bulkRequest, int, error) {
	var req bulkRequest
	body, err := readBody(r)
	if err != nil {
		return req, 0, err
	}
	if len(body) > MaxBulkPayloadBytes {
		return req, 0, errorf(http.StatusRequestEntityTooLarge, "",
			"the bulk request is larger than maxPayloadSize (%d bytes)", MaxBulkPayloadBytes)
	}
	if !decodeJSON(body, &req) {
		return req, 0, badRequest(scimerrors.ScimTypeInvalidSyntax,
			"the request body is not one BulkRequest object (RFC 7644 §3.7): Operations is an array of objects with string method, bulkId, version and path")
	}
	if req.Schemas != nil && !slices.Contains(req.Schemas, BulkRequestSchema) {
		return req, 0, badRequest(scimerrors.ScimTypeInvalidSyntax, "schemas must be [%q]", BulkRequestSchema)
	}
	if req.Operations == nil {
		return req, 0, badRequest(scimerrors.ScimTypeInvalidSyntax, "Operations is required (RFC 7644 §3.7)")
	}
	if len(req.Operations) > maxOps {
		return req, 0, errorf(http.StatusRequestEntityTooLarge, "",
			"the bulk request has %d operations, more than maxOperations (%d)", len(req.Operations), maxOps)
	}
	failOnErrors := 0
	if req.FailOnErrors != "" {
		n, err := req.FailOnErrors.Int64()
		if err != nil || n < 0 {
			return req, 0, badRequest(scimerrors.ScimTypeInvalidValue, "failOnErrors must be a non-negative integer")
		}
		failOnErrors = int(min(n, MaxBulkOperations+1))
	}
	return req, failOnErrors, nil
}

// bulkSlots counts the bulk requests each token runs (MaxConcurrentBulk). It holds a
// key only while that token has one running, so it is bounded by the requests in flight.
type bulkSlots struct {
	mu      sync.Mutex
	running map[string]int
}

func (b *bulkSlots) acquire(actor string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running[actor] >= MaxConcurrentBulk {
		return false
	}
	if b.running == nil {
		b.running = map[string]int{}
	}
	b.running[actor]++
	return true
}

func (b *bulkSlots) release(actor string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running[actor]--; b.running[actor] <= 0 {
		delete(b.running, actor)
	}
}

// bulkPlan is what is known of a request's operations before any runs: each one's
// bulkId references, and which POST defines each bulkId.
type bulkPlan struct {
	ops  []bulkOperation
	refs [][]string     // refs[i]: the bulkIds operation i names, in path and data
	defs map[string]int // bulkId → index of the POST operation that carries it
}

// planBulk collects the bulkIds and references. A bulkId longer than MaxBulkIDLength or
// carried by two operations makes the request a 400: references to it would be
// ambiguous (§3.7: a bulkId is unique within a request).
func planBulk(ops []bulkOperation) (bulkPlan, error) {
	p := bulkPlan{ops: ops, refs: make([][]string, len(ops)), defs: map[string]int{}}
	seen := map[string]int{}
	for i, op := range ops {
		if op.BulkID != nil && *op.BulkID != "" { // an empty bulkId is none
			id := *op.BulkID
			if len(id) > MaxBulkIDLength {
				return p, badRequest(scimerrors.ScimTypeInvalidValue, "operation %d: bulkId is longer than %d bytes", i+1, MaxBulkIDLength)
			}
			if j, dup := seen[id]; dup {
				return p, badRequest(scimerrors.ScimTypeUniqueness, "operations %d and %d have the same bulkId %.100q", j+1, i+1, id)
			}
			seen[id] = i
			if isMethod(op.Method, http.MethodPost) {
				p.defs[id] = i
			}
		}
		if ref, ok := pathRef(op.Path); ok {
			p.refs[i] = append(p.refs[i], ref)
		}
		if !isMethod(op.Method, http.MethodDelete) && mayHoldRef(op.Data) { // a DELETE's data is not read
			var v any
			if decodeJSON(op.Data, &v) {
				walkRefs(v, func(ref string) string { p.refs[i] = append(p.refs[i], ref); return "" })
			}
		}
	}
	return p, nil
}

// isMethod reports whether an operation's method, as sent, is m.
func isMethod(method, m string) bool { return strings.EqualFold(strings.TrimSpace(method), m) }

// mayHoldRef reports whether data may hold a "bulkId:" string: literally, or behind a
// \u escape.
func mayHoldRef(data json.RawMessage) bool {
	return bytes.Contains(data, []byte(bulkIDPrefix)) || bytes.Contains(data, []byte(`\u`))
}

// pathRef returns the bulkId a path's id segment names ("/Groups/bulkId:x").
func pathRef(path string) (string, bool) {
	_, id, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok {
		return "", false
	}
	return strings.CutPrefix(id, bulkIDPrefix)
}

// walkRefs calls fn with the bulkId of every string value of v that is a reference, and
// replaces the value with what fn returns when that is not "".
func walkRefs(v any, fn func(ref string) string) any {
	switch x := v.(type) {
	case string:
		if ref, ok := strings.CutPrefix(x, bulkIDPrefix); ok {
			if id := fn(ref); id != "" {
				return id
			}
		}
	case map[string]any:
		for k, e := range x {
			x[k] = walkRefs(e, fn)
		}
	case []any:
		for i, e := range x {
			x[i] = walkRefs(e, fn)
		}
	}
	return v
}

// resolve checks operation i's references against what has run: each must name a POST
// of this request that ran before i and succeeded. A bulkId no POST carries is a 400; one
// whose POST comes later, whose POST failed, or that closes a circle of references is a
// 409: RFC 7644 §3.7.1 lets a service provider that does not resolve a reference answer
// 409 (Conflict), and operations run once, in the order sent, so a reference is never
// resolved forwards (a circle always has one forward reference).
func (p bulkPlan) resolve(i int, created map[string]string) error {
	for _, ref := range p.refs[i] {
		j, ok := p.defs[ref]
		switch {
		case !ok:
			return badRequest(scimerrors.ScimTypeInvalidValue,
				"%s%.100s names no POST operation of this request (RFC 7644 §3.7.2)", bulkIDPrefix, ref)
		case j >= i && p.reaches(j, i):
			return errorf(http.StatusConflict, "",
				"%s%.100s is a circular reference: operation %d depends on operation %d, which depends on it (RFC 7644 §3.7.1)",
				bulkIDPrefix, ref, i+1, j+1)
		case j > i:
			return errorf(http.StatusConflict, "",
				"%s%.100s refers to operation %d, which comes later: operations run in the order sent (RFC 7644 §3.7.2)",
				bulkIDPrefix, ref, j+1)
		case created[ref] == "":
			return errorf(http.StatusConflict, "",
				"%s%.100s refers to operation %d, which failed (RFC 7644 §3.7.2)", bulkIDPrefix, ref, j+1)
		}
	}
	return nil
}

// reaches reports whether operation from depends, through references, on operation to.
func (p bulkPlan) reaches(from, to int) bool {
	seen := map[int]bool{}
	stack := []int{from}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if k == to {
			return true
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, ref := range p.refs[k] {
			if j, ok := p.defs[ref]; ok {
				stack = append(stack, j)
			}
		}
	}
	return false
}

// bulkEndpoints are the resource types an operation may name (§3.7: POST, PUT, PATCH
// and DELETE of resources).
var bulkEndpoints = []string{userType.endpoint, groupType.endpoint}

// runBulkOp runs operation i and returns its result; a POST that succeeded records the
// id it made under its bulkId in created.
func (a *API) runBulkOp(r *http.Request, p bulkPlan, i int, created map[string]string) bulkResult {
	op := p.ops[i]
	res := bulkResult{Method: strings.ToUpper(strings.TrimSpace(op.Method))}
	if op.BulkID != nil {
		res.BulkID = *op.BulkID
	}
	rec := newOpRecorder()
	req, endpoint, id, err := a.bulkOpRequest(r, p, i, res.Method, created)
	if err != nil {
		WriteError(rec, err)
	} else {
		if id != "" {
			res.Location = a.location(endpoint, id)
		}
		a.serveBulkOp(rec, req)
	}
	res.Status = fmt.Sprint(rec.status)
	if rec.status >= 300 {
		res.Response = rec.errorBody()
		return res
	}
	res.Version = rec.header.Get("Etag")
	if loc := rec.header.Get("Location"); loc != "" {
		res.Location = loc
		// Location is a.location(endpoint, id): the id is its escaped last segment.
		if id, err := url.PathUnescape(loc[strings.LastIndexByte(loc, '/')+1:]); err == nil && res.BulkID != "" {
			created[res.BulkID] = id
		}
	}
	return res
}

// bulkOpRequest makes operation i into the request its single form would be: the
// method, the path below the SCIM root with its references resolved, the data with its
// references resolved as the body, and version as If-Match. It returns the endpoint and
// id the path names, for location; an error is the operation's answer.
func (a *API) bulkOpRequest(r *http.Request, p bulkPlan, i int, method string, created map[string]string) (*http.Request, string, string, error) {
	op := p.ops[i]
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil, "", "", badRequest(scimerrors.ScimTypeInvalidValue,
			"method must be POST, PUT, PATCH or DELETE (RFC 7644 §3.7), not %.20q", op.Method)
	}
	if method == http.MethodPost && (op.BulkID == nil || *op.BulkID == "") {
		return nil, "", "", badRequest(scimerrors.ScimTypeInvalidValue, "a POST operation needs a bulkId (RFC 7644 §3.7)")
	}
	if len(op.Data) > MaxBulkOperationBytes {
		return nil, "", "", errorf(http.StatusRequestEntityTooLarge, "",
			"the operation's data is larger than the limit of %d bytes", MaxBulkOperationBytes)
	}
	if err := p.resolve(i, created); err != nil {
		return nil, "", "", err
	}
	endpoint, rawID, err := bulkPath(op.Path)
	if err != nil {
		return nil, "", "", err
	}
	if ref, ok := strings.CutPrefix(rawID, bulkIDPrefix); ok {
		rawID = url.PathEscape(created[ref])
	}
	target := "/" + endpoint
	if rawID != "" {
		target += "/" + rawID
	}
	u, err := url.Parse(target)
	if err != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, "", "", badRequest(scimerrors.ScimTypeInvalidValue, "path is not a resource path without a query (RFC 7644 §3.7)")
	}
	id := strings.TrimPrefix(strings.TrimPrefix(u.Path, "/"+endpoint), "/")
	if endpoint == groupType.endpoint && (method == http.MethodPost || method == http.MethodPut) {
		// The group comes back without its members, which for a large group cost what
		// its size costs: the operation's answer keeps only status, location and version.
		u.RawQuery = "excludedAttributes=members"
	}
	var body []byte
	if method != http.MethodDelete {
		if body, err = resolveData(op.Data, created); err != nil {
			return nil, "", "", err
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, "", "", err
	}
	req.URL = u
	req.Header.Set("Content-Type", contentType)
	if op.Version != "" {
		req.Header.Set("If-Match", op.Version)
	}
	return req, endpoint, id, nil
}

// bulkPath reads an operation's path: /Users or /Groups, with an id for PUT, PATCH and
// DELETE (the router answers a method the path does not serve with 405, as it does a
// single request). The endpoint name may be spelt in any case (CanonicalPath); rawID is
// the id segment as sent, still escaped.
func bulkPath(path string) (endpoint, rawID string, err error) {
	seg, rawID, _ := strings.Cut(CanonicalPath(strings.TrimPrefix(path, "/")), "/")
	if !slices.Contains(bulkEndpoints, seg) || strings.Contains(rawID, "/") || rawID == ".search" {
		return "", "", badRequest(scimerrors.ScimTypeInvalidValue,
			"path must be /Users, /Groups, /Users/{id} or /Groups/{id} (RFC 7644 §3.7), not %.100q", path)
	}
	return seg, rawID, nil
}

// resolveData returns data with every reference replaced by the id it names. Data
// without references is passed on exactly as sent.
func resolveData(data json.RawMessage, created map[string]string) ([]byte, error) {
	if !mayHoldRef(data) {
		return data, nil
	}
	var v any
	if !decodeJSON(data, &v) {
		return data, nil // the handler answers it as it answers the same body alone
	}
	found := false
	v = walkRefs(v, func(ref string) string { found = true; return created[ref] })
	if !found {
		return data, nil
	}
	return json.Marshal(v)
}

// serveBulkOp serves req with the API's own router into rec. A panic is the operation's
// 500, logged with its stack, as the server does for a single request; the operations
// before it stay committed and reported.
func (a *API) serveBulkOp(rec *opRecorder, req *http.Request) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
		a.log.ErrorContext(req.Context(), "panic in bulk operation", "method", req.Method, "path", req.URL.Path,
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		rec.reset()
		WriteError(rec, errInternal)
	}()
	a.ops.ServeHTTP(rec, req)
}

// opsRouter is the router operations are served by: the API's own endpoints, as
// Register mounts them below the SCIM root.
func (a *API) opsRouter() *mux.Router {
	r := mux.NewRouter()
	a.Register(r)
	return r
}

// maxOpErrorBody bounds the error answer an operation's result carries (SCIM errors are
// a few hundred bytes; details are bounded where they are made).
const maxOpErrorBody = 16 << 10

// opRecorder is the http.ResponseWriter an operation is served into: it keeps the
// status, the headers and an error's body, and drops a success's body, which the
// operation's result does not carry.
type opRecorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func newOpRecorder() *opRecorder { return &opRecorder{header: http.Header{}, status: http.StatusOK} }

func (o *opRecorder) Header() http.Header { return o.header }

func (o *opRecorder) WriteHeader(code int) {
	if !o.wrote {
		o.status, o.wrote = code, true
	}
}

func (o *opRecorder) Write(b []byte) (int, error) {
	o.WriteHeader(http.StatusOK)
	if o.status >= 300 && o.body.Len() < maxOpErrorBody {
		o.body.Write(b[:min(len(b), maxOpErrorBody-o.body.Len())])
	}
	return len(b), nil
}

func (o *opRecorder) reset() {
	o.header, o.status, o.wrote = http.Header{}, http.StatusOK, false
	o.body.Reset()
}

// errorBody is the recorded error as the result's response: the SCIM error the handler
// wrote, or, should it not be one JSON object, a SCIM error with the status alone.
func (o *opRecorder) errorBody() json.RawMessage {
	var probe map[string]json.RawMessage
	if json.Unmarshal(o.body.Bytes(), &probe) == nil && probe != nil {
		return json.RawMessage(o.body.Bytes())
	}
	b, _ := json.Marshal(map[string]any{"schemas": []string{store.ErrorSchema}, "status": fmt.Sprint(o.status)})
	return b
}
