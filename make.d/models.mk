# Reference models exported from PyTorch (tools/export_models/README.md).
#   make models     full-size models into models/<name>/ (git-ignored; minutes, ~1 GB for ResNeSt)
#   make fixtures   regenerate the committed reduced fixtures in testdata/models/ (bit-identical)
# Debian's torch lives in /usr/bin/python3, not in whatever python3 is first on PATH.
PYTHON_TORCH ?= /usr/bin/python3
EXPORT_MODELS := $(PYTHON_TORCH) tools/export_models/export.py
MODEL_DEPS := tools/export_models/export.py tools/export_models/resnest.py

.PHONY: models fixtures

models: models/mobilenet_v2/model.onnx models/resnet50/model.onnx models/resnest101_54k/model.onnx

models/mobilenet_v2/model.onnx: $(MODEL_DEPS)
	$(EXPORT_MODELS) mobilenet_v2 --out models/mobilenet_v2 --extra-set 2:160

models/resnet50/model.onnx: $(MODEL_DEPS)
	$(EXPORT_MODELS) resnet50 --out models/resnet50 --extra-set 2:160

# ResNeSt-101 with a 54,000-class head (157 M parameters, ~600 MiB): the memory-test model.
models/resnest101_54k/model.onnx: $(MODEL_DEPS)
	$(EXPORT_MODELS) resnest101 --classes 54000 --out models/resnest101_54k

fixtures:
	$(EXPORT_MODELS) --fixtures testdata/models

# The conformance summary line ("conformance: N passed, 0 failed, M skipped") is only printed by
# `go test` for a passing package under -v; this target shows it (and the PyTorch agreement figures)
# without the per-case noise, and keeps go test's exit status.
GO ?= go
.PHONY: conformance
conformance:
	@log=$$(mktemp); $(GO) test -count=1 -v -run 'TestONNXNode|TestPyTorch|TestCompare' ./conformance > $$log 2>&1; \
	status=$$?; \
	grep -E '^(conformance:|--- FAIL|FAIL|ok|panic)|pytorch_test.go|^    --- (PASS|FAIL): TestPyTorch' $$log; \
	rm -f $$log; exit $$status
