package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// memCgroup is a memory cgroup created for one server: cgroup v2 (a directory under the unified
// hierarchy with memory.max) or v1 (under the memory controller's hierarchy, memory.limit_in_bytes),
// swap off where the kernel allows, so the limit is a hard cap on resident memory.
type memCgroup struct {
	dir     string
	version string // "v2 <dir>" or "v1 <dir>"
	v2      bool
}

func newMemCgroup(name string, limit int64) (*memCgroup, error) {
	name = fmt.Sprintf("wanwu-servecap-%d-%s", os.Getpid(), name)
	var errs []error
	// cgroup v2: the memory controller must be available to the root's children.
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(b), "memory") {
		sub, _ := os.ReadFile("/sys/fs/cgroup/cgroup.subtree_control")
		if !strings.Contains(string(sub), "memory") {
			if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+memory"), 0); err != nil {
				errs = append(errs, fmt.Errorf("v2: enabling the memory controller: %w", err))
			}
		}
		dir := filepath.Join("/sys/fs/cgroup", name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("v2: %w", err))
		} else {
			cg := &memCgroup{dir: dir, version: "v2 " + dir, v2: true}
			if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
				cg.remove()
				errs = append(errs, fmt.Errorf("v2: memory.max: %w", err))
			} else {
				os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0)
				return cg, nil
			}
		}
	}
	// cgroup v1.
	dir := filepath.Join("/sys/fs/cgroup/memory", name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, errors.Join(append(errs, fmt.Errorf("v1: %w", err))...)
	}
	cg := &memCgroup{dir: dir, version: "v1 " + dir}
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
		cg.remove()
		return nil, errors.Join(append(errs, fmt.Errorf("v1: memory.limit_in_bytes: %w", err))...)
	}
	// Swap off for the group (memsw exists only with swap accounting): the limit then caps RSS.
	os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0)
	os.WriteFile(filepath.Join(dir, "memory.swappiness"), []byte("0"), 0)
	return cg, nil
}

// procs is the file a process writes its pid to, to join the group.
func (c *memCgroup) procs() string { return filepath.Join(c.dir, "cgroup.procs") }

// oomKills counts the processes the kernel killed in the group for lack of memory (oom_kill in
// memory.events on v2, memory.oom_control on v1; kernels before 4.13 lack the v1 field, and then the
// count of times the limit was hit with an OOM, under_oom, stands in).
func (c *memCgroup) oomKills() int64 {
	file := "memory.oom_control"
	if c.v2 {
		file = "memory.events"
	}
	b, _ := os.ReadFile(filepath.Join(c.dir, file))
	var kills, underOOM int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "oom_kill":
			kills = n
		case "under_oom":
			underOOM = n
		}
	}
	return max(kills, underOOM)
}

// peak is the group's peak memory charge (memory.peak on v2 where the kernel has it, else
// memory.max_usage_in_bytes on v1); 0 if unknown.
func (c *memCgroup) peak() int64 {
	for _, f := range []string{"memory.peak", "memory.max_usage_in_bytes"} {
		if b, err := os.ReadFile(filepath.Join(c.dir, f)); err == nil {
			n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			return n
		}
	}
	return 0
}

// remove deletes the group once its processes are gone (retrying briefly while the kernel reaps them).
func (c *memCgroup) remove() {
	for i := 0; i < 50; i++ {
		if err := os.Remove(c.dir); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
