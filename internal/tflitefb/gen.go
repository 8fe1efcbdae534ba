// Package tflitefb holds the flatbuffers accessors generated from TensorFlow Lite's schema.
package tflitefb

// tflite_schema.fbs is TensorFlow Lite's schema (Apache-2.0, header inside; the copy in ../shared/specs,
// unchanged), kept here so generation needs nothing outside the repository but flatc (Debian
// flatbuffers-compiler 2.0.8; runtime github.com/google/flatbuffers v25.12.19). The schema's namespace
// is tflite; --go-namespace names the package after this directory instead, and flatc writes into the
// namespace's directory under -o, which is this one.
//
//go:generate flatc --go --go-namespace tflitefb -o .. tflite_schema.fbs
