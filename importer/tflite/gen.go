package tflite

// The flatbuffers accessors in ./tflite are generated from the shared TFLite schema
// (Debian flatbuffers-compiler 2.0.8; runtime github.com/google/flatbuffers v25.12.19).
//go:generate flatc --go -o . ../../../shared/specs/tflite_schema.fbs
