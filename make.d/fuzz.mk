# Fuzz smoke test: every image decoder, the resize and the inflater, a few seconds each, so CI
# explores a little past the committed seeds (imageio/testdata/fuzz/<target>). `make test` runs it.
#   make fuzz-smoke                 FUZZTIME per target (default 3000x: 3000 executions, seconds each)
#   make fuzz-smoke FUZZTIME=5m     a real fuzzing session
# A failing input is written to testdata/fuzz/<target>/ and the target fails.
# The smoke budgets are counts, not durations: with a duration, Go 1.26's fuzz coordinator can report
# its own end-of-time cancellation as a failure ("context deadline exceeded", no failing input) when a
# loaded machine delays a worker (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline.
FUZZTIME ?= 3000x
FUZZMINIMIZETIME ?= 500x
FUZZ_TARGETS := \
	imageio:FuzzDecodePNG imageio:FuzzDecodeBMP imageio:FuzzDecodeGIF imageio:FuzzDecodeWebP \
	imageio:FuzzDecodeJPEG imageio:FuzzResize imageio:FuzzInflate imageio:FuzzDecodePreprocess \
	imageio/jpegscale:FuzzDecode

.PHONY: fuzz-smoke
fuzz-smoke:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) ./$$pkg > .fuzz.log 2>&1 \
			|| { cat .fuzz.log; rm -f .fuzz.log; exit 1; }; \
	done; rm -f .fuzz.log
