# wanwu — `make demo` classifies a photo in Chinese; `make test` runs the tests.

GO      ?= go
BIN     := bin/wanwu
SHARED  ?= ../shared
# When the shared data folder is beside the checkout (developer machines, CI) it serves as the mirror,
# so nothing is downloaded; elsewhere the catalog downloads from upstream.
ifneq ($(wildcard $(SHARED)/models),)
export WANWU_MIRROR ?= $(abspath $(SHARED)/models),$(abspath $(SHARED)/images)
endif
export WANWU_HOME ?= $(abspath .cache)

.PHONY: all build demo test test-purego vet generate clean
all: build

build:
	$(GO) build -o $(BIN) ./cmd/wanwu

demo: build
	$(BIN) fetch parrot
	$(BIN) classify "$(WANWU_HOME)/parrot.jpg"

vet:
	$(GO) vet ./...

# The conformance target repeats the ONNX node tests verbosely so their summary line
# ("conformance: N passed, N failed, N skipped") shows in the log; it takes about a second.
test: vet
	$(GO) test -count=1 ./...
	$(MAKE) --no-print-directory conformance

generate:
	$(GO) generate ./...

clean:
	rm -rf bin .cache

-include make.d/*.mk
