package memory

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

func noOSMemory() (int64, string, bool) { return 0, "", false }

// Without cgroups and /proc (macOS, Windows) the budget is the OS's figure less the MemAvailable margin;
// a cgroup limit or MemAvailable, where present, wins over it.
func TestBudgetFromOSMemory(t *testing.T) {
	osFigure := func() (int64, string, bool) { return 16 << 30, "hw.memsize", true }
	b, err := detect(t.TempDir(), osFigure)
	if want := int64(16<<30) - SafetyMargin(16<<30, false); err != nil || b.Bytes != want || b.Source != "hw.memsize" {
		t.Errorf("no /proc: %+v, %v; want %d from hw.memsize", b, err, want)
	}
	root := writeFiles(t, map[string]string{"proc/meminfo": "MemAvailable:    1048576 kB\n"})
	if b, err := detect(root, osFigure); err != nil || b.Source != "MemAvailable" {
		t.Errorf("with /proc/meminfo: %+v, %v; want MemAvailable", b, err)
	}
	if n, src, ok := osMemory(); runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		if !ok || n <= 0 || src == "" {
			t.Errorf("osMemory on %s: %d %q %v", runtime.GOOS, n, src, ok)
		}
	}
}

// The build-tagged osMemory files compile and vet for macOS and Windows.
func TestOSMemoryCrossBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, target := range [][2]string{{"darwin", "arm64"}, {"windows", "amd64"}} {
		cmd := exec.Command(gobin, "vet", ".")
		cmd.Env = append(os.Environ(), "GOOS="+target[0], "GOARCH="+target[1], "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOOS=%s GOARCH=%s go vet ./memory: %v\n%s", target[0], target[1], err, out)
		}
	}
}
