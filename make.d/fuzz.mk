# Fuzz smoke test: every image decoder, the resize and the inflater, a few seconds each, so CI
# explores a little past the committed seeds (imageio/testdata/fuzz/<target>). `make test` runs it.
#   make fuzz-smoke                 FUZZTIME per target (default 2s; about 35 s in all on an idle machine)
#   make fuzz-smoke FUZZTIME=5m     a real fuzzing session
# A failing input is written to testdata/fuzz/<target>/ and the target fails.
FUZZTIME ?= 2s
FUZZ_TARGETS := \
	imageio:FuzzDecodePNG imageio:FuzzDecodeBMP imageio:FuzzDecodeGIF imageio:FuzzDecodeWebP \
	imageio:FuzzDecodeJPEG imageio:FuzzResize imageio:FuzzInflate imageio:FuzzDecodePreprocess \
	imageio/jpegscale:FuzzDecode

.PHONY: fuzz-smoke
fuzz-smoke:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s ./$$pkg > .fuzz.log 2>&1 \
			|| { cat .fuzz.log; rm -f .fuzz.log; exit 1; }; \
	done; rm -f .fuzz.log
