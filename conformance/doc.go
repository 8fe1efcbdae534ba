// Package conformance checks wanwu end to end against outside references: the ONNX backend node
// tests (Debian's libonnx-testdata) and models exported from PyTorch (testdata/models).
//
// Everything runs from its tests:
//
//	go test ./conformance -run ONNX -v      # ONNX node tests; prints "onnx conformance: ..." summary
//	go test ./conformance -run PyTorch -v   # testdata/models fixtures vs PyTorch
//
// exclude.txt lists node tests that are known not to apply, one "case_name  reason" per line.
package conformance
