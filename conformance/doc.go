// Package conformance checks wanwu end to end against outside references: the ONNX backend node
// tests (Debian's libonnx-testdata) with the whole-model suites installed beside them (PyTorch
// exports at opset 6 in pytorch-converted and pytorch-operator, the old operator forms; simple), and
// models exported from PyTorch (testdata/models, and the full-size models/ of `make models` where
// present).
//
// Each node test directory is imported with importer/onnx, compiled with runtime.Compile for the
// shapes of its test_data_set_* inputs, run, and compared with numpy.allclose semantics (rtol 1e-3,
// atol 1e-7; integers and booleans exactly), under each runtime configuration of nodeConfigs (one
// thread with Winograd allowed; two threads on the default im2col path, the worker pool splitting ops). Cases whose ops wanwu lacks are skipped; cases listed
// in exclude.txt ("case_name  reason") run but do not count against the suite.
//
// wanwu plans all memory before the first Run, so values that fix output shapes (Reshape's shape,
// Slice's starts, Resize's scales, reduction axes ...) must be constants, as they are in exported
// models. Node tests often feed them as graph inputs; the runner binds those inputs (the ones that
// reach such a slot, directly or through other nodes) to the data set's values as constants, and
// then also runs the case with them fed at run time, where the engine may refuse the model but
// must not return a wrong result.
//
//	go test -v -run TestONNXNode ./conformance   # prints "conformance: N passed, 0 failed, M skipped"
//	go test -v -run TestPyTorch ./conformance    # testdata/models (and models/) vs PyTorch
//	go test -run TestONNXNode/test_conv ./conformance -v
//
// `make conformance` (make.d/models.mk) runs both and shows the summary even when they pass.
package conformance
