// Package onnxpb holds Go types generated from Debian's onnx.proto (package libonnx-dev).
package onnxpb

// Regenerate with protoc and protoc-gen-go v1.36.12 on PATH:
//
//go:generate protoc -I/usr/include/onnx --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/wanwu-ai/wanwu/importer/onnx/onnxpb onnx.proto
