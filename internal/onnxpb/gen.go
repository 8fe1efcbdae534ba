// Package onnxpb holds Go types generated from onnx.proto.
package onnxpb

// onnx.proto is ONNX's own schema (Apache-2.0, SPDX header inside), copied unchanged from Debian's
// libonnx-dev 1.12 (/usr/include/onnx/onnx.proto) so generation needs nothing outside the repository
// but protoc (Debian protobuf-compiler 3.21.12) and protoc-gen-go v1.36.12 on PATH.
//
//go:generate protoc -I. --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/wanwu-ai/wanwu/internal/onnxpb onnx.proto
