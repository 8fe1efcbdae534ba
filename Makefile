# wanwu — `make demo` classifies a photo in Chinese; `make test` runs the tests.

GO      ?= go
# No cgo in the default build: a static binary, and 1.4 MiB less resident memory than one linked to libc.
export CGO_ENABLED ?= 0
BIN     := bin/wanwu
SHARED  ?= ../shared
# When the shared data folder is beside the checkout (developer machines, CI) it serves as the mirror,
# so nothing is downloaded; elsewhere the catalog downloads from upstream.
ifneq ($(wildcard $(SHARED)/models),)
export WANWU_MIRROR ?= $(abspath $(SHARED)/models),$(abspath $(SHARED)/images)
endif
# The cache is the binary's own ($WANWU_HOME, else ~/.cache/wanwu): what `make demo` fetches, `wanwu models`
# then lists as cached, and a later `wanwu classify` finds without fetching again.

.PHONY: all build demo test test-purego race vet lint generate check-generated clean
all: build

build:
	$(GO) build -o $(BIN) ./cmd/wanwu

demo: build
	@photo=$$($(BIN) fetch parrot) && echo '$(BIN) classify '"$$photo" && $(BIN) classify "$$photo"

vet:
	$(GO) vet ./...

# Source hygiene: go vet, gofmt and a go.mod/go.sum that `go mod tidy` would leave unchanged
# (direct dependencies not marked indirect).
lint: vet
	@bad=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) mod tidy -diff

# `test` runs everything twice over the kernels: with the assembly kernels for this CPU and with
# -tags purego (the portable Go fallbacks every optimized kernel must match). The conformance target
# repeats the ONNX node tests verbosely so their summary line
# ("conformance: N passed, N failed, N skipped") shows in the log; it takes about a second.
# fuzz-smoke (make.d/fuzz.mk) runs each image-decoder fuzz target for a few seconds. race runs the
# concurrent packages (the HTTP server, the worker pool) under the race detector.
test: lint
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory test-purego
	$(MAKE) --no-print-directory race
	$(MAKE) --no-print-directory conformance
	$(MAKE) --no-print-directory fuzz-smoke

test-purego:
	$(GO) test -count=1 -tags purego ./internal/... ./ops/... ./runtime/... ./conformance/...

# The race detector needs cgo (and so a C compiler, gcc in .ci/run), hence CGO_ENABLED=1 here only.
race:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./internal/server/... ./internal/parallel/...

generate:
	$(GO) generate ./...

# Generated code (protobuf, flatbuffers, assembly) must match its generators: regenerate and diff.
# Needs protoc, flatc and protoc-gen-go (.ci/run installs them).
check-generated: generate
	git diff --exit-code -- internal/onnxpb internal/tflitefb internal/kernels

clean:
	rm -rf bin .cache

-include make.d/*.mk
