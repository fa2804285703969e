# realtimesecret — developer tasks. `make` (or `make help`) lists them.
# CI runs .ci/run, which runs `make verify`.

SHELL       := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 10s
CONFIG   ?= testdata/sidecar.yaml
COVERPROFILE ?= coverage.out

# Tools are installed with `go install` into GOBIN (default $(go env GOPATH)/bin).
GOBIN := $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(GOBIN)/golangci-lint

.PHONY: help
help: ## Show this help (colour only on a terminal; NO_COLOR=1 turns it off)
	@if [ -t 1 ] && [ -z "$${NO_COLOR:-}" ]; then on=$$'\033[36m' off=$$'\033[0m'; else on= off=; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "; printf "Usage: make <target> [VAR=value]\n\nTargets:\n"} \
		/^[a-zA-Z0-9_.-]+:.*## / {printf "  %s%-14s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)
	@printf '\nVariables: PKGS=%s FUZZTIME=%s CONFIG=%s BIN=%s VERSION=%s IMAGE=%s\n' '$(PKGS)' '$(FUZZTIME)' '$(CONFIG)' '$(BIN)' '$(VERSION)' '$(IMAGE)'

# The sidecar binary. VERSION is stamped into it (realtimesecretd -version);
# `go install ...@vX.Y.Z` records the module version instead. CGO_ENABLED=0
# makes it static, so the same file goes into the container image.
BIN     ?= bin/realtimesecretd
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
VERSION_VAR := github.com/realtimesecret/realtimesecret/cmd/realtimesecretd/internal/sidecar.Version
GO_BUILD_BIN = CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X $(VERSION_VAR)=$(VERSION)' -o $(BIN) ./cmd/realtimesecretd

# run builds, then execs the binary: Ctrl-C reaches the sidecar itself (not
# go run, which keeps building through it and then exits 1), the sidecar
# drains and exits 0, and make reports no error.
.PHONY: run
run: bin ## Build and run the sidecar on 127.0.0.1:8080 with CONFIG (default testdata/sidecar.yaml; demo mode without OPENAI_API_KEY)
	exec $(BIN) -config $(CONFIG)

.PHONY: build
build: ## Compile every package, then the sidecar into BIN (bin/realtimesecretd) with VERSION stamped
	$(GO) build $(PKGS)
	$(GO_BUILD_BIN)

.PHONY: bin
bin: ## Build only BIN (bin/realtimesecretd), static, with VERSION (git describe) stamped
	$(GO_BUILD_BIN)

# The container image (Containerfile): FROM scratch with the static BIN, run
# as 65532:65532. Built from the host's binary, so no registry is needed.
CONTAINER_TOOL ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
IMAGE ?= realtimesecretd:$(VERSION)

.PHONY: image
image: bin ## Build the container image IMAGE (realtimesecretd:VERSION) with podman, else docker, and print its tag
	@if [ -z "$(CONTAINER_TOOL)" ]; then echo "make image needs podman or docker (apt-get install podman)" >&2; exit 1; fi
	$(CONTAINER_TOOL) build -f Containerfile -t $(IMAGE) .
	@echo "image: $(IMAGE)"

.PHONY: image-check
image-check: ## Build the image and check its user, entrypoint, and its binary's -version and -check (CI runs it)
	CONTAINER_TOOL="$(CONTAINER_TOOL)" IMAGE=realtimesecretd:check VERSION="$(VERSION)" GO="$(GO)" scripts/image-check.sh

.PHONY: test
test: ## Run the tests with the race detector, then the end-to-end suites
	$(GO) test -race -count=1 $(PKGS)
	@$(MAKE) --no-print-directory test-e2e

# The end-to-end suites are a module of their own (internal/e2e), so the
# library's go.mod carries neither the OpenAI SDK nor chromedp. -mod=mod lets
# that module follow the library's requirements through its replace
# directive. The Node SDK suite runs inside `go test` (TestNodeSDK).
E2E_DIR := internal/e2e

.PHONY: test-e2e
test-e2e: e2e-node-modules ## Run the end-to-end suites: OpenAI Go and Node SDKs, headless Chromium
	cd $(E2E_DIR) && GOFLAGS=-mod=mod $(GO) vet ./...
	@log=$$(mktemp); status=0; \
	(cd $(E2E_DIR) && GOFLAGS=-mod=mod $(GO) test -race -count=1 -v ./...) 2>&1 | tee "$$log" || status=$$?; \
	awk '/^ *--- PASS/ {p++} /^ *--- FAIL/ {f++} /^ *--- SKIP/ {s++} \
		END {printf "e2e: %d passed, %d failed, %d skipped\n", p, f, s}' "$$log"; \
	rm -f "$$log"; exit $$status

# npm ci only when the lockfile is newer than the install; without npm the
# Node suite skips (and fails under CI=true).
.PHONY: e2e-node-modules
e2e-node-modules:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: the Node SDK suite will not run"; \
	elif [ ! -f $(E2E_DIR)/node/node_modules/.package-lock.json ] || \
		[ $(E2E_DIR)/node/package-lock.json -nt $(E2E_DIR)/node/node_modules/.package-lock.json ]; then \
		echo "cd $(E2E_DIR)/node && npm ci"; \
		cd $(E2E_DIR)/node && npm ci --no-audit --no-fund; \
	fi

# Benchmarks print benchstat-friendly lines: compare two runs with
#   make bench BENCHCOUNT=6 > old.txt; ...; make bench BENCHCOUNT=6 > new.txt
#   benchstat old.txt new.txt   (go install golang.org/x/perf/cmd/benchstat@latest)
BENCH      ?= .
BENCHCOUNT ?= 1
BENCHTIME  ?= 1s

.PHONY: bench
bench: ## Run the benchmarks with allocations (BENCH=regexp BENCHCOUNT=n BENCHTIME=d; README "Performance")
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCHCOUNT) -benchtime $(BENCHTIME) $(PKGS)

# stall-rss builds and starts the sidecar in demo mode on a loopback port and
# reads its RSS while 150 connections without a key stall one byte short of
# the body limit on each body-reading route, then SETTLE later; and sends a
# 10 MB body without a key (internal/stallrss; docs/performance.md).
SETTLE ?= 20s

.PHONY: stall-rss
stall-rss: ## Measure the sidecar's RSS under 150 keyless connections stalling one byte short of the body limit (SETTLE=20s)
	$(GO) run ./internal/stallrss -settle $(SETTLE)

# The load test drives the shared harness (PEERBENCH_DIR, default
# ../shared/bench beside the repository) and prints every figure of the
# README's performance budget against its target; see scripts/loadtest.sh
# for its settings (ROUNDS, INPROC, DIRECT, FLOOR, WS, ...).
VEGETA_VERSION ?= v12.13.0

.PHONY: loadtest
loadtest: ## Measure the performance budget: in-process benchmarks, mint rounds against the floor, memory, WebSocket sessions (ROUNDS=3; INPROC=0 DIRECT=0 FLOOR=0 WS=0 skip phases)
	scripts/loadtest.sh

.PHONY: loadtest-tools
loadtest-tools: ## Install the load test's tools: wrk, jq, curl, ss, ps (apt-get, as root) and vegeta (go install)
	@missing=(); \
	for t in wrk jq curl ss ps; do command -v $$t >/dev/null || missing+=($$t); done; \
	if (( $${#missing[@]} > 0 )); then \
		pkgs=$$(sed 's/\bss\b/iproute2/; s/\bps\b/procps/' <<<"$${missing[*]}"); \
		echo "apt-get install -y $$pkgs"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs; \
	fi
	@if ! command -v vegeta >/dev/null && [ ! -x "$(GOBIN)/vegeta" ]; then \
		echo "go install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)"; \
		GOBIN="$(GOBIN)" $(GO) install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION); \
	fi

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s)
	@found=0; \
	for pkg in $$($(GO) list $(PKGS)); do \
		list=$$($(GO) test -list '^Fuzz' -run '^$$' "$$pkg"); \
		for target in $$(grep '^Fuzz' <<<"$$list" || true); do \
			found=$$((found + 1)); \
			echo "==> $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done; \
	echo "fuzz: $$found target(s) run for $(FUZZTIME) each"

.PHONY: cover
cover: ## Run the tests with coverage; writes coverage.out and coverage.html
	$(GO) test -race -count=1 -covermode=atomic -coverprofile=$(COVERPROFILE) $(PKGS)
	$(GO) tool cover -html=$(COVERPROFILE) -o $(basename $(COVERPROFILE)).html
	@$(GO) tool cover -func=$(COVERPROFILE) | tail -n 1

.PHONY: fmt
fmt: tools ## Format the code (gofmt, goimports)
	$(GOLANGCI_LINT) fmt

.PHONY: fmt-check
fmt-check: ## Fail if a Go file is not gofmt-formatted
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:" >&2; echo "$$out" >&2; exit 1; fi

.PHONY: vet
vet: ## Run go vet
	$(GO) vet $(PKGS)

.PHONY: lint
lint: tools ## Run golangci-lint (config: .golangci.yml)
	$(GOLANGCI_LINT) run $(PKGS)

.PHONY: tools
tools: ## Install golangci-lint (GOLANGCI_LINT_VERSION, v2.15.0) into GOBIN if missing
	@if ! "$(GOLANGCI_LINT)" version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%)"; then \
		echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into $(GOBIN)"; \
		GOBIN="$(GOBIN)" $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); \
	fi

.PHONY: verify
verify: fmt-check vet lint test ## Everything CI checks: format, vet, lint, race tests

.PHONY: clean
clean: ## Remove build and coverage output
	rm -f $(COVERPROFILE) $(basename $(COVERPROFILE)).html
	rm -rf bin/ dist/
