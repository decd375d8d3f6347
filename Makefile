# Townsquare. `make run` starts the server on the embedded SQLite database; `make test`
# runs every test (add PostgreSQL with TOWNSQUARE_TEST_DATABASE_URL, see README).
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run build test lint fuzz bench clean

run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/townsquare serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/townsquare ./cmd/townsquare

test:
	@if [ -z "$$TOWNSQUARE_TEST_DATABASE_URL" ]; then \
	  echo "note: TOWNSQUARE_TEST_DATABASE_URL is not set: running the SQLite tests only (see README)"; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 14m ./...  # sqlstore alone is ~5 min on a quiet machine: the default 10m is too near
	$(GO) test -count=1 -run 'Plan|CountPairs' ./store/sqlstore/  # the query plan tests, which skip themselves under -race

# gofmt, go vet, staticcheck, and go.mod/go.sum as go mod tidy leaves them. staticcheck
# is installed at the pinned version when missing.
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK = $(shell $(GO) env GOPATH)/bin/staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@[ -x "$(STATICCHECK)" ] || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(STATICCHECK) ./...
	@cp go.mod go.sum "$${TMPDIR:-/tmp}/" && $(GO) mod tidy && \
	  if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changes go.mod/go.sum:"; git diff -- go.mod go.sum; \
	  cp "$${TMPDIR:-/tmp}/go.mod" "$${TMPDIR:-/tmp}/go.sum" .; exit 1; fi

# A short run of every fuzz target (their seed corpora already run in `make test`), and a
# longer one of FuzzRequest, whole requests against the server on every configured
# backend (set TOWNSQUARE_TEST_DATABASE_URL to include PostgreSQL).
FUZZTIME ?= 20s
FUZZREQUESTTIME ?= 2m
# -fuzzminimizetime keeps a 2-core machine from stalling on minimising new inputs.
FUZZ = $(GO) test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x
fuzz:
	$(FUZZ) -fuzz FuzzCompileUsers ./store/sqlstore
	$(FUZZ) -fuzz FuzzMergeValuePathSubAttr ./resources
	$(FUZZ) -fuzz FuzzApply ./resources/patch
	$(FUZZ) -fuzz FuzzSplitGroupOps ./resources/patch
	$(FUZZ) -fuzz FuzzParsePath ./resources/patch
	$(FUZZ) -fuzz FuzzParseRequest ./resources/patch
	$(FUZZ) -fuzz FuzzNames ./store/rules
	$(FUZZ) -fuzz FuzzParseSimpleEq ./resources
	$(FUZZ) -fuzz FuzzQuoteBareValues ./resources
	$(FUZZ) -fuzz FuzzDecodeCursor ./resources
	$(FUZZ) -fuzz FuzzAppendJSONString ./resources
	$(FUZZ) -fuzz FuzzCheckFilter ./resources/limits
	$(FUZZ) -fuzz FuzzFoldKey ./resources/patch
	$(FUZZ) -fuzz FuzzImport ./store/jsonl
	$(GO) test -run '^$$' -fuzztime $(FUZZREQUESTTIME) -fuzzminimizetime 200x -fuzz FuzzRequest ./server

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin townsquare.db townsquare.db-wal townsquare.db-shm conformance-out
