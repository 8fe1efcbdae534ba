// Package wanwu (万物, "all things") names what is in a photo, in Chinese, with a pure-Go inference engine
// that plans every byte of activation memory before the first run.
//
// A Model loads an ONNX or TFLite classifier (a file, or a catalog name that is fetched and verified),
// and Classify returns the top-K classes with Chinese and English labels:
//
//	m, err := wanwu.Load(ctx, "mobilenet_v2_1.0_224_quant")
//	if err != nil { ... }
//	defer m.Close()
//	res, err := m.ClassifyFile(ctx, "parrot.jpg", 5)
//	fmt.Println(res.Predictions[0].Label) // 金刚鹦鹉
//
// Concurrency: a Model is safe for use by several goroutines. Runs on one Model are serialised, because a
// Model owns one preplanned activation arena; for parallel throughput load one Model per worker (the weights
// of a memory-mapped ONNX file are shared by the page cache) or raise WithThreads.
package wanwu
