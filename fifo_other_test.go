//go:build !unix

package wanwu

import "errors"

func mkfifo(string) error { return errors.New("no named pipes here") }
