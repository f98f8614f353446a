# sitrep — run `make help` for the targets.
GO        ?= go
BIN       ?= bin/sitrep
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/sitrep-dev/sitrep/internal/cli.Version=$(VERSION)
PKGS      := ./...
FUZZTIME  ?= 20s
STATICCHECK_VERSION ?= v0.8.2

.PHONY: help build test test-short deps bench bench-triage pgo lint fuzz demo eval clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/sitrep
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sitrep

deps: ## install the real servers the tests start (PostgreSQL, MariaDB, Prometheus, unbound, NSD, GoAccess)
	bash scripts/install-deps.sh

test: deps ## the whole test suite, with -race, against real servers (installs them when missing), then the lab evaluation
	@unformatted=$$("$$($(GO) env GOROOT)/bin/gofmt" -l cmd internal bench); if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)
	$(GO) test -count=1 -pgo=$(CURDIR)/cmd/sitrep/default.pgo -run 'AllocatesNothing' ./internal/source/accesslog ./internal/triage
	$(GO) test -count=1 -timeout 20m -run 'TestEvalAccuracy' ./internal/labeval

eval: build ## the triage evaluation table on the lab (sitrep lab eval --seeds 10)
	$(BIN) lab eval --seeds 10

test-short: ## unit tests only, no installs
	$(GO) test -short -count=1 $(PKGS)

bench: ## Go benchmarks (MB/s, lines/s, allocations)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

bench-triage: build ## 10M-line triage benchmark against wc, GoAccess and a minimal Go scanner
	bash scripts/bench-triage.sh

pgo: ## regenerate cmd/sitrep/default.pgo, the profile for profile-guided optimisation
	bash scripts/pgo-profile.sh

lint: ## gofmt, go vet and staticcheck
	@unformatted=$$("$$($(GO) env GOROOT)/bin/gofmt" -l cmd internal bench); if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

fuzz: ## run every fuzzer for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: build ## run the end-to-end demo on a generated incident
	$(BIN) demo

clean: ## remove build output
	rm -rf bin
