module github.com/wanwu-ai/wanwu

go 1.26.0

require (
	github.com/google/flatbuffers v25.12.19+incompatible // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
