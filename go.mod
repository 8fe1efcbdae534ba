module github.com/wanwu-ai/wanwu

go 1.26
