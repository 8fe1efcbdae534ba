module github.com/wanwu-ai/wanwu/internal/kernels/q8/_gen

go 1.26.0
