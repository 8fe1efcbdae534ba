//go:build windows

package memory

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// memoryStatusEx is Windows' MEMORYSTATUSEX.
type memoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

var globalMemoryStatusEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalMemoryStatusEx")

// osMemory is the physical memory available now (ullAvailPhys of GlobalMemoryStatusEx), Windows'
// counterpart of MemAvailable; x/sys/windows does not wrap the call.
func osMemory() (int64, string, bool) {
	ms := memoryStatusEx{Length: uint32(unsafe.Sizeof(memoryStatusEx{}))}
	if r, _, _ := globalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&ms))); r == 0 || ms.AvailPhys == 0 {
		return 0, "", false
	}
	return int64(ms.AvailPhys), "GlobalMemoryStatusEx available physical memory", true
}
