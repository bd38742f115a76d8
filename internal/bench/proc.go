package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Memory is what /proc/PID/status says of a process's memory, in KiB.
type Memory struct {
	RSS int64 `json:"rssKiB"` // VmRSS: resident now
	HWM int64 `json:"hwmKiB"` // VmHWM: peak resident since start or the last ResetPeak
}

// ParseStatus reads VmRSS and VmHWM from the text of /proc/PID/status.
func ParseStatus(status []byte) (Memory, error) {
	var m Memory
	var found int
	for line := range bytes.Lines(status) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(k) {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.HWM
		default:
			continue
		}
		f := bytes.Fields(v) // "  5120 kB"
		if len(f) != 2 || string(f[1]) != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", k, bytes.TrimSpace(line))
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return m, fmt.Errorf("unexpected %s line %q: %w", k, bytes.TrimSpace(line), err)
		}
		*dst = n
		found++
	}
	if found != 2 {
		return m, errors.New("no VmRSS and VmHWM lines (a kernel thread, or a zombie)")
	}
	return m, nil
}

// ReadMemory reads the memory of process pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return Memory{}, fmt.Errorf("memory of process %d: %w", pid, err)
	}
	m, err := ParseStatus(b)
	if err != nil {
		return m, fmt.Errorf("memory of process %d: %w", pid, err)
	}
	return m, nil
}

// ResetPeak sets process pid's VmHWM back to its VmRSS (Linux 4.0 and
// later; needs the right to write /proc/PID/clear_refs).
func ResetPeak(pid int) error {
	err := os.WriteFile(filepath.Join("/proc", strconv.Itoa(pid), "clear_refs"), []byte("5"), 0)
	if err != nil {
		return fmt.Errorf("resetting the peak RSS of process %d: %w", pid, err)
	}
	return nil
}
