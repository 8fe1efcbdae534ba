package tflite

// The flatbuffers accessors in ./tflite are generated from tflite_schema.fbs, TensorFlow Lite's schema
// (Apache-2.0, header inside; the copy in ../shared/specs, unchanged), kept here so generation needs
// nothing outside the repository but flatc (Debian flatbuffers-compiler 2.0.8; runtime
// github.com/google/flatbuffers v25.12.19).
//go:generate flatc --go -o . tflite_schema.fbs
