module github.com/wanwu-ai/wanwu/internal/kernels/_asm

go 1.26.0
